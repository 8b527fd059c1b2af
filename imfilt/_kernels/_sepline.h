/*
 * One-dimensional correlation of k rows, used by _separable.pyx.
 *
 *     o[j] = sum_{t < k} w[t] * rows[t][j],   0 <= j < n
 *
 * ``rows`` is a table of k pointers: for a pass along the contiguous axis the
 * rows are one padded line shifted by t; for a pass along any other axis (or
 * the column pass of the fused 2-D filter) they are k whole image rows.
 *
 * Order of operations (the same in the vector blocks and the scalar tail, so
 * an output does not depend on where its line starts or on how lines are
 * split between threads):
 *   sym == 0 (general)         acc = w[0]*r0; acc = fma(w[t], rt, acc), t = 1..k-1
 *   sym == 1 (w[t]=w[k-1-t])   acc = w[h]*rh; acc = fma(w[t], rt + r(k-1-t), acc), t < h
 *   sym == -1 (w[t]=-w[k-1-t]) acc = w[h]*rh; acc = fma(w[t], rt - r(k-1-t), acc), t < h
 * with h = k / 2 (k odd when sym != 0).  Folding the symmetric taps halves the
 * multiplications of Gaussian-like kernels.  A float32 output that comes out
 * of a fold as inf or NaN is computed again in the general form
 * (imfilt_sep_f32_unfold: the fold's sum can overflow where the taps do not).
 * ``sym`` = +-2 folds as +-1 but skips that check: the caller knows no fold
 * or sum can come near the float maximum (uint8 rows, moderate weights).
 * The multiply-adds are fused explicitly, rounded once: the FMA
 * instruction where the target has one, the C library's correctly rounded
 * fma() otherwise (_fma.h), so every CPU level gives the same bits (the kernels are compiled with -ffp-contract=off
 * so the compiler fuses nothing else behind our back).
 *
 * ``imfilt_sepline2_*`` computes two consecutive output rows from k + 1
 * rows (o0 from rows 0..k-1, o1 from rows 1..k) with exactly the arithmetic
 * above for each; every input row is loaded once for both outputs, which
 * halves the memory traffic of a pass along a non-contiguous axis;
 * ``imfilt_sepline4_*`` does the same for four rows from k + 3 rows (the
 * fused 2-D filter's column pass).
 */
#ifndef IMFILT_SEPLINE_H
#define IMFILT_SEPLINE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "_bits.h"
#include "_fma.h"

#if defined(__GNUC__) || defined(__clang__)
#define IMFILT_SEP_VEC 1
#define IMFILT_SEP_LOAD(VT, p) ({ VT v_; memcpy(&v_, (p), sizeof v_); v_; })
#define IMFILT_SEP_STORE(p, v) do { __typeof__(v) s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)
#if defined(__AVX512F__) && defined(__x86_64__)
#include <immintrin.h>
/* 64-byte vectors: one AVX-512 register each, half the loads per output of
 * the 32-byte form (a pass with many taps is bound by its loads). */
typedef float imfilt_svf __attribute__((vector_size(64)));
typedef double imfilt_svd __attribute__((vector_size(64)));
#define IMFILT_SEP_VLF 16
#define IMFILT_SEP_VLD 8
/* acc + v * s (s a broadcast vector), one rounding. */
#define IMFILT_SEP_VFMA_float(acc, v, s) \
    ((imfilt_svf)_mm512_fmadd_ps((__m512)(v), (__m512)(s), (__m512)(acc)))
#define IMFILT_SEP_VFMA_double(acc, v, s) \
    ((imfilt_svd)_mm512_fmadd_pd((__m512d)(v), (__m512d)(s), (__m512d)(acc)))
#define IMFILT_SEP_WIDE 1
#else
/* 32-byte vectors: GCC keeps these in registers on every x86-64 target. */
typedef float imfilt_svf __attribute__((vector_size(32)));
typedef double imfilt_svd __attribute__((vector_size(32)));
#define IMFILT_SEP_VLF 8
#define IMFILT_SEP_VLD 4
#if defined(__FMA__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
/* acc + v * s (s a broadcast vector), one rounding. */
#define IMFILT_SEP_VFMA_float(acc, v, s) \
    ((imfilt_svf)_mm256_fmadd_ps((__m256)(v), (__m256)(s), (__m256)(acc)))
#define IMFILT_SEP_VFMA_double(acc, v, s) \
    ((imfilt_svd)_mm256_fmadd_pd((__m256d)(v), (__m256d)(s), (__m256d)(acc)))
#else
#define IMFILT_SEP_VFMA_float(acc, v, s) imfilt_fma_lanes_v8f((acc), (v), (s)[0])
#define IMFILT_SEP_VFMA_double(acc, v, s) imfilt_fma_lanes_v4d((acc), (v), (s)[0])
#endif
#define IMFILT_SEP_WIDE 0
#endif
#else
#define IMFILT_SEP_VEC 0
#endif

#define IMFILT_SEP_SFMA_float(acc, a, b) imfilt_fmaf((a), (b), (acc))
#define IMFILT_SEP_SFMA_double(acc, a, b) imfilt_fma((a), (b), (acc))

