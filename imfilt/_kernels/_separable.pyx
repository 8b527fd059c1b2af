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

The fused 2-D kernels can store their result cast to an 8- or 16-bit
integer type (``out8``): each output row is cast by ``_saturate.pxd``'s rule
while it is in cache, so no float result array is written.  ``box_u8`` is
the fused box of uint8 images by exact integer row sums, equal to
``box_2d`` bit for bit.
"""

cimport cython
from cython.parallel cimport prange, threadid
from libc.float cimport DBL_MAX
from libc.math cimport INFINITY, NAN, isfinite
from libc.string cimport memcpy

from imfilt._kernels._common cimport (IMFILT_F32_INF_BITS, IMFILT_F64_INF_BITS,
                                      imfilt_max_abs_bits_f32, imfilt_max_abs_bits_f64,
                                      imfilt_note_team, imfilt_openmp_compiled, imin, real_t,
                                      use_threads)
from imfilt._kernels._saturate cimport SATURATE_SMALL_CODES, saturate_small


DEF CAST_CHUNK = 512
#: Columns of the fused kernel's float rows cast to an integer output at a time
#: (4 rows of them stay in L1 until cast).
CAST_CHUNK_COLUMNS = CAST_CHUNK


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
    void imfilt_sepline4_f32(float *const *o4, Py_ssize_t n, const float **rows,
                             const float *w, Py_ssize_t k, int sym) noexcept
    void imfilt_sepline4_f64(double *const *o4, Py_ssize_t n, const double **rows,
                             const double *w, Py_ssize_t k, int sym) noexcept
    void imfilt_shiftline_f32(float *o, Py_ssize_t n, const float **rows,
                              const float *w, Py_ssize_t k, int sym) noexcept
    void imfilt_shiftline_f64(double *o, Py_ssize_t n, const double **rows,
                              const double *w, Py_ssize_t k, int sym) noexcept
    void imfilt_sep_prefetch(const void *p, Py_ssize_t nbytes) noexcept


cdef inline bint _nonfinite(const real_t *o, Py_ssize_t n) noexcept nogil:
    """Whether ``o[:n]`` holds inf or NaN (one integer maximum, ``_bits.h``)."""
    if real_t is float:
        return imfilt_max_abs_bits_f32(o, n) >= IMFILT_F32_INF_BITS
    else:
        return imfilt_max_abs_bits_f64(o, n) >= IMFILT_F64_INF_BITS


cdef extern from "_boxrows.h" nogil:
    enum: BOX_G "IMFILT_BOX_G"      # rows per SIMD group of the box row pass
    void imfilt_u8r_round16(const unsigned short *c, unsigned char *o, Py_ssize_t W,
                            Py_ssize_t k1, unsigned short h, unsigned short mul,
                            int shift) noexcept
    int imfilt_boxrows_f32(const float **rows, int cnt, Py_ssize_t W, const Py_ssize_t *idx,
                           Py_ssize_t before, float fill, float **outs, Py_ssize_t c0,
                           Py_ssize_t c1, Py_ssize_t size, double inv, Py_ssize_t first,
                           Py_ssize_t band, double *tin, float *tout) noexcept
    int imfilt_boxrows_f64(const double **rows, int cnt, Py_ssize_t W, const Py_ssize_t *idx,
                           Py_ssize_t before, double fill, double **outs, Py_ssize_t c0,
                           Py_ssize_t c1, Py_ssize_t size, double inv, Py_ssize_t first,
                           Py_ssize_t band, double *tin, double *tout) noexcept
    int imfilt_boxrows_u8_f32(const unsigned char **rows, int cnt, Py_ssize_t W,
                              const Py_ssize_t *idx, Py_ssize_t before, float fill,
                              float **outs, Py_ssize_t c0, Py_ssize_t c1, Py_ssize_t size,
                              double inv, Py_ssize_t first, Py_ssize_t band, double *tin,
                              float *tout) noexcept
    int imfilt_boxrows_u8_f64(const unsigned char **rows, int cnt, Py_ssize_t W,
                              const Py_ssize_t *idx, Py_ssize_t before, double fill,
                              double **outs, Py_ssize_t c0, Py_ssize_t c1, Py_ssize_t size,
                              double inv, Py_ssize_t first, Py_ssize_t band, double *tin,
                              double *tout) noexcept
    void imfilt_boxcols_f32(double *a, const float **add, const float **sub, float **out,
                            int m, Py_ssize_t W, double inv) noexcept
    void imfilt_boxcols_f64(double *a, const double **add, const double **sub, double **out,
                            int m, Py_ssize_t W, double inv) noexcept


cdef inline void _line(real_t *o, Py_ssize_t n, const real_t **rows,
                       const real_t *w, Py_ssize_t k, int sym, bint along=False) noexcept nogil:
    """One output row from ``k`` rows; ``along``: a pass along a contiguous
    line (``rows[t] == rows[0] + t``), which reads the line in aligned blocks."""
    if real_t is float:
        if along:
            imfilt_shiftline_f32(o, n, rows, w, k, sym)
        else:
            imfilt_sepline_f32(o, n, rows, w, k, sym)
    elif along:
        imfilt_shiftline_f64(o, n, rows, w, k, sym)
    else:
        imfilt_sepline_f64(o, n, rows, w, k, sym)


cdef inline void _line2(real_t *o0, real_t *o1, Py_ssize_t n, const real_t **rows,
                        const real_t *w, Py_ssize_t k, int sym) noexcept nogil:
    """Two consecutive output rows from ``k + 1`` rows (each row loaded once)."""
    if real_t is float:
        imfilt_sepline2_f32(o0, o1, n, rows, w, k, sym)
    else:
        imfilt_sepline2_f64(o0, o1, n, rows, w, k, sym)


cdef inline void _line4(real_t **o4, Py_ssize_t n, const real_t **rows,
                        const real_t *w, Py_ssize_t k, int sym) noexcept nogil:
    """Four consecutive output rows ``o4[0..3]`` from ``k + 3`` rows (each
    row loaded once for all four)."""
    if real_t is float:
        imfilt_sepline4_f32(o4, n, rows, w, k, sym)
    else:
        imfilt_sepline4_f64(o4, n, rows, w, k, sym)


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
    cdef Py_ssize_t p, a = p0 if p0 > before else before
    cdef Py_ssize_t e = p1 if p1 < before + W else before + W
    _pad_by_index(src, src8, idx, fill, p0, p0, p1 if p1 < before else before, buf)
    if a < e:
        if src8 != NULL:
            for p in range(a, e):
                buf[p - p0] = <real_t>src8[p - before]
        else:
            memcpy(buf + a - p0, src + a - before, (e - a) * sizeof(real_t))
    _pad_by_index(src, src8, idx, fill, p0, p0 if p0 > before + W else before + W, p1, buf)


cdef inline void _pad_by_index(const real_t *src, const unsigned char *src8,
                               const Py_ssize_t *idx, real_t fill, Py_ssize_t p0,
                               Py_ssize_t lo, Py_ssize_t hi, real_t *buf) noexcept nogil:
    """``buf[p - p0] = padded row[p]`` for ``lo <= p < hi`` through ``idx``
    (-1: ``fill``), reading ``src8`` when not NULL, else ``src``."""
    cdef Py_ssize_t p, s
    for p in range(lo, hi):
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
        _line(o, c1 - c0, rows, w, k, sym, True)
        return
    e = c1 if c1 < before else before
    if c0 < e:
        _pad_range(src, NULL, W, idx, before, fill, c0, e + k - 1, line)
        _line(o, e - c0, rows, w, k, sym, True)
    a = c0 if c0 > before else before
    e = c1 if c1 < W - after else W - after
    if a < e:
        for t in range(k):
            rows[t] = src + (a - before) + t
        _line(o + a - c0, e - a, rows, w, k, sym, True)
        for t in range(k):
            rows[t] = line + t
    a = c0 if c0 > W - after else W - after
    if a < c1:
        _pad_range(src, NULL, W, idx, before, fill, a, c1 + k - 1, line)
        _line(o + a - c0, c1 - a, rows, w, k, sym, True)


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


cdef inline void _corr_block(const real_t *xp, const real_t *fp, const Py_ssize_t *ip,
                             const real_t *wp, Py_ssize_t k, int sym, Py_ssize_t n,
                             Py_ssize_t inner, Py_ssize_t o, Py_ssize_t i0, Py_ssize_t i1,
                             Py_ssize_t chunk, const real_t **rows, real_t *op) noexcept nogil:
    """Output rows ``[i0, i1)`` of slab ``o`` of a correlation along a strided axis.

    Column chunks of ``chunk`` first, rows inside: the k input rows of a
    chunk stay in cache from one output row to the next.  Two output rows at
    a time share their k - 1 common input rows (same arithmetic per output);
    ``rows`` holds k + 1 entries.
    """
    cdef Py_ssize_t i, t, s, m, c0 = 0, cw
    while c0 < inner:
        cw = inner - c0
        if cw > chunk:
            cw = chunk
        i = i0
        while i < i1:
            m = 2 if i + 1 < i1 else 1
            for t in range(k + m - 1):
                s = ip[i + t]
                if s >= 0:
                    rows[t] = xp + (o * n + s) * inner + c0
                else:
                    rows[t] = fp + c0
            if m == 2:
                _line2(op + (o * n + i) * inner + c0, op + (o * n + i + 1) * inner + c0, cw,
                       rows, wp, k, sym)
            else:
                _line(op + (o * n + i) * inner + c0, cw, rows, wp, k, sym)
            i = i + m
        c0 = c0 + cw


cdef int _check_planes(x, x8, Py_ssize_t B, Py_ssize_t H, Py_ssize_t W, str name) except -1:
    """The fused 2-D kernels read ``x8`` (uint8) when given, else ``x``: (B, H, W)."""
    src, which = (x8, "x8") if x8 is not None else (x, "x")
    if tuple(src.shape[:3]) != (B, H, W):
        raise ValueError(f"{name}: {which} must have the shape of out")
    return 0


cdef tuple _cast_shape(const char[:, :, ::1] out8, int code, str name):
    """``(B, H, W)`` of the integer array of type ``code`` (``_cast.CODES``)
    whose raw bytes are ``out8``, for a fused kernel that stores cast."""
    cdef Py_ssize_t isz = 1 << (code // 2)
    if not 0 <= code <= SATURATE_SMALL_CODES or out8.shape[2] % isz:
        raise ValueError(f"{name}: out8 needs an 8- or 16-bit code")
    return out8.shape[0], out8.shape[1], out8.shape[2] // isz


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
                 const unsigned char[:, :, ::1] x8=None,
                 char[:, :, ::1] out8=None, int code=1, int[::1] seen=None):
    """Fused separable 2-D correlation of each image ``x[b]`` (rows, cols).

    ``w1`` runs along the rows (axis 2), ``w0`` along the columns (axis 1).
    Each thread takes a band of output rows; it filters the input rows the
    band needs along axis 2 into a ring of ``k0 + 3`` rows and forms the
    output rows four at a time from the ring (each ring row loaded once for
    all four; the last rows of a band two or one at a time), so the image is
    read once and the intermediate never leaves the cache.  The result equals the axis-2 pass followed by the
    axis-1 pass on the once-padded image (padded rows hold ``fill``, whose
    row-filtered value is used for the column pass).

    With ``out8`` (the raw bytes of a (B, H, W) integer array of type
    ``code`` <= SATURATE_SMALL_CODES, ``_cast.CODES``) each output row goes
    through a per-thread cache-resident row and is stored cast by
    ``_saturate.pxd``'s rule (``out`` is then unused): the values of the
    float result cast afterwards, without the float array.

    With ``seen`` (nthreads entries, zeroed by the caller) a thread sets
    its entry to 1 when an output it forms is inf or NaN (checked on each
    group of output rows while in cache).

    scratch : (nthreads, (k0 + 4) * W + k1 - 1 + W), + 4 * CAST_CHUNK with out8   # SCRATCH
    pointers : (nthreads, 3 * (k0 + 3) + k1 + 4)                    # SCRATCH

    Returns the number of threads that ran (1 when serial).
    """
    cdef Py_ssize_t B = out.shape[0], H = out.shape[1], W = out.shape[2]
    cdef Py_ssize_t k0 = w0.shape[0], k1 = w1.shape[0], P1 = idx1.shape[0]
    cdef const unsigned char *x8p = NULL
    cdef char *o8p = NULL
    cdef Py_ssize_t isz = 1 << (code // 2)
    cdef real_t *tmp
    cdef real_t **o4
    cdef Py_ssize_t m, first
    cdef Py_ssize_t per, band, nitems, item, b, blk, i0, i1, p, q, t, s, tid, slot
    cdef Py_ssize_t slen = scratch.shape[1], R = k0 + 3, fho
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
    cdef const real_t **crows
    cdef Py_ssize_t ch
    cdef bint parallel
    cdef int used = 1
    cdef int *seenp = NULL
    if out8 is not None:
        B, H, W = _cast_shape(out8, code, "correlate_2d")
    fho = R * W + P1
    if B == 0 or H == 0 or W == 0:
        return 1
    if (slen < fho + W + (4 * CAST_CHUNK if out8 is not None else 0) or P1 != W + k1 - 1
            or pointers.shape[1] < 3 * R + k1 + 4
            or scratch.shape[0] < nthreads or pointers.shape[0] < nthreads
            or idx0.shape[0] != H + k0 - 1
            or (seen is not None and seen.shape[0] < nthreads)):
        raise ValueError("correlate_2d: scratch buffers too small")
    _check_planes(x, x8, B, H, W, "correlate_2d")
    xp = &x[0, 0, 0]
    x8p = &x8[0, 0, 0] if x8 is not None else NULL
    o8p = &out8[0, 0, 0] if out8 is not None else NULL
    seenp = &seen[0] if seen is not None else NULL
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

    # Strip width: the k0 + 3 ring rows of a strip fill about 256 KiB, which
    # stays in L2 while the strip is worked on.  Narrower strips (an L1-sized
    # ring) cost more than they save for long kernels: each ring row's row
    # pass then reads cw + k1 - 1 inputs for cw outputs, and its vector loop
    # runs on few vectors (measured: 1.2-1.35x slower Gaussians at sigma 5
    # and 10, 2048^2, with a 32 KiB ring; alike from 192 KiB to 768 KiB).
    CW = 262144 // (R * <Py_ssize_t>sizeof(real_t))
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
    parallel = nitems > 1 and use_threads(nthreads, B * H * W * (k0 + k1), min_parallel_work)
    with nogil:
        for item in prange(nitems, num_threads=nthreads, schedule="dynamic",
                           chunksize=1, use_threads_if=parallel):
            imfilt_note_team(&used)
            tid = threadid()
            ring = sp + tid * slen
            line = ring + R * W
            fh = line + P1
            tmp = fh + W      # four output rows of a strip before their cast (out8)
            hrows = <const real_t **>(pp + tid * pointers.shape[1])
            slots = hrows + k1
            vrows = slots + R
            o4 = <real_t **>(vrows + R)     # the output rows of a group (per thread)
            crows = <const real_t **>(o4 + 4)   # vrows shifted to a cast chunk
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
            # A strip of cw columns: its k0 + 3 ring rows stay in L2.
            cw = W - c0
            if cw > CW:
                cw = CW
            for p in range(i0, i1 + k0 - 1):
                slot = p % R
                if x8p == NULL and p + 1 < i1 + k0 - 1 and ip0[p + 1] >= 0:
                    # The next source row of the strip is on its way while
                    # this one is filtered (not a uint8 row: a quarter of the
                    # bytes, which the hardware prefetcher keeps up with).
                    imfilt_sep_prefetch(xp + (b * H + ip0[p + 1]) * W + c0,
                                        cw * sizeof(real_t))
                s = ip0[p]
                if s >= 0:
                    _row_seg(xp + (b * H + s) * W,
                             (x8p + (b * H + s) * W) if x8p != NULL else NULL,
                             W, ip1, before1, fill, line, hrows, wp1, k1, sym1,
                             c0, c0 + cw, ring + slot * CW)
                    slots[slot] = ring + slot * CW
                else:
                    slots[slot] = fh + c0
                # Output row q has all its k0 rows once padded row p is in:
                # rows q - 3 .. q together (k0 + 3 ring rows), the band's
                # last 1-3 rows by twos and ones; oldest ring row first.
                q = p - k0 + 1
                m = 0
                if q >= i0 and (q - i0) % 4 == 3:
                    m = 4
                elif q == i1 - 1:
                    m = (q - i0) % 4 + 1
                if m:
                    # padded rows q - m + 1 .. p fill slots from this one
                    first = slot + R - (k0 + m - 1) + 1
                    _ring_order(slots, vrows, R, first, k0 + m - 1)
                    if o8p == NULL:
                        for t in range(m):
                            o4[t] = &out[b, q - m + 1 + t, c0]
                        _col_rows(o4, m, cw, vrows, wp0, k0, sym0, seenp, tid)
                    else:
                        # Cast chunk by chunk: the float rows of a chunk
                        # (4 x CAST_CHUNK values) stay in L1 until cast.
                        for t in range(m):
                            o4[t] = tmp + t * CAST_CHUNK
                        for s in range(0, cw, CAST_CHUNK):
                            for t in range(k0 + m - 1):
                                crows[t] = vrows[t] + s
                            ch = cw - s if cw - s < CAST_CHUNK else CAST_CHUNK
                            _col_rows(o4, m, ch, crows, wp0, k0, sym0, seenp, tid)
                            _cast_rows(tmp, CAST_CHUNK, m,
                                       &out8[b, q - m + 1, 0] + (c0 + s) * isz,
                                       W * isz, code, ch)
    return used

# Running sums restart every BOX_BAND outputs along the filtered axis, at
# multiples of BOX_BAND of the *global* position ``i + phase`` (``phase``: the
# global index of output 0, 0 for a whole image), in every code path: an
# output's value then depends only on its global position and the samples
# from its band's start to its own window's end -- not on the layout, the
# fused path, the split between threads or where a chunk of a larger image
# starts.  A running sum that goes non-finite is redone from that output to
# the band's end with the window's NaN/inf counted apart (``_box_redo``),
# which keeps the rule.
DEF BOX_BAND = 256

#: Rows whose box row pass runs together (one SIMD lane each).
BOX_GROUP = BOX_G


cpdef Py_ssize_t box_strip(Py_ssize_t W) noexcept nogil:
    """Width of the column strips of ``box_2d`` for rows of ``W``."""
    return W if W < 2 * BOX_BAND else 2 * BOX_BAND


cdef inline Py_ssize_t _box_first(Py_ssize_t phase) noexcept nogil:
    """Length of the first band of a line whose output 0 is at global ``phase``."""
    cdef Py_ssize_t off = phase % BOX_BAND
    if off < 0:
        off = off + BOX_BAND
    return BOX_BAND - off


cdef inline void _col_rows(real_t **o4, Py_ssize_t m, Py_ssize_t n, const real_t **rows,
                           const real_t *w, Py_ssize_t k, int sym, int *seen,
                           Py_ssize_t tid) noexcept nogil:
    """The ``m`` (1..4) consecutive output rows ``o4[0 .. m-1]`` of a column
    pass from ``k + m - 1`` rows; ``seen[tid] = 1`` when one is inf or NaN."""
    cdef Py_ssize_t t = 0
    if m == 4:
        _line4(o4, n, rows, w, k, sym)
        t = 4
    elif m >= 2:
        _line2(o4[0], o4[1], n, rows, w, k, sym)
        t = 2
    if t < m:
        _line(o4[t], n, rows + t, w, k, sym)
    if seen != NULL:
        for t in range(m):
            if _nonfinite(o4[t], n):
                seen[tid] = 1


cdef inline void _cast_rows(const real_t *tmp, Py_ssize_t S, int m, char *dst, Py_ssize_t stride,
                            int code, Py_ssize_t cw) noexcept nogil:
    """Store the ``m`` strip rows ``tmp + t * S`` (``cw`` values each) cast by
    ``_saturate.pxd``'s rule to the integer rows at ``dst + t * stride``."""
    cdef int t
    for t in range(m):
        saturate_small(tmp + t * S, dst + t * stride, code, 0, cw)


