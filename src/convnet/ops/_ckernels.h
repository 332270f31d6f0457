/* Shared by the C kernel files of convnet.ops._ckernels (conv: _cconv.c, batch norm: _cnorm.c). */
#ifndef CONVNET_CKERNELS_H
#define CONVNET_CKERNELS_H

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CC_X86 1
#include <immintrin.h>
#define CC_TARGET __attribute__((target("avx512f,fma")))

#define LOAD_LAST(MASKED, mask, ptr) ((MASKED) ? _mm512_maskz_loadu_ps((mask), (ptr)) : _mm512_loadu_ps(ptr))
#define STORE_LAST(MASKED, mask, ptr, v) \
    do { if (MASKED) _mm512_mask_storeu_ps((ptr), (mask), (v)); else _mm512_storeu_ps((ptr), (v)); } while (0)

/* The lane mask of the first n (<= 16) lanes. */
static inline __mmask16 lanes(int64_t n) { return (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1u); }
#endif

int cc_supported(void);

#endif
