/* 2-D max pooling on float32 (AVX-512 for channels-last), called through ctypes (ops/pool.py).

   Unpadded windows, dilation 1, any kernel and stride. The forward scans each window in
   PyTorch's order (row by row) and takes an element when it is greater than the best so far or
   NaN, so ties keep the first maximum and a NaN wins (the last one); it stores the winner's
   offset inside the window (p * kw + q) per output. The backward adds each output's gradient
   onto its winner (windows may overlap; when they tile the input, kernel = stride, it writes
   every element once instead: g at the winner, 0 elsewhere, and zeroes only the uncovered rim). NumPy needs a pass per window offset for each of these
   and a mask per offset; this is one pass. The NumPy code in pool.py stays the fallback.

     cc_maxpool2d_planes_*     x (B, H, W) planes (NCHW with N*C = B), scalar code
     cc_maxpool2d_last_*       x (N, H, W, C) channels-last, 16 channels per vector
   geometry: H, W, OH, OW, kh, kw, sh, sw */

#include "_ckernels.h"

#ifdef CC_X86

CC_TARGET void cc_maxpool2d_planes_forward(const float *x, float *out, int32_t *code, int64_t B,
                                           const int64_t *geometry) {
    const int64_t H = geometry[0], W = geometry[1], OH = geometry[2], OW = geometry[3];
    const int64_t kh = geometry[4], kw = geometry[5], sh = geometry[6], sw = geometry[7];
    /* 16 outputs of a row at a time: lane t reads column (j0 + t) * sw + q of the window row */
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i step = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)sw));
    for (int64_t b = 0; b < B; b++) {
        const float *xb = x + b * H * W;
        for (int64_t i = 0; i < OH; i++) {
            for (int64_t j0 = 0; j0 < OW; j0 += 16) {
                const __mmask16 m = lanes(OW - j0);
                const float *w0 = xb + i * sh * W + j0 * sw;
                __m512 best = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, step, w0, 4);
                __m512i c = _mm512_setzero_si512();
                for (int64_t p = 0; p < kh; p++) {
                    for (int64_t q = 0; q < kw; q++) {
                        if (p == 0 && q == 0) continue;
                        const __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, step, w0 + p * W + q, 4);
                        const __mmask16 take = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ)
                                               | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                        best = _mm512_mask_mov_ps(best, take, v);
                        c = _mm512_mask_mov_epi32(c, take, _mm512_set1_epi32((int)(p * kw + q)));
                    }
                }
                const int64_t o = (b * OH + i) * OW + j0;
                _mm512_mask_storeu_ps(out + o, m, best);
                _mm512_mask_storeu_epi32(code + o, m, c);
            }
        }
    }
}

CC_TARGET void cc_maxpool2d_planes_backward(const float *g, const int32_t *code, float *gx, int64_t B,
                                            const int64_t *geometry) {
    const int64_t H = geometry[0], W = geometry[1], OH = geometry[2], OW = geometry[3];
    const int64_t kh = geometry[4], kw = geometry[5], sh = geometry[6], sw = geometry[7];
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i step = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)sw));
    const int tiles = kh == sh && kw == sw;   /* windows tile the input: write every element once */
    if (tiles) {                              /* zero only what no window covers */
        for (int64_t b = 0; b < B; b++) {
            float *gb = gx + b * H * W;
            for (int64_t r = 0; r < OH * sh; r++)
                if (OW * sw < W) memset(gb + r * W + OW * sw, 0, (size_t)(W - OW * sw) * sizeof(float));
            if (OH * sh < H) memset(gb + OH * sh * W, 0, (size_t)((H - OH * sh) * W) * sizeof(float));
        }
    } else {
        memset(gx, 0, (size_t)(B * H * W) * sizeof(float));
    }
    for (int64_t b = 0; b < B; b++) {
        float *gb = gx + b * H * W;
        for (int64_t i = 0; i < OH; i++) {
            for (int64_t j0 = 0; j0 < OW; j0 += 16) {
                const __mmask16 m = lanes(OW - j0);
                const int64_t o = (b * OH + i) * OW + j0;
                const __m512 gv = _mm512_maskz_loadu_ps(m, g + o);
                const __m512i c = _mm512_maskz_loadu_epi32(m, code + o);
                for (int64_t p = 0; p < kh; p++) {
                    for (int64_t q = 0; q < kw; q++) {
                        const __mmask16 hit = _mm512_mask_cmpeq_epi32_mask(m, c, _mm512_set1_epi32((int)(p * kw + q)));
                        if (tiles) {                  /* g at the winner, 0 elsewhere in the window */
                            _mm512_mask_i32scatter_ps(gb + (i * sh + p) * W + j0 * sw + q, m, step,
                                                      _mm512_maskz_mov_ps(hit, gv), 4);
                            continue;
                        }
                        if (!hit) continue;
                        /* distinct lanes hit distinct columns, so a gather-add-scatter is exact */
                        float *dst = gb + (i * sh + p) * W + j0 * sw + q;
                        const __m512 cur = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), hit, step, dst, 4);
                        _mm512_mask_i32scatter_ps(dst, hit, step, _mm512_add_ps(cur, gv), 4);
                    }
                }
            }
        }
    }
}

