/* Shared by the C kernel files of convnet.ops._ckernels (see _ckernels.c). */
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
#else
#define CC_TARGET
#endif

int cc_supported(void);

/* The kernels, for the worker pool's task table (_cthreads.c). */
void cc_conv2d_forward(const float *x, const float *w, float *y, int64_t n0, int64_t n1, const int64_t *geometry);
void cc_conv2d_weight_grad(const float *x, const float *gy, float *gw, int64_t n0, int64_t n1,
                           const int64_t *geometry);
void cc_conv2d_planes_forward(const float *x, const float *w, float *y, int64_t n0, int64_t n1,
                              const int64_t *geometry);
void cc_conv2d_planes_weight_grad(const float *x, const float *gy, float *gw, int64_t n0, int64_t n1,
                                  const int64_t *geometry);
void cc_relu_forward(const float *x, float *y, int64_t n);
void cc_relu_backward(const float *out, const float *g, float *gx, int64_t n);
void cc_maxpool2d_planes_forward(const float *x, float *out, int32_t *code, int64_t B, const int64_t *geometry);
void cc_maxpool2d_planes_backward(const float *g, const int32_t *code, float *gx, int64_t B, const int64_t *geometry);
void cc_maxpool2d_last_forward(const float *x, float *out, int32_t *code, int64_t N, int64_t C,
                               const int64_t *geometry);
void cc_maxpool2d_last_backward(const float *g, const int32_t *code, float *gx, int64_t N, int64_t C,
                                const int64_t *geometry);
void cc_bn_moments(const float *x, int64_t M, int64_t C, const float *shift, double *sums, double *sq,
                   int64_t want_sq);
void cc_bn_affine(const float *x, float *y, int64_t M, int64_t C, const float *scale, const float *shift);
void cc_bn_grad_sums(const float *g, const float *x, int64_t M, int64_t C, const float *mean, double *sum_g,
                     double *sum_gd);
void cc_bn_grad_input(const float *g, const float *x, float *gx, int64_t M, int64_t C, const float *mean,
                      const float *c, const float *k, const float *cg);
void cc_pad_last(const float *x, float *xpad, int64_t b, const int64_t *geometry);
void cc_pad_planes(const float *x, float *xpad, int64_t planes, const int64_t *geometry);
void cc_bias_last(float *y, const float *bias, int64_t rows, int64_t O);
void cc_bias_planes(float *y, const float *bias, int64_t n, int64_t O, int64_t L);

#endif
