#include "lti/model/precision.h"

#include <ATen/autocast_mode.h>
#include <dlfcn.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "lti/util/errors.h"

namespace lti {
namespace {

bool cpu_has_bf16_instructions() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return false;
  const bool amx_bf16 = (d >> 22) & 1u;  // CPUID.(7,0):EDX[22]
  const unsigned max_subleaf = a;
  bool avx512_bf16 = false;
  if (max_subleaf >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d) != 0)
    avx512_bf16 = (a >> 5) & 1u;  // CPUID.(7,1):EAX[5]
  return avx512_bf16 || amx_bf16;
#else
  return false;
#endif
}

// The CUDA runtime is loaded with a CUDA LibTorch; asking it through dlsym keeps this file free
// of CUDA headers, so it builds against the CPU-only LibTorch too.
int cuda_compute_capability_major(int device_index) {
  using GetAttribute = int (*)(int*, int, int);
  const auto get_attribute =
      reinterpret_cast<GetAttribute>(::dlsym(RTLD_DEFAULT, "cudaDeviceGetAttribute"));
  if (!get_attribute) return 0;
  constexpr int kComputeCapabilityMajor = 75;  // cudaDevAttrComputeCapabilityMajor
  int major = 0;
  if (get_attribute(&major, kComputeCapabilityMajor, device_index) != 0) return 0;
  return major;
}

bool autocast_enabled(c10::DeviceType type) { return at::autocast::is_autocast_enabled(type); }

void enable_autocast(c10::DeviceType type, bool on) {
  if (on) at::autocast::set_autocast_dtype(type, at::kBFloat16);
  at::autocast::set_autocast_enabled(type, on);
}

}  // namespace

const char* precision_name(Precision p) { return p == Precision::kBf16 ? "bf16" : "fp32"; }

bool native_bf16(const c10::Device& device) {
  if (device.is_cuda()) {
    const int index = device.has_index() ? device.index() : 0;
    return cuda_compute_capability_major(index) >= 8;
  }
  // Without oneDNN (MKL-DNN) LibTorch's CPU bfloat16 products are slow reference loops.
  return device.is_cpu() && at::hasMKLDNN() && cpu_has_bf16_instructions();
}

Precision resolve_precision(const std::string& choice, const c10::Device& device) {
  if (choice == "fp32") return Precision::kFp32;
  if (choice == "auto") return native_bf16(device) ? Precision::kBf16 : Precision::kFp32;
  if (choice != "bf16")
    throw Error(kExitUsage, "--precision must be auto, fp32 or bf16, not '" + choice + "'");
  if (!native_bf16(device))
    spdlog::warn(
        "--precision bf16: this {} has no native bfloat16 arithmetic; it is emulated "
        "and slower than fp32",
        device.is_cuda() ? "GPU" : "CPU");
  return Precision::kBf16;
}

AutocastScope::AutocastScope(Precision precision, const c10::Device& device)
    : active_(precision == Precision::kBf16), device_type_(device.type()) {
  if (!active_) return;
  was_enabled_ = autocast_enabled(device_type_);
  enable_autocast(device_type_, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // The bfloat16 copies of the weights are cached for the outermost scope's lifetime.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  enable_autocast(device_type_, was_enabled_);
}

}  // namespace lti
