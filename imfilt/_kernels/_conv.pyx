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


cdef inline void _gather(const real_t *src, const Py_ssize_t *colmap,
                         Py_ssize_t c_from, Py_ssize_t c_to, real_t fill,
                         real_t *dst) noexcept nogil:
    """``dst[c] = src[colmap[c]]`` (or ``fill`` where -1) for c in [c_from, c_to)."""
    cdef Py_ssize_t c, s
    for c in range(c_from, c_to):
        s = colmap[c]
        dst[c] = src[s] if s >= 0 else fill


cdef extern from "_microkernel.h" nogil:
    void imfilt_tiles_f32(float *o, Py_ssize_t n, const float **rows,
                          Py_ssize_t c0, const float *w, Py_ssize_t k0,
                          Py_ssize_t k1) noexcept
    void imfilt_tiles_f64(double *o, Py_ssize_t n, const double **rows,
                          Py_ssize_t c0, const double *w, Py_ssize_t k0,
                          Py_ssize_t k1) noexcept


cdef inline void _row_tiles(real_t *o, Py_ssize_t n, const real_t **rows,
                            Py_ssize_t c0, const real_t *w,
                            Py_ssize_t k0, Py_ssize_t k1) noexcept nogil:
    """One output run: ``o[j] = sum_{a,b} rows[a][c0 + j + b] * w[a, b]``.

    ``rows[a]`` is the (padded) input row under kernel row ``a``; the
    register-blocked micro-kernel lives in ``_microkernel.h``.
    """
    if real_t is float:
        imfilt_tiles_f32(o, n, rows, c0, w, k0, k1)
    else:
        imfilt_tiles_f64(o, n, rows, c0, w, k0, k1)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _correlate_band(const real_t *x, Py_ssize_t n1,
                          const real_t *w, Py_ssize_t k0, Py_ssize_t k1,
                          real_t *out, Py_ssize_t o1,
                          const Py_ssize_t *rowmap, const Py_ssize_t *colmap,
                          Py_ssize_t pl, real_t fill, const real_t *fillrow,
                          real_t *strips, const real_t **inner,
                          const real_t **outer,
                          Py_ssize_t i0, Py_ssize_t i1) noexcept nogil:
    """Compute output rows ``[i0, i1)``.

    Each output row splits into three column regions:

    * ``[0, jl)`` left border and ``[jr, o1)`` right border: windows reach
      past the image edge; they read padded copies of the input rows'
      border strips, built per row in the thread's ``strips`` scratch
      (``k0`` rows of ``o1 + k1 - 1`` elements, only the strips written);
    * ``[jl, jr)`` interior: windows lie inside the image row, read straight
      from ``x`` with no copy and no boundary test.

    Rows that are entirely fill read ``fillrow``.  ``inner``/``outer`` are
    the thread's tables of ``k0`` row pointers.
    """
    cdef Py_ssize_t P1 = o1 + k1 - 1
    cdef Py_ssize_t jl, jr, i, a, s, left_to, region, r0, r1, c0
    cdef const real_t **table
    cdef real_t *strip
    cdef const real_t *src
    cdef real_t *o

    jl = pl if pl < o1 else o1
    jr = pl + x_interior_end(n1, k1)
    if jr > o1:
        jr = o1
    if jr < jl:
        jr = jl
    left_to = jl + k1 - 1          # padded columns the left region reads
    if left_to > P1:
        left_to = P1

    for i in range(i0, i1):
        for a in range(k0):
            s = rowmap[i + a]
            if s < 0:
                inner[a] = fillrow + jl
                outer[a] = fillrow
                continue
            src = x + s * n1
            inner[a] = src + (jl - pl)
            strip = strips + a * P1
            outer[a] = strip
            if jr > jl:
                _gather(src, colmap, 0, left_to, fill, strip)
                _gather(src, colmap, jr, P1, fill, strip)
            else:
                _gather(src, colmap, 0, P1, fill, strip)
        o = out + i * o1
        # Three runs (left border, interior, right border) through a single
        # call site, so the compiler keeps one register-blocked loop body.
        for region in range(3):
            if region == 0:
                r0, r1, table, c0 = 0, jl, outer, 0
            elif region == 1:
                r0, r1, table, c0 = jl, jr, inner, 0
            else:
                r0, r1, table, c0 = jr, o1, outer, jr
            if r1 > r0:
                _row_tiles(o + r0, r1 - r0, table, c0, w, k0, k1)