/* One output of the scalar path (also the tail of the vector path). */
#define IMFILT_SEP_SCALAR(T, SYM, rows, j, acc)                                 \
    do {                                                                        \
        if (SYM == 0) {                                                         \
            acc = w[0] * rows[0][j];                                            \
            for (t = 1; t < k; t++)                                             \
                acc = IMFILT_SEP_SFMA_##T(acc, w[t], rows[t][j]);               \
        } else {                                                                \
            acc = w[h] * rows[h][j];                                            \
            for (t = 0; t < h; t++) {                                           \
                T a_ = rows[t][j], b_ = rows[k - 1 - t][j];                     \
                acc = IMFILT_SEP_SFMA_##T(acc, w[t], SYM > 0 ? a_ + b_ : a_ - b_); \
            }                                                                   \
        }                                                                       \
    } while (0)

#define IMFILT_SEP_DEFINE(NAME, T, VT, VL, SYM)                                 \
static void NAME(T *o, ptrdiff_t n, const T **rows, const T *w, ptrdiff_t k)    \
{                                                                               \
    ptrdiff_t j = 0, t, h = k / 2;                                              \
    IMFILT_SEP_VBLOCK(T, VT, VL, SYM)                                           \
    for (; j < n; j++) {                                                        \
        T acc;                                                                  \
        IMFILT_SEP_SCALAR(T, SYM, rows, j, acc);                                \
        o[j] = acc;                                                             \
    }                                                                           \
}

#define IMFILT_SEP_DEFINE2(NAME, T, VT, VL, SYM)                                \
static void NAME(T *o0, T *o1, ptrdiff_t n, const T **rows, const T *w,         \
                 ptrdiff_t k)                                                   \
{                                                                               \
    ptrdiff_t j = 0, t, h = k / 2;                                              \
    const T **rows1 = rows + 1;                                                 \
    IMFILT_SEP_VBLOCK2(T, VT, VL, SYM)                                          \
    for (; j < n; j++) {                                                        \
        T acc;                                                                  \
        IMFILT_SEP_SCALAR(T, SYM, rows, j, acc);                                \
        o0[j] = acc;                                                            \
        IMFILT_SEP_SCALAR(T, SYM, rows1, j, acc);                               \
        o1[j] = acc;                                                            \
    }                                                                           \
}

#define IMFILT_SEP_DEFINE4(NAME, T, VT, VL, SYM)                                \
static void NAME(T *const *o4, ptrdiff_t n, const T **rows, const T *w,         \
                 ptrdiff_t k)                                                   \
{                                                                               \
    ptrdiff_t j = 0, t, h = k / 2;                                              \
    IMFILT_SEP_VBLOCK4(T, VT, VL, SYM)                                          \
    for (; j < n; j++) {                                                        \
        for (int z_ = 0; z_ < 4; z_++) {                                        \
            const T **r_ = rows + z_;                                           \
            T acc;                                                              \
            IMFILT_SEP_SCALAR(T, SYM, r_, j, acc);                              \
            o4[z_][j] = acc;                                                    \
        }                                                                       \
    }                                                                           \
}

#if IMFILT_SEP_VEC
#define IMFILT_SEP_PAIR(VT, p, q, off, SYM)                                     \
    (SYM > 0 ? IMFILT_SEP_LOAD(VT, (p) + (off)) + IMFILT_SEP_LOAD(VT, (q) + (off)) \
             : IMFILT_SEP_LOAD(VT, (p) + (off)) - IMFILT_SEP_LOAD(VT, (q) + (off)))
/* Blocks of NB vectors (NB accumulators in flight), then single vectors. */
#define IMFILT_SEP_VBLOCK(T, VT, VL, SYM)                                       \
    IMFILT_SEP_VBLOCKN(T, VT, VL, SYM, 4, o, rows)                              \
    IMFILT_SEP_VBLOCKN(T, VT, VL, SYM, 1, o, rows)
#define IMFILT_SEP_VBLOCKN(T, VT, VL, SYM, NB, o, rows)                         \
    for (; j + (NB) * VL <= n; j += (NB) * VL) {                                \
        VT a[NB], s;                                                            \
        int m_;                                                                 \
        ptrdiff_t c = SYM == 0 ? 0 : h;                                         \
        for (m_ = 0; m_ < (NB); m_++)                                           \
            a[m_] = w[c] * IMFILT_SEP_LOAD(VT, rows[c] + j + m_ * VL);          \
        if (SYM == 0) {                                                         \
            for (t = 1; t < k; t++) {                                           \
                const T *r = rows[t] + j;                                       \
                s = (VT){} + w[t];                                              \
                for (m_ = 0; m_ < (NB); m_++)                                   \
                    a[m_] = IMFILT_SEP_VFMA_##T(a[m_], IMFILT_SEP_LOAD(VT, r + m_ * VL), s); \
            }                                                                   \
        } else {                                                                \
            for (t = 0; t < h; t++) {                                           \
                const T *p = rows[t] + j, *q = rows[k - 1 - t] + j;             \
                s = (VT){} + w[t];                                              \
                for (m_ = 0; m_ < (NB); m_++)                                   \
                    a[m_] = IMFILT_SEP_VFMA_##T(a[m_], IMFILT_SEP_PAIR(VT, p, q, m_ * VL, SYM), s); \
            }                                                                   \
        }                                                                       \
        for (m_ = 0; m_ < (NB); m_++)                                           \
            IMFILT_SEP_STORE(o + j + m_ * VL, a[m_]);                           \
    }

