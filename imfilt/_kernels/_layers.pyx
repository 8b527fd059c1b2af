"""Multi-channel convolution kernels (private).

Two kernels serve :func:`imfilt.conv2d` and :func:`imfilt.conv_transpose2d`.

``gather_gemm``
    A tiled im2col + BLAS GEMM for one (image, group, phase) problem::

        out[k, orow[r], ocol0 + q * ostep] =
            bias[k] + sum_{c, jy, jx} wmat[k, (c * Ty + jy) * Tx + jx]
                                      * X[c, rowsrc[r, jy], colsrc[jx, q]]

    where a source index of -1 reads ``fill``.  conv2d is one phase whose
    tables come from the stride, dilation and boundary rule; a transposed
    convolution of stride ``s`` splits into ``s * s`` phases (output pixels
    with the same ``oy % s``, ``ox % s`` use the same kernel taps), each a
    plain gather: no scatter, no write races.  Only ``tile`` output rows
    are expanded at a time (never a full-size im2col buffer).  The im2col
    and the write-back run on ``nthreads`` OpenMP threads over disjoint
    memory; the GEMM is one BLAS call per tile.
``transpose_direct``
    The transposed convolution for few channels per group: each thread owns
    whole output rows and accumulates the kernel taps that reach them, in a
    fixed order, so results are bit-identical for any thread count.

Every table and shape is built and checked by ``imfilt.layers``.
"""

cimport cython
from cython.parallel cimport prange
from libc.string cimport memcpy
from scipy.linalg.cython_blas cimport dgemm, sgemm

from imfilt._kernels._omp_support cimport imfilt_openmp_compiled

ctypedef fused real_t:
    float
    double


