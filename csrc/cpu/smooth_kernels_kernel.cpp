// CPU kernels of kernel smoothing (element math in include/hfc/smoothing_math.h).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/OpMathType.h>
#include <torch/library.h>
#include <torch/types.h>

#include "hfc/smoothing_math.h"
#include "ops/smooth_kernels.h"

namespace hfc {

namespace {

template <bool Adjoint>
at::Tensor smooth_cpu(const at::Tensor& input, double rho, const char* name) {
  check_smooth_args(input, rho, name);
  const auto src_t = input.contiguous();
  auto out = at::empty_like(src_t, at::MemoryFormat::Contiguous);
  const int64_t kh = src_t.size(2);
  const int64_t kw = src_t.size(3);
  const int64_t n_kernels = src_t.size(0) * src_t.size(1);
  if (src_t.numel() == 0) return out;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, src_t.scalar_type(), "smooth_cpu", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const scalar_t* src = src_t.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    const acc_t r = static_cast<acc_t>(rho);
    at::parallel_for(0, n_kernels, 64, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        const scalar_t* kernel = src + k * kh * kw;
        for (int64_t y = 0; y < kh; ++y)
          for (int64_t x = 0; x < kw; ++x)
            dst[k * kh * kw + y * kw + x] = Adjoint ? smooth_adjoint_at<scalar_t, acc_t>(kernel, kh, kw, y, x, r)
                                                    : smooth_at<scalar_t, acc_t>(kernel, kh, kw, y, x, r);
      }
    });
  });
  return out;
}

at::Tensor smooth_kernels_cpu(const at::Tensor& weight, double rho) {
  return smooth_cpu<false>(weight, rho, "weight");
}

at::Tensor smooth_kernels_backward_cpu(const at::Tensor& grad, double rho) {
  return smooth_cpu<true>(grad, rho, "grad");
}

}  // namespace

TORCH_LIBRARY_IMPL(hfc_fast, CPU, m) {
  m.impl("smooth_kernels", &smooth_kernels_cpu);
  m.impl("smooth_kernels_backward", &smooth_kernels_backward_cpu);
}

}  // namespace hfc
