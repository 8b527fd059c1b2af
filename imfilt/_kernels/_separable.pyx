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

from imfilt._kernels._common cimport imfilt_openmp_compiled

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
    void imfilt_sepline2_f32(float *o0, float *o1, Py_ssize_t n, const float **rows,
                             const float *w, Py_ssize_t k, int sym) noexcept
    void imfilt_sepline2_f64(double *o0, double *o1, Py_ssize_t n, const double **rows,
                             const double *w, Py_ssize_t k, int sym) noexcept
    void imfilt_sep_prefetch(const void *p, Py_ssize_t nbytes) noexcept


cdef inline void _line(real_t *o, Py_ssize_t n, const real_t **rows,
                       const real_t *w, Py_ssize_t k, int sym) noexcept nogil:
    if real_t is float:
        imfilt_sepline_f32(o, n, rows, w, k, sym)
    else:
        imfilt_sepline_f64(o, n, rows, w, k, sym)


cdef inline void _line2(real_t *o0, real_t *o1, Py_ssize_t n, const real_t **rows,
                        const real_t *w, Py_ssize_t k, int sym) noexcept nogil:
    """Two consecutive output rows from ``k + 1`` rows (each row loaded once)."""
    if real_t is float:
        imfilt_sepline2_f32(o0, o1, n, rows, w, k, sym)
    else:
        imfilt_sepline2_f64(o0, o1, n, rows, w, k, sym)


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


cdef inline void _pad_range(const real_t *src, const unsigned char *src8, Py_ssize_t W,
                            const Py_ssize_t *idx, Py_ssize_t before, real_t fill,
                            Py_ssize_t p0, Py_ssize_t p1, real_t *buf) noexcept nogil:
    """``buf[p - p0] = padded row[p]`` for ``p0 <= p < p1``, reading ``src8``
    (uint8, converted exactly) when not NULL, else ``src``."""
    cdef Py_ssize_t p, s, a = p0 if p0 > before else before
    cdef Py_ssize_t e = p1 if p1 < before + W else before + W
    for p in range(p0, p1 if p1 < before else before):
        s = idx[p]
        if s < 0:
            buf[p - p0] = fill
        elif src8 != NULL:
            buf[p - p0] = <real_t>src8[s]
        else:
            buf[p - p0] = src[s]
    if a < e:
        if src8 != NULL:
            for p in range(a, e):
                buf[p - p0] = <real_t>src8[p - before]
        else:
            memcpy(buf + a - p0, src + a - before, (e - a) * sizeof(real_t))
    for p in range(p0 if p0 > before + W else before + W, p1):
        s = idx[p]
        if s < 0:
            buf[p - p0] = fill
        elif src8 != NULL:
            buf[p - p0] = <real_t>src8[s]
        else:
            buf[p - p0] = src[s]


cdef inline void _row_seg(const real_t *src, const unsigned char *src8, Py_ssize_t W,
                          const Py_ssize_t *idx, Py_ssize_t before, real_t fill,
                          real_t *line, const real_t **rows, const real_t *w,
                          Py_ssize_t k, int sym, Py_ssize_t c0, Py_ssize_t c1,
                          real_t *o) noexcept nogil:
    """Outputs ``c0 .. c1 - 1`` of one row (``src`` or ``src8``, length ``W``,
    padded by ``idx``) correlated with ``w``, into ``o[0 .. c1 - c0 - 1]``.

    ``rows`` is a k-entry table holding ``line + t`` on entry and on return.
    A float row is read in place: only the outputs whose window crosses an
    edge read a padded copy of the row's ends (``line``); a uint8 row is
    converted into ``line``.  Each output gets the same values and the same
    arithmetic either way.
    """
    cdef Py_ssize_t after = k - 1 - before, t, a, e
    if src8 != NULL or W < k:
        _pad_range(src, src8, W, idx, before, fill, c0, c1 + k - 1, line)
        _line(o, c1 - c0, rows, w, k, sym)
        return
    e = c1 if c1 < before else before
    if c0 < e:
        _pad_range(src, NULL, W, idx, before, fill, c0, e + k - 1, line)
        _line(o, e - c0, rows, w, k, sym)
    a = c0 if c0 > before else before
    e = c1 if c1 < W - after else W - after
    if a < e:
        for t in range(k):
            rows[t] = src + (a - before) + t
        _line(o + a - c0, e - a, rows, w, k, sym)
        for t in range(k):
            rows[t] = line + t
    a = c0 if c0 > W - after else W - after
    if a < c1:
        _pad_range(src, NULL, W, idx, before, fill, a, c1 + k - 1, line)
        _line(o + a - c0, c1 - a, rows, w, k, sym)


