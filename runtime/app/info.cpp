// `model_server info`: spec, build options and payload layout of this executable.
#include <omp.h>
#include <unistd.h>

#include <iostream>

#include "runtime/app/commands.h"
#include "contract/error.h"
#include "contract/payload.h"
#include "runtime/engine/backend.h"
#include "contract/build_options.h"

namespace tsc {

std::string self_exe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw Error("cannot find this executable's path", "run it from a Linux system with /proc mounted");
  return std::string(buf, static_cast<size_t>(n));
}

int64_t resolve_select_every(int64_t requested, int64_t build) {
  if (requested == -1) return build;
  check_select_every(requested, "--select-every");
  return requested;
}

namespace {

// The kernel sets this executable carries and which one a run would use here (Engine's choice).
std::string targets_text(const Payload& p) {
  std::vector<std::string> held = p.meta().value("kernel_targets", std::vector<std::string>{target_name(p.options().target)});
  std::string gpu_why;
  const bool gpu = make_cuda_backend && cuda_device_usable && cuda_device_usable(&gpu_why);
  std::string out;
  for (const std::string& t : held) {
    const bool linked = t == "cuda" ? make_cuda_backend != nullptr : cpu_kernels_linked();
    out += "  " + t + ": " + (!linked ? "missing (rebuild with tsc)" : t == "cuda" ? (gpu ? "usable, " : "not usable: ") + gpu_why
                                                                                      : std::string(p.options().target == Target::kCuda ? "fallback when no GPU is usable" : "the build's target")) + "\n";
  }
  return out;
}

// "int4 (block 32, f32 scales, symmetric) in 15 of 15 projections, f32 elsewhere", or the dense type.
std::string weight_format_text(const DecoderSpec& s, const BuildOptions& b) {
  if (!s.quantization) return dtype_name(b.weight_dtype);
  const Quantization& q = *s.quantization;
  if (q.bits == 8)
    return q.format + " (" + (q.zero_points ? "zero points" : "symmetric") + ", inputs quantized per step to uint8) in " + std::to_string(q.quantized_linears) +
           " of " + std::to_string(q.linears) + " projections, " + dtype_name(b.weight_dtype) + " elsewhere";
  return q.format + " (block " + std::to_string(q.block_size) + ", " + dtype_name(q.scale_dtype) + " scales, " +
         (q.zero_points ? "zero points" : "symmetric") + ") in " + std::to_string(q.quantized_linears) + " of " + std::to_string(q.linears) +
         " projections, " + dtype_name(b.weight_dtype) + " elsewhere";
}

// How many engines `serve` can run here: one per visible GPU (--devices), or CPU replicas sharing the threads.
std::string engines_text() {
  std::string why;
  const int gpus = make_cuda_backend && cuda_device_count && cuda_device_usable && cuda_device_usable(&why) ? cuda_device_count() : 0;
  std::string out = "  default: 1 engine" + std::string(gpus ? " on GPU 0" : "") + "\n";
  if (gpus) out += "  --devices all: " + std::to_string(gpus) + " engines, GPUs 0.." + std::to_string(gpus - 1) + "\n";
  else out += "  --replicas N: N engines on the CPU sharing its " + std::to_string(omp_get_max_threads()) + " OpenMP threads\n";
  return out;
}

}  // namespace

int cmd_info(bool json) {
  auto p = Payload::open(self_exe());
  if (json) {
    nlohmann::json j = p->meta();
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << spec_to_text(p->spec());
  std::cout << "build\n";
  const nlohmann::json build = build_options_to_json(p->options());  // items() must not outlive it
  for (auto& [k, v] : build.items()) std::cout << "  " << k << ": " << v.dump() << "\n";
  std::cout << "  weight_format: " << weight_format_text(p->spec(), p->options()) << "\n";
  std::cout << "  kernels: " << p->meta().value("kernel_key", std::string("?")) << "\n";
  std::cout << "targets\n" << targets_text(*p);
  std::cout << "engines (serve)\n" << engines_text();
  std::cout << "payload (" << p->total_bytes() << " bytes)\n";
  for (auto& [name, e] : p->tensors())
    std::cout << "  " << name << ": " << tensor_type_str(e.dtype, e.shape) << " @" << e.offset << " (" << e.nbytes << " bytes)\n";
  return 0;
}

}  // namespace tsc