cdef inline Py_ssize_t _box_steps(const real_t **slots, Py_ssize_t R, Py_ssize_t k0,
                                  Py_ssize_t q, Py_ssize_t qend, Py_ssize_t p, double *a,
                                  const real_t **adds, const real_t **subs, real_t **couts,
                                  real_t *orow, Py_ssize_t ostep, real_t *tmp, Py_ssize_t S,
                                  char *o8, Py_ssize_t ostride, int code, Py_ssize_t cw,
                                  double inv) noexcept nogil:
    """Column running sums of a band: its first output row (``q == 0``), then
    steps BOX_G output rows at a time, for the output rows ``q .. qend - 1``
    whose padded rows (``slots[r % R]``, r < p) are in; returns the next
    row.  Output row ``q`` goes to ``orow + q * ostep``, or with ``o8``
    through ``tmp`` to the integer row ``o8 + q * ostride``, cast."""
    cdef int m
    if q == 0:
        # The band's first output row: the sum of its k0 padded rows.
        if k0 > p:
            return 0
        _box_rows(slots, k0, a, tmp if o8 != NULL else orow, cw, inv)
        if o8 != NULL:
            _cast_rows(tmp, S, 1, o8, ostride, code, cw)
        q = 1
    while q < qend and q + k0 <= p:
        m = 0
        while m < BOX_G and q < qend and q + k0 <= p:
            adds[m] = slots[(q + k0 - 1) % R]
            subs[m] = slots[(q - 1) % R]
            couts[m] = (tmp + m * S) if o8 != NULL else orow + q * ostep
            m = m + 1
            q = q + 1
        _box_cols(a, adds, subs, couts, m, cw, inv)
        if o8 != NULL:
            _cast_rows(tmp, S, m, o8 + (q - m) * ostride, ostride, code, cw)
    return q


