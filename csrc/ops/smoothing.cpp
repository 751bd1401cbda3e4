// Kernel smoothing family: schemas and argument checks. Kernels live in
// cpu/smoothing_kernel.cpp and cuda/smoothing_kernel.cu; the backward (the
// adjoint of the smoothing stencil) is its own op.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(hfc_fast, m) {
  m.def("smooth_kernels(Tensor weight, float rho) -> Tensor");
  m.def("smooth_kernels_backward(Tensor grad, float rho) -> Tensor");
}
