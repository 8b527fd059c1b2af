/* Grey bilateral filter that evaluates each weight once for the two pixels
 * it joins (private; see bilateral_sym in _bilateral.pyx).  One kernel for
 * uint8 planes (table weights) and float32 planes (computed weights).
 *
 * The weight of the pair (p, p + o) is sw_o * g(|I(p + o) - I(p)|), the
 * same number whether p looks at p + o (offset o) or p + o looks back at
 * p (offset -o, whose spatial weight is equal on the circular window).  So
 * only the half window (dy > 0, or dy == 0 and dx > 0) is evaluated: the
 * weights of source row ys are kept for r + 1 rows in a ring, and output
 * row y sums its centre (weight 1), its forward pairs (weights of row y)
 * and its backward pairs (weights of rows y - dy, read at x - dx).
 *
 * Weights: uint8 planes take sw_o * cw[|d|] (cw: a table of the colour
 * weights); float32 planes take 2^(ls2_o - d^2 * cc2), with the spatial and
 * colour log-weights given in base 2 (ls2 = ls * log2(e), cc2 = cc *
 * log2(e)), from imfilt_bil_exp2_16 (about 1.3 ulp).  Every weight comes
 * from one function, imfilt_bil_w16, so a pair has the same bits whichever
 * pass evaluates it.  For nan_policy='omit' the float32 kernel gives a
 * pair with a NaN end weight 0 and reads the neighbours' values from xq,
 * the plane with its NaNs replaced by 0 (so a left-out neighbour adds
 * exactly 0); centres come from x, so a NaN centre gives NaN.  Without
 * omit, xq is x, and a NaN sample enters the sums of every window holding
 * it (a NaN result), which is nan_policy='propagate'.
 *
 * Work is cut into units of BIL_BAND rows by one column tile (both fixed by
 * the image and the radius, not by the thread count).  A unit first
 * evaluates the weights of the r rows above it that reach into it, then
 * its own rows (a block's forward pass evaluates the weights of its pairs
 * and keeps them in the ring; the columns beside the tile are filled in
 * first), so every output is the same sequence of operations for any
 * thread count, tiling or band of rows.  The sums of an output run in a
 * fixed order: the centre (weight 1) and the forward pairs in tap order
 * into one sum, the backward pairs in reverse tap order into another (the
 * two interleaved), then their total; each product w * v is added with one
 * rounding (FMA).  Pixels go in blocks of BIL_LANES whose last block
 * overlaps its predecessor instead of a scalar tail.  Taps come by rows
 * (dy = 0 first): a block reads its row's own weights backward only after
 * the forward pass stored them.
 *
 * x: padded plane (pixel (y, x) at x[(y + r) * Wp + x + r], -r <= y < H + r,
 * -r <= x < W + r); hdy/hdx/hsw: the nh half-window taps and their spatial
 * weights (uint8) or base-2 log-weights (float32); ring:
 * (r + 1) * nh * (TW + 2r) floats; out: row stride ostride.
 */
#ifndef IMFILT_BILATERAL_SYM_H
#define IMFILT_BILATERAL_SYM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE4_1__)
#include <immintrin.h>
#endif
#include "_fma.h"

#define BIL_BAND 64
#define BIL_LANES 32
#define BIL_MAX_RADIUS 8

/* pixel kinds */
#define BIL_U8 0
#define BIL_F32 1

#if defined(__GNUC__) || defined(__clang__)
#define BIL_INLINE static inline __attribute__((always_inline))
#else
#define BIL_INLINE static __forceinline
#endif

typedef float imfilt_v16f __attribute__((vector_size(64)));
/* Sixteen samples as floats: float32 as they are; uint8 by zero extension,
 * then a conversion that is exact for 0..255 (the value does not depend on
 * the instruction set). */
BIL_INLINE void imfilt_bil_tof(int kind, imfilt_v16f *dst, const void *base, Py_ssize_t at)
{
    const uint8_t *p = (const uint8_t *)base + at;
    if (kind == BIL_F32) {
        memcpy(dst, (const float *)base + at, sizeof(*dst));
        return;
    }
    {
#if defined(__AVX512F__)
        *dst = (imfilt_v16f)_mm512_cvtepi32_ps(
            _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)));
