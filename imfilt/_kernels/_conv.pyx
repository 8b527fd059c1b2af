"""Direct 2-D correlation of a virtually padded image (private kernel).

The public layer reduces every convolve/correlate call to one problem:

    out[i, j] = sum_{a, b} P[i + a, j + b] * w[a, b]

where ``w`` is the kernel in correlation form (already flipped for a true
convolution, conjugated for complex correlation) and ``P`` is the image
padded by a boundary rule.  ``P`` is never materialised: ``rowmap`` and
``colmap`` give, for every padded row and column, the source index in the
image, or -1 for the fill value.  These maps implement numpy.pad semantics
(folding repeatedly for kernels larger than the image) and are built once in
Python (``imfilt._modes.boundary_index``).

Threads take contiguous bands of output rows.  Each thread keeps a ring of
``k0`` padded rows (``k0 * P1`` scratch elements), so each image row is
padded once per band and the inner loops run over contiguous memory with no
boundary tests.  Every output row is computed by the same sequence of
floating-point operations whichever thread computes it, so the result is
bit-identical for any thread count.
"""

cimport cython
from cython.parallel cimport prange, threadid
from libc.string cimport memcpy

from imfilt._kernels._omp_support cimport imfilt_openmp_compiled

ctypedef fused real_t:
    float
    double


def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


cdef inline void _pad_row(const real_t *src, Py_ssize_t n1,
                          const Py_ssize_t *colmap, Py_ssize_t P1,
                          Py_ssize_t c0, Py_ssize_t c1, Py_ssize_t pl,
                          real_t fill, bint fill_row,
                          real_t *dst) noexcept nogil:
    """Write padded row ``dst[0:P1]`` from image row ``src``.

    Columns ``[c0, c1)`` are the image itself (one memcpy); the others are
    gathered through ``colmap``.
    """
    cdef Py_ssize_t c, s
    if fill_row:
        for c in range(P1):
            dst[c] = fill
        return
    for c in range(c0):
        s = colmap[c]
        dst[c] = src[s] if s >= 0 else fill
    if c1 > c0:
        memcpy(dst + c0, src + (c0 - pl), <size_t>(c1 - c0) * sizeof(real_t))
    for c in range(c1, P1):
        s = colmap[c]
        dst[c] = src[s] if s >= 0 else fill


cdef inline void _row_taps(real_t *o, Py_ssize_t o1,
                           const real_t *p, const real_t *w,
                           Py_ssize_t k1) noexcept nogil:
    """``o[j] += sum_b p[j + b] * w[b]`` for one kernel row, tap by tap.

    The innermost loop is a contiguous axpy that the compiler vectorises.
    """
    cdef Py_ssize_t b, j
    cdef real_t wv
    cdef const real_t *q
    for b in range(k1):
        wv = w[b]
        q = p + b
        for j in range(o1):
            o[j] += q[j] * wv


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _correlate_band(const real_t *x, Py_ssize_t n0, Py_ssize_t n1,
                          const real_t *w, Py_ssize_t k0, Py_ssize_t k1,
                          real_t *out, Py_ssize_t o1,
                          const Py_ssize_t *rowmap, const Py_ssize_t *colmap,
                          Py_ssize_t P1, Py_ssize_t pl, real_t fill,
                          bint direct_rows, real_t *ring,
                          Py_ssize_t i0, Py_ssize_t i1) noexcept nogil:
    """Compute output rows ``[i0, i1)`` using the thread's ``ring``."""
    cdef Py_ssize_t i, j, a, pr, s, c0, c1
    cdef real_t *o
    cdef const real_t *p

    # Columns of the padded row that are the image row itself.
    c0 = pl if pl > 0 else 0
    c1 = pl + n1
    if c1 > P1:
        c1 = P1
    if c1 < c0:
        c1 = c0

    if not direct_rows:
        # Prime the ring with the first k0 - 1 padded rows of the band.
        for pr in range(i0, i0 + k0 - 1):
            s = rowmap[pr]
            _pad_row(x + (s if s >= 0 else 0) * n1, n1, colmap, P1, c0, c1, pl,
                     fill, s < 0, ring + (pr % k0) * P1)

    for i in range(i0, i1):
        if not direct_rows:
            pr = i + k0 - 1
            s = rowmap[pr]
            _pad_row(x + (s if s >= 0 else 0) * n1, n1, colmap, P1, c0, c1, pl,
                     fill, s < 0, ring + (pr % k0) * P1)
        o = out + i * o1
        for j in range(o1):
            o[j] = 0
        for a in range(k0):
            if direct_rows:
                p = x + rowmap[i + a] * n1
            else:
                p = ring + ((i + a) % k0) * P1
            _row_taps(o, o1, p, w + a * k1, k1)