def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _im2col_row(const real_t *x, Py_ssize_t H, Py_ssize_t W,
                      Py_ssize_t kd, Py_ssize_t Ty, Py_ssize_t Tx,
                      const Py_ssize_t *rowsrc, Py_ssize_t r0, Py_ssize_t rr,
                      const Py_ssize_t *colsrc, Py_ssize_t Q,
                      Py_ssize_t q0, Py_ssize_t q1, Py_ssize_t base,
                      Py_ssize_t cstep, real_t fill,
                      real_t *dst) noexcept nogil:
    """Fill one row ``kd = (c, jy, jx)`` of the column buffer (rr * Q values)."""
    cdef Py_ssize_t c = kd // (Ty * Tx)
    cdef Py_ssize_t jy = (kd // Tx) % Ty
    cdef Py_ssize_t r, q, s, srow
    cdef const real_t *xr
    cdef real_t *d
    for r in range(rr):
        d = dst + r * Q
        srow = rowsrc[(r0 + r) * Ty + jy]
        if srow < 0:
            for q in range(Q):
                d[q] = fill
            continue
        xr = x + (c * H + srow) * W
        for q in range(q0):
            s = colsrc[q]
            d[q] = xr[s] if s >= 0 else fill
        if cstep == 1:
            if q1 > q0:
                memcpy(d + q0, xr + base + q0, <size_t>(q1 - q0) * sizeof(real_t))
        else:
            for q in range(q0, q1):
                d[q] = xr[base + q * cstep]
        for q in range(q1, Q):
            s = colsrc[q]
            d[q] = xr[s] if s >= 0 else fill


@cython.boundscheck(False)
@cython.wraparound(False)
def gather_gemm(const real_t[:, :, ::1] x not None,      # IN  (C, H, W)
                const real_t[:, ::1] wmat not None,      # IN  (K, C * Ty * Tx)
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
                real_t[:, ::1] colbuf not None,          # scratch (Kd, tile * Q)
                real_t[:, ::1] ctile not None,           # scratch (K, tile * Q)
                Py_ssize_t tile,
                int nthreads):
    """Gathered GEMM for one (image, group, phase); see module docstring."""
    cdef Py_ssize_t C = x.shape[0], H = x.shape[1], W = x.shape[2]
    cdef Py_ssize_t K = wmat.shape[0], Kd = wmat.shape[1]
    cdef Py_ssize_t Ho = out.shape[1], Wo = out.shape[2]
    cdef Py_ssize_t Ty = rowsrc.shape[1], Tx = colsrc.shape[0]
    cdef Py_ssize_t R = rowsrc.shape[0], Q = colsrc.shape[1]
    cdef Py_ssize_t t0, rr, T, kd, jx, k, r, q
    cdef const real_t *xp = &x[0, 0, 0]
    cdef const real_t *wp = &wmat[0, 0]
    cdef const real_t *bp = &bias[0]
    cdef real_t *outp = &out[0, 0, 0]
    cdef real_t *cb = &colbuf[0, 0]
    cdef real_t *ct = &ctile[0, 0]
    cdef const Py_ssize_t *rs = &rowsrc[0, 0]
    cdef const Py_ssize_t *orp = &orow[0]
    cdef const Py_ssize_t *cs = &colsrc[0, 0]
    cdef real_t *o
    cdef const real_t *c
    cdef real_t bk
    cdef int m, n, kk, lda, ldb, ldc
    cdef real_t one = 1, zero = 0
    cdef char transa = b'N', transb = b'N'
    cdef bint parallel

    if R == 0 or Q == 0 or K == 0:
        return
    with nogil:
        t0 = 0
        while t0 < R:
            rr = tile if t0 + tile <= R else R - t0
            T = rr * Q
            parallel = nthreads > 1 and Kd * T >= 32768
            for kd in prange(Kd, num_threads=nthreads, schedule="static",
                             use_threads_if=parallel):
                jx = kd % Tx
                _im2col_row(xp, H, W, kd, Ty, Tx, rs, t0, rr, cs + jx * Q, Q,
                            q0[jx], q1[jx], cbase[jx], cstep, fill, cb + kd * T)
            # Row-major ctile (K, T) = wmat (K, Kd) @ colbuf (Kd, T), written
            # for column-major BLAS as ctile^T = colbuf^T @ wmat^T.
            m = <int>T
            n = <int>K
            kk = <int>Kd
            lda = <int>T
            ldb = <int>Kd
            ldc = <int>T
            if real_t is float:
                sgemm(&transa, &transb, &m, &n, &kk, &one, cb, &lda, <float *>wp, &ldb,
                      &zero, ct, &ldc)
            else:
                dgemm(&transa, &transb, &m, &n, &kk, &one, cb, &lda, <double *>wp, &ldb,
                      &zero, ct, &ldc)
            for k in prange(K, num_threads=nthreads, schedule="static",
                            use_threads_if=nthreads > 1 and K * T >= 32768):
                bk = bp[k]
                for r in range(rr):
                    o = outp + (k * Ho + orp[t0 + r]) * Wo + ocol0
                    c = ct + k * T + r * Q
                    if ostep == 1:
                        for q in range(Q):
                            o[q] = c[q] + bk
                    else:
                        for q in range(Q):
                            o[q * ostep] = c[q] + bk
            t0 = t0 + tile


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _transpose_row(const real_t *x, Py_ssize_t Cg, Py_ssize_t H, Py_ssize_t W,
                         const real_t *w, Py_ssize_t Kg, Py_ssize_t kh, Py_ssize_t kw,
                         Py_ssize_t oy, Py_ssize_t sh, Py_ssize_t sw,
                         Py_ssize_t ph, Py_ssize_t dh,
                         const Py_ssize_t *ixlo, const Py_ssize_t *ixhi,
                         const Py_ssize_t *obase, real_t b,
                         real_t *o, Py_ssize_t Wo) noexcept nogil:
    """One output row of a transposed convolution (one output channel).

    ``x`` points at the group's first input channel, ``w`` at
    ``weight[c0, k]``; channel ``c`` of the group uses ``w + c * Kg * kh * kw``.
    """
    cdef Py_ssize_t c, ky, kx, num, iy, ix, lo, hi, ob
    cdef const real_t *xr
    cdef real_t *ot
    cdef real_t wv
    for ix in range(Wo):
        o[ix] = b
    for c in range(Cg):
        for ky in range(kh):
            num = oy + ph - ky * dh
            if num < 0 or num % sh != 0:
                continue
            iy = num // sh
            if iy >= H:
                continue
            xr = x + (c * H + iy) * W
            for kx in range(kw):
                wv = w[(c * Kg * kh + ky) * kw + kx]
                lo = ixlo[kx]
                hi = ixhi[kx]
                ot = o + obase[kx]
                if sw == 1:
                    for ix in range(lo, hi):
                        ot[ix] += wv * xr[ix]
                else:
                    for ix in range(lo, hi):
                        ot[ix * sw] += wv * xr[ix]


@cython.boundscheck(False)
@cython.wraparound(False)
def transpose_direct(const real_t[:, :, :, ::1] x not None,   # IN  (N, Cin, H, W)
                     const real_t[:, :, :, ::1] w not None,   # IN  (Cin, Kg, kh, kw)
                     const real_t[::1] bias not None,         # IN  (Cout,)
                     real_t[:, :, :, ::1] out not None,       # OUT (N, Cout, Ho, Wo)
                     Py_ssize_t groups,
                     Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t dh,
                     const Py_ssize_t[::1] ixlo not None,     # (kw,)
                     const Py_ssize_t[::1] ixhi not None,     # (kw,)
                     const Py_ssize_t[::1] obase not None,    # (kw,)
                     int nthreads):
    """Transposed convolution, one thread per block of output rows."""
    cdef Py_ssize_t N = x.shape[0], Cin = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t Kg = w.shape[1], kh = w.shape[2], kw = w.shape[3]
    cdef Py_ssize_t Cout = out.shape[1], Ho = out.shape[2], Wo = out.shape[3]
    cdef Py_ssize_t Cg = Cin // groups
    cdef Py_ssize_t rows = N * Cout * Ho, r, n, co, oy, g, rem
    cdef const real_t *xp
    cdef const real_t *wp = &w[0, 0, 0, 0]
    cdef real_t *op
    cdef bint parallel
    if rows == 0 or Wo == 0:
        return
    xp = &x[0, 0, 0, 0]
    op = &out[0, 0, 0, 0]
    parallel = nthreads > 1 and rows * Wo * Cg * kh * kw >= 65536
    with nogil:
        for r in prange(rows, num_threads=nthreads, schedule="static",
                        use_threads_if=parallel):
            n = r // (Cout * Ho)
            rem = r - n * Cout * Ho
            co = rem // Ho
            oy = rem - co * Ho
            g = co // Kg
            _transpose_row(xp + (n * Cin + g * Cg) * H * W, Cg, H, W,
                           wp + ((g * Cg) * Kg + (co - g * Kg)) * kh * kw,
                           Kg, kh, kw, oy, sh, sw, ph, dh,
                           &ixlo[0], &ixhi[0], &obase[0], bias[co],
                           op + r * Wo, Wo)
