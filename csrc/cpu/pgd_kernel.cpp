// CPU kernel of the fused in-place PGD step (element math in include/hfc/pgd_math.h).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>

#include "../ops/pgd.h"
#include "hfc/pgd_math.h"

namespace hfc {

namespace {

void pgd_step_cpu(at::Tensor& x_adv, const at::Tensor& grad, const at::Tensor& x0,
                  const std::optional<at::Tensor>& eps_per_sample,
                  const std::optional<at::Tensor>& alpha_per_sample, double eps, double alpha, double lo,
                  double hi) {
  check_pgd_args(x_adv, grad, x0, eps_per_sample, alpha_per_sample, eps, alpha, lo, hi);
  if (x_adv.numel() == 0) return;
  const int64_t batch = x_adv.dim() > 0 ? x_adv.size(0) : 1;
  const int64_t per_sample = x_adv.numel() / batch;
  auto x = x_adv.is_contiguous() ? x_adv : x_adv.contiguous();
  const auto g = grad.contiguous();
  const auto origin = x0.contiguous();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "pgd_step_cpu", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const auto acc_dtype = c10::CppTypeToScalarType<acc_t>::value;
    const auto eps_t = per_sample_or_undefined(eps_per_sample, batch, acc_dtype);
    const auto alpha_t = per_sample_or_undefined(alpha_per_sample, batch, acc_dtype);
    const acc_t* eps_p = eps_t.defined() ? eps_t.data_ptr<acc_t>() : nullptr;
    const acc_t* alpha_p = alpha_t.defined() ? alpha_t.data_ptr<acc_t>() : nullptr;
    scalar_t* xp = x.data_ptr<scalar_t>();
    const scalar_t* gp = g.data_ptr<scalar_t>();
    const scalar_t* op = origin.data_ptr<scalar_t>();
    const acc_t lo_a = static_cast<acc_t>(lo), hi_a = static_cast<acc_t>(hi);
    at::parallel_for(0, batch * per_sample, 16384, [&](int64_t begin, int64_t end) {
      int64_t k = begin;
      while (k < end) {  // walk the chunk one sample's run at a time
        const int64_t b = k / per_sample;
        const int64_t stop = std::min(end, (b + 1) * per_sample);
        const acc_t e = eps_p ? eps_p[b] : static_cast<acc_t>(eps);
        const acc_t a = alpha_p ? alpha_p[b] : static_cast<acc_t>(alpha);
        for (; k < stop; ++k) {
          xp[k] = static_cast<scalar_t>(pgd_update<acc_t>(static_cast<acc_t>(xp[k]), static_cast<acc_t>(gp[k]),
                                                         static_cast<acc_t>(op[k]), e, a, lo_a, hi_a));
        }
      }
    });
  });
  if (!x.is_same(x_adv)) x_adv.copy_(x);
}

}  // namespace

TORCH_LIBRARY_IMPL(hfc_fast, CPU, m) {
  m.impl("pgd_step_", &pgd_step_cpu);
}

}  // namespace hfc