#elif defined(__AVX2__)
        union { imfilt_v16f v; __m256 h[2]; } u;
        u.h[0] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)));
        u.h[1] = _mm256_cvtepi32_ps(
            _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 8))));
        *dst = u.v;
#elif defined(__SSE4_1__)
        union { imfilt_v16f v; __m128 q[4]; } u;
        int k;
        for (k = 0; k < 4; k++) {
            int32_t b;
            memcpy(&b, p + 4 * k, 4);
            u.q[k] = _mm_cvtepi32_ps(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(b)));
        }
        *dst = u.v;
#else
        imfilt_v16f v;
        int k;
        for (k = 0; k < 16; k++) v[k] = (float)p[k];
        *dst = v;
#endif
    }
}

/* a * b + c per lane, rounded once (the FMA instruction, else C's fmaf). */
BIL_INLINE imfilt_v16f imfilt_bil_fma16(imfilt_v16f a, imfilt_v16f b, imfilt_v16f c)
{
#if defined(__AVX512F__)
    return (imfilt_v16f)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif defined(__FMA__)
    union { imfilt_v16f v; __m256 h[2]; } ua, ub, uc;
    ua.v = a; ub.v = b; uc.v = c;
    ua.h[0] = _mm256_fmadd_ps(ua.h[0], ub.h[0], uc.h[0]);
    ua.h[1] = _mm256_fmadd_ps(ua.h[1], ub.h[1], uc.h[1]);
    return ua.v;
#else
    int k;
    for (k = 0; k < 16; k++) a[k] = imfilt_fmaf(a[k], b[k], c[k]);
    return a;
#endif
}

typedef int32_t imfilt_v16i __attribute__((vector_size(64)));
typedef uint32_t imfilt_v16u __attribute__((vector_size(64)));

/* 2^t on sixteen lanes, t <= 0 (t below -125, -inf or NaN: 0, as the
 * exact weight of a huge difference rounds to in float32's normal range).
 * t = n + f with n the nearest integer (ties to even) and |f| <= 1/2; 2^f
 * by a degree-5 polynomial (relative error 1.6e-7) with one rounding per
 * step (FMA), times 2^n (exact).  AVX-512 rounds and scales with its own
 * instructions; other targets take n from the 1.5 * 2^23 rounding
 * constant, whose bits then hold it, and add n to the exponent field:
 * the same numbers, bit for bit. */
BIL_INLINE imfilt_v16f imfilt_bil_exp2_16(imfilt_v16f t)
{
    const imfilt_v16f zero = {0};
    imfilt_v16f n, f, p;
    imfilt_v16i normal = t >= -125.0f;     /* false for NaN: those lanes give 0 */
#if defined(__AVX512F__)
    t = (imfilt_v16f)_mm512_max_ps((__m512)t, _mm512_set1_ps(-125.0f));  /* NaN -> -125 */
    n = (imfilt_v16f)_mm512_roundscale_ps((__m512)t, _MM_FROUND_TO_NEAREST_INT
                                                     | _MM_FROUND_NO_EXC);
    f = t - n;
#else
    imfilt_v16i keep = t >= -125.0f;
    t = (imfilt_v16f)(((imfilt_v16i)t & keep) | ((imfilt_v16i)(zero - 125.0f) & ~keep));
    n = t + 12582912.0f;              /* 1.5 * 2^23 + round(t) */
    f = t - (n - 12582912.0f);
#endif
    p = imfilt_bil_fma16(zero + 1.3264708686619997e-3f, f, zero + 9.671511128544807e-3f);
    p = imfilt_bil_fma16(p, f, zero + 5.550733953714371e-2f);
    p = imfilt_bil_fma16(p, f, zero + 2.4022242426872253e-1f);
    p = imfilt_bil_fma16(p, f, zero + 6.931470036506653e-1f);
    p = imfilt_bil_fma16(p, f, zero + 1.0f);
#if defined(__AVX512F__)
    p = (imfilt_v16f)_mm512_scalef_ps((__m512)p, (__m512)n);
#else
    p = (imfilt_v16f)((imfilt_v16u)p + ((imfilt_v16u)n << 23));
#endif
    return (imfilt_v16f)((imfilt_v16i)p & normal);
}

