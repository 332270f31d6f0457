/* Direct 2-D convolution kernels on channels-last float32 data (AVX-512), called through ctypes.

   The NumPy kernels (conv_nhwc.py) copy every receptive field into a column matrix and hand it
   to BLAS, which copies it again into its packed panels; on the narrow GEMMs of small CNNs
   (16-64 channels) the copies cost as much as the multiplications. These kernels read the
   padded input in place instead: a block of PB output pixels x 16*OV output channels is held
   in PB*OV vector registers, and for every kernel tap and input channel one weight vector is
   loaded and one input value broadcast per pixel (one fused multiply-add per register).

     forward        y[n, i, j, o]   = sum_{p, q, c} x[n, i*sh + p*dh, j*sw + q*dw, c] * w[p, q, c, o]
     weight grad    gw[p, q, c, o]  = sum_{n, i, j} x[n, i*sh + p*dh, j*sw + q*dw, c] * gy[n, i, j, o]

   x is zero-padded (N, Hp, Wp, C); w / gw are (KH, KW, C, O); y / gy are (N, OH, OW, O), all
   C-contiguous. Any C and O: the last vector of output channels is masked. The input gradient
   of a stride-1 conv is a forward conv of gy with the flipped kernel (conv.py), so two kernels
   serve all three products. Slow reference: conv_ref.py; the NumPy kernels remain the fallback
   (no AVX-512, float64, groups, 1-D/3-D).

   Part of the optional extension convnet.ops._ckernels (_ckernels.c): without a C compiler, or
   without AVX-512 at run time, NumPy does the work. */

#include "_ckernels.h"

#ifdef CC_X86

/* Output channels [ob, ob + 16*ov): how many vectors and the lane mask of the last one. */
static void channel_block(int64_t rem, int *ov, __mmask16 *mask) {
    if (rem >= 64) { *ov = 4; *mask = 0xFFFF; }
    else if (rem > 32) { *ov = 2; *mask = 0xFFFF; }
    else if (rem > 16) { *ov = 2; *mask = (__mmask16)((1u << (rem - 16)) - 1u); }
    else { *ov = 1; *mask = (__mmask16)(rem == 16 ? 0xFFFF : (1u << rem) - 1u); }
}

/* ---- forward: PB pixels x OV vectors of output channels ------------------------------------ */

/* MASKED = 0: every vector full (the compiler folds the loads into the multiply-adds; a masked
   load in the inner loop measured 2x slower); 1: the last vector masked, for the channel tail. */