cdef inline void _pad_row(const real_t *xp, const unsigned char *x8, Py_ssize_t row,
                          Py_ssize_t W, const Py_ssize_t *idx, Py_ssize_t P,
                          Py_ssize_t before, real_t fill, real_t *buf) noexcept nogil:
    """Pad image row ``row`` into ``buf``, reading ``x8`` (uint8) when not NULL.

    Reading uint8 directly saves the caller a full conversion pass; the
    values are exact in float32/float64, so the result does not change.
    """
    _pad_range(xp + row * W, (x8 + row * W) if x8 != NULL else NULL, W, idx, before, fill,
               0, P, buf)


cdef inline void _ring_order(const real_t **slots, const real_t **rows, Py_ssize_t R,
                             Py_ssize_t first, Py_ssize_t count) noexcept nogil:
    """``rows[t] = slots[(first + t) % R]`` for t < count (no division per row)."""
    cdef Py_ssize_t t, i = first % R
    for t in range(count):
        rows[t] = slots[i]
        i = i + 1
        if i == R:
            i = 0


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
    pointers : (nthreads, k + 1) per-thread row table.               # SCRATCH
    min_parallel_work : below this many tap-outputs run on one thread.
    """
    cdef Py_ssize_t outer = x.shape[0], n = x.shape[1], inner = x.shape[2]
    cdef Py_ssize_t k = w.shape[0], P = idx.shape[0]
    cdef Py_ssize_t per, band, nitems, item, o, blk, i, i0, i1, t, s, c0, cw, tid, m
    cdef Py_ssize_t chunk
    cdef const real_t *xp
    cdef const real_t *wp = &w[0]
    cdef const real_t *fp
    cdef const Py_ssize_t *ip = &idx[0]
    cdef real_t *buf
    cdef const real_t **rows
    cdef bint parallel
    if outer == 0 or n == 0 or inner == 0:
        return
    if pointers.shape[1] < k + 1 or pointers.shape[0] < nthreads:
        raise ValueError("correlate_axis: pointers must be (nthreads, k + 1)")
    # Column chunk: the k + 1 input rows of a chunk fill about 32 KiB (L1).
    chunk = 32768 // ((k + 1) * <Py_ssize_t>sizeof(real_t))
    chunk = chunk - chunk % 32
    if chunk < 256:
        chunk = 256
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
                for t in range(k):
                    rows[t] = buf + t
                _row_seg(xp + item * n, NULL, n, ip, before, fill, buf, rows, wp, k, sym,
                         0, n, &out[item, 0, 0])
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
                    i = i0
                    while i < i1:
                        # Two output rows at a time share their k - 1
                        # common input rows (same arithmetic per output).
                        m = 2 if i + 1 < i1 else 1
                        for t in range(k + m - 1):
                            s = ip[i + t]
                            if s >= 0:
                                rows[t] = xp + (o * n + s) * inner + c0
                            else:
                                rows[t] = fp + c0
                        if m == 2:
                            _line2(&out[o, i, c0], &out[o, i + 1, c0], cw, rows, wp, k, sym)
                        else:
                            _line(&out[o, i, c0], cw, rows, wp, k, sym)
                        i = i + m
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
                 Py_ssize_t min_parallel_work=0,
                 const unsigned char[:, :, ::1] x8=None):
    """Fused separable 2-D correlation of each image ``x[b]`` (rows, cols).

    ``w1`` runs along the rows (axis 2), ``w0`` along the columns (axis 1).
    Each thread takes a band of output rows; it filters the input rows the
    band needs along axis 2 into a ring of ``k0 + 1`` rows and forms the
    output rows two at a time from the ring (each ring row loaded once for
    both), so the image is read once and the intermediate never leaves the
    cache.  The result equals the axis-2 pass followed by the
    axis-1 pass on the once-padded image (padded rows hold ``fill``, whose
    row-filtered value is used for the column pass).

    scratch : (nthreads, (k0 + 2) * W + k1 - 1 + W)                 # SCRATCH
    pointers : (nthreads, 2 * (k0 + 1) + k1)                        # SCRATCH
    """
    cdef Py_ssize_t B = out.shape[0], H = out.shape[1], W = out.shape[2]
    cdef Py_ssize_t k0 = w0.shape[0], k1 = w1.shape[0], P1 = idx1.shape[0]
    cdef const unsigned char *x8p = NULL
    cdef Py_ssize_t per, band, nitems, item, b, blk, i0, i1, p, q, t, s, tid, slot
    cdef Py_ssize_t slen = scratch.shape[1], R = k0 + 1, fho = (k0 + 1) * W + P1
    cdef Py_ssize_t c0, cw, CW, nstrips
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
    if (slen < fho + W or P1 != W + k1 - 1 or pointers.shape[1] < 2 * R + k1
            or scratch.shape[0] < nthreads or pointers.shape[0] < nthreads
            or idx0.shape[0] != H + k0 - 1):
        raise ValueError("correlate_2d: scratch buffers too small")
    xp = &x[0, 0, 0]
    if x8 is not None:
        if x8.shape[0] != B or x8.shape[1] != H or x8.shape[2] != W:
            raise ValueError("correlate_2d: x8 must have the shape of out")
        x8p = &x8[0, 0, 0]
    elif x.shape[0] != B or x.shape[1] != H or x.shape[2] != W:
        raise ValueError("correlate_2d: x must have the shape of out")
    # The row-filtered value of an all-fill row, computed once by the same
    # arithmetic as every other row (thread 0's scratch, before the region).
    fh = sp + fho     # W entries after the ring and the line, in every thread's scratch
    line = sp + R * W
    hrows = <const real_t **>pp
    for p in range(P1):
        line[p] = fill
    for t in range(k1):
        hrows[t] = line + t
    _line(fh, W, hrows, wp1, k1, sym1)
    for tid in range(1, scratch.shape[0]):
        memcpy(sp + tid * slen + fho, fh, W * sizeof(real_t))

    # Strip width: the k0 + 1 ring rows of a strip fill about 32 KiB.
    CW = 32768 // (R * <Py_ssize_t>sizeof(real_t))
    CW = CW - CW % 32
    if CW < 64:
        CW = 64
    if CW > W:
        CW = W
    # Work items are (image, band of rows, strip): strips are independent
    # (only the row pass reads a few columns beyond a strip), so they give
    # the threads many items without recomputing the k0 - 1 halo rows of a
    # band; bands split the image only when there are few strips.
    nstrips = (W + CW - 1) // CW
    per = _items_per(H, B * nstrips, nthreads)
    band = (H + per - 1) // per
    if band < 4 * k0:
        band = 4 * k0   # the k0 - 1 halo rows are recomputed per band
    if band > H:
        band = H
    per = (H + band - 1) // band
    nitems = B * per * nstrips
    parallel = nthreads > 1 and nitems > 1 and B * H * W * (k0 + k1) >= min_parallel_work
    with nogil:
        for item in prange(nitems, num_threads=nthreads, schedule="dynamic",
                           chunksize=1, use_threads_if=parallel):
            tid = threadid()
            ring = sp + tid * slen
            line = ring + R * W
            fh = line + P1
            hrows = <const real_t **>(pp + tid * pointers.shape[1])
            slots = hrows + k1
            vrows = slots + R
            for t in range(k1):
                hrows[t] = line + t
            b = item // (per * nstrips)
            blk = item - b * per * nstrips
            c0 = (blk % nstrips) * CW
            blk = blk // nstrips
            i0 = blk * band
            i1 = i0 + band
            if i1 > H:
                i1 = H
            # A strip of cw columns: its k0 + 1 ring rows stay in L1.
            cw = W - c0
            if cw > CW:
                cw = CW
            for p in range(i0, i1 + k0 - 1):
                slot = p % R
                if p + 1 < i1 + k0 - 1 and ip0[p + 1] >= 0:
                    # The next source row of the strip is on its way
                    # while this one is filtered.
                    s = (b * H + ip0[p + 1]) * W + c0
                    if x8p != NULL:
                        imfilt_sep_prefetch(x8p + s, cw)
                    else:
                        imfilt_sep_prefetch(xp + s, cw * sizeof(real_t))
                s = ip0[p]
                if s >= 0:
                    _row_seg(xp + (b * H + s) * W,
                             (x8p + (b * H + s) * W) if x8p != NULL else NULL,
                             W, ip1, before1, fill, line, hrows, wp1, k1, sym1,
                             c0, c0 + cw, ring + slot * CW)
                    slots[slot] = ring + slot * CW
                else:
                    slots[slot] = fh + c0
                # Output row q has all its k0 rows once padded row p is in.
                q = p - k0 + 1
                if q > i0 and (q - i0) % 2 == 1:
                    # Rows q - 1 and q together (k0 + 1 ring rows), oldest
                    # first: padded rows q - 1 .. p, the slot after p's.
                    _ring_order(slots, vrows, R, slot + 1, R)
                    _line2(&out[b, q - 1, c0], &out[b, q, c0], cw, vrows, wp0, k0, sym0)
                elif q == i1 - 1:
                    # Padded rows q .. p.
                    _ring_order(slots, vrows, R, slot + 2, k0)
                    _line(&out[b, q, c0], cw, vrows, wp0, k0, sym0)

# Running sums restart every BOX_BAND outputs along the filtered axis, in
# every code path: an output's value then depends only on its position, not
# on the layout, the fused path or the split between threads, and a thread
# can start any band on its own.
DEF BOX_BAND = 256


cdef inline bint _box_line(const real_t *b, real_t *o, Py_ssize_t n, Py_ssize_t size,
                           double inv) noexcept nogil:
    """Running-sum means of one padded line; True when a sum went non-finite.

    Bands are independent, so four full bands run interleaved (four add
    chains in flight instead of one); each band's arithmetic is unchanged.
    """
    cdef Py_ssize_t i, t, i0, i1, m
    cdef double run, r0, r1, r2, r3
    cdef const real_t *b0
    cdef const real_t *b1
    cdef const real_t *b2
    cdef const real_t *b3
    cdef bint bad = False
    i0 = 0
    while i0 + 4 * BOX_BAND <= n:
        b0 = b + i0
        b1 = b0 + BOX_BAND
        b2 = b1 + BOX_BAND
        b3 = b2 + BOX_BAND
        r0 = 0.0
        r1 = 0.0
        r2 = 0.0
        r3 = 0.0
        for t in range(size):
            r0 = r0 + b0[t]
            r1 = r1 + b1[t]
            r2 = r2 + b2[t]
            r3 = r3 + b3[t]
        o[i0] = <real_t>(r0 * inv)
        o[i0 + BOX_BAND] = <real_t>(r1 * inv)
        o[i0 + 2 * BOX_BAND] = <real_t>(r2 * inv)
        o[i0 + 3 * BOX_BAND] = <real_t>(r3 * inv)
        for m in range(1, BOX_BAND):
            r0 = r0 + (<double>b0[m + size - 1] - <double>b0[m - 1])
            r1 = r1 + (<double>b1[m + size - 1] - <double>b1[m - 1])
            r2 = r2 + (<double>b2[m + size - 1] - <double>b2[m - 1])
            r3 = r3 + (<double>b3[m + size - 1] - <double>b3[m - 1])
            o[i0 + m] = <real_t>(r0 * inv)
            o[i0 + BOX_BAND + m] = <real_t>(r1 * inv)
            o[i0 + 2 * BOX_BAND + m] = <real_t>(r2 * inv)
            o[i0 + 3 * BOX_BAND + m] = <real_t>(r3 * inv)
        if not (isfinite(r0) and isfinite(r1) and isfinite(r2) and isfinite(r3)):
            bad = True
        i0 = i0 + 4 * BOX_BAND
    while i0 < n:
        i1 = i0 + BOX_BAND
        if i1 > n:
            i1 = n
        run = 0.0
        for t in range(size):
            run = run + b[i0 + t]
        o[i0] = <real_t>(run * inv)
        for i in range(i0 + 1, i1):
            run = run + (<double>b[i + size - 1] - <double>b[i - 1])
            o[i] = <real_t>(run * inv)
        if not isfinite(run):
            bad = True
        i0 = i1
    return bad


cdef inline void _box_direct(const real_t *b, real_t *o, Py_ssize_t n, Py_ssize_t size,
                             double inv) noexcept nogil:
    """Window by window, each term scaled first (huge finite values cannot overflow)."""
    cdef Py_ssize_t i, t
    cdef double run
    for i in range(n):
        run = 0.0
        for t in range(size):
            run = run + b[i + t] * inv
        o[i] = <real_t>run


cdef inline void _box_rows(const real_t **rows, Py_ssize_t size, double *a, real_t *o,
                           Py_ssize_t cw, double inv) noexcept nogil:
    """Start a band: ``a = sum of size rows`` (in order), ``o = a * inv``."""
    cdef Py_ssize_t c, t
    cdef const real_t *r
    for c in range(cw):
        a[c] = 0.0
    for t in range(size):
        r = rows[t]
        for c in range(cw):
            a[c] = a[c] + r[c]
    for c in range(cw):
        o[c] = <real_t>(a[c] * inv)


cdef inline void _box_step(const real_t *add, const real_t *sub, double *a, real_t *o,
                           Py_ssize_t cw, double inv) noexcept nogil:
    """One running-sum step over a row: ``a += add - sub``, ``o = a * inv``."""
    cdef Py_ssize_t c
    for c in range(cw):
        a[c] = a[c] + (<double>add[c] - <double>sub[c])
        o[c] = <real_t>(a[c] * inv)


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
             Py_ssize_t[:, ::1] pointers not None,
             Py_ssize_t min_parallel_work=0):
    """Mean of every window of ``size`` along axis 1 of ``x`` (outer, n, inner).

    Running sums in double, restarted every BOX_BAND outputs: each output
    costs one add and one subtract whatever ``size``.  A band whose running
    sum ends non-finite (a NaN or inf entered it, or float64 overflow) is
    recomputed window by window with each term scaled by ``1/size`` first,
    so a NaN only reaches the outputs whose window holds it and huge finite
    values do not overflow.

    idx : (n + size - 1,) padded-axis map.
    scratch : (nthreads, n + size - 1) line buffer (inner == 1).     # SCRATCH
    acc : (nthreads, chunk) running sums (inner > 1).                # SCRATCH
    pointers : (nthreads, size) row table (inner > 1).               # SCRATCH
    """
    cdef Py_ssize_t outer = x.shape[0], n = x.shape[1], inner = x.shape[2]
    cdef Py_ssize_t P = idx.shape[0], chunk = acc.shape[1]
    cdef Py_ssize_t nchunks, nbands, nitems, item, o, c0, cw, c, i, i0, i1, t, s, tid, rest
    cdef const real_t *xp
    cdef const real_t *fp
    cdef const Py_ssize_t *ip = &idx[0]
    cdef const real_t *add_row
    cdef const real_t *sub_row
    cdef const real_t **rows
    cdef real_t *buf
    cdef double *a
    cdef double run, inv = 1.0 / size
    cdef bint parallel
    if outer == 0 or n == 0 or inner == 0:
        return
    xp = &x[0, 0, 0]
    fp = &fillrow[0]
    nbands = (n + BOX_BAND - 1) // BOX_BAND
    if inner == 1:
        nchunks = 1
        nitems = outer
    else:
        nchunks = (inner + chunk - 1) // chunk
        nitems = outer * nchunks * nbands
    parallel = nthreads > 1 and nitems > 1 and outer * n * inner * 4 >= min_parallel_work
    with nogil:
        for item in prange(nitems, num_threads=nthreads, schedule="dynamic",
                           chunksize=1, use_threads_if=parallel):
            tid = threadid()
            if inner == 1:
                buf = &scratch[tid, 0]
                _pad_line(xp + item * n, n, 1, ip, P, before, fill, buf)
                if _box_line(buf, &out[item, 0, 0], n, size, inv):
                    _box_direct(buf, &out[item, 0, 0], n, size, inv)
            else:
                o = item // (nchunks * nbands)
                rest = item - o * nchunks * nbands
                c0 = (rest // nbands) * chunk
                i0 = (rest - (rest // nbands) * nbands) * BOX_BAND
                i1 = i0 + BOX_BAND
                if i1 > n:
                    i1 = n
                cw = inner - c0
                if cw > chunk:
                    cw = chunk
                a = &acc[tid, 0]
                rows = <const real_t **>&pointers[tid, 0]
                for t in range(size):
                    s = ip[i0 + t]
                    rows[t] = (xp + (o * n + s) * inner + c0) if s >= 0 else fp + c0
                _box_rows(rows, size, a, &out[o, i0, c0], cw, inv)
                for i in range(i0 + 1, i1):
                    s = ip[i + size - 1]
                    add_row = (xp + (o * n + s) * inner + c0) if s >= 0 else fp + c0
                    s = ip[i - 1]
                    sub_row = (xp + (o * n + s) * inner + c0) if s >= 0 else fp + c0
                    _box_step(add_row, sub_row, a, &out[o, i, c0], cw, inv)
                for c in range(cw):
                    if not isfinite(a[c]):
                        for i in range(i0, i1):
                            run = 0.0
                            for t in range(size):
                                s = ip[i + t]
                                run = run + (xp[(o * n + s) * inner + c0 + c] if s >= 0 else fill) * inv
                            out[o, i, c0 + c] = <real_t>run


@cython.boundscheck(False)
@cython.wraparound(False)
def box_2d(const real_t[:, :, ::1] x not None,
           real_t[:, :, ::1] out not None,
           const Py_ssize_t[::1] idx0 not None,
           const Py_ssize_t[::1] idx1 not None,
           Py_ssize_t before1,
           Py_ssize_t k0, Py_ssize_t k1,
           real_t fill,
           int nthreads,
           real_t[:, ::1] scratch not None,
           double[:, ::1] acc not None,
           Py_ssize_t[:, ::1] pointers not None,
           Py_ssize_t min_parallel_work=0,
           const unsigned char[:, :, ::1] x8=None):
    """Fused 2-D box of each image ``x[b]``: the row pass into a ring, then columns.

    Equal, bit for bit, to ``box_axis`` along axis 2 followed by ``box_axis``
    along axis 1 (same running sums, restarted at the same BOX_BAND
    boundaries).  Each work item is one band of BOX_BAND output rows: its
    rows are box-filtered along axis 2 into a ring of ``k0 + 1`` rows and the
    column running sums are formed from the ring.  Returns False when a
    running sum went non-finite anywhere (the caller then runs the two
    single passes, which recompute such windows one by one).

    scratch : (nthreads, (k0 + 3) * W + k1 - 1)                     # SCRATCH
    acc : (nthreads, W) column sums                                  # SCRATCH
    pointers : (nthreads, 2 * (k0 + 1))                              # SCRATCH
    """
    cdef Py_ssize_t B = out.shape[0], H = out.shape[1], W = out.shape[2], P1 = idx1.shape[0]
    cdef const unsigned char *x8p = NULL
    cdef Py_ssize_t nbands, nitems, item, b, i0, i1, i, p, t, s, tid, slen = scratch.shape[1]
    cdef const real_t *xp
    cdef const Py_ssize_t *ip0 = &idx0[0]
    cdef const Py_ssize_t *ip1 = &idx1[0]
    cdef real_t *sp = &scratch[0, 0]
    cdef real_t *fh
    cdef real_t *line
    cdef real_t *ring
    cdef real_t **slot_buf
    cdef const real_t **slots
    cdef real_t *spare
    cdef const real_t *old
    cdef double *a
    cdef double inv0 = 1.0 / k0, inv1 = 1.0 / k1
    cdef int bad = 0
    cdef bint parallel
    if B == 0 or H == 0 or W == 0:
        return True
    if (slen < (k0 + 3) * W + k1 - 1 or P1 != W + k1 - 1 or acc.shape[1] < W
            or pointers.shape[1] < 2 * (k0 + 1) or scratch.shape[0] < nthreads
            or acc.shape[0] < nthreads or pointers.shape[0] < nthreads or idx0.shape[0] != H + k0 - 1):
        raise ValueError("box_2d: scratch buffers too small")
    xp = &x[0, 0, 0]
    if x8 is not None:
        if x8.shape[0] != B or x8.shape[1] != H or x8.shape[2] != W:
            raise ValueError("box_2d: x8 must have the shape of out")
        x8p = &x8[0, 0, 0]
    elif x.shape[0] != B or x.shape[1] != H or x.shape[2] != W:
        raise ValueError("box_2d: x must have the shape of out")
    # The row-box of an all-fill row (same arithmetic as every row).
    line = sp + (k0 + 1) * W
    fh = line + P1
    for p in range(P1):
        line[p] = fill
    if _box_line(line, fh, W, k1, inv1):
        return False
    for tid in range(1, scratch.shape[0]):
        memcpy(sp + tid * slen + (k0 + 1) * W + P1, fh, W * sizeof(real_t))
    nbands = (H + BOX_BAND - 1) // BOX_BAND
    nitems = B * nbands
    parallel = nthreads > 1 and nitems > 1 and B * H * W * 4 >= min_parallel_work
    with nogil:
        for item in prange(nitems, num_threads=nthreads, schedule="dynamic",
                           chunksize=1, use_threads_if=parallel):
            tid = threadid()
            ring = sp + tid * slen
            line = ring + (k0 + 1) * W
            fh = line + P1
            a = &acc[tid, 0]
            slots = <const real_t **>&pointers[tid, 0]       # k0 + 1 row pointers
            slot_buf = <real_t **>&pointers[tid, k0 + 1]    # k0 + 1 ring buffers
            for t in range(k0 + 1):
                slot_buf[t] = ring + t * W
            b = item // nbands
            i0 = (item - b * nbands) * BOX_BAND
            i1 = i0 + BOX_BAND
            if i1 > H:
                i1 = H
            # Padded rows i0 .. i0 + k0 - 1 start the band.
            for t in range(k0):
                s = ip0[i0 + t]
                if s >= 0:
                    _pad_row(xp, x8p, b * H + s, W, ip1, P1, before1, fill, line)
                    if _box_line(line, slot_buf[t], W, k1, inv1):
                        bad += 1
                    slots[t] = slot_buf[t]
                else:
                    slots[t] = fh
            _box_rows(slots, k0, a, &out[b, i0, 0], W, inv0)
            for i in range(i0 + 1, i1):
                # Row i - 1 leaves (slot (i - 1 - i0) % (k0 + 1)), padded
                # row i + k0 - 1 enters (slot (i + k0 - 1 - i0) % (k0 + 1)).
                p = i + k0 - 1
                t = (p - i0) % (k0 + 1)
                s = ip0[p]
                if s >= 0:
                    _pad_row(xp, x8p, b * H + s, W, ip1, P1, before1, fill, line)
                    if _box_line(line, slot_buf[t], W, k1, inv1):
                        bad += 1
                    slots[t] = slot_buf[t]
                else:
                    slots[t] = fh
                old = slots[(i - 1 - i0) % (k0 + 1)]
                _box_step(slots[t], old, a, &out[b, i, 0], W, inv0)
            for i in range(W):
                if not isfinite(a[i]):
                    bad += 1
    return bad == 0
