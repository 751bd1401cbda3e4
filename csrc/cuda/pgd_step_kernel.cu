// CUDA kernel of the fused in-place PGD step (element math in include/hfc/pgd_math.h).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>
#include <torch/types.h>

#include "cuda/launch.cuh"
#include "hfc/pgd_math.h"
#include "ops/pgd_step.h"

namespace hfc {

namespace {

template <typename scalar_t, typename acc_t>
__global__ void pgd_step_kernel(scalar_t* __restrict__ x, const scalar_t* __restrict__ g,
                                const scalar_t* __restrict__ x0, const acc_t* __restrict__ eps_p,
                                const acc_t* __restrict__ alpha_p, acc_t eps, acc_t alpha, acc_t lo,
                                acc_t hi, int64_t per_sample, int64_t total) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < total;
       k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = k / per_sample;
    const acc_t e = eps_p ? eps_p[b] : eps;
    const acc_t a = alpha_p ? alpha_p[b] : alpha;
    x[k] = static_cast<scalar_t>(pgd_update<acc_t>(static_cast<acc_t>(x[k]), static_cast<acc_t>(g[k]),
                                                   static_cast<acc_t>(x0[k]), e, a, lo, hi));
  }
}

void pgd_step_cuda(at::Tensor& x_adv, const at::Tensor& grad, const at::Tensor& x0,
                   const std::optional<at::Tensor>& eps_per_sample,
                   const std::optional<at::Tensor>& alpha_per_sample, double eps, double alpha, double lo,
                   double hi) {
  check_pgd_args(x_adv, grad, x0, eps_per_sample, alpha_per_sample, eps, alpha, lo, hi);
  c10::cuda::CUDAGuard guard(x_adv.device());
  const int64_t total = x_adv.numel();
  if (total == 0) return;
  const int64_t batch = x_adv.dim() > 0 ? x_adv.size(0) : 1;
  auto x = x_adv.is_contiguous() ? x_adv : x_adv.contiguous();
  const auto g = grad.contiguous();
  const auto origin = x0.contiguous();
  const int64_t blocks = blocks_for(total);
  auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "pgd_step_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const auto acc_dtype = c10::CppTypeToScalarType<acc_t>::value;
    const auto eps_t = per_sample_or_undefined(eps_per_sample, batch, acc_dtype);
    const auto alpha_t = per_sample_or_undefined(alpha_per_sample, batch, acc_dtype);
    pgd_step_kernel<scalar_t, acc_t><<<blocks, kThreads, 0, stream>>>(
        x.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(), origin.data_ptr<scalar_t>(),
        eps_t.defined() ? eps_t.data_ptr<acc_t>() : nullptr,
        alpha_t.defined() ? alpha_t.data_ptr<acc_t>() : nullptr, static_cast<acc_t>(eps),
        static_cast<acc_t>(alpha), static_cast<acc_t>(lo), static_cast<acc_t>(hi), total / batch, total);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  if (!x.is_same(x_adv)) x_adv.copy_(x);
  mark_written(x_adv);
}

}  // namespace

TORCH_LIBRARY_IMPL(hfc_fast, CUDA, m) {
  m.impl("pgd_step_", &pgd_step_cuda);
}

}  // namespace hfc
