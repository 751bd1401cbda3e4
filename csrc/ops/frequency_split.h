#pragma once
// Pieces of the radial split shared between the device-generic route
// (ops/frequency.cpp) and the CPU route for small images (cpu/frequency_kernel.cpp).
#include <torch/types.h>

#include <tuple>
#include <vector>

namespace hfc {

void check_split_args(const at::Tensor& x, at::ArrayRef<double> radii);

// float64 stays float64; every other dtype is computed in float32.
at::ScalarType split_compute_dtype(at::ScalarType t);

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

// Output shape of _radial_bin_power for an (..., H, W // 2 + 1) spectrum.
std::vector<int64_t> radial_bin_shape(const at::Tensor& spectrum, int64_t w);

// A route of the split: writes every radius into checked (R, *x.shape) outputs.
using SplitInto = void (*)(const at::Tensor& x, at::ArrayRef<double> radii, bool inclusive, at::Tensor& low,
                           at::Tensor& high);

// The functional and out= kernels of a route.
std::tuple<at::Tensor, at::Tensor> split_with(SplitInto route, const at::Tensor& x, at::ArrayRef<double> radii,
                                              bool inclusive);
void split_out_with(SplitInto route, const at::Tensor& x, at::ArrayRef<double> radii, bool inclusive,
                    at::Tensor& low, at::Tensor& high);

// The split through large matrix products, into checked (R, *x.shape)
// outputs: any device, any image size.
void frequency_split_gemm_into(const at::Tensor& x, at::ArrayRef<double> radii, bool inclusive,
                               at::Tensor& low_out, at::Tensor& high_out);

}  // namespace hfc
