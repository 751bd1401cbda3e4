// Python module entry of hfc_fast._C. Importing it registers the operators
// (TORCH_LIBRARY blocks in ops/, cpu/ and cuda/); it exposes nothing else.
#include <Python.h>
#include <torch/library.h>

#include <string>

namespace hfc {

// Which kernels this build carries, for hfc_fast.backend_info().
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

PyMODINIT_FUNC PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  return PyModule_Create(&module_def);
}
