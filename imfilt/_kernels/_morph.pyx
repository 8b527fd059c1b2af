"""Exact windowed minimum and maximum (private kernels of imfilt's morphology).

Values are selected, never computed, so every result is exact in the
image's own dtype.  Two paths:

``minmax_pass``
    One axis of a C-contiguous array viewed as ``(outer, n, inner)``; the
    window covers ``k`` consecutive positions of the padded axis, whose
    source index is given by ``idx`` (length ``n + k - 1``; ``-1`` is the
    fill value).  Any boundary rule, including windows that fold several
    times, is therefore just a different ``idx`` built by the caller.

    * ``inner > 1`` (a strided axis): whole rows of ``inner`` contiguous
      values are combined, so every inner loop runs over contiguous memory
      and vectorises.  ``k <= DIRECT_MAX``: ``k - 1`` row operations per
      output row.  Larger ``k``: van Herk / Gil-Werman -- blocks of ``k``
      padded rows; suffix extrema of one block and a running prefix
      extremum of the next give each output row with three comparisons per
      value whatever ``k``.  Optionally each output row is filtered at once
      along its own (contiguous) axis (``rk > 0``), fusing the last two
      passes of a rectangle: the column extremum is written straight into
      the row pass's padded line, and windows of up to 3 along the row take
      one comparison pass, so a 3x3 box reads and writes each row once.
    * ``inner == 1`` (the contiguous axis): each line is copied into a
      padded scratch line and reduced by doubling windows
      (``1, 2, 4, ...``) with two scratch lines, then one final comparison
      -- ``ceil(log2 k)`` vectorised passes, cheaper than a scalar van Herk
      scan for every window that fits in memory.

``minmax_offsets``
    Arbitrary flat footprints: the caller pads the image once, and each
    output line (along the contiguous axis) is the extremum of the padded
    lines shifted by each footprint offset -- one vectorised comparison per
    footprint element and output value.

Threads take disjoint output (rows x column blocks x row segments, or
lines) in dynamic chunks, so a thread that the OS deschedules on a busy
machine holds up little work; min/max are exact, so results are bit-identical for any thread
count.  The kernels never see NaN semantics: the caller
(``imfilt._minmax``) handles NaN with masks.  All geometry is validated by
the caller.
"""

cimport cython
from cython.parallel cimport prange, threadid
from libc.string cimport memcpy

import numpy as np

from imfilt._kernels._common cimport imfilt_openmp_compiled, imfilt_note_team, use_threads

ctypedef fused mm_t:
    unsigned char
    signed char
    unsigned short
    short
    unsigned int
    int
    unsigned long long
    long long
    float
    double

#: Strided windows up to this length combine rows directly (k - 1 row
#: operations); longer ones use van Herk / Gil-Werman (about 3).
cdef enum:
    DIRECT_MAX = 4

# Column blocks of the van Herk path keep k * B values per thread near this.
cdef Py_ssize_t SCRATCH_BYTES = 1 << 18


