"""Pooling and unpooling kernels (private).

One generic window loop serves max, min, average and stochastic pooling
(``op`` selects the reduction; the window geometry is PyTorch's).  The
input is a stack of planes ``x[P, H, W]`` (P = N * C); threads take whole
output rows, so every output element is computed by the same sequence of
operations whatever the thread count, and results are bit-identical for
any ``nthreads``.  All shapes, parameters and indices are validated by the
Python layer (``imfilt.pooling``) before these functions are called.
"""

cimport cython
from cython.parallel cimport prange, threadid
from libc.math cimport ilogb, ldexp

import numpy as np

from imfilt._kernels._common cimport (WORK_PER_ELEMENT, imax, imfilt_openmp_compiled,
                                      imfilt_note_team, imin, use_threads)

ctypedef long long longlong

ctypedef fused pool_t:
    float
    double
    longlong

# Reductions; imfilt.pooling reads the codes from OP_CODES below.
cdef enum:
    OP_MAX = 0
    OP_MIN = 1
    OP_AVG = 2
    OP_STOCHASTIC = 3
    OP_STOCHASTIC_MEAN = 4

# Stochastic pooling sums a window's activations and their squares in double:
# a window whose largest activation lies outside [2**-500, 2**500] is summed
# again scaled to about 1 (squares of 2**511 overflow, of 2**-538 underflow).
cdef double SCALE_ABOVE = 2.0 ** 500
cdef double SCALE_BELOW = 2.0 ** -500

#: Reduction name -> the ``op`` code of ``pool2d``.
OP_CODES = {"max": OP_MAX, "min": OP_MIN, "avg": OP_AVG, "stochastic": OP_STOCHASTIC,
            "stochastic_mean": OP_STOCHASTIC_MEAN}


cdef struct Window:
    # The pooling window of one call: size, stride, padding, dilation, the
    # reduction and the average's divisor rule (see _avg_divisor).
    Py_ssize_t kh, kw, sh, sw, ph, pw, dh, dw
    int op
    bint include_pad
    double divisor


cdef inline Py_ssize_t _avg_count(Py_ssize_t i0, Py_ssize_t k, Py_ssize_t n, Py_ssize_t p,
                                  bint include_pad) noexcept nogil:
    """The average pooling divisor factor of one axis (THE rule, used everywhere).

    The window starts at ``i0`` (negative inside the left padding) and is cut
    at the end of the padded axis ``n + p``, so a ceil-mode overhang never
    counts.  With ``include_pad`` the padded cells count, otherwise only the
    cells inside the axis.  The divisor is the product over the two axes
    (unless ``divisor_override`` replaces it).
    """
    cdef Py_ssize_t end = i0 + k
    if end > n + p:
        end = n + p
    if include_pad:
        return end - i0
    if end > n:
        end = n
    return end - (i0 if i0 > 0 else 0)


cdef inline Py_ssize_t _taps_inside(Py_ssize_t *start, Py_ssize_t k, Py_ssize_t d,
                                    Py_ssize_t n) noexcept nogil:
    """Move ``start`` to the first tap of the dilated window inside ``[0, n)``;
    return how many of its ``k`` taps (spaced ``d``) lie inside."""
    cdef Py_ssize_t end = imin(start[0] + (k - 1) * d + 1, n)
    while start[0] < 0:
        start[0] = start[0] + d
    return (end - start[0] + d - 1) // d if end > start[0] else 0


cdef inline double _avg_divisor(const Window *g, Py_ssize_t i0, Py_ssize_t j0, Py_ssize_t H,
                               Py_ssize_t W) noexcept nogil:
    """The divisor of the window at ``(i0, j0)``: ``divisor_override`` when
    positive, else the product of the two axes' ``_avg_count``."""
    if g.divisor > 0:
        return g.divisor
    # (each factor in double: their product may pass 2**63 where the sizes
    # do not)
    return (<double>_avg_count(i0, g.kh, H, g.ph, g.include_pad)
            * <double>_avg_count(j0, g.kw, W, g.pw, g.include_pad))


def avg_axis_counts(Py_ssize_t n, Py_ssize_t k, Py_ssize_t s, Py_ssize_t p, Py_ssize_t n_out,
                    bint count_include_pad):
    """Divisor factor of each of ``n_out`` outputs of one axis (see ``_avg_count``)."""
    out = np.empty(n_out, dtype=np.intp)
    cdef Py_ssize_t[::1] o = out
    cdef Py_ssize_t i
    for i in range(n_out):
        o[i] = _avg_count(i * s - p, k, n, p, count_include_pad)
    return out


