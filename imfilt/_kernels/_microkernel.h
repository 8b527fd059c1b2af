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
 * has (zmm with AVX-512, ymm with AVX2, pairs of xmm with SSE2).
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
#include "_stream.h"

#if defined(__GNUC__) || defined(__clang__)
#define IMFILT_HAVE_VECTOR_EXT 1
#else
#define IMFILT_HAVE_VECTOR_EXT 0
#endif

#if IMFILT_HAVE_VECTOR_EXT
/* Vector width: 64 bytes where the target has AVX-512 (16 floats or 8
 * doubles per register, twice the work of each FMA instruction: measured
 * 1.35x faster on Zen 5 for 3x3 to 7x7 kernels), 32 bytes elsewhere (a
 * pair of xmm registers on SSE targets). */
#if defined(__AVX512F__)
#define IMFILT_VBYTES 64
#else
#define IMFILT_VBYTES 32
#endif
typedef float imfilt_vf __attribute__((vector_size(IMFILT_VBYTES)));
typedef double imfilt_vd __attribute__((vector_size(IMFILT_VBYTES)));
#define IMFILT_LANES_F (IMFILT_VBYTES / 4)
#define IMFILT_LANES_D (IMFILT_VBYTES / 8)

static inline imfilt_vf imfilt_load_vf(const float *p) {
    imfilt_vf v;
    memcpy(&v, p, sizeof v); /* unaligned load */
    return v;
}
static inline imfilt_vd imfilt_load_vd(const double *p) {
    imfilt_vd v;
    memcpy(&v, p, sizeof v);
    return v;
}
#endif

/* Scalar path: any column stride s and tap dilation d. */
/*
 * Fused multiply-add, explicitly.  The kernels are compiled with
 * -ffp-contract=off: left to itself GCC fuses a*b+c in some loops and not in
 * others, so the rounding of an output would depend on which code path
 * (vector tile, short vector, scalar tail) its column falls in -- and so on
 * the row split between threads.  With FMA hardware every path uses the
 * instruction; without it every path calls the C library's correctly
 * rounded fma(), so results are also the same on every CPU level.
 */
#if IMFILT_HAVE_VECTOR_EXT && defined(__FMA__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#if IMFILT_VBYTES == 64
#define IMFILT_VFMA_F32(acc, v, s) \
    ((imfilt_vf)_mm512_fmadd_ps((__m512)(v), _mm512_set1_ps(s), (__m512)(acc)))
#define IMFILT_VFMA_F64(acc, v, s) \
    ((imfilt_vd)_mm512_fmadd_pd((__m512d)(v), _mm512_set1_pd(s), (__m512d)(acc)))
#else
#define IMFILT_VFMA_F32(acc, v, s) \
    ((imfilt_vf)_mm256_fmadd_ps((__m256)(v), _mm256_set1_ps(s), (__m256)(acc)))
#define IMFILT_VFMA_F64(acc, v, s) \
    ((imfilt_vd)_mm256_fmadd_pd((__m256d)(v), _mm256_set1_pd(s), (__m256d)(acc)))
#endif
#define IMFILT_SFMA_F32(acc, a, b) __builtin_fmaf((a), (b), (acc))
#define IMFILT_SFMA_F64(acc, a, b) __builtin_fma((a), (b), (acc))
#define IMFILT_FMA_NAME "fma"
#else
/* No FMA instruction on this target: the same single rounding through the
 * C library's fma(), so every build level gives identical results. */
#include "_fma.h"
#if IMFILT_HAVE_VECTOR_EXT
#define IMFILT_VFMA_F32(acc, v, s) imfilt_fma_lanes_v8f((acc), (v), (s))
#define IMFILT_VFMA_F64(acc, v, s) imfilt_fma_lanes_v4d((acc), (v), (s))
#endif
#define IMFILT_SFMA_F32(acc, a, b) imfilt_fmaf((a), (b), (acc))
#define IMFILT_SFMA_F64(acc, a, b) imfilt_fma((a), (b), (acc))
#define IMFILT_FMA_NAME "fma()"
#endif

#define IMFILT_DEFINE_SCALAR_TAIL(NAME, T, SFMA)                                        \
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
                    acc = SFMA(acc, p[b * d], wr[b]);                             \
            }                                                                     \
            o[j] = acc;                                                           \
        }                                                                         \
    }

