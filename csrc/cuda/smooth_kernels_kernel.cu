// CUDA kernels of kernel smoothing (element math in include/hfc/smoothing_math.h).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>
#include <torch/types.h>

#include "cuda/launch.cuh"
#include "hfc/smoothing_math.h"
#include "ops/smooth_kernels.h"

namespace hfc {

namespace {

template <bool Adjoint, typename scalar_t, typename acc_t>
__global__ void smooth_kernel(const scalar_t* __restrict__ src, scalar_t* __restrict__ dst, int64_t total,
                              int64_t kh, int64_t kw, acc_t rho) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < total;
       k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t plane = kh * kw;
    const scalar_t* kernel = src + (k / plane) * plane;
    const int64_t y = (k % plane) / kw;
    const int64_t x = k % kw;
    dst[k] = Adjoint ? smooth_adjoint_at<scalar_t, acc_t>(kernel, kh, kw, y, x, rho)
                     : smooth_at<scalar_t, acc_t>(kernel, kh, kw, y, x, rho);
  }
}

template <bool Adjoint>
at::Tensor smooth_cuda(const at::Tensor& input, double rho, const char* name) {
  check_smooth_args(input, rho, name);
  c10::cuda::CUDAGuard guard(input.device());
  const auto src = input.contiguous();
  auto out = at::empty_like(src, at::MemoryFormat::Contiguous);
  const int64_t total = src.numel();
  if (total == 0) return out;
  const int64_t blocks = blocks_for(total);
  auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, src.scalar_type(), "smooth_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    smooth_kernel<Adjoint, scalar_t, acc_t><<<blocks, kThreads, 0, stream>>>(
        src.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), total, src.size(2), src.size(3),
        static_cast<acc_t>(rho));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

at::Tensor smooth_kernels_cuda(const at::Tensor& weight, double rho) {
  return smooth_cuda<false>(weight, rho, "weight");
}

at::Tensor smooth_kernels_backward_cuda(const at::Tensor& grad, double rho) {
  return smooth_cuda<true>(grad, rho, "grad");
}

}  // namespace

TORCH_LIBRARY_IMPL(hfc_fast, CUDA, m) {
  m.impl("smooth_kernels", &smooth_kernels_cuda);
  m.impl("smooth_kernels_backward", &smooth_kernels_backward_cuda);
}

}  // namespace hfc
