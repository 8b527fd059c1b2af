/*
 * Register-blocked correlation micro-kernel used by _conv.pyx.
 *
 *     o[j] = sum_{a < k0, b < k1} rows[a][c0 + j + b] * w[a * k1 + b],  0 <= j < n
 *
 * Why C: the loop must keep its accumulators in vector registers for the
 * whole tap loop.  Written as a Cython loop over a local array, GCC keeps
 * them in registers in some inlining contexts and spills them to the stack
 * in others (measured: 1.5-2x slower).  GCC/Clang vector types make the
 * register blocking explicit; the compiler maps them to whatever the target
 * has (4 x zmm with AVX-512, 8 x ymm with AVX2, 16 x xmm with SSE2).
 *
 * Every output element sees exactly the same operation sequence -- start at
 * zero, add taps in row-major order -- in the vector tiles and in the scalar
 * remainder, so results do not depend on where a row starts or on how rows
 * are split between threads.
 */
#ifndef IMFILT_MICROKERNEL_H
#define IMFILT_MICROKERNEL_H

#include <stddef.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define IMFILT_HAVE_VECTOR_EXT 1
#else
#define IMFILT_HAVE_VECTOR_EXT 0
#endif

#if IMFILT_HAVE_VECTOR_EXT
typedef float imfilt_v16f __attribute__((vector_size(64)));
typedef double imfilt_v8d __attribute__((vector_size(64)));

static inline imfilt_v16f imfilt_load_v16f(const float *p) {
    imfilt_v16f v;
    memcpy(&v, p, sizeof v); /* unaligned load */
    return v;
}
static inline imfilt_v8d imfilt_load_v8d(const double *p) {
    imfilt_v8d v;
    memcpy(&v, p, sizeof v);
    return v;
}
#endif

/* Scalar path: any column stride s and tap dilation d. */
#define IMFILT_DEFINE_SCALAR_TAIL(NAME, T)                                        \
    static void NAME(T *o, ptrdiff_t n, const T *const *rows, ptrdiff_t c0,       \
                     const T *w, ptrdiff_t k0, ptrdiff_t k1, ptrdiff_t s,         \
                     ptrdiff_t d)                                                 \
    {                                                                             \
        for (ptrdiff_t j = 0; j < n; j++) {                                       \
            T acc = 0;                                                            \
            for (ptrdiff_t a = 0; a < k0; a++) {                                  \
                const T *p = rows[a] + c0 + j * s;                                \
                const T *wr = w + a * k1;                                         \
                for (ptrdiff_t b = 0; b < k1; b++)                                \
                    acc += p[b * d] * wr[b];                                      \
            }                                                                     \
            o[j] = acc;                                                           \
        }                                                                         \
    }

IMFILT_DEFINE_SCALAR_TAIL(imfilt_tail_f32, float)
IMFILT_DEFINE_SCALAR_TAIL(imfilt_tail_f64, double)

#if IMFILT_HAVE_VECTOR_EXT
/* Four vectors of accumulators per tile: 64 floats or 32 doubles.
 * Unit column stride only (dilation d spaces the taps); other strides take
 * the scalar path. */
#define IMFILT_DEFINE_TILES(NAME, TAIL, T, V, LOAD, LANES)                        \
    static void NAME(T *o, ptrdiff_t n, const T *const *rows, ptrdiff_t c0,       \
                     const T *w, ptrdiff_t k0, ptrdiff_t k1, ptrdiff_t s,         \
                     ptrdiff_t d)                                                 \
    {                                                                             \
        ptrdiff_t j = 0;                                                          \
        if (s != 1) {                                                             \
            TAIL(o, n, rows, c0, w, k0, k1, s, d);                                \
            return;                                                               \
        }                                                                         \
        for (; j + 4 * LANES <= n; j += 4 * LANES) {                              \
            V s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};                             \
            for (ptrdiff_t a = 0; a < k0; a++) {                                  \
                const T *p = rows[a] + c0 + j;                                    \
                const T *wr = w + a * k1;                                         \
                for (ptrdiff_t b = 0; b < k1; b++) {                              \
                    const T wv = wr[b];                                           \
                    const T *q = p + b * d;                                       \
                    s0 += LOAD(q) * wv;                                           \
                    s1 += LOAD(q + LANES) * wv;                                   \
                    s2 += LOAD(q + 2 * LANES) * wv;                               \
                    s3 += LOAD(q + 3 * LANES) * wv;                               \
                }                                                                 \
            }                                                                     \
            memcpy(o + j, &s0, sizeof s0);                                        \
            memcpy(o + j + LANES, &s1, sizeof s1);                                \
            memcpy(o + j + 2 * LANES, &s2, sizeof s2);                            \
            memcpy(o + j + 3 * LANES, &s3, sizeof s3);                            \
        }                                                                         \
        for (; j + LANES <= n; j += LANES) {                                      \
            V s0 = {0};                                                           \
            for (ptrdiff_t a = 0; a < k0; a++) {                                  \
                const T *p = rows[a] + c0 + j;                                    \
                const T *wr = w + a * k1;                                         \
                for (ptrdiff_t b = 0; b < k1; b++)                                \
                    s0 += LOAD(p + b * d) * wr[b];                                \
            }                                                                     \
            memcpy(o + j, &s0, sizeof s0);                                        \
        }                                                                         \
        if (j < n)                                                                \
            TAIL(o + j, n - j, rows, c0 + j, w, k0, k1, 1, d);                    \
    }

IMFILT_DEFINE_TILES(imfilt_tiles_f32, imfilt_tail_f32, float, imfilt_v16f, imfilt_load_v16f, 16)
IMFILT_DEFINE_TILES(imfilt_tiles_f64, imfilt_tail_f64, double, imfilt_v8d, imfilt_load_v8d, 8)
#else
#define imfilt_tiles_f32 imfilt_tail_f32
#define imfilt_tiles_f64 imfilt_tail_f64
#endif

#endif /* IMFILT_MICROKERNEL_H */
