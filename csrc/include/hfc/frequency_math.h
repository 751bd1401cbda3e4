#pragma once
// Element math of the radial frequency split, shared by the CPU and CUDA kernels.
//
// Frequencies are the signed DFT frequencies (numpy's fftfreq * size): index i
// of an axis of length n has frequency i for i < (n + 1) / 2 and i - n above.
// The radial mask keeps fy^2 + fx^2 < r^2 (or <= with `inclusive`).
//
// The fast path works in a real "band basis" per axis, ordered so that the
// band of a smaller radius is a prefix of the band of a larger one:
//   row 0: cos(0), row 2k-1: cos(2*pi*k*t/n), row 2k: sin(2*pi*k*t/n).
// A radial mask depends on |fy| and |fx| only, so in this basis it is the same
// for all four cos/sin products and the whole split stays in real arithmetic.
#include <cmath>
#include <cstdint>

#include "macros.h"

namespace hfc {

// Signed frequency of DFT index `i` on an axis of length `n`.
HFC_HOST_DEVICE int64_t signed_frequency(int64_t i, int64_t n) {
  return i < (n + 1) / 2 ? i : i - n;
}

// Low-pass keep test on a squared distance. Strict `<` unless inclusive.
template <typename T>
HFC_HOST_DEVICE bool radial_keep(T dist2, T radius, bool inclusive) {
  const T r2 = radius * radius;
  return inclusive ? dist2 <= r2 : dist2 < r2;
}

// Absolute frequency carried by band-basis row `j` (cos/sin pairs share it).
HFC_HOST_DEVICE int64_t band_frequency(int64_t j) {
  return (j + 1) / 2;
}

// True where band-basis row `j` is a sine row.
HFC_HOST_DEVICE bool band_is_sine(int64_t j) {
  return j > 0 && (j % 2 == 0);
}

// How often frequency `k` stands in an axis of length `n` when the pair
// {k, -k} is folded into one real cos/sin row: DC and the Nyquist term once,
// every other frequency twice.
HFC_HOST_DEVICE int64_t band_fold(int64_t k, int64_t n) {
  return (k == 0 || (n % 2 == 0 && 2 * k == n)) ? 1 : 2;
}

// band_fold / n: the folding weight including the 1/n of the inverse transform.
template <typename T>
HFC_HOST_DEVICE T band_weight(int64_t k, int64_t n) {
  return static_cast<T>(band_fold(k, n)) / static_cast<T>(n);
}

// Largest absolute frequency a radius keeps on one axis, clipped to n / 2;
// -1 when it keeps nothing (strict radius 0).
HFC_HOST_DEVICE int64_t band_max_frequency(double radius, int64_t n, bool inclusive) {
  if (radius >= static_cast<double>(n)) return n / 2;  // also keeps the cast below in range
  int64_t k = inclusive ? static_cast<int64_t>(::floor(radius))
                        : static_cast<int64_t>(::ceil(radius)) - 1;
  const int64_t half = n / 2;
  return k < half ? k : half;
}

// Number of band-basis rows that carry the frequencies |k| <= kmax.
HFC_HOST_DEVICE int64_t band_rows(int64_t kmax, int64_t n) {
  if (kmax < 0) return 0;
  const int64_t rows = 2 * kmax + 1;
  return rows < n ? rows : n;
}

// Value of band-basis row `j` at sample `t` (angle reduced exactly in integers).
HFC_HOST_DEVICE double band_basis_value(int64_t j, int64_t t, int64_t n) {
  const int64_t k = band_frequency(j);
  const double angle = 2.0 * M_PI * static_cast<double>((k * t) % n) / static_cast<double>(n);
  return band_is_sine(j) ? ::sin(angle) : ::cos(angle);
}

// Coefficient multiplier of band cell (jy, jx) for one radius: the radial mask
// times both axes' folding weights (which carry the 1/(H*W) scale). The keep
// test runs in double so that every dtype keeps the same frequencies.
template <typename T>
HFC_HOST_DEVICE T band_mask_weight(int64_t jy, int64_t jx, int64_t h, int64_t w,
                                   double radius, bool inclusive) {
  const int64_t ky = band_frequency(jy);
  const int64_t kx = band_frequency(jx);
  const double dist2 = static_cast<double>(ky * ky + kx * kx);
  if (!radial_keep(dist2, radius, inclusive)) return T(0);
  return band_weight<T>(ky, h) * band_weight<T>(kx, w);
}

// Number of leading band rows j < rows kept together with the other axis'
// frequency k_other. Frequencies grow with j, so the kept rows are a prefix.
HFC_HOST_DEVICE int64_t band_kept_rows(int64_t k_other, int64_t rows, double radius, bool inclusive) {
  int64_t kept = rows;
  while (kept > 0) {
    const int64_t k = band_frequency(kept - 1);
    if (radial_keep(static_cast<double>(k * k + k_other * k_other), radius, inclusive)) break;
    --kept;
  }
  return kept;
}

// Radial mask value at grid position (y, x) of an h x w frequency grid.
// centered: DC at (h / 2, w / 2) as after fftshift; else DC at (0, 0).
template <typename T>
HFC_HOST_DEVICE T radial_mask_value(int64_t y, int64_t x, int64_t h, int64_t w,
                                    double radius, bool inclusive, bool centered) {
  const int64_t fy = centered ? y - h / 2 : signed_frequency(y, h);
  const int64_t fx = centered ? x - w / 2 : signed_frequency(x, w);
  const double dist2 = static_cast<double>(fy * fy + fx * fx);
  return radial_keep(dist2, radius, inclusive) ? T(1) : T(0);
}

// Radial power-spectrum bin of a frequency: b holds b <= d < b + 1.
HFC_HOST_DEVICE int64_t radial_bin(int64_t fy, int64_t fx) {
  return static_cast<int64_t>(::floor(::sqrt(static_cast<double>(fy * fy + fx * fx))));
}

// Number of radial bins of an h x w spectrum (up to the corner frequency).
HFC_HOST_DEVICE int64_t radial_bin_count(int64_t h, int64_t w) {
  return radial_bin(h / 2, w / 2) + 1;
}

// How many times rfft column `x` of a width-w signal stands in the full
// spectrum: columns 1 .. ceil(w/2)-1 also stand for their negative twins.
HFC_HOST_DEVICE int64_t rfft_multiplicity(int64_t x, int64_t w) {
  if (x == 0) return 1;
  if (w % 2 == 0 && 2 * x == w) return 1;
  return 2;
}

}  // namespace hfc
