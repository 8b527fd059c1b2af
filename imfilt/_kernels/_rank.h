/* Rank-selection kernels of imfilt (private; see _rank.pyx).
 *
 * Element types are passed as a code (RK_U8 .. RK_F64) and dispatched here,
 * so the Cython layer handles raw pointers only.  All functions are
 * reentrant and work on one output row; the caller parallelises over rows.
 */
#ifndef IMFILT_RANK_H
#define IMFILT_RANK_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_rank_networks.h"

enum { RK_U8 = 0, RK_I8, RK_U16, RK_I16, RK_U32, RK_I32, RK_U64, RK_I64, RK_F32, RK_F64 };

#define RK_T uint8_t
#define RK_SUF u8
#define RK_FLOAT 0
#include "_rank_impl.h"
#undef RK_T
#undef RK_SUF
#undef RK_FLOAT

#define RK_T int8_t
#define RK_SUF i8
#define RK_FLOAT 0
#include "_rank_impl.h"
#undef RK_T
#undef RK_SUF
#undef RK_FLOAT

#define RK_T uint16_t
#define RK_SUF u16
#define RK_FLOAT 0
#include "_rank_impl.h"
#undef RK_T
#undef RK_SUF
#undef RK_FLOAT

#define RK_T int16_t
#define RK_SUF i16
#define RK_FLOAT 0
#include "_rank_impl.h"
#undef RK_T
#undef RK_SUF
#undef RK_FLOAT

#define RK_T uint32_t
#define RK_SUF u32
#define RK_FLOAT 0
#include "_rank_impl.h"
#undef RK_T
#undef RK_SUF
#undef RK_FLOAT

#define RK_T int32_t
#define RK_SUF i32
#define RK_FLOAT 0
#include "_rank_impl.h"
#undef RK_T
#undef RK_SUF
#undef RK_FLOAT

#define RK_T uint64_t
#define RK_SUF u64
#define RK_FLOAT 0
#include "_rank_impl.h"
#undef RK_T
#undef RK_SUF
#undef RK_FLOAT

#define RK_T int64_t
#define RK_SUF i64
#define RK_FLOAT 0
#include "_rank_impl.h"
#undef RK_T
#undef RK_SUF
#undef RK_FLOAT

#define RK_T float
#define RK_SUF f32
#define RK_FLOAT 1
#include "_rank_impl.h"
#undef RK_T
#undef RK_SUF
#undef RK_FLOAT

#define RK_T double
#define RK_SUF f64
#define RK_FLOAT 1
#include "_rank_impl.h"
#undef RK_T
#undef RK_SUF
#undef RK_FLOAT

#define RK_DISPATCH(call_u8, call_i8, call_u16, call_i16, call_u32, call_i32, call_u64, \
                    call_i64, call_f32, call_f64)                                      \
    switch (tcode) {                                                                    \
    case RK_U8: call_u8; break;                                                         \
    case RK_I8: call_i8; break;                                                         \
    case RK_U16: call_u16; break;                                                       \
    case RK_I16: call_i16; break;                                                       \
    case RK_U32: call_u32; break;                                                       \
    case RK_I32: call_i32; break;                                                       \
    case RK_U64: call_u64; break;                                                       \
    case RK_I64: call_i64; break;                                                       \
    case RK_F32: call_f32; break;                                                       \
    default: call_f64; break;                                                           \
    }

#define RK_NET(T, SUF)                                                                  \
    rk_net_row_##SUF((const T *)P, offs, K, W, net, ncomp, r, mode, rtab, (T *)out,     \
                     (T *)wires, cnt, B)

static void rk_net_row(int tcode, const void *P, const Py_ssize_t *offs, Py_ssize_t K,
                       Py_ssize_t W, const int *net, Py_ssize_t ncomp, Py_ssize_t r, int mode,
                       const Py_ssize_t *rtab, void *out, void *wires, int *cnt, Py_ssize_t B)
{
    RK_DISPATCH(RK_NET(uint8_t, u8), RK_NET(int8_t, i8), RK_NET(uint16_t, u16),
                RK_NET(int16_t, i16), RK_NET(uint32_t, u32), RK_NET(int32_t, i32),
                RK_NET(uint64_t, u64), RK_NET(int64_t, i64), RK_NET(float, f32),
                RK_NET(double, f64))
}

