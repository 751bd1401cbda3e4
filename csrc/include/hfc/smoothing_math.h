#pragma once
// Element math of kernel smoothing (Wang et al. 2020, Eq. 3):
//   w'[y, x] = w[y, x] + rho * sum of the 8 spatial neighbours,
// neighbours outside the kernel replicated from its edge, no renormalisation.
#include <cstdint>

#include "macros.h"

namespace hfc {

HFC_HOST_DEVICE int64_t clamp_index(int64_t i, int64_t n) {
  return i < 0 ? 0 : (i >= n ? n - 1 : i);
}

// Smoothed value at (y, x) of one kh x kw kernel `w` (row-major).
template <typename T, typename Acc>
HFC_HOST_DEVICE T smooth_at(const T* w, int64_t kh, int64_t kw, int64_t y, int64_t x, Acc rho) {
  Acc sum = Acc(0);
  for (int64_t dy = -1; dy <= 1; ++dy) {
    for (int64_t dx = -1; dx <= 1; ++dx) {
      if (dy == 0 && dx == 0) continue;
      sum += static_cast<Acc>(w[clamp_index(y + dy, kh) * kw + clamp_index(x + dx, kw)]);
    }
  }
  return static_cast<T>(static_cast<Acc>(w[y * kw + x]) + rho * sum);
}

// Adjoint of smooth_at at (y, x): gathers rho * g[q] from every position q
// whose (edge-replicated) neighbour is (y, x). Such q lie within one step.
template <typename T, typename Acc>
HFC_HOST_DEVICE T smooth_adjoint_at(const T* g, int64_t kh, int64_t kw, int64_t y, int64_t x, Acc rho) {
  Acc sum = Acc(0);
  for (int64_t qy = y - 1; qy <= y + 1; ++qy) {
    if (qy < 0 || qy >= kh) continue;
    for (int64_t qx = x - 1; qx <= x + 1; ++qx) {
      if (qx < 0 || qx >= kw) continue;
      int64_t hits = 0;  // neighbour offsets of q that land on (y, x)
      for (int64_t dy = -1; dy <= 1; ++dy) {
        for (int64_t dx = -1; dx <= 1; ++dx) {
          if (dy == 0 && dx == 0) continue;
          hits += (clamp_index(qy + dy, kh) == y && clamp_index(qx + dx, kw) == x);
        }
      }
      sum += static_cast<Acc>(hits) * static_cast<Acc>(g[qy * kw + qx]);
    }
  }
  return static_cast<T>(static_cast<Acc>(g[y * kw + x]) + rho * sum);
}

}  // namespace hfc
