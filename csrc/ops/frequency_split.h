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

// The split through large matrix products, into checked (R, *x.shape)
// outputs: any device, any image size.
void frequency_split_gemm_into(const at::Tensor& x, at::ArrayRef<double> radii, bool inclusive,
                               at::Tensor& low_out, at::Tensor& high_out);

}  // namespace hfc
