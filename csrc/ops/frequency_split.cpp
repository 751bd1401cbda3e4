// frequency_split: schema, argument checks and the pieces every route of the
// split shares (outputs, band layout). The routes: the fused CPU kernel
// (cpu/frequency_split_kernel.cpp) and the matrix-product route
// (generic/frequency_split_matmul.cpp), which is also the CUDA implementation
// (cuda/frequency_split_kernel.cu). _band_mask and _split_epilogue are the
// matrix-product route's element kernels, one per device.
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <vector>

#include "hfc/frequency_math.h"
#include "ops/common.h"
#include "ops/frequency_split.h"

namespace hfc {

void check_split_args(const at::Tensor& x, at::ArrayRef<double> radii) {
  check_real_floating(x, "x");
  check_image_dims(x, "x");
  TORCH_CHECK_VALUE(!radii.empty(), "radius must hold at least one value");
  for (double r : radii) check_radius(r, "radius");
}

std::tuple<at::Tensor, at::Tensor> split_outputs(const at::Tensor& x, int64_t n_radii) {
  std::vector<int64_t> shape{n_radii};
  for (auto s : x.sizes()) shape.push_back(s);
  return {at::empty(shape, x.options()), at::empty(shape, x.options())};
}

void check_split_outputs(const at::Tensor& x, int64_t n_radii, const at::Tensor& low, const at::Tensor& high) {
  std::vector<int64_t> shape{n_radii};
  for (auto s : x.sizes()) shape.push_back(s);
  for (const auto& [t, name] : {std::pair<const at::Tensor&, const char*>{low, "low"}, {high, "high"}}) {
    TORCH_CHECK_VALUE(t.sizes() == at::IntArrayRef(shape), "out ", name, " must have shape ", at::IntArrayRef(shape),
                      " (radii, *x.shape), got ", t.sizes());
    TORCH_CHECK_TYPE(t.scalar_type() == x.scalar_type(), "out ", name, " must have the dtype of x (",
                     x.scalar_type(), "), got ", t.scalar_type());
    TORCH_CHECK_VALUE(t.device() == x.device(), "out ", name, " must be on the device of x (", x.device(),
                      "), got ", t.device());
    TORCH_CHECK_VALUE(t.is_contiguous(), "out ", name, " must be contiguous");
  }
  check_no_overlap(x, "x", low, "out low");
  check_no_overlap(x, "x", high, "out high");
  check_no_overlap(low, "out low", high, "out high");
}

BandLayout band_layout(at::ArrayRef<double> radii, int64_t n_images, int64_t h, int64_t w, bool inclusive) {
  BandLayout layout;
  layout.rows_h = split_band_rows(radii, h, inclusive);
  layout.rows_w = split_band_rows(radii, w, inclusive);
  for (size_t i = 0; i < radii.size(); ++i) {
    layout.offsets.push_back(layout.total);
    layout.total += n_images * layout.rows_h[i] * layout.rows_w[i];
  }
  return layout;
}

std::tuple<at::Tensor, at::Tensor> split_with(SplitInto route, const at::Tensor& x, at::ArrayRef<double> radii,
                                              bool inclusive) {
  check_split_args(x, radii);
  auto [low, high] = split_outputs(x, static_cast<int64_t>(radii.size()));
  if (x.numel() > 0) route(x, radii, inclusive, low, high);
  return {low, high};
}

void split_out_with(SplitInto route, const at::Tensor& x, at::ArrayRef<double> radii, bool inclusive,
                    at::Tensor& low, at::Tensor& high) {
  check_split_args(x, radii);
  check_split_outputs(x, static_cast<int64_t>(radii.size()), low, high);
  if (x.numel() > 0) route(x, radii, inclusive, low, high);
  mark_written(low);
  mark_written(high);
}

std::vector<int64_t> split_band_rows(at::ArrayRef<double> radii, int64_t n, bool inclusive) {
  std::vector<int64_t> rows;
  for (double r : radii) rows.push_back(band_rows(band_max_frequency(r, n, inclusive), n));
  return rows;
}

}  // namespace hfc

TORCH_LIBRARY_FRAGMENT(hfc_fast, m) {
  m.def("frequency_split(Tensor x, float[] radii, bool inclusive=False) -> (Tensor, Tensor)");
  m.def(
      "frequency_split.out(Tensor x, float[] radii, bool inclusive=False, *, Tensor(a!) low, Tensor(b!) high) "
      "-> ()");
  m.def("_band_mask(Tensor coeffs, float[] radii, bool inclusive, int height, int width) -> Tensor");
  m.def("_split_epilogue(Tensor x, Tensor low, Tensor(a!) low_out, Tensor(b!) high_out) -> ()");
}
