#pragma once
// radial_power_spectrum: what its generic composite and its per-device bin kernels share.
#include <torch/types.h>

#include <vector>

namespace hfc {

// Output shape of _radial_bin_power for an (..., H, W // 2 + 1) spectrum of width-w images.
std::vector<int64_t> radial_bin_shape(const at::Tensor& spectrum, int64_t w);

}  // namespace hfc
