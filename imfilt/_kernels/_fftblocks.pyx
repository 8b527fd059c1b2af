"""Gather and scatter of the blocks of overlap-save FFT correlation (private kernel).

The FFT method (``imfilt._methods``) cuts the virtually padded image into
blocks of ``L0 x L1`` samples that overlap by the kernel's extent less one,
transforms a batch of blocks at a time with :mod:`scipy.fft`, and keeps
``T0 x T1`` valid samples of each.  These two helpers do the copies around
the transforms in one pass each, without materialising the padded image:

``gather_blocks``
    writes the blocks of a batch, reading the image through the padded row
    and column maps (source index, -1 = the fill value, -2 = zero: the
    samples past the padded image, which only feed discarded outputs), and
    returns the largest magnitude it wrote (``block_magnitude`` for blocks
    read in place): ``method='auto'`` checks the image's magnitude this way
    instead of in a pass of its own;
``scatter_blocks``
    copies the valid ``T0 x T1`` part of each transformed block into the
    output, clipped at its edges.

Both are plain copies (no arithmetic) and run on the calling thread without
the GIL: the FFT method runs batches of blocks on several Python threads at
once (``imfilt._threads.share_items``), each batch's gather, transforms and
scatter on one thread.
"""

cimport cython
from libc.string cimport memcpy, memset

from imfilt._kernels._common cimport imfilt_openmp_compiled, max_abs, real_t


def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


cdef inline void _edge_run(real_t *dst, const char *src, Py_ssize_t step,
                           const Py_ssize_t *colmap, Py_ssize_t j0, Py_ssize_t j1,
                           real_t fill) noexcept nogil:
    """``dst[j]`` for j in [j0, j1) of a block row whose columns come from ``colmap``."""
    cdef Py_ssize_t j, c
    for j in range(j0, j1):
        c = colmap[j]
        if c >= 0:
            dst[j] = (<const real_t *>(src + c * step))[0]
        elif c == -1:
            dst[j] = fill
        else:
            dst[j] = 0


cdef inline void _row_magnitude(const real_t *v, Py_ssize_t n, double *top,
                               int *nan) noexcept nogil:
    """``top = max(top, |v[j]|)``; ``nan`` set when a value is NaN (``max_abs``)."""
    cdef double m = max_abs(v, n)
    if m != m:
        nan[0] = 1
    elif m > top[0]:
        top[0] = m


cdef inline void _fill_run(real_t *dst, const Py_ssize_t *colmap, Py_ssize_t n,
                           real_t fill) noexcept nogil:
    """A block row of a fill row: ``fill``, or zero past the padded image."""
    cdef Py_ssize_t j
    for j in range(n):
        dst[j] = 0 if colmap[j] == -2 else fill


