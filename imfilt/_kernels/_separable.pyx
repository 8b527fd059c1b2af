"""Separable filtering kernels (private): 1-D passes along one axis, fused 2-D.

Every array is viewed as ``(outer, n, inner)``: the filtered axis has length
``n``, ``outer`` is the product of the axes before it and ``inner`` of the
axes after it (1 when the filtered axis is the last).  Boundaries are given
by an index map ``idx`` of the padded axis (``numpy.pad`` semantics, folding
repeatedly, built in Python by ``imfilt._modes.boundary_index``): padded
position ``p`` holds image index ``idx[p]``, or the fill value where
``idx[p] < 0``; output ``i`` reads padded positions ``i .. i + k - 1``.  The
interior of the padded axis is the image itself (``idx[p] == p - before``),
so only the ``before``/``after`` border entries are ever looked up.

Work is split over disjoint output (lines, bands of rows, column chunks)
handed to threads dynamically; every output element is computed by the same
sequence of floating-point operations whoever computes it, so results are
bit-identical for any thread count.  The arithmetic lives in ``_sepline.h``.
"""

cimport cython
from cython.parallel cimport prange, threadid
from libc.math cimport isfinite
from libc.string cimport memcpy

from imfilt._kernels._omp_support cimport imfilt_openmp_compiled

ctypedef fused real_t:
    float
    double


def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


cdef extern from "_sepline.h" nogil:
    void imfilt_sepline_f32(float *o, Py_ssize_t n, const float **rows,
                            const float *w, Py_ssize_t k, int sym) noexcept
    void imfilt_sepline_f64(double *o, Py_ssize_t n, const double **rows,
                            const double *w, Py_ssize_t k, int sym) noexcept


cdef inline void _line(real_t *o, Py_ssize_t n, const real_t **rows,
                       const real_t *w, Py_ssize_t k, int sym) noexcept nogil:
    if real_t is float:
        imfilt_sepline_f32(o, n, rows, w, k, sym)
    else:
        imfilt_sepline_f64(o, n, rows, w, k, sym)


cdef inline void _pad_line(const real_t *src, Py_ssize_t n, Py_ssize_t stride,
                           const Py_ssize_t *idx, Py_ssize_t P,
                           Py_ssize_t before, real_t fill,
                           real_t *buf) noexcept nogil:
    """``buf[p] = src[idx[p] * stride]`` (fill where -1) for p < P.

    Only the border entries consult ``idx``; the interior is a block copy
    (stride 1) or a strided gather.
    """
    cdef Py_ssize_t p, s, stop = before + n
    if stop > P:
        stop = P
    for p in range(before):
        s = idx[p]
        buf[p] = src[s * stride] if s >= 0 else fill
    if stride == 1:
        memcpy(buf + before, src, (stop - before) * sizeof(real_t))
    else:
        for p in range(before, stop):
            buf[p] = src[(p - before) * stride]
    for p in range(stop, P):
        s = idx[p]
        buf[p] = src[s * stride] if s >= 0 else fill


cdef inline Py_ssize_t _items_per(Py_ssize_t count, Py_ssize_t outer,
                                  int nthreads) noexcept nogil:
    """Split ``count`` units of each of ``outer`` blocks into ~4 items per thread."""
    cdef Py_ssize_t per = (nthreads * 4 + outer - 1) // outer
    if per > count:
        per = count
    if per < 1:
        per = 1
    return per