#define RK_SEL(T, SUF)                                                                  \
    rk_sel_row_##SUF((const T *)P, offs, K, W, r, mode, rtab, (T *)out, (T *)buf)

static void rk_sel_row(int tcode, const void *P, const Py_ssize_t *offs, Py_ssize_t K,
                       Py_ssize_t W, Py_ssize_t r, int mode, const Py_ssize_t *rtab,
                       void *out, void *buf)
{
    RK_DISPATCH(RK_SEL(uint8_t, u8), RK_SEL(int8_t, i8), RK_SEL(uint16_t, u16),
                RK_SEL(int16_t, i16), RK_SEL(uint32_t, u32), RK_SEL(int32_t, i32),
                RK_SEL(uint64_t, u64), RK_SEL(int64_t, i64), RK_SEL(float, f32),
                RK_SEL(double, f64))
}

#define RK_FIX(T, SUF)                                                                  \
    do {                                                                                \
        if (K == 9) rk_fixed9_##SUF((const T *)P, offs, W, (T *)out);                   \
        else if (K == 25) rk_fixed25_##SUF((const T *)P, offs, W, (T *)out);            \
        else rk_fixed27_##SUF((const T *)P, offs, W, (T *)out);                         \
    } while (0)

static void rk_fixed_row(int tcode, const void *P, const Py_ssize_t *offs, Py_ssize_t K,
                         Py_ssize_t W, void *out)
{
    RK_DISPATCH(RK_FIX(uint8_t, u8), RK_FIX(int8_t, i8), RK_FIX(uint16_t, u16),
                RK_FIX(int16_t, i16), RK_FIX(uint32_t, u32), RK_FIX(int32_t, i32),
                RK_FIX(uint64_t, u64), RK_FIX(int64_t, i64), RK_FIX(float, f32),
                RK_FIX(double, f64))
}

/* Floating types only (the Python layer never asks for others). */
static void rk_fixednan_row(int tcode, const void *P, const Py_ssize_t *offs, Py_ssize_t K,
                            Py_ssize_t W, void *out, int omit)
{
    if (tcode == RK_F32) {
        if (K == 9) rk_fixednan9_f32((const float *)P, offs, W, (float *)out, omit);
        else if (K == 25) rk_fixednan25_f32((const float *)P, offs, W, (float *)out, omit);
        else rk_fixednan27_f32((const float *)P, offs, W, (float *)out, omit);
    } else {
        if (K == 9) rk_fixednan9_f64((const double *)P, offs, W, (double *)out, omit);
        else if (K == 25) rk_fixednan25_f64((const double *)P, offs, W, (double *)out, omit);
        else rk_fixednan27_f64((const double *)P, offs, W, (double *)out, omit);
    }
}

#define RK_M33(T, SUF) rk_med3x3_##SUF((const T *)P, rs, W, (T *)out, (T *)tmp, B)

static void rk_med3x3_row(int tcode, const void *P, Py_ssize_t rs, Py_ssize_t W, void *out,
                          void *tmp, Py_ssize_t B)
{
    RK_DISPATCH(RK_M33(uint8_t, u8), RK_M33(int8_t, i8), RK_M33(uint16_t, u16),
                RK_M33(int16_t, i16), RK_M33(uint32_t, u32), RK_M33(int32_t, i32),
                RK_M33(uint64_t, u64), RK_M33(int64_t, i64), RK_M33(float, f32),
                RK_M33(double, f64))
}

#define RK_M33D(T, SUF)                                                                 \
    rk_m33d_##SUF((const T *)r0, (const T *)r1, (const T *)r2, (const T *)r3, W, cl, cr,  \
                  *(const T *)fill, (T *)o0, (T *)o1, (const T *)pf0, (const T *)pf1,   \
                  (T *)pw0, (T *)pw1)