def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline void _op2(mm_t *o, const mm_t *a, const mm_t *b, Py_ssize_t m,
                      bint ismax) noexcept nogil:
    """``o[j] = max/min(a[j], b[j])`` for ``j < m`` (o may equal a or b)."""
    cdef Py_ssize_t j
    if ismax:
        for j in range(m):
            o[j] = a[j] if a[j] > b[j] else b[j]
    else:
        for j in range(m):
            o[j] = a[j] if a[j] < b[j] else b[j]


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline void _op3(mm_t *o, const mm_t *a, const mm_t *b, const mm_t *c, Py_ssize_t m,
                      bint ismax) noexcept nogil:
    """``o[j] = max/min(a[j], b[j], c[j])``: one pass instead of two."""
    cdef Py_ssize_t j
    cdef mm_t t
    if ismax:
        for j in range(m):
            t = a[j] if a[j] > b[j] else b[j]
            o[j] = t if t > c[j] else c[j]
    else:
        for j in range(m):
            t = a[j] if a[j] < b[j] else b[j]
            o[j] = t if t < c[j] else c[j]


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline const mm_t *_rowp(const mm_t *src, Py_ssize_t inner, Py_ssize_t c0,
                              const Py_ssize_t *idx, Py_ssize_t r,
                              const mm_t *fillrow) noexcept nogil:
    """Address of padded row ``r`` (columns from ``c0``) or of the fill row."""
    cdef Py_ssize_t s = idx[r]
    if s < 0:
        return fillrow
    return src + s * inner + c0


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline void _pad_ends(mm_t *P, Py_ssize_t n, Py_ssize_t k, Py_ssize_t before,
                           const Py_ssize_t *idx, mm_t fill) noexcept nogil:
    """Complete the padded line ``P`` (``n + k - 1`` values) whose positions
    ``before .. before + n - 1`` hold the line itself: every other position
    ``r`` gets the line's value ``idx[r]`` (fill when negative)."""
    cdef Py_ssize_t r, s
    for r in range(before):
        s = idx[r]
        P[r] = P[before + s] if s >= 0 else fill
    for r in range(before + n, n + k - 1):
        s = idx[r]
        P[r] = P[before + s] if s >= 0 else fill


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _line(const mm_t *src, mm_t *dst, Py_ssize_t n, Py_ssize_t k,
                Py_ssize_t before, const Py_ssize_t *idx, mm_t fill,
                mm_t *P, mm_t *Q, bint ismax) noexcept nogil:
    """Window extremum along one contiguous line of ``n`` values.

    ``dst[i]`` = extremum of padded positions ``i .. i + k - 1``; position
    ``r`` holds ``src[idx[r]]`` (fill when negative), and ``idx[r] == r -
    before`` wherever that lies in ``[0, n)``.  ``dst`` may equal ``src``.
    """
    cdef Py_ssize_t L = n + k - 1, lo, hi, r, s
    lo = before if before > 0 else 0
    hi = before + n if before + n < L else L
    if hi > lo:
        memcpy(P + lo, src + (lo - before), (hi - lo) * sizeof(mm_t))
    else:
        lo = 0
        hi = 0
    for r in range(lo):
        s = idx[r]
        P[r] = src[s] if s >= 0 else fill
    for r in range(hi, L):
        s = idx[r]
        P[r] = src[s] if s >= 0 else fill
    _reduce(P, Q, dst, n, k, ismax)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _reduce(mm_t *P, mm_t *Q, mm_t *dst, Py_ssize_t n, Py_ssize_t k,
                  bint ismax) noexcept nogil:
    """``dst[i]`` = extremum of ``P[i .. i + k - 1]`` for ``i < n``.

    Windows of up to 3 take one pass; longer ones are reduced by doubling
    windows (``1, 2, 4, ...``) in ``P`` (overwritten) and the scratch line
    ``Q`` (``n + k - 1`` values each), then one final comparison.  ``dst``
    overlaps neither.
    """
    cdef Py_ssize_t m, w
    cdef mm_t *a
    cdef mm_t *b
    cdef mm_t *t
    if k == 1:
        memcpy(dst, P, n * sizeof(mm_t))
        return
    if k == 2:
        _op2(dst, P, P + 1, n, ismax)
        return
    if k == 3:
        _op3(dst, P, P + 1, P + 2, n, ismax)
        return
    a = P
    b = Q
    m = n + k - 1
    w = 1
    while 2 * w <= k:
        _op2(b, a, a + w, m - w, ismax)
        m = m - w
        t = a
        a = b
        b = t
        w = 2 * w
    # a[i] is now the extremum of P[i .. i + w - 1]; two overlapping windows
    # of length w cover P[i .. i + k - 1].
    _op2(dst, a, a + (k - w), n, ismax)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _columns(const mm_t *src, mm_t *dst, Py_ssize_t inner, Py_ssize_t c0,
                   Py_ssize_t B, Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t k,
                   const Py_ssize_t *idx, const mm_t *fillrow, mm_t *H, mm_t *G,
                   bint ismax, Py_ssize_t rk, Py_ssize_t rbefore,
                   const Py_ssize_t *ridx, mm_t *P, mm_t *Q) noexcept nogil:
    """Output rows ``i0 .. i1 - 1``, columns ``c0 .. c0 + B - 1`` of one slab.

    ``src``/``dst`` point at the slab (``n * inner`` values).  With
    ``rk > 0`` (then ``c0 == 0`` and ``B == inner``) each finished row is
    filtered along its own axis with window ``rk`` and map ``ridx``.
    """
    cdef Py_ssize_t i, t, j, b0, nout, r
    cdef mm_t *o
    cdef mm_t *v
    cdef mm_t fill = fillrow[0]
    if k <= DIRECT_MAX:
        for i in range(i0, i1):
            o = dst + i * inner + c0
            # Fused (rk > 0): the column extremum goes straight into the
            # padded line P of the row pass, which then writes the output
            # row once.
            v = P + rbefore if rk > 0 else o
            if k == 1:
                memcpy(v, _rowp(src, inner, c0, idx, i, fillrow), B * sizeof(mm_t))
            elif k == 2:
                _op2(v, _rowp(src, inner, c0, idx, i, fillrow),
                     _rowp(src, inner, c0, idx, i + 1, fillrow), B, ismax)
            else:
                _op3(v, _rowp(src, inner, c0, idx, i, fillrow),
                     _rowp(src, inner, c0, idx, i + 1, fillrow),
                     _rowp(src, inner, c0, idx, i + 2, fillrow), B, ismax)
                for t in range(3, k):
                    _op2(v, v, _rowp(src, inner, c0, idx, i + t, fillrow), B, ismax)
            if rk > 0:
                _pad_ends(P, inner, rk, rbefore, ridx, fill)
                _reduce(P, Q, o, inner, rk, ismax)
        return
    b0 = i0
    while b0 < i1:
        # H[j] = extremum of padded rows b0 + j .. b0 + k - 1 (suffixes).
        memcpy(H + (k - 1) * B, _rowp(src, inner, c0, idx, b0 + k - 1, fillrow),
               B * sizeof(mm_t))
        for j in range(k - 2, -1, -1):
            _op2(H + j * B, H + (j + 1) * B, _rowp(src, inner, c0, idx, b0 + j, fillrow),
                 B, ismax)
        nout = i1 - b0 if i1 - b0 < k else k
        o = dst + b0 * inner + c0
        v = P + rbefore if rk > 0 else o
        memcpy(v, H, B * sizeof(mm_t))
        if rk > 0:
            _pad_ends(P, inner, rk, rbefore, ridx, fill)
            _reduce(P, Q, o, inner, rk, ismax)
        # G = running prefix extremum of the next block: rows b0 + k .. r.
        for j in range(1, nout):
            r = b0 + k + j - 1
            if j == 1:
                memcpy(G, _rowp(src, inner, c0, idx, r, fillrow), B * sizeof(mm_t))
            else:
                _op2(G, G, _rowp(src, inner, c0, idx, r, fillrow), B, ismax)
            o = dst + (b0 + j) * inner + c0
            v = P + rbefore if rk > 0 else o
            _op2(v, H + j * B, G, B, ismax)
            if rk > 0:
                _pad_ends(P, inner, rk, rbefore, ridx, fill)
                _reduce(P, Q, o, inner, rk, ismax)
        b0 = b0 + k