CC_TARGET void cc_maxpool2d_last_forward(const float *x, float *out, int32_t *code, int64_t N, int64_t C,
                                         const int64_t *geometry) {
    const int64_t H = geometry[0], W = geometry[1], OH = geometry[2], OW = geometry[3];
    const int64_t kh = geometry[4], kw = geometry[5], sh = geometry[6], sw = geometry[7];
    for (int64_t n = 0; n < N; n++) {
        for (int64_t i = 0; i < OH; i++) {
            for (int64_t j = 0; j < OW; j++) {
                const float *w0 = x + ((n * H + i * sh) * W + j * sw) * C;
                const int64_t o = ((n * OH + i) * OW + j) * C;
                for (int64_t c0 = 0; c0 < C; c0 += 16) {
                    const __mmask16 m = lanes(C - c0);
                    __m512 best = _mm512_maskz_loadu_ps(m, w0 + c0);
                    __m512i c = _mm512_setzero_si512();
                    for (int64_t p = 0; p < kh; p++) {
                        for (int64_t q = 0; q < kw; q++) {
                            if (p == 0 && q == 0) continue;
                            const __m512 v = _mm512_maskz_loadu_ps(m, w0 + (p * W + q) * C + c0);
                            const __mmask16 take = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ)
                                                   | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                            best = _mm512_mask_mov_ps(best, take, v);
                            c = _mm512_mask_mov_epi32(c, take, _mm512_set1_epi32((int)(p * kw + q)));
                        }
                    }
                    _mm512_mask_storeu_ps(out + o + c0, m, best);
                    _mm512_mask_storeu_epi32(code + o + c0, m, c);
                }
            }
        }
    }
}

CC_TARGET void cc_maxpool2d_last_backward(const float *g, const int32_t *code, float *gx, int64_t N, int64_t C,
                                          const int64_t *geometry) {
    const int64_t H = geometry[0], W = geometry[1], OH = geometry[2], OW = geometry[3];
    const int64_t kh = geometry[4], kw = geometry[5], sh = geometry[6], sw = geometry[7];
    const int tiles = kh == sh && kw == sw;   /* windows tile the input: write every element once */
    if (tiles) {                              /* zero only what no window covers */
        for (int64_t n = 0; n < N; n++) {
            float *gn = gx + n * H * W * C;
            for (int64_t r = 0; r < OH * sh; r++)
                if (OW * sw < W) memset(gn + (r * W + OW * sw) * C, 0, (size_t)((W - OW * sw) * C) * sizeof(float));
            if (OH * sh < H) memset(gn + OH * sh * W * C, 0, (size_t)((H - OH * sh) * W * C) * sizeof(float));
        }
    } else {
        memset(gx, 0, (size_t)(N * H * W * C) * sizeof(float));
    }
    for (int64_t n = 0; n < N; n++) {
        for (int64_t i = 0; i < OH; i++) {
            for (int64_t j = 0; j < OW; j++) {
                float *w0 = gx + ((n * H + i * sh) * W + j * sw) * C;
                const int64_t o = ((n * OH + i) * OW + j) * C;
                for (int64_t c0 = 0; c0 < C; c0 += 16) {
                    const __mmask16 m = lanes(C - c0);
                    const __m512 gv = _mm512_maskz_loadu_ps(m, g + o + c0);
                    const __m512i c = _mm512_maskz_loadu_epi32(m, code + o + c0);
                    for (int64_t p = 0; p < kh; p++) {
                        for (int64_t q = 0; q < kw; q++) {
                            const __mmask16 hit = _mm512_mask_cmpeq_epi32_mask(m, c, _mm512_set1_epi32((int)(p * kw + q)));
                            if (tiles) {              /* g at the winner, 0 elsewhere in the window */
                                _mm512_mask_storeu_ps(w0 + (p * W + q) * C + c0, m, _mm512_maskz_mov_ps(hit, gv));
                                continue;
                            }
                            if (!hit) continue;
                            float *dst = w0 + (p * W + q) * C + c0;
                            _mm512_mask_storeu_ps(dst, hit, _mm512_add_ps(_mm512_maskz_loadu_ps(hit, dst), gv));
                        }
                    }
                }
            }
        }
    }
}

#else  /* not x86-64 with GCC/Clang: never called (cc_supported() is 0) */

void cc_maxpool2d_planes_forward(const float *x, float *out, int32_t *code, int64_t B, const int64_t *geometry) {
    (void)x; (void)out; (void)code; (void)B; (void)geometry; }
void cc_maxpool2d_planes_backward(const float *g, const int32_t *code, float *gx, int64_t B, const int64_t *geometry) {
    (void)g; (void)code; (void)gx; (void)B; (void)geometry; }
void cc_maxpool2d_last_forward(const float *x, float *out, int32_t *code, int64_t N, int64_t C,
                               const int64_t *geometry) {
    (void)x; (void)out; (void)code; (void)N; (void)C; (void)geometry; }
void cc_maxpool2d_last_backward(const float *g, const int32_t *code, float *gx, int64_t N, int64_t C,
                                const int64_t *geometry) {
    (void)g; (void)code; (void)gx; (void)N; (void)C; (void)geometry; }

#endif
