"""Elementwise kernels of ``nan_policy='omit'`` and of the methods' finite check (private).

``split_finite``
    One pass over the image: ``x0 = x`` where finite else 0, ``bad = 1``
    where not finite else 0 and ``good = 1 - bad`` (all in the image's
    float dtype), the inputs of the three filter passes.

``combine_omit``
    One pass over the three filter results: ``num`` where no non-finite
    sample met a non-zero weight (``hits < 0.5``), NaN where no finite one
    did (``hits > ntaps - 0.5``) or where the weights that did sum to zero
    (``|den| <= den_tol``: no rescaling exists), else ``num * (scale / den)``.

``magnitude``
    One pass over an array: the largest ``|x|`` of each piece, NaN for a
    piece holding NaN (the check of the FFT and separable methods before
    they run on an image).

All are flat loops over C-contiguous arrays handed to threads in pieces
of ``CHUNK`` elements: every element is computed by the same operations
whatever the thread count.  Nothing here validates input: ``_nanpolicy``
does.
"""

cimport cython
import numpy as np
from cython.parallel cimport prange
from libc.math cimport fabs, isfinite, NAN

from imfilt._kernels._common cimport (WORK_PER_ELEMENT, imfilt_openmp_compiled,
                                      imfilt_note_team, imin, max_abs, real_t, use_threads)


#: Elements per dynamically scheduled piece (a busy core holds up no one).
cdef Py_ssize_t CHUNK = 32768


def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


cdef inline void _split_range(const real_t *x, real_t *x0, real_t *bad, real_t *good,
                              Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    cdef Py_ssize_t i
    cdef real_t v
    cdef bint f
    for i in range(lo, hi):
        v = x[i]
        f = isfinite(v)
        x0[i] = v if f else 0
        bad[i] = 0 if f else 1
        good[i] = 1 if f else 0


cdef inline void _combine_range(real_t *num, const real_t *den, const real_t *hits,
                                double upper, double scale, double den_tol,
                                Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    cdef Py_ssize_t i
    cdef real_t h
    for i in range(lo, hi):
        h = hits[i]
        if h >= 0.5:
            if h > upper or fabs(<double>den[i]) <= den_tol:
                num[i] = NAN
            else:
                num[i] = <real_t>(<double>num[i] * (scale / <double>den[i]))


cdef inline Py_ssize_t _pieces(Py_ssize_t n) noexcept nogil:
    """Number of CHUNK-sized pieces of ``n`` elements (the last may be shorter)."""
    return (n + CHUNK - 1) // CHUNK


@cython.boundscheck(False)
@cython.wraparound(False)
def split_finite(const real_t[::1] x, real_t[::1] x0, real_t[::1] bad, real_t[::1] good,
                 int nthreads, Py_ssize_t min_work):
    """``x0 = where(isfinite(x), x, 0)``, ``bad = ~isfinite(x)``, ``good = 1 - bad``.

    Returns the number of threads that ran.   # IN x; OUT x0, bad, good
    """
    cdef Py_ssize_t n = x.shape[0], p, lo
    cdef int used = 1
    if n == 0:
        return used
    for p in prange(_pieces(n), nogil=True, num_threads=nthreads,
                    schedule="dynamic", chunksize=1,
                    use_threads_if=use_threads(nthreads, n * WORK_PER_ELEMENT, min_work)):
        imfilt_note_team(&used)
        lo = p * CHUNK
        _split_range(&x[0], &x0[0], &bad[0], &good[0], lo, imin(lo + CHUNK, n))
    return used


@cython.boundscheck(False)
@cython.wraparound(False)
def combine_omit(real_t[::1] num, const real_t[::1] den, const real_t[::1] hits,
                 double ntaps, double scale, double den_tol, int nthreads,
                 Py_ssize_t min_work):
    """In place in ``num``: the omit result (see module docstring); a
    ``|den|`` at or below ``den_tol`` counts as zero.

    The rescaling is computed in double and rounded once; returns the
    number of threads that ran.   # INOUT num
    """
    cdef int used = 1
    cdef Py_ssize_t n = num.shape[0], p, lo
    if n == 0:
        return used
    for p in prange(_pieces(n), nogil=True, num_threads=nthreads,
                    schedule="dynamic", chunksize=1,
                    use_threads_if=use_threads(nthreads, n * WORK_PER_ELEMENT, min_work)):
        lo = p * CHUNK
        _combine_range(&num[0], &den[0], &hits[0], ntaps - 0.5, scale, den_tol, lo,
                       imin(lo + CHUNK, n))
        imfilt_note_team(&used)
    return used


@cython.boundscheck(False)
@cython.wraparound(False)
def magnitude(const real_t[::1] x, int nthreads, Py_ssize_t min_work):
    """The largest ``|x|`` (NaN when ``x`` holds NaN, inf with an infinity;
    0 for an empty ``x``), in one pass on up to ``nthreads`` threads."""
    cdef Py_ssize_t n = x.shape[0], p, lo, count = _pieces(x.shape[0])
    cdef double[::1] part
    cdef double top = 0
    if n == 0:
        return 0.0
    part = np.empty(count, dtype=np.float64)
    for p in prange(count, nogil=True, num_threads=nthreads, schedule="dynamic", chunksize=1,
                    use_threads_if=use_threads(nthreads, n * WORK_PER_ELEMENT, min_work)):
        lo = p * CHUNK
        # (the largest |x| and the NaN test in one integer maximum of the bits)
        part[p] = max_abs(&x[0] + lo, imin(lo + CHUNK, n) - lo)
    for p in range(count):
        if part[p] != part[p]:
            return float("nan")
        if part[p] > top:
            top = part[p]
    return top
