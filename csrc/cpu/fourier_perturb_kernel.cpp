// CPU kernel of fourier_perturb (element math in include/hfc/fourier_math.h).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <vector>

#include "hfc/fourier_math.h"
#include "ops/fourier_perturb.h"

namespace hfc {

namespace {

void fourier_perturb_into(const at::Tensor& x_in, const at::Tensor& freqs_in, double eps, int64_t seed,
                          int64_t image_offset, double lo, double hi, at::Tensor& out) {
  const auto x = x_in.contiguous();
  const auto freqs = freqs_in.contiguous();
  const int64_t n_freqs = freqs.size(0), batch = x.size(0), channels = x.size(1), h = x.size(2), w = x.size(3);
  if (out.numel() == 0) return;
  const int64_t* f = freqs.data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "fourier_perturb_cpu", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const scalar_t* src = x.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    const acc_t lo_a = static_cast<acc_t>(lo), hi_a = static_cast<acc_t>(hi);
    at::parallel_for(0, n_freqs * batch, 1, [&](int64_t begin, int64_t end) {
      std::vector<double> cy(h), sy(h), cx(w), sx(w);
      int64_t prepared = -1;  // the frequency whose axis factors cy, sy, cx, sx hold
      for (int64_t job = begin; job < end; ++job) {
        const int64_t k = job / batch, b = job % batch;
        const int64_t ky = f[2 * k], kx = f[2 * k + 1];
        if (k != prepared) {
          for (int64_t y = 0; y < h; ++y) fourier_axis(ky, y, h, &cy[y], &sy[y]);
          for (int64_t t = 0; t < w; ++t) fourier_axis(kx, t, w, &cx[t], &sx[t]);
          prepared = k;
        }
        const double norm = fourier_basis_norm(ky, kx, h, w);
        const int64_t fid = wrap_index(ky, h) * w + wrap_index(kx, w);
        for (int64_t c = 0; c < channels; ++c) {
          const double amplitude = fourier_sign(seed, image_offset + b, c, fid) * eps * norm;
          const scalar_t* in = src + (b * channels + c) * h * w;
          scalar_t* o = dst + ((k * batch + b) * channels + c) * h * w;
          for (int64_t y = 0; y < h; ++y) {
            for (int64_t t = 0; t < w; ++t) {
              const acc_t delta = static_cast<acc_t>(amplitude * (cy[y] * cx[t] - sy[y] * sx[t]));
              const acc_t v = static_cast<acc_t>(in[y * w + t]) + delta;
              o[y * w + t] = static_cast<scalar_t>(std::min(std::max(v, lo_a), hi_a));
            }
          }
        }
      }
    });
  });
}

}  // namespace

TORCH_LIBRARY_IMPL(hfc_fast, CPU, m) {
  m.impl("fourier_perturb", &fourier_perturb_functional<&fourier_perturb_into>);
  m.impl("fourier_perturb.out", &fourier_perturb_out<&fourier_perturb_into>);
}

}  // namespace hfc
