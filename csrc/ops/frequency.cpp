// Frequency family: schemas, argument checks, and the device-generic parts of
// the radial split and the radial power spectrum. Element kernels live in
// cpu/frequency_kernel.cpp and cuda/frequency_kernel.cu.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <vector>

#include "band_basis.h"
#include "checks.h"
#include "frequency_split.h"
#include "hfc/frequency_math.h"

namespace hfc {

namespace {

// Internal element kernels, reached through the dispatcher so that each device
// runs its own (cpu/ or cuda/).
at::Tensor call_band_mask(const at::Tensor& coeffs, at::ArrayRef<double> radii, bool inclusive, int64_t h,
                          int64_t w) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("hfc_fast::_band_mask", "")
                       .typed<at::Tensor(const at::Tensor&, at::ArrayRef<double>, bool, int64_t, int64_t)>();
  return op.call(coeffs, radii, inclusive, h, w);
}

void call_split_epilogue(const at::Tensor& x, const at::Tensor& low, at::Tensor& low_out, at::Tensor& high_out) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("hfc_fast::_split_epilogue", "")
                       .typed<void(const at::Tensor&, const at::Tensor&, at::Tensor&, at::Tensor&)>();
  op.call(x, low, low_out, high_out);
}

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
  const auto dtype = split_compute_dtype(x.scalar_type());
  const auto spectrum = at::fft_rfft2(x.contiguous().to(dtype)).contiguous();
  return call_radial_bin_power(spectrum, w).to(x.scalar_type());
}

}  // namespace

at::ScalarType split_compute_dtype(at::ScalarType t) {
  return t == at::kDouble ? at::kDouble : at::kFloat;
}

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
  TORCH_CHECK_VALUE(!low.is_same(high) && (low.numel() == 0 || low.data_ptr() != high.data_ptr()),
                    "out low and high must be different tensors");
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

std::vector<int64_t> radial_bin_shape(const at::Tensor& spectrum, int64_t w) {
  std::vector<int64_t> shape(spectrum.sizes().begin(), spectrum.sizes().end() - 2);
  shape.push_back(radial_bin_count(spectrum.size(-2), w));
  return shape;
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
}

std::vector<int64_t> split_band_rows(at::ArrayRef<double> radii, int64_t n, bool inclusive) {
  std::vector<int64_t> rows;
  for (double r : radii) rows.push_back(band_rows(band_max_frequency(r, n, inclusive), n));
  return rows;
}

// low/high of x (N, H, W) for every radius, written into (R, N, H, W)
// outputs. Steps: forward band transform up to the largest radius, one fused
// kernel that masks and scales the coefficients of every radius, a per-radius
// inverse into `low`, and a fused epilogue high = x - low.
void frequency_split_gemm_into(const at::Tensor& x, at::ArrayRef<double> radii, bool inclusive,
                               at::Tensor& low_out, at::Tensor& high_out) {
  const int64_t h = x.size(-2);
  const int64_t w = x.size(-1);
  const int64_t n_radii = static_cast<int64_t>(radii.size());
  const int64_t n_images = x.numel() / (h * w);  // split_with passes no empty input

  const auto dtype = split_compute_dtype(x.scalar_type());
  const auto xc = x.contiguous().to(dtype).view({n_images, h, w});
  // For float32/float64 the inverse writes straight into the output.
  const bool direct = dtype == x.scalar_type();
  auto low = direct ? low_out.view({n_radii, n_images, h, w}) : at::empty({n_radii, n_images, h, w}, xc.options());

  const auto bands_h = split_band_rows(radii, h, inclusive);
  const auto bands_w = split_band_rows(radii, w, inclusive);
  const int64_t rows_h = *std::max_element(bands_h.begin(), bands_h.end());
  const int64_t rows_w = *std::max_element(bands_w.begin(), bands_w.end());

  if (rows_h > 0 && rows_w > 0) {
    const auto basis_h = band_basis(h, dtype, x.device()).narrow(0, 0, rows_h);
    const auto basis_w = band_basis(w, dtype, x.device()).narrow(0, 0, rows_w);
    // Forward: contract W with one large product, then H with a batched
    // product whose left operand is shared (no transposes in between).
    auto along_w = at::mm(xc.view({n_images * h, w}), basis_w.t()).view({n_images, h, rows_w});
    auto coeffs = at::bmm(basis_h.expand({n_images, rows_h, h}), along_w);
    auto masked = call_band_mask(coeffs, radii, inclusive, h, w);
    int64_t offset = 0;
    for (int64_t i = 0; i < n_radii; ++i) {
      const int64_t bh = bands_h[i];
      const int64_t bw = bands_w[i];
      auto low_i = low.select(0, i);
      if (bh == 0 || bw == 0) {
        low_i.zero_();
        continue;
      }
      // Inverse: contract the W band, then the H band straight into the output.
      auto band = masked.narrow(0, offset, n_images * bh * bw).view({n_images * bh, bw});
      offset += n_images * bh * bw;
      auto back_w = at::mm(band, basis_w.narrow(0, 0, bw)).view({n_images, bh, w});
      at::bmm_out(low_i, basis_h.narrow(0, 0, bh).t().expand({n_images, h, bh}), back_w);
    }
  } else {
    low.zero_();
  }

  auto low_view = low_out.view({n_radii, n_images, h, w});
  auto high_view = high_out.view({n_radii, n_images, h, w});
  call_split_epilogue(xc, low, low_view, high_view);
}

namespace {

std::tuple<at::Tensor, at::Tensor> frequency_split_gemm(const at::Tensor& x, at::ArrayRef<double> radii,
                                                        bool inclusive) {
  return split_with(&frequency_split_gemm_into, x, radii, inclusive);
}

void frequency_split_gemm_out(const at::Tensor& x, at::ArrayRef<double> radii, bool inclusive, at::Tensor& low,
                              at::Tensor& high) {
  split_out_with(&frequency_split_gemm_into, x, radii, inclusive, low, high);
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(hfc_fast, m) {
  m.def("frequency_split(Tensor x, float[] radii, bool inclusive=False) -> (Tensor, Tensor)");
  m.def(
      "frequency_split.out(Tensor x, float[] radii, bool inclusive=False, *, Tensor(a!) low, Tensor(b!) high) "
      "-> ()");
  m.def("_band_mask(Tensor coeffs, float[] radii, bool inclusive, int height, int width) -> Tensor");
  m.def("_split_epilogue(Tensor x, Tensor low, Tensor(a!) low_out, Tensor(b!) high_out) -> ()");
  m.def("radial_mask_fill_(Tensor(a!) out, float radius, bool inclusive, bool centered) -> ()");
  m.def("radial_power_spectrum(Tensor x) -> Tensor");
  m.def("_radial_bin_power(Tensor spectrum, int width) -> Tensor");
}

// The CPU registration of frequency_split (small images take a fused route)
// lives in cpu/frequency_kernel.cpp.
TORCH_LIBRARY_IMPL(hfc_fast, CPU, m) {
  m.impl("radial_power_spectrum", &radial_power_spectrum);
}

TORCH_LIBRARY_IMPL(hfc_fast, CUDA, m) {
  m.impl("frequency_split", &frequency_split_gemm);
  m.impl("frequency_split.out", &frequency_split_gemm_out);
  m.impl("radial_power_spectrum", &radial_power_spectrum);
}

}  // namespace hfc