/* The weights of the sixteen pairs (src + i, dst + i) of plane x (float32:
 * 2^(s - d^2 * cc2), d = x[dst + i] - x[src + i]; the same numbers for every
 * caller).  *qf (if not NULL): the neighbours x[dst + i] as floats. */
BIL_INLINE imfilt_v16f imfilt_bil_w16(int kind, int omit, const void *x, Py_ssize_t src,
                                      Py_ssize_t dst, float s, const float *cw, float cc2,
                                      imfilt_v16f *qf)
{
    const imfilt_v16f zero = {0};
    if (kind == BIL_F32) {
        imfilt_v16f q, c, d, w;
        imfilt_bil_tof(kind, &q, x, dst);
        imfilt_bil_tof(kind, &c, x, src);
        if (qf) *qf = q;
        d = q - c;
        w = imfilt_bil_exp2_16(imfilt_bil_fma16(-(d * d), zero + cc2, zero + s));
        if (omit) w = (imfilt_v16f)((imfilt_v16i)w & (d == d));
        return w;
    }
    {
        const uint8_t *a = (const uint8_t *)x + dst, *b = (const uint8_t *)x + src;
        if (qf) imfilt_bil_tof(kind, qf, x, dst);
#if defined(__AVX512F__)
        __m512i ia = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)a));
        __m512i ib = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)b));
        __m512 g = _mm512_i32gather_ps(_mm512_abs_epi32(_mm512_sub_epi32(ia, ib)), cw, 4);
        return (imfilt_v16f)_mm512_mul_ps(_mm512_set1_ps(s), g);
#elif defined(__AVX2__)
        union { imfilt_v16f v; __m256 h[2]; } u;
        int k;
        for (k = 0; k < 2; k++) {
            __m256i ia = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(a + 8 * k)));
            __m256i ib = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(b + 8 * k)));
            __m256 g = _mm256_i32gather_ps(cw, _mm256_abs_epi32(_mm256_sub_epi32(ia, ib)), 4);
            u.h[k] = _mm256_mul_ps(_mm256_set1_ps(s), g);
        }
        return u.v;
#else
        imfilt_v16f w;
        int k;
        (void)zero;
        for (k = 0; k < 16; k++) w[k] = s * cw[abs((int)a[k] - (int)b[k])];
        return w;
#endif
    }
}

/* 2^t for one float (for tests): lane 0 of imfilt_bil_exp2_16. */
static float imfilt_bil_exp2(float t)
{
    imfilt_v16f v = {0};
    v += t;
    return imfilt_bil_exp2_16(v)[0];
}

/* Weights of source row ys for the taps whose pairs end in rows >= ylo,
 * over the source columns [x0 + min(0, -dx), x1 + max(0, -dx)), or with
 * edges only over those outside [x0, x1). */
