#pragma once
// Element math of the L-infinity PGD step:
//   x <- clip(x0 + clip(x + alpha * sign(g) - x0, -eps, eps), lo, hi)
#include "macros.h"

namespace hfc {

// sign(0) = 0. Written without branches so that CPU loops vectorise.
template <typename T>
HFC_HOST_DEVICE T sign_of(T g) {
  return static_cast<T>(g > T(0)) - static_cast<T>(g < T(0));
}

template <typename T>
HFC_HOST_DEVICE T clip_to(T v, T lo, T hi) {
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
}

template <typename T>
HFC_HOST_DEVICE T pgd_update(T x, T g, T x0, T eps, T alpha, T lo, T hi) {
  const T delta = clip_to(x + alpha * sign_of(g) - x0, -eps, eps);
  return clip_to(x0 + delta, lo, hi);
}

}  // namespace hfc
