// The matrix-product route of frequency_split: device-generic, built from
// ATen matrix products and two element kernels reached through the dispatcher
// (_band_mask and _split_epilogue: cpu/frequency_split_kernel.cpp,
// cuda/frequency_split_kernel.cu). The CPU takes it for large images; it is the
// CUDA implementation.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/types.h>

#include <algorithm>
#include <vector>

#include "generic/band_basis.h"
#include "ops/common.h"
#include "ops/frequency_split.h"

namespace hfc {

namespace {

// Internal element kernels, reached through the dispatcher so that each device
// runs its own (cpu/ or cuda/).
at::Tensor call_band_mask(const at::Tensor& coeffs, at::ArrayRef<double> radii, bool inclusive, int64_t h,
                          int64_t w) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("hfc_fast::_band_mask", "")
                       .typed<at::Tensor(const at::Tensor&, at::ArrayRef<double>, bool, int64_t, int64_t)>();
  return op.call(coeffs, radii, inclusive, h, w);
}

void call_split_epilogue(const at::Tensor& x, const at::Tensor& low, at::Tensor& low_out, at::Tensor& high_out) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("hfc_fast::_split_epilogue", "")
                       .typed<void(const at::Tensor&, const at::Tensor&, at::Tensor&, at::Tensor&)>();
  op.call(x, low, low_out, high_out);
}

}  // namespace

// low/high of x (N, H, W) for every radius, written into (R, N, H, W)
// outputs. Steps: forward band transform up to the largest radius, one fused
// kernel that masks and scales the coefficients of every radius, a per-radius
// inverse into `low`, and a fused epilogue high = x - low.
void frequency_split_matmul_into(const at::Tensor& x, at::ArrayRef<double> radii, bool inclusive,
                               at::Tensor& low_out, at::Tensor& high_out) {
  const int64_t h = x.size(-2);
  const int64_t w = x.size(-1);
  const int64_t n_radii = static_cast<int64_t>(radii.size());
  const int64_t n_images = x.numel() / (h * w);  // split_with passes no empty input

  const auto dtype = compute_dtype(x.scalar_type());
  const auto xc = x.contiguous().to(dtype).view({n_images, h, w});
  // For float32/float64 the inverse writes straight into the output.
  const bool direct = dtype == x.scalar_type();
  auto low = direct ? low_out.view({n_radii, n_images, h, w}) : at::empty({n_radii, n_images, h, w}, xc.options());

  const auto bands_h = split_band_rows(radii, h, inclusive);
  const auto bands_w = split_band_rows(radii, w, inclusive);
  const int64_t rows_h = *std::max_element(bands_h.begin(), bands_h.end());
  const int64_t rows_w = *std::max_element(bands_w.begin(), bands_w.end());

  if (rows_h > 0 && rows_w > 0) {
    const auto basis_h = band_basis(h, dtype, x.device()).narrow(0, 0, rows_h);
    const auto basis_w = band_basis(w, dtype, x.device()).narrow(0, 0, rows_w);
    // Forward: contract W with one large product, then H with a batched
    // product whose left operand is shared (no transposes in between).
    auto along_w = at::mm(xc.view({n_images * h, w}), basis_w.t()).view({n_images, h, rows_w});
    auto coeffs = at::bmm(basis_h.expand({n_images, rows_h, h}), along_w);
    auto masked = call_band_mask(coeffs, radii, inclusive, h, w);
    int64_t offset = 0;
    for (int64_t i = 0; i < n_radii; ++i) {
      const int64_t bh = bands_h[i];
      const int64_t bw = bands_w[i];
      auto low_i = low.select(0, i);
      if (bh == 0 || bw == 0) {
        low_i.zero_();
        continue;
      }
      // Inverse: contract the W band, then the H band straight into the output.
      auto band = masked.narrow(0, offset, n_images * bh * bw).view({n_images * bh, bw});
      offset += n_images * bh * bw;
      auto back_w = at::mm(band, basis_w.narrow(0, 0, bw)).view({n_images, bh, w});
      at::bmm_out(low_i, basis_h.narrow(0, 0, bh).t().expand({n_images, h, bh}), back_w);
    }
  } else {
    low.zero_();
  }

  auto low_view = low_out.view({n_radii, n_images, h, w});
  auto high_view = high_out.view({n_radii, n_images, h, w});
  call_split_epilogue(xc, low, low_view, high_view);
}

}  // namespace hfc
