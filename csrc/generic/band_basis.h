#pragma once
// Real band-limited DFT bases (see include/hfc/frequency_math.h for the row
// order). Built once per (length, dtype, device) in float64 and cached.
#include <torch/types.h>

namespace hfc {

// Full (n, n) band basis of an axis of length n; callers slice a row prefix.
at::Tensor band_basis(int64_t n, at::ScalarType dtype, at::Device device);

}  // namespace hfc