@cython.boundscheck(False)
@cython.wraparound(False)
def correlate_padded(const real_t[:, ::1] x not None,
                     const real_t[:, ::1] w not None,
                     real_t[:, ::1] out not None,
                     const Py_ssize_t[::1] rowmap not None,
                     const Py_ssize_t[::1] colmap not None,
                     Py_ssize_t pl,
                     real_t fill,
                     int nthreads,
                     bint direct_rows,
                     real_t[:, ::1] scratch not None):
    """Correlate the virtually padded ``x`` with ``w`` into ``out``.

    Parameters (all validated by the caller)
    ----------------------------------------
    x : (n0, n1) C-contiguous image, n0, n1 >= 1.              # IN
    w : (k0, k1) C-contiguous kernel in correlation form.       # IN
    out : (o0, o1) C-contiguous output, o0, o1 >= 1.            # OUT
    rowmap : (o0 + k0 - 1,) source row per padded row, -1 = fill.
    colmap : (o1 + k1 - 1,) source column per padded column, -1 = fill.
    pl : left padding (padded column c holds image column c - pl).
    fill : the fill value.
    nthreads : threads to use (>= 1).
    direct_rows : True when no padding is needed at all ('valid' mode):
        rows are read straight from ``x`` and ``scratch`` is unused.
    scratch : (nthreads, k0 * (o1 + k1 - 1)) ring buffers (any shape when
        ``direct_rows``).
    """
    cdef Py_ssize_t n0 = x.shape[0], n1 = x.shape[1]
    cdef Py_ssize_t k0 = w.shape[0], k1 = w.shape[1]
    cdef Py_ssize_t o0 = out.shape[0], o1 = out.shape[1]
    cdef Py_ssize_t P1 = o1 + k1 - 1
    cdef Py_ssize_t nblocks, band, blk, i0, i1, ring_len
    cdef const real_t *xp = &x[0, 0]
    cdef const real_t *wp = &w[0, 0]
    cdef real_t *op = &out[0, 0]
    cdef real_t *sp = &scratch[0, 0]
    cdef const Py_ssize_t *rp = &rowmap[0]
    cdef const Py_ssize_t *cp = &colmap[0]
    cdef bint parallel

    if nthreads < 1:
        nthreads = 1
    if nthreads > o0:
        nthreads = <int>o0
    ring_len = scratch.shape[1]
    # One contiguous band per thread: each band primes its ring once.
    nblocks = nthreads
    band = (o0 + nblocks - 1) // nblocks
    # Tiny problems are not worth waking a thread team.
    parallel = nthreads > 1 and o0 * o1 * k0 * k1 >= 32768

    with nogil:
        for blk in prange(nblocks, num_threads=nthreads, schedule="static",
                          chunksize=1, use_threads_if=parallel):
            i0 = blk * band
            i1 = i0 + band
            if i1 > o0:
                i1 = o0
            if i0 < i1:
                _correlate_band(xp, n0, n1, wp, k0, k1, op, o1, rp, cp, P1, pl,
                                fill, direct_rows,
                                sp + (0 if direct_rows else (<Py_ssize_t>threadid()) * ring_len),
                                i0, i1)
