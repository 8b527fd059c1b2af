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

from imfilt._kernels._omp_support cimport imfilt_openmp_compiled

ctypedef long long longlong

ctypedef fused pool_t:
    float
    double
    longlong

# Reductions (codes shared with imfilt.pooling).
cdef enum:
    OP_MAX = 0
    OP_MIN = 1
    OP_AVG = 2
    OP_STOCHASTIC = 3
    OP_STOCHASTIC_MEAN = 4


def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _pool_row(const pool_t *x, Py_ssize_t H, Py_ssize_t W,
                    pool_t *o, long long *ind, Py_ssize_t Wo, Py_ssize_t oy,
                    Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                    Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
                    int op, pool_t init, bint count_include_pad,
                    double divisor, const double *u) noexcept nogil:
    """Compute output row ``oy`` of one plane into ``o`` (and ``ind``)."""
    cdef Py_ssize_t ox, ih, iw, a, b, nh, nw, ih0, ih1, iw0, iw1, hend, wend, best, pool_size
    cdef pool_t v, m
    cdef double acc, acc2, target, cnt

    ih0 = oy * sh - ph
    if op == OP_MAX or op == OP_MIN:
        ih1 = ih0 + (kh - 1) * dh + 1
        if ih1 > H:
            ih1 = H
        while ih0 < 0:
            ih0 = ih0 + dh
        nh = (ih1 - ih0 + dh - 1) // dh if ih1 > ih0 else 0
        for ox in range(Wo):
            iw0 = ox * sw - pw
            iw1 = iw0 + (kw - 1) * dw + 1
            if iw1 > W:
                iw1 = W
            while iw0 < 0:
                iw0 = iw0 + dw
            nw = (iw1 - iw0 + dw - 1) // dw if iw1 > iw0 else 0
            m = init
            best = ih0 * W + iw0
            if op == OP_MAX:
                for a in range(nh):
                    ih = ih0 + a * dh
                    for b in range(nw):
                        iw = iw0 + b * dw
                        v = x[ih * W + iw]
                        if v > m or v != v:
                            m = v
                            best = ih * W + iw
            else:
                for a in range(nh):
                    ih = ih0 + a * dh
                    for b in range(nw):
                        iw = iw0 + b * dw
                        v = x[ih * W + iw]
                        if v < m or v != v:
                            m = v
                            best = ih * W + iw
            o[ox] = m
            if ind != NULL:
                ind[ox] = best
    elif op == OP_AVG:
        hend = ih0 + kh
        if hend > H + ph:
            hend = H + ph
        ih1 = hend if hend < H else H
        for ox in range(Wo):
            iw0 = ox * sw - pw
            wend = iw0 + kw
            if wend > W + pw:
                wend = W + pw
            pool_size = (hend - ih0) * (wend - iw0)
            iw1 = wend if wend < W else W
            if iw0 < 0:
                iw0 = 0
            acc = 0
            for ih in range((ih0 if ih0 > 0 else 0), ih1):
                for iw in range(iw0, iw1):
                    acc = acc + <double>x[ih * W + iw]
            if divisor > 0:
                cnt = divisor
            elif count_include_pad:
                cnt = <double>pool_size
            else:
                cnt = <double>(((ih1 - (ih0 if ih0 > 0 else 0))) * (iw1 - iw0))
            o[ox] = <pool_t>(acc / cnt)
    else:
        # Stochastic pooling: windows lie inside the plane (no padding).
        ih1 = ih0 + kh
        for ox in range(Wo):
            iw0 = ox * sw
            iw1 = iw0 + kw
            acc = 0
            acc2 = 0
            for ih in range(ih0, ih1):
                for iw in range(iw0, iw1):
                    acc = acc + <double>x[ih * W + iw]
                    acc2 = acc2 + <double>x[ih * W + iw] * <double>x[ih * W + iw]
            best = ih0 * W + iw0
            if op == OP_STOCHASTIC_MEAN:
                o[ox] = <pool_t>(acc2 / acc) if acc > 0 else <pool_t>0
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
                            acc2 = acc2 + <double>v
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
cdef void _pool_row_separable(const pool_t *x, Py_ssize_t H, Py_ssize_t W,
                              pool_t *o, long long *ind, Py_ssize_t Wo, Py_ssize_t oy,
                              Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                              Py_ssize_t ph, Py_ssize_t pw, int op, pool_t init,
                              bint count_include_pad, double divisor,
                              pool_t *t, double *acc, Py_ssize_t *tr) noexcept nogil:
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
    cdef Py_ssize_t ox, ih, iw, ih0, ih1, iw0, iw1, hend, wend, pool_size, r0, r1
    cdef const pool_t *xr
    cdef pool_t v, m
    cdef double a, cnt
    cdef Py_ssize_t r, br, bc
    cdef bint better

    ih0 = oy * sh - ph
    r0 = ih0 if ih0 > 0 else 0
    if op == OP_AVG:
        hend = ih0 + kh
        if hend > H + ph:
            hend = H + ph
        r1 = hend if hend < H else H
    else:
        r1 = ih0 + kh
        if r1 > H:
            r1 = H
    if op == OP_AVG:
        for iw in range(W):
            acc[iw] = 0
        for ih in range(r0, r1):
            xr = x + ih * W
            for iw in range(W):
                acc[iw] += <double>xr[iw]
        for ox in range(Wo):
            iw0 = ox * sw - pw
            wend = iw0 + kw
            if wend > W + pw:
                wend = W + pw
            pool_size = (hend - ih0) * (wend - iw0)
            iw1 = wend if wend < W else W
            if iw0 < 0:
                iw0 = 0
            a = 0
            for iw in range(iw0, iw1):
                a = a + acc[iw]
            if divisor > 0:
                cnt = divisor
            elif count_include_pad:
                cnt = <double>pool_size
            else:
                cnt = <double>((r1 - r0) * (iw1 - iw0))
            o[ox] = <pool_t>(a / cnt)
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
            if op == OP_MAX:
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
        elif op == OP_MAX:
            for iw in range(W):
                v = xr[iw]
                t[iw] = v if (v > t[iw] or v != v) else t[iw]
        else:
            for iw in range(W):
                v = xr[iw]
                t[iw] = v if (v < t[iw] or v != v) else t[iw]
    for ox in range(Wo):
        iw0 = ox * sw - pw
        iw1 = iw0 + kw
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
                    if op == OP_MAX:
                        better = v > m or (v == m and r < br)
                    else:
                        better = v < m or (v == m and r < br)
                    if better:
                        m = v
                        br = r
                        bc = iw
            o[ox] = m
            ind[ox] = br * W + bc
        elif op == OP_MAX:
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
           Py_ssize_t[:, ::1] rscratch=None):        # (nthreads, W): separable indices
    """Pool every plane of ``x`` into ``out`` (see module docstring)."""
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
    if rows == 0 or Wo == 0:
        return
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
    parallel = nthreads > 1 and rows * Wo * kh * kw >= 65536
    with nogil:
        for r in prange(rows, num_threads=nthreads, schedule="static",
                        use_threads_if=parallel):
            p = r // Ho
            oy = r - p * Ho
            if separable:
                tid = threadid()
                _pool_row_separable(xp + p * H * W, H, W, op_ + r * Wo,
                                    (ip + r * Wo) if ip != NULL else NULL, Wo, oy,
                                    kh, kw, sh, sw, ph, pw, op, init,
                                    count_include_pad, divisor,
                                    tp + tid * W, ap + tid * W, rp + tid * W)
                continue
            _pool_row(xp + p * H * W, H, W, op_ + r * Wo,
                      (ip + r * Wo) if ip != NULL else NULL, Wo, oy,
                      kh, kw, sh, sw, ph, pw, dh, dw, op, init,
                      count_include_pad, divisor,
                      (up + r * Wo) if up != NULL else NULL)


@cython.boundscheck(False)
@cython.wraparound(False)
def unpool2d(const pool_t[:, ::1] x not None,        # IN  (P, L) pooled values
             const long long[:, ::1] indices not None,  # IN (P, L), validated
             pool_t[:, ::1] out not None,            # OUT (P, HW), zeroed
             int nthreads):
    """Scatter ``x`` into ``out`` plane by plane; later writes win.

    Indices were checked to lie in ``[0, HW)`` by the caller.  Each thread
    owns whole planes, and inside a plane the writes happen in input order,
    so duplicate indices resolve the same way for any thread count.
    """
    cdef Py_ssize_t P = x.shape[0], L = x.shape[1], p, i
    cdef bint parallel = nthreads > 1 and P * L >= 65536
    if P == 0 or L == 0:
        return
    with nogil:
        for p in prange(P, num_threads=nthreads, schedule="static",
                        use_threads_if=parallel):
            for i in range(L):
                out[p, indices[p, i]] = x[p, i]