cdef inline bint _box_line(const real_t *b, real_t *o, Py_ssize_t n, Py_ssize_t size,
                           double inv, Py_ssize_t first=BOX_BAND) noexcept nogil:
    """Running-sum means of one padded line; True when a sum went non-finite.

    The first band holds ``first`` outputs, every later one BOX_BAND.  Bands
    are independent, so four full bands run interleaved (four add chains in
    flight instead of one); each band's arithmetic is unchanged.
    """
    cdef Py_ssize_t i, t, i0, i1, m
    cdef double run, r0, r1, r2, r3
    cdef const real_t *b0
    cdef const real_t *b1
    cdef const real_t *b2
    cdef const real_t *b3
    cdef bint bad = False
    i0 = 0
    if first < BOX_BAND and n > 0:
        i1 = first if first < n else n
        run = 0.0
        for t in range(size):
            run = run + b[t]
        o[0] = <real_t>(run * inv)
        for i in range(1, i1):
            run = run + (<double>b[i + size - 1] - <double>b[i - 1])
            o[i] = <real_t>(run * inv)
        if not isfinite(run):
            bad = True
        i0 = i1
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


cdef inline void _box_count(real_t v, double sign, double inv, double *run,
                            Py_ssize_t *counts) noexcept nogil:
    """Add (``sign`` 1) or remove (-1) sample ``v`` of a window: a finite one
    scaled into ``run``, NaN / +inf / -inf counted in ``counts[0..2]``."""
    cdef Py_ssize_t step = 1 if sign > 0 else -1
    if isfinite(v):
        run[0] = run[0] + sign * (v * inv)
    elif v != v:
        counts[0] = counts[0] + step
    elif v > 0:
        counts[1] = counts[1] + step
    else:
        counts[2] = counts[2] + step


cdef inline real_t _box_sample(const real_t *b, Py_ssize_t bstride, const Py_ssize_t *ip,
                               real_t fill, Py_ssize_t t) noexcept nogil:
    """Padded sample ``t`` of a line: ``b[t * bstride]``, or through the
    index map ``ip`` (-1: ``fill``) when it is not NULL."""
    if ip == NULL:
        return b[t * bstride]
    return b[ip[t] * bstride] if ip[t] >= 0 else fill