IMFILT_DEFINE_SCALAR_TAIL(imfilt_tail_f32, float, IMFILT_SFMA_F32)
IMFILT_DEFINE_SCALAR_TAIL(imfilt_tail_f64, double, IMFILT_SFMA_F64)

#if IMFILT_HAVE_VECTOR_EXT
/* Eight vectors of accumulators per tile.  The tap loads are unaligned: a
 * 64-byte load splits a cache line at 15 of 16 offsets, a 32-byte load at 7
 * of 16.  On Zen 4, which executes 512-bit operations as two 256-bit
 * halves, 32-byte vectors measured faster for that reason; on Zen 5 (full
 * 512-bit units) 64-byte vectors are 1.35x faster, so AVX-512 builds use
 * them (IMFILT_VBYTES).
 * Unit column stride only (dilation d spaces the taps); other strides take
 * the scalar path.  ``nt``: the tiles' stores stream (_stream.h) where they
 * are vector-aligned; the short runs at the end of a row store normally. */
#define IMFILT_DEFINE_TILES(NAME, TAIL, T, V, LOAD, LANES, FMA)                        \
    static void NAME(T *o, ptrdiff_t n, const T *const *rows, ptrdiff_t c0,       \
                     const T *w, ptrdiff_t k0, ptrdiff_t k1, ptrdiff_t s,         \
                     ptrdiff_t d, int nt, int spare)                              \
    {                                                                             \
        ptrdiff_t j = 0;                                                          \
        if (s != 1) {                                                             \
            TAIL(o, n, rows, c0, w, k0, k1, s, d);                                \
            return;                                                               \
        }                                                                         \
        for (; j + 8 * LANES <= n; j += 8 * LANES) {                              \
            V s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};                             \
            V s4 = {0}, s5 = {0}, s6 = {0}, s7 = {0};                             \
            for (ptrdiff_t a = 0; a < k0; a++) {                                  \
                const T *p = rows[a] + c0 + j;                                    \
                const T *wr = w + a * k1;                                         \
                for (ptrdiff_t b = 0; b < k1; b++) {                              \
                    const T wv = wr[b];                                           \
                    const T *q = p + b * d;                                       \
                    s0 = FMA(s0, LOAD(q), wv);                                           \
                    s1 = FMA(s1, LOAD(q + LANES), wv);                                   \
                    s2 = FMA(s2, LOAD(q + 2 * LANES), wv);                               \
                    s3 = FMA(s3, LOAD(q + 3 * LANES), wv);                               \
                    s4 = FMA(s4, LOAD(q + 4 * LANES), wv);                               \
                    s5 = FMA(s5, LOAD(q + 5 * LANES), wv);                               \
                    s6 = FMA(s6, LOAD(q + 6 * LANES), wv);                               \
                    s7 = FMA(s7, LOAD(q + 7 * LANES), wv);                               \
                }                                                                 \
            }                                                                     \
            IMFILT_VSTORE(o + j, s0, nt);                                         \
            IMFILT_VSTORE(o + j + LANES, s1, nt);                                 \
            IMFILT_VSTORE(o + j + 2 * LANES, s2, nt);                             \
            IMFILT_VSTORE(o + j + 3 * LANES, s3, nt);                             \
            IMFILT_VSTORE(o + j + 4 * LANES, s4, nt);                             \
            IMFILT_VSTORE(o + j + 5 * LANES, s5, nt);                             \
            IMFILT_VSTORE(o + j + 6 * LANES, s6, nt);                             \
            IMFILT_VSTORE(o + j + 7 * LANES, s7, nt);                             \
        }                                                                         \
        /* Single vectors; a run of at least LANES ends with one vector    */ \
        /* that overlaps the last one (its outputs are recomputed by the   */ \
        /* same operations, so they do not change) instead of a scalar     */ \
        /* tail, whose dependent chain of k0 * k1 FMAs per output is slow. */ \
        while (j < n && n >= LANES) {                                             \
            if (j + LANES > n)                                                    \
                j = n - LANES;                                                    \
            V s0 = {0};                                                           \
            for (ptrdiff_t a = 0; a < k0; a++) {                                  \
                const T *p = rows[a] + c0 + j;                                    \
                const T *wr = w + a * k1;                                         \
                for (ptrdiff_t b = 0; b < k1; b++)                                \
                    s0 = FMA(s0, LOAD(p + b * d), wr[b]);                         \
            }                                                                     \
            memcpy(o + j, &s0, sizeof s0);                                        \
            j += LANES;                                                           \
        }                                                                         \
        /* A run shorter than a vector (the border runs of a narrow     */ \
        /* kernel): one vector when the rows may be read past the run   */ \
        /* (``spare``: padded scratch), its first n outputs kept; the   */ \
        /* scalar tail's dependent chains cost ~25x more per tap.       */ \
        if (j < n && spare) {                                                     \
            V s0 = {0};                                                           \
            for (ptrdiff_t a = 0; a < k0; a++) {                                  \
                const T *p = rows[a] + c0;                                        \
                const T *wr = w + a * k1;                                         \
                for (ptrdiff_t b = 0; b < k1; b++)                                \
                    s0 = FMA(s0, LOAD(p + b * d), wr[b]);                         \
            }                                                                     \
            memcpy(o, &s0, (size_t)n * sizeof(T));                                \
            return;                                                               \
        }                                                                         \
        if (j < n)                                                                \
            TAIL(o + j, n - j, rows, c0 + j, w, k0, k1, 1, d);                    \
    }