@cython.boundscheck(False)
@cython.wraparound(False)
def correlate_axis(const real_t[:, :, ::1] x not None,
                   const real_t[::1] w not None,
                   real_t[:, :, ::1] out not None,
                   const Py_ssize_t[::1] idx not None,
                   Py_ssize_t before,
                   real_t fill,
                   int sym,
                   int nthreads,
                   const real_t[::1] fillrow not None,
                   real_t[:, ::1] scratch not None,
                   Py_ssize_t[:, ::1] pointers not None,
                   Py_ssize_t min_parallel_work=0):
    """Correlate every line of axis 1 of ``x`` (outer, n, inner) with ``w``.

    Parameters (validated by the caller)
    ------------------------------------
    x : (outer, n, inner) C-contiguous input, n >= 1.              # IN
    w : (k,) weights in correlation form; ``sym`` 1/-1 when they are
        symmetric/antisymmetric with k odd, else 0.                  # IN
    out : (outer, n, inner) C-contiguous output, not ``x``.         # OUT
    idx : (n + k - 1,) padded-axis map, ``before`` entries before the image.
    fill : fill value where ``idx < 0``.
    fillrow : (inner,) filled with ``fill``.                         # IN
    scratch : (nthreads, n + k - 1) per-thread line buffer.          # SCRATCH
    pointers : (nthreads, k) per-thread row table.                   # SCRATCH
    min_parallel_work : below this many tap-outputs run on one thread.
    """
    cdef Py_ssize_t outer = x.shape[0], n = x.shape[1], inner = x.shape[2]
    cdef Py_ssize_t k = w.shape[0], P = idx.shape[0]
    cdef Py_ssize_t per, band, nitems, item, o, blk, i, i0, i1, t, s, c0, cw, tid
    cdef Py_ssize_t chunk = 16384 // sizeof(real_t)
    cdef const real_t *xp
    cdef const real_t *wp = &w[0]
    cdef const real_t *fp
    cdef const Py_ssize_t *ip = &idx[0]
    cdef real_t *buf
    cdef const real_t **rows
    cdef bint parallel
    if outer == 0 or n == 0 or inner == 0:
        return
    xp = &x[0, 0, 0]
    fp = &fillrow[0]
    if inner == 1:
        per, band = 1, 1
        nitems = outer
    else:
        per = _items_per(n, outer, nthreads)
        band = (n + per - 1) // per
        per = (n + band - 1) // band
        nitems = outer * per
    parallel = nthreads > 1 and nitems > 1 and outer * n * inner * k >= min_parallel_work
    with nogil:
        for item in prange(nitems, num_threads=nthreads, schedule="dynamic",
                           chunksize=1, use_threads_if=parallel):
            tid = threadid()
            rows = <const real_t **>&pointers[tid, 0]
            if inner == 1:
                # One contiguous line: pad it into the thread's buffer, then
                # the k shifted views of the buffer are the rows.
                buf = &scratch[tid, 0]
                _pad_line(xp + item * n, n, 1, ip, P, before, fill, buf)
                for t in range(k):
                    rows[t] = buf + t
                _line(&out[item, 0, 0], n, rows, wp, k, sym)
            else:
                o = item // per
                blk = item - o * per
                i0 = blk * band
                i1 = i0 + band
                if i1 > n:
                    i1 = n
                # Column chunks first, rows inside: the k input rows of a
                # chunk stay in cache from one output row to the next.
                c0 = 0
                while c0 < inner:
                    cw = inner - c0
                    if cw > chunk:
                        cw = chunk
                    for i in range(i0, i1):
                        for t in range(k):
                            s = ip[i + t]
                            if s >= 0:
                                rows[t] = xp + (o * n + s) * inner + c0
                            else:
                                rows[t] = fp + c0
                        _line(&out[o, i, c0], cw, rows, wp, k, sym)
                    c0 = c0 + cw


