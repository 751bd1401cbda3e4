// radial_power_spectrum: schema, and the shape of its internal per-device bin
// kernel's output. The op itself is device-generic
// (generic/radial_power_spectrum.cpp): rfft2, then _radial_bin_power
// (cpu/radial_power_spectrum_kernel.cpp, cuda/radial_power_spectrum_kernel.cu).
#include <torch/library.h>
#include <torch/types.h>

#include <vector>

#include "hfc/frequency_math.h"
#include "ops/radial_power_spectrum.h"

namespace hfc {

std::vector<int64_t> radial_bin_shape(const at::Tensor& spectrum, int64_t w) {
  std::vector<int64_t> shape(spectrum.sizes().begin(), spectrum.sizes().end() - 2);
  shape.push_back(radial_bin_count(spectrum.size(-2), w));
  return shape;
}

}  // namespace hfc

TORCH_LIBRARY_FRAGMENT(hfc_fast, m) {
  m.def("radial_power_spectrum(Tensor x) -> Tensor");
  m.def("_radial_bin_power(Tensor spectrum, int width) -> Tensor");
}
