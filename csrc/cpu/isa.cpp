// See isa.h.
#include "isa.h"

#include <cstdlib>
#include <cstring>

namespace genreg {
namespace cpu {
namespace {

Isa detect() {
  Isa best = Isa::baseline;
#ifdef GENREG_X86_ISAS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Isa::avx2;
  if (best == Isa::avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
    best = Isa::avx512;
#endif
  // GENREG_CPU_ISA can only lower the choice: the CPU must support what runs.
  if (const char* want = std::getenv("GENREG_CPU_ISA")) {
    if (std::strcmp(want, "baseline") == 0) best = Isa::baseline;
    if (std::strcmp(want, "avx2") == 0 && best == Isa::avx512) best = Isa::avx2;
  }
  return best;
}

}  // namespace

Isa cpu_isa() {
  static const Isa chosen = detect();
  return chosen;
}

const char* isa_name() {
  switch (cpu_isa()) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "baseline";
  }
}

}  // namespace cpu
}  // namespace genreg
