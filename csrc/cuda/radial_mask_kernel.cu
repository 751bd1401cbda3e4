// CUDA kernel of radial_mask (element math in include/hfc/frequency_math.h).
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>
#include <torch/types.h>

#include "cuda/launch.cuh"
#include "hfc/frequency_math.h"
#include "ops/common.h"

namespace hfc {

namespace {

template <typename scalar_t>
__global__ void radial_mask_kernel(scalar_t* __restrict__ out, int64_t h, int64_t w, double radius,
                                   bool inclusive, bool centered) {
  const int64_t total = h * w;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < total;
       k += int64_t(gridDim.x) * blockDim.x) {
    out[k] = static_cast<scalar_t>(radial_mask_value<double>(k / w, k % w, h, w, radius, inclusive, centered));
  }
}

void radial_mask_fill_cuda(at::Tensor& out, double radius, bool inclusive, bool centered) {
  check_radius(radius, "radius");
  c10::cuda::CUDAGuard guard(out.device());
  const int64_t h = out.size(-2);
  const int64_t w = out.size(-1);
  auto filled = at::empty({h, w}, out.options());
  if (h * w > 0) {
    auto stream = at::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES_AND3(at::kHalf, at::kBFloat16, at::kBool, out.scalar_type(), "radial_mask_fill_cuda", [&] {
      radial_mask_kernel<scalar_t><<<blocks_for(h * w), kThreads, 0, stream>>>(
          filled.data_ptr<scalar_t>(), h, w, radius, inclusive, centered);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  out.copy_(filled.expand_as(out));
  mark_written(out);
}

}  // namespace

TORCH_LIBRARY_IMPL(hfc_fast, CUDA, m) {
  m.impl("radial_mask_fill_", &radial_mask_fill_cuda);
}

}  // namespace hfc