/* Two output rows of the in-place 3x3 median (see rk_m33d_ in _rank_impl.h);
 * pf0 and pf1 are rows to prefetch (those the next pair adds), pw0 and pw1
 * output rows to prefetch for writing (the next pair's). */
static void rk_m33d_rows(int tcode, const void *r0, const void *r1, const void *r2,
                         const void *r3, Py_ssize_t W, Py_ssize_t cl, Py_ssize_t cr,
                         const void *fill, void *o0, void *o1, const void *pf0,
                         const void *pf1, void *pw0, void *pw1)
{
    RK_DISPATCH(RK_M33D(uint8_t, u8), RK_M33D(int8_t, i8), RK_M33D(uint16_t, u16),
                RK_M33D(int16_t, i16), RK_M33D(uint32_t, u32), RK_M33D(int32_t, i32),
                RK_M33D(uint64_t, u64), RK_M33D(int64_t, i64), RK_M33D(float, f32),
                RK_M33D(double, f64))
}

/* One output row of the in-place 3x3 median of a float image holding NaN
 * (see rk_m33n_ in _rank_impl.h); omit 0: 'propagate', 1: 'omit'; pf0,
 * pf1 rows to prefetch, pw0, pw1 output rows to prefetch for writing. */
static void rk_m33n_row(int tcode, const void *r0, const void *r1, const void *r2,
                        Py_ssize_t W, Py_ssize_t cl, Py_ssize_t cr, const void *fill, void *o,
                        int omit, const void *pf0, const void *pf1, void *pw0, void *pw1)
{
    if (tcode == RK_F32)
        rk_m33n_f32((const float *)r0, (const float *)r1, (const float *)r2, W, cl, cr,
                    *(const float *)fill, (float *)o, omit, (const float *)pf0,
                    (const float *)pf1, (float *)pw0, (float *)pw1);
    else if (tcode == RK_F64)
        rk_m33n_f64((const double *)r0, (const double *)r1, (const double *)r2, W, cl, cr,
                    *(const double *)fill, (double *)o, omit, (const double *)pf0,
                    (const double *)pf1, (double *)pw0, (double *)pw1);
}

/* Output rows y and y + 1 of the in-place 3x3 median of a float image
 * holding NaN (see rk_m33n2_ in _rank_impl.h); arguments as rk_m33d_rows,
 * omit as rk_m33n_row. */
static void rk_m33n_rows(int tcode, const void *r0, const void *r1, const void *r2,
                         const void *r3, Py_ssize_t W, Py_ssize_t cl, Py_ssize_t cr,
                         const void *fill, void *o0, void *o1, int omit, const void *pf0,
                         const void *pf1, void *pw0, void *pw1)
{
    if (tcode == RK_F32)
        rk_m33n2_f32((const float *)r0, (const float *)r1, (const float *)r2,
                     (const float *)r3, W, cl, cr, *(const float *)fill, (float *)o0,
                     (float *)o1, omit, (const float *)pf0, (const float *)pf1,
                     (float *)pw0, (float *)pw1);
    else if (tcode == RK_F64)
        rk_m33n2_f64((const double *)r0, (const double *)r1, (const double *)r2,
                     (const double *)r3, W, cl, cr, *(const double *)fill, (double *)o0,
                     (double *)o1, omit, (const double *)pf0, (const double *)pf1,
                     (double *)pw0, (double *)pw1);
}

#define RK_M55D(T, SUF)                                                                 \
    rk_m55d_##SUF((const T *)r[0], (const T *)r[1], (const T *)r[2], (const T *)r[3],      \
                  (const T *)r[4], (const T *)r[5], W, cm, *(const T *)fill, (T *)o0,      \
                  (T *)o1, mode, (const T *)r[6], (const T *)r[7], (T *)pw[0], (T *)pw[1])

/* Two output rows of the in-place 5x5 median (see rk_m55d_ in _rank_impl.h);
 * mode 1 ('propagate') and 2 ('omit') for float images holding NaN.  r[0]
 * .. r[5] are the rows read, r[6] and r[7] rows to prefetch, pw[0] and
 * pw[1] output rows to prefetch for writing. */
