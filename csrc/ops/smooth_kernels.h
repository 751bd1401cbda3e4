#pragma once
#include <torch/types.h>

#include "ops/common.h"

namespace hfc {

inline void check_smooth_args(const at::Tensor& weight, double rho, const char* name) {
  check_real_floating(weight, name);
  TORCH_CHECK_VALUE(weight.dim() == 4, name, " must be 4-D (out_channels, in_channels, kh, kw), got shape ",
                    weight.sizes());
  check_finite(rho, "rho");
}

}  // namespace hfc
