// radial_mask: schema. The fill kernels live in cpu/radial_mask_kernel.cpp and
// cuda/radial_mask_kernel.cu; they check the radius by the ops' rule
// (ops/common.h).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(hfc_fast, m) {
  m.def("radial_mask_fill_(Tensor(a!) out, float radius, bool inclusive, bool centered) -> ()");
}