static void rk_m55d_rows(int tcode, const void *const *r, Py_ssize_t W, const Py_ssize_t *cm,
                         const void *fill, void *o0, void *o1, int mode, void *const *pw)
{
    RK_DISPATCH(RK_M55D(uint8_t, u8), RK_M55D(int8_t, i8), RK_M55D(uint16_t, u16),
                RK_M55D(int16_t, i16), RK_M55D(uint32_t, u32), RK_M55D(int32_t, i32),
                RK_M55D(uint64_t, u64), RK_M55D(int64_t, i64), RK_M55D(float, f32),
                RK_M55D(double, f64))
}

static int rk_has_nan(int tcode, const void *a, Py_ssize_t n)
{
    if (tcode == RK_F32) return rk_has_nan_f32((const float *)a, n);
    if (tcode == RK_F64) return rk_has_nan_f64((const double *)a, n);
    return 0;
}

/* Sliding histogram (Huang's algorithm) for 8-bit data and any footprint.
 * Moving one pixel right adds the ne 'enter' points and removes the nl
 * 'leave' points of the footprint; the answer v is tracked together with
 * lt = number of window values below v, so each step costs the edge points
 * plus a short walk.  flip = 0x80 maps int8 to the unsigned order. */
static void rk_hist8_row(const uint8_t *P, const Py_ssize_t *offs, Py_ssize_t K,
                         const Py_ssize_t *enter, Py_ssize_t ne, const Py_ssize_t *leave,
                         Py_ssize_t nl, Py_ssize_t W, Py_ssize_t r, unsigned flip,
                         uint8_t *out, int32_t *hist)
{
    Py_ssize_t x, k, lt = 0;
    int v = 0;
    memset(hist, 0, 256 * sizeof(int32_t));
    for (k = 0; k < K; k++) hist[P[offs[k]] ^ flip]++;
    while (lt + hist[v] <= r) { lt += hist[v]; v++; }
    for (x = 0; x < W; x++) {
        const uint8_t *q;
        out[x] = (uint8_t)(v ^ flip);
        if (x + 1 == W) break;
        q = P + x;
        for (k = 0; k < ne; k++) {
            int a = q[1 + enter[k]] ^ flip;
            hist[a]++;
            lt += a < v;
        }
        for (k = 0; k < nl; k++) {
            int b = q[leave[k]] ^ flip;
            hist[b]--;
            lt -= b < v;
        }
        while (lt > r) { v--; lt -= hist[v]; }
        while (lt + hist[v] <= r) { lt += hist[v]; v++; }
    }
}

/* The same for 16-bit data with a two-level histogram: 256 coarse bins of
 * 256 values.  The coarse bin of the answer is tracked as above; inside it
 * the fine position is walked from the previous answer when the coarse bin
 * did not change, else found by a scan of that bin. */