BIL_INLINE void imfilt_bil_sym_weights(int kind, int omit, const void *xv, Py_ssize_t Wp,
                                       Py_ssize_t r, Py_ssize_t ys, Py_ssize_t ylo,
                                       Py_ssize_t x0, Py_ssize_t x1, int edges,
                                       const int *hdy, const int *hdx, const float *hsw,
                                       Py_ssize_t nh, const float *cw, float cc2, float *ring,
                                       Py_ssize_t RW)
{
    Py_ssize_t t, i;
    float *row = ring + ((ys + r) % (r + 1)) * nh * RW - (x0 - r);
    for (t = 0; t < nh; t++) {
        int dy = hdy[t], dx = hdx[t];
        Py_ssize_t xa, xb;
        float *restrict w;
        float s = hsw[t];
        if (ys + dy < ylo) continue;
        xa = dx > 0 ? x0 - dx : x0;     /* x0 + min(0, -dx) */
        xb = dx > 0 ? x1 : x1 - dx;     /* x1 + max(0, -dx) */
        if (edges) {                    /* only the columns outside [x0, x1) */
            if (dx > 0) xb = x0;
            else xa = x1;
        }
        w = row + t * RW;
        i = xa;
        if (kind == BIL_F32) {
            /* sixteen at a time; a range under sixteen wide (an edge) is
             * widened into the tile, whose weights are the same numbers */
            Py_ssize_t sa = (ys + r) * Wp + r, da = sa + dy * Wp + dx;
            if (xb - xa < 16) {
                if (xb == xa) continue;
                if (dx > 0) xb = xa + 16;
                else xa = xb - 16;
            }
            for (i = xa;; i += 16) {
                imfilt_v16f v;
                if (i > xb - 16) i = xb - 16;
                v = imfilt_bil_w16(kind, omit, xv, sa + i, da + i, s, cw, cc2, NULL);
                memcpy(w + i, &v, sizeof(v));
                if (i == xb - 16) break;
            }
            continue;
        }
        {
            const uint8_t *restrict src = (const uint8_t *)xv + (ys + r) * Wp + r;
            const uint8_t *restrict dst = (const uint8_t *)xv + (ys + dy + r) * Wp + r + dx;
#if defined(__AVX512F__)
            /* Compilers tuned for generic x86-64 emulate the table lookup
             * with one extract and insert per lane; the gather instruction
             * does 16 lookups at once.  Same product per element, so the
             * same bits. */
            for (; i + 16 <= xb; i += 16) {
                __m512i a = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(dst + i)));
                __m512i b = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
                __m512 g = _mm512_i32gather_ps(_mm512_abs_epi32(_mm512_sub_epi32(a, b)), cw, 4);
                _mm512_storeu_ps(w + i, _mm512_mul_ps(_mm512_set1_ps(s), g));
            }
#elif defined(__AVX2__)
            for (; i + 8 <= xb; i += 8) {
                __m256i a = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(dst + i)));
                __m256i b = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(src + i)));
                __m256 g = _mm256_i32gather_ps(cw, _mm256_abs_epi32(_mm256_sub_epi32(a, b)), 4);
                _mm256_storeu_ps(w + i, _mm256_mul_ps(_mm256_set1_ps(s), g));
            }
#endif
            for (; i < xb; i++) w[i] = s * cw[abs((int)dst[i] - (int)src[i])];
        }
    }
}

/* Sixteen lanes: num += w * q (one rounding), den += w (w: floats, q:
 * samples at base[at]). */
#define BIL_ACC(num, den, wp, base, at)                                              \
    {                                                                                \
        imfilt_v16f w_, q_;                                                          \
        memcpy(&w_, (wp), sizeof(w_));                                               \
        imfilt_bil_tof(kind, &q_, (base), (at));                                     \
        num = imfilt_bil_fma16(w_, q_, num);                                         \
        den += w_;                                                                   \
    }

#define BIL_MAX_TAPS ((2 * BIL_MAX_RADIUS + 1) * (2 * BIL_MAX_RADIUS + 1) / 2)

/* Each output: forward sums (from the centre, weight 1) and backward sums
 * (from 0) in two sets of accumulators, then added: num = (centre +
 * sum_t fwd_t) + sum_t bwd_(nh-1-t), the same for den.  The forward pass of a
 * block evaluates the weights of its own pairs (in registers, then kept in
 * the ring for the rows below); the weight pass fills in the rows above the
 * band and the columns left and right of the tile. */
