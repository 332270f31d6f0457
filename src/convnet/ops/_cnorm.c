/* Batch norm on channels-last float32 blocks (AVX-512), called through ctypes (ops/norm.py).

   A block is a contiguous (M, C) array: M = rows (batch x positions), C channels, the
   per-channel statistics run down the rows. NumPy needs a separate pass per ufunc (x - mean,
   its square, the sum, ...); each function here is one pass over its block:

     cc_bn_moments      sums[c] += sum_m d,  sq[c] += sum_m d^2,  d = x[m, c] - shift[c]
     cc_bn_affine       y = x * scale + shift
     cc_bn_grad_sums    sum_g[c] += sum_m g,  sum_gd[c] += sum_m g (x - mean)
     cc_bn_grad_input   gx = c g - (k (x - mean) + cg)

   Sums are taken in float32 vectors over runs of at most 256 rows and added into float64
   totals. The formulas are those of the NumPy code in norm.py (x - mean first, never
   E[x^2] - E[x]^2), which stays the fallback. */

#include "_ckernels.h"

#ifdef CC_X86

#define RUN 256

static CC_TARGET void add_to_double(double *dst, __m512 v, int64_t n) {
    float tmp[16];
    _mm512_storeu_ps(tmp, v);
    for (int64_t i = 0; i < n; i++) dst[i] += (double)tmp[i];
}

#define LOAD(MASKED, mask, ptr) ((MASKED) ? _mm512_maskz_loadu_ps((mask), (ptr)) : _mm512_loadu_ps(ptr))

#define MOMENTS(NAME, MASKED)                                                                     \
static CC_TARGET void NAME(const float *x, int64_t M, int64_t C, int64_t c0, const float *shift, \
                           double *sums, double *sq, int want_sq) {                               \
    const int64_t n = C - c0 < 16 ? C - c0 : 16;                                                  \
    const __mmask16 m = lanes(n);                                                                 \
    const __m512 sh = LOAD(MASKED, m, shift + c0);                                                \
    for (int64_t r0 = 0; r0 < M; r0 += RUN) {                                                     \
        const int64_t r1 = r0 + RUN < M ? r0 + RUN : M;                                           \
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, q0 = s0, q1 = s0;                               \
        int64_t r = r0;                                                                           \
        for (; r + 1 < r1; r += 2) {                                                              \
            __m512 d0 = _mm512_sub_ps(LOAD(MASKED, m, x + r * C + c0), sh);                       \
            __m512 d1 = _mm512_sub_ps(LOAD(MASKED, m, x + (r + 1) * C + c0), sh);                 \
            s0 = _mm512_add_ps(s0, d0); s1 = _mm512_add_ps(s1, d1);                               \
            q0 = _mm512_fmadd_ps(d0, d0, q0); q1 = _mm512_fmadd_ps(d1, d1, q1);                   \
        }                                                                                         \
        if (r < r1) {                                                                             \
            __m512 d0 = _mm512_sub_ps(LOAD(MASKED, m, x + r * C + c0), sh);                       \
            s0 = _mm512_add_ps(s0, d0); q0 = _mm512_fmadd_ps(d0, d0, q0);                         \
        }                                                                                         \
        add_to_double(sums + c0, _mm512_add_ps(s0, s1), n);                                       \
        if (want_sq) add_to_double(sq + c0, _mm512_add_ps(q0, q1), n);                           \
    }                                                                                             \
}
MOMENTS(moments_full, 0)
MOMENTS(moments_tail, 1)

/* sums (and, if want_sq, sq) += per-channel sums of d and d^2 over the block, d = x - shift. */
CC_TARGET void cc_bn_moments(const float *x, int64_t M, int64_t C, const float *shift, double *sums,
                             double *sq, int64_t want_sq) {
    for (int64_t c0 = 0; c0 < C; c0 += 16) {
        if (C - c0 >= 16) moments_full(x, M, C, c0, shift, sums, sq, (int)want_sq);
        else moments_tail(x, M, C, c0, shift, sums, sq, (int)want_sq);
    }
}

/* y = x * scale + shift, per channel. */
CC_TARGET void cc_bn_affine(const float *x, float *y, int64_t M, int64_t C, const float *scale,
                            const float *shift) {
    for (int64_t r = 0; r < M; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        int64_t c0 = 0;
        for (; c0 + 16 <= C; c0 += 16)
            _mm512_storeu_ps(yr + c0, _mm512_fmadd_ps(_mm512_loadu_ps(xr + c0), _mm512_loadu_ps(scale + c0),
                                                      _mm512_loadu_ps(shift + c0)));
        if (c0 < C) {
            const __mmask16 m = lanes(C - c0);
            _mm512_mask_storeu_ps(yr + c0, m, _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xr + c0),
                                                              _mm512_maskz_loadu_ps(m, scale + c0),
                                                              _mm512_maskz_loadu_ps(m, shift + c0)));
        }
    }
}

