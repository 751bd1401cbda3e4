#pragma once
// Element math of the Fourier heat map (Yin et al., NeurIPS 2019), shared by
// the CPU and CUDA kernels and mirrored by hfc_fast/fourier.py's reference.
//
// The basis image of frequency (ky, kx) on an H×W grid is the real image whose
// DFT is non-zero only at (ky, kx) and (-ky, -kx), with unit L2 norm:
//   U(y, x) = cos(2π (ky·y/H + kx·x/W)) · sqrt(2 / (H W)),
// or · sqrt(1 / (H W)) for a self-conjugate frequency (2ky ≡ 0 mod H and
// 2kx ≡ 0 mod W: DC and the Nyquist rows and columns), whose cosine is ±1.
// The phase is reduced exactly in integers before the cosine, so the value
// does not depend on how large y·ky grows.
//
// Each image and channel gets a random sign r = ±1 per frequency, a function of
// (seed, image index, channel, frequency) only, so that any batching, order or
// sharding of the work draws the same signs.
#include <cmath>
#include <cstdint>

#include "macros.h"

namespace hfc {

HFC_HOST_DEVICE int64_t wrap_index(int64_t v, int64_t n) {
  const int64_t r = v % n;
  return r < 0 ? r + n : r;
}

HFC_HOST_DEVICE bool fourier_self_conjugate(int64_t ky, int64_t kx, int64_t h, int64_t w) {
  return wrap_index(2 * ky, h) == 0 && wrap_index(2 * kx, w) == 0;
}

// The unit-norm factor of frequency (ky, kx).
HFC_HOST_DEVICE double fourier_basis_norm(int64_t ky, int64_t kx, int64_t h, int64_t w) {
  return ::sqrt((fourier_self_conjugate(ky, kx, h, w) ? 1.0 : 2.0) / static_cast<double>(h * w));
}

// cos and sin of 2π (k t mod n) / n: one axis' factor of the basis.
HFC_HOST_DEVICE void fourier_axis(int64_t k, int64_t t, int64_t n, double* c, double* s) {
  const double a = 6.283185307179586476925286766559 * static_cast<double>(wrap_index(k * t, n)) /
                   static_cast<double>(n);
  *c = ::cos(a);
  *s = ::sin(a);
}

// U(y, x) of frequency (ky, kx), in double: norm · (cos a cos b − sin a sin b), a and b the two axes' phases.
HFC_HOST_DEVICE double fourier_basis_value(int64_t ky, int64_t kx, int64_t y, int64_t x, int64_t h, int64_t w) {
  double cy, sy, cx, sx;
  fourier_axis(ky, y, h, &cy, &sy);
  fourier_axis(kx, x, w, &cx, &sx);
  return fourier_basis_norm(ky, kx, h, w) * (cy * cx - sy * sx);
}

// A Park-Miller (MINSTD) chain over (seed, image, channel, frequency id); every
// intermediate stays below 2^47, so 64-bit signed arithmetic is exact and the
// reference can repeat it with int64 tensors.
constexpr int64_t kSignModulus = 2147483647;  // 2^31 - 1
constexpr int64_t kSignMultiplier = 48271;

HFC_HOST_DEVICE int64_t sign_step(int64_t state, int64_t value) {
  return (state * kSignMultiplier + value + 1) % kSignModulus;
}

// +1 or -1: the sign of (image, channel) at frequency id `fid` = (ky mod H) · W + (kx mod W).
HFC_HOST_DEVICE int fourier_sign(int64_t seed, int64_t image, int64_t channel, int64_t fid) {
  int64_t s = wrap_index(seed, kSignModulus);
  s = sign_step(s, wrap_index(image, kSignModulus));
  s = sign_step(s, channel);
  s = sign_step(s, fid);
  s = sign_step(s, 0);
  s = sign_step(s, 0);
  return ((s >> 15) & 1) ? 1 : -1;
}

}  // namespace hfc
