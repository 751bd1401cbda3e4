// C++-side check of the CPU kernels and their shared element math, built
// against libtorch by CMake and run by ctest. Each check compares with an
// independent computation written out here; the program exits non-zero on the
// first failure.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/torch.h>

#include <cmath>
#include <complex>
#include <random>
#include <cstdio>
#include <string>
#include <vector>

#include "hfc/frequency_math.h"
#include "hfc/pgd_math.h"
#include "hfc/smoothing_math.h"

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

c10::OperatorHandle op(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "");
}

// low-pass of one (h, w) image with a direct double DFT and a loop mask (d < r).
std::vector<double> direct_low(const std::vector<double>& x, int64_t h, int64_t w, double r) {
  std::vector<std::complex<double>> z(h * w);
  const double two_pi = 2.0 * M_PI;
  for (int64_t u = 0; u < h; ++u)
    for (int64_t v = 0; v < w; ++v) {
      std::complex<double> acc = 0;
      for (int64_t y = 0; y < h; ++y)
        for (int64_t t = 0; t < w; ++t)
          acc += x[y * w + t] * std::polar(1.0, -two_pi * (double(u * y) / h + double(v * t) / w));
      z[u * w + v] = acc;
    }
  std::vector<double> low(h * w, 0.0);
  for (int64_t u = 0; u < h; ++u)
    for (int64_t v = 0; v < w; ++v) {
      const double fy = hfc::signed_frequency(u, h), fx = hfc::signed_frequency(v, w);
      if (fy * fy + fx * fx >= r * r) continue;
      for (int64_t y = 0; y < h; ++y)
        for (int64_t t = 0; t < w; ++t)
          low[y * w + t] += (z[u * w + v] * std::polar(1.0, two_pi * (double(u * y) / h + double(v * t) / w))).real();
    }
  for (auto& v : low) v /= double(h * w);
  return low;
}

void check_split() {
  auto split = op("hfc_fast::frequency_split").typed<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, at::ArrayRef<double>, bool)>();
  for (auto [h, w] : std::vector<std::pair<int64_t, int64_t>>{{8, 8}, {7, 10}, {12, 5}}) {
    auto x = torch::rand({2, h, w}, torch::kFloat64);
    std::vector<double> radii{0.0, 2.0, 3.5, 100.0};
    auto [low, high] = split.call(x, radii, false);
    double err = 0;
    for (size_t i = 0; i < radii.size(); ++i)
      for (int64_t n = 0; n < 2; ++n) {
        auto img = x[n].contiguous();
        std::vector<double> xs(img.data_ptr<double>(), img.data_ptr<double>() + h * w);
        auto ref = direct_low(xs, h, w, radii[i]);
        auto got = low[i][n].contiguous();
        auto got_high = high[i][n].contiguous();
        for (int64_t k = 0; k < h * w; ++k) {
          err = std::max(err, std::abs(got.data_ptr<double>()[k] - ref[k]));
          err = std::max(err, std::abs(got_high.data_ptr<double>()[k] - (xs[k] - ref[k])));
        }
      }
    expect(err < 1e-10, "frequency_split " + std::to_string(h) + "x" + std::to_string(w) +
                            " matches a direct DFT (max err " + std::to_string(err) + ")");
  }
}

void check_band_basis_math() {
  // Folded cos/sin rows reproduce the DFT projector: sum_j weight * row_j(t) row_j(s) = delta(t, s).
  for (int64_t n : {5, 8, 9}) {
    double err = 0;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t s = 0; s < n; ++s) {
        double acc = 0;
        for (int64_t j = 0; j < n; ++j)
          acc += hfc::band_weight<double>(hfc::band_frequency(j), n) * hfc::band_basis_value(j, t, n) *
                 hfc::band_basis_value(j, s, n);
        err = std::max(err, std::abs(acc - (t == s ? 1.0 : 0.0)));
      }
    expect(err < 1e-12, "band basis is a resolution of identity for n=" + std::to_string(n));
  }
  expect(hfc::band_max_frequency(0.0, 32, false) == -1 && hfc::band_max_frequency(0.0, 32, true) == 0,
         "radius 0 keeps nothing (strict) or DC (inclusive)");
  expect(hfc::band_max_frequency(4.0, 32, false) == 3 && hfc::band_max_frequency(4.0, 32, true) == 4,
         "strict < drops the frequency at exactly r");
  expect(hfc::band_rows(16, 32) == 32 && hfc::band_rows(3, 32) == 7, "band rows count cos/sin pairs");
}

void check_smoothing() {
  auto smooth = op("hfc_fast::smooth_kernels").typed<at::Tensor(const at::Tensor&, double)>();
  auto adjoint = op("hfc_fast::smooth_kernels_backward").typed<at::Tensor(const at::Tensor&, double)>();
  auto w = torch::tensor({1.0, 2.0, 3.0, 4.0}, torch::kFloat64).view({1, 1, 2, 2});
  auto out = smooth.call(w, 1.0);
  auto expected = torch::tensor({18.0, 21.0, 24.0, 27.0}, torch::kFloat64).view({1, 1, 2, 2});
  expect(torch::allclose(out, expected), "smooth_kernels hand-worked 2x2 case");
  // <S a, b> == <a, S^T b> on random kernels of several sizes.
  for (auto shape : std::vector<std::vector<int64_t>>{{2, 3, 3, 3}, {1, 1, 1, 4}, {2, 1, 5, 2}}) {
    auto a = torch::randn(shape, torch::kFloat64), b = torch::randn(shape, torch::kFloat64);
    const double lhs = (smooth.call(a, 0.3) * b).sum().item<double>();
    const double rhs = (a * adjoint.call(b, 0.3)).sum().item<double>();
    expect(std::abs(lhs - rhs) < 1e-10, "smoothing backward is the adjoint of the forward");
  }
}

void check_pgd() {
  auto step = op("hfc_fast::pgd_step_").typed<void(at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                    const std::optional<at::Tensor>&, const std::optional<at::Tensor>&,
                                                    double, double, double, double)>();
  auto x0 = torch::rand({4, 3, 5, 5});
  auto x = (x0 + 0.02 * torch::randn_like(x0)).clamp(0, 1);
  auto g = torch::randn_like(x0);
  auto expected = torch::clamp(x0 + torch::clamp(x + 0.01 * torch::sign(g) - x0, -0.03, 0.03), 0.0, 1.0);
  step.call(x, g, x0, std::nullopt, std::nullopt, 0.03, 0.01, 0.0, 1.0);
  expect(torch::allclose(x, expected, 0, 1e-7), "pgd_step_ matches the step written as torch ops");
  expect(hfc::pgd_update(0.5f, 0.0f, 0.5f, 0.1f, 0.2f, 0.0f, 1.0f) == 0.5f, "sign(0) = 0 leaves x in place");
  expect(hfc::pgd_update(0.95f, 1.0f, 0.9f, 0.2f, 0.5f, 0.0f, 1.0f) == 1.0f, "the box clips after the ball");
}

}  // namespace

int main() {
  torch::manual_seed(static_cast<uint64_t>(std::random_device{}()));
  check_band_basis_math();
  check_split();
  check_smoothing();
  check_pgd();
  std::printf("%d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
