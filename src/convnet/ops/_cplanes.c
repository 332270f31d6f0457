/* Direct 2-D convolution on NCHW float32 planes for few output channels (AVX-512), called
   through ctypes (ops/conv_planes.py).

   The channels-last kernels of _cconv.c put 16 output channels in a vector; with fewer (LeNet-5:
   6) most lanes would idle. Here a vector holds 16 neighbouring output pixels of one row
   instead, and OG output channels are kept in OG registers: for every input channel and tap one
   row segment of the (zero-padded) input is loaded and multiplied into all OG of them.

     forward       y[n, o, i, j]   = sum_{c, p, q} x[n, c, i*sh + p*dh, j + q*dw] * w[o, c, p, q]
     weight grad   gw[o, c, p, q]  = sum_{n, i, j} x[n, c, i*sh + p*dh, j + q*dw] * gy[n, o, i, j]

   Stride 1 along the width (the row segment is contiguous); x is (N, C, Hp, Wp) padded, w / gw
   are (O, C, KH, KW), y / gy (N, O, OH, OW), all C-contiguous. The forward loads whole 16-float
   row segments even at a row's end (a masked load in the inner loop costs 2x; the lanes past
   the row only reach output lanes that are not stored), so x must be followed by >= 16 readable
   floats (conv_planes.py allocates them). The input gradient of a stride-1
   conv is a forward conv of gy with the flipped kernel (conv.py). NumPy's per-image columns +
   GEMM stay the fallback; the slow reference is conv_ref.py.
   geometry: Hp, Wp, C, O, KH, KW, OH, OW, sh, dh, dw */

#include "_ckernels.h"

#ifdef CC_X86

#define PLANES_FWD(NAME, OG, MASKED)                                                              \
static CC_TARGET void NAME(const float *x, const float *w, float *y, int64_t C, int64_t KH,       \
                           int64_t KW, int64_t plane, int64_t Wp, int64_t dh, int64_t dw,          \
                           int64_t ystride, __mmask16 m) {                                         \
    __m512 acc[OG];                                                                               \
    for (int o = 0; o < OG; o++) acc[o] = _mm512_setzero_ps();                                    \
    const int64_t wo = C * KH * KW;                                                               \
    for (int64_t c = 0; c < C; c++) {                                                             \
        for (int64_t p = 0; p < KH; p++) {                                                        \
            const float *xr = x + c * plane + p * dh * Wp;                                        \
            const float *wr = w + (c * KH + p) * KW;                                              \
            for (int64_t q = 0; q < KW; q++) {                                                    \
                const __m512 xv = _mm512_loadu_ps(xr + q * dw);  /* lanes past the row: unused */ \
                for (int o = 0; o < OG; o++)                                                      \
                    acc[o] = _mm512_fmadd_ps(_mm512_set1_ps(wr[o * wo + q]), xv, acc[o]);         \
            }                                                                                     \
        }                                                                                         \
    }                                                                                             \
    for (int o = 0; o < OG; o++) {                                                                \
        if (MASKED) _mm512_mask_storeu_ps(y + o * ystride, m, acc[o]);                            \
        else _mm512_storeu_ps(y + o * ystride, acc[o]);                                           \
    }                                                                                             \
}

typedef void (*planes_fwd_fn)(const float *, const float *, float *, int64_t, int64_t, int64_t,
                              int64_t, int64_t, int64_t, int64_t, int64_t, __mmask16);

