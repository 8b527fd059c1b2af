"""Multi-channel convolution kernels (private).

Two kernels serve :func:`imfilt.conv2d` and :func:`imfilt.conv_transpose2d`.

``gather_gemm``
    A tiled im2col + matrix product for one (image, group, phase) problem::

        out[k, orow[r], ocol0 + q * ostep] =
            bias[k] + sum_{c, jy, jx} wmat[k, (c * Ty + jy) * Tx + jx]
                                      * X[c, rowsrc[r, jy], colsrc[jx, q]]

    where a source index of -1 reads ``fill``.  conv2d is one phase whose
    tables come from the stride, dilation and boundary rule; a transposed
    convolution of stride ``s`` splits into ``s * s`` phases (output pixels
    with the same ``oy % s``, ``ox % s`` use the same kernel taps), each a
    plain gather: no scatter, no write races.  Only ``tile`` output rows
    pixels are expanded at a time (never a full-size im2col buffer).  Each
    thread takes whole tiles (im2col, register-blocked product, write-back)
    in one parallel region and writes disjoint output pixels.  The product
    is our own micro-kernel rather than BLAS: SciPy's OpenBLAS starts its
    own threads inside ours, which oversubscribes the cores.
``transpose_direct``
    The transposed convolution for few channels per group: each thread owns
    whole output rows and accumulates the kernel taps that reach them, in a
    fixed order, so results are bit-identical for any thread count.

Every table and shape is built and checked by ``imfilt.layers``.
"""

cimport cython
from cython.parallel cimport prange, threadid
from libc.string cimport memcpy

from imfilt._kernels._common cimport (imfilt_openmp_compiled, imfilt_note_team, imin, real_t,
                                      use_threads)


