// CPU kernels of frequency_split. Small images take a fused per-image kernel:
// the forward band transform, every radius' mask and inverse, and
// high = x - low happen while the image is in cache, and each output element is
// written once. Large images take the matrix-product route
// (generic/frequency_split_matmul.cpp), whose element kernels _band_mask and
// _split_epilogue for the CPU are here too.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "cpu/simd.h"
#include "generic/band_basis.h"
#include "hfc/frequency_math.h"
#include "ops/common.h"
#include "ops/frequency_split.h"

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

// Images up to this many pixels take the fused route; above it the per-image
// scratch leaves the L2 cache and large matrix products win. The environment
// variable HFC_FAST_FUSED_MAX_PIXELS overrides it (read once), for tuning.
int64_t fused_max_pixels() {
  static const int64_t limit = [] {
    const char* env = std::getenv("HFC_FAST_FUSED_MAX_PIXELS");
    return env != nullptr ? std::max<int64_t>(0, std::atoll(env)) : int64_t(96 * 96);
  }();
  return limit;
}

// Rows are zero-padded to whole blocks of kLanes values, so that every inner
// loop below is a fixed-length vector operation with no tail.
constexpr int64_t kLanes = 16;

inline int64_t padded(int64_t n) {
  return (n + kLanes - 1) / kLanes * kLanes;
}

// out[0:n] = sum_i c[i] * rows[i * stride + 0:n], n a multiple of kLanes. One
// block of accumulators stays in registers while the m rows stream past.
template <typename T>
inline void sum_scaled_rows(T* __restrict__ out, const T* __restrict__ c, const T* __restrict__ rows,
                            int64_t stride, int64_t m, int64_t n) {
  for (int64_t b = 0; b < n; b += kLanes) {
    T acc[kLanes] = {};
    for (int64_t i = 0; i < m; ++i) {
      const T ci = c[i];
      const T* r = rows + i * stride + b;
      for (int64_t k = 0; k < kLanes; ++k) acc[k] += ci * r[k];
    }
    for (int64_t k = 0; k < kLanes; ++k) out[b + k] = acc[k];
  }
}

// Everything one call needs, fixed across its images. Bases are zero-padded.
template <typename T>
struct SplitPlan {
  int64_t h, w, rows_h, rows_w;
  int64_t rows_w_pad, w_pad;  // padded row lengths
  const T* basis_h;           // (rows_h, h)
  const T* basis_h_t;         // (h, rows_h)
  const T* basis_w;           // (rows_w, w_pad)
  const T* basis_w_t;         // (w, rows_w_pad)
  std::vector<double> radii;
  std::vector<int64_t> bands_h, bands_w;
  bool inclusive;

  int64_t scratch_size() const {
    return h * rows_w_pad + rows_h * rows_w_pad + rows_h * w_pad + w_pad + rows_w;
  }
};

// One image (h, w) in, R low/high planes out (plane stride `out_stride`).
template <typename T, typename Out>
inline void split_image(const SplitPlan<T>& p, const T* __restrict__ x, Out* low, Out* high, int64_t out_stride,
                        T* scratch) {
  const int64_t h = p.h, w = p.w, rows_w_pad = p.rows_w_pad, w_pad = p.w_pad;
  T* along_w = scratch;                      // (h, rows_w_pad)
  T* coeffs = along_w + h * rows_w_pad;      // (rows_h, rows_w_pad)
  T* back_w = coeffs + p.rows_h * rows_w_pad;  // (rows_h, w_pad)
  T* row = back_w + p.rows_h * w_pad;        // (w_pad)
  T* scaled = row + w_pad;                   // (rows_w)

  // Forward: along_w = x · basis_wᵀ, then coeffs = basis_h · along_w.
  for (int64_t y = 0; y < h; ++y) {
    sum_scaled_rows(along_w + y * rows_w_pad, x + y * w, p.basis_w_t, rows_w_pad, w, rows_w_pad);
  }
  for (int64_t jy = 0; jy < p.rows_h; ++jy) {
    sum_scaled_rows(coeffs + jy * rows_w_pad, p.basis_h + jy * h, along_w, rows_w_pad, h, rows_w_pad);
  }

  const T inv_area = T(1) / static_cast<T>(h * w);
  for (size_t i = 0; i < p.radii.size(); ++i) {
    Out* lo = low + i * out_stride;
    Out* hi = high + i * out_stride;
    const int64_t bh = p.bands_h[i], bw = p.bands_w[i];
    // Inverse along W over the kept prefix of each band row (the disk), with
    // the mask's folding weights and 1/(H W) applied to the coefficients.
    for (int64_t jy = 0; jy < bh; ++jy) {
      const int64_t ky = band_frequency(jy);
      const int64_t kept = band_kept_rows(ky, bw, p.radii[i], p.inclusive);
      const T row_scale = static_cast<T>(band_fold(ky, h)) * inv_area;
      for (int64_t jx = 0; jx < kept; ++jx) {
        scaled[jx] = coeffs[jy * rows_w_pad + jx] * row_scale * static_cast<T>(band_fold(band_frequency(jx), w));
      }
      sum_scaled_rows(back_w + jy * w_pad, scaled, p.basis_w, w_pad, kept, w_pad);
    }
    // Inverse along H, one output row at a time, with high = x - low.
    for (int64_t y = 0; y < h; ++y) {
      sum_scaled_rows(row, p.basis_h_t + y * p.rows_h, back_w, w_pad, bh, w_pad);
      const T* xr = x + y * w;
      Out* lr = lo + y * w;
      Out* hr = hi + y * w;
      for (int64_t t = 0; t < w; ++t) {
        lr[t] = static_cast<Out>(row[t]);
        hr[t] = static_cast<Out>(xr[t] - row[t]);
      }
    }
  }
}

