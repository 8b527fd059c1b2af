"""Multi-channel convolution kernels (private).

Three kernels serve :func:`imfilt.conv2d` and :func:`imfilt.conv_transpose2d`.

``conv_rows``
    An implicit GEMM (no im2col buffer) for every (image, group) of one
    phase::

        out[n, k, orow[r], ocol0 + q * ostep] =
            bias[k] + sum_{c, jy, jx} wt[g, (c * Ty + jy) * Tx + jx, k]
                      * X[n, c, rowsrc[r, jy], colmap[q * cstep + off[jx]]]

    where a source index of -1 reads ``fill``.  conv2d is one phase whose
    tables come from the stride, dilation and boundary rule; a transposed
    convolution of stride ``s`` splits into ``s * s`` phases (output pixels
    with the same ``oy % s``, ``ox % s`` use the same kernel taps), each a
    plain gather: no scatter, no write races.  A task is ``tile`` output
    pixels of one output row: its ``C * Ty`` source rows are copied once
    into a per-thread buffer (boundary applied, split into ``cstep`` column
    phases so that every tap ``jx`` is a contiguous run at a fixed offset,
    ``koff``) and the register-blocked kernel below multiplies the weights
    with those runs, writing the output in place.  The product is our own
    kernel rather than BLAS: SciPy's OpenBLAS runs its AVX2 kernels here
    (slower than this AVX-512 one) and starts threads of its own inside ours.
``transpose_direct``
    The transposed convolution for few channels per group: each thread owns
    whole output rows and accumulates the kernel taps that reach them, in a
    fixed order, so results are bit-identical for any thread count.
``winograd3x3``
    3 x 3, stride 1 conv2d with many channels by Winograd's F(2x2, 3x3):
    each task copies its source rows (split into even and odd columns),
    transforms its 4 x 4 input tiles, runs one product of the kernel below
    per tile position (16 in all) with the transformed filters, and
    transforms the products back into 2 x 2 outputs.

Every table and shape is built and checked by ``imfilt.layers``.
"""

cimport cython
from cython.parallel cimport prange, threadid
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from imfilt._kernels._common cimport (imfilt_note_team, imfilt_openmp_compiled, imax, imin,
                                      real_t, use_threads)


