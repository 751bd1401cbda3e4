#pragma once
// Launch shape shared by the CUDA kernels: 256 threads a block and a grid that
// covers n elements, capped so that grid-stride loops take the rest.
#include <algorithm>
#include <cstdint>

namespace hfc {

constexpr int kThreads = 256;

inline int64_t blocks_for(int64_t n) {
  return std::min<int64_t>((n + kThreads - 1) / kThreads, 65535LL * 8);
}

}  // namespace hfc
