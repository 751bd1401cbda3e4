// CUDA kernel of radial_power_spectrum's bins (element math in include/hfc/frequency_math.h).
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>
#include <torch/types.h>

#include "cuda/launch.cuh"
#include "hfc/frequency_math.h"
#include "ops/radial_power_spectrum.h"

namespace hfc {

namespace {

// One block per image; bins accumulate in shared memory. spectrum holds
// (re, im) pairs of an (N, H, W // 2 + 1) rfft2.
template <typename scalar_t>
__global__ void radial_bin_power_kernel(const scalar_t* __restrict__ spectrum, scalar_t* __restrict__ out,
                                        int64_t h, int64_t wr, int64_t w, int64_t n_bins) {
  extern __shared__ float shared[];
  float* sum = shared;
  float* count = shared + n_bins;
  for (int64_t b = threadIdx.x; b < n_bins; b += blockDim.x) {
    sum[b] = 0.f;
    count[b] = 0.f;
  }
  __syncthreads();
  const scalar_t* z = spectrum + 2 * blockIdx.x * h * wr;
  const float area = static_cast<float>(h * w);
  for (int64_t k = threadIdx.x; k < h * wr; k += blockDim.x) {
    const int64_t y = k / wr;
    const int64_t x = k % wr;
    const float re = static_cast<float>(z[2 * k]), im = static_cast<float>(z[2 * k + 1]);
    const int64_t b = radial_bin(signed_frequency(y, h), x);
    const float m = static_cast<float>(rfft_multiplicity(x, w));
    atomicAdd(&sum[b], m * (re * re + im * im) / area);
    atomicAdd(&count[b], m);
  }
  __syncthreads();
  for (int64_t b = threadIdx.x; b < n_bins; b += blockDim.x) {
    out[blockIdx.x * n_bins + b] = static_cast<scalar_t>(count[b] > 0.f ? sum[b] / count[b] : 0.f);
  }
}

at::Tensor radial_bin_power_cuda(const at::Tensor& spectrum, int64_t w) {
  c10::cuda::CUDAGuard guard(spectrum.device());
  const auto z = spectrum.contiguous();
  const int64_t h = z.size(-2);
  const int64_t wr = z.size(-1);
  const int64_t n_images = h * wr == 0 ? 0 : z.numel() / (h * wr);
  const int64_t n_bins = radial_bin_count(h, w);
  auto out = at::empty(radial_bin_shape(z, w), z.options().dtype(c10::toRealValueType(z.scalar_type())));
  if (n_images == 0) return out;
  auto stream = at::cuda::getCurrentCUDAStream();
  const size_t shared_bytes = 2 * n_bins * sizeof(float);
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "radial_bin_power_cuda", [&] {
    radial_bin_power_kernel<scalar_t><<<n_images, kThreads, shared_bytes, stream>>>(
        reinterpret_cast<const scalar_t*>(z.data_ptr()), out.data_ptr<scalar_t>(), h, wr, w, n_bins);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(hfc_fast, CUDA, m) {
  m.impl("_radial_bin_power", &radial_bin_power_cuda);
}

}  // namespace hfc