cdef inline Py_ssize_t x_interior_end(Py_ssize_t n1, Py_ssize_t k1) noexcept nogil:
    """Number of window positions that lie fully inside an image row."""
    return n1 - k1 + 1 if n1 >= k1 else 0


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
                     const real_t[::1] fillrow not None,
                     real_t[:, ::1] strips not None,
                     Py_ssize_t[:, ::1] pointers not None):
    """Correlate the virtually padded ``x`` with ``w`` into ``out``.

    Parameters (all validated by the caller)
    ----------------------------------------
    x : (n0, n1) C-contiguous image, n0, n1 >= 1.               # IN
    w : (k0, k1) C-contiguous kernel in correlation form.        # IN
    out : (o0, o1) C-contiguous output, o0, o1 >= 1.             # OUT
    rowmap : (o0 + k0 - 1,) source row per padded row, -1 = fill.
    colmap : (o1 + k1 - 1,) source column per padded column, -1 = fill.
    pl : left padding (padded column c holds image column c - pl).
    fill : the fill value.
    nthreads : threads to use, 1 <= nthreads <= o0.
    fillrow : (o1 + k1 - 1,) filled with ``fill``.               # IN
    strips : (nthreads, k0 * (o1 + k1 - 1)) scratch.             # SCRATCH
    pointers : (nthreads, 2 * k0) pointer-sized scratch.         # SCRATCH
    """
    cdef Py_ssize_t n1 = x.shape[1]
    cdef Py_ssize_t k0 = w.shape[0], k1 = w.shape[1]
    cdef Py_ssize_t o0 = out.shape[0], o1 = out.shape[1]
    cdef Py_ssize_t nblocks, band, blk, i0, i1, tid
    cdef Py_ssize_t strip_len = strips.shape[1]
    cdef const real_t *xp = &x[0, 0]
    cdef const real_t *wp = &w[0, 0]
    cdef real_t *op = &out[0, 0]
    cdef real_t *sp = &strips[0, 0]
    cdef const real_t *fp = &fillrow[0]
    cdef Py_ssize_t *pp = &pointers[0, 0]
    cdef const Py_ssize_t *rp = &rowmap[0]
    cdef const Py_ssize_t *cp = &colmap[0]
    cdef bint parallel

    # Many small bands handed out dynamically: a thread whose core is busy
    # with other work does not hold the others up.  Bands need no priming
    # (the border strips are rebuilt per row), so small bands cost nothing,
    # and every row is computed the same way whichever thread takes it.
    nblocks = nthreads * 8
    if nblocks > o0:
        nblocks = o0
    band = (o0 + nblocks - 1) // nblocks
    nblocks = (o0 + band - 1) // band
    # Tiny problems are not worth waking a thread team.
    parallel = nthreads > 1 and o0 * o1 * k0 * k1 >= 65536

    with nogil:
        for blk in prange(nblocks, num_threads=nthreads, schedule="dynamic",
                          chunksize=1, use_threads_if=parallel):
            tid = threadid()
            i0 = blk * band
            i1 = i0 + band
            if i1 > o0:
                i1 = o0
            if i0 < i1:
                _correlate_band(xp, n1, wp, k0, k1, op, o1, rp, cp, pl,
                                fill, fp, sp + tid * strip_len,
                                <const real_t **>(pp + tid * 2 * k0),
                                <const real_t **>(pp + tid * 2 * k0 + k0),
                                i0, i1)