IMFILT_DEFINE_TILES(imfilt_tiles_f32, imfilt_tail_f32, float, imfilt_vf, imfilt_load_vf, IMFILT_LANES_F,
                    IMFILT_VFMA_F32)
IMFILT_DEFINE_TILES(imfilt_tiles_f64, imfilt_tail_f64, double, imfilt_vd, imfilt_load_vd, IMFILT_LANES_D,
                    IMFILT_VFMA_F64)

/* Two output rows at once (row stride 1, no row dilation): output rows i and
 * i+1 read input rows rows[0..k0-1] and rows[1..k0], so every vector loaded
 * from the k0-1 shared rows feeds two FMAs, halving loads per FMA.  Each
 * output still starts at zero and adds its taps in row-major order, exactly
 * as in the one-row kernel, so pairing rows never changes a result. */
#define IMFILT_DEFINE_TILES2(NAME, ONE, T, V, LOAD, LANES, FMA)                        \
    static void NAME(T *o0, T *o1, ptrdiff_t n, const T *const *rows,             \
                     ptrdiff_t c0, const T *w, ptrdiff_t k0, ptrdiff_t k1,        \
                     ptrdiff_t d, int nt, int spare)                              \
    {                                                                             \
        ptrdiff_t j = 0;                                                          \
        for (; j + 4 * LANES <= n; j += 4 * LANES) {                              \
            V t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0};                             \
            V u0 = {0}, u1 = {0}, u2 = {0}, u3 = {0};                             \
            for (ptrdiff_t r = 0; r <= k0; r++) {                                 \
                const T *p = rows[r] + c0 + j;                                    \
                const T *wt = w + r * k1;        /* top: kernel row r */          \
                const T *wb = w + (r - 1) * k1;  /* bottom: kernel row r-1 */     \
                /* The r == 0 and r == k0 branches below are deliberately  */ \
                /* unrolled SIMD variants (one output row each, no branch  */ \
                /* in the tap loop); the middle branch feeds both rows.    */ \
                if (r == 0) {                                                     \
                    for (ptrdiff_t b = 0; b < k1; b++) {                          \
                        const T *q = p + b * d;                                   \
                        const T x = wt[b];                                        \
                        t0 = FMA(t0, LOAD(q), x);                                        \
                        t1 = FMA(t1, LOAD(q + LANES), x);                                \
                        t2 = FMA(t2, LOAD(q + 2 * LANES), x);                            \
                        t3 = FMA(t3, LOAD(q + 3 * LANES), x);                            \
                    }                                                             \
                } else if (r == k0) {                                             \
                    for (ptrdiff_t b = 0; b < k1; b++) {                          \
                        const T *q = p + b * d;                                   \
                        const T y = wb[b];                                        \
                        u0 = FMA(u0, LOAD(q), y);                                        \
                        u1 = FMA(u1, LOAD(q + LANES), y);                                \
                        u2 = FMA(u2, LOAD(q + 2 * LANES), y);                            \
                        u3 = FMA(u3, LOAD(q + 3 * LANES), y);                            \
                    }                                                             \
                } else {                                                          \
                    for (ptrdiff_t b = 0; b < k1; b++) {                          \
                        const T *q = p + b * d;                                   \
                        const T x = wt[b], y = wb[b];                             \
                        const V v0 = LOAD(q), v1 = LOAD(q + LANES);               \
                        const V v2 = LOAD(q + 2 * LANES), v3 = LOAD(q + 3 * LANES); \
                        t0 = FMA(t0, v0, x); u0 = FMA(u0, v0, y);                               \
                        t1 = FMA(t1, v1, x); u1 = FMA(u1, v1, y);                               \
                        t2 = FMA(t2, v2, x); u2 = FMA(u2, v2, y);                               \
                        t3 = FMA(t3, v3, x); u3 = FMA(u3, v3, y);                               \
                    }                                                             \
                }                                                                 \
            }                                                                     \
            IMFILT_VSTORE(o0 + j, t0, nt);                                        \
            IMFILT_VSTORE(o0 + j + LANES, t1, nt);                                \
            IMFILT_VSTORE(o0 + j + 2 * LANES, t2, nt);                            \
            IMFILT_VSTORE(o0 + j + 3 * LANES, t3, nt);                            \
            IMFILT_VSTORE(o1 + j, u0, nt);                                        \
            IMFILT_VSTORE(o1 + j + LANES, u1, nt);                                \
            IMFILT_VSTORE(o1 + j + 2 * LANES, u2, nt);                            \
            IMFILT_VSTORE(o1 + j + 3 * LANES, u3, nt);                            \
        }                                                                         \
        if (j < n) {                                                              \
            ONE(o0 + j, n - j, rows, c0 + j, w, k0, k1, 1, d, 0, spare);          \
            ONE(o1 + j, n - j, rows + 1, c0 + j, w, k0, k1, 1, d, 0, spare);      \
        }                                                                         \
    }