@cython.boundscheck(False)
@cython.wraparound(False)
def correlate_2d(const real_t[:, :, ::1] x not None,
                 const real_t[::1] w0 not None,
                 const real_t[::1] w1 not None,
                 real_t[:, :, ::1] out not None,
                 const Py_ssize_t[::1] idx0 not None,
                 const Py_ssize_t[::1] idx1 not None,
                 Py_ssize_t before1,
                 real_t fill,
                 int sym0, int sym1,
                 int nthreads,
                 real_t[:, ::1] scratch not None,
                 Py_ssize_t[:, ::1] pointers not None,
                 Py_ssize_t min_parallel_work=0):
    """Fused separable 2-D correlation of each image ``x[b]`` (rows, cols).

    ``w1`` runs along the rows (axis 2), ``w0`` along the columns (axis 1).
    Each thread takes a band of output rows; it filters the input rows the
    band needs along axis 2 into a ring of ``k0`` rows and forms each output
    row from the ring, so the image is read once and the intermediate never
    leaves the cache.  The result equals the axis-2 pass followed by the
    axis-1 pass on the once-padded image (padded rows hold ``fill``, whose
    row-filtered value is used for the column pass).

    scratch : (nthreads, (k0 + 1) * W + k1 - 1 + W)                 # SCRATCH
    pointers : (nthreads, 2 * k0 + k1)                              # SCRATCH
    """
    cdef Py_ssize_t B = x.shape[0], H = x.shape[1], W = x.shape[2]
    cdef Py_ssize_t k0 = w0.shape[0], k1 = w1.shape[0], P1 = idx1.shape[0]
    cdef Py_ssize_t per, band, nitems, item, b, blk, i0, i1, p, t, s, tid, slot
    cdef Py_ssize_t slen = scratch.shape[1]
    cdef const real_t *xp
    cdef const real_t *wp0 = &w0[0]
    cdef const real_t *wp1 = &w1[0]
    cdef const Py_ssize_t *ip0 = &idx0[0]
    cdef const Py_ssize_t *ip1 = &idx1[0]
    cdef real_t *sp = &scratch[0, 0]
    cdef Py_ssize_t *pp = &pointers[0, 0]
    cdef real_t *fh
    cdef real_t *ring
    cdef real_t *line
    cdef const real_t **hrows
    cdef const real_t **slots
    cdef const real_t **vrows
    cdef bint parallel
    if B == 0 or H == 0 or W == 0:
        return
    xp = &x[0, 0, 0]
    # The row-filtered value of an all-fill row, computed once by the same
    # arithmetic as every other row (thread 0's scratch, before the region).
    fh = sp + (k0 + 1) * W + P1 - W   # last W entries of every thread's scratch
    line = sp + k0 * W
    hrows = <const real_t **>pp
    for p in range(P1):
        line[p] = fill
    for t in range(k1):
        hrows[t] = line + t
    _line(fh, W, hrows, wp1, k1, sym1)
    for tid in range(1, scratch.shape[0]):
        memcpy(sp + tid * slen + (k0 + 1) * W + P1 - W, fh, W * sizeof(real_t))

    per = _items_per(H, B, nthreads)
    band = (H + per - 1) // per
    if band < 4 * k0:
        band = 4 * k0   # the k0 - 1 halo rows are recomputed per band
    if band > H:
        band = H
    per = (H + band - 1) // band
    nitems = B * per
    parallel = nthreads > 1 and nitems > 1 and B * H * W * (k0 + k1) >= min_parallel_work
    with nogil:
        for item in prange(nitems, num_threads=nthreads, schedule="dynamic",
                           chunksize=1, use_threads_if=parallel):
            tid = threadid()
            ring = sp + tid * slen
            line = ring + k0 * W
            fh = line + P1
            hrows = <const real_t **>(pp + tid * pointers.shape[1])
            slots = hrows + k1
            vrows = slots + k0
            for t in range(k1):
                hrows[t] = line + t
            b = item // per
            blk = item - b * per
            i0 = blk * band
            i1 = i0 + band
            if i1 > H:
                i1 = H
            for p in range(i0, i1 + k0 - 1):
                slot = p % k0
                s = ip0[p]
                if s >= 0:
                    _pad_line(xp + (b * H + s) * W, W, 1, ip1, P1, before1, fill, line)
                    _line(ring + slot * W, W, hrows, wp1, k1, sym1)
                    slots[slot] = ring + slot * W
                else:
                    slots[slot] = fh
                if p >= i0 + k0 - 1:
                    for t in range(k0):
                        vrows[t] = slots[(p - k0 + 1 + t) % k0]
                    _line(&out[b, p - k0 + 1, 0], W, vrows, wp0, k0, sym0)

cdef inline double _box_line(const real_t *b, real_t *o, Py_ssize_t n, Py_ssize_t size,
                             double inv) noexcept nogil:
    """Running-sum means of one padded line; returns the final sum."""
    cdef Py_ssize_t i, t
    cdef double run = 0.0
    for t in range(size):
        run = run + b[t]
    o[0] = <real_t>(run * inv)
    for i in range(1, n):
        run = run + (<double>b[i + size - 1] - <double>b[i - 1])
        o[i] = <real_t>(run * inv)
    return run


cdef inline void _box_lines4(const real_t *b, Py_ssize_t P, real_t *o, Py_ssize_t n,
                             Py_ssize_t size, double inv, double *last) noexcept nogil:
    """``_box_line`` on four lines at once (``b``/``o`` rows ``P``/``n`` apart).

    Four independent running sums hide the latency of the add chain; each
    line sees exactly the operations of ``_box_line``.
    """
    cdef Py_ssize_t i, t
    cdef double r0 = 0.0, r1 = 0.0, r2 = 0.0, r3 = 0.0
    cdef const real_t *b0 = b
    cdef const real_t *b1 = b + P
    cdef const real_t *b2 = b + 2 * P
    cdef const real_t *b3 = b + 3 * P
    for t in range(size):
        r0 = r0 + b0[t]
        r1 = r1 + b1[t]
        r2 = r2 + b2[t]
        r3 = r3 + b3[t]
    o[0] = <real_t>(r0 * inv)
    o[n] = <real_t>(r1 * inv)
    o[2 * n] = <real_t>(r2 * inv)
    o[3 * n] = <real_t>(r3 * inv)
    for i in range(1, n):
        r0 = r0 + (<double>b0[i + size - 1] - <double>b0[i - 1])
        r1 = r1 + (<double>b1[i + size - 1] - <double>b1[i - 1])
        r2 = r2 + (<double>b2[i + size - 1] - <double>b2[i - 1])
        r3 = r3 + (<double>b3[i + size - 1] - <double>b3[i - 1])
        o[i] = <real_t>(r0 * inv)
        o[n + i] = <real_t>(r1 * inv)
        o[2 * n + i] = <real_t>(r2 * inv)
        o[3 * n + i] = <real_t>(r3 * inv)
    last[0] = r0
    last[1] = r1
    last[2] = r2
    last[3] = r3