static void rk_hist16_row(const uint16_t *P, const Py_ssize_t *offs, Py_ssize_t K,
                          const Py_ssize_t *enter, Py_ssize_t ne, const Py_ssize_t *leave,
                          Py_ssize_t nl, Py_ssize_t W, Py_ssize_t r, unsigned flip,
                          uint16_t *out, int32_t *hist, int32_t *coarse)
{
    Py_ssize_t x, k, clt = 0, lt;
    int cb = 0, v, prev_cb;
    /* hist and coarse arrive zeroed and are left zeroed (the last window
     * is removed at the end), which is cheaper than clearing 256 KiB. */
    for (k = 0; k < K; k++) {
        int a = P[offs[k]] ^ flip;
        hist[a]++;
        coarse[a >> 8]++;
    }
    while (clt + coarse[cb] <= r) { clt += coarse[cb]; cb++; }
    v = cb << 8;
    lt = clt;
    while (lt + hist[v] <= r) { lt += hist[v]; v++; }
    for (x = 0; x < W; x++) {
        const uint16_t *q;
        out[x] = (uint16_t)(v ^ flip);
        if (x + 1 == W) {
            for (k = 0; k < K; k++) {
                int a = P[x + offs[k]] ^ flip;
                hist[a]--;
                coarse[a >> 8]--;
            }
            break;
        }
        q = P + x;
        for (k = 0; k < ne; k++) {
            int a = q[1 + enter[k]] ^ flip;
            hist[a]++;
            coarse[a >> 8]++;
            clt += (a >> 8) < cb;
            lt += a < v;
        }
        for (k = 0; k < nl; k++) {
            int b = q[leave[k]] ^ flip;
            hist[b]--;
            coarse[b >> 8]--;
            clt -= (b >> 8) < cb;
            lt -= b < v;
        }
        prev_cb = cb;
        while (clt > r) { cb--; clt -= coarse[cb]; }
        while (clt + coarse[cb] <= r) { clt += coarse[cb]; cb++; }
        if (cb == prev_cb) {
            /* lt counts values below v, which lies in bin cb: walk. */
            while (lt > r) { v--; lt -= hist[v]; }
            while (lt + hist[v] <= r) { lt += hist[v]; v++; }
        } else {
            v = cb << 8;
            lt = clt;
            while (lt + hist[v] <= r) { lt += hist[v]; v++; }
        }
    }
}

/* Rank of a full kh x kw box on 8-bit data (Perreault and Hebert's
 * column histograms with a two-level count): each padded column keeps a
 * 256-bin histogram (and a 16-bin coarse one) of its kh rows, updated by
 * one value in and one out per row; the window's histogram is the sum of
 * kw column histograms, updated by one column in and one out per pixel
 * (whole-histogram adds the compiler vectorises).  The answer is found by
 * counting: the coarse bin whose running total passes rank, then the fine
 * bin inside it.  One work unit is rows [y0, y1) by output columns [xs, xe)
 * of a plane (P: padded plane, row stride ps; out: row stride os); col and
 * ccol hold (xe - xs + kw - 1) column histograms.  flip = 0x80 maps int8 to
 * the unsigned order.  Counts fit in 16 bits (kh * kw <= 65535). */
#if defined(__AVX2__)
#include <immintrin.h>
/* Number of leading bins of h[0..15] whose running total is <= t. */
static inline int rk_count16(const uint16_t *h, int t, int *total_before)
{
    __m256i x = _mm256_loadu_si256((const __m256i *)h), carry;
    int n;
    uint16_t pre[16];
    x = _mm256_add_epi16(x, _mm256_slli_si256(x, 2));
    x = _mm256_add_epi16(x, _mm256_slli_si256(x, 4));
    x = _mm256_add_epi16(x, _mm256_slli_si256(x, 8));
    carry = _mm256_permute2x128_si256(x, x, 0x08);
    carry = _mm256_shuffle_epi8(carry, _mm256_set1_epi16(0x0F0E));
    x = _mm256_add_epi16(x, carry);
    n = __builtin_popcount((unsigned)_mm256_movemask_epi8(
            _mm256_cmpeq_epi16(_mm256_min_epu16(x, _mm256_set1_epi16((short)t)), x))) >> 1;
    _mm256_storeu_si256((__m256i *)pre, x);
    *total_before = n ? pre[n - 1] : 0;
    return n;
}
#else
static inline int rk_count16(const uint16_t *h, int t, int *total_before)
{
    int n = 0, cum = 0;
    while (n < 16 && cum + h[n] <= t) cum += h[n++];
    *total_before = cum;
    return n;
}
#endif