# Register-blocked matrix product for one task: out (K, T) = w^T @ col with
# w (Kd, K) packed per channel block and col row kd a run of the task's row
# buffer at koff[kd].  Accumulators for 12 (AVX-512), 8, 4 then 1 output
# channels x 2 vectors of pixels live in vector registers (GCC/Clang vector
# extensions), so every loaded column vector is reused for several channels;
# AVX-512 ends each row with one masked block.  As in _microkernel.h (the build uses -ffp-contract=off)
# the multiply-add is explicit: FMA intrinsics when the target has FMA, in
# the vector blocks and in the scalar remainder alike, else the C library's
# fma() (_fma.h) everywhere, so every CPU level rounds the same way; each
# output sums kd in the same order on every path.
cdef extern from *:
    """
    #include <string.h>
    #if (defined(__GNUC__) || defined(__clang__)) && defined(__AVX512F__)
    #include <immintrin.h>
    #define IMFILT_L_VEC 1
    typedef float imfilt_lvf __attribute__((vector_size(64)));
    typedef double imfilt_lvd __attribute__((vector_size(64)));
    #define IMFILT_L_VLF 16
    #define IMFILT_L_VLD 8
    #define IMFILT_L_VFMA_F(acc, s, v) \
        ((imfilt_lvf)_mm512_fmadd_ps(_mm512_set1_ps(s), (__m512)(v), (__m512)(acc)))
    #define IMFILT_L_VFMA_D(acc, s, v) \
        ((imfilt_lvd)_mm512_fmadd_pd(_mm512_set1_pd(s), (__m512d)(v), (__m512d)(acc)))
    #elif (defined(__GNUC__) || defined(__clang__)) && defined(__FMA__) \
          && (defined(__x86_64__) || defined(__i386__))
    #include <immintrin.h>
    #define IMFILT_L_VEC 1
    typedef float imfilt_lvf __attribute__((vector_size(32)));
    typedef double imfilt_lvd __attribute__((vector_size(32)));
    #define IMFILT_L_VLF 8
    #define IMFILT_L_VLD 4
    #define IMFILT_L_VFMA_F(acc, s, v) \
        ((imfilt_lvf)_mm256_fmadd_ps(_mm256_set1_ps(s), (__m256)(v), (__m256)(acc)))
    #define IMFILT_L_VFMA_D(acc, s, v) \
        ((imfilt_lvd)_mm256_fmadd_pd(_mm256_set1_pd(s), (__m256d)(v), (__m256d)(acc)))
    #elif defined(__GNUC__) || defined(__clang__)
    #include "_fma.h"
    #define IMFILT_L_VEC 1
    typedef float imfilt_lvf __attribute__((vector_size(32)));
    typedef double imfilt_lvd __attribute__((vector_size(32)));
    #define IMFILT_L_VLF 8
    #define IMFILT_L_VLD 4
    #define IMFILT_L_VFMA_F(acc, s, v) imfilt_fma_lanes_v8f((acc), (v), (s))
    #define IMFILT_L_VFMA_D(acc, s, v) imfilt_fma_lanes_v4d((acc), (v), (s))
    #else
    #include "_fma.h"
    #define IMFILT_L_VEC 0
    typedef float imfilt_lvf;
    typedef double imfilt_lvd;
    #define IMFILT_L_VLF 1
    #define IMFILT_L_VLD 1
    #define IMFILT_L_VFMA_F(acc, s, v) imfilt_fmaf((s), (v), (acc))
    #define IMFILT_L_VFMA_D(acc, s, v) imfilt_fma((s), (v), (acc))
    #endif
    #if defined(__FMA__) && (defined(__GNUC__) || defined(__clang__))
    #define IMFILT_L_SFMA_F(acc, a, b) __builtin_fmaf((a), (b), (acc))
    #define IMFILT_L_SFMA_D(acc, a, b) __builtin_fma((a), (b), (acc))
    #else
    #include "_fma.h"
    #define IMFILT_L_SFMA_F(acc, a, b) imfilt_fmaf((a), (b), (acc))
    #define IMFILT_L_SFMA_D(acc, a, b) imfilt_fma((a), (b), (acc))
    #endif

    /* Masked loads/stores for the last, partial block of pixels (AVX-512
       only; other levels finish with the scalar loop). */
    #if defined(__AVX512F__) && (defined(__GNUC__) || defined(__clang__))
    #define IMFILT_L_MASKED 1
    #define IMFILT_L_MLOAD_F(m, p) ((imfilt_lvf)_mm512_maskz_loadu_ps((__mmask16)(m), (p)))
    #define IMFILT_L_MLOAD_D(m, p) ((imfilt_lvd)_mm512_maskz_loadu_pd((__mmask8)(m), (p)))
    #define IMFILT_L_MSTORE_F(m, p, v) _mm512_mask_storeu_ps((p), (__mmask16)(m), (__m512)(v))
    #define IMFILT_L_MSTORE_D(m, p, v) _mm512_mask_storeu_pd((p), (__mmask8)(m), (__m512d)(v))
    #else
    #define IMFILT_L_MASKED 0
    #define IMFILT_L_MLOAD_F(m, p) ((imfilt_lvf){0})
    #define IMFILT_L_MLOAD_D(m, p) ((imfilt_lvd){0})
    #define IMFILT_L_MSTORE_F(m, p, v) ((void)0)
    #define IMFILT_L_MSTORE_D(m, p, v) ((void)0)
    #endif

    /* MB output channels x 2 vectors of pixels at t0, summed over kd; full
       vectors (MASK 0) or the masked last block (MASK 1, lane masks m0, m1).
       wp is the channel block's packed weights, wp[kd * MB + kk]. */
    #define IMFILT_L_BLOCK(T_, VEC, VL, VFMA, MB, MASK, MLOAD, MSTORE)              \
        {                                                                           \
            VEC a0[MB], a1[MB];                                                     \
            const T_ *w = wp;                                                       \
            for (kk = 0; kk < MB; kk++) { a0[kk] = (VEC){0}; a1[kk] = (VEC){0}; }   \
            for (kd = 0; kd < Kd; kd++, w += MB) {                                  \
                VEC c0, c1;                                                         \
                const T_ *s = sr + koff[kd] + t0;                                   \
                if (MASK) { c0 = MLOAD(m0, s); c1 = MLOAD(m1, s + VL); }            \
                else { memcpy(&c0, s, sizeof(VEC)); memcpy(&c1, s + VL, sizeof(VEC)); } \
                for (kk = 0; kk < MB; kk++) {                                       \
                    a0[kk] = VFMA(a0[kk], w[kk], c0);                               \
                    a1[kk] = VFMA(a1[kk], w[kk], c1);                               \
                }                                                                   \
            }                                                                       \
            for (kk = 0; kk < MB; kk++) {                                           \
                T_ *o = dr + (k0 + kk) * dstride + t0;                              \
                T_ b = bias[k0 + kk];                                               \
                VEC r0 = a0[kk] + b, r1 = a1[kk] + b;                               \
                if (MASK) { MSTORE(m0, o, r0); MSTORE(m1, o + VL, r1); }            \
                else { memcpy(o, &r0, sizeof(VEC)); memcpy(o + VL, &r1, sizeof(VEC)); } \
            }                                                                       \
        }

    /* One block of MB channels over all T pixels (its packed weights stay in
       cache while the pixel strips stream), then wp moves to the next block.
       Levels without masked vectors finish the pixels with scalar loops in
       the same summation order. */
    #define IMFILT_L_STRIPS(T_, VEC, VL, VFMA, SFMA, MB, MLOAD, MSTORE)             \
        for (rr = 0; rr < nrows; rr++) {                                            \
            const T_ *sr = src + rr * spitch;                                       \
            T_ *dr = dst + rr * dpitch;                                             \
            t0 = 0;                                                                 \
            if (IMFILT_L_VEC) {                                                     \
                for (; t0 + 2 * VL <= T; t0 += 2 * VL)                              \
                    IMFILT_L_BLOCK(T_, VEC, VL, VFMA, MB, 0, MLOAD, MSTORE)         \
                if (IMFILT_L_MASKED && t0 < T) {                                    \
                    Py_ssize_t rem = T - t0;                                        \
                    m0 = rem >= VL ? (1u << VL) - 1u : (1u << rem) - 1u;            \
                    m1 = rem > VL ? (1u << (rem - VL)) - 1u : 0u;                   \
                    IMFILT_L_BLOCK(T_, VEC, VL, VFMA, MB, 1, MLOAD, MSTORE)         \
                    t0 = T;                                                         \
                }                                                                   \
            }                                                                       \
            for (kk = 0; kk < MB && t0 < T; kk++) {                                 \
                T_ *o = dr + (k0 + kk) * dstride;                                   \
                for (j = t0; j < T; j++) o[j] = 0;                                  \
                for (kd = 0; kd < Kd; kd++) {                                       \
                    T_ w = wp[kd * MB + kk];                                        \
                    const T_ *c = sr + koff[kd];                                    \
                    for (j = t0; j < T; j++) o[j] = SFMA(o[j], w, c[j]);            \
                }                                                                   \
                for (j = t0; j < T; j++) o[j] = o[j] + bias[k0 + kk];               \
            }                                                                       \
        }                                                                           \
        k0 += MB;                                                                   \
        wp += MB * Kd;

    /* The channel blocks, widest first: 12 (AVX-512 only: 24 accumulators of
       32 registers), 8, 4, 1.  Packing and product walk the same sequence. */
    #define IMFILT_L_FOR_BLOCKS(BODY)                                               \
        k0 = 0;                                                                     \
        if (IMFILT_L_MASKED)                                                        \
            while (k0 + 12 <= K) BODY(12)                                           \
        while (k0 + 8 <= K) BODY(8)                                                 \
        if (k0 + 4 <= K) BODY(4)                                                    \
        while (k0 < K) BODY(1)

    /* dst[rr * dpitch + k * dstride + t] =
           bias[k] + sum_kd w[kd, k] * src[rr * spitch + koff[kd] + t]
       for rr < nrows, k < K, t < T: an implicit GEMM whose "column" rows are
       runs of the caller's row buffer (no im2col copy).  wp holds w packed
       by NAME_pack: block by block, wp[k0 * Kd + kd * MB + kk]. */
    #define IMFILT_DEFINE_GEMM(NAME, T_)                                            \
    static void NAME##_pack(const T_ *wt, Py_ssize_t skd, Py_ssize_t sk, T_ *wpk,   \
                            Py_ssize_t K, Py_ssize_t Kd)                            \
    {                                                                               \
        Py_ssize_t k0, kd, kk;                                                      \
        IMFILT_L_FOR_BLOCKS(IMFILT_L_PACK_##T_)                                     \
    }                                                                               \
    static void NAME(const T_ *wp, const T_ *src, const Py_ssize_t *koff,           \
                     const T_ *bias, T_ *dst, Py_ssize_t dstride,                   \
                     Py_ssize_t K, Py_ssize_t Kd, Py_ssize_t T, Py_ssize_t nrows,   \
                     Py_ssize_t spitch, Py_ssize_t dpitch)                          \
    {                                                                               \
        Py_ssize_t t0, k0, kd, kk, j, rr;                                           \
        unsigned m0 = 0u, m1 = 0u;                                                  \
        (void)m0; (void)m1;                                                         \
        IMFILT_L_FOR_BLOCKS(IMFILT_L_STRIPS_##T_)                                   \
    }

    #define IMFILT_L_PACK_BODY(MB)                                                  \
        {                                                                           \
            for (kd = 0; kd < Kd; kd++)                                             \
                for (kk = 0; kk < MB; kk++)                                         \
                    *wpk++ = wt[kd * skd + (k0 + kk) * sk];                         \
            k0 += MB;                                                               \
        }
    #define IMFILT_L_PACK_float(MB) IMFILT_L_PACK_BODY(MB)
    #define IMFILT_L_PACK_double(MB) IMFILT_L_PACK_BODY(MB)
    #define IMFILT_L_STRIPS_float(MB) { IMFILT_L_STRIPS(float, imfilt_lvf, IMFILT_L_VLF, \
        IMFILT_L_VFMA_F, IMFILT_L_SFMA_F, MB, IMFILT_L_MLOAD_F, IMFILT_L_MSTORE_F) }
    #define IMFILT_L_STRIPS_double(MB) { IMFILT_L_STRIPS(double, imfilt_lvd, IMFILT_L_VLD, \
        IMFILT_L_VFMA_D, IMFILT_L_SFMA_D, MB, IMFILT_L_MLOAD_D, IMFILT_L_MSTORE_D) }

    IMFILT_DEFINE_GEMM(imfilt_gemm_f, float)
    IMFILT_DEFINE_GEMM(imfilt_gemm_d, double)

    /* Winograd F(2x2, 3x3) transforms of one task (see winograd3x3).
       Input: U[(p * 4 + q) * plane + c * TBp + a * Wt + j] = (B^T d B)[p, q]
       for the 4 x 4 tile d at rows 2a.. and columns 2j.. of channel c, with
       B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]].
       The source rows come split by column parity (_build_rows with a
       column step of 2): even columns seg[(2 c NV + v) Mp + j], odd ones
       seg[((2 c + 1) NV + v) Mp + j], so that every pass reads unit-stride
       runs: rows combined first (tmp: 8 runs of Wt + 1), then columns. */
    #define IMFILT_DEFINE_WINO_INPUT(NAME, T_)                                      \
    static void NAME(const T_ *seg, Py_ssize_t Cg, Py_ssize_t NV, Py_ssize_t Mp,    \
                     Py_ssize_t RT, Py_ssize_t Wt, Py_ssize_t TBp, Py_ssize_t plane, \
                     T_ *IMFILT_RESTRICT U, T_ *IMFILT_RESTRICT tmp)                \
    {                                                                               \
        Py_ssize_t c, a, j, p, par, h = Wt + 1;                                     \
        for (c = 0; c < Cg; c++)                                                    \
            for (a = 0; a < RT; a++) {                                              \
                for (par = 0; par < 2; par++) {                                     \
                    const T_ *IMFILT_RESTRICT r0 = seg + ((2 * c + par) * NV + 2 * a) * Mp; \
                    const T_ *IMFILT_RESTRICT r1 = r0 + Mp;                         \
                    const T_ *IMFILT_RESTRICT r2 = r1 + Mp;                         \
                    const T_ *IMFILT_RESTRICT r3 = r2 + Mp;                         \
                    T_ *IMFILT_RESTRICT t = tmp + 4 * par * h;                      \
                    for (j = 0; j < h; j++) {                                       \
                        t[j] = r0[j] - r2[j];                                       \
                        t[h + j] = r1[j] + r2[j];                                   \
                        t[2 * h + j] = r2[j] - r1[j];                               \
                        t[3 * h + j] = r1[j] - r3[j];                               \
                    }                                                               \
                }                                                                   \
                for (p = 0; p < 4; p++) {                                           \
                    const T_ *IMFILT_RESTRICT e = tmp + p * h;                      \
                    const T_ *IMFILT_RESTRICT o = tmp + (4 + p) * h;                \
                    T_ *IMFILT_RESTRICT u0 = U + 4 * p * plane + c * TBp + a * Wt;  \
                    T_ *IMFILT_RESTRICT u1 = u0 + plane;                            \
                    T_ *IMFILT_RESTRICT u2 = u1 + plane;                            \
                    T_ *IMFILT_RESTRICT u3 = u2 + plane;                            \
                    for (j = 0; j < Wt; j++) {                                      \
                        u0[j] = e[j] - e[j + 1];                                    \
                        u1[j] = o[j] + e[j + 1];                                    \
                        u2[j] = e[j + 1] - o[j];                                    \
                        u3[j] = o[j] - o[j + 1];                                    \
                    }                                                               \
                }                                                                   \
            }                                                                       \
    }

    /* Output: A^T m A + bias, A^T = [[1, 1, 1, 0], [0, 1, -1, -1]], for the
       products M[(p * 4 + q) * step + k * TBp + t]; rows 2a, 2a + 1 (those
       below `rows`) and columns < Wo of channel k go to out + k * plane.
       Returns 1 when an output (kept or not) came out inf or NaN. */
    #define IMFILT_DEFINE_WINO_OUTPUT(NAME, T_)                                     \
    static int NAME(const T_ *M, Py_ssize_t Kg, Py_ssize_t TBp, Py_ssize_t step,    \
                    Py_ssize_t RT, Py_ssize_t Wt, const T_ *bias, T_ *out,          \
                    Py_ssize_t plane, Py_ssize_t Wo, Py_ssize_t rows,               \
                    T_ *IMFILT_RESTRICT tmp)                                        \
    {                                                                               \
        Py_ssize_t k, a, j, r;                                                      \
        int bad = 0;                                                                \
        T_ *IMFILT_RESTRICT v = tmp;              /* 4 runs of Wt: y00 y01 y10 y11 */ \
        T_ *IMFILT_RESTRICT y = tmp + 4 * Wt;     /* one output row, 2 Wt */      \
        for (k = 0; k < Kg; k++) {                                                  \
            T_ b = bias[k];                                                         \
            for (a = 0; a < RT; a++) {                                              \
                const T_ *IMFILT_RESTRICT m = M + k * TBp + a * Wt;                 \
                for (j = 0; j < Wt; j++) {                                          \
                    T_ s00 = m[j] + m[4 * step + j] + m[8 * step + j];              \
                    T_ s01 = m[step + j] + m[5 * step + j] + m[9 * step + j];       \
                    T_ s02 = m[2 * step + j] + m[6 * step + j] + m[10 * step + j];  \
                    T_ s03 = m[3 * step + j] + m[7 * step + j] + m[11 * step + j];  \
                    T_ s10 = m[4 * step + j] - m[8 * step + j] - m[12 * step + j];  \
                    T_ s11 = m[5 * step + j] - m[9 * step + j] - m[13 * step + j];  \
                    T_ s12 = m[6 * step + j] - m[10 * step + j] - m[14 * step + j]; \
                    T_ s13 = m[7 * step + j] - m[11 * step + j] - m[15 * step + j]; \
                    v[j] = s00 + s01 + s02 + b;                                     \
                    v[Wt + j] = s01 - s02 - s03 + b;                                \
                    v[2 * Wt + j] = s10 + s11 + s12 + b;                            \
                    v[3 * Wt + j] = s11 - s12 - s13 + b;                            \
                }                                                                   \
                for (j = 0; j < 4 * Wt; j++)                                        \
                    bad |= (v[j] - v[j] != 0);                                      \
                for (r = 0; r < 2 && 2 * a + r < rows; r++) {                       \
                    const T_ *IMFILT_RESTRICT e = v + 2 * r * Wt;                   \
                    const T_ *IMFILT_RESTRICT o = e + Wt;                           \
                    T_ *IMFILT_RESTRICT d = out + k * plane + (2 * a + r) * Wo;     \
                    if (2 * Wt == Wo) {                                             \
                        for (j = 0; j < Wt; j++) {                                  \
                            d[2 * j] = e[j];                                        \
                            d[2 * j + 1] = o[j];                                    \
                        }                                                           \
                    } else {                                                        \
                        for (j = 0; j < Wt; j++) {                                  \
                            y[2 * j] = e[j];                                        \
                            y[2 * j + 1] = o[j];                                    \
                        }                                                           \
                        memcpy(d, y, (size_t)Wo * sizeof(T_));                      \
                    }                                                               \
                }                                                                   \
            }                                                                       \
        }                                                                           \
        return bad;                                                                 \
    }

    #if defined(__GNUC__) || defined(__clang__)
    #define IMFILT_RESTRICT __restrict__
    #else
    #define IMFILT_RESTRICT
    #endif
    IMFILT_DEFINE_WINO_INPUT(imfilt_wino_in_f, float)
    IMFILT_DEFINE_WINO_INPUT(imfilt_wino_in_d, double)
    IMFILT_DEFINE_WINO_OUTPUT(imfilt_wino_out_f, float)
    IMFILT_DEFINE_WINO_OUTPUT(imfilt_wino_out_d, double)
    """
    void imfilt_gemm_f_pack(const float *wt, Py_ssize_t skd, Py_ssize_t sk, float *wpk,
                            Py_ssize_t K, Py_ssize_t Kd) noexcept nogil
    void imfilt_gemm_d_pack(const double *wt, Py_ssize_t skd, Py_ssize_t sk, double *wpk,
                            Py_ssize_t K, Py_ssize_t Kd) noexcept nogil
    void imfilt_gemm_f(const float *wp, const float *src, const Py_ssize_t *koff,
                       const float *bias, float *dst, Py_ssize_t dstride,
                       Py_ssize_t K, Py_ssize_t Kd, Py_ssize_t T, Py_ssize_t nrows,
                       Py_ssize_t spitch, Py_ssize_t dpitch) noexcept nogil
    void imfilt_gemm_d(const double *wp, const double *src, const Py_ssize_t *koff,
                       const double *bias, double *dst, Py_ssize_t dstride,
                       Py_ssize_t K, Py_ssize_t Kd, Py_ssize_t T, Py_ssize_t nrows,
                       Py_ssize_t spitch, Py_ssize_t dpitch) noexcept nogil
    void imfilt_wino_in_f(const float *seg, Py_ssize_t Cg, Py_ssize_t NV, Py_ssize_t Mp,
                          Py_ssize_t RT, Py_ssize_t Wt, Py_ssize_t TBp, Py_ssize_t plane,
                          float *U, float *tmp) noexcept nogil
    void imfilt_wino_in_d(const double *seg, Py_ssize_t Cg, Py_ssize_t NV, Py_ssize_t Mp,
                          Py_ssize_t RT, Py_ssize_t Wt, Py_ssize_t TBp, Py_ssize_t plane,
                          double *U, double *tmp) noexcept nogil
    int imfilt_wino_out_f(const float *M, Py_ssize_t Kg, Py_ssize_t TBp, Py_ssize_t step,
                          Py_ssize_t RT, Py_ssize_t Wt, const float *bias, float *out,
                          Py_ssize_t plane, Py_ssize_t Wo, Py_ssize_t rows,
                          float *tmp) noexcept nogil
    int imfilt_wino_out_d(const double *M, Py_ssize_t Kg, Py_ssize_t TBp, Py_ssize_t step,
                          Py_ssize_t RT, Py_ssize_t Wt, const double *bias, double *out,
                          Py_ssize_t plane, Py_ssize_t Wo, Py_ssize_t rows,
                          double *tmp) noexcept nogil



