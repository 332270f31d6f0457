/* ReLU on float32 arrays (AVX-512), run on the C pool's threads (ops/activation.py).

     cc_relu_forward    y = max(x, 0), NaN stays NaN     (as np.maximum and torch.relu)
     cc_relu_backward   gx = g where out > 0, else 0      (one pass; NumPy needs out > 0, then g * mask)

   out is ReLU's output, so out > 0 exactly where the input was > 0 (NaN compares false: no
   gradient, as PyTorch's threshold_backward). The NumPy code in activation.py stays the fallback. */

#include "_ckernels.h"

#ifdef CC_X86

/* max_ps returns its second operand when either is NaN, so max(0, x) keeps a NaN x. */
CC_TARGET void cc_relu_forward(const float *x, float *y, int64_t n) {
    const __m512 zero = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_max_ps(zero, _mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = lanes(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_max_ps(zero, _mm512_maskz_loadu_ps(m, x + i)));
    }
}

CC_TARGET void cc_relu_backward(const float *out, const float *g, float *gx, int64_t n) {
    const __m512 zero = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __mmask16 pos = _mm512_cmp_ps_mask(_mm512_loadu_ps(out + i), zero, _CMP_GT_OQ);
        _mm512_storeu_ps(gx + i, _mm512_maskz_mov_ps(pos, _mm512_loadu_ps(g + i)));
    }
    if (i < n) {
        const __mmask16 m = lanes(n - i);
        const __mmask16 pos = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, out + i), zero, _CMP_GT_OQ);
        _mm512_mask_storeu_ps(gx + i, m, _mm512_maskz_mov_ps(pos, _mm512_maskz_loadu_ps(m, g + i)));
    }
}

#else  /* not x86-64 with GCC/Clang: never called (cc_supported() is 0) */

void cc_relu_forward(const float *x, float *y, int64_t n) { (void)x; (void)y; (void)n; }
void cc_relu_backward(const float *out, const float *g, float *gx, int64_t n) {
    (void)out; (void)g; (void)gx; (void)n; }

#endif
