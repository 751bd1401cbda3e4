#pragma once
// Element math of the L-infinity PGD step:
//   x <- clip(x0 + clip(x + alpha * sign(g) - x0, -eps, eps), lo, hi)
#include "macros.h"

namespace hfc {

template <typename T>
HFC_HOST_DEVICE T sign_of(T g) {
  return g > T(0) ? T(1) : (g < T(0) ? T(-1) : T(0));
}

template <typename T>
HFC_HOST_DEVICE T clip_to(T v, T lo, T hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

template <typename T>
HFC_HOST_DEVICE T pgd_update(T x, T g, T x0, T eps, T alpha, T lo, T hi) {
  const T delta = clip_to(x + alpha * sign_of(g) - x0, -eps, eps);
  return clip_to(x0 + delta, lo, hi);
}

}  // namespace hfc
