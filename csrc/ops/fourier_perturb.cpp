// fourier_perturb: schema (argument checks in ops/fourier_perturb.h). For a
// batch x (B, C, H, W) and K frequencies, writes the K·B images
// clip(x + r·ε·U_k, lo, hi) of the Fourier heat map (element math in
// include/hfc/fourier_math.h): every basis value is computed from its indices
// as the image is written, no basis image is stored. Kernels in
// cpu/fourier_perturb_kernel.cpp and cuda/fourier_perturb_kernel.cu.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(hfc_fast, m) {
  m.def("fourier_perturb(Tensor x, Tensor freqs, float eps, int seed, int image_offset, float lo, float hi) -> Tensor");
  m.def(
      "fourier_perturb.out(Tensor x, Tensor freqs, float eps, int seed, int image_offset, float lo, float hi, *, "
      "Tensor(a!) out) -> ()");
}