@cython.boundscheck(False)
@cython.wraparound(False)
def gather_blocks(const real_t[:, :, :] x not None,
                  const Py_ssize_t[::1] rowmap not None,
                  const Py_ssize_t[::1] colmap not None,
                  Py_ssize_t pl,
                  real_t fill,
                  const Py_ssize_t[:, ::1] blocks not None,
                  real_t[:, :, ::1] out not None):
    """Copy blocks of the virtually padded images ``x`` into ``out``.

    Parameters (all validated by the caller)
    ----------------------------------------
    x : (B, n0, n1) images, any strides.                               # IN
    rowmap, colmap : source row/column of every padded row/column, -1 for
        the fill value, -2 for zero; long enough for every block.
    pl : left padding: padded columns ``pl .. pl + n1 - 1`` are the image's
        columns in order (copied as runs; the others go through ``colmap``).
    fill : the fill value.
    blocks : (g, 3) image index, first padded row and first padded column
        of each block.
    out : (g, L0, L1) C-contiguous blocks.                             # OUT

    Returns the largest ``|value|`` written, NaN when one is NaN.
    """
    cdef Py_ssize_t g = out.shape[0], L0 = out.shape[1], L1 = out.shape[2]
    cdef Py_ssize_t n1 = x.shape[2]
    cdef Py_ssize_t item, q, i, r, c0, ja, jb, j
    cdef Py_ssize_t s0 = x.strides[1], s1 = x.strides[2], sb = x.strides[0]
    cdef const char *base
    cdef const char *src
    cdef real_t *dst
    cdef double top = 0
    cdef int nan = 0
    if g == 0 or L0 == 0 or L1 == 0:
        return 0.0
    # An empty image is never read (every map entry is then -1 or -2).
    base = <const char *>&x[0, 0, 0] if x.shape[0] and x.shape[1] and n1 else NULL
    with nogil:
        for item in range(g * L0):
            q = item // L0
            i = item - q * L0
            dst = &out[q, i, 0]
            r = rowmap[blocks[q, 1] + i]
            c0 = blocks[q, 2]
            if r == -2:
                memset(dst, 0, L1 * sizeof(real_t))
                continue
            if r == -1:
                _fill_run(dst, &colmap[c0], L1, fill)
                _row_magnitude(dst, L1, &top, &nan)
                continue
            src = base + blocks[q, 0] * sb + r * s0
            # The image's own columns: padded columns [pl, pl + n1).
            ja = pl - c0
            if ja < 0:
                ja = 0
            if ja > L1:
                ja = L1
            jb = pl + n1 - c0
            if jb > L1:
                jb = L1
            if jb < ja:
                jb = ja
            _edge_run(dst, src, s1, &colmap[c0], 0, ja, fill)
            if jb > ja:
                if s1 == sizeof(real_t):
                    memcpy(dst + ja, src + (c0 + ja - pl) * s1, (jb - ja) * sizeof(real_t))
                else:
                    for j in range(ja, jb):
                        dst[j] = (<const real_t *>(src + (c0 + j - pl) * s1))[0]
            _edge_run(dst, src, s1, &colmap[c0], jb, L1, fill)
            _row_magnitude(dst, L1, &top, &nan)    # (the row is in L1 cache)
    return float("nan") if nan else float(top)


@cython.boundscheck(False)
@cython.wraparound(False)
def block_magnitude(const real_t[:, :, :] v not None):
    """The largest ``|value|`` of the blocks ``v`` (g, L0, L1), any strides
    (blocks read in place: overlapping views of an image); NaN when one is
    NaN."""
    cdef Py_ssize_t q, i, j, g = v.shape[0], L0 = v.shape[1], L1 = v.shape[2]
    cdef double top = 0
    cdef int nan = 0
    if g == 0 or L0 == 0 or L1 == 0:
        return 0.0
    with nogil:
        for q in range(g):
            for i in range(L0):
                if v.strides[2] == sizeof(real_t):
                    _row_magnitude(&v[q, i, 0], L1, &top, &nan)
                else:
                    for j in range(L1):
                        _row_magnitude(&v[q, i, j], 1, &top, &nan)
    return float("nan") if nan else float(top)


@cython.boundscheck(False)
@cython.wraparound(False)
def scatter_blocks(const real_t[:, :, ::1] res not None,
                   const Py_ssize_t[:, ::1] blocks not None,
                   Py_ssize_t off0, Py_ssize_t off1,
                   Py_ssize_t T0, Py_ssize_t T1,
                   real_t[:, :, :] out not None):
    """Copy ``res[q, off0:off0 + T0, off1:off1 + T1]`` of every block into
    ``out[b, i0:i0 + T0, j0:j0 + T1]`` (clipped to ``out``), for the image
    index ``b`` and output corner ``(i0, j0)`` in ``blocks[q]``.

    ``res`` is (g, R0, R1) C-contiguous; ``out`` (B, V0, V1) any strides.
    """
    cdef Py_ssize_t g = res.shape[0], V0 = out.shape[1], V1 = out.shape[2]
    cdef Py_ssize_t item, q, i, row, ncols, j
    cdef Py_ssize_t s1 = out.strides[2]
    cdef const real_t *src
    cdef char *dst
    if g == 0 or T0 <= 0 or T1 <= 0:
        return
    with nogil:
        for item in range(g * T0):
            q = item // T0
            i = item - q * T0
            row = blocks[q, 1] + i
            ncols = V1 - blocks[q, 2]
            if ncols > T1:
                ncols = T1
            if row >= V0 or ncols <= 0:
                continue
            src = &res[q, off0 + i, off1]
            dst = <char *>&out[blocks[q, 0], row, blocks[q, 2]]
            if s1 == sizeof(real_t):
                memcpy(dst, src, ncols * sizeof(real_t))
            else:
                for j in range(ncols):
                    (<real_t *>(dst + j * s1))[0] = src[j]
