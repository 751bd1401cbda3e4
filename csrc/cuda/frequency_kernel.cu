// CUDA kernels of the frequency family, launched on the current stream.
// Element math is shared with the CPU kernels (include/hfc/frequency_math.h).
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>
#include <torch/types.h>

#include <vector>

#include "../ops/frequency_split.h"
#include "hfc/frequency_math.h"

namespace hfc {

namespace {

constexpr int kThreads = 256;

int64_t blocks_for(int64_t n) {
  return std::min<int64_t>((n + kThreads - 1) / kThreads, 65535LL * 8);
}

template <typename scalar_t>
__global__ void band_mask_kernel(const scalar_t* __restrict__ in, scalar_t* __restrict__ out,
                                 int64_t n_images, int64_t rows_h, int64_t rows_w, int64_t bh,
                                 int64_t bw, int64_t h, int64_t w, double radius, bool inclusive) {
  const int64_t total = n_images * bw * bh;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < total;
       k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t jx = k % bw;
    const int64_t jy = (k / bw) % bh;
    const int64_t n = k / (bh * bw);
    out[k] = in[(n * rows_h + jy) * rows_w + jx] *
             band_mask_weight<scalar_t>(jy, jx, h, w, radius, inclusive);
  }
}

at::Tensor band_mask_cuda(const at::Tensor& coeffs_in, at::ArrayRef<double> radii, bool inclusive,
                          int64_t h, int64_t w) {
  c10::cuda::CUDAGuard guard(coeffs_in.device());
  const auto coeffs = coeffs_in.contiguous();
  const int64_t n_images = coeffs.size(0);
  const int64_t rows_h = coeffs.size(1);
  const int64_t rows_w = coeffs.size(2);
  const auto band = band_layout(radii, n_images, h, w, inclusive);
  auto out = at::empty({band.total}, coeffs.options());
  auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(coeffs.scalar_type(), "band_mask_cuda", [&] {
    for (size_t i = 0; i < radii.size(); ++i) {
      const int64_t count = n_images * band.rows_w[i] * band.rows_h[i];
      if (count == 0) continue;
      band_mask_kernel<scalar_t><<<blocks_for(count), kThreads, 0, stream>>>(
          coeffs.data_ptr<scalar_t>(), out.data_ptr<scalar_t>() + band.offsets[i], n_images, rows_h, rows_w,
          band.rows_h[i], band.rows_w[i], h, w, radii[i], inclusive);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
  });
  return out;
}

template <typename acc_t, typename out_t>
__global__ void split_epilogue_kernel(const acc_t* __restrict__ x, const acc_t* __restrict__ low,
                                      out_t* __restrict__ low_out, out_t* __restrict__ high_out,
                                      int64_t plane, int64_t total, bool write_low) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < total;
       k += int64_t(gridDim.x) * blockDim.x) {
    const acc_t l = low[k];
    high_out[k] = static_cast<out_t>(x[k % plane] - l);
    if (write_low) low_out[k] = static_cast<out_t>(l);
  }
}

void split_epilogue_cuda(const at::Tensor& x, const at::Tensor& low, at::Tensor& low_out,
                         at::Tensor& high_out) {
  c10::cuda::CUDAGuard guard(x.device());
  const int64_t plane = x.numel();
  const int64_t total = low.numel();
  if (total == 0) return;
  const bool write_low = low.data_ptr() != low_out.data_ptr();
  auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, high_out.scalar_type(), "split_epilogue_cuda", [&] {
    using out_t = scalar_t;
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "split_epilogue_cuda_acc", [&] {
      split_epilogue_kernel<scalar_t, out_t><<<blocks_for(total), kThreads, 0, stream>>>(
          x.data_ptr<scalar_t>(), low.data_ptr<scalar_t>(), low_out.data_ptr<out_t>(),
          high_out.data_ptr<out_t>(), plane, total, write_low);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
}

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
}

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
  m.impl("_band_mask", &band_mask_cuda);
  m.impl("_split_epilogue", &split_epilogue_cuda);
  m.impl("radial_mask_fill_", &radial_mask_fill_cuda);
  m.impl("_radial_bin_power", &radial_bin_power_cuda);
}

}  // namespace hfc
