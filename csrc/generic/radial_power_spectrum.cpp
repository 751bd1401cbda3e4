// radial_power_spectrum, device-generic: the real-input FFT, then the per-device
// bin kernel _radial_bin_power reached through the dispatcher. Registered once
// (CompositeExplicitAutograd) for every device.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>
#include <torch/types.h>

#include <vector>

#include "hfc/frequency_math.h"
#include "ops/common.h"

namespace hfc {

namespace {

at::Tensor call_radial_bin_power(const at::Tensor& spectrum, int64_t w) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("hfc_fast::_radial_bin_power", "")
                       .typed<at::Tensor(const at::Tensor&, int64_t)>();
  return op.call(spectrum, w);
}

// Mean power |DFT(x)|^2 / (H W) per integer radius, (..., n_bins).
at::Tensor radial_power_spectrum(const at::Tensor& x) {
  check_real_floating(x, "x");
  check_image_dims(x, "x");
  const int64_t h = x.size(-2);
  const int64_t w = x.size(-1);
  TORCH_CHECK_VALUE(h > 0 && w > 0, "x must have non-empty spatial dimensions, got shape ", x.sizes());
  if (x.numel() == 0) {  // FFT libraries reject empty batches
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end() - 2);
    shape.push_back(radial_bin_count(h, w));
    return at::zeros(shape, x.options());
  }
  const auto dtype = compute_dtype(x.scalar_type());
  const auto spectrum = at::fft_rfft2(x.contiguous().to(dtype)).contiguous();
  return call_radial_bin_power(spectrum, w).to(x.scalar_type());
}

}  // namespace

// Registered once for every device: the route is ATen calls plus a dispatched op, so the dispatcher picks
// the FFT and the bin kernel of the tensor's device (autograd and the fake kernel come from Python).
TORCH_LIBRARY_IMPL(hfc_fast, CompositeExplicitAutograd, m) {
  m.impl("radial_power_spectrum", &radial_power_spectrum);
}

}  // namespace hfc