BIL_INLINE void imfilt_bil_sym_unit(int kind, int omit, const void *x, const void *xq,
                                    Py_ssize_t Wp, Py_ssize_t r, Py_ssize_t y0, Py_ssize_t y1,
                                    Py_ssize_t x0, Py_ssize_t x1, const int *hdy,
                                    const int *hdx, const float *hsw, Py_ssize_t nh,
                                    const float *cw, float cc2, float *ring, Py_ssize_t RW,
                                    float *out, Py_ssize_t ostride)
{
    Py_ssize_t ys, xb0, t, last = x1 - BIL_LANES;
    Py_ssize_t qo[BIL_MAX_TAPS];              /* sample offset of tap t */
    float *wf[BIL_MAX_TAPS];                  /* weights of tap t, forward (row ys) */
    const float *wb[BIL_MAX_TAPS];            /* and backward (row ys - dy, at x - dx) */
    for (t = 0; t < nh; t++) qo[t] = hdy[t] * Wp + hdx[t];
    for (ys = y0 - r; ys < y1; ys++) {
        imfilt_bil_sym_weights(kind, omit, x, Wp, r, ys, y0, x0, x1, ys >= y0, hdy, hdx, hsw,
                               nh, cw, cc2, ring, RW);
        if (ys < y0) continue;
        for (t = 0; t < nh; t++) {
            wf[t] = ring + ((ys + r) % (r + 1)) * nh * RW - (x0 - r) + t * RW;
            wb[t] = ring + ((ys - hdy[t] + r) % (r + 1)) * nh * RW - (x0 - r) + t * RW
                    - hdx[t];
        }
        for (xb0 = x0;; xb0 += BIL_LANES) {
            imfilt_v16f n0, n1, d0, d1, m0 = {0}, m1, e0, e1, o0, o1, c0, c1;
            Py_ssize_t c;
            if (xb0 > last) xb0 = last;
            c = (ys + r) * Wp + r + xb0;
            imfilt_bil_tof(kind, &c0, x, c);
            imfilt_bil_tof(kind, &c1, x, c + 16);
            n0 = c0;
            n1 = c1;
            m1 = e0 = e1 = m0;
            d0 = d1 = m0 + 1.0f;
            for (t = 0; t < nh; t++) {
                imfilt_v16f w0, w1, q0, q1;
                Py_ssize_t q = c + qo[t];
                w0 = imfilt_bil_w16(kind, omit, x, c, q, hsw[t], cw, cc2, &q0);
                w1 = imfilt_bil_w16(kind, omit, x, c + 16, q + 16, hsw[t], cw, cc2, &q1);
                memcpy(wf[t] + xb0, &w0, sizeof(w0));
                memcpy(wf[t] + xb0 + 16, &w1, sizeof(w1));
                if (omit) {
                    imfilt_bil_tof(kind, &q0, xq, q);
                    imfilt_bil_tof(kind, &q1, xq, q + 16);
                }
                n0 = imfilt_bil_fma16(w0, q0, n0);
                d0 += w0;
                n1 = imfilt_bil_fma16(w1, q1, n1);
                d1 += w1;
                {   /* a backward pair, last tap first: loads beside the
                     * forward pass's arithmetic, and the row's own taps
                     * (first in tap order) read long after their stores */
                    const float *v = wb[nh - 1 - t] + xb0;
                    Py_ssize_t p = c - qo[nh - 1 - t];
                    BIL_ACC(m0, e0, v, xq, p)
                    BIL_ACC(m1, e1, v + 16, xq, p + 16)
                }
            }
            o0 = (n0 + m0) / (d0 + e0);
            o1 = (n1 + m1) / (d1 + e1);
            memcpy(out + ys * ostride + xb0, &o0, sizeof(o0));
            memcpy(out + ys * ostride + xb0 + 16, &o1, sizeof(o1));
            if (xb0 == last) break;
        }
    }
}
#undef BIL_ACC

/* The two instances (the kind is a constant in each, so it folds away). */
static void imfilt_bil_sym_u8_unit(const uint8_t *x, Py_ssize_t Wp, Py_ssize_t r,
                                   Py_ssize_t y0, Py_ssize_t y1, Py_ssize_t x0, Py_ssize_t x1,
                                   const int *hdy, const int *hdx, const float *hsw,
                                   Py_ssize_t nh, const float *cw, float *ring, Py_ssize_t RW,
                                   float *out, Py_ssize_t ostride)
{
    imfilt_bil_sym_unit(BIL_U8, 0, x, x, Wp, r, y0, y1, x0, x1, hdy, hdx, hsw, nh, cw, 0.0f,
                        ring, RW, out, ostride);
}

static void imfilt_bil_sym_f32_unit(const float *x, const float *xq, int omit, Py_ssize_t Wp,
                                    Py_ssize_t r, Py_ssize_t y0, Py_ssize_t y1, Py_ssize_t x0,
                                    Py_ssize_t x1, const int *hdy, const int *hdx,
                                    const float *hls2, Py_ssize_t nh, float cc2, float *ring,
                                    Py_ssize_t RW, float *out, Py_ssize_t ostride)
{
    if (omit)
        imfilt_bil_sym_unit(BIL_F32, 1, x, xq, Wp, r, y0, y1, x0, x1, hdy, hdx, hls2, nh,
                            NULL, cc2, ring, RW, out, ostride);
    else
        imfilt_bil_sym_unit(BIL_F32, 0, x, x, Wp, r, y0, y1, x0, x1, hdy, hdx, hls2, nh,
                            NULL, cc2, ring, RW, out, ostride);
}

#endif