cdef inline void _box_redo(const real_t *b, Py_ssize_t bstride, const Py_ssize_t *ip,
                           real_t fill, real_t *o, Py_ssize_t ostride, Py_ssize_t m,
                           Py_ssize_t size, double inv) noexcept nogil:
    """One band's outputs from its first non-finite one on (a running sum
    never returns from NaN/inf): windows of ``size`` padded samples
    (``_box_sample``), output ``i`` at ``o[i * ostride]``.  The window's
    finite samples are summed each scaled first (huge finite values cannot
    overflow) and its NaN, +inf and -inf counted apart, so a non-finite
    sample reaches exactly the windows that hold it, at a cost that does not
    grow with ``size``.  The sums start at the band's first window, as the
    band's running sum does (an output depends only on the samples from its
    band's start)."""
    cdef Py_ssize_t i, t, j = 0
    cdef Py_ssize_t counts[3]
    cdef double run = 0.0
    while j < m and isfinite(o[j * ostride]):
        j = j + 1
    if j == m:
        return
    counts[0] = 0
    counts[1] = 0
    counts[2] = 0
    for t in range(size):
        _box_count(_box_sample(b, bstride, ip, fill, t), 1.0, inv, &run, counts)
    for i in range(m):
        if i > 0:
            # The leaving sample first: the sum stays within ``size`` scaled
            # samples, so it cannot overflow between the two steps.
            _box_count(_box_sample(b, bstride, ip, fill, i - 1), -1.0, inv, &run, counts)
            _box_count(_box_sample(b, bstride, ip, fill, i + size - 1), 1.0, inv, &run,
                       counts)
        if i < j:
            continue
        if counts[0] > 0 or (counts[1] > 0 and counts[2] > 0):
            o[i * ostride] = <real_t>NAN
        elif counts[1] > 0:
            o[i * ostride] = <real_t>INFINITY
        elif counts[2] > 0:
            o[i * ostride] = <real_t>-INFINITY
        else:
            if not isfinite(run):
                # Every sample is finite, so the mean is: the running sum's
                # rounding residue took it past the largest double.  This
                # window is summed afresh (and the sum goes on from there);
                # a sum of samples near the limit that still rounds past it
                # is the limit, within an ulp of the mean.
                run = 0.0
                for t in range(size):
                    run = run + _box_sample(b, bstride, ip, fill, i + t) * inv
                if not isfinite(run):
                    run = DBL_MAX if run > 0 else -DBL_MAX
            o[i * ostride] = <real_t>run


cdef inline void _box_fix(const real_t *b, real_t *o, Py_ssize_t n, Py_ssize_t size,
                          double inv, Py_ssize_t first) noexcept nogil:
    """Redo a line's non-finite running sums (``_box_redo``), band by band."""
    cdef Py_ssize_t i0 = 0, i1 = first
    while i0 < n:
        if i1 > n:
            i1 = n
        _box_redo(b + i0, 1, NULL, 0, o + i0, 1, i1 - i0, size, inv)
        i0 = i1
        i1 = i0 + BOX_BAND


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


cdef inline void _box_block(const real_t *xp, const real_t *fp, const Py_ssize_t *ip,
                            Py_ssize_t size, real_t fill, double inv, Py_ssize_t n,
                            Py_ssize_t inner, Py_ssize_t o, Py_ssize_t i0, Py_ssize_t i1,
                            Py_ssize_t c0, Py_ssize_t cw, const real_t **rows, double *a,
                            real_t *op) noexcept nogil:
    """Running-sum means of rows ``[i0, i1)``, columns ``[c0, c0 + cw)`` of slab
    ``o`` (a strided axis); columns whose sum went non-finite are redone
    by ``_box_redo``."""
    cdef Py_ssize_t i, t, s, c
    cdef const real_t *add_row
    cdef const real_t *sub_row
    for t in range(size):
        s = ip[i0 + t]
        rows[t] = (xp + (o * n + s) * inner + c0) if s >= 0 else fp + c0
    _box_rows(rows, size, a, op + (o * n + i0) * inner + c0, cw, inv)
    for i in range(i0 + 1, i1):
        s = ip[i + size - 1]
        add_row = (xp + (o * n + s) * inner + c0) if s >= 0 else fp + c0
        s = ip[i - 1]
        sub_row = (xp + (o * n + s) * inner + c0) if s >= 0 else fp + c0
        _box_step(add_row, sub_row, a, op + (o * n + i) * inner + c0, cw, inv)
    for c in range(cw):
        if not isfinite(a[c]):
            _box_redo(xp + o * n * inner + c0 + c, inner, ip + i0, fill,
                      op + (o * n + i0) * inner + c0 + c, inner, i1 - i0, size, inv)