def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _pool_row(const pool_t *x, Py_ssize_t H, Py_ssize_t W, pool_t *o, long long *ind,
                    Py_ssize_t Wo, Py_ssize_t oy, const Window *g, pool_t init,
                    const double *u) noexcept nogil:
    """Compute output row ``oy`` of one plane into ``o`` (and ``ind``)."""
    cdef Py_ssize_t ox, ih, iw, a, b, nh, nw, ih0, ih1, iw0, iw1, best
    cdef pool_t v, m
    cdef double acc, acc2, target, cnt, top, scale
    cdef bint is_max

    ih0 = oy * g.sh - g.ph
    if g.op == OP_MAX or g.op == OP_MIN:
        is_max = g.op == OP_MAX
        nh = _taps_inside(&ih0, g.kh, g.dh, H)
        for ox in range(Wo):
            iw0 = ox * g.sw - g.pw
            nw = _taps_inside(&iw0, g.kw, g.dw, W)
            m = init
            best = ih0 * W + iw0
            for a in range(nh):
                ih = ih0 + a * g.dh
                for b in range(nw):
                    iw = iw0 + b * g.dw
                    v = x[ih * W + iw]
                    # NaN wins (PyTorch); ties keep the first extremum.
                    if (v > m if is_max else v < m) or v != v:
                        m = v
                        best = ih * W + iw
            o[ox] = m
            if ind != NULL:
                ind[ox] = best
    elif g.op == OP_AVG:
        ih1 = imin(ih0 + g.kh, H)
        for ox in range(Wo):
            acc = 0
            for ih in range(imax(ih0, 0), ih1):
                for iw in range(imax(ox * g.sw - g.pw, 0), imin(ox * g.sw - g.pw + g.kw, W)):
                    acc = acc + <double>x[ih * W + iw]
            cnt = _avg_divisor(g, ih0, ox * g.sw - g.pw, H, W)
            o[ox] = <pool_t>(acc / cnt)
    else:
        # Stochastic pooling: windows lie inside the plane (no padding).
        ih1 = ih0 + g.kh
        for ox in range(Wo):
            iw0 = ox * g.sw
            iw1 = iw0 + g.kw
            acc = 0
            acc2 = 0
            top = 0
            for ih in range(ih0, ih1):
                for iw in range(iw0, iw1):
                    acc = acc + <double>x[ih * W + iw]
                    acc2 = acc2 + <double>x[ih * W + iw] * <double>x[ih * W + iw]
                    if pool_t is double:
                        if <double>x[ih * W + iw] > top:
                            top = <double>x[ih * W + iw]
            # Activations so large (small) that their sum or squares overflow
            # (underflow) a double: the window is summed again scaled by a
            # power of two (exact), which changes neither the probabilities
            # nor, once scaled back, the mean.  float32 input never needs it.
            scale = 1
            if pool_t is double and (top > SCALE_ABOVE or (0 < top < SCALE_BELOW)):
                # 2**1074 would overflow: subnormals are scaled up by 2**1000
                scale = ldexp(1.0, imin(-ilogb(top), 1000))
                acc = 0
                acc2 = 0
                for ih in range(ih0, ih1):
                    for iw in range(iw0, iw1):
                        acc = acc + <double>x[ih * W + iw] * scale
                        acc2 = acc2 + (<double>x[ih * W + iw] * scale) * (<double>x[ih * W + iw] * scale)
            best = ih0 * W + iw0
            if g.op == OP_STOCHASTIC_MEAN:
                o[ox] = <pool_t>((acc2 / acc) / scale) if acc > 0 else <pool_t>0
            elif acc > 0:
                # Inverse-CDF sampling: the first position whose cumulative
                # activation exceeds u * sum.  Zero activations are never
                # chosen; rounding can only fall back to the last positive one.
                target = u[ox] * acc
                acc2 = 0
                best = -1
                for ih in range(ih0, ih1):
                    for iw in range(iw0, iw1):
                        v = x[ih * W + iw]
                        if v > 0:
                            acc2 = acc2 + <double>v * scale
                            best = ih * W + iw
                            if acc2 > target:
                                break
                    if acc2 > target:
                        break
                o[ox] = x[best]
            else:
                o[ox] = 0
            if ind != NULL:
                ind[ox] = best


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _pool_row_separable(const pool_t *x, Py_ssize_t H, Py_ssize_t W, pool_t *o,
                              long long *ind, Py_ssize_t Wo, Py_ssize_t oy, const Window *g,
                              pool_t init, pool_t *t, double *acc,
                              Py_ssize_t *tr) noexcept nogil:
    """Max/min/avg of one output row without dilation.

    Separable: the window's rows are first reduced column by column into
    ``t`` (max/min) or ``acc`` (avg, in double) with contiguous, vectorised
    loops, then each output reduces ``kw`` entries of that row.  Values are
    those of the generic loop (a NaN anywhere in the window gives NaN); only
    the summation order of the average differs (rounding level).

    With ``ind``, ``tr[iw]`` keeps the row of each column's extremum (first
    row on ties, last row for NaN) and the horizontal pass picks the
    column so that the index is the generic loop's: the first extremum in
    row-major order, or the last NaN.
    """
    cdef Py_ssize_t ox, ih, iw, ih0, ih1, iw0, iw1, r0, r1
    cdef const pool_t *xr
    cdef pool_t v, m
    cdef double a, cnt
    cdef Py_ssize_t r, br, bc
    cdef bint better

    ih0 = oy * g.sh - g.ph
    r0 = imax(ih0, 0)
    r1 = imin(ih0 + g.kh, H)
    if g.op == OP_AVG:
        for iw in range(W):
            acc[iw] = 0
        for ih in range(r0, r1):
            xr = x + ih * W
            for iw in range(W):
                acc[iw] += <double>xr[iw]
        for ox in range(Wo):
            a = 0
            for iw in range(imax(ox * g.sw - g.pw, 0), imin(ox * g.sw - g.pw + g.kw, W)):
                a = a + acc[iw]
            o[ox] = <pool_t>(a / _avg_divisor(g, ih0, ox * g.sw - g.pw, H, W))
        return
    xr = x + r0 * W
    for iw in range(W):
        t[iw] = xr[iw]
    if ind != NULL:
        for iw in range(W):
            tr[iw] = r0
    for ih in range(r0 + 1, r1):
        xr = x + ih * W
        if ind != NULL:
            if g.op == OP_MAX:
                for iw in range(W):
                    v = xr[iw]
                    better = v > t[iw] or v != v
                    t[iw] = v if better else t[iw]
                    tr[iw] = ih if better else tr[iw]
            else:
                for iw in range(W):
                    v = xr[iw]
                    better = v < t[iw] or v != v
                    t[iw] = v if better else t[iw]
                    tr[iw] = ih if better else tr[iw]
        elif g.op == OP_MAX:
            for iw in range(W):
                v = xr[iw]
                t[iw] = v if (v > t[iw] or v != v) else t[iw]
        else:
            for iw in range(W):
                v = xr[iw]
                t[iw] = v if (v < t[iw] or v != v) else t[iw]
    for ox in range(Wo):
        iw0 = ox * g.sw - g.pw
        iw1 = iw0 + g.kw
        if iw1 > W:
            iw1 = W
        if iw0 < 0:
            iw0 = 0
        m = init
        if ind != NULL:
            br = r0
            bc = iw0
            for iw in range(iw0, iw1):
                v = t[iw]
                r = tr[iw]
                if v != v:
                    # The last NaN in row-major order wins.
                    if m == m or r >= br:
                        m = v
                        br = r
                        bc = iw
                elif m == m:
                    # The first extremum in row-major order wins.
                    if g.op == OP_MAX:
                        better = v > m or (v == m and r < br)
                    else:
                        better = v < m or (v == m and r < br)
                    if better:
                        m = v
                        br = r
                        bc = iw
            o[ox] = m
            ind[ox] = br * W + bc
        elif g.op == OP_MAX:
            for iw in range(iw0, iw1):
                v = t[iw]
                if v > m or v != v:
                    m = v
            o[ox] = m
        else:
            for iw in range(iw0, iw1):
                v = t[iw]
                if v < m or v != v:
                    m = v
            o[ox] = m


