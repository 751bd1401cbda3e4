// CPU kernels of the frequency family (element math in include/hfc/).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <type_traits>
#include <vector>

#include "../ops/frequency_split.h"
#include "hfc/frequency_math.h"
#include "simd.h"

namespace hfc {

namespace {

// coeffs: (N, rows_h, rows_w) band coefficients. Returns, for every radius in
// turn, its masked and scaled band (N, bh, bw), flattened and concatenated.
// The mask comes from indices: in each band row the kept columns are a prefix.
at::Tensor band_mask_cpu(const at::Tensor& coeffs_in, at::ArrayRef<double> radii, bool inclusive,
                         int64_t h, int64_t w) {
  const auto coeffs = coeffs_in.contiguous();
  const int64_t n_images = coeffs.size(0);
  const int64_t rows_h = coeffs.size(1);
  const int64_t rows_w = coeffs.size(2);
  const auto band = band_layout(radii, n_images, h, w, inclusive);
  auto out = at::empty({band.total}, coeffs.options());
  AT_DISPATCH_FLOATING_TYPES(coeffs.scalar_type(), "band_mask_cpu", [&] {
    const scalar_t* src = coeffs.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    const int64_t n_radii = static_cast<int64_t>(radii.size());
    const scalar_t inv_area = scalar_t(1) / static_cast<scalar_t>(h * w);
    at::parallel_for(0, n_radii * n_images, 1, [&](int64_t begin, int64_t end) {
      for (int64_t job = begin; job < end; ++job) {
        const int64_t i = job / n_images;
        const int64_t n = job % n_images;
        for (int64_t jy = 0; jy < band.rows_h[i]; ++jy) {
          const int64_t ky = band_frequency(jy);
          const int64_t kept = band_kept_rows(ky, band.rows_w[i], radii[i], inclusive);
          const scalar_t row_scale = static_cast<scalar_t>(band_fold(ky, h)) * inv_area;
          const scalar_t* in = src + (n * rows_h + jy) * rows_w;
          scalar_t* o = dst + band.offsets[i] + (n * band.rows_h[i] + jy) * band.rows_w[i];
          for (int64_t jx = 0; jx < kept; ++jx) {
            o[jx] = in[jx] * row_scale * static_cast<scalar_t>(band_fold(band_frequency(jx), w));
          }
          for (int64_t jx = kept; jx < band.rows_w[i]; ++jx) o[jx] = scalar_t(0);
        }
      }
    });
  });
  return out;
}

// high = x - low over one run, vectorised for each instruction set.
template <typename T>
inline void subtract_run(const T* __restrict__ x, const T* __restrict__ low, T* __restrict__ high, int64_t n) {
  for (int64_t k = 0; k < n; ++k) high[k] = x[k] - low[k];
}

HFC_CPU_CLONES void subtract_run_float(const float* x, const float* low, float* high, int64_t n) {
  subtract_run<float>(x, low, high, n);
}

HFC_CPU_CLONES void subtract_run_double(const double* x, const double* low, double* high, int64_t n) {
  subtract_run<double>(x, low, high, n);
}

inline void subtract_into(const float* x, const float* low, float* high, int64_t n) {
  subtract_run_float(x, low, high, n);
}

inline void subtract_into(const double* x, const double* low, double* high, int64_t n) {
  subtract_run_double(x, low, high, n);
}

// Reduced-precision outputs: computed in the compute dtype, then rounded.
template <typename T, typename Out>
inline void subtract_into(const T* x, const T* low, Out* high, int64_t n) {
  for (int64_t k = 0; k < n; ++k) high[k] = static_cast<Out>(x[k] - low[k]);
}

// low_out = low and high_out = x - low, in the output dtype; x (N, H, W) and
// low (R, N, H, W) in the compute dtype. When low already is low_out (float32
// and float64 inputs) only the high half is written.
void split_epilogue_cpu(const at::Tensor& x, const at::Tensor& low, at::Tensor& low_out,
                        at::Tensor& high_out) {
  const int64_t plane = x.numel();
  const int64_t n_radii = low.size(0);
  const bool write_low = low.data_ptr() != low_out.data_ptr();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, high_out.scalar_type(), "split_epilogue_cpu", [&] {
    using out_t = scalar_t;
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "split_epilogue_cpu_acc", [&] {
      const scalar_t* xs = x.data_ptr<scalar_t>();
      for (int64_t i = 0; i < n_radii; ++i) {
        const scalar_t* lows = low.data_ptr<scalar_t>() + i * plane;
        out_t* lo = low_out.data_ptr<out_t>() + i * plane;
        out_t* hi = high_out.data_ptr<out_t>() + i * plane;
        at::parallel_for(0, plane, 16384, [&](int64_t begin, int64_t end) {
          subtract_into(xs + begin, lows + begin, hi + begin, end - begin);
          if (write_low) {
            for (int64_t k = begin; k < end; ++k) lo[k] = static_cast<out_t>(lows[k]);
          }
        });
      }
    });
  });
}

void radial_mask_fill_cpu(at::Tensor& out, double radius, bool inclusive, bool centered) {
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
}

// spectrum: (N, H, W // 2 + 1) complex rfft2 of width-w images. Returns
// (N, n_bins): the mean of |z|^2 / (H W) over the full spectrum in each bin.
at::Tensor radial_bin_power_cpu(const at::Tensor& spectrum, int64_t w) {
  const auto z = spectrum.contiguous();
  const int64_t h = z.size(-2);
  const int64_t wr = z.size(-1);
  const int64_t n_images = h * wr == 0 ? 0 : z.numel() / (h * wr);
  const int64_t n_bins = radial_bin_count(h, w);
  auto out = at::empty(radial_bin_shape(z, w), z.options().dtype(c10::toRealValueType(z.scalar_type())));
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "radial_bin_power_cpu", [&] {
    const scalar_t* src = reinterpret_cast<const scalar_t*>(z.data_ptr());  // (re, im) pairs
    scalar_t* dst = out.data_ptr<scalar_t>();
    const double area = static_cast<double>(h * w);
    at::parallel_for(0, n_images, 1, [&](int64_t begin, int64_t end) {
      std::vector<double> sum(n_bins), count(n_bins);
      for (int64_t n = begin; n < end; ++n) {
        std::fill(sum.begin(), sum.end(), 0.0);
        std::fill(count.begin(), count.end(), 0.0);
        for (int64_t y = 0; y < h; ++y) {
          const int64_t fy = signed_frequency(y, h);
          for (int64_t x = 0; x < wr; ++x) {
            const int64_t k = 2 * ((n * h + y) * wr + x);
            const double re = static_cast<double>(src[k]), im = static_cast<double>(src[k + 1]);
            const int64_t b = radial_bin(fy, x);
            const double m = static_cast<double>(rfft_multiplicity(x, w));
            sum[b] += m * (re * re + im * im) / area;
            count[b] += m;
          }
        }
        for (int64_t b = 0; b < n_bins; ++b)
          dst[n * n_bins + b] = static_cast<scalar_t>(count[b] > 0 ? sum[b] / count[b] : 0.0);
      }
    });
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(hfc_fast, CPU, m) {
  m.impl("_band_mask", &band_mask_cpu);
  m.impl("_split_epilogue", &split_epilogue_cpu);
  m.impl("radial_mask_fill_", &radial_mask_fill_cpu);
  m.impl("_radial_bin_power", &radial_bin_power_cpu);
}

}  // namespace hfc
