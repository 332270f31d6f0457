/* Layout helpers of the C conv kernels (called as pool tasks, _cthreads.c): the zero-padded copies
   the kernels read, and the bias added to their outputs. They run inside the same batch chunk as
   the kernel that follows them, so the copy is still in that core's cache when it is read.

     cc_pad_last     x (b, C, H, W), any element strides  ->  xpad (b, Hp, Wp, C) contiguous
     cc_pad_planes   x (P, H, W) contiguous planes        ->  xpad (P, Hp, Wp) contiguous
     cc_bias_last    y (rows, O) += bias (O)
     cc_bias_planes  y (n, O, L) += bias (O)

   The NumPy equivalents (conv_nhwc._channels_last_padded, conv_planes._padded, y += bias) stay
   where the C kernels do not run. */

#include "_ckernels.h"

/* geometry: C, H, W, sn, sc, sh, sw (x's element strides), pt, pb, pl, pr */
CC_TARGET void cc_pad_last(const float *x, float *xpad, int64_t b, const int64_t *geometry) {
    const int64_t C = geometry[0], H = geometry[1], W = geometry[2];
    const int64_t sn = geometry[3], sc = geometry[4], sh = geometry[5], sw = geometry[6];
    const int64_t pt = geometry[7], pb = geometry[8], pl = geometry[9], pr = geometry[10];
    const int64_t Hp = H + pt + pb, Wp = W + pl + pr;
    for (int64_t n = 0; n < b; n++) {
        for (int64_t hp = 0; hp < Hp; hp++) {
            float *row = xpad + ((n * Hp + hp) * Wp) * C;
            const int64_t h = hp - pt;
            if (h < 0 || h >= H) {
                memset(row, 0, (size_t)(Wp * C) * sizeof(float));
                continue;
            }
            memset(row, 0, (size_t)(pl * C) * sizeof(float));
            memset(row + (pl + W) * C, 0, (size_t)(pr * C) * sizeof(float));
            const float *xr = x + n * sn + h * sh;
            float *out = row + pl * C;
            if (sc == 1) {                                   /* channels-last input: C floats a pixel */
                for (int64_t w = 0; w < W; w++) memcpy(out + w * C, xr + w * sw, (size_t)C * sizeof(float));
            } else {                                         /* planes: a row of each channel, spread */
                for (int64_t c = 0; c < C; c++) {
                    const float *xc = xr + c * sc;
                    for (int64_t w = 0; w < W; w++) out[w * C + c] = xc[w * sw];
                }
            }
        }
    }
}

/* geometry: H, W, pt, pb, pl, pr */
CC_TARGET void cc_pad_planes(const float *x, float *xpad, int64_t planes, const int64_t *geometry) {
    const int64_t H = geometry[0], W = geometry[1], pt = geometry[2], pb = geometry[3];
    const int64_t pl = geometry[4], pr = geometry[5];
    const int64_t Hp = H + pt + pb, Wp = W + pl + pr;
    if (!pt && !pb && !pl && !pr) {
        memcpy(xpad, x, (size_t)(planes * H * W) * sizeof(float));
        return;
    }
    for (int64_t p = 0; p < planes; p++) {
        float *out = xpad + p * Hp * Wp;
        const float *xp = x + p * H * W;
        memset(out, 0, (size_t)(pt * Wp) * sizeof(float));
        for (int64_t h = 0; h < H; h++) {
            float *row = out + (pt + h) * Wp;
            memset(row, 0, (size_t)pl * sizeof(float));
            memcpy(row + pl, xp + h * W, (size_t)W * sizeof(float));
            memset(row + pl + W, 0, (size_t)pr * sizeof(float));
        }
        memset(out + (pt + H) * Wp, 0, (size_t)(pb * Wp) * sizeof(float));
    }
}

CC_TARGET void cc_bias_last(float *y, const float *bias, int64_t rows, int64_t O) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t o = 0; o < O; o++) y[r * O + o] += bias[o];
}

CC_TARGET void cc_bias_planes(float *y, const float *bias, int64_t n, int64_t O, int64_t L) {
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < O; o++) {
            float *p = y + (i * O + o) * L;
            const float v = bias[o];
            for (int64_t j = 0; j < L; j++) p[j] += v;
        }
}
