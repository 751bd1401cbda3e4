// pgd_step_: schema. The in-place kernels live in cpu/pgd_step_kernel.cpp and
// cuda/pgd_step_kernel.cu, their argument checks in ops/pgd_step.h. eps and
// alpha come either as numbers or as per-sample tensors of shape (B,) (or one
// element), which take precedence.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(hfc_fast, m) {
  m.def(
      "pgd_step_(Tensor(a!) x_adv, Tensor grad, Tensor x0, Tensor? eps_per_sample, "
      "Tensor? alpha_per_sample, float eps, float alpha, float lo, float hi) -> ()");
}