# Register-blocked matrix product for one tile: ct (K, T) = wt^T @ col with
# wt (Kd, K) and col (Kd, T), all row-major.  Accumulators for 8 (then 4,
# then 1) output channels x 2 vectors of pixels live in vector registers
# (GCC/Clang vector extensions), so every loaded column vector is reused for
# several channels.  As in _microkernel.h (the build uses -ffp-contract=off)
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

    /* MB output channels x 2 vectors of pixels, summed over kd. */
    #define IMFILT_L_BLOCK(T_, VEC, VL, VFMA, MB)                                   \
        {                                                                           \
            VEC a0[MB], a1[MB];                                                     \
            for (kk = 0; kk < MB; kk++) { a0[kk] = (VEC){0}; a1[kk] = (VEC){0}; }   \
            for (kd = 0; kd < Kd; kd++) {                                           \
                VEC c0, c1;                                                         \
                const T_ *w = wt + kd * K + k0;                                     \
                memcpy(&c0, col + kd * T + t0, sizeof(VEC));                        \
                memcpy(&c1, col + kd * T + t0 + VL, sizeof(VEC));                   \
                for (kk = 0; kk < MB; kk++) {                                       \
                    a0[kk] = VFMA(a0[kk], w[kk], c0);                               \
                    a1[kk] = VFMA(a1[kk], w[kk], c1);                               \
                }                                                                   \
            }                                                                       \
            for (kk = 0; kk < MB; kk++) {                                           \
                memcpy(ct + (k0 + kk) * T + t0, &a0[kk], sizeof(VEC));              \
                memcpy(ct + (k0 + kk) * T + t0 + VL, &a1[kk], sizeof(VEC));         \
            }                                                                       \
        }

    #define IMFILT_DEFINE_GEMM(NAME, T_, VEC, VL, VFMA, SFMA)                       \
    static void NAME(const T_ *wt, const T_ *col, T_ *ct,                           \
                     Py_ssize_t K, Py_ssize_t Kd, Py_ssize_t T)                     \
    {                                                                               \
        Py_ssize_t t0 = 0, k0, kd, kk, j;                                           \
        if (IMFILT_L_VEC) {                                                         \
            for (; t0 + 2 * VL <= T; t0 += 2 * VL) {                                \
                for (k0 = 0; k0 + 8 <= K; k0 += 8)                                  \
                    IMFILT_L_BLOCK(T_, VEC, VL, VFMA, 8)                            \
                if (k0 + 4 <= K) {                                                  \
                    IMFILT_L_BLOCK(T_, VEC, VL, VFMA, 4)                            \
                    k0 += 4;                                                        \
                }                                                                   \
                for (; k0 < K; k0++)                                                \
                    IMFILT_L_BLOCK(T_, VEC, VL, VFMA, 1)                            \
            }                                                                       \
        }                                                                           \
        /* Remaining pixels: plain loops, same summation order. */                  \
        for (k0 = 0; k0 < K; k0++) {                                                \
            T_ *o = ct + k0 * T;                                                    \
            for (j = t0; j < T; j++) o[j] = 0;                                      \
            for (kd = 0; kd < Kd; kd++) {                                           \
                T_ w = wt[kd * K + k0];                                             \
                const T_ *c = col + kd * T;                                         \
                for (j = t0; j < T; j++) o[j] = SFMA(o[j], w, c[j]);                \
            }                                                                       \
        }                                                                           \
    }

    IMFILT_DEFINE_GEMM(imfilt_gemm_f, float, imfilt_lvf, IMFILT_L_VLF,
                       IMFILT_L_VFMA_F, IMFILT_L_SFMA_F)
    IMFILT_DEFINE_GEMM(imfilt_gemm_d, double, imfilt_lvd, IMFILT_L_VLD,
                       IMFILT_L_VFMA_D, IMFILT_L_SFMA_D)
    """
    void imfilt_gemm_f(const float *wt, const float *col, float *ct,
                       Py_ssize_t K, Py_ssize_t Kd, Py_ssize_t T) noexcept nogil
    void imfilt_gemm_d(const double *wt, const double *col, double *ct,
                       Py_ssize_t K, Py_ssize_t Kd, Py_ssize_t T) noexcept nogil



def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline void _fill_segment(const real_t *xr, const Py_ssize_t *colsrc,
                               Py_ssize_t qa, Py_ssize_t qb,
                               Py_ssize_t q0, Py_ssize_t q1, Py_ssize_t base,
                               Py_ssize_t cstep, real_t fill,
                               real_t *d) noexcept nogil:
    """``d[q - qa] = X[row, colsrc[q]]`` for q in [qa, qb); fast span [q0, q1)."""
    cdef Py_ssize_t q, s, lo, hi
    if xr == NULL:
        for q in range(qb - qa):
            d[q] = fill
        return
    lo = q0 if q0 > qa else qa
    hi = q1 if q1 < qb else qb
    if hi < lo:
        hi = lo
    for q in range(qa, lo if lo < qb else qb):
        s = colsrc[q]
        d[q - qa] = xr[s] if s >= 0 else fill
    if hi > lo:
        if cstep == 1:
            memcpy(d + (lo - qa), xr + base + lo, <size_t>(hi - lo) * sizeof(real_t))
        else:
            for q in range(lo, hi):
                d[q - qa] = xr[base + q * cstep]
    for q in range(hi if hi > lo else (lo if lo < qb else qb), qb):
        s = colsrc[q]
        d[q - qa] = xr[s] if s >= 0 else fill


cdef inline Py_ssize_t _row_run(Py_ssize_t pos, Py_ssize_t p1, Py_ssize_t Q, Py_ssize_t *r,
                                Py_ssize_t *qa) noexcept nogil:
    """Flat pixel ``pos`` as output row ``r`` and column ``qa``; returns the end
    column of the run of pixels before ``p1`` that stays in that row."""
    r[0] = pos // Q
    qa[0] = pos - r[0] * Q
    return imin(qa[0] + (p1 - pos), Q)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _gemm_tile(const real_t *x, Py_ssize_t H, Py_ssize_t W,
                     const real_t *wp, const real_t *bp, Py_ssize_t K, Py_ssize_t Kd,
                     real_t *outp, Py_ssize_t Ho, Py_ssize_t Wo,
                     Py_ssize_t Ty, Py_ssize_t Tx,
                     const Py_ssize_t *rowsrc, const Py_ssize_t *orow,
                     const Py_ssize_t *colsrc, Py_ssize_t Q,
                     const Py_ssize_t *q0, const Py_ssize_t *q1, const Py_ssize_t *cbase,
                     Py_ssize_t cstep, Py_ssize_t ocol0, Py_ssize_t ostep, real_t fill,
                     Py_ssize_t p0, Py_ssize_t p1,
                     real_t *col, real_t *ct) noexcept nogil:
    """im2col, GEMM and write-back of output pixels [p0, p1) (flat over R x Q)."""
    cdef Py_ssize_t T = p1 - p0
    cdef Py_ssize_t kd, c, jy, jx, pos, r, qa, qb, srow, k, q
    cdef const real_t *xr
    cdef real_t *o
    cdef const real_t *cc
    cdef real_t bk

    for kd in range(Kd):
        c = kd // (Ty * Tx)
        jy = (kd // Tx) % Ty
        jx = kd % Tx
        pos = p0
        while pos < p1:
            qb = _row_run(pos, p1, Q, &r, &qa)
            srow = rowsrc[r * Ty + jy]
            xr = (x + (c * H + srow) * W) if srow >= 0 else NULL
            _fill_segment(xr, colsrc + jx * Q, qa, qb, q0[jx], q1[jx], cbase[jx], cstep,
                          fill, col + kd * T + (pos - p0))
            pos = pos + (qb - qa)
    if real_t is float:    # float/double variants of one GEMM (deliberate: SIMD widths differ)
        imfilt_gemm_f(wp, col, ct, K, Kd, T)
    else:
        imfilt_gemm_d(wp, col, ct, K, Kd, T)
    for k in range(K):
        bk = bp[k]
        pos = p0
        while pos < p1:
            qb = _row_run(pos, p1, Q, &r, &qa)
            o = outp + (k * Ho + orow[r]) * Wo + ocol0
            cc = ct + k * T + (pos - p0) - qa
            if ostep == 1:
                for q in range(qa, qb):
                    o[q] = cc[q] + bk
            else:
                for q in range(qa, qb):
                    o[q * ostep] = cc[q] + bk
            pos = pos + (qb - qa)


@cython.boundscheck(False)
@cython.wraparound(False)
def gather_gemm(const real_t[:, :, ::1] x not None,      # IN  (C, H, W)
                const real_t[:, ::1] wmat not None,      # IN  (C * Ty * Tx, K): transposed
                const real_t[::1] bias not None,         # IN  (K,)
                real_t[:, :, ::1] out not None,          # OUT (K, Ho, Wo)
                const Py_ssize_t[:, ::1] rowsrc not None,  # (R, Ty)
                const Py_ssize_t[::1] orow not None,     # (R,)
                const Py_ssize_t[:, ::1] colsrc not None,  # (Tx, Q)
                const Py_ssize_t[::1] q0 not None,       # (Tx,) fast span start
                const Py_ssize_t[::1] q1 not None,       # (Tx,) fast span end
                const Py_ssize_t[::1] cbase not None,    # (Tx,) source at q = 0
                Py_ssize_t cstep,
                Py_ssize_t ocol0, Py_ssize_t ostep,
                real_t fill,
                real_t[:, ::1] colbuf not None,          # scratch (nthreads, Kd * tile)
                real_t[:, ::1] ctile not None,           # scratch (nthreads, K * tile)
                Py_ssize_t tile,
                int nthreads, Py_ssize_t min_work):
    """Gathered GEMM for one (image, group, phase); see module docstring.

    Output pixels (flat over R x Q) are cut into tiles of ``tile`` pixels;
    each thread expands and multiplies its own tiles, in one parallel region.
    Tile boundaries do not depend on ``nthreads``, so neither do results.
    Runs serially below ``min_work`` multiply-adds; returns the threads that ran.
    """
    cdef Py_ssize_t H = x.shape[1], W = x.shape[2]
    cdef Py_ssize_t K = wmat.shape[1], Kd = wmat.shape[0]
    cdef Py_ssize_t Ho = out.shape[1], Wo = out.shape[2]
    cdef Py_ssize_t Ty = rowsrc.shape[1], Tx = colsrc.shape[0]
    cdef Py_ssize_t R = rowsrc.shape[0], Q = colsrc.shape[1]
    cdef Py_ssize_t ntiles, t, p0, p1, tid
    cdef Py_ssize_t cstride = colbuf.shape[1], tstride = ctile.shape[1]
    cdef const real_t *xp = &x[0, 0, 0]
    cdef const real_t *wp = &wmat[0, 0]
    cdef const real_t *bp = &bias[0]
    cdef real_t *outp = &out[0, 0, 0]
    cdef real_t *cb = &colbuf[0, 0]
    cdef real_t *ct = &ctile[0, 0]
    cdef int used = 1

    if R == 0 or Q == 0 or K == 0:
        return used
    ntiles = (R * Q + tile - 1) // tile
    if nthreads > ntiles:
        nthreads = <int>ntiles
    with nogil:
        for t in prange(ntiles, num_threads=nthreads, schedule="static",
                        use_threads_if=use_threads(nthreads, R * Q * K * Kd, min_work)):
            imfilt_note_team(&used)
            tid = threadid()
            p0 = t * tile
            p1 = p0 + tile
            if p1 > R * Q:
                p1 = R * Q
            _gemm_tile(xp, H, W, wp, bp, K, Kd, outp, Ho, Wo, Ty, Tx,
                       &rowsrc[0, 0], &orow[0], &colsrc[0, 0], Q,
                       &q0[0], &q1[0], &cbase[0], cstep, ocol0, ostep, fill,
                       p0, p1, cb + tid * cstride, ct + tid * tstride)
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