#define FWD_KERNEL(NAME, OV, PB, MASKED)                                                            \
static CC_TARGET void NAME(const float *x, int64_t sx, const float *w, int64_t C, int64_t O,        \
                           int64_t KH, int64_t KW, int64_t rstep, int64_t cstep, float *y,         \
                           __mmask16 mlast) {                                                       \
    __m512 acc[PB][OV];                                                                             \
    for (int p = 0; p < PB; p++)                                                                    \
        for (int v = 0; v < OV; v++) acc[p][v] = _mm512_setzero_ps();                               \
    for (int64_t kh = 0; kh < KH; kh++) {                                                           \
        for (int64_t kw = 0; kw < KW; kw++) {                                                       \
            const float *xr = x + kh * rstep + kw * cstep;                                          \
            const float *wk = w + (kh * KW + kw) * C * O;                                           \
            for (int64_t c = 0; c < C; c++) {                                                       \
                __m512 wv[OV];                                                                      \
                for (int v = 0; v < OV - 1; v++) wv[v] = _mm512_loadu_ps(wk + c * O + 16 * v);     \
                wv[OV - 1] = LOAD_LAST(MASKED, mlast, wk + c * O + 16 * (OV - 1));                  \
                for (int p = 0; p < PB; p++) {                                                      \
                    __m512 xb = _mm512_set1_ps(xr[p * sx + c]);                                     \
                    for (int v = 0; v < OV; v++) acc[p][v] = _mm512_fmadd_ps(xb, wv[v], acc[p][v]); \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }                                                                                               \
    for (int p = 0; p < PB; p++) {                                                                  \
        for (int v = 0; v < OV - 1; v++) _mm512_storeu_ps(y + p * O + 16 * v, acc[p][v]);          \
        STORE_LAST(MASKED, mlast, y + p * O + 16 * (OV - 1), acc[p][OV - 1]);                       \
    }                                                                                               \
}

typedef void (*fwd_fn)(const float *, int64_t, const float *, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, float *, __mmask16);

#define FWD_FAMILY(M)                                                                               \
    FWD_KERNEL(fwd1_16_##M, 1, 16, M) FWD_KERNEL(fwd1_14_##M, 1, 14, M) FWD_KERNEL(fwd1_12_##M, 1, 12, M) \
    FWD_KERNEL(fwd1_10_##M, 1, 10, M) FWD_KERNEL(fwd1_8_##M, 1, 8, M) FWD_KERNEL(fwd1_6_##M, 1, 6, M)     \
    FWD_KERNEL(fwd1_4_##M, 1, 4, M) FWD_KERNEL(fwd1_2_##M, 1, 2, M) FWD_KERNEL(fwd1_1_##M, 1, 1, M)       \
    FWD_KERNEL(fwd2_8_##M, 2, 8, M) FWD_KERNEL(fwd2_6_##M, 2, 6, M) FWD_KERNEL(fwd2_4_##M, 2, 4, M)       \
    FWD_KERNEL(fwd2_2_##M, 2, 2, M) FWD_KERNEL(fwd2_1_##M, 2, 1, M)                                       \
    FWD_KERNEL(fwd4_6_##M, 4, 6, M) FWD_KERNEL(fwd4_4_##M, 4, 4, M) FWD_KERNEL(fwd4_2_##M, 4, 2, M)       \
    FWD_KERNEL(fwd4_1_##M, 4, 1, M)
FWD_FAMILY(0)
FWD_FAMILY(1)

/* Block sizes per vector count (1, 2, 4), largest first, with the kernels instantiated for each:
   pixels per block in the forward, input channels per block in the weight gradient. A row is
   covered greedily (a row of 10, LeNet-5's C3, is one block of 10 rather than 8 + 2: few
   accumulators wait on the FMA latency; a width of 30 is 16 + 14). */
#define NB 9
static const int BLOCKS[3][NB] = {{16, 14, 12, 10, 8, 6, 4, 2, 1}, {8, 6, 4, 2, 1}, {6, 4, 2, 1}};
static const fwd_fn FWD_FN[2][3][NB] = {
    {{fwd1_16_0, fwd1_14_0, fwd1_12_0, fwd1_10_0, fwd1_8_0, fwd1_6_0, fwd1_4_0, fwd1_2_0, fwd1_1_0},
     {fwd2_8_0, fwd2_6_0, fwd2_4_0, fwd2_2_0, fwd2_1_0}, {fwd4_6_0, fwd4_4_0, fwd4_2_0, fwd4_1_0}},
    {{fwd1_16_1, fwd1_14_1, fwd1_12_1, fwd1_10_1, fwd1_8_1, fwd1_6_1, fwd1_4_1, fwd1_2_1, fwd1_1_1},
     {fwd2_8_1, fwd2_6_1, fwd2_4_1, fwd2_2_1, fwd2_1_1}, {fwd4_6_1, fwd4_4_1, fwd4_2_1, fwd4_1_1}}};

/* Images n0 <= n < n1 of the forward. geometry: Hp, Wp, C, O, KH, KW, OH, OW, sh, sw, dh, dw */
CC_TARGET void cc_conv2d_forward(const float *x, const float *w, float *y, int64_t n0, int64_t n1,
                                 const int64_t *geometry) {
    const int64_t Hp = geometry[0], Wp = geometry[1], C = geometry[2], O = geometry[3];
    const int64_t KH = geometry[4], KW = geometry[5], OH = geometry[6], OW = geometry[7];
    const int64_t sh = geometry[8], sw = geometry[9], dh = geometry[10], dw = geometry[11];
    const int64_t sx = sw * C, rstep = dh * Wp * C, cstep = dw * C;
    /* Undilated columns: a kernel row's taps and channels are KW*C consecutive floats of x and of
       w, one loop instead of two (LeNet-5's C3, 6 channels: 0.51 -> 0.47 ms, 1 thread). */
    const int64_t Ck = dw == 1 ? KW * C : C, KWk = dw == 1 ? 1 : KW;
    for (int64_t n = n0; n < n1; n++) {
        for (int64_t i = 0; i < OH; i++) {
            const float *xrow = x + ((n * Hp + i * sh) * Wp) * C;
            float *yrow = y + ((n * OH + i) * OW) * O;
            for (int64_t ob = 0; ob < O;) {
                int ov; __mmask16 mask;
                channel_block(O - ob, &ov, &mask);
                const int k = ov == 4 ? 2 : ov - 1;
                int64_t j = 0;
                for (int b = 0; b < NB && BLOCKS[k][b]; b++) {
                    const int pb = BLOCKS[k][b];
                    for (; j + pb <= OW; j += pb)
                        FWD_FN[mask != 0xFFFF][k][b](xrow + j * sx, sx, w + ob, Ck, O, KH, KWk, rstep, cstep,
                                                     yrow + j * O + ob, mask);
                }
                ob += 16 * ov;
            }
        }
    }
}

/* ---- weight gradient: CB input channels x OV vectors of output channels --------------------- */

/* One tile of output rows (R rows of OW pixels): gw[c, :] += sum over the tile of x[.., c] gy[..]
   for CB channels, the sums held in registers and added to gw once per tile. Tiles are small
   (>= 32 pixels) so that every block of taps and channels re-reads the tile from L1/L2: a sweep
   over the whole batch per block streams gy from memory once per block (7x7 stem on 224x224:
   94 ms, vs 59 for columns + GEMM). */
#define WGRAD_KERNEL(NAME, OV, CB, MASKED)                                                          \
static CC_TARGET void NAME(const float *x, const float *gy, float *gw, int64_t R, int64_t OW,      \
                           int64_t xrow, int64_t grow, int64_t sx, int64_t O, __mmask16 mlast) {    \
    __m512 acc[CB][OV];                                                                             \
    for (int c = 0; c < CB; c++) {                                                                  \
        for (int v = 0; v < OV - 1; v++) acc[c][v] = _mm512_loadu_ps(gw + c * O + 16 * v);        \
        acc[c][OV - 1] = LOAD_LAST(MASKED, mlast, gw + c * O + 16 * (OV - 1));                      \
    }                                                                                               \
    for (int64_t r = 0; r < R; r++) {                                                               \
        const float *xr = x + r * xrow, *gr = gy + r * grow;                                        \
        for (int64_t j = 0; j < OW; j++) {                                                          \
            __m512 gv[OV];                                                                          \
            for (int v = 0; v < OV - 1; v++) gv[v] = _mm512_loadu_ps(gr + j * O + 16 * v);         \
            gv[OV - 1] = LOAD_LAST(MASKED, mlast, gr + j * O + 16 * (OV - 1));                      \
            const float *xp = xr + j * sx;                                                          \
            for (int c = 0; c < CB; c++) {                                                          \
                __m512 xb = _mm512_set1_ps(xp[c]);                                                  \
                for (int v = 0; v < OV; v++) acc[c][v] = _mm512_fmadd_ps(xb, gv[v], acc[c][v]);     \
            }                                                                                       \
        }                                                                                           \
    }                                                                                               \
    for (int c = 0; c < CB; c++) {                                                                  \
        for (int v = 0; v < OV - 1; v++) _mm512_storeu_ps(gw + c * O + 16 * v, acc[c][v]);        \
        STORE_LAST(MASKED, mlast, gw + c * O + 16 * (OV - 1), acc[c][OV - 1]);                      \
    }                                                                                               \
}

typedef void (*wgrad_fn)(const float *, const float *, float *, int64_t, int64_t, int64_t, int64_t,
                         int64_t, int64_t, __mmask16);

#define WGRAD_FAMILY(M)                                                                             \
    WGRAD_KERNEL(wg1_16_##M, 1, 16, M) WGRAD_KERNEL(wg1_14_##M, 1, 14, M) WGRAD_KERNEL(wg1_12_##M, 1, 12, M) \
    WGRAD_KERNEL(wg1_10_##M, 1, 10, M) WGRAD_KERNEL(wg1_8_##M, 1, 8, M) WGRAD_KERNEL(wg1_6_##M, 1, 6, M)     \
    WGRAD_KERNEL(wg1_4_##M, 1, 4, M) WGRAD_KERNEL(wg1_2_##M, 1, 2, M) WGRAD_KERNEL(wg1_1_##M, 1, 1, M)       \
    WGRAD_KERNEL(wg2_8_##M, 2, 8, M) WGRAD_KERNEL(wg2_6_##M, 2, 6, M) WGRAD_KERNEL(wg2_4_##M, 2, 4, M)       \
    WGRAD_KERNEL(wg2_2_##M, 2, 2, M) WGRAD_KERNEL(wg2_1_##M, 2, 1, M)                                       \
    WGRAD_KERNEL(wg4_6_##M, 4, 6, M) WGRAD_KERNEL(wg4_4_##M, 4, 4, M) WGRAD_KERNEL(wg4_2_##M, 4, 2, M)       \
    WGRAD_KERNEL(wg4_1_##M, 4, 1, M)
WGRAD_FAMILY(0)
WGRAD_FAMILY(1)

static const wgrad_fn WG_FN[2][3][NB] = {
    {{wg1_16_0, wg1_14_0, wg1_12_0, wg1_10_0, wg1_8_0, wg1_6_0, wg1_4_0, wg1_2_0, wg1_1_0},
     {wg2_8_0, wg2_6_0, wg2_4_0, wg2_2_0, wg2_1_0}, {wg4_6_0, wg4_4_0, wg4_2_0, wg4_1_0}},
    {{wg1_16_1, wg1_14_1, wg1_12_1, wg1_10_1, wg1_8_1, wg1_6_1, wg1_4_1, wg1_2_1, wg1_1_1},
     {wg2_8_1, wg2_6_1, wg2_4_1, wg2_2_1, wg2_1_1}, {wg4_6_1, wg4_4_1, wg4_2_1, wg4_1_1}}};

/* gw = the weight gradient of images n0 <= n < n1 (overwritten, not accumulated). */
CC_TARGET void cc_conv2d_weight_grad(const float *x, const float *gy, float *gw, int64_t n0, int64_t n1,
                                     const int64_t *geometry) {
    const int64_t Hp = geometry[0], Wp = geometry[1], C = geometry[2], O = geometry[3];
    const int64_t KH = geometry[4], KW = geometry[5], OH = geometry[6], OW = geometry[7];
    const int64_t sh = geometry[8], sw = geometry[9], dh = geometry[10], dw = geometry[11];
    /* With dw = 1 the KW taps of a kernel row are KW*C consecutive floats of the input and
       consecutive rows of gw: one block of "channels" covers them all (with few input channels,
       e.g. an RGB stem, a block per tap would hold only C of them). */
    const int64_t taps = dw == 1 ? 1 : KW, width = dw == 1 ? KW * C : C;
    const int64_t R0 = OW >= 32 ? 1 : (32 + OW - 1) / OW;      /* rows per tile: >= 32 pixels */
    memset(gw, 0, (size_t)(KH * KW * C * O) * sizeof(float));
    for (int64_t n = n0; n < n1; n++) {
        for (int64_t i0 = 0; i0 < OH; i0 += R0) {
            const int64_t R = i0 + R0 <= OH ? R0 : OH - i0;
            const float *xr = x + ((n * Hp + i0 * sh) * Wp) * C;
            const float *gr = gy + ((n * OH + i0) * OW) * O;
            for (int64_t p = 0; p < KH; p++) {
                for (int64_t q = 0; q < taps; q++) {
                    const float *xt = xr + (p * dh * Wp + q * dw) * C;  /* this tap's shifted input */
                    float *gt = gw + (p * KW + q) * C * O;
                    for (int64_t ob = 0; ob < O;) {
                        int ov; __mmask16 mask;
                        channel_block(O - ob, &ov, &mask);
                        const int k = ov == 4 ? 2 : ov - 1;
                        int64_t c0 = 0;
                        for (int b = 0; b < NB && BLOCKS[k][b]; b++) {
                            const int cb = BLOCKS[k][b];
                            for (; c0 + cb <= width; c0 += cb)
                                WG_FN[mask != 0xFFFF][k][b](xt + c0, gr + ob, gt + c0 * O + ob, R, OW,
                                                            sh * Wp * C, OW * O, sw * C, O, mask);
                        }
                        ob += 16 * ov;
                    }
                }
            }
        }
    }
}

#else  /* not x86-64 with GCC/Clang: never called (cc_supported() is 0) */

void cc_conv2d_forward(const float *x, const float *w, float *y, int64_t n0, int64_t n1,
                       const int64_t *geometry) { (void)x; (void)w; (void)y; (void)n0; (void)n1; (void)geometry; }
void cc_conv2d_weight_grad(const float *x, const float *gy, float *gw, int64_t n0, int64_t n1,
                           const int64_t *geometry) { (void)x; (void)gy; (void)gw; (void)n0; (void)n1; (void)geometry; }

#endif