#define PLANES_FWD_ALL(M)                                                                         \
    PLANES_FWD(pf1_##M, 1, M) PLANES_FWD(pf2_##M, 2, M) PLANES_FWD(pf3_##M, 3, M) PLANES_FWD(pf4_##M, 4, M) \
    PLANES_FWD(pf5_##M, 5, M) PLANES_FWD(pf6_##M, 6, M) PLANES_FWD(pf7_##M, 7, M) PLANES_FWD(pf8_##M, 8, M)
PLANES_FWD_ALL(0)
PLANES_FWD_ALL(1)

/* kernels by group size 1..8 (index og - 1): a conv's O channels run as groups of 8 and one rest */
static const planes_fwd_fn PF_FN[2][8] = {{pf1_0, pf2_0, pf3_0, pf4_0, pf5_0, pf6_0, pf7_0, pf8_0},
                                          {pf1_1, pf2_1, pf3_1, pf4_1, pf5_1, pf6_1, pf7_1, pf8_1}};

/* Images n0 <= n < n1 of the forward. */
CC_TARGET void cc_conv2d_planes_forward(const float *x, const float *w, float *y, int64_t n0, int64_t n1,
                                        const int64_t *geometry) {
    const int64_t Hp = geometry[0], Wp = geometry[1], C = geometry[2], O = geometry[3];
    const int64_t KH = geometry[4], KW = geometry[5], OH = geometry[6], OW = geometry[7];
    const int64_t sh = geometry[8], dh = geometry[9], dw = geometry[10];
    const int64_t plane = Hp * Wp, ystride = OH * OW;
    for (int64_t n = n0; n < n1; n++) {
        for (int64_t i = 0; i < OH; i++) {
            const float *xrow = x + n * C * plane + i * sh * Wp;
            for (int64_t j0 = 0; j0 < OW; j0 += 16) {
                const int masked = OW - j0 < 16;
                const __mmask16 m = lanes(OW - j0);
                for (int64_t o0 = 0; o0 < O; o0 += 8) {
                    const int og = O - o0 < 8 ? (int)(O - o0) : 8;
                    PF_FN[masked][og - 1](xrow + j0, w + o0 * C * KH * KW, y + ((n * O + o0) * OH + i) * OW + j0,
                                          C, KH, KW, plane, Wp, dh, dw, ystride, m);
                }
            }
        }
    }
}

/* Weight gradient of images n0 <= n < n1 (overwritten): per image and (c, p, q), the OG output
   channels' sums run in vector registers over the image's rows, then are reduced across lanes. */
#define PLANES_WGRAD(NAME, OG)                                                                    \
static CC_TARGET void NAME(const float *x, const float *gy, float *gw, int64_t C, int64_t KH,     \
                           int64_t KW, int64_t plane, int64_t Wp, int64_t OH, int64_t OW,          \
                           int64_t sh, int64_t dh, int64_t dw, int64_t ystride) {                  \
    const int64_t wo = C * KH * KW;                                                               \
    for (int64_t c = 0; c < C; c++) {                                                             \
        for (int64_t p = 0; p < KH; p++) {                                                        \
            for (int64_t q = 0; q < KW; q++) {                                                    \
                __m512 acc[OG];                                                                   \
                for (int o = 0; o < OG; o++) acc[o] = _mm512_setzero_ps();                        \
                for (int64_t i = 0; i < OH; i++) {                                                \
                    const float *xr = x + c * plane + (i * sh + p * dh) * Wp + q * dw;            \
                    const float *gr = gy + i * OW;                                                \
                    int64_t j0 = 0;                                                               \
                    for (; j0 + 16 <= OW; j0 += 16) {  /* full blocks: plain loads */             \
                        const __m512 xv = _mm512_loadu_ps(xr + j0);                               \
                        for (int o = 0; o < OG; o++)                                              \
                            acc[o] = _mm512_fmadd_ps(_mm512_loadu_ps(gr + o * ystride + j0), xv, acc[o]); \
                    }                                                                             \
                    if (j0 < OW) {                                                                \
                        const __mmask16 m = lanes(OW - j0);                                       \
                        const __m512 xv = _mm512_maskz_loadu_ps(m, xr + j0);                      \
                        for (int o = 0; o < OG; o++)                                              \
                            acc[o] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, gr + o * ystride + j0), \
                                                     xv, acc[o]);                                 \
                    }                                                                             \
                }                                                                                 \
                for (int o = 0; o < OG; o++)                                                      \
                    gw[o * wo + (c * KH + p) * KW + q] += _mm512_reduce_add_ps(acc[o]);           \
            }                                                                                     \
        }                                                                                         \
    }                                                                                             \
}

typedef void (*planes_wgrad_fn)(const float *, const float *, float *, int64_t, int64_t, int64_t,
                                int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);

PLANES_WGRAD(pw1, 1) PLANES_WGRAD(pw2, 2) PLANES_WGRAD(pw3, 3) PLANES_WGRAD(pw4, 4)
PLANES_WGRAD(pw5, 5) PLANES_WGRAD(pw6, 6) PLANES_WGRAD(pw7, 7) PLANES_WGRAD(pw8, 8)

static const planes_wgrad_fn PW_FN[8] = {pw1, pw2, pw3, pw4, pw5, pw6, pw7, pw8};

CC_TARGET void cc_conv2d_planes_weight_grad(const float *x, const float *gy, float *gw, int64_t n0, int64_t n1,
                                            const int64_t *geometry) {
    const int64_t Hp = geometry[0], Wp = geometry[1], C = geometry[2], O = geometry[3];
    const int64_t KH = geometry[4], KW = geometry[5], OH = geometry[6], OW = geometry[7];
    const int64_t sh = geometry[8], dh = geometry[9], dw = geometry[10];
    const int64_t plane = Hp * Wp, ystride = OH * OW;
    memset(gw, 0, (size_t)(O * C * KH * KW) * sizeof(float));
    for (int64_t n = n0; n < n1; n++) {
        for (int64_t o0 = 0; o0 < O; o0 += 8) {
            const int og = O - o0 < 8 ? (int)(O - o0) : 8;
            PW_FN[og - 1](x + n * C * plane, gy + (n * O + o0) * ystride, gw + o0 * C * KH * KW, C, KH, KW,
                          plane, Wp, OH, OW, sh, dh, dw, ystride);
        }
    }
}

#else  /* not x86-64 with GCC/Clang: never called (cc_supported() is 0) */

void cc_conv2d_planes_forward(const float *x, const float *w, float *y, int64_t n0, int64_t n1,
                              const int64_t *geometry) { (void)x; (void)w; (void)y; (void)n0; (void)n1; (void)geometry; }
void cc_conv2d_planes_weight_grad(const float *x, const float *gy, float *gw, int64_t n0, int64_t n1,
                                  const int64_t *geometry) { (void)x; (void)gy; (void)gw; (void)n0; (void)n1; (void)geometry; }

#endif