/* Two output rows, NB2 vectors wide.  Row table R[0..k]: o0 reads R[0..k-1],
 * o1 reads R[1..k].  Symmetric: step t needs R[t], R[t+1], R[k-1-t], R[k-t];
 * R[t+1] and R[k-1-t] are carried to the next step, so each step loads two
 * new rows per vector. */
#define IMFILT_SEP_VB2_ONE(T, VT, VL, SYM, m)                                   \
    {                                                                           \
        const T *c0 = rows[SYM == 0 ? 0 : h] + j + (m) * VL;                    \
        const T *c1 = rows[SYM == 0 ? 1 : h + 1] + j + (m) * VL;                \
        T sc = w[SYM == 0 ? 0 : h];                                             \
        x[m] = sc * IMFILT_SEP_LOAD(VT, c0);                                    \
        y[m] = sc * IMFILT_SEP_LOAD(VT, c1);                                    \
        if (SYM != 0) {                                                         \
            lo[m] = IMFILT_SEP_LOAD(VT, rows[0] + j + (m) * VL);                \
            hi[m] = IMFILT_SEP_LOAD(VT, rows[k] + j + (m) * VL);                \
        } else {                                                                \
            lo[m] = IMFILT_SEP_LOAD(VT, c1);                                    \
        }                                                                       \
    }
#define IMFILT_SEP_VB2_STEP(T, VT, VL, SYM, m)                                  \
    {                                                                           \
        if (SYM == 0) {                                                         \
            VT nx = IMFILT_SEP_LOAD(VT, rows[t + 1] + j + (m) * VL);            \
            x[m] = IMFILT_SEP_VFMA_##T(x[m], lo[m], s);                         \
            y[m] = IMFILT_SEP_VFMA_##T(y[m], nx, s);                            \
            lo[m] = nx;                                                         \
        } else {                                                                \
            VT nl = IMFILT_SEP_LOAD(VT, rows[t + 1] + j + (m) * VL);            \
            VT nh = IMFILT_SEP_LOAD(VT, rows[k - 1 - t] + j + (m) * VL);        \
            x[m] = IMFILT_SEP_VFMA_##T(x[m], SYM > 0 ? lo[m] + nh : lo[m] - nh, s); \
            y[m] = IMFILT_SEP_VFMA_##T(y[m], SYM > 0 ? nl + hi[m] : nl - hi[m], s); \
            lo[m] = nl;                                                         \
            hi[m] = nh;                                                         \
        }                                                                       \
    }
#define IMFILT_SEP_VBLOCK2(T, VT, VL, SYM)                                      \
    for (; j + IMFILT_SEP_NB2 * VL <= n; j += IMFILT_SEP_NB2 * VL) {            \
        VT x[IMFILT_SEP_NB2], y[IMFILT_SEP_NB2], lo[IMFILT_SEP_NB2], hi[IMFILT_SEP_NB2], s; \
        int m_;                                                                 \
        for (m_ = 0; m_ < IMFILT_SEP_NB2; m_++) IMFILT_SEP_VB2_ONE(T, VT, VL, SYM, m_) \
        if (SYM == 0) {                                                         \
            /* general: o0 += w[t] R[t], o1 += w[t] R[t+1], t = 1..k-1;        \
               lo holds R[t] on entry of step t. */                             \
            for (t = 1; t < k; t++) {                                           \
                s = (VT){} + w[t];                                              \
                for (m_ = 0; m_ < IMFILT_SEP_NB2; m_++)                         \
                    IMFILT_SEP_VB2_STEP(T, VT, VL, SYM, m_)                     \
            }                                                                   \
        } else {                                                                \
            for (t = 0; t < h; t++) {                                           \
                s = (VT){} + w[t];                                              \
                for (m_ = 0; m_ < IMFILT_SEP_NB2; m_++)                         \
                    IMFILT_SEP_VB2_STEP(T, VT, VL, SYM, m_)                     \
            }                                                                   \
        }                                                                       \
        for (m_ = 0; m_ < IMFILT_SEP_NB2; m_++) {                               \
            IMFILT_SEP_STORE(o0 + j + m_ * VL, x[m_]);                          \
            IMFILT_SEP_STORE(o1 + j + m_ * VL, y[m_]);                          \
        }                                                                       \
    }                                                                           \
    if (j < n) {                                                                \
        /* the rest, one vector at a time: each row on its own */               \
        ptrdiff_t j0_ = j;                                                      \
        T *o_ = o0;                                                             \
        const T **r_ = rows;                                                    \
        for (int z_ = 0; z_ < 2; z_++) {                                        \
            j = j0_;                                                            \
            IMFILT_SEP_VBLOCKN(T, VT, VL, SYM, 1, o_, r_)                          \
            o_ = o1; r_ = rows1;                                                \
        }                                                                       \
        j = j0_ + ((n - j0_) / VL) * VL;                                        \
    }