cdef mm_t *_data(object arr, const mm_t *like):
    """Data pointer of a contiguous scratch array of ``like``'s type."""
    cdef mm_t[::1] view = arr
    if view.shape[0] == 0:
        return NULL
    return &view[0]


@cython.boundscheck(False)
@cython.wraparound(False)
def minmax_pass(const mm_t[::1] src not None,       # IN  (outer * n * inner,)
                mm_t[::1] dst not None,             # OUT same size, not src
                Py_ssize_t outer, Py_ssize_t n, Py_ssize_t inner,
                Py_ssize_t k, Py_ssize_t before,
                const Py_ssize_t[::1] idx not None,  # IN  (n + k - 1,) source rows
                const mm_t[::1] fill not None,       # IN  (1,) fill value
                bint ismax,
                Py_ssize_t rk, Py_ssize_t rbefore,
                const Py_ssize_t[::1] ridx not None,  # IN (inner + rk - 1,) when rk > 0
                int nthreads, Py_ssize_t min_work):
    """Window extremum along the middle axis of ``(outer, n, inner)``.

    ``rk > 0`` (only with ``inner > 1``) fuses a second pass along the
    contiguous axis with window ``rk``, offset ``rbefore`` and map ``ridx``.
    Threads (at most ``nthreads``) start only when the values written (twice
    when fused) reach ``min_work``.  Returns the thread count used.
    """
    cdef Py_ssize_t units, u, o, cb, sgm, ncb, nseg, S, B, i0, i1, c0, Bc, tid
    cdef Py_ssize_t per_thread, Hn, Ln, target, chunk
    cdef const mm_t *sp
    cdef mm_t *dp
    cdef mm_t *scr
    cdef mm_t *base
    cdef const mm_t *frow
    cdef mm_t fv = fill[0]
    cdef Py_ssize_t itemsize = sizeof(mm_t)
    cdef bint parallel
    cdef int used = 1
    if outer <= 0 or n <= 0 or inner <= 0:
        return 1
    if k < 1 or idx.shape[0] != n + k - 1 or src.shape[0] < outer * n * inner \
            or dst.shape[0] < outer * n * inner or fill.shape[0] < 1 \
            or (rk > 0 and (inner == 1 or not 0 <= rbefore < rk
                            or ridx.shape[0] != inner + rk - 1)):
        raise ValueError("imfilt: minmax_pass needs k >= 1, n + k - 1 row indices, "
                         "arrays of outer * n * inner values, and a fused row window "
                         "(rk > 0, rows of more than one value) that holds its output "
                         "position (0 <= rbefore < rk) with inner + rk - 1 indices")
    parallel = use_threads(nthreads, outer * n * inner * (2 if rk > 0 else 1), min_work)
    if not parallel:
        nthreads = 1
    sp = &src[0]
    dp = &dst[0]
    if inner == 1:
        Ln = n + k - 1
        scratch = np.empty(nthreads * 2 * Ln, dtype=np.asarray(src).dtype)
        scr = _data(scratch, sp)
        # Dynamic chunks of about 1/16 of a thread's share: a thread the OS
        # deschedules holds up little work (results do not depend on it).
        chunk = max(1, outer // (16 * nthreads))
        with nogil:
            for o in prange(outer, num_threads=nthreads, schedule="dynamic",
                            chunksize=chunk, use_threads_if=parallel):
                imfilt_note_team(&used)
                tid = threadid()
                _line(sp + o * n, dp + o * n, n, k, before, &idx[0], fv,
                      scr + tid * 2 * Ln, scr + tid * 2 * Ln + Ln, ismax)
        return used
    # Column blocks: whole rows when fusing or when no scratch is needed.
    if rk > 0 or k <= DIRECT_MAX:
        B = inner
    else:
        B = SCRATCH_BYTES // (k * itemsize)
        B = B - B % (64 // itemsize)
        if B < 64 // itemsize:
            B = 64 // itemsize
        if B > inner:
            B = inner
    ncb = (inner + B - 1) // B
    # Row segments give every thread work even for one slab.
    nseg = 1
    if parallel and nthreads > 1:
        target = 16 * nthreads
        if outer * ncb < target:
            nseg = (target + outer * ncb - 1) // (outer * ncb)
    S = (n + nseg - 1) // nseg
    if k > DIRECT_MAX:
        S = ((S + k - 1) // k) * k
    if S < 1:
        S = 1
    nseg = (n + S - 1) // S
    units = outer * ncb * nseg
    Hn = k * B if k > DIRECT_MAX else 0
    Ln = inner + rk - 1 if rk > 0 else 0
    per_thread = Hn + B + 2 * Ln
    fillrow = np.full(B, np.asarray(fill)[0], dtype=np.asarray(src).dtype)
    scratch = np.empty(nthreads * per_thread + 1, dtype=np.asarray(src).dtype)
    scr = _data(scratch, sp)
    frow = _data(fillrow, sp)
    with nogil:
        for u in prange(units, num_threads=nthreads, schedule="dynamic", chunksize=1,
                        use_threads_if=parallel):
            imfilt_note_team(&used)
            tid = threadid()
            base = scr + tid * per_thread
            o = u // (ncb * nseg)
            cb = (u // nseg) % ncb
            sgm = u % nseg
            c0 = cb * B
            Bc = inner - c0 if inner - c0 < B else B
            i0 = sgm * S
            i1 = i0 + S if i0 + S < n else n
            _columns(sp + o * n * inner, dp + o * n * inner, inner, c0, Bc, i0, i1, k,
                     &idx[0], frow, base, base + Hn, ismax, rk, rbefore,
                     &ridx[0], base + Hn + B, base + Hn + B + Ln)
    return used


@cython.boundscheck(False)
@cython.wraparound(False)
def minmax_offsets(const mm_t[::1] padded not None,       # IN  padded image, flat
                   mm_t[::1] dst not None,                # OUT (nlines * W,)
                   const Py_ssize_t[::1] line_base not None,  # IN (nlines,) start in padded
                   Py_ssize_t W,
                   const Py_ssize_t[::1] offsets not None,  # IN (nf,) footprint offsets
                   bint ismax, int nthreads, Py_ssize_t min_work):
    """``dst[l*W + x] = extremum over t of padded[line_base[l] + offsets[t] + x]``.

    Threads start when ``nlines * W * len(offsets)`` reaches ``min_work``;
    returns the thread count used.
    """
    cdef Py_ssize_t nlines = line_base.shape[0], nf = offsets.shape[0], l, t, chunk
    cdef const mm_t *pp
    cdef mm_t *dp
    cdef const mm_t *q
    cdef bint parallel
    cdef int used = 1
    cdef Py_ssize_t lo = 0, hi = 0, blo, bhi
    if nlines == 0 or W == 0 or nf == 0:
        return 1
    # Every read stays inside ``padded``, every write inside ``dst``.
    blo = bhi = line_base[0]
    for l in range(nlines):
        blo = line_base[l] if line_base[l] < blo else blo
        bhi = line_base[l] if line_base[l] > bhi else bhi
    lo = hi = offsets[0]
    for t in range(nf):
        lo = offsets[t] if offsets[t] < lo else lo
        hi = offsets[t] if offsets[t] > hi else hi
    if W < 0 or dst.shape[0] < nlines * W or blo + lo < 0 \
            or bhi + hi + W > padded.shape[0]:
        raise ValueError("imfilt: minmax_offsets needs nlines * W outputs and line "
                         "starts plus offsets that read inside the padded image")
    parallel = use_threads(nthreads, nlines * W * nf, min_work)
    if not parallel:
        nthreads = 1
    pp = &padded[0]
    dp = &dst[0]
    chunk = max(1, nlines // (16 * nthreads))
    with nogil:
        for l in prange(nlines, num_threads=nthreads, schedule="dynamic", chunksize=chunk,
                        use_threads_if=parallel):
            imfilt_note_team(&used)
            q = pp + line_base[l]
            if nf == 1:
                memcpy(dp + l * W, q + offsets[0], W * sizeof(mm_t))
            else:
                _op2(dp + l * W, q + offsets[0], q + offsets[1], W, ismax)
                for t in range(2, nf):
                    _op2(dp + l * W, dp + l * W, q + offsets[t], W, ismax)
    return used
