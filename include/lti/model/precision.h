// Numeric precision of the model's forward pass (--precision auto|fp32|bf16).
//
// bf16 is autocast: matrix products (linear layers, attention) run in bfloat16; the weights,
// Adam's state, the loss, the MoE's routing and the output vectors stay fp32. A bfloat16
// product is about three times faster than fp32 on a CPU with AVX512-BF16 or AMX (oneDNN), and
// on a GPU from compute capability 8.0 on.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/DispatchKeySet.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

#include <string>

namespace lti {

enum class Precision { kFp32, kBf16 };

const char* precision_name(Precision p);  // "fp32" or "bf16"

// "fp32", "bf16", or "auto": bf16 where the device computes it natively (a CPU with AVX512-BF16
// or AMX-BF16 and a LibTorch with oneDNN; a CUDA device of compute capability 8.0 or more),
// fp32 elsewhere. "bf16" on hardware without it is allowed (emulated, slower), with a warning.
// Throws Error(kExitUsage) for anything else.
Precision resolve_precision(const std::string& choice, const c10::Device& device);

// Whether `device` multiplies bfloat16 natively (what "auto" asks).
bool native_bf16(const c10::Device& device);

// Autocast to bfloat16 on `device` while the scope lives (nothing for kFp32); restores the
// previous state, so scopes nest.
class AutocastScope {
 public:
  AutocastScope(Precision precision, const c10::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType device_type_;
  bool was_enabled_ = false;
};

// Plain fp32 (input dtype) arithmetic inside an autocast scope, for what must not be rounded:
// the MoE's routing scores.
class NoAutocast {
 private:
  c10::impl::ExcludeDispatchKeyGuard guard_{c10::autocast_dispatch_keyset};
};

}  // namespace lti