#define IMFILT_SEP_NB2 (IMFILT_SEP_WIDE ? 4 : 2)

/* Four output rows, NB4 vectors wide.  Row table R[0..k+2]: o_i reads
 * R[i..i+k-1].  Step t needs L_i = R[t+i] and (symmetric) H_i = R[k-1-t+i],
 * i < 4; the next step's windows are these shifted by one row, so each step
 * loads two new rows (one in the general form) for four outputs: a quarter
 * of the single-row form's loads, half of the two-row form's, which is what
 * bounds a column pass whose rows come from L2. */
#define IMFILT_SEP_NB4 (IMFILT_SEP_WIDE ? 2 : 1)
#define IMFILT_SEP_VBLOCK4(T, VT, VL, SYM)                                      \
    for (; j + IMFILT_SEP_NB4 * VL <= n; j += IMFILT_SEP_NB4 * VL) {            \
        VT acc[4][IMFILT_SEP_NB4], L[4][IMFILT_SEP_NB4], H[4][IMFILT_SEP_NB4], s; \
        int m_, i_;                                                             \
        ptrdiff_t c_ = SYM == 0 ? 0 : h;                                        \
        for (i_ = 0; i_ < 4; i_++)                                              \
            for (m_ = 0; m_ < IMFILT_SEP_NB4; m_++) {                           \
                acc[i_][m_] = w[c_] * IMFILT_SEP_LOAD(VT, rows[c_ + i_] + j + m_ * VL); \
                if (SYM == 0) {                                                 \
                    if (k > 1)                                                  \
                        L[i_][m_] = IMFILT_SEP_LOAD(VT, rows[1 + i_] + j + m_ * VL); \
                }                                                               \
                else {                                                          \
                    L[i_][m_] = IMFILT_SEP_LOAD(VT, rows[i_] + j + m_ * VL);    \
                    H[i_][m_] = IMFILT_SEP_LOAD(VT, rows[k - 1 + i_] + j + m_ * VL); \
                }                                                               \
            }                                                                   \
        if (SYM == 0) {                                                         \
            /* L holds R[t..t+3] on entry of step t = 1..k-1 */                 \
            for (t = 1; t < k; t++) {                                           \
                s = (VT){} + w[t];                                              \
                for (m_ = 0; m_ < IMFILT_SEP_NB4; m_++) {                       \
                    for (i_ = 0; i_ < 4; i_++)                                  \
                        acc[i_][m_] = IMFILT_SEP_VFMA_##T(acc[i_][m_], L[i_][m_], s); \
                    if (t + 1 < k) {                                            \
                        L[0][m_] = L[1][m_]; L[1][m_] = L[2][m_];               \
                        L[2][m_] = L[3][m_];                                    \
                        L[3][m_] = IMFILT_SEP_LOAD(VT, rows[t + 4] + j + m_ * VL); \
                    }                                                           \
                }                                                               \
            }                                                                   \
        } else {                                                                \
            for (t = 0; t < h; t++) {                                           \
                s = (VT){} + w[t];                                              \
                for (m_ = 0; m_ < IMFILT_SEP_NB4; m_++) {                       \
                    for (i_ = 0; i_ < 4; i_++)                                  \
                        acc[i_][m_] = IMFILT_SEP_VFMA_##T(acc[i_][m_],          \
                            SYM > 0 ? L[i_][m_] + H[i_][m_] : L[i_][m_] - H[i_][m_], s); \
                    if (t + 1 < h) {                                            \
                        L[0][m_] = L[1][m_]; L[1][m_] = L[2][m_];               \
                        L[2][m_] = L[3][m_];                                    \
                        L[3][m_] = IMFILT_SEP_LOAD(VT, rows[t + 4] + j + m_ * VL); \
                        H[3][m_] = H[2][m_]; H[2][m_] = H[1][m_];               \
                        H[1][m_] = H[0][m_];                                    \
                        H[0][m_] = IMFILT_SEP_LOAD(VT, rows[k - 2 - t] + j + m_ * VL); \
                    }                                                           \
                }                                                               \
            }                                                                   \
        }                                                                       \
        for (i_ = 0; i_ < 4; i_++)                                              \
            for (m_ = 0; m_ < IMFILT_SEP_NB4; m_++)                             \
                IMFILT_SEP_STORE(o4[i_] + j + m_ * VL, acc[i_][m_]);            \
    }                                                                           \
    if (j < n) {                                                                \
        /* the rest, one vector at a time: each row on its own */               \
        ptrdiff_t j0_ = j;                                                      \
        for (int z_ = 0; z_ < 4; z_++) {                                        \
            T *o_ = o4[z_];                                                     \
            const T **r_ = rows + z_;                                           \
            j = j0_;                                                            \
            IMFILT_SEP_VBLOCKN(T, VT, VL, SYM, 1, o_, r_)                       \
        }                                                                       \
        j = j0_ + ((n - j0_) / VL) * VL;                                        \
    }