static void rk_box8_unit(const uint8_t *P, Py_ssize_t ps, Py_ssize_t y0, Py_ssize_t y1,
                         Py_ssize_t xs, Py_ssize_t xe, Py_ssize_t kh, Py_ssize_t kw,
                         Py_ssize_t rank, unsigned flip, uint8_t *out, Py_ssize_t os,
                         uint16_t *col, uint16_t *ccol)
{
    Py_ssize_t ncol = xe - xs + kw - 1, j, i, y, x;
    uint16_t k[256] __attribute__((aligned(64)));
    uint16_t kc[16] __attribute__((aligned(32)));
    memset(col, 0, (size_t)ncol * 256 * sizeof(uint16_t));
    memset(ccol, 0, (size_t)ncol * 16 * sizeof(uint16_t));
    for (i = y0; i < y0 + kh; i++) {
        const uint8_t *row = P + i * ps + xs;
        for (j = 0; j < ncol; j++) {
            unsigned v = row[j] ^ flip;
            col[j * 256 + v]++;
            ccol[j * 16 + (v >> 4)]++;
        }
    }
    for (y = y0; y < y1; y++) {
        if (y > y0) {
            const uint8_t *rout = P + (y - 1) * ps + xs, *rin = P + (y + kh - 1) * ps + xs;
            for (j = 0; j < ncol; j++) {
                unsigned a = rout[j] ^ flip, b = rin[j] ^ flip;
                col[j * 256 + a]--;
                ccol[j * 16 + (a >> 4)]--;
                col[j * 256 + b]++;
                ccol[j * 16 + (b >> 4)]++;
            }
        }
        memcpy(k, col, sizeof(k));
        memcpy(kc, ccol, sizeof(kc));
        for (j = 1; j < kw; j++) {
            const uint16_t *restrict a = col + j * 256, *restrict ac = ccol + j * 16;
            for (i = 0; i < 256; i++) k[i] = (uint16_t)(k[i] + a[i]);
            for (i = 0; i < 16; i++) kc[i] = (uint16_t)(kc[i] + ac[i]);
        }
        for (x = xs;; x++) {
            int below, below_f, c, f;
            const uint16_t *restrict a, *restrict b, *restrict ac, *restrict bc;
            c = rk_count16(kc, (int)rank, &below);
            f = rk_count16(k + 16 * c, (int)rank - below, &below_f);
            out[y * os + x] = (uint8_t)((16 * c + f) ^ flip);
            if (x + 1 == xe) break;
            a = col + (x - xs + kw) * 256;
            b = col + (x - xs) * 256;
            ac = ccol + (x - xs + kw) * 16;
            bc = ccol + (x - xs) * 16;
            for (i = 0; i < 256; i++) k[i] = (uint16_t)(k[i] + a[i] - b[i]);
            for (i = 0; i < 16; i++) kc[i] = (uint16_t)(kc[i] + ac[i] - bc[i]);
        }
    }
}

/* One row of the padded image.  prow indexes the padded leading axes
 * (shape pshape[0..D-2]); maps[mapoff[a] + c] is the source index of
 * padded position c on axis a, or -1 for the fill value; sstride are the
 * source strides in bytes (contiguous along the last axis). */
static void rk_pad_row(const char *src, char *dst, Py_ssize_t prow, int D,
                       const Py_ssize_t *pshape, const Py_ssize_t *sstride,
                       const Py_ssize_t *maps, const Py_ssize_t *mapoff,
                       Py_ssize_t n_last, Py_ssize_t before_last, Py_ssize_t is,
                       const char *fill)
{
    Py_ssize_t rem = prow, off = 0, c, m, PL = pshape[D - 1];
    const Py_ssize_t *ml = maps + mapoff[D - 1];
    const char *row;
    int a, isfill = 0;
    for (a = D - 2; a >= 0; a--) {
        c = rem % pshape[a];
        rem /= pshape[a];
        m = maps[mapoff[a] + c];
        if (m < 0) isfill = 1;
        else off += m * sstride[a];
    }
    if (isfill) {
        for (c = 0; c < PL; c++) memcpy(dst + c * is, fill, (size_t)is);
        return;
    }
    row = src + off;
    for (c = 0; c < before_last && c < PL; c++) {
        m = ml[c];
        memcpy(dst + c * is, m < 0 ? fill : row + m * is, (size_t)is);
    }
    memcpy(dst + before_last * is, row, (size_t)(n_last * is));
    for (c = before_last + n_last; c < PL; c++) {
        m = ml[c];
        memcpy(dst + c * is, m < 0 ? fill : row + m * is, (size_t)is);
    }
}

#endif
