// Which kernels this build carries, for hfc_fast.backend_info().
#include <torch/library.h>

#include <string>

namespace hfc {

std::string build_info() {
#ifdef WITH_CUDA
  return "cpu+cuda";
#else
  return "cpu";
#endif
}

TORCH_LIBRARY_FRAGMENT(hfc_fast, m) {
  m.def("_build_info() -> str", &build_info);
}

}  // namespace hfc