@cython.boundscheck(False)
@cython.wraparound(False)
def pool2d(const pool_t[:, :, ::1] x not None,       # IN  (P, H, W)
           pool_t[:, :, ::1] out not None,           # OUT (P, Ho, Wo)
           long long[:, :, ::1] indices,             # OUT (P, Ho, Wo) or None
           Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
           Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
           int op, pool_t init, bint count_include_pad, double divisor,
           const double[:, :, ::1] uniforms,         # IN  (P, Ho, Wo) or None
           int nthreads,
           pool_t[:, ::1] tscratch=None,             # (nthreads, W): separable path
           double[:, ::1] ascratch=None,             # (nthreads, W): separable avg
           Py_ssize_t[:, ::1] rscratch=None,         # (nthreads, W): separable indices
           Py_ssize_t min_work=0):
    """Pool every plane of ``x`` into ``out`` (see module docstring).

    Runs serially below ``min_work`` work items (window taps); returns the
    number of threads that ran.
    """
    cdef Py_ssize_t P = x.shape[0], H = x.shape[1], W = x.shape[2]
    cdef Py_ssize_t Ho = out.shape[1], Wo = out.shape[2]
    cdef Py_ssize_t rows = P * Ho, r, p, oy
    cdef const pool_t *xp
    cdef pool_t *op_
    cdef long long *ip = NULL
    cdef const double *up = NULL
    cdef bint parallel, separable
    cdef pool_t *tp = NULL
    cdef double *ap = NULL
    cdef Py_ssize_t *rp = NULL
    cdef Py_ssize_t tid
    cdef int used = 1
    cdef Window g
    if rows == 0 or Wo == 0:
        return used
    g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw = kh, kw, sh, sw, ph, pw, dh, dw
    g.op, g.include_pad, g.divisor = op, count_include_pad, divisor
    # Max/min/avg without indices and dilation reduce rows first (vectorised).
    separable = (tscratch is not None and ascratch is not None and rscratch is not None
                 and dh == 1 and dw == 1 and op <= OP_AVG and pool_t is not longlong
                 and W > 0)
    if separable:
        tp = &tscratch[0, 0]
        ap = &ascratch[0, 0]
        rp = &rscratch[0, 0]
    xp = &x[0, 0, 0]
    op_ = &out[0, 0, 0]
    if indices is not None:
        ip = &indices[0, 0, 0]
    if uniforms is not None:
        up = &uniforms[0, 0, 0]
    parallel = use_threads(nthreads, rows * Wo * kh * kw * WORK_PER_ELEMENT, min_work)
    with nogil:
        for r in prange(rows, num_threads=nthreads, schedule="static",
                        use_threads_if=parallel):
            imfilt_note_team(&used)
            p = r // Ho
            oy = r - p * Ho
            if separable:
                tid = threadid()
                _pool_row_separable(xp + p * H * W, H, W, op_ + r * Wo,
                                    (ip + r * Wo) if ip != NULL else NULL, Wo, oy, &g, init,
                                    tp + tid * W, ap + tid * W, rp + tid * W)
                continue
            _pool_row(xp + p * H * W, H, W, op_ + r * Wo,
                      (ip + r * Wo) if ip != NULL else NULL, Wo, oy, &g, init,
                      (up + r * Wo) if up != NULL else NULL)
    return used


@cython.boundscheck(False)
@cython.wraparound(False)
def unpool2d(const pool_t[:, ::1] x not None,        # IN  (P, L) pooled values
             const long long[:, ::1] indices not None,  # IN (P, L), validated
             pool_t[:, ::1] out not None,            # OUT (P, HW), zeroed
             int nthreads, Py_ssize_t min_work):
    """Scatter ``x`` into ``out`` plane by plane; later writes win (returns the threads).

    Indices were checked to lie in ``[0, HW)`` by the caller.  Each thread
    owns whole planes, and inside a plane the writes happen in input order,
    so duplicate indices resolve the same way for any thread count.
    """
    cdef Py_ssize_t P = x.shape[0], L = x.shape[1], p, i
    cdef bint parallel = use_threads(nthreads, P * L * WORK_PER_ELEMENT, min_work)
    cdef int used = 1
    if P == 0 or L == 0:
        return used
    with nogil:
        for p in prange(P, num_threads=nthreads, schedule="static",
                        use_threads_if=parallel):
            imfilt_note_team(&used)
            for i in range(L):
                out[p, indices[p, i]] = x[p, i]
    return used
