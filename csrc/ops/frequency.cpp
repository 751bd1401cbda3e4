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
#include "hfc/frequency_math.h"

namespace hfc {

namespace {

// Internal element kernels, reached through the dispatcher so that each device
// runs its own (cpu/ or cuda/).
at::Tensor call_band_mask(const at::Tensor& coeffs, at::ArrayRef<double> radii, bool inclusive,
                          int64_t h, int64_t w) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("hfc_fast::_band_mask", "")
                       .typed<at::Tensor(const at::Tensor&, at::ArrayRef<double>, bool, int64_t, int64_t)>();
  return op.call(coeffs, radii, inclusive, h, w);
}

void call_split_epilogue(const at::Tensor& x, const at::Tensor& low, at::Tensor& low_out,
                         at::Tensor& high_out) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("hfc_fast::_split_epilogue", "")
                       .typed<void(const at::Tensor&, const at::Tensor&, at::Tensor&, at::Tensor&)>();
  op.call(x, low, low_out, high_out);
}

at::Tensor call_radial_bin_mean(const at::Tensor& power, int64_t w) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("hfc_fast::_radial_bin_mean", "")
                       .typed<at::Tensor(const at::Tensor&, int64_t)>();
  return op.call(power, w);
}

at::ScalarType compute_dtype(at::ScalarType t) {
  return t == at::kDouble ? at::kDouble : at::kFloat;
}

struct Band {
  int64_t rows_h;  // band-basis rows kept on the H axis
  int64_t rows_w;  // ... and on the W axis
};

Band band_of(double radius, int64_t h, int64_t w, bool inclusive) {
  return {band_rows(band_max_frequency(radius, h, inclusive), h),
          band_rows(band_max_frequency(radius, w, inclusive), w)};
}

void check_split_args(const at::Tensor& x, at::ArrayRef<double> radii) {
  check_real_floating(x, "x");
  check_image_dims(x, "x");
  TORCH_CHECK_VALUE(!radii.empty(), "radius must hold at least one value");
  for (double r : radii) check_radius(r, "radius");
}

// low/high of x (N, H, W) for every radius, written into low_out/high_out
// (R, N, H, W). Steps: forward band transform up to the largest radius, one
// fused kernel that masks and scales the coefficients of every radius, a
// per-radius inverse into `low`, and a fused epilogue high = x - low.
std::tuple<at::Tensor, at::Tensor> frequency_split(const at::Tensor& x, at::ArrayRef<double> radii,
                                                   bool inclusive) {
  check_split_args(x, radii);
  const int64_t h = x.size(-2);
  const int64_t w = x.size(-1);
  const int64_t n_radii = static_cast<int64_t>(radii.size());
  const int64_t n_images = h * w == 0 ? 0 : x.numel() / (h * w);

  std::vector<int64_t> out_shape{n_radii};
  for (auto s : x.sizes()) out_shape.push_back(s);
  const auto opts = x.options();
  auto low_out = at::empty(out_shape, opts);
  auto high_out = at::empty(out_shape, opts);
  if (x.numel() == 0) return {low_out, high_out};

  const auto dtype = compute_dtype(x.scalar_type());
  const auto xc = x.contiguous().to(dtype).view({n_images, h, w});
  // For float32/float64 the inverse writes straight into the output.
  const bool direct = dtype == x.scalar_type();
  auto low = direct ? low_out.view({n_radii, n_images, h, w})
                    : at::empty({n_radii, n_images, h, w}, xc.options());

  std::vector<Band> bands;
  int64_t rows_h = 0, rows_w = 0;
  for (double r : radii) {
    bands.push_back(band_of(r, h, w, inclusive));
    rows_h = std::max(rows_h, bands.back().rows_h);
    rows_w = std::max(rows_w, bands.back().rows_w);
  }

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
      const auto [bh, bw] = bands[i];
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
  return {low_out, high_out};
}

// Mean power |DFT(x)|^2 / (H W) per integer radius, (..., n_bins).
at::Tensor radial_power_spectrum(const at::Tensor& x) {
  check_real_floating(x, "x");
  check_image_dims(x, "x");
  const int64_t h = x.size(-2);
  const int64_t w = x.size(-1);
  TORCH_CHECK_VALUE(h > 0 && w > 0, "x must have non-empty spatial dimensions, got shape ", x.sizes());
  const auto dtype = compute_dtype(x.scalar_type());
  const auto spectrum = at::fft_rfft2(x.contiguous().to(dtype));
  const auto power = at::real(spectrum * spectrum.conj()) / static_cast<double>(h * w);
  auto binned = call_radial_bin_mean(power.contiguous(), w);
  return binned.to(x.scalar_type());
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(hfc_fast, m) {
  m.def("frequency_split(Tensor x, float[] radii, bool inclusive=False) -> (Tensor, Tensor)");
  m.def("_band_mask(Tensor coeffs, float[] radii, bool inclusive, int height, int width) -> Tensor");
  m.def("_split_epilogue(Tensor x, Tensor low, Tensor(a!) low_out, Tensor(b!) high_out) -> ()");
  m.def("radial_mask_fill_(Tensor(a!) out, float radius, bool inclusive, bool centered) -> ()");
  m.def("radial_power_spectrum(Tensor x) -> Tensor");
  m.def("_radial_bin_mean(Tensor power, int width) -> Tensor");
}

TORCH_LIBRARY_IMPL(hfc_fast, CPU, m) {
  m.impl("frequency_split", &frequency_split);
  m.impl("radial_power_spectrum", &radial_power_spectrum);
}

TORCH_LIBRARY_IMPL(hfc_fast, CUDA, m) {
  m.impl("frequency_split", &frequency_split);
  m.impl("radial_power_spectrum", &radial_power_spectrum);
}

}  // namespace hfc
