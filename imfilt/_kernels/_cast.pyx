"""Saturating cast of a float result to an integer dtype (private).

``saturate``
    ``out[i] = rint(x[i])`` (nearest, ties to even) converted to the
    integer type, with NaN giving 0 and values at or beyond the type's
    limits giving the limit (OpenCV's ``saturate_cast`` rule).  For 8- to
    32-bit types the value is clamped to the limits (exact in the compute
    type) and rounded with plain arithmetic, so the loop vectorises (the 8-
    and 16-bit rule is ``_saturate.pxd``'s, shared with the fused kernels of
    ``_separable.pyx``); 64-bit types compare with their float limits (see
    ``_cast_wide``).

A flat loop over C-contiguous arrays handed to threads in pieces of
``CHUNK`` elements: each element is computed alone, so the result does
not depend on the thread count.  Nothing here validates input:
``imfilt._cast`` does.
"""

cimport cython
from cython.parallel cimport prange
from libc.math cimport rint

from imfilt._kernels._common cimport (WORK_PER_ELEMENT, imfilt_openmp_compiled,
                                      imfilt_note_team, imin, real_t, use_threads)
from imfilt._kernels._saturate cimport SATURATE_SMALL_CODES, int_t, saturate_small


#: Elements per dynamically scheduled piece (a busy core holds up no one).
cdef Py_ssize_t CHUNK = 65536


def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


cdef inline void _cast_wide(const real_t *x, int_t *o, double lo, double hi,
                            int_t vmin, int_t vmax, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """64-bit types: the float limit ``2**63`` (``2**64``) is one past the
    largest integer, so values at or beyond a limit take it explicitly."""
    cdef Py_ssize_t i
    cdef double d
    for i in range(a, b):
        d = rint(<double>x[i])
        if d != d:
            o[i] = 0
        elif d >= hi:
            o[i] = vmax
        elif d <= lo:
            o[i] = vmin
        else:
            o[i] = <int_t>d


cdef double MAGIC_D = 6755399441055744.0    # 1.5 * 2**52


cdef inline void _cast_double(const real_t *x, char *o, int code, Py_ssize_t a,
                              Py_ssize_t b) noexcept nogil:
    """32-bit types, whose limits need double (from either source type)."""
    cdef Py_ssize_t i
    cdef double d
    for i in range(a, b):
        d = x[i]
        d = d if d == d else 0
        if code == 4:
            d = -2147483648.0 if d < -2147483648.0 else d
            d = 2147483647.0 if d > 2147483647.0 else d
            d = (d + MAGIC_D) - MAGIC_D
            (<int *>o)[i] = <int>d
        else:
            d = 0.0 if d < 0.0 else d
            d = 4294967295.0 if d > 4294967295.0 else d
            d = (d + MAGIC_D) - MAGIC_D
            (<unsigned int *>o)[i] = <unsigned int>d


cdef inline void _cast_piece(const real_t *x, char *o, int code, Py_ssize_t a,
                             Py_ssize_t b) noexcept nogil:
    """Elements ``a:b`` of ``x`` into the integer array ``o`` of type ``code``."""
    if code <= SATURATE_SMALL_CODES:
        saturate_small(x, o, code, a, b)
    elif code == 4 or code == 5:
        _cast_double(x, o, code, a, b)
    elif code == 6:
        _cast_wide(x, <long long *>o, -9223372036854775808.0, 9223372036854775808.0,
                   <long long>(-9223372036854775807 - 1), <long long>9223372036854775807, a, b)
    else:
        _cast_wide(x, <unsigned long long *>o, 0.0, 18446744073709551616.0,
                   <unsigned long long>0, <unsigned long long>-1, a, b)


#: The integer dtypes ``saturate`` writes, by the code it takes.
CODES = {"int8": 0, "uint8": 1, "int16": 2, "uint16": 3, "int32": 4, "uint32": 5,
         "int64": 6, "uint64": 7}


@cython.boundscheck(False)
@cython.wraparound(False)
def saturate(const real_t[::1] x, char[::1] out, int code, int nthreads, Py_ssize_t min_work):
    """``out = saturate_cast(rint(x))`` for the integer type ``CODES[...] == code``.

    ``out`` is the raw bytes of the integer array (``len(x) * itemsize``).
    Returns the number of threads that ran.   # IN x; OUT out
    """
    cdef Py_ssize_t n = x.shape[0], p, lo
    cdef int used = 1
    cdef Py_ssize_t itemsize = 1 << (code // 2)
    if out.shape[0] != n * itemsize or not 0 <= code <= 7:
        raise ValueError("imfilt: saturate needs an output of len(x) elements of type code")
    if n == 0:
        return used
    for p in prange((n + CHUNK - 1) // CHUNK, nogil=True, num_threads=nthreads,
                    schedule="dynamic", chunksize=1,
                    use_threads_if=use_threads(nthreads, n * WORK_PER_ELEMENT, min_work)):
        imfilt_note_team(&used)
        lo = p * CHUNK
        _cast_piece(&x[0], &out[0], code, lo, imin(lo + CHUNK, n))
    return used
