// The one mechanism that picks the CPU instruction set of genreg's hot loops
// (conv1d_engine.cpp, loops.cpp). Each such file compiles its loops once per
// instruction set -- a .inc file included in namespaces isa_baseline, isa_avx2 and
// isa_avx512, the last two inside a target region (#pragma GCC target), so every copy,
// templates included, is built for its set -- and calls the copy cpu_isa() names
// through GENREG_ISA_DISPATCH. cpu_isa() is the widest set the CPU supports, lowered
// by GENREG_CPU_ISA=avx2|baseline (read once, at the first call; for tests and
// comparisons: a wider set than the CPU has is never picked).
#pragma once

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define GENREG_X86_ISAS 1
#endif

namespace genreg {
namespace cpu {

enum class Isa { baseline, avx2, avx512 };

Isa cpu_isa();

// "avx512", "avx2" or "baseline": the loops this process uses.
const char* isa_name();

}  // namespace cpu
}  // namespace genreg

// `return isa_<set>::call;` for the set cpu_isa() picked (in a function whose
// namespace holds the isa_* copies).
#ifdef GENREG_X86_ISAS
#define GENREG_ISA_DISPATCH(call)                          \
  switch (::genreg::cpu::cpu_isa()) {                      \
    case ::genreg::cpu::Isa::avx512: return isa_avx512::call; \
    case ::genreg::cpu::Isa::avx2: return isa_avx2::call;     \
    default: return isa_baseline::call;                     \
  }
#else
#define GENREG_ISA_DISPATCH(call) return isa_baseline::call;
#endif
