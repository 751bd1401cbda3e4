#pragma once
// Argument checks shared by the ops. Each raises the Python error a user
// expects (TypeError for a wrong kind of tensor, ValueError for a wrong value)
// and names the offending argument.
#include <ATen/MemoryOverlap.h>
#include <torch/types.h>

#include <cmath>

namespace hfc {

// float64 is computed in float64; every other floating dtype in float32.
inline at::ScalarType compute_dtype(at::ScalarType t) {
  return t == at::kDouble ? at::kDouble : at::kFloat;
}

inline void check_real_floating(const at::Tensor& t, const char* name) {
  TORCH_CHECK_TYPE(!t.is_complex(), name, " must be a real floating-point tensor, got complex dtype ",
                   t.scalar_type());
  TORCH_CHECK_TYPE(at::isFloatingType(t.scalar_type()), name,
                   " must be a floating-point tensor (float16, bfloat16, float32 or float64), got ",
                   t.scalar_type());
}

inline void check_image_dims(const at::Tensor& t, const char* name) {
  TORCH_CHECK_VALUE(t.dim() >= 2, name, " must have at least 2 dimensions (..., H, W), got shape ",
                    t.sizes());
}

// The rule for an op's radius, the same as hfc_fast/radius.py's `as_radii`:
// any real r >= 0, infinity included (it keeps every frequency); NaN refused.
inline void check_radius(double r, const char* name) {
  TORCH_CHECK_VALUE(!std::isnan(r), name, " must not be NaN");
  TORCH_CHECK_VALUE(r >= 0, name, " must be non-negative, got ", r);
}

inline void check_finite(double v, const char* name) {
  TORCH_CHECK_VALUE(std::isfinite(v), name, " must be a finite number, got ", v);
}

// An op that writes into a caller's tensor says so to autograd, as torch's own
// in-place ops do: a tensor saved for backward and overwritten afterwards then
// raises "modified by an inplace operation" instead of giving a wrong gradient.
inline void mark_written(const at::Tensor& t) {
  if (!t.is_inference()) t.unsafeGetTensorImpl()->bump_version();
}

// `out` may not share memory with `input` (any view of the same storage whose
// bytes meet): an op would read what it has already overwritten. An
// element-wise op may allow the very same elements (`elementwise`).
inline void check_no_overlap(const at::Tensor& input, const char* input_name, const at::Tensor& out,
                             const char* out_name, bool elementwise = false) {
  if (input.numel() == 0 || out.numel() == 0 || !input.storage().is_alias_of(out.storage())) return;
  const auto status = at::get_overlap_status(input, out);
  TORCH_CHECK_VALUE(status == at::MemOverlapStatus::No || (elementwise && status == at::MemOverlapStatus::Full),
                    out_name, " shares memory with ", input_name, ": give ", out_name, " memory of its own");
}

inline void check_same_device(const at::Tensor& a, const char* a_name, const at::Tensor& b,
                              const char* b_name) {
  TORCH_CHECK_VALUE(a.device() == b.device(), b_name, " must be on the same device as ", a_name,
                    " (", a.device(), "), got ", b.device());
}

inline void check_same_shape(const at::Tensor& a, const char* a_name, const at::Tensor& b,
                             const char* b_name) {
  TORCH_CHECK_VALUE(a.sizes() == b.sizes(), b_name, " must have the shape of ", a_name, " ",
                    a.sizes(), ", got ", b.sizes());
}

}  // namespace hfc
