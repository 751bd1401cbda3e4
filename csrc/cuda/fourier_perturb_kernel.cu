// CUDA kernel of fourier_perturb (element math in include/hfc/fourier_math.h),
// launched on the current stream: one thread per output element.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>
#include <torch/types.h>

#include "cuda/launch.cuh"
#include "hfc/fourier_math.h"
#include "ops/fourier_perturb.h"

namespace hfc {

namespace {

template <typename scalar_t, typename acc_t>
__global__ void fourier_perturb_kernel(const scalar_t* __restrict__ x, const int64_t* __restrict__ freqs,
                                       scalar_t* __restrict__ out, int64_t batch, int64_t channels, int64_t h,
                                       int64_t w, double eps, int64_t seed, int64_t image_offset, acc_t lo, acc_t hi,
                                       int64_t total) {
  const int64_t plane = h * w;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = i % w, y = (i / w) % h, c = (i / plane) % channels, b = (i / (plane * channels)) % batch;
    const int64_t k = i / (plane * channels * batch);
    const int64_t ky = freqs[2 * k], kx = freqs[2 * k + 1];
    double cy, sy, cx, sx;
    fourier_axis(ky, y, h, &cy, &sy);
    fourier_axis(kx, t, w, &cx, &sx);
    const int64_t fid = wrap_index(ky, h) * w + wrap_index(kx, w);
    const double amplitude = fourier_sign(seed, image_offset + b, c, fid) * eps * fourier_basis_norm(ky, kx, h, w);
    const acc_t v = static_cast<acc_t>(x[(b * channels + c) * plane + y * w + t]) +
                    static_cast<acc_t>(amplitude * (cy * cx - sy * sx));
    out[i] = static_cast<scalar_t>(v < lo ? lo : (v > hi ? hi : v));
  }
}

void fourier_perturb_into(const at::Tensor& x_in, const at::Tensor& freqs_in, double eps, int64_t seed,
                          int64_t image_offset, double lo, double hi, at::Tensor& out) {
  c10::cuda::CUDAGuard guard(x_in.device());
  const auto x = x_in.contiguous();
  const auto freqs = freqs_in.contiguous();
  const int64_t total = out.numel();
  if (total == 0) return;
  auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "fourier_perturb_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    fourier_perturb_kernel<scalar_t, acc_t><<<blocks_for(total), kThreads, 0, stream>>>(
        x.data_ptr<scalar_t>(), freqs.data_ptr<int64_t>(), out.data_ptr<scalar_t>(), x.size(0), x.size(1),
        x.size(2), x.size(3), eps, seed, image_offset, static_cast<acc_t>(lo), static_cast<acc_t>(hi), total);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

}  // namespace

TORCH_LIBRARY_IMPL(hfc_fast, CUDA, m) {
  m.impl("fourier_perturb", &fourier_perturb_functional<&fourier_perturb_into>);
  m.impl("fourier_perturb.out", &fourier_perturb_out<&fourier_perturb_into>);
}

}  // namespace hfc
