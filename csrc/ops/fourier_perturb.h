#pragma once
// fourier_perturb: argument checks and the registered functional and out= forms, shared by its CPU and CUDA
// kernels.
#include <torch/types.h>

#include <vector>

#include "ops/common.h"

namespace hfc {

inline void check_fourier_perturb_args(const at::Tensor& x, const at::Tensor& freqs, double eps, int64_t seed,
                                       int64_t image_offset, double lo, double hi) {
  check_real_floating(x, "x");
  TORCH_CHECK_VALUE(x.dim() == 4, "x must be a batch of images (B, C, H, W), got shape ", x.sizes());
  TORCH_CHECK_TYPE(freqs.scalar_type() == at::kLong, "freqs must be an int64 tensor, got ", freqs.scalar_type());
  TORCH_CHECK_VALUE(freqs.dim() == 2 && freqs.size(1) == 2, "freqs must have shape (K, 2) of (ky, kx), got ",
                    freqs.sizes());
  check_same_device(x, "x", freqs, "freqs");
  check_finite(eps, "eps");
  TORCH_CHECK_VALUE(eps >= 0, "eps must be non-negative, got ", eps);
  TORCH_CHECK_VALUE(seed >= 0, "seed must be non-negative, got ", seed);
  TORCH_CHECK_VALUE(image_offset >= 0, "image_offset must be non-negative, got ", image_offset);
  check_finite(lo, "lo");
  check_finite(hi, "hi");
  TORCH_CHECK_VALUE(lo <= hi, "lo must not exceed hi, got lo=", lo, " hi=", hi);
}

// (K·B, C, H, W): the perturbed batch, basis-major.
inline std::vector<int64_t> fourier_perturb_shape(const at::Tensor& x, const at::Tensor& freqs) {
  return {freqs.size(0) * x.size(0), x.size(1), x.size(2), x.size(3)};
}

inline void check_fourier_perturb_out(const at::Tensor& x, const at::Tensor& freqs, const at::Tensor& out) {
  const auto shape = fourier_perturb_shape(x, freqs);
  TORCH_CHECK_VALUE(out.sizes() == at::IntArrayRef(shape), "out must have shape (K·B, C, H, W) = ",
                    at::IntArrayRef(shape), ", got ", out.sizes());
  TORCH_CHECK_TYPE(out.scalar_type() == x.scalar_type(), "out must have the dtype of x (", x.scalar_type(),
                   "), got ", out.scalar_type());
  check_same_device(x, "x", out, "out");
  TORCH_CHECK_VALUE(out.is_contiguous(), "out must be contiguous");
  check_no_overlap(x, "x", out, "out");
}

// One device's kernel: the perturbed batch written into a checked ``out``.
using FourierPerturbInto = void (*)(const at::Tensor& x, const at::Tensor& freqs, double eps, int64_t seed,
                                    int64_t image_offset, double lo, double hi, at::Tensor& out);

// The forms a device registers: m.impl("fourier_perturb", &fourier_perturb_functional<kernel>).
template <FourierPerturbInto Into>
at::Tensor fourier_perturb_functional(const at::Tensor& x, const at::Tensor& freqs, double eps, int64_t seed,
                                      int64_t image_offset, double lo, double hi) {
  check_fourier_perturb_args(x, freqs, eps, seed, image_offset, lo, hi);
  auto out = at::empty(fourier_perturb_shape(x, freqs), x.options());
  Into(x, freqs, eps, seed, image_offset, lo, hi, out);
  return out;
}

template <FourierPerturbInto Into>
void fourier_perturb_out(const at::Tensor& x, const at::Tensor& freqs, double eps, int64_t seed,
                         int64_t image_offset, double lo, double hi, at::Tensor& out) {
  check_fourier_perturb_args(x, freqs, eps, seed, image_offset, lo, hi);
  check_fourier_perturb_out(x, freqs, out);
  Into(x, freqs, eps, seed, image_offset, lo, hi, out);
  mark_written(out);
}

}  // namespace hfc
