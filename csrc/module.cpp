// Python module entry of hfc_fast._C. Importing it registers the operators
// (TORCH_LIBRARY blocks in ops/, cpu/ and cuda/); it exposes nothing else.
#include <Python.h>

PyMODINIT_FUNC PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  return PyModule_Create(&module_def);
}
