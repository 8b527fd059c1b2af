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
 * split between threads; the kernels are compiled with -ffp-contract=off so
 * nothing is fused behind our back):
 *   sym == 0 (general)        acc = w[0]*r0; acc += w[t]*rt for t = 1..k-1
 *   sym == 1 (w[t]=w[k-1-t])  acc = w[h]*rh; acc += w[t]*(rt + r(k-1-t)), t < h
 *   sym == -1 (w[t]=-w[k-1-t]) acc = w[h]*rh; acc += w[t]*(rt - r(k-1-t)), t < h
 * with h = k / 2 (k odd when sym != 0).  Folding the symmetric taps halves the
 * multiplications of Gaussian-like kernels.
 */
#ifndef IMFILT_SEPLINE_H
#define IMFILT_SEPLINE_H

#include <stddef.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define IMFILT_SEP_VEC 1
/* 32-byte vectors: GCC keeps these in registers on every x86-64 target
 * (64-byte generic vectors are split and spilled unless 512-bit vectors are
 * preferred), four of them per block. */
typedef float imfilt_sv8f __attribute__((vector_size(32)));
typedef double imfilt_sv4d __attribute__((vector_size(32)));
#define IMFILT_SEP_LOAD(VT, p) ({ VT v_; memcpy(&v_, (p), sizeof v_); v_; })
#define IMFILT_SEP_STORE(p, v) do { __typeof__(v) s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)
#else
#define IMFILT_SEP_VEC 0
#endif

/* TAP(x, p, q): the contribution of tap pair (p, q) for mode SYM, with x
 * the loader applied to pointers. */
#define IMFILT_SEP_DEFINE(NAME, T, VT, VL, SYM)                                 \
static void NAME(T *o, ptrdiff_t n, const T **rows, const T *w, ptrdiff_t k)    \
{                                                                               \
    ptrdiff_t j = 0, t, h = k / 2;                                              \
    IMFILT_SEP_VBLOCK(T, VT, VL, SYM)                                           \
    for (; j < n; j++) {                                                        \
        T acc;                                                                  \
        if (SYM == 0) {                                                         \
            acc = w[0] * rows[0][j];                                            \
            for (t = 1; t < k; t++) acc = acc + w[t] * rows[t][j];              \
        } else {                                                                \
            acc = w[h] * rows[h][j];                                            \
            for (t = 0; t < h; t++) {                                           \
                T a = rows[t][j], b = rows[k - 1 - t][j];                       \
                acc = acc + w[t] * (SYM > 0 ? a + b : a - b);                   \
            }                                                                   \
        }                                                                       \
        o[j] = acc;                                                             \
    }                                                                           \
}

#if IMFILT_SEP_VEC
#define IMFILT_SEP_PAIR(VT, p, q, off, SYM)                                     \
    (SYM > 0 ? IMFILT_SEP_LOAD(VT, (p) + (off)) + IMFILT_SEP_LOAD(VT, (q) + (off)) \
             : IMFILT_SEP_LOAD(VT, (p) + (off)) - IMFILT_SEP_LOAD(VT, (q) + (off)))
#define IMFILT_SEP_VBLOCK(T, VT, VL, SYM)                                       \
    for (; j + 4 * VL <= n; j += 4 * VL) {                                      \
        VT a0, a1, a2, a3;                                                      \
        ptrdiff_t c = SYM == 0 ? 0 : h;                                         \
        const T *r = rows[c] + j;                                               \
        T s = w[c];                                                             \
        a0 = s * IMFILT_SEP_LOAD(VT, r);                                        \
        a1 = s * IMFILT_SEP_LOAD(VT, r + VL);                                   \
        a2 = s * IMFILT_SEP_LOAD(VT, r + 2 * VL);                               \
        a3 = s * IMFILT_SEP_LOAD(VT, r + 3 * VL);                               \
        if (SYM == 0) {                                                         \
            for (t = 1; t < k; t++) {                                           \
                r = rows[t] + j; s = w[t];                                      \
                a0 = a0 + s * IMFILT_SEP_LOAD(VT, r);                           \
                a1 = a1 + s * IMFILT_SEP_LOAD(VT, r + VL);                      \
                a2 = a2 + s * IMFILT_SEP_LOAD(VT, r + 2 * VL);                  \
                a3 = a3 + s * IMFILT_SEP_LOAD(VT, r + 3 * VL);                  \
            }                                                                   \
        } else {                                                                \
            for (t = 0; t < h; t++) {                                           \
                const T *p = rows[t] + j, *q = rows[k - 1 - t] + j;             \
                s = w[t];                                                       \
                a0 = a0 + s * IMFILT_SEP_PAIR(VT, p, q, 0, SYM);                \
                a1 = a1 + s * IMFILT_SEP_PAIR(VT, p, q, VL, SYM);               \
                a2 = a2 + s * IMFILT_SEP_PAIR(VT, p, q, 2 * VL, SYM);           \
                a3 = a3 + s * IMFILT_SEP_PAIR(VT, p, q, 3 * VL, SYM);           \
            }                                                                   \
        }                                                                       \
        IMFILT_SEP_STORE(o + j, a0);                                            \
        IMFILT_SEP_STORE(o + j + VL, a1);                                       \
        IMFILT_SEP_STORE(o + j + 2 * VL, a2);                                   \
        IMFILT_SEP_STORE(o + j + 3 * VL, a3);                                   \
    }
#else
#define IMFILT_SEP_VBLOCK(T, VT, VL, SYM)
typedef float imfilt_sv8f;
typedef double imfilt_sv4d;
#endif

IMFILT_SEP_DEFINE(imfilt_sep_f32_g, float, imfilt_sv8f, 8, 0)
IMFILT_SEP_DEFINE(imfilt_sep_f32_s, float, imfilt_sv8f, 8, 1)
IMFILT_SEP_DEFINE(imfilt_sep_f32_a, float, imfilt_sv8f, 8, -1)
IMFILT_SEP_DEFINE(imfilt_sep_f64_g, double, imfilt_sv4d, 4, 0)
IMFILT_SEP_DEFINE(imfilt_sep_f64_s, double, imfilt_sv4d, 4, 1)
IMFILT_SEP_DEFINE(imfilt_sep_f64_a, double, imfilt_sv4d, 4, -1)

static inline void imfilt_sepline_f32(float *o, ptrdiff_t n, const float **rows,
                                      const float *w, ptrdiff_t k, int sym)
{
    if (sym > 0) imfilt_sep_f32_s(o, n, rows, w, k);
    else if (sym < 0) imfilt_sep_f32_a(o, n, rows, w, k);
    else imfilt_sep_f32_g(o, n, rows, w, k);
}

static inline void imfilt_sepline_f64(double *o, ptrdiff_t n, const double **rows,
                                      const double *w, ptrdiff_t k, int sym)
{
    if (sym > 0) imfilt_sep_f64_s(o, n, rows, w, k);
    else if (sym < 0) imfilt_sep_f64_a(o, n, rows, w, k);
    else imfilt_sep_f64_g(o, n, rows, w, k);
}

#endif