@cython.boundscheck(False)
@cython.wraparound(False)
def filter_axis(const real_t[:, :, ::1] x not None,
                const real_t[::1] w not None,
                real_t[:, :, ::1] out not None,
                const Py_ssize_t[::1] idx not None,
                Py_ssize_t before,
                Py_ssize_t box,
                real_t fill,
                int sym,
                int nthreads,
                const real_t[::1] fillrow not None,
                real_t[:, ::1] scratch not None,
                double[:, ::1] acc not None,
                Py_ssize_t[:, ::1] pointers not None,
                Py_ssize_t min_parallel_work=0,
                Py_ssize_t phase=0):
    """Filter every line of axis 1 of ``x`` (outer, n, inner): correlate with
    ``w`` (``box == 0``), or the mean of every window of ``box`` samples.

    Parameters (validated by the caller)
    ------------------------------------
    x : (outer, n, inner) C-contiguous input, n >= 1.              # IN
    w : (k,) weights in correlation form (unused for a box); ``sym`` 1/-1
        when they are symmetric/antisymmetric with k odd, else 0.    # IN
    out : (outer, n, inner) C-contiguous output, not ``x``.         # OUT
    idx : (n + k - 1,) padded-axis map, ``before`` entries before the image
        (``k`` = ``box`` for a box).
    fill : fill value where ``idx < 0``.
    fillrow : (inner,) filled with ``fill``.                         # IN
    scratch : (nthreads, n + k - 1) per-thread line buffer (inner == 1).
    acc : (nthreads, chunk) running sums of a box (inner > 1).      # SCRATCH
    pointers : (nthreads, k + 1) per-thread row table.               # SCRATCH
    min_parallel_work : below this many work items run on one thread.

    A box uses running sums in double, restarted every BOX_BAND outputs:
    each output costs one add and one subtract whatever ``box``.  A band
    whose running sum ends non-finite (a NaN or inf entered it, or float64
    overflow) is redone from its first non-finite output with each finite
    term scaled by ``1/box`` first and NaN/inf counted apart, so a NaN only
    reaches the outputs whose window holds it, huge finite values do not
    overflow, and the cost still does not grow with ``box``.

    Returns the number of threads that ran (1 when serial).
    """
    cdef Py_ssize_t outer = x.shape[0], n = x.shape[1], inner = x.shape[2]
    cdef Py_ssize_t k = box if box > 0 else w.shape[0], P = idx.shape[0]
    cdef Py_ssize_t chunk = acc.shape[1], nchunks = 1, nbands = 1, cchunk
    cdef Py_ssize_t per = 1, band = 1, nitems, item, o, i0, i1, t, c0, cw, tid
    cdef const real_t *xp
    cdef const real_t *wp = &w[0] if w.shape[0] > 0 else NULL
    cdef const real_t *fp
    cdef const Py_ssize_t *ip = &idx[0]
    cdef real_t *buf
    cdef const real_t **rows
    cdef double inv = 1.0 / k
    cdef Py_ssize_t first = _box_first(phase), off = BOX_BAND - _box_first(phase)
    cdef bint parallel
    cdef int used = 1
    if outer == 0 or n == 0 or inner == 0:
        return 1
    if pointers.shape[1] < k + 1 or pointers.shape[0] < nthreads:
        raise ValueError("filter_axis: pointers must be (nthreads, k + 1)")
    # Column chunk of a correlation: the k + 1 input rows of a chunk fill
    # about 32 KiB (L1).
    cchunk = 32768 // ((k + 1) * <Py_ssize_t>sizeof(real_t))
    cchunk = cchunk - cchunk % 32
    if cchunk < 256:
        cchunk = 256
    xp = &x[0, 0, 0]
    fp = &fillrow[0]
    if inner == 1:
        nitems = outer
    elif box > 0:
        # Bands of BOX_BAND outputs (where the running sums restart) by
        # column chunks of ``chunk`` accumulators.
        nchunks = (inner + chunk - 1) // chunk
        nbands = (n + off + BOX_BAND - 1) // BOX_BAND
        nitems = outer * nchunks * nbands
    else:
        per = _items_per(n, outer, nthreads)
        band = (n + per - 1) // per
        per = (n + band - 1) // band
        nitems = outer * per
    parallel = nitems > 1 and use_threads(nthreads, outer * n * inner * (4 if box > 0 else k),
                                          min_parallel_work)
    with nogil:
        for item in prange(nitems, num_threads=nthreads, schedule="dynamic",
                           chunksize=1, use_threads_if=parallel):
            imfilt_note_team(&used)
            tid = threadid()
            rows = <const real_t **>&pointers[tid, 0]
            if inner == 1:
                # One contiguous line: pad it into the thread's buffer.
                buf = &scratch[tid, 0]
                if box > 0:
                    _pad_line(xp + item * n, n, 1, ip, P, before, fill, buf)
                    if _box_line(buf, &out[item, 0, 0], n, k, inv, first):
                        _box_fix(buf, &out[item, 0, 0], n, k, inv, first)
                else:
                    # Read in place; the k shifted views of the buffer are the
                    # rows of the windows that cross an edge.
                    for t in range(k):
                        rows[t] = buf + t
                    _row_seg(xp + item * n, NULL, n, ip, before, fill, buf, rows, wp, k, sym,
                             0, n, &out[item, 0, 0])
            elif box > 0:
                o = item // (nchunks * nbands)
                c0 = ((item // nbands) % nchunks) * chunk
                i0 = (item % nbands) * BOX_BAND - off
                i1 = i0 + BOX_BAND
                if i0 < 0:
                    i0 = 0
                if i1 > n:
                    i1 = n
                cw = inner - c0
                if cw > chunk:
                    cw = chunk
                _box_block(xp, fp, ip, k, fill, inv, n, inner, o, i0, i1, c0, cw, rows,
                           &acc[tid, 0], &out[0, 0, 0])
            else:
                o = item // per
                i0 = (item % per) * band
                _corr_block(xp, fp, ip, wp, k, sym, n, inner, o, i0, imin(i0 + band, n), cchunk,
                            rows, &out[0, 0, 0])
    return used


cdef inline int _box_group(const void **rows, bint u8, int cnt, Py_ssize_t W,
                           const Py_ssize_t *idx, Py_ssize_t before, real_t fill,
                           real_t **outs, Py_ssize_t c0, Py_ssize_t c1, Py_ssize_t size,
                           double inv, Py_ssize_t first, double *tin,
                           real_t *tout) noexcept nogil:
    """Row boxes, outputs ``c0 .. c1 - 1`` (into ``outs[u][0 ..]``), of ``cnt``
    <= BOX_G image rows at once (``_boxrows.h``; uint8 rows when ``u8``),
    padded by ``idx``: the arithmetic of ``_box_line`` on each padded row,
    whose bands start at c0 (``first`` outputs) and then every BOX_BAND.
    Returns the mask of the rows whose sum went non-finite."""
    if real_t is float:
        if u8:
            return imfilt_boxrows_u8_f32(<const unsigned char **>rows, cnt, W, idx, before, fill,
                                         outs, c0, c1, size, inv, first, BOX_BAND, tin, tout)
        return imfilt_boxrows_f32(<const float **>rows, cnt, W, idx, before, fill, outs, c0, c1,
                                  size, inv, first, BOX_BAND, tin, tout)
    else:
        if u8:
            return imfilt_boxrows_u8_f64(<const unsigned char **>rows, cnt, W, idx, before, fill,
                                         outs, c0, c1, size, inv, first, BOX_BAND, tin, tout)
        return imfilt_boxrows_f64(<const double **>rows, cnt, W, idx, before, fill, outs, c0, c1,
                                  size, inv, first, BOX_BAND, tin, tout)


cdef inline void _box_cols(double *a, const real_t **add, const real_t **sub, real_t **out,
                           int m, Py_ssize_t W, double inv) noexcept nogil:
    """``m`` successive ``_box_step`` calls (same arithmetic), sums kept in registers."""
    if real_t is float:
        imfilt_boxcols_f32(a, add, sub, out, m, W, inv)
    else:
        imfilt_boxcols_f64(a, add, sub, out, m, W, inv)


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
           const unsigned char[:, :, ::1] x8=None,
           Py_ssize_t phase0=0, Py_ssize_t phase1=0,
           char[:, :, ::1] out8=None, int code=1):
    """Fused 2-D box of each image ``x[b]``: the row pass into a ring, then columns.

    Equal, bit for bit, to ``filter_axis`` boxes along axis 2 then along
    axis 1 (same running sums, restarted at the same BOX_BAND boundaries of
    the global positions ``i + phase0``, ``j + phase1``).  Each work item is
    a tile: one band of BOX_BAND output rows by one strip of up to
    2 * BOX_BAND columns, both starting where running sums restart, so a
    tile's sums start and end inside it.  Its padded rows are box-filtered
    along axis 2, BOX_G rows at a time (one SIMD lane per row,
    ``_boxrows.h``), into a ring of ``k0 + BOX_G`` strip rows, and the
    column running sums advance through the ring as the rows arrive, up to
    BOX_G rows per sweep.  Returns ``(ok, threads)``: ``ok`` is False when a
    running sum went non-finite anywhere (the caller then runs the two
    single passes, which recompute such windows one by one); ``threads`` is
    the number of threads that ran (1 when serial).

    With ``out8`` (the raw bytes of a (B, H, W) integer array of type
    ``code`` <= SATURATE_SMALL_CODES, ``_cast.CODES``) the output rows go
    through per-thread cache-resident rows and are stored cast by
    ``_saturate.pxd``'s rule (``out`` is then unused): the values of the
    float result cast afterwards, without the float array.  When ``ok`` is
    False the caller must redo ``out8`` as well.

    With S = min(W, 2 * BOX_BAND) (``S = box_strip(W)``):
    scratch : (nthreads, (k0 + BOX_G) * S + W + 2 * BOX_G * BOX_BAND + W + k1 - 1),
              + BOX_G * S with out8                                   # SCRATCH
    acc : (nthreads, S + BOX_G * (2 * BOX_BAND + k1 - 1)) float64    # SCRATCH
    pointers : (nthreads, 2 * (k0 + BOX_G) + 5 * BOX_G)                # SCRATCH
    """
    cdef Py_ssize_t B = out.shape[0], H = out.shape[1], W = out.shape[2], P1 = idx1.shape[0]
    cdef Py_ssize_t R, S, tmpo
    cdef const unsigned char *x8p = NULL
    cdef char *o8p = NULL
    cdef Py_ssize_t isz = 1 << (code // 2), ostride, ostep
    cdef real_t *tmp
    cdef Py_ssize_t nbands, nstrips, nitems, item, b, i0, i1, i, p, np_, q, t, s, tid
    cdef Py_ssize_t c0, c1, cw, firstc
    cdef Py_ssize_t slen = scratch.shape[1], alen = acc.shape[1]
    cdef const real_t *xp
    cdef const Py_ssize_t *ip0 = &idx0[0]
    cdef const Py_ssize_t *ip1 = &idx1[0]
    cdef real_t *sp = &scratch[0, 0]
    cdef real_t *fh
    cdef real_t *line
    cdef real_t *ring
    cdef real_t *tout
    cdef real_t **slot_buf
    cdef const real_t **slots
    cdef const void **grows
    cdef real_t **gouts
    cdef const real_t **adds
    cdef const real_t **subs
    cdef real_t **couts
    cdef double *a
    cdef double *tin
    cdef double inv0 = 1.0 / k0, inv1 = 1.0 / k1
    cdef Py_ssize_t first1 = _box_first(phase1), off0 = BOX_BAND - _box_first(phase0)
    cdef Py_ssize_t off1 = BOX_BAND - first1
    cdef int bad = 0, g, cnt, m
    cdef bint parallel
    cdef int used = 1
    if out8 is not None:
        B, H, W = _cast_shape(out8, code, "box_2d")
    R = k0 + BOX_G
    S = box_strip(W)
    tmpo = R * S + 2 * W + 2 * BOX_G * BOX_BAND + k1 - 1
    if B == 0 or H == 0 or W == 0:
        return True, 1
    if (slen < tmpo + (BOX_G * S if out8 is not None else 0) or P1 != W + k1 - 1
            or alen < S + BOX_G * (2 * BOX_BAND + k1 - 1)
            or pointers.shape[1] < 2 * R + 5 * BOX_G or scratch.shape[0] < nthreads
            or acc.shape[0] < nthreads or pointers.shape[0] < nthreads or idx0.shape[0] != H + k0 - 1):
        raise ValueError("box_2d: scratch buffers too small")
    _check_planes(x, x8, B, H, W, "box_2d")
    xp = &x[0, 0, 0]
    x8p = &x8[0, 0, 0] if x8 is not None else NULL
    o8p = &out8[0, 0, 0] if out8 is not None else NULL
    ostride = out8.strides[1] if out8 is not None else 0
    ostep = out.strides[1] // sizeof(real_t)
    # The row-box of an all-fill row (same arithmetic as every row), in every
    # thread's scratch; thread 0's spare line is the padded fill row.
    fh = sp + R * S
    line = fh + W + 2 * BOX_G * BOX_BAND
    for p in range(P1):
        line[p] = fill
    if _box_line(line, fh, W, k1, inv1, first1):
        return False, 1
    for tid in range(1, scratch.shape[0]):
        memcpy(sp + tid * slen + R * S, fh, W * sizeof(real_t))
    nbands = (H + off0 + BOX_BAND - 1) // BOX_BAND
    nstrips = (W + off1 + 2 * BOX_BAND - 1) // (2 * BOX_BAND)
    nitems = B * nbands * nstrips
    parallel = nitems > 1 and use_threads(nthreads, B * H * W * 4, min_parallel_work)
    with nogil:
        for item in prange(nitems, num_threads=nthreads, schedule="dynamic",
                           chunksize=1, use_threads_if=parallel):
            imfilt_note_team(&used)
            tid = threadid()
            a = &acc[tid, 0]                                  # column running sums
            tin = a + S                                       # transposed bands of rows
            ring = sp + tid * slen
            fh = ring + R * S
            tout = fh + W
            tmp = ring + tmpo                                 # output rows before their cast
            slots = <const real_t **>&pointers[tid, 0]       # R row pointers
            slot_buf = <real_t **>&pointers[tid, R]          # R ring buffers
            grows = <const void **>&pointers[tid, 2 * R]     # a group's image rows
            gouts = <real_t **>&pointers[tid, 2 * R + BOX_G]  # and their ring rows
            adds = <const real_t **>&pointers[tid, 2 * R + 2 * BOX_G]   # column steps
            subs = <const real_t **>&pointers[tid, 2 * R + 3 * BOX_G]
            couts = <real_t **>&pointers[tid, 2 * R + 4 * BOX_G]
            for t in range(R):
                slot_buf[t] = ring + t * S
            b = item // (nbands * nstrips)
            t = item - b * nbands * nstrips
            i0 = (t // nstrips) * BOX_BAND - off0
            i1 = i0 + BOX_BAND
            if i0 < 0:
                i0 = 0
            if i1 > H:
                i1 = H
            c0 = (t % nstrips) * 2 * BOX_BAND - off1
            c1 = c0 + 2 * BOX_BAND
            if c0 < 0:
                c0 = 0
            if c1 > W:
                c1 = W
            cw = c1 - c0
            firstc = BOX_BAND - (c0 + off1) % BOX_BAND
            # Padded rows i0 + p (p < np_) enter the ring BOX_G at a time, at
            # slot p % R; output row i0 + q needs padded rows q .. q + k0 - 1
            # and (q > 0) drops row q - 1, whose slot the next group does not
            # reuse (R = k0 + BOX_G).
            np_ = i1 - i0 + k0 - 1
            p = 0
            q = 0
            while p < np_:
                g = BOX_G if np_ - p > BOX_G else <int>(np_ - p)
                cnt = 0
                for t in range(p, p + g):
                    s = ip0[i0 + t]
                    if s < 0:
                        slots[t % R] = fh + c0                # a fill row
                    else:
                        if x8p != NULL:
                            grows[cnt] = x8p + (b * H + s) * W
                        else:
                            grows[cnt] = xp + (b * H + s) * W
                        gouts[cnt] = slot_buf[t % R]
                        slots[t % R] = slot_buf[t % R]
                        cnt = cnt + 1
                if cnt > 0 and _box_group(grows, x8p != NULL, cnt, W, ip1, before1, fill, gouts,
                                          c0, c1, k1, inv1, firstc, tin, tout):
                    bad += 1
                p = p + g
                q = _box_steps(slots, R, k0, q, i1 - i0, p, a, adds, subs, couts,
                               &out[b, i0, c0] if o8p == NULL else NULL, ostep, tmp, S,
                               (&out8[b, i0, 0] + c0 * isz) if o8p != NULL else NULL,
                               ostride, code, cw, inv0)
            for i in range(cw):
                if not isfinite(a[i]):
                    bad += 1
    return bad == 0, used


# Exact box of uint8 images (float32 compute).  With uint8 samples (and an
# integer fill in 0..255) every sum of ``box_2d`` is exact in float64: a row
# sum is an integer below 2**53, so a row output is ``(float)(S * inv1)``
# for the integer window sum S; every such float32 is a multiple of
# 2**-(24 + ceil(log2 k1)), so the column sums of k0 of them (at most
# 255 * k0, ``U8_BOX_MAX0``) and their differences are exact too.  The sums
# may then be formed in any order with the same values: here integer
# window sums along the rows (16-bit, no transposes), float64 running sums
# down the columns.  Equal, bit for bit, to ``box_2d``.

#: Largest row / column box ``box_u8`` takes (16-bit row sums; exact column sums).
U8_BOX_MAX1 = 257
U8_BOX_MAX0 = 1024
#: Output rows per work item (at least 8 * k0) and strip width of ``box_u8``.
DEF U8_BAND = 256
DEF U8_STRIP = 512


cpdef Py_ssize_t u8_strip(Py_ssize_t W) noexcept nogil:
    """Width of the column strips of ``box_u8`` for rows of ``W``."""
    return W if W < U8_STRIP else U8_STRIP


cdef inline void _u8_rowbox(const unsigned char *src, Py_ssize_t W, const Py_ssize_t *idx,
                            Py_ssize_t before, unsigned char fill8, Py_ssize_t k, double inv,
                            Py_ssize_t c0, Py_ssize_t cw, unsigned char *seg,
                            unsigned short *s16, float *r) noexcept nogil:
    """``r[u] = (float)(S * inv)`` for u < cw, S the integer sum of padded
    positions ``c0 + u .. c0 + u + k - 1`` of the row ``src`` (padded by
    ``idx``/``before``, ``fill8`` where ``idx < 0``)."""
    cdef Py_ssize_t u, t, s, n = cw + k - 1
    cdef Py_ssize_t a = before - c0, e = before + W - c0
    a = 0 if a < 0 else (n if a > n else a)
    e = a if e < a else (n if e > n else e)
    for u in range(a):
        s = idx[c0 + u]
        seg[u] = src[s] if s >= 0 else fill8
    if e > a:
        memcpy(seg + a, src + (c0 + a - before), e - a)
    for u in range(e, n):
        s = idx[c0 + u]
        seg[u] = src[s] if s >= 0 else fill8
    if k == 2:
        for u in range(cw):
            r[u] = <float>(<double>(seg[u] + seg[u + 1]) * inv)
        return
    if k == 3:
        for u in range(cw):
            r[u] = <float>(<double>(seg[u] + seg[u + 1] + seg[u + 2]) * inv)
        return
    for u in range(cw):
        s16[u] = <unsigned short>(seg[u] + seg[u + 1])
    for t in range(2, k - 1):
        for u in range(cw):
            s16[u] = <unsigned short>(s16[u] + seg[u + t])
    for u in range(cw):
        r[u] = <float>(<double>(s16[u] + seg[u + k - 1]) * inv)


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def box_u8(const unsigned char[:, :, ::1] x8 not None, float[:, :, ::1] out not None,
           const Py_ssize_t[::1] idx0 not None, const Py_ssize_t[::1] idx1 not None,
           Py_ssize_t before1, Py_ssize_t k0, Py_ssize_t k1, int fill8, int nthreads,
           unsigned char[:, ::1] seg not None,
           unsigned short[:, ::1] s16 not None,
           float[:, ::1] ring not None,
           double[:, ::1] acc not None,
           Py_ssize_t[:, ::1] pointers not None,
           Py_ssize_t min_parallel_work=0,
           char[:, :, ::1] out8=None, int code=1):
    """Fused 2-D box of each uint8 image ``x8[b]`` into ``out`` (float32), or
    stored cast into ``out8`` (as ``box_2d``): equal to ``box_2d`` bit for
    bit for ``k1 <= U8_BOX_MAX1``, ``k0 <= U8_BOX_MAX0`` and an integer fill
    ``fill8`` in 0..255 (see above).

    Work items are bands of U8_BAND output rows (at least 8 * k0) by strips
    of S = ``u8_strip(W)`` columns; an item row-boxes its padded rows,
    BOX_G at a time, into a ring of k0 + BOX_G strip rows, then advances the
    column sums by up to BOX_G rows at once (``_box_cols``: the sums stay in
    registers).

    seg : (nthreads, S + k1 - 1)    s16 : (nthreads, S)    acc : (nthreads, S)   # SCRATCH
    ring : (nthreads, (k0 + 2 * BOX_G) * S)   pointers : (nthreads, k0 + 4 * BOX_G)  # SCRATCH

    Returns the number of threads that ran (1 when serial).
    """
    cdef Py_ssize_t B = out.shape[0], H = out.shape[1], W = out.shape[2]
    cdef Py_ssize_t R = k0 + BOX_G, S, band, nbands, nstrips, nitems, item, b, t, i0, i1
    cdef Py_ssize_t c0, cw, p, np_, q, s, u, tid, g
    cdef Py_ssize_t isz = 1 << (code // 2), ostride, ostep
    cdef const unsigned char *x8p
    cdef const Py_ssize_t *ip0 = &idx0[0]
    cdef const Py_ssize_t *ip1 = &idx1[0]
    cdef char *o8p = NULL
    cdef float *rg
    cdef float *tmp
    cdef const float **adds
    cdef const float **subs
    cdef const float **slots
    cdef float **couts
    cdef double *a
    cdef double inv0 = 1.0 / k0, inv1 = 1.0 / k1
    cdef float rfill = <float>(<double>(k1 * fill8) * inv1)
    cdef int m
    cdef bint parallel
    cdef int used = 1
    if out8 is not None:
        B, H, W = _cast_shape(out8, code, "box_u8")
    if B == 0 or H == 0 or W == 0:
        return 1
    S = u8_strip(W)
    if (not 2 <= k1 <= U8_BOX_MAX1 or not 1 <= k0 <= U8_BOX_MAX0 or not 0 <= fill8 <= 255
            or idx0.shape[0] != H + k0 - 1 or idx1.shape[0] != W + k1 - 1
            or seg.shape[1] < S + k1 - 1 or s16.shape[1] < S or acc.shape[1] < S
            or ring.shape[1] < (R + BOX_G) * S or pointers.shape[1] < 3 * BOX_G + R
            or min(seg.shape[0], s16.shape[0], ring.shape[0], acc.shape[0],
                   pointers.shape[0]) < nthreads):
        raise ValueError("box_u8: bad sizes or scratch buffers too small")
    _check_planes(None, x8, B, H, W, "box_u8")
    x8p = &x8[0, 0, 0]
    o8p = &out8[0, 0, 0] if out8 is not None else NULL
    ostride = out8.strides[1] if out8 is not None else 0
    ostep = out.strides[1] // sizeof(float)
    band = U8_BAND if U8_BAND >= 8 * k0 else 8 * k0
    nbands = (H + band - 1) // band
    nstrips = (W + S - 1) // S
    nitems = nstrips * nbands * B
    parallel = nitems > 1 and use_threads(nthreads, B * H * W * 4, min_parallel_work)
    with nogil:
        for item in prange(nitems, num_threads=nthreads, schedule="dynamic",
                           chunksize=1, use_threads_if=parallel):
            tid = threadid()
            imfilt_note_team(&used)
            rg = &ring[tid, 0]
            tmp = rg + R * S                                  # BOX_G rows before their cast
            a = &acc[tid, 0]
            adds = <const float **>&pointers[tid, 0]
            subs = <const float **>&pointers[tid, BOX_G]
            couts = <float **>&pointers[tid, 2 * BOX_G]
            slots = <const float **>&pointers[tid, 3 * BOX_G]     # the ring's rows
            for t in range(R):
                slots[t] = rg + t * S
            b = item // (nbands * nstrips)
            t = item - b * nbands * nstrips
            i0 = (t // nstrips) * band
            i1 = i0 + band
            if i1 > H:
                i1 = H
            c0 = (t % nstrips) * S
            cw = W - c0
            if cw > S:
                cw = S
            # Padded rows i0 + p enter the ring BOX_G at a time, at slot
            # p % R; output row i0 + q needs padded rows q .. q + k0 - 1 and
            # (q > 0) drops row q - 1, whose slot the next group does not
            # reuse (R = k0 + BOX_G).
            np_ = i1 - i0 + k0 - 1
            p = 0
            q = 0
            while p < np_:
                g = np_ - p if np_ - p < BOX_G else BOX_G
                for t in range(p, p + g):
                    s = ip0[i0 + t]
                    if s >= 0:
                        _u8_rowbox(x8p + (b * H + s) * W, W, ip1, before1, <unsigned char>fill8,
                                   k1, inv1, c0, cw, &seg[tid, 0], &s16[tid, 0], rg + (t % R) * S)
                    else:
                        for u in range(cw):
                            rg[(t % R) * S + u] = rfill
                p = p + g
                q = _box_steps(slots, R, k0, q, i1 - i0, p, a, adds, subs, couts,
                               &out[b, i0, c0] if o8p == NULL else NULL, ostep, tmp, S,
                               (&out8[b, i0, 0] + c0 * isz) if o8p != NULL else NULL,
                               ostride, code, cw, inv0)
    return used


# ---------------------------------------------------------------------------
# uint8 -> uint8 boxes of an odd number of points, in integers
#
# The mean S / N of N integers is never half-way between two integers when N
# is odd (2 S = N (2 n + 1) has no solution), and lies at least 1 / (2 N)
# from every half-integer.  Float32 ``S * (1 / N)`` (S < 2**24, exact) is
# within 2**-23 * 255 (3.0e-5) of S / N and adding 0.5f rounds by at most
# 2**-17 more (7.6e-6); the float path (``box_u8`` / ``box_2d``: float32 row
# means, their column mean, then the stored cast to the nearest uint8) is
# within a few float32 ulp of S / N at 255 (about 2.3e-5).  So for odd N up
# to about 12800, ``(int)(S * inv + 0.5f)`` is the nearest integer to S / N
# and the float path rounds to it as well: the same bytes, from integer sums.
# Here N <= U8_ROUND_MAX0 * U8_ROUND_MAX1 = 8481, a margin of 1.5.

#: Largest row box of ``box_u8_round`` and largest column box (16-bit column
#: sums: 257 * 255 < 2**16).  Rows up to ``U8R_ADDS`` add their k1
#: column sums directly; longer rows add sums of 2**j column sums (doubling:
#: about 2 log2(k1) passes over the row instead of k1).
U8_ROUND_MAX1 = 33
cdef enum:
    U8R_ADDS = 9
U8R_ADDS_MAX = U8R_ADDS
U8_ROUND_MAX0 = 257
#: Largest ``k0 * k1`` whose rounded means ``box_u8_round`` can form in
#: 16-bit lanes (``255 * N + (N - 1) / 2 < 2**16``), given a divisor
#: ``mul``/``shift`` that the caller has checked for every sum.
U8_ROUND16_MAX = 255
#: Output rows per work item of ``box_u8_round`` (at least 4 * k0).
DEF U8R_BAND = 128


cdef inline void _u8r_pad(unsigned short *c, Py_ssize_t s, const unsigned char *rin,
                          const unsigned char *rout, int fill8) noexcept nogil:
    """One padded column's sum (source column ``s``, -1: the fill) moved as
    ``_u8r_move`` says."""
    if s < 0:
        if rout == NULL:
            c[0] = <unsigned short>(c[0] + fill8)
    elif rout == NULL:
        c[0] = <unsigned short>(c[0] + rin[s])
    else:
        c[0] = <unsigned short>(c[0] + rin[s] - rout[s])


cdef inline void _u8r_move(unsigned short *cs, const unsigned char *rin,
                           const unsigned char *rout, Py_ssize_t W, const Py_ssize_t *idx1,
                           Py_ssize_t before1, Py_ssize_t P, int fill8) noexcept nogil:
    """Column sums ``cs`` (P padded columns) += padded row ``rin`` and, unless
    ``rout`` is NULL (the band's first rows), -= padded row ``rout``.  16-bit
    arithmetic: it wraps, and the sums end in range."""
    cdef Py_ssize_t u
    cdef unsigned short *ci = cs + before1
    if rout == NULL:
        for u in range(W):
            ci[u] = <unsigned short>(ci[u] + rin[u])
    else:
        for u in range(W):
            ci[u] = <unsigned short>(ci[u] + rin[u] - rout[u])
    for u in range(before1):
        _u8r_pad(cs + u, idx1[u], rin, rout, fill8)
    for u in range(before1 + W, P):
        _u8r_pad(cs + u, idx1[u], rin, rout, fill8)


cdef inline void _u8r_wide(const unsigned short *c, unsigned int *a, unsigned int *pw,
                           Py_ssize_t W, Py_ssize_t k1) noexcept nogil:
    """``a[x] = c[x] + ... + c[x + k1 - 1]`` for x < W by doubling: ``pw``
    (2 * (W + k1 - 1) entries, two halves used in turn) holds the sums of
    2**j consecutive column sums, and ``a`` adds those of the set bits of k1
    (exact integers: any order gives the same sums)."""
    cdef Py_ssize_t P = W + k1 - 1, n = P, span = 1, off = 0, x
    cdef unsigned int *cur = pw
    cdef unsigned int *nxt = pw + P
    cdef unsigned int *swap
    cdef bint started = False
    for x in range(P):
        cur[x] = c[x]
    while True:
        if k1 & span:
            if started:
                for x in range(W):
                    a[x] = a[x] + cur[x + off]
            else:
                for x in range(W):
                    a[x] = cur[x + off]
                started = True
            off = off + span
        if 2 * span > k1:
            break
        # sums of 2 * span: valid for the first n - span starts
        n = n - span
        for x in range(n):
            nxt[x] = cur[x] + cur[x + span]
        swap = cur
        cur = nxt
        nxt = swap
        span = 2 * span


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef void _u8r_band(const unsigned char *x8, Py_ssize_t xplane, const unsigned char *frow,
                    unsigned char *out8, Py_ssize_t oplane, Py_ssize_t H, Py_ssize_t W,
                    const Py_ssize_t *idx0,
                    const Py_ssize_t *idx1, Py_ssize_t before1, Py_ssize_t k0, Py_ssize_t k1,
                    int fill8, Py_ssize_t item, Py_ssize_t band, Py_ssize_t nbands, float inv,
                    unsigned short *c, unsigned int *a, unsigned int mul,
                    int shift) noexcept nogil:
    """Work item ``item`` of ``box_u8_round``: output rows of one band of one
    plane (planes ``xplane`` / ``oplane`` bytes apart, rows W bytes; ``frow``
    is W fill values, the padded rows outside the image)."""
    cdef Py_ssize_t P = W + k1 - 1
    cdef Py_ssize_t b, i0, i1, q, t, x, s
    cdef const unsigned char *plane
    cdef const unsigned char *rin
    cdef const unsigned char *rout
    cdef unsigned char *o
    b = item // nbands
    i0 = (item - b * nbands) * band
    i1 = i0 + band
    if i1 > H:
        i1 = H
    plane = x8 + b * xplane
    for x in range(P):
        c[x] = 0
    for t in range(k0):
        s = idx0[i0 + t]
        _u8r_move(c, plane + s * W if s >= 0 else frow, NULL, W, idx1, before1, P, fill8)
    for q in range(i0, i1):
        if q > i0:
            s = idx0[q + k0 - 1]
            rin = plane + s * W if s >= 0 else frow
            s = idx0[q - 1]
            rout = plane + s * W if s >= 0 else frow
            if rin != rout:    # else the same row enters and leaves
                _u8r_move(c, rin, rout, W, idx1, before1, P, fill8)
        o = out8 + b * oplane + q * W
        if mul != 0:
            imfilt_u8r_round16(c, o, W, k1, <unsigned short>(k0 * k1 // 2),
                               <unsigned short>mul, shift)
            continue
        # the row sums of the column sums, rounded (one loop for the
        # common widths; wider rows add into acc first)
        if k1 == 1:
            for x in range(W):
                o[x] = <unsigned char>(<int>(<float>c[x] * inv + <float>0.5))
        elif k1 == 3:
            for x in range(W):
                o[x] = <unsigned char>(<int>(
                    <float>(<unsigned int>c[x] + c[x + 1] + c[x + 2]) * inv
                    + <float>0.5))
        elif k1 == 5:
            for x in range(W):
                o[x] = <unsigned char>(<int>(
                    <float>(<unsigned int>c[x] + c[x + 1] + c[x + 2] + c[x + 3]
                            + c[x + 4]) * inv + <float>0.5))
        else:
            if k1 <= U8R_ADDS:
                for x in range(W):
                    a[x] = <unsigned int>c[x] + c[x + 1] + c[x + 2] + c[x + 3]
                for t in range(4, k1):
                    for x in range(W):
                        a[x] = a[x] + c[x + t]
            else:
                _u8r_wide(c, a, a + W, W, k1)
            for x in range(W):
                o[x] = <unsigned char>(<int>(<float>a[x] * inv + <float>0.5))


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def box_u8_round(const unsigned char[:, :, ::1] x8 not None,
                 unsigned char[:, :, ::1] out8 not None,
                 const Py_ssize_t[::1] idx0 not None, const Py_ssize_t[::1] idx1 not None,
                 Py_ssize_t before1, Py_ssize_t k0, Py_ssize_t k1, int fill8,
                 const unsigned char[::1] frow not None, int nthreads,
                 unsigned short[:, ::1] cs not None, unsigned int[:, ::1] acc not None,
                 Py_ssize_t min_parallel_work=0, unsigned int mul=0, int shift=0):
    """The k0 x k1 box of each uint8 image ``x8[b]`` rounded to uint8 into
    ``out8`` (B x H x W), from integer sums (see above): equal to
    ``box_u8``'s stored cast for odd ``k0 * k1``, ``k0 <= U8_ROUND_MAX0``,
    ``k1 <= U8_ROUND_MAX1`` and an integer fill ``fill8`` in 0..255.

    ``idx0`` (H + k0 - 1) maps padded rows to source rows of the plane (-1:
    ``frow``, W copies of ``fill8``), ``idx1`` (W + k1 - 1) padded columns (``before1`` of them left
    of column 0).  Work items are bands of U8R_BAND output rows (at least 4
    * k0); a band starts its column sums (16-bit) from its first k0 padded
    rows and moves them down one row at a time (add the entering row,
    subtract the leaving one); each output row then adds k1 neighbouring
    column sums.

    With ``mul`` > 0 (``k1 <= U8R_ADDS``, ``k0 * k1 <= U8_ROUND16_MAX``)
    the rounded mean is ``((S + (N - 1) / 2) * mul) >> (16 + shift)`` in
    16-bit lanes, twice the lanes of the float form: the caller guarantees
    that this equals ``floor((S + (N - 1) / 2) / N)`` for every sum S of N
    uint8 values (``imfilt._separable._u8_divisor`` checks each one).

    cs : (nthreads, W + k1 - 1)    acc : (nthreads, 3 * W + 2 * k1 - 2)    # SCRATCH

    Returns the number of threads that ran (1 when serial).
    """
    cdef Py_ssize_t B = out8.shape[0], H = out8.shape[1], W = out8.shape[2]
    cdef Py_ssize_t P = W + k1 - 1, band, nbands, nitems, item, t, tid
    cdef float inv = <float>(1.0 / <double>(k0 * k1))
    cdef bint parallel
    cdef int used = 1
    if (not 1 <= k0 <= U8_ROUND_MAX0 or not 1 <= k1 <= U8_ROUND_MAX1 or (k0 * k1) % 2 == 0
            or not 0 <= fill8 <= 255
            or idx0.shape[0] != H + k0 - 1 or idx1.shape[0] != P
            or x8.shape[0] != B or x8.shape[2] != W or frow.shape[0] != W
            or cs.shape[1] < P or acc.shape[1] < W + 2 * P
            or min(cs.shape[0], acc.shape[0]) < nthreads
            or (mul != 0 and (not 0 < mul < 65536 or not 0 <= shift < 16 or k1 > U8R_ADDS
                              or k0 * k1 > U8_ROUND16_MAX))):
        raise ValueError("box_u8_round: bad sizes, box, divisor or scratch buffers")
    if B == 0 or H == 0 or W == 0:
        return 1
    # (source rows may lie past this band's rows: see _band_source)
    for t in range(H + k0 - 1):
        if idx0[t] < -1:
            raise ValueError("box_u8_round: row index out of range")
    for t in range(P):
        if not -1 <= idx1[t] < W:
            raise ValueError("box_u8_round: column index out of range")
    band = U8R_BAND if U8R_BAND >= 4 * k0 else 4 * k0
    nbands = (H + band - 1) // band
    nitems = nbands * B
    # work: per output, one add and one subtract down the columns, k1 adds along the row
    parallel = nitems > 1 and use_threads(nthreads, B * H * W * (k1 + 2), min_parallel_work)
    with nogil:
        for item in prange(nitems, num_threads=nthreads, schedule="dynamic",
                           chunksize=1, use_threads_if=parallel):
            tid = threadid()
            imfilt_note_team(&used)
            _u8r_band(&x8[0, 0, 0], x8.strides[0], &frow[0], &out8[0, 0, 0], out8.strides[0],
                      H, W,
                      &idx0[0], &idx1[0], before1, k0, k1, fill8, item, band, nbands, inv,
                      &cs[tid, 0], &acc[tid, 0], mul, shift)
    return used
