#pragma once
// Hot CPU loops are compiled for several instruction sets and picked at load
// time (GCC/Clang function multi-versioning), so one build runs on any x86-64
// and still uses AVX2/AVX-512 where the processor has them. `flatten` inlines
// the callees into each clone, so that they too are compiled for its target.
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define HFC_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), flatten))
#else
#define HFC_CPU_CLONES
#endif