@cython.boundscheck(False)
@cython.wraparound(False)
def box_axis(const real_t[:, :, ::1] x not None,
             real_t[:, :, ::1] out not None,
             const Py_ssize_t[::1] idx not None,
             Py_ssize_t before,
             Py_ssize_t size,
             real_t fill,
             int nthreads,
             const real_t[::1] fillrow not None,
             real_t[:, ::1] scratch not None,
             double[:, ::1] acc not None,
             Py_ssize_t min_parallel_work=0):
    """Mean of every window of ``size`` along axis 1 of ``x`` (outer, n, inner).

    Running sums in double: each output costs one add and one subtract
    whatever ``size``.  A line (or column) whose running sum ends non-finite
    (a NaN or inf entered it, or float64 overflow) is recomputed window by
    window (terms scaled by ``1/size`` first, so huge finite values do not
    overflow), so a NaN only reaches the outputs whose window holds it.

    idx : (n + size - 1,) padded-axis map.
    scratch : (nthreads, 4 * (n + size - 1)) line buffers (inner == 1).  # SCRATCH
    acc : (nthreads, chunk >= 4) running sums.                       # SCRATCH
    """
    cdef Py_ssize_t outer = x.shape[0], n = x.shape[1], inner = x.shape[2]
    cdef Py_ssize_t P = idx.shape[0], chunk = acc.shape[1]
    cdef Py_ssize_t per, nitems, item, o, c0, cw, c, i, t, s, tid, l0, cnt, g
    cdef const real_t *xp
    cdef const real_t *fp
    cdef const Py_ssize_t *ip = &idx[0]
    cdef const real_t *add_row
    cdef const real_t *sub_row
    cdef real_t *buf
    cdef real_t *orow
    cdef double *a
    cdef double run, inv = 1.0 / size
    cdef bint parallel
    if outer == 0 or n == 0 or inner == 0:
        return
    xp = &x[0, 0, 0]
    fp = &fillrow[0]
    if inner == 1:
        per = 1
        nitems = (outer + 3) // 4
    else:
        per = (inner + chunk - 1) // chunk
        nitems = outer * per
    parallel = nthreads > 1 and nitems > 1 and outer * n * inner * 4 >= min_parallel_work
    with nogil:
        for item in prange(nitems, num_threads=nthreads, schedule="dynamic",
                           chunksize=1, use_threads_if=parallel):
            tid = threadid()
            if inner == 1:
                # Lines in groups of four (see _box_lines4).
                buf = &scratch[tid, 0]
                a = &acc[tid, 0]
                l0 = item * 4
                cnt = outer - l0
                if cnt > 4:
                    cnt = 4
                for g in range(cnt):
                    _pad_line(xp + (l0 + g) * n, n, 1, ip, P, before, fill, buf + g * P)
                if cnt == 4:
                    _box_lines4(buf, P, &out[l0, 0, 0], n, size, inv, a)
                else:
                    for g in range(cnt):
                        a[g] = _box_line(buf + g * P, &out[l0 + g, 0, 0], n, size, inv)
                for g in range(cnt):
                    if not isfinite(a[g]):
                        # Window by window, each term scaled first so that
                        # huge finite values cannot overflow the sum.
                        orow = &out[l0 + g, 0, 0]
                        for i in range(n):
                            run = 0.0
                            for t in range(size):
                                run = run + buf[g * P + i + t] * inv
                            orow[i] = <real_t>run
            else:
                o = item // per
                c0 = (item - o * per) * chunk
                cw = inner - c0
                if cw > chunk:
                    cw = chunk
                a = &acc[tid, 0]
                for c in range(cw):
                    a[c] = 0.0
                for t in range(size):
                    s = ip[t]
                    add_row = (xp + (o * n + s) * inner + c0) if s >= 0 else fp + c0
                    for c in range(cw):
                        a[c] = a[c] + add_row[c]
                orow = &out[o, 0, c0]
                for c in range(cw):
                    orow[c] = <real_t>(a[c] * inv)
                for i in range(1, n):
                    s = ip[i + size - 1]
                    add_row = (xp + (o * n + s) * inner + c0) if s >= 0 else fp + c0
                    s = ip[i - 1]
                    sub_row = (xp + (o * n + s) * inner + c0) if s >= 0 else fp + c0
                    orow = &out[o, i, c0]
                    for c in range(cw):
                        a[c] = a[c] + (<double>add_row[c] - <double>sub_row[c])
                        orow[c] = <real_t>(a[c] * inv)
                for c in range(cw):
                    if not isfinite(a[c]):
                        for i in range(n):
                            run = 0.0
                            for t in range(size):
                                s = ip[i + t]
                                run = run + (xp[(o * n + s) * inner + c0 + c] if s >= 0 else fill) * inv
                            out[o, i, c0 + c] = <real_t>run