def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


cdef inline Py_ssize_t _ceil_div(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """ceil(a / b) for b > 0 and any sign of a (same under C and Python division)."""
    if a <= 0:
        return -((-a) // b)
    return (a + b - 1) // b


cdef inline Py_ssize_t _task_group(Py_ssize_t task, Py_ssize_t per_group,
                                   Py_ssize_t groups) noexcept nogil:
    """The group of task ``task`` of ``N * groups * per_group`` (image-major order)."""
    return (task // per_group) % groups


cdef inline Py_ssize_t _task_image(Py_ssize_t task, Py_ssize_t per_group,
                                   Py_ssize_t groups) noexcept nogil:
    """The image of task ``task`` of ``N * groups * per_group`` (image-major order)."""
    return task // per_group // groups


cdef real_t *_packed(const real_t[:, :, :] wt, Py_ssize_t extra) except NULL:
    """The (M, Kd, K) weight matrices ``wt`` (any strides: conv2d passes
    its (groups, Kg, Kd) weights transposed, without a copy), each packed
    for the product kernel (``NAME_pack``), in one new buffer of
    ``M Kd K + extra`` elements (the caller frees it)."""
    cdef Py_ssize_t m, M = wt.shape[0], Kd = wt.shape[1], K = wt.shape[2]
    cdef Py_ssize_t skd = wt.strides[1] // <Py_ssize_t>sizeof(real_t)
    cdef Py_ssize_t sk = wt.strides[2] // <Py_ssize_t>sizeof(real_t)
    cdef real_t *wpk = <real_t *>malloc(<size_t>(M * Kd * K + extra) * sizeof(real_t))
    if wpk == NULL:
        raise MemoryError("imfilt: no memory for the packed weights")
    for m in range(M):
        if real_t is float:
            imfilt_gemm_f_pack(&wt[m, 0, 0], skd, sk, wpk + m * Kd * K, K, Kd)
        else:
            imfilt_gemm_d_pack(&wt[m, 0, 0], skd, sk, wpk + m * Kd * K, K, Kd)
    return wpk


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _build_rows(const real_t *xg, Py_ssize_t Cg, Py_ssize_t H, Py_ssize_t W,
                      const Py_ssize_t *rows, Py_ssize_t NV, const Py_ssize_t *colmap,
                      Py_ssize_t u0, Py_ssize_t span, Py_ssize_t cstep, Py_ssize_t Mp,
                      Py_ssize_t lin_lo, Py_ssize_t lin_hi, Py_ssize_t ubase, real_t fill,
                      real_t *seg) noexcept nogil:
    """The source rows one task reads, split by column phase::

        seg[((c * cstep + ph) * NV + v) * Mp + m] = X[c, rows[v], colmap[u]]
        with u = u0 + m * cstep + ph, for m * cstep + ph < span

    and ``fill`` elsewhere (also where a row or column index is -1), so the
    pixels a task computes and then drops never read stale memory.
    ``colmap[u] == u + ubase`` on ``[lin_lo, lin_hi)``: a plain (strided) copy.
    """
    cdef Py_ssize_t c, v, ph, m, nm, mlo, mhi, srow, sidx
    cdef const real_t *xr
    cdef const real_t *xs
    cdef real_t *d
    for c in range(Cg):
        for ph in range(cstep):
            nm = imin(_ceil_div(span - ph, cstep), Mp) if span > ph else 0
            for v in range(NV):
                srow = rows[v]
                d = seg + ((c * cstep + ph) * NV + v) * Mp
                if srow < 0:
                    for m in range(Mp):
                        d[m] = fill
                    continue
                xr = xg + (c * H + srow) * W
                mlo = imin(imax(_ceil_div(lin_lo - u0 - ph, cstep), 0), nm)
                mhi = imin(imax(_ceil_div(lin_hi - u0 - ph, cstep), mlo), nm)
                for m in range(mlo):
                    sidx = colmap[u0 + m * cstep + ph]
                    d[m] = xr[sidx] if sidx >= 0 else fill
                if cstep == 1:
                    memcpy(d + mlo, xr + u0 + mlo + ph + ubase,
                           <size_t>(mhi - mlo) * sizeof(real_t))
                elif cstep == 2:     # a constant stride the compiler vectorises
                    xs = xr + u0 + ph + ubase
                    for m in range(mlo, mhi):
                        d[m] = xs[2 * m]
                else:
                    for m in range(mlo, mhi):
                        d[m] = xr[u0 + m * cstep + ph + ubase]
                for m in range(mhi, nm):
                    sidx = colmap[u0 + m * cstep + ph]
                    d[m] = xr[sidx] if sidx >= 0 else fill
                for m in range(nm, Mp):
                    d[m] = fill


@cython.boundscheck(False)
@cython.wraparound(False)
def conv_rows(const real_t[:, :, :, ::1] x not None,       # IN  (N, C, H, W)
              const real_t[:, :, :] wt not None,           # IN  (groups, Kd, Kg), any strides
              const real_t[::1] bias not None,             # IN  (K,)
              real_t[:, :, :, ::1] out not None,           # OUT (N, K, Ho, Wo)
              const Py_ssize_t[:, ::1] rowtab not None,    # (ceil(R / nr), NV) source rows
              const Py_ssize_t[::1] orow not None,         # (R,) output rows
              const Py_ssize_t[::1] colmap not None,       # (U,) source columns, -1 = fill
              const Py_ssize_t[::1] koff not None,         # (Kd,) tap offsets into a task
              Py_ssize_t nr, bint flat, Py_ssize_t opitch,
              Py_ssize_t Q, Py_ssize_t cstep, Py_ssize_t offmax,
              Py_ssize_t lin_lo, Py_ssize_t lin_hi, Py_ssize_t ubase,
              Py_ssize_t ocol0, Py_ssize_t ostep, real_t fill,
              real_t[:, ::1] scratch not None,             # (nthreads, task buffers)
              Py_ssize_t tile, Py_ssize_t Mp, int nthreads, Py_ssize_t min_work):
    """Implicit GEMM for every (image, group) of one convolution phase::

        out[n, g Kg + k, orow[r], ocol0 + q * ostep] = bias[g Kg + k] +
            sum_kd wt[g, kd, k] * X[n, g Cg + c, row(r, jy), colmap[q * cstep + off[jx]]]

    with ``kd = (c * Ty + jy) * Tx + jx``.  A task is ``nr`` output rows
    ``r0 + rr`` (``r0 = i nr``, stored ``opitch`` elements apart) and ``tile``
    columns of one (image, group): its source rows ``rowtab[i, v]`` are
    copied once into a per-thread buffer, split by column phase, and output
    pixel ``(rr, q)`` of the task reads tap ``kd`` at
    ``buffer[koff[kd] + rr Mp + q]`` (``imfilt.layers`` builds ``rowtab`` and
    ``koff`` so that this is ``row(r0 + rr, jy)``).  With ``flat`` the
    task's rows are one run of ``(nr - 1) Mp + Tq`` pixels whose ``Mp - Tq``
    pixels between rows are computed and dropped (narrow rows).  Tasks do not depend on
    ``nthreads`` and each output sums over kd in one fixed order, so results
    are bit-identical for any thread count.  Runs serially below
    ``min_work`` multiply-adds; returns the threads that ran.
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t groups = wt.shape[0], Kd = wt.shape[1], Kg = wt.shape[2]
    cdef Py_ssize_t K = out.shape[1], Ho = out.shape[2], Wo = out.shape[3]
    cdef Py_ssize_t R = orow.shape[0], NV = rowtab.shape[1], NI = rowtab.shape[0]
    cdef Py_ssize_t Cg = C // groups if groups else 0
    cdef Py_ssize_t nch, ntasks, task, rest, ch, i, g, n, qa, Tq, k, q, rr, nri, tid
    cdef Py_ssize_t sstride = scratch.shape[1], segsize = Cg * cstep * NV * Mp
    cdef const real_t *xp
    cdef const real_t *wp
    cdef const real_t *bp = &bias[0]
    cdef real_t *outp
    cdef real_t *sp = &scratch[0, 0]
    cdef real_t *buf
    cdef real_t *o
    cdef real_t *ct
    cdef real_t *wpk
    cdef int used = 1

    if R == 0 or Q == 0 or Kg == 0 or N == 0 or groups == 0 or Kd == 0:
        return used
    xp = &x[0, 0, 0, 0]
    outp = &out[0, 0, 0, 0]
    nch = (Q + tile - 1) // tile
    ntasks = N * groups * NI * nch
    if nthreads > ntasks:
        nthreads = <int>ntasks
    wpk = _packed(wt, 0)
    wp = wpk
    with nogil:
        for task in prange(ntasks, num_threads=nthreads, schedule="dynamic", chunksize=1,
                           use_threads_if=use_threads(nthreads, N * K * R * Q * Kd, min_work)):
            imfilt_note_team(&used)
            tid = threadid()
            # (a prange body assigns its private variables itself)
            g = _task_group(task, nch * NI, groups)
            n = _task_image(task, nch * NI, groups)
            rest = task % (nch * NI)
            ch = rest % nch
            i = rest // nch
            qa = ch * tile
            Tq = imin(tile, Q - qa)
            nri = imin(nr, R - i * nr)
            buf = sp + tid * sstride
            _build_rows(xp + (n * C + g * Cg) * H * W, Cg, H, W, &rowtab[i, 0], NV,
                        &colmap[0], qa * cstep, (Tq - 1) * cstep + offmax + 1, cstep, Mp,
                        lin_lo, lin_hi, ubase, fill, buf)
            o = outp + (n * K + g * Kg) * Ho * Wo + orow[i * nr] * Wo + ocol0 + qa * ostep
            if flat:
                # Rows back to back, Mp apart: the Mp - Tq pixels between them
                # are computed and dropped, narrow rows still fill the vectors.
                ct = buf + segsize
                if real_t is float:
                    imfilt_gemm_f(wp + g * Kd * Kg, buf, &koff[0], bp + g * Kg, ct,
                                  (nri - 1) * Mp + Tq, Kg, Kd, (nri - 1) * Mp + Tq, 1, 0, 0)
                else:
                    imfilt_gemm_d(wp + g * Kd * Kg, buf, &koff[0], bp + g * Kg, ct,
                                  (nri - 1) * Mp + Tq, Kg, Kd, (nri - 1) * Mp + Tq, 1, 0, 0)
                for k in range(Kg):
                    for rr in range(nri):
                        if ostep == 1:
                            memcpy(o + k * Ho * Wo + rr * opitch,
                                   ct + k * ((nri - 1) * Mp + Tq) + rr * Mp,
                                   <size_t>Tq * sizeof(real_t))
                        else:
                            for q in range(Tq):
                                o[k * Ho * Wo + rr * opitch + q * ostep] = \
                                    ct[k * ((nri - 1) * Mp + Tq) + rr * Mp + q]
            elif ostep == 1:
                if real_t is float:    # float/double variants of one kernel (SIMD widths differ)
                    imfilt_gemm_f(wp + g * Kd * Kg, buf, &koff[0], bp + g * Kg, o,
                                  Ho * Wo, Kg, Kd, Tq, nri, Mp, opitch)
                else:
                    imfilt_gemm_d(wp + g * Kd * Kg, buf, &koff[0], bp + g * Kg, o,
                                  Ho * Wo, Kg, Kd, Tq, nri, Mp, opitch)
            else:
                ct = buf + segsize
                if real_t is float:
                    imfilt_gemm_f(wp + g * Kd * Kg, buf, &koff[0], bp + g * Kg, ct,
                                  nri * Tq, Kg, Kd, Tq, nri, Mp, Tq)
                else:
                    imfilt_gemm_d(wp + g * Kd * Kg, buf, &koff[0], bp + g * Kg, ct,
                                  nri * Tq, Kg, Kd, Tq, nri, Mp, Tq)
                for k in range(Kg):
                    for rr in range(nri):
                        for q in range(Tq):
                            o[k * Ho * Wo + rr * opitch + q * ostep] = \
                                ct[(k * nri + rr) * Tq + q]
    free(wpk)
    return used


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _transpose_row(const real_t *x, Py_ssize_t Cg, Py_ssize_t H, Py_ssize_t W,
                         const real_t *w, Py_ssize_t Kg, Py_ssize_t kh, Py_ssize_t kw,
                         Py_ssize_t oy, Py_ssize_t sh, Py_ssize_t sw,
                         Py_ssize_t ph, Py_ssize_t dh, Py_ssize_t nrx,
                         const Py_ssize_t *nph, const Py_ssize_t *pkx,
                         const Py_ssize_t *pbase, const Py_ssize_t *plo,
                         const Py_ssize_t *phi, real_t b,
                         real_t *o, Py_ssize_t Wo, real_t *t) noexcept nogil:
    """One output row of a transposed convolution (one output channel).

    Output columns with the same ``ox % sw`` (phase ``rx``) use the same
    kernel columns, so each phase is accumulated into the contiguous scratch
    row ``t`` (vectorised loads and stores, no strided read-modify-write)
    and stored once.  ``x`` points at the group's first input channel, ``w``
    at ``weight[c0, k]``; channel ``c`` of the group uses
    ``w + c * Kg * kh * kw``.  Phase tables (``nph``, ``pkx``, ``pbase``,
    ``plo``, ``phi``, each ``(sw, kw)``) give the kernel columns of a phase
    and the range of ``q`` where source column ``q + base`` exists.
    """
    cdef Py_ssize_t rx, Q, q, c, ky, j, kx, num, iy, lo, hi, base
    cdef const real_t *xr
    cdef const real_t *xb
    cdef real_t wv
    for rx in range(nrx):
        Q = (Wo - rx + sw - 1) // sw
        for q in range(Q):
            t[q] = b
        for c in range(Cg):
            for ky in range(kh):
                num = oy + ph - ky * dh
                if num < 0 or num % sh != 0:
                    continue
                iy = num // sh
                if iy >= H:
                    continue
                xr = x + (c * H + iy) * W
                for j in range(nph[rx]):
                    kx = pkx[rx * kw + j]
                    wv = w[(c * Kg * kh + ky) * kw + kx]
                    base = pbase[rx * kw + j]
                    lo = plo[rx * kw + j]
                    hi = phi[rx * kw + j]
                    xb = xr + base
                    for q in range(lo, hi):
                        t[q] += wv * xb[q]
        if sw == 1:
            for q in range(Q):
                o[q] = t[q]
        else:
            for q in range(Q):
                o[rx + q * sw] = t[q]


@cython.boundscheck(False)
@cython.wraparound(False)
def transpose_direct(const real_t[:, :, :, ::1] x not None,   # IN  (N, Cin, H, W)
                     const real_t[:, :, :, ::1] w not None,   # IN  (Cin, Kg, kh, kw)
                     const real_t[::1] bias not None,         # IN  (Cout,)
                     real_t[:, :, :, ::1] out not None,       # OUT (N, Cout, Ho, Wo)
                     Py_ssize_t groups,
                     Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t dh,
                     const Py_ssize_t[::1] nph not None,      # (sw,) columns per phase
                     const Py_ssize_t[:, ::1] pkx not None,   # (sw, kw)
                     const Py_ssize_t[:, ::1] pbase not None,  # (sw, kw)
                     const Py_ssize_t[:, ::1] plo not None,   # (sw, kw)
                     const Py_ssize_t[:, ::1] phi not None,   # (sw, kw)
                     real_t[:, ::1] scratch not None,         # (nthreads, Wo)
                     int nthreads, Py_ssize_t min_work):
    """Transposed convolution, each thread owning whole output rows; returns the threads."""
    cdef Py_ssize_t N = x.shape[0], Cin = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t Kg = w.shape[1], kh = w.shape[2], kw = w.shape[3]
    cdef Py_ssize_t Cout = out.shape[1], Ho = out.shape[2], Wo = out.shape[3]
    cdef Py_ssize_t Cg = Cin // groups
    cdef Py_ssize_t nrx = sw if sw < Wo else Wo
    cdef Py_ssize_t rows = N * Cout * Ho, r, n, co, oy, g, rem, tid
    cdef Py_ssize_t sstride = scratch.shape[1]
    cdef const real_t *xp
    cdef const real_t *wp = &w[0, 0, 0, 0]
    cdef real_t *op
    cdef real_t *sp = &scratch[0, 0]
    cdef bint parallel
    cdef int used = 1
    if rows == 0 or Wo == 0:
        return used
    xp = &x[0, 0, 0, 0]
    op = &out[0, 0, 0, 0]
    parallel = use_threads(nthreads, rows * Wo * Cg * kh * kw, min_work)
    with nogil:
        for r in prange(rows, num_threads=nthreads, schedule="static",
                        use_threads_if=parallel):
            imfilt_note_team(&used)
            tid = threadid()
            n = r // (Cout * Ho)
            rem = r - n * Cout * Ho
            co = rem // Ho
            oy = rem - co * Ho
            g = co // Kg
            _transpose_row(xp + (n * Cin + g * Cg) * H * W, Cg, H, W,
                           wp + ((g * Cg) * Kg + (co - g * Kg)) * kh * kw,
                           Kg, kh, kw, oy, sh, sw, ph, dh, nrx,
                           &nph[0], &pkx[0, 0], &pbase[0, 0], &plo[0, 0], &phi[0, 0],
                           bias[co], op + r * Wo, Wo, sp + tid * sstride)
    return used


# --------------------------------------------------------------------------
# Winograd F(2x2, 3x3)

@cython.boundscheck(False)
@cython.wraparound(False)
def winograd3x3(const real_t[:, :, :, ::1] x not None,      # IN  (N, C, H, W)
                const real_t[:, :, :] vt not None,          # IN  (groups 16, Cg, Kg)
                const real_t[::1] bias not None,            # IN  (K,)
                real_t[:, :, :, ::1] out not None,          # OUT (N, K, Ho, Wo)
                const Py_ssize_t[::1] rowext not None,      # (2 Ht + 2,) source rows, -1 zero
                const Py_ssize_t[::1] colext not None,      # (2 Wt + 2,) source columns
                Py_ssize_t lin_lo, Py_ssize_t lin_hi, Py_ssize_t ubase,
                Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t RT,
                real_t[:, ::1] scratch not None,            # (nthreads, task buffers)
                int[::1] checks not None,                   # (nthreads,) OUT
                int nthreads, Py_ssize_t min_work):
    """3 x 3, stride 1 cross-correlation by Winograd's F(2x2, 3x3)::

        out[n, g Kg + k] = bias + sum_c A^T [ (G w G^T) * (B^T d B) ] A

    for the tile rows ``i0 .. i1 - 1`` (output rows ``2 i0 .. 2 i1 - 1``)
    of every (image, group).  A task is ``RT`` tile rows of one (image,
    group): its ``2 RT + 2`` source rows per channel are copied once
    (``_build_rows``, boundary applied through ``rowext``/``colext``, split
    into even and odd columns), their tiles transformed
    (``imfilt_wino_in_*``), multiplied with the transformed weights
    ``vt[g * 16 + pos, c, k]`` by the register-blocked product, one matrix
    product per tile position ``pos``, and transformed back
    (``imfilt_wino_out_*``).  Tasks depend on the shapes only and each output
    is computed in one fixed order, so results are bit-identical for any
    thread count.  ``checks[tid]`` becomes 1 when an output came out inf or
    NaN (the caller then computes directly).  Returns the threads that ran.
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t groups = vt.shape[0] // 16, Kg = vt.shape[2], Cg = vt.shape[1]
    cdef Py_ssize_t K = out.shape[1], Ho = out.shape[2], Wo = out.shape[3]
    cdef Py_ssize_t Wt = (Wo + 1) // 2, n2 = 2 * Wt + 2
    cdef Py_ssize_t Mp = (Wt + 1 + 15) // 16 * 16, NV = 2 * RT + 2
    cdef Py_ssize_t TBp = (RT * Wt + 15) // 16 * 16
    cdef Py_ssize_t nb = (i1 - i0 + RT - 1) // RT if i1 > i0 else 0
    cdef Py_ssize_t ntasks = N * groups * nb, task, g, n, a0, RTa, pos, c, tid
    cdef int bad
    cdef Py_ssize_t sstride = scratch.shape[1]
    # The 16 planes of transformed tiles and of products are a cache line
    # more than a multiple of the page apart, so that the transforms' 16
    # streams do not all map to the same sets of the L1 cache.
    cdef Py_ssize_t uplane = Cg * TBp + 64 // sizeof(real_t), mplane = Kg * TBp + 64 // sizeof(real_t)
    cdef Py_ssize_t segsize = 2 * Cg * NV * Mp, usize = 16 * uplane, msize = 16 * mplane
    cdef real_t *buf
    cdef real_t *wpk
    cdef real_t *zero
    cdef Py_ssize_t *koff
    cdef const real_t *xp = &x[0, 0, 0, 0]
    cdef real_t *op = &out[0, 0, 0, 0]
    cdef real_t *sp = &scratch[0, 0]
    cdef int used = 1
    if ntasks == 0 or Kg == 0 or Cg == 0:
        return used
    if sstride < segsize + usize + msize + 8 * (Wt + 1):
        raise ValueError("winograd3x3: scratch rows too short")
    if nthreads > ntasks:
        nthreads = <int>ntasks
    # The transformed filters packed per (group, tile position), then Kg zeros.
    wpk = _packed(vt, Kg)
    koff = <Py_ssize_t *>malloc(<size_t>Cg * sizeof(Py_ssize_t))
    if koff == NULL:
        free(wpk)
        raise MemoryError("winograd3x3: no memory for the tap offsets")
    zero = wpk + groups * 16 * Cg * Kg
    for c in range(Kg):
        zero[c] = 0
    for c in range(Cg):
        koff[c] = c * TBp
    with nogil:
        for task in prange(ntasks, num_threads=nthreads, schedule="dynamic", chunksize=1,
                           use_threads_if=use_threads(nthreads, N * K * Wt * (i1 - i0) * 64 * Cg,
                                                      min_work)):
            imfilt_note_team(&used)
            tid = threadid()
            g = _task_group(task, nb, groups)
            n = _task_image(task, nb, groups)
            a0 = i0 + (task % nb) * RT
            RTa = imin(RT, i1 - a0)
            buf = sp + tid * sstride
            _build_rows(xp + (n * C + g * Cg) * H * W, Cg, H, W, &rowext[2 * a0], 2 * RTa + 2,
                        &colext[0], 0, n2, 2, Mp, lin_lo, lin_hi, ubase, 0, buf)
            if real_t is float:
                imfilt_wino_in_f(buf, Cg, 2 * RTa + 2, Mp, RTa, Wt, TBp, uplane, buf + segsize,
                                 buf + segsize + usize + msize)
            else:
                imfilt_wino_in_d(buf, Cg, 2 * RTa + 2, Mp, RTa, Wt, TBp, uplane, buf + segsize,
                                 buf + segsize + usize + msize)
            for pos in range(16):
                if real_t is float:
                    imfilt_gemm_f(wpk + (g * 16 + pos) * Cg * Kg, buf + segsize + pos * uplane,
                                  koff, zero, buf + segsize + usize + pos * mplane, TBp,
                                  Kg, Cg, RTa * Wt, 1, 0, 0)
                else:
                    imfilt_gemm_d(wpk + (g * 16 + pos) * Cg * Kg, buf + segsize + pos * uplane,
                                  koff, zero, buf + segsize + usize + pos * mplane, TBp,
                                  Kg, Cg, RTa * Wt, 1, 0, 0)
            if real_t is float:
                bad = imfilt_wino_out_f(buf + segsize + usize, Kg, TBp, mplane, RTa, Wt, &bias[g * Kg],
                                        op + ((n * K + g * Kg) * Ho + 2 * a0) * Wo, Ho * Wo, Wo,
                                        Ho - 2 * a0, buf + segsize + usize + msize)
            else:
                bad = imfilt_wino_out_d(buf + segsize + usize, Kg, TBp, mplane, RTa, Wt, &bias[g * Kg],
                                        op + ((n * K + g * Kg) * Ho + 2 * a0) * Wo, Ho * Wo, Wo,
                                        Ho - 2 * a0, buf + segsize + usize + msize)
            checks[tid] = checks[tid] | bad
    free(wpk)
    free(koff)
    return used
