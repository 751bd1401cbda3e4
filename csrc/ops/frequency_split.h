#pragma once
// frequency_split: what its routes share (ops/frequency_split.cpp), and the
// matrix-product route (generic/frequency_split_matmul.cpp) the CPU and CUDA
// registrations call.
#include <torch/types.h>

#include <tuple>
#include <vector>

namespace hfc {

void check_split_args(const at::Tensor& x, at::ArrayRef<double> radii);

// Empty (R, *x.shape) outputs in the dtype of x.
std::tuple<at::Tensor, at::Tensor> split_outputs(const at::Tensor& x, int64_t n_radii);

// Checks caller-given outputs: (R, *x.shape), dtype and device of x, contiguous.
void check_split_outputs(const at::Tensor& x, int64_t n_radii, const at::Tensor& low, const at::Tensor& high);

// Band-basis rows each radius keeps on an axis of length n.
std::vector<int64_t> split_band_rows(at::ArrayRef<double> radii, int64_t n, bool inclusive);

// Where each radius' masked band lands in the flat output of _band_mask:
// radius i holds (n_images, rows_h[i], rows_w[i]) values from offsets[i].
struct BandLayout {
  std::vector<int64_t> rows_h, rows_w, offsets;
  int64_t total = 0;
};
BandLayout band_layout(at::ArrayRef<double> radii, int64_t n_images, int64_t h, int64_t w, bool inclusive);

// A route of the split: writes every radius into checked (R, *x.shape) outputs.
using SplitInto = void (*)(const at::Tensor& x, at::ArrayRef<double> radii, bool inclusive, at::Tensor& low,
                           at::Tensor& high);

// The functional and out= kernels of a route.
std::tuple<at::Tensor, at::Tensor> split_with(SplitInto route, const at::Tensor& x, at::ArrayRef<double> radii,
                                              bool inclusive);
void split_out_with(SplitInto route, const at::Tensor& x, at::ArrayRef<double> radii, bool inclusive,
                    at::Tensor& low, at::Tensor& high);

// The same, as functions a device registers: m.impl("frequency_split", &split_functional<route>).
template <SplitInto Route>
std::tuple<at::Tensor, at::Tensor> split_functional(const at::Tensor& x, at::ArrayRef<double> radii,
                                                    bool inclusive) {
  return split_with(Route, x, radii, inclusive);
}

template <SplitInto Route>
void split_out(const at::Tensor& x, at::ArrayRef<double> radii, bool inclusive, at::Tensor& low,
               at::Tensor& high) {
  split_out_with(Route, x, radii, inclusive, low, high);
}

// The split through large matrix products, into checked (R, *x.shape)
// outputs: any device, any image size.
void frequency_split_matmul_into(const at::Tensor& x, at::ArrayRef<double> radii, bool inclusive,
                                 at::Tensor& low_out, at::Tensor& high_out);

}  // namespace hfc
