#pragma once
#include <torch/types.h>

#include <optional>

#include "ops/common.h"

namespace hfc {

inline void check_pgd_per_sample(const std::optional<at::Tensor>& t, const at::Tensor& x_adv,
                                 const char* name) {
  if (!t.has_value()) return;
  check_real_floating(*t, name);
  check_same_device(x_adv, "x_adv", *t, name);
  const int64_t batch = x_adv.dim() > 0 ? x_adv.size(0) : 1;
  TORCH_CHECK_VALUE(t->numel() == 1 || (t->dim() == 1 && t->numel() == batch), name,
                    " must be a number or a tensor of shape (", batch, ",) with one value per sample, got shape ",
                    t->sizes());
}

inline void check_pgd_args(const at::Tensor& x_adv, const at::Tensor& grad, const at::Tensor& x0,
                           const std::optional<at::Tensor>& eps_t, const std::optional<at::Tensor>& alpha_t,
                           double eps, double alpha, double lo, double hi) {
  check_real_floating(x_adv, "x_adv");
  check_real_floating(grad, "grad");
  check_real_floating(x0, "x0");
  check_same_device(x_adv, "x_adv", grad, "grad");
  check_same_device(x_adv, "x_adv", x0, "x0");
  check_same_shape(x_adv, "x_adv", grad, "grad");
  check_same_shape(x_adv, "x_adv", x0, "x0");
  check_no_overlap(grad, "grad", x_adv, "x_adv", /*elementwise=*/true);
  check_no_overlap(x0, "x0", x_adv, "x_adv", /*elementwise=*/true);
  TORCH_CHECK_TYPE(grad.scalar_type() == x_adv.scalar_type() && x0.scalar_type() == x_adv.scalar_type(),
                   "grad and x0 must have the dtype of x_adv (", x_adv.scalar_type(), "), got ",
                   grad.scalar_type(), " and ", x0.scalar_type());
  check_pgd_per_sample(eps_t, x_adv, "eps");
  check_pgd_per_sample(alpha_t, x_adv, "alpha");
  check_finite(eps, "eps");
  check_finite(alpha, "alpha");
  TORCH_CHECK_VALUE(eps >= 0, "eps must be non-negative, got ", eps);
  check_finite(lo, "lo");
  check_finite(hi, "hi");
  TORCH_CHECK_VALUE(lo <= hi, "lo must not exceed hi, got lo=", lo, " hi=", hi);
}

// Per-sample parameter as a contiguous (B,) tensor of `dtype`, or an undefined
// tensor when the scalar applies to every sample.
inline at::Tensor per_sample_or_undefined(const std::optional<at::Tensor>& t, int64_t batch,
                                          at::ScalarType dtype) {
  if (!t.has_value()) return at::Tensor();
  return t->reshape({-1}).to(dtype).expand({batch}).contiguous();
}

}  // namespace hfc
