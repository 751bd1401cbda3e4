// CPU kernel of radial_mask (element math in include/hfc/frequency_math.h).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include "hfc/frequency_math.h"
#include "ops/common.h"

namespace hfc {

namespace {

void radial_mask_fill_cpu(at::Tensor& out, double radius, bool inclusive, bool centered) {
  check_radius(radius, "radius");
  const int64_t h = out.size(-2);
  const int64_t w = out.size(-1);
  auto filled = at::empty({h, w}, out.options());
  AT_DISPATCH_FLOATING_TYPES_AND3(at::kHalf, at::kBFloat16, at::kBool, out.scalar_type(), "radial_mask_fill_cpu", [&] {
    scalar_t* o = filled.data_ptr<scalar_t>();
    at::parallel_for(0, h, 16, [&](int64_t begin, int64_t end) {
      for (int64_t y = begin; y < end; ++y)
        for (int64_t x = 0; x < w; ++x)
          o[y * w + x] = static_cast<scalar_t>(radial_mask_value<double>(y, x, h, w, radius, inclusive, centered));
    });
  });
  out.copy_(filled.expand_as(out));
  mark_written(out);
}

}  // namespace

TORCH_LIBRARY_IMPL(hfc_fast, CPU, m) {
  m.impl("radial_mask_fill_", &radial_mask_fill_cpu);
}

}  // namespace hfc