#else
#define IMFILT_SEP_VBLOCK(T, VT, VL, SYM)
#define IMFILT_SEP_VBLOCK2(T, VT, VL, SYM)
#define IMFILT_SEP_VBLOCK4(T, VT, VL, SYM)
typedef float imfilt_svf;
typedef double imfilt_svd;
#define IMFILT_SEP_VLF 1
#define IMFILT_SEP_VLD 1
#endif

/* Each line kernel in its three weight forms: general (_g), symmetric (_s)
   and antisymmetric (_a) taps, for float and double (deliberate type/SIMD
   variants of one definition). */
#define IMFILT_SEP_FORMS(DEFINE, NAME, T, VT, VL) \
    DEFINE(NAME##_g, T, VT, VL, 0)                \
    DEFINE(NAME##_s, T, VT, VL, 1)                \
    DEFINE(NAME##_a, T, VT, VL, -1)
IMFILT_SEP_FORMS(IMFILT_SEP_DEFINE, imfilt_sep_f32, float, imfilt_svf, IMFILT_SEP_VLF)
IMFILT_SEP_FORMS(IMFILT_SEP_DEFINE, imfilt_sep_f64, double, imfilt_svd, IMFILT_SEP_VLD)
IMFILT_SEP_FORMS(IMFILT_SEP_DEFINE2, imfilt_sep2_f32, float, imfilt_svf, IMFILT_SEP_VLF)
IMFILT_SEP_FORMS(IMFILT_SEP_DEFINE2, imfilt_sep2_f64, double, imfilt_svd, IMFILT_SEP_VLD)
IMFILT_SEP_FORMS(IMFILT_SEP_DEFINE4, imfilt_sep4_f32, float, imfilt_svf, IMFILT_SEP_VLF)
IMFILT_SEP_FORMS(IMFILT_SEP_DEFINE4, imfilt_sep4_f64, double, imfilt_svd, IMFILT_SEP_VLD)

/* A folded float32 pair (rt + r(k-1-t)) overflows when both values exceed
 * half the float maximum, where the unfolded sum -- and SciPy, which sums
 * float32 images in double -- stays finite.  So every output of a folded
 * float32 line that is inf or NaN is computed again in the general form.
 * NaN and inf inputs propagate the same way in both forms (IEEE), so only
 * overflowed outputs change value, and each output still depends on its own
 * window alone (not on the other outputs of the call).  The check is one
 * vectorised maximum over the outputs, just written (_bits.h).  ``o`` never aliases
 * the rows. */
static void imfilt_sep_f32_unfold(float *o, ptrdiff_t n, const float **rows, const float *w,
                                  ptrdiff_t k)
{
    ptrdiff_t j, t, h = k / 2;
    if (imfilt_max_abs_bits_f32(o, n) < IMFILT_F32_INF_BITS)
        return;
    for (j = 0; j < n; j++) {
        float acc;
        if (o[j] - o[j] == 0.0f)        /* finite */
            continue;
        IMFILT_SEP_SCALAR(float, 0, rows, j, acc);
        o[j] = acc;
    }
}

/* The three forms without the float32 unfold check (its caller runs it). */
#define IMFILT_SEP_RAW(SUF, T)                                                    \
static inline void imfilt_sepline_raw_##SUF(T *o, ptrdiff_t n, const T **rows,    \
                                            const T *w, ptrdiff_t k, int sym)     \
{                                                                                 \
    if (sym > 0) imfilt_sep_##SUF##_s(o, n, rows, w, k);                          \
    else if (sym < 0) imfilt_sep_##SUF##_a(o, n, rows, w, k);                     \
    else imfilt_sep_##SUF##_g(o, n, rows, w, k);                                  \
}
IMFILT_SEP_RAW(f32, float)
IMFILT_SEP_RAW(f64, double)

static inline void imfilt_sepline_f32(float *o, ptrdiff_t n, const float **rows,
                                      const float *w, ptrdiff_t k, int sym)
{
    imfilt_sepline_raw_f32(o, n, rows, w, k, sym);
    if (sym == 1 || sym == -1) imfilt_sep_f32_unfold(o, n, rows, w, k);
}

static inline void imfilt_sepline_f64(double *o, ptrdiff_t n, const double **rows,
                                      const double *w, ptrdiff_t k, int sym)
{
    imfilt_sepline_raw_f64(o, n, rows, w, k, sym);
}

/* ------------------------------------------------------------------------
 * The pass along a contiguous line: rows[t] == x + t.
 *
 * Output vector j then needs the k vectors x[j + t ..] that overlap, and
 * with 64-byte vectors almost every one of those loads straddles two cache
 * lines (two load slots each), which bounds the pass.  For 5 <= k <= 17 taps
 * this form reads each 64-byte block of the line once, aligned, and builds
 * the shifted vectors from two neighbouring blocks with a two-source
 * permute; a few taps are still loaded unaligned, so the load slots and
 * the permute unit share the work (measured: 20-25% faster for 9 and 17
 * taps than all loads, alike for either unit alone).  Every output gets the
 * same values and the same sequence of operations as in imfilt_sep*_{g,s,a},
 * so the result does not change, only the way the values reach registers.
 * Outputs before the first aligned block and after the last are left to
 * those kernels.  A permuted tap loads whole aligned blocks, and the second
 * may run past the last value the outputs need; it always holds one of them
 * (the permute takes its first lane for every tap t >= 1), so the read stays
 * inside a 64-byte block that the line occupies and never crosses a page.
 * ------------------------------------------------------------------------ */
#if IMFILT_SEP_VEC && IMFILT_SEP_WIDE
#define IMFILT_SHIFT_MAXK 17
/* Below 5 taps the loads do not bound the pass (measured alike). */
#define IMFILT_SHIFT_MINK 5
static const int32_t imfilt_shift_idx32[16][16] __attribute__((aligned(64))) = {
#define IMFILT_SHIFT_ROW32(s) {s, s + 1, s + 2, s + 3, s + 4, s + 5, s + 6, s + 7, s + 8, \
                               s + 9, s + 10, s + 11, s + 12, s + 13, s + 14, s + 15}
    IMFILT_SHIFT_ROW32(0), IMFILT_SHIFT_ROW32(1), IMFILT_SHIFT_ROW32(2), IMFILT_SHIFT_ROW32(3),
    IMFILT_SHIFT_ROW32(4), IMFILT_SHIFT_ROW32(5), IMFILT_SHIFT_ROW32(6), IMFILT_SHIFT_ROW32(7),
    IMFILT_SHIFT_ROW32(8), IMFILT_SHIFT_ROW32(9), IMFILT_SHIFT_ROW32(10), IMFILT_SHIFT_ROW32(11),
    IMFILT_SHIFT_ROW32(12), IMFILT_SHIFT_ROW32(13), IMFILT_SHIFT_ROW32(14), IMFILT_SHIFT_ROW32(15)};
static const int64_t imfilt_shift_idx64[8][8] __attribute__((aligned(64))) = {
#define IMFILT_SHIFT_ROW64(s) {s, s + 1, s + 2, s + 3, s + 4, s + 5, s + 6, s + 7}
    IMFILT_SHIFT_ROW64(0), IMFILT_SHIFT_ROW64(1), IMFILT_SHIFT_ROW64(2), IMFILT_SHIFT_ROW64(3),
    IMFILT_SHIFT_ROW64(4), IMFILT_SHIFT_ROW64(5), IMFILT_SHIFT_ROW64(6), IMFILT_SHIFT_ROW64(7)};

/* Taps loaded unaligned rather than permuted (the split measured best). */
#define IMFILT_SHIFT_LOADED(K, t) ((K) <= 7 ? (t) % 4 == 1 : (t) % 5 == 1 || (t) % 5 == 3)

/* The vector of x[j + t ..] (xj = x + j aligned): an aligned block, an
 * unaligned load, or two aligned blocks permuted. */
#define IMFILT_SHIFT_TAP(SUF, T, VT, VL, LOAD, LOADU, PERM, IDX)                    \
static inline __attribute__((always_inline)) VT                                   \
imfilt_shift_tap_##SUF(const T *restrict xj, ptrdiff_t K, ptrdiff_t t)             \
{                                                                                 \
    const T *b = xj + (t & ~(ptrdiff_t)(VL - 1));                                 \
    if ((t & (VL - 1)) == 0)                                                      \
        return LOAD(b);                                                           \
    if (IMFILT_SHIFT_LOADED(K, t))                                                \
        return LOADU(xj + t);                                                     \
    return PERM(LOAD(b), _mm512_load_si512(IDX[t & (VL - 1)]), LOAD(b + VL));      \
}
IMFILT_SHIFT_TAP(f32, float, __m512, 16, _mm512_load_ps, _mm512_loadu_ps,
                 _mm512_permutex2var_ps, imfilt_shift_idx32)
IMFILT_SHIFT_TAP(f64, double, __m512d, 8, _mm512_load_pd, _mm512_loadu_pd,
                 _mm512_permutex2var_pd, imfilt_shift_idx64)

/* Outputs j0 <= j < j1 (x + j0 64-byte aligned, j1 - j0 a multiple of the
 * vector length) of a K-tap line in form SYM, K a constant after inlining. */
#define IMFILT_SHIFT_BODY(SUF, T, VT, VL, SET1, MUL, ADD, SUB, FMA, STORE)          \
static inline __attribute__((always_inline)) void                                 \
imfilt_shift_body_##SUF(T *restrict o, ptrdiff_t j0, ptrdiff_t j1,                \
                        const T *restrict x, const T *restrict w, const ptrdiff_t K, \
                        const int SYM)                                            \
{                                                                                 \
    const ptrdiff_t h = K / 2;                                                    \
    for (ptrdiff_t j = j0; j < j1; j += VL) {                                     \
        const T *xj = x + j;                                                      \
        VT a;                                                                     \
        if (SYM == 0) {                                                           \
            a = MUL(SET1(w[0]), imfilt_shift_tap_##SUF(xj, K, 0));                \
            _Pragma("GCC unroll 32")                                              \
            for (ptrdiff_t t = 1; t < K; t++)                                     \
                a = FMA(SET1(w[t]), imfilt_shift_tap_##SUF(xj, K, t), a);         \
        } else {                                                                  \
            a = MUL(SET1(w[h]), imfilt_shift_tap_##SUF(xj, K, h));                \
            _Pragma("GCC unroll 32")                                              \
            for (ptrdiff_t t = 0; t < h; t++) {                                   \
                VT p_ = imfilt_shift_tap_##SUF(xj, K, t);                         \
                VT q_ = imfilt_shift_tap_##SUF(xj, K, K - 1 - t);                 \
                a = FMA(SET1(w[t]), SYM > 0 ? ADD(p_, q_) : SUB(p_, q_), a);      \
            }                                                                     \
        }                                                                         \
        STORE(o + j, a);                                                          \
    }                                                                             \
}
IMFILT_SHIFT_BODY(f32, float, __m512, 16, _mm512_set1_ps, _mm512_mul_ps, _mm512_add_ps,
                  _mm512_sub_ps, _mm512_fmadd_ps, _mm512_storeu_ps)
IMFILT_SHIFT_BODY(f64, double, __m512d, 8, _mm512_set1_pd, _mm512_mul_pd, _mm512_add_pd,
                  _mm512_sub_pd, _mm512_fmadd_pd, _mm512_storeu_pd)

/* One function per (type, form, K): the taps unrolled, the permute indices
 * and weights kept in registers.  The folded forms exist for odd K only. */
#define IMFILT_SHIFT_G(SUF, T, K)                                                 \
    static void imfilt_shift_##SUF##_g##K(T *o, ptrdiff_t j0, ptrdiff_t j1,        \
                                          const T *x, const T *w)                 \
    { imfilt_shift_body_##SUF(o, j0, j1, x, w, K, 0); }
#define IMFILT_SHIFT_GSA(SUF, T, K)                                               \
    IMFILT_SHIFT_G(SUF, T, K)                                                     \
    static void imfilt_shift_##SUF##_s##K(T *o, ptrdiff_t j0, ptrdiff_t j1,        \
                                          const T *x, const T *w)                 \
    { imfilt_shift_body_##SUF(o, j0, j1, x, w, K, 1); }                           \
    static void imfilt_shift_##SUF##_a##K(T *o, ptrdiff_t j0, ptrdiff_t j1,        \
                                          const T *x, const T *w)                 \
    { imfilt_shift_body_##SUF(o, j0, j1, x, w, K, -1); }
#define IMFILT_SHIFT_ALLK(SUF, T)                                                 \
    IMFILT_SHIFT_GSA(SUF, T, 5) IMFILT_SHIFT_G(SUF, T, 6) IMFILT_SHIFT_GSA(SUF, T, 7) \
    IMFILT_SHIFT_G(SUF, T, 8) IMFILT_SHIFT_GSA(SUF, T, 9) IMFILT_SHIFT_G(SUF, T, 10) \
    IMFILT_SHIFT_GSA(SUF, T, 11) IMFILT_SHIFT_G(SUF, T, 12) IMFILT_SHIFT_GSA(SUF, T, 13) \
    IMFILT_SHIFT_G(SUF, T, 14) IMFILT_SHIFT_GSA(SUF, T, 15) IMFILT_SHIFT_G(SUF, T, 16) \
    IMFILT_SHIFT_GSA(SUF, T, 17)                                                  \
    typedef void (*imfilt_shift_fn_##SUF)(T *, ptrdiff_t, ptrdiff_t, const T *, const T *); \
    static const imfilt_shift_fn_##SUF imfilt_shift_table_##SUF[3][IMFILT_SHIFT_MAXK + 1] = { \
        {0, 0, 0, 0, 0, imfilt_shift_##SUF##_g5, imfilt_shift_##SUF##_g6, imfilt_shift_##SUF##_g7,  \
         imfilt_shift_##SUF##_g8, imfilt_shift_##SUF##_g9, imfilt_shift_##SUF##_g10, \
         imfilt_shift_##SUF##_g11, imfilt_shift_##SUF##_g12, imfilt_shift_##SUF##_g13, \
         imfilt_shift_##SUF##_g14, imfilt_shift_##SUF##_g15, imfilt_shift_##SUF##_g16, \
         imfilt_shift_##SUF##_g17},                                               \
        {0, 0, 0, 0, 0, imfilt_shift_##SUF##_s5, 0,           \
         imfilt_shift_##SUF##_s7, 0, imfilt_shift_##SUF##_s9, 0, imfilt_shift_##SUF##_s11, \
         0, imfilt_shift_##SUF##_s13, 0, imfilt_shift_##SUF##_s15, 0,               \
         imfilt_shift_##SUF##_s17},                                               \
        {0, 0, 0, 0, 0, imfilt_shift_##SUF##_a5, 0,           \
         imfilt_shift_##SUF##_a7, 0, imfilt_shift_##SUF##_a9, 0, imfilt_shift_##SUF##_a11, \
         0, imfilt_shift_##SUF##_a13, 0, imfilt_shift_##SUF##_a15, 0,               \
         imfilt_shift_##SUF##_a17}};
IMFILT_SHIFT_ALLK(f32, float)
IMFILT_SHIFT_ALLK(f64, double)
#endif

/* The pass along a contiguous line (rows[t] == rows[0] + t, 5 <= k <= 17 and the
 * line long enough: the aligned form above; else imfilt_sepline_*). */
#define IMFILT_SHIFT_LINE(SUF, T, VL)                                               \
static inline void imfilt_shiftline_##SUF(T *o, ptrdiff_t n, const T **rows,       \
                                          const T *w, ptrdiff_t k, int sym)       \
{                                                                                 \
    IMFILT_SHIFT_DISPATCH(SUF, T, VL)                                             \
    imfilt_sepline_##SUF(o, n, rows, w, k, sym);                                  \
}
#if IMFILT_SEP_VEC && IMFILT_SEP_WIDE
#define IMFILT_SHIFT_DISPATCH(SUF, T, VL)                                           \
    const T *x_ = rows[0];                                                        \
    uintptr_t mis_ = (uintptr_t)x_ & 63;                                          \
    int form_ = sym > 0 ? 1 : sym < 0 ? 2 : 0;                                    \
    if (k >= IMFILT_SHIFT_MINK && k <= IMFILT_SHIFT_MAXK && n >= 4 * (VL) && mis_ % sizeof(T) == 0 \
            && imfilt_shift_table_##SUF[form_][k] != 0) {                         \
        ptrdiff_t j0_ = mis_ ? (ptrdiff_t)((64 - mis_) / sizeof(T)) : 0;          \
        ptrdiff_t j1_ = j0_ + ((n - j0_) / (VL)) * (VL);                          \
        const T *r_[IMFILT_SHIFT_MAXK];                                           \
        imfilt_shift_table_##SUF[form_][k](o, j0_, j1_, x_, w);                   \
        if (j0_ > 0)                                                              \
            imfilt_sepline_raw_##SUF(o, j0_, rows, w, k, sym);                    \
        if (j1_ < n) {                                                            \
            for (ptrdiff_t t_ = 0; t_ < k; t_++)                                  \
                r_[t_] = rows[t_] + j1_;                                          \
            imfilt_sepline_raw_##SUF(o + j1_, n - j1_, r_, w, k, sym);            \
        }                                                                         \
        if (sizeof(T) == 4 && (sym == 1 || sym == -1))                            \
            imfilt_sep_f32_unfold((float *)o, n, (const float **)rows, (const float *)w, k); \
        return;                                                                   \
    }
#else
#define IMFILT_SHIFT_DISPATCH(SUF, T, VL)
#endif
IMFILT_SHIFT_LINE(f32, float, IMFILT_SEP_VLF)
IMFILT_SHIFT_LINE(f64, double, IMFILT_SEP_VLD)

/* Ask for ``bytes`` from ``p`` on (the next source row of a strip). */
static inline void imfilt_sep_prefetch(const void *p, ptrdiff_t bytes)
{
#if defined(__GNUC__) || defined(__clang__)
    const char *c = (const char *)p;
    for (ptrdiff_t i = 0; i < bytes; i += 64)
        __builtin_prefetch(c + i, 0, 3);
#else
    (void)p; (void)bytes;
#endif
}

/* Two consecutive output rows from k + 1 row pointers. */
static inline void imfilt_sepline2_f32(float *o0, float *o1, ptrdiff_t n, const float **rows,
                                       const float *w, ptrdiff_t k, int sym)
{
    if (sym > 0) imfilt_sep2_f32_s(o0, o1, n, rows, w, k);
    else if (sym < 0) imfilt_sep2_f32_a(o0, o1, n, rows, w, k);
    else imfilt_sep2_f32_g(o0, o1, n, rows, w, k);
    if (sym == 1 || sym == -1) {
        imfilt_sep_f32_unfold(o0, n, rows, w, k);
        imfilt_sep_f32_unfold(o1, n, rows + 1, w, k);
    }
}

static inline void imfilt_sepline2_f64(double *o0, double *o1, ptrdiff_t n, const double **rows,
                                       const double *w, ptrdiff_t k, int sym)
{
    if (sym > 0) imfilt_sep2_f64_s(o0, o1, n, rows, w, k);
    else if (sym < 0) imfilt_sep2_f64_a(o0, o1, n, rows, w, k);
    else imfilt_sep2_f64_g(o0, o1, n, rows, w, k);
}

/* Four consecutive output rows o4[0..3] from k + 3 row pointers. */
static inline void imfilt_sepline4_f32(float *const *o4, ptrdiff_t n, const float **rows,
                                       const float *w, ptrdiff_t k, int sym)
{
    if (sym > 0) imfilt_sep4_f32_s(o4, n, rows, w, k);
    else if (sym < 0) imfilt_sep4_f32_a(o4, n, rows, w, k);
    else imfilt_sep4_f32_g(o4, n, rows, w, k);
    if (sym == 1 || sym == -1)
        for (int i = 0; i < 4; i++)
            imfilt_sep_f32_unfold(o4[i], n, rows + i, w, k);
}

static inline void imfilt_sepline4_f64(double *const *o4, ptrdiff_t n, const double **rows,
                                       const double *w, ptrdiff_t k, int sym)
{
    if (sym > 0) imfilt_sep4_f64_s(o4, n, rows, w, k);
    else if (sym < 0) imfilt_sep4_f64_a(o4, n, rows, w, k);
    else imfilt_sep4_f64_g(o4, n, rows, w, k);
}

#endif
