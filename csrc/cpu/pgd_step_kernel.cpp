// CPU kernel of the fused in-place PGD step (element math in include/hfc/pgd_math.h).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <type_traits>

#include "cpu/simd.h"
#include "hfc/pgd_math.h"
#include "ops/pgd_step.h"

namespace hfc {

namespace {

// One sample's run of the update with restrict pointers, so that it vectorises.
template <typename T>
inline void pgd_run(T* __restrict__ x, const T* __restrict__ g, const T* __restrict__ x0, int64_t n, T eps,
                    T alpha, T lo, T hi) {
  for (int64_t k = 0; k < n; ++k) x[k] = pgd_update<T>(x[k], g[k], x0[k], eps, alpha, lo, hi);
}

HFC_CPU_CLONES void pgd_run_float(float* __restrict__ x, const float* __restrict__ g, const float* __restrict__ x0,
                                  int64_t n, float eps, float alpha, float lo, float hi) {
  pgd_run<float>(x, g, x0, n, eps, alpha, lo, hi);
}

HFC_CPU_CLONES void pgd_run_double(double* __restrict__ x, const double* __restrict__ g,
                                   const double* __restrict__ x0, int64_t n, double eps, double alpha, double lo,
                                   double hi) {
  pgd_run<double>(x, g, x0, n, eps, alpha, lo, hi);
}

// Reduced-precision inputs update in their math type, element by element.
template <typename T, typename Acc>
void pgd_run_any(T* x, const T* g, const T* x0, int64_t n, Acc eps, Acc alpha, Acc lo, Acc hi) {
  if constexpr (std::is_same_v<T, float>) {
    pgd_run_float(x, g, x0, n, eps, alpha, lo, hi);
  } else if constexpr (std::is_same_v<T, double>) {
    pgd_run_double(x, g, x0, n, eps, alpha, lo, hi);
  } else {
    for (int64_t k = 0; k < n; ++k)
      x[k] = static_cast<T>(pgd_update<Acc>(static_cast<Acc>(x[k]), static_cast<Acc>(g[k]),
                                            static_cast<Acc>(x0[k]), eps, alpha, lo, hi));
  }
}

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
        pgd_run_any<scalar_t, acc_t>(xp + k, gp + k, op + k, stop - k, e, a, lo_a, hi_a);
        k = stop;
      }
    });
  });
  if (!x.is_same(x_adv)) x_adv.copy_(x);
  mark_written(x_adv);
}

}  // namespace

TORCH_LIBRARY_IMPL(hfc_fast, CPU, m) {
  m.impl("pgd_step_", &pgd_step_cpu);
}

}  // namespace hfc
