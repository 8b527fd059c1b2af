/* Grey uint8 bilateral filter that evaluates each weight once for the two
 * pixels it joins (private; see bilateral_lut_sym in _bilateral.pyx).
 *
 * The weight of the pair (p, p + o) is sw_o * cw[|I(p + o) - I(p)|], the
 * same number whether p looks at p + o (offset o) or p + o looks back at
 * p (offset -o, whose spatial weight is equal on the circular window).  So
 * only the half window (dy > 0, or dy == 0 and dx > 0) is evaluated: the
 * weights of source row ys are kept for r + 1 rows in a ring, and output
 * row y sums its centre (weight 1), its forward pairs (weights of row y)
 * and its backward pairs (weights of rows y - dy, read at x - dx).
 *
 * Work is cut into units of BIL_BAND rows by one column tile (both fixed by
 * the image and the radius, not by the thread count).  A unit first
 * evaluates the weights of the r rows above it that reach into it, then
 * its own rows, so every output is the same sequence of operations for any
 * thread count.  The sums of an output run in a fixed order: centre,
 * forward pairs, backward pairs (tap order), in blocks of BIL_LANES pixels
 * whose last block overlaps its predecessor instead of a scalar tail.
 *
 * x: padded plane (pixel (y, x) at x[(y + r) * Wp + x + r], -r <= y < H + r,
 * -r <= x < W + r); hdy/hdx/hsw: the nh half-window taps and their spatial
 * weights; cw: colour weights by absolute difference; ring:
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

#define BIL_BAND 64
#define BIL_LANES 32

static inline float *imfilt_bil_ring(float *ring, Py_ssize_t ys, Py_ssize_t r, Py_ssize_t nh,
                                     Py_ssize_t t, Py_ssize_t RW)
{
    return ring + (((ys + r) % (r + 1)) * nh + t) * RW;
}

/* Weights of source row ys for the taps whose pairs end in rows >= ylo,
 * over the source columns [x0 + min(0, -dx), x1 + max(0, -dx)). */
static void imfilt_bil_sym_weights(const uint8_t *x, Py_ssize_t Wp, Py_ssize_t r,
                                   Py_ssize_t ys, Py_ssize_t ylo, Py_ssize_t x0, Py_ssize_t x1,
                                   const int *hdy, const int *hdx, const float *hsw,
                                   Py_ssize_t nh, const float *cw, float *ring, Py_ssize_t RW)
{
    Py_ssize_t t, i;
    for (t = 0; t < nh; t++) {
        int dy = hdy[t], dx = hdx[t];
        Py_ssize_t xa, xb;
        const uint8_t *restrict src, *restrict dst;
        float *restrict w;
        float s = hsw[t];
        if (ys + dy < ylo) continue;
        xa = dx > 0 ? x0 - dx : x0;     /* x0 + min(0, -dx) */
        xb = dx > 0 ? x1 : x1 - dx;     /* x1 + max(0, -dx) */
        src = x + (ys + r) * Wp + r;
        dst = x + (ys + dy + r) * Wp + r + dx;
        w = imfilt_bil_ring(ring, ys, r, nh, t, RW) - (x0 - r);
        i = xa;
#if defined(__AVX512F__)
        /* Compilers tuned for generic x86-64 emulate the table lookup with
         * one extract and insert per lane; the gather instruction does 16
         * lookups at once.  Same product per element, so the same bits. */
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

typedef float imfilt_v16f __attribute__((vector_size(64)));
/* Sixteen uint8 samples as floats (zero extension, then a conversion that
 * is exact for 0..255: the value does not depend on the instruction set). */
static inline void imfilt_bil_tof(imfilt_v16f *dst, const uint8_t *p)
{
#if defined(__AVX512F__)
    *dst = (imfilt_v16f)_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)));
#elif defined(__AVX2__)
    union { imfilt_v16f v; __m256 h[2]; } u;
    u.h[0] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)));
    u.h[1] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 8))));
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
#define BIL_TOF(v, p) imfilt_bil_tof(&(v), (p))

/* Sixteen lanes: num += w * q, den += w (w: floats, q: uint8 samples). */
#define BIL_ACC(num, den, wp, qp)                                                    \
    {                                                                                \
        imfilt_v16f w_, q_;                                                          \
        memcpy(&w_, (wp), sizeof(w_));                                               \
        BIL_TOF(q_, qp);                                                             \
        num += w_ * q_;                                                              \
        den += w_;                                                                   \
    }

static void imfilt_bil_sym_u8_unit(const uint8_t *x, Py_ssize_t Wp, Py_ssize_t r,
                                   Py_ssize_t y0, Py_ssize_t y1, Py_ssize_t x0, Py_ssize_t x1,
                                   const int *hdy, const int *hdx, const float *hsw,
                                   Py_ssize_t nh, const float *cw, float *ring, Py_ssize_t RW,
                                   float *out, Py_ssize_t ostride)
{
    Py_ssize_t ys, xb0, t, last = x1 - BIL_LANES;
    for (ys = y0 - r; ys < y1; ys++) {
        imfilt_bil_sym_weights(x, Wp, r, ys, y0, x0, x1, hdy, hdx, hsw, nh, cw, ring, RW);
        if (ys < y0) continue;
        for (xb0 = x0;; xb0 += BIL_LANES) {
            imfilt_v16f n0, n1, d0, d1, o0, o1;
            const uint8_t *c;
            if (xb0 > last) xb0 = last;
            c = x + (ys + r) * Wp + r + xb0;
            BIL_TOF(n0, c);
            BIL_TOF(n1, c + 16);
            d0 = n0 * 0.0f + 1.0f;
            d1 = d0;
            for (t = 0; t < nh; t++) {
                Py_ssize_t dy = hdy[t], dx = hdx[t];
                const float *w = imfilt_bil_ring(ring, ys, r, nh, t, RW) - (x0 - r) + xb0;
                const uint8_t *q = c + dy * Wp + dx;
                BIL_ACC(n0, d0, w, q)
                BIL_ACC(n1, d1, w + 16, q + 16)
            }
            for (t = 0; t < nh; t++) {
                Py_ssize_t dy = hdy[t], dx = hdx[t];
                const float *w =
                    imfilt_bil_ring(ring, ys - dy, r, nh, t, RW) - (x0 - r) + xb0 - dx;
                const uint8_t *q = c - dy * Wp - dx;
                BIL_ACC(n0, d0, w, q)
                BIL_ACC(n1, d1, w + 16, q + 16)
            }
            o0 = n0 / d0;
            o1 = n1 / d1;
            memcpy(out + ys * ostride + xb0, &o0, sizeof(o0));
            memcpy(out + ys * ostride + xb0 + 16, &o1, sizeof(o1));
            if (xb0 == last) break;
        }
    }
}
#undef BIL_ACC
#undef BIL_TOF

#endif