template <typename T, typename Out>
inline void split_images(const SplitPlan<T>& p, const T* x, Out* low, Out* high, int64_t n_images,
                         int64_t begin, int64_t end) {
  const int64_t plane = p.h * p.w;
  std::vector<T> scratch(p.scratch_size());
  for (int64_t n = begin; n < end; ++n) {
    split_image<T, Out>(p, x + n * plane, low + n * plane, high + n * plane, n_images * plane, scratch.data());
  }
}

// Compiled once per instruction set; the templates inline into each clone.
HFC_CPU_CLONES void split_images_float(const SplitPlan<float>& p, const float* x, float* low, float* high,
                                       int64_t n_images, int64_t begin, int64_t end) {
  split_images<float, float>(p, x, low, high, n_images, begin, end);
}

HFC_CPU_CLONES void split_images_double(const SplitPlan<double>& p, const double* x, double* low, double* high,
                                        int64_t n_images, int64_t begin, int64_t end) {
  split_images<double, double>(p, x, low, high, n_images, begin, end);
}

inline void split_range(const SplitPlan<float>& p, const float* x, float* low, float* high, int64_t n_images,
                        int64_t begin, int64_t end) {
  split_images_float(p, x, low, high, n_images, begin, end);
}

inline void split_range(const SplitPlan<double>& p, const double* x, double* low, double* high,
                        int64_t n_images, int64_t begin, int64_t end) {
  split_images_double(p, x, low, high, n_images, begin, end);
}

// float16/bfloat16 outputs: computed in float32, rounded on the way out.
template <typename T, typename Out>
inline void split_range(const SplitPlan<T>& p, const T* x, Out* low, Out* high, int64_t n_images, int64_t begin,
                        int64_t end) {
  split_images<T, Out>(p, x, low, high, n_images, begin, end);
}

// (rows, n) -> (rows, padded(n)) with zeros on the right.
at::Tensor pad_columns(const at::Tensor& t) {
  const int64_t n = t.size(1);
  return at::constant_pad_nd(t, {0, padded(n) - n}, 0).contiguous();
}

void frequency_split_fused_into(const at::Tensor& x, at::ArrayRef<double> radii, bool inclusive,
                                at::Tensor& low_out, at::Tensor& high_out) {
  const int64_t h = x.size(-2);
  const int64_t w = x.size(-1);
  const int64_t n_images = x.numel() / (h * w);
  const auto dtype = compute_dtype(x.scalar_type());
  const auto xc = x.contiguous().to(dtype);

  const auto bands_h = split_band_rows(radii, h, inclusive);
  const auto bands_w = split_band_rows(radii, w, inclusive);
  const int64_t rows_h = *std::max_element(bands_h.begin(), bands_h.end());
  const int64_t rows_w = *std::max_element(bands_w.begin(), bands_w.end());
  const auto basis_h = band_basis(h, dtype, x.device()).narrow(0, 0, rows_h).contiguous();
  const auto basis_h_t = basis_h.t().contiguous();
  const auto basis_w_rows = band_basis(w, dtype, x.device()).narrow(0, 0, rows_w);
  const auto basis_w = pad_columns(basis_w_rows);
  const auto basis_w_t = pad_columns(basis_w_rows.t());

  AT_DISPATCH_FLOATING_TYPES(dtype, "frequency_split_fused", [&] {
    using T = scalar_t;
    SplitPlan<T> plan{h, w, rows_h, rows_w, padded(rows_w), padded(w),
                      basis_h.data_ptr<T>(), basis_h_t.data_ptr<T>(), basis_w.data_ptr<T>(),
                      basis_w_t.data_ptr<T>(), std::vector<double>(radii.begin(), radii.end()),
                      bands_h, bands_w, inclusive};
    const T* xs = xc.data_ptr<T>();
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "frequency_split_fused_out", [&] {
      using Out = scalar_t;
      Out* lo = low_out.data_ptr<Out>();
      Out* hi = high_out.data_ptr<Out>();
      // Enough images per task to amortise the scratch set-up.
      const int64_t grain = std::max<int64_t>(1, 4096 / (h * w));
      at::parallel_for(0, n_images, grain, [&](int64_t begin, int64_t end) {
        split_range(plan, xs, lo, hi, n_images, begin, end);
      });
    });
  });
}

// Small images take the fused kernel, large ones the matrix-product route.
void frequency_split_cpu_into(const at::Tensor& x, at::ArrayRef<double> radii, bool inclusive,
                              at::Tensor& low, at::Tensor& high) {
  if (x.size(-2) * x.size(-1) > fused_max_pixels()) {
    frequency_split_matmul_into(x, radii, inclusive, low, high);
  } else {
    frequency_split_fused_into(x, radii, inclusive, low, high);
  }
}

}  // namespace

TORCH_LIBRARY_IMPL(hfc_fast, CPU, m) {
  m.impl("frequency_split", &split_functional<&frequency_split_cpu_into>);
  m.impl("frequency_split.out", &split_out<&frequency_split_cpu_into>);
  m.impl("_band_mask", &band_mask_cpu);
  m.impl("_split_epilogue", &split_epilogue_cpu);
}

}  // namespace hfc
