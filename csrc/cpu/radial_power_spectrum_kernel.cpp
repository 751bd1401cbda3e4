// CPU kernel of radial_power_spectrum's bins (element math in include/hfc/frequency_math.h).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <vector>

#include "hfc/frequency_math.h"
#include "ops/radial_power_spectrum.h"

namespace hfc {

namespace {

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
  m.impl("_radial_bin_power", &radial_bin_power_cpu);
}

}  // namespace hfc