#define GRAD_SUMS(NAME, MASKED)                                                                   \
static CC_TARGET void NAME(const float *g, const float *x, int64_t M, int64_t C, int64_t c0,     \
                           const float *mean, double *sum_g, double *sum_gd) {                    \
    const int64_t n = C - c0 < 16 ? C - c0 : 16;                                                  \
    const __mmask16 m = lanes(n);                                                                 \
    const __m512 mu = LOAD(MASKED, m, mean + c0);                                                 \
    for (int64_t r0 = 0; r0 < M; r0 += RUN) {                                                     \
        const int64_t r1 = r0 + RUN < M ? r0 + RUN : M;                                           \
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, p0 = s0, p1 = s0;                               \
        int64_t r = r0;                                                                           \
        for (; r + 1 < r1; r += 2) {                                                              \
            __m512 g0 = LOAD(MASKED, m, g + r * C + c0), g1 = LOAD(MASKED, m, g + (r + 1) * C + c0); \
            __m512 d0 = _mm512_sub_ps(LOAD(MASKED, m, x + r * C + c0), mu);                       \
            __m512 d1 = _mm512_sub_ps(LOAD(MASKED, m, x + (r + 1) * C + c0), mu);                 \
            s0 = _mm512_add_ps(s0, g0); s1 = _mm512_add_ps(s1, g1);                               \
            p0 = _mm512_fmadd_ps(g0, d0, p0); p1 = _mm512_fmadd_ps(g1, d1, p1);                   \
        }                                                                                         \
        if (r < r1) {                                                                             \
            __m512 g0 = LOAD(MASKED, m, g + r * C + c0);                                          \
            s0 = _mm512_add_ps(s0, g0);                                                           \
            p0 = _mm512_fmadd_ps(g0, _mm512_sub_ps(LOAD(MASKED, m, x + r * C + c0), mu), p0);     \
        }                                                                                         \
        add_to_double(sum_g + c0, _mm512_add_ps(s0, s1), n);                                      \
        add_to_double(sum_gd + c0, _mm512_add_ps(p0, p1), n);                                    \
    }                                                                                             \
}
GRAD_SUMS(grad_sums_full, 0)
GRAD_SUMS(grad_sums_tail, 1)

/* sum_g += per-channel sums of g, sum_gd += of g (x - mean), over the block. */
CC_TARGET void cc_bn_grad_sums(const float *g, const float *x, int64_t M, int64_t C, const float *mean,
                               double *sum_g, double *sum_gd) {
    for (int64_t c0 = 0; c0 < C; c0 += 16) {
        if (C - c0 >= 16) grad_sums_full(g, x, M, C, c0, mean, sum_g, sum_gd);
        else grad_sums_tail(g, x, M, C, c0, mean, sum_g, sum_gd);
    }
}

/* gx = c g - (k (x - mean) + cg), per channel (c, k, cg, mean: (C,) vectors). */
CC_TARGET void cc_bn_grad_input(const float *g, const float *x, float *gx, int64_t M, int64_t C,
                                const float *mean, const float *c, const float *k, const float *cg) {
    for (int64_t r = 0; r < M; r++) {
        const float *gr = g + r * C, *xr = x + r * C;
        float *out = gx + r * C;
        for (int64_t c0 = 0; c0 < C; c0 += 16) {
            const __mmask16 m = lanes(C - c0);
            __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, xr + c0), _mm512_maskz_loadu_ps(m, mean + c0));
            __m512 t = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, k + c0), d, _mm512_maskz_loadu_ps(m, cg + c0));
            __m512 v = _mm512_fmsub_ps(_mm512_maskz_loadu_ps(m, c + c0), _mm512_maskz_loadu_ps(m, gr + c0), t);
            _mm512_mask_storeu_ps(out + c0, m, v);
        }
    }
}

#else  /* not x86-64 with GCC/Clang: never called (cc_supported() is 0) */

void cc_bn_moments(const float *x, int64_t M, int64_t C, const float *shift, double *sums, double *sq,
                   int64_t want_sq) { (void)x; (void)M; (void)C; (void)shift; (void)sums; (void)sq; (void)want_sq; }
void cc_bn_affine(const float *x, float *y, int64_t M, int64_t C, const float *scale, const float *shift) {
    (void)x; (void)y; (void)M; (void)C; (void)scale; (void)shift; }
void cc_bn_grad_sums(const float *g, const float *x, int64_t M, int64_t C, const float *mean, double *sum_g,
                     double *sum_gd) { (void)g; (void)x; (void)M; (void)C; (void)mean; (void)sum_g; (void)sum_gd; }
void cc_bn_grad_input(const float *g, const float *x, float *gx, int64_t M, int64_t C, const float *mean,
                      const float *c, const float *k, const float *cg) {
    (void)g; (void)x; (void)gx; (void)M; (void)C; (void)mean; (void)c; (void)k; (void)cg; }

#endif
