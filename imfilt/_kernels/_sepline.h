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
typedef float imfilt_sv16f __attribute__((vector_size(64)));
typedef double imfilt_sv8d __attribute__((vector_size(64)));
#else
#define IMFILT_SEP_VEC 0
#endif

#define IMFILT_SEP_SCALAR(T)                                                    \
    for (; j < n; j++) {                                                        \
        T acc;                                                                  \
        if (sym == 0) {                                                         \
            acc = w[0] * rows[0][j];                                            \
            for (t = 1; t < k; t++) acc = acc + w[t] * rows[t][j];              \
        } else if (sym > 0) {                                                   \
            acc = w[h] * rows[h][j];                                            \
            for (t = 0; t < h; t++)                                             \
                acc = acc + w[t] * (rows[t][j] + rows[k - 1 - t][j]);           \
        } else {                                                                \
            acc = w[h] * rows[h][j];                                            \
            for (t = 0; t < h; t++)                                             \
                acc = acc + w[t] * (rows[t][j] - rows[k - 1 - t][j]);           \
        }                                                                       \
        o[j] = acc;                                                             \
    }

#if IMFILT_SEP_VEC
#define IMFILT_SEP_LOAD(VT, p) ({ VT v_; memcpy(&v_, (p), sizeof v_); v_; })
#define IMFILT_SEP_STORE(p, v) do { __typeof__(v) s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)

/* Four vectors per block: the accumulators stay in registers over all taps. */
#define IMFILT_SEP_BLOCKS(T, VT, VL)                                            \
    for (; j + 4 * VL <= n; j += 4 * VL) {                                      \
        VT a0, a1, a2, a3;                                                      \
        if (sym == 0) {                                                         \
            const T *r = rows[0] + j; T s = w[0];                               \
            a0 = s * IMFILT_SEP_LOAD(VT, r);                                    \
            a1 = s * IMFILT_SEP_LOAD(VT, r + VL);                               \
            a2 = s * IMFILT_SEP_LOAD(VT, r + 2 * VL);                           \
            a3 = s * IMFILT_SEP_LOAD(VT, r + 3 * VL);                           \
            for (t = 1; t < k; t++) {                                           \
                r = rows[t] + j; s = w[t];                                      \
                a0 = a0 + s * IMFILT_SEP_LOAD(VT, r);                           \
                a1 = a1 + s * IMFILT_SEP_LOAD(VT, r + VL);                      \
                a2 = a2 + s * IMFILT_SEP_LOAD(VT, r + 2 * VL);                  \
                a3 = a3 + s * IMFILT_SEP_LOAD(VT, r + 3 * VL);                  \
            }                                                                   \
        } else {                                                                \
            const T *r = rows[h] + j; T s = w[h];                               \
            a0 = s * IMFILT_SEP_LOAD(VT, r);                                    \
            a1 = s * IMFILT_SEP_LOAD(VT, r + VL);                               \
            a2 = s * IMFILT_SEP_LOAD(VT, r + 2 * VL);                           \
            a3 = s * IMFILT_SEP_LOAD(VT, r + 3 * VL);                           \
            if (sym > 0) {                                                      \
                for (t = 0; t < h; t++) {                                       \
                    const T *p = rows[t] + j, *q = rows[k - 1 - t] + j;         \
                    s = w[t];                                                   \
                    a0 = a0 + s * (IMFILT_SEP_LOAD(VT, p) + IMFILT_SEP_LOAD(VT, q)); \
                    a1 = a1 + s * (IMFILT_SEP_LOAD(VT, p + VL) + IMFILT_SEP_LOAD(VT, q + VL)); \
                    a2 = a2 + s * (IMFILT_SEP_LOAD(VT, p + 2 * VL) + IMFILT_SEP_LOAD(VT, q + 2 * VL)); \
                    a3 = a3 + s * (IMFILT_SEP_LOAD(VT, p + 3 * VL) + IMFILT_SEP_LOAD(VT, q + 3 * VL)); \
                }                                                               \
            } else {                                                            \
                for (t = 0; t < h; t++) {                                       \
                    const T *p = rows[t] + j, *q = rows[k - 1 - t] + j;         \
                    s = w[t];                                                   \
                    a0 = a0 + s * (IMFILT_SEP_LOAD(VT, p) - IMFILT_SEP_LOAD(VT, q)); \
                    a1 = a1 + s * (IMFILT_SEP_LOAD(VT, p + VL) - IMFILT_SEP_LOAD(VT, q + VL)); \
                    a2 = a2 + s * (IMFILT_SEP_LOAD(VT, p + 2 * VL) - IMFILT_SEP_LOAD(VT, q + 2 * VL)); \
                    a3 = a3 + s * (IMFILT_SEP_LOAD(VT, p + 3 * VL) - IMFILT_SEP_LOAD(VT, q + 3 * VL)); \
                }                                                               \
            }                                                                   \
        }                                                                       \
        IMFILT_SEP_STORE(o + j, a0);                                            \
        IMFILT_SEP_STORE(o + j + VL, a1);                                       \
        IMFILT_SEP_STORE(o + j + 2 * VL, a2);                                   \
        IMFILT_SEP_STORE(o + j + 3 * VL, a3);                                   \
    }
#else
#define IMFILT_SEP_BLOCKS(T, VT, VL)
#endif

static void imfilt_sepline_f32(float *o, ptrdiff_t n, const float **rows,
                               const float *w, ptrdiff_t k, int sym)
{
    ptrdiff_t j = 0, t, h = k / 2;
    IMFILT_SEP_BLOCKS(float, imfilt_sv16f, 16)
    IMFILT_SEP_SCALAR(float)
}

static void imfilt_sepline_f64(double *o, ptrdiff_t n, const double **rows,
                               const double *w, ptrdiff_t k, int sym)
{
    ptrdiff_t j = 0, t, h = k / 2;
    IMFILT_SEP_BLOCKS(double, imfilt_sv8d, 8)
    IMFILT_SEP_SCALAR(double)
}

#endif
