#include "generic/band_basis.h"

#include <map>
#include <mutex>
#include <tuple>

#include "hfc/frequency_math.h"

namespace hfc {

namespace {

at::Tensor build_basis(int64_t n) {
  auto basis = at::empty({n, n}, at::TensorOptions().dtype(at::kDouble));
  auto acc = basis.accessor<double, 2>();
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t t = 0; t < n; ++t) {
      acc[j][t] = band_basis_value(j, t, n);
    }
  }
  return basis;
}

}  // namespace

at::Tensor band_basis(int64_t n, at::ScalarType dtype, at::Device device) {
  using Key = std::tuple<int64_t, int, int, int>;
  static std::mutex mutex;
  static std::map<Key, at::Tensor> cache;
  const Key key{n, static_cast<int>(dtype), static_cast<int>(device.type()),
                static_cast<int>(device.index())};
  std::lock_guard<std::mutex> lock(mutex);
  auto found = cache.find(key);
  if (found != cache.end()) return found->second;
  auto basis = build_basis(n).to(device, dtype);
  cache.emplace(key, basis);
  return basis;
}

}  // namespace hfc
