// smooth_kernels: schemas (argument checks in ops/smooth_kernels.h). Kernels
// live in cpu/smooth_kernels_kernel.cpp and cuda/smooth_kernels_kernel.cu; the
// backward (the adjoint of the smoothing stencil) is its own op.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(hfc_fast, m) {
  m.def("smooth_kernels(Tensor weight, float rho) -> Tensor");
  m.def("smooth_kernels_backward(Tensor grad, float rho) -> Tensor");
}