IMFILT_DEFINE_TILES2(imfilt_tiles2_f32, imfilt_tiles_f32, float, imfilt_vf, imfilt_load_vf, IMFILT_LANES_F,
                     IMFILT_VFMA_F32)
IMFILT_DEFINE_TILES2(imfilt_tiles2_f64, imfilt_tiles_f64, double, imfilt_vd, imfilt_load_vd, IMFILT_LANES_D,
                     IMFILT_VFMA_F64)
#else
/* No vector extension: every run takes the scalar path, stored normally. */
static void imfilt_tiles_f32(float *o, ptrdiff_t n, const float *const *rows, ptrdiff_t c0,
                             const float *w, ptrdiff_t k0, ptrdiff_t k1, ptrdiff_t s,
                             ptrdiff_t d, int nt, int spare)
{
    (void)nt;
    (void)spare;
    imfilt_tail_f32(o, n, rows, c0, w, k0, k1, s, d);
}
static void imfilt_tiles_f64(double *o, ptrdiff_t n, const double *const *rows, ptrdiff_t c0,
                             const double *w, ptrdiff_t k0, ptrdiff_t k1, ptrdiff_t s,
                             ptrdiff_t d, int nt, int spare)
{
    (void)nt;
    (void)spare;
    imfilt_tail_f64(o, n, rows, c0, w, k0, k1, s, d);
}
static void imfilt_tiles2_f32(float *o0, float *o1, ptrdiff_t n, const float *const *rows,
                              ptrdiff_t c0, const float *w, ptrdiff_t k0, ptrdiff_t k1, ptrdiff_t d,
                              int nt, int spare)
{
    (void)nt;
    (void)spare;
    imfilt_tail_f32(o0, n, rows, c0, w, k0, k1, 1, d);
    imfilt_tail_f32(o1, n, rows + 1, c0, w, k0, k1, 1, d);
}
static void imfilt_tiles2_f64(double *o0, double *o1, ptrdiff_t n, const double *const *rows,
                              ptrdiff_t c0, const double *w, ptrdiff_t k0, ptrdiff_t k1, ptrdiff_t d,
                              int nt, int spare)
{
    (void)nt;
    (void)spare;
    imfilt_tail_f64(o0, n, rows, c0, w, k0, k1, 1, d);
    imfilt_tail_f64(o1, n, rows + 1, c0, w, k0, k1, 1, d);
}
#endif

#endif /* IMFILT_MICROKERNEL_H */
