// CUDA kernels of frequency_split, launched on the current stream: the element
// kernels of the matrix-product route (generic/frequency_split_matmul.cpp),
// which is the CUDA implementation of the op. Element math is shared with the
// CPU kernels (include/hfc/frequency_math.h).
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>
#include <torch/types.h>

#include "cuda/launch.cuh"
#include "hfc/frequency_math.h"
#include "ops/frequency_split.h"

namespace hfc {

namespace {

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

}  // namespace

TORCH_LIBRARY_IMPL(hfc_fast, CUDA, m) {
  m.impl("frequency_split", &split_functional<&frequency_split_matmul_into>);
  m.impl("frequency_split.out", &split_out<&frequency_split_matmul_into>);
  m.impl("_band_mask", &band_mask_cuda);
  m.impl("_split_epilogue", &split_epilogue_cuda);
}

}  // namespace hfc
