"""Rank-selection kernels (private): median, rank and percentile filters.

The Python layer (``imfilt._ranking``) pads the image once with the
boundary rule (``pad``), so the selection kernels (``rank_rows``) run
without a single boundary test.  Output rows (every index of the leading
axes, the last axis running along the row) are shared among threads;
each row is computed by the same operations whatever the thread count, so
results are bit-identical for any ``nthreads``.

Algorithms (``algo``), all exact selections of existing values:

0. sorting network applied to a block of pixels at once (SIMD min/max);
   the network is built and pruned for the wanted rank in Python;
1. gather the window and select (partition selection), any size;
2. sliding 256-bin histogram (Huang) for 8-bit data, any footprint;
3. sliding two-level histogram for 16-bit data, any footprint;
4. a compiled network for 9, 25 or 27 points and the median rank (wires in
   SIMD registers; see ``_rank_networks.h``);
5. the 3x3 median with column sorts shared between neighbouring windows
   (``rs``: the padded row stride; ``B``: pixels per block);
6. the compiled networks of 4. for float images holding NaN: ``mode`` 1
   ('propagate') or 2 ('omit', median only).

Outside ``rank_rows``: ``median_direct`` (full 3x3 / 5x5 medians read in
place, no padded copy; float images holding NaN in the 'propagate' and
'omit' modes) and
``box_hist8`` (8-bit full rectangles, column histograms).

Element types are integer codes (see ``_rank.h``); the Python layer
validates every shape, offset and rank before calling.
"""

cimport cython
from cython.parallel cimport parallel, prange
from libc.stdlib cimport calloc, free, malloc

from imfilt._kernels._common cimport (WORK_PER_ELEMENT, imfilt_note_team,
                                      imfilt_openmp_compiled, use_threads)

cdef extern from "_rank.h" nogil:
    void rk_pad_row(const char *src, char *dst, Py_ssize_t prow, int D,
                    const Py_ssize_t *pshape, const Py_ssize_t *sstride,
                    const Py_ssize_t *maps, const Py_ssize_t *mapoff,
                    Py_ssize_t n_last, Py_ssize_t before_last, Py_ssize_t itemsize,
                    const char *fill)
    int rk_has_nan(int tcode, const void *a, Py_ssize_t n)
    void rk_net_row(int tcode, const void *P, const Py_ssize_t *offs, Py_ssize_t K,
                    Py_ssize_t W, const int *net, Py_ssize_t ncomp, Py_ssize_t r, int mode,
                    const Py_ssize_t *rtab, void *out, void *wires, int *cnt, Py_ssize_t B)
    void rk_sel_row(int tcode, const void *P, const Py_ssize_t *offs, Py_ssize_t K,
                    Py_ssize_t W, Py_ssize_t r, int mode, const Py_ssize_t *rtab,
                    void *out, void *buf)
    void rk_fixed_row(int tcode, const void *P, const Py_ssize_t *offs, Py_ssize_t K,
                      Py_ssize_t W, void *out)
    void rk_fixednan_row(int tcode, const void *P, const Py_ssize_t *offs, Py_ssize_t K,
                         Py_ssize_t W, void *out, int omit)
    void rk_med3x3_row(int tcode, const void *P, Py_ssize_t rs, Py_ssize_t W, void *out,
                       void *tmp, Py_ssize_t B)
    void rk_m33d_rows(int tcode, const void *r0, const void *r1, const void *r2,
                      const void *r3, Py_ssize_t W, Py_ssize_t cl, Py_ssize_t cr,
                      const void *fill, void *o0, void *o1, const void *pf0,
                      const void *pf1, void *pw0, void *pw1)
    void rk_box8_unit(const unsigned char *P, Py_ssize_t ps, Py_ssize_t y0, Py_ssize_t y1,
                      Py_ssize_t xs, Py_ssize_t xe, Py_ssize_t kh, Py_ssize_t kw,
                      Py_ssize_t rank, unsigned flip, unsigned char *out, Py_ssize_t os,
                      unsigned short *col, unsigned short *ccol)
    void rk_m33n_row(int tcode, const void *r0, const void *r1, const void *r2, Py_ssize_t W,
                     Py_ssize_t cl, Py_ssize_t cr, const void *fill, void *o, int omit,
                     const void *pf0, const void *pf1, void *pw0, void *pw1)
    void rk_m33n_rows(int tcode, const void *r0, const void *r1, const void *r2,
                      const void *r3, Py_ssize_t W, Py_ssize_t cl, Py_ssize_t cr,
                      const void *fill, void *o0, void *o1, int omit, const void *pf0,
                      const void *pf1, void *pw0, void *pw1)
    void rk_m55d_rows(int tcode, const void **r, Py_ssize_t W, const Py_ssize_t *cm,
                      const void *fill, void *o0, void *o1, int mode, void **pw)
    void rk_hist8_row(const unsigned char *P, const Py_ssize_t *offs, Py_ssize_t K,
                      const Py_ssize_t *enter, Py_ssize_t ne, const Py_ssize_t *leave,
                      Py_ssize_t nl, Py_ssize_t W, Py_ssize_t r, unsigned flip,
                      unsigned char *out, int *hist)
    void rk_hist16_row(const unsigned short *P, const Py_ssize_t *offs, Py_ssize_t K,
                       const Py_ssize_t *enter, Py_ssize_t ne, const Py_ssize_t *leave,
                       Py_ssize_t nl, Py_ssize_t W, Py_ssize_t r, unsigned flip,
                       unsigned short *out, int *hist, int *coarse)

cdef extern from "_rank.h":
    int RK_M33_CHUNK_BYTES
    int RK_M33_BLOCK
    int RK_F32_CODE "RK_F32"
    int RK_F64_CODE "RK_F64"

#: Narrowest image row the in-place 3x3 (h = 1) and 5x5 (h = 2) medians
#: take, by element size in bytes: one chunk (3x3: RK_M33_CHUNK_BYTES of a
#: row; 5x5: RK_M33_BLOCK pixels) plus the 2h edge pixels.
DIRECT_MIN_WIDTH = {(h, itemsize): (RK_M33_CHUNK_BYTES // itemsize if h == 1 else RK_M33_BLOCK)
                    + 2 * h for h in (1, 2) for itemsize in (1, 2, 4, 8)}

ALGO_NETWORK = 0
ALGO_SELECT = 1
ALGO_HIST8 = 2
ALGO_HIST16 = 3
ALGO_FIXED = 4
ALGO_MED3X3 = 5
ALGO_FIXED_NAN = 6


def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


@cython.boundscheck(False)
@cython.wraparound(False)
def pad(const unsigned char[::1] src, unsigned char[::1] dst,
        const Py_ssize_t[::1] pshape, const Py_ssize_t[::1] sstride,
        const Py_ssize_t[::1] maps, const Py_ssize_t[::1] mapoff,
        Py_ssize_t n_last, Py_ssize_t before_last, Py_ssize_t itemsize,
        const unsigned char[::1] fill, int tcode, int nthreads, Py_ssize_t min_work=0):
    """Pad a C-contiguous image into ``dst``; return ``(holds_nan, threads)``.

    ``pshape`` is the padded shape (D entries), ``sstride`` the source
    strides in bytes of the D - 1 leading axes (at least one entry),
    ``maps[mapoff[a]:]`` the source index of every padded position of axis
    ``a`` (-1: ``fill``, the fill value's bytes).  Threads start when the
    padded elements (``WORK_PER_ELEMENT`` work items each) reach
    ``min_work``; ``threads`` is the number that ran.
    """
    cdef int D = <int>pshape.shape[0]
    cdef Py_ssize_t prows = 1, PL = pshape[D - 1], i
    cdef Py_ssize_t row_bytes = PL * itemsize, chunk
    cdef int a, nan_rows = 0, used = 1
    cdef bint threaded
    cdef const char *s = <const char *>&src[0]
    cdef char *d = <char *>&dst[0]
    for a in range(D - 1):
        prows *= pshape[a]
    # Dynamic chunks of rows: a thread that the OS deschedules on a busy
    # machine does not hold up the others (the result does not depend on
    # which thread pads or filters which row).
    chunk = prows // (8 * nthreads) + 1
    threaded = use_threads(nthreads, prows * PL * WORK_PER_ELEMENT, min_work)
    with nogil:
        for i in prange(prows, num_threads=nthreads, schedule="dynamic", chunksize=chunk,
                        use_threads_if=threaded):
            imfilt_note_team(&used)
            rk_pad_row(s, d + i * row_bytes, i, D, &pshape[0], &sstride[0], &maps[0],
                       &mapoff[0], n_last, before_last, itemsize, <const char *>&fill[0])
            nan_rows += rk_has_nan(tcode, d + i * row_bytes, PL)
    return nan_rows > 0, used


@cython.boundscheck(False)
@cython.wraparound(False)
def has_nan(const unsigned char[::1] src, int tcode, Py_ssize_t itemsize, Py_ssize_t rowlen,
            int nthreads, Py_ssize_t min_work=0):
    """``(holds_nan, threads)`` for a C-contiguous float image (``tcode``)
    seen as rows of ``rowlen`` elements; threads start when the elements
    reach ``min_work``."""
    cdef Py_ssize_t nrows = src.shape[0] // (itemsize * rowlen), i, chunk
    cdef Py_ssize_t row_bytes = rowlen * itemsize
    cdef int nan_rows = 0, used = 1
    cdef const char *s = <const char *>&src[0]
    cdef bint threaded = use_threads(nthreads, nrows * rowlen, min_work)
    chunk = nrows // (8 * nthreads) + 1
    with nogil:
        for i in prange(nrows, num_threads=nthreads, schedule="dynamic", chunksize=chunk,
                        use_threads_if=threaded):
            imfilt_note_team(&used)
            nan_rows += rk_has_nan(tcode, s + i * row_bytes, rowlen)
    return nan_rows > 0, used


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _median_pair(const char *s, const char *f, const Py_ssize_t *rmap,
                       const Py_ssize_t *cmap, Py_ssize_t h, Py_ssize_t row0, Py_ssize_t y,
                       Py_ssize_t H, Py_ssize_t W, Py_ssize_t rowb, int tcode, int mode,
                       char *o) noexcept nogil:
    """Output rows y and y + 1 (y alone when y + 1 == H) of the plane at source row row0."""
    cdef const char *rows[8]
    cdef Py_ssize_t k
    cdef char *o1 = o + (y + 1) * rowb if y + 1 < H else NULL
    cdef void *pw[2]
    # the next pair's output rows (prefetched for writing; row y where none)
    pw[0] = o + (y + 2) * rowb if y + 2 < H else o + y * rowb
    pw[1] = o + (y + 3) * rowb if y + 3 < H else o + y * rowb
    # rows 2h + 2 and 2h + 3 are those the next pair adds (prefetched)
    for k in range(2 * h + 4):
        # padded row y + k; past H + 2h - 1 only for the unused row of a lone last row
        if y + k < H + 2 * h and rmap[y + k] >= 0:
            rows[k] = s + (row0 + rmap[y + k]) * rowb
        else:
            rows[k] = f
    if h == 1 and mode and o1 != NULL:
        rk_m33n_rows(tcode, rows[0], rows[1], rows[2], rows[3], W, cmap[0], cmap[1], f,
                     o + y * rowb, o1, mode == 2, rows[4], rows[5], pw[0], pw[1])
    elif h == 1 and mode:
        rk_m33n_row(tcode, rows[0], rows[1], rows[2], W, cmap[0], cmap[1], f, o + y * rowb,
                    mode == 2, rows[4], rows[5], pw[0], pw[1])
    elif h == 1:
        rk_m33d_rows(tcode, rows[0], rows[1], rows[2], rows[3], W, cmap[0], cmap[1], f,
                     o + y * rowb, o1, rows[4], rows[5], pw[0], pw[1])
    else:
        rk_m55d_rows(tcode, <const void **>rows, W, cmap, f, o + y * rowb, o1, mode, pw)


@cython.boundscheck(False)
@cython.wraparound(False)
def median_direct(const unsigned char[::1] src, unsigned char[::1] out,
                  const unsigned char[::1] fillrow, int tcode, Py_ssize_t itemsize,
                  Py_ssize_t nplanes, Py_ssize_t H, Py_ssize_t W, const Py_ssize_t[::1] rmap,
                  const Py_ssize_t[::1] cmap, Py_ssize_t h, Py_ssize_t j0, Py_ssize_t j1,
                  int nthreads, int mode=0):
    """The full (2h+1) x (2h+1) median (h = 1 or 2) of ``nplanes`` C-contiguous
    H x W images, read in place.

    ``rmap[k]`` (k = 0 .. H + 2h - 1) is the source row of padded row ``k``
    (-1: ``fillrow``, W fill values); ``cmap`` the source columns of the h
    padded columns left of column 0, then of the h right of column W - 1
    (-1: fill).  Output rows are computed in pairs, each pair by the same
    operations whatever the thread count; this call computes pairs ``j0 ..
    j1 - 1`` of the ``nplanes * ((H + 1) // 2)`` (pair ``j`` is rows ``2 (j %
    npairs)`` and the next of plane ``j // npairs``), so a caller can cut a
    long job into pieces.  Needs ``W >= DIRECT_MIN_WIDTH[h, itemsize]``.
    ``mode`` (float images only, which may hold NaN or a NaN fill): 0 no
    NaN, 1 'propagate', 2 'omit' (see rk_m33n_ and rk_m55d_ in
    ``_rank_impl.h``).  Returns the number
    of threads that ran.
    """
    cdef Py_ssize_t npairs = (H + 1) // 2, njobs = nplanes * npairs, j, p, y
    cdef Py_ssize_t rowb = W * itemsize, chunk
    cdef const char *s = <const char *>&src[0]
    cdef const char *f = <const char *>&fillrow[0]
    cdef char *o = <char *>&out[0]
    cdef int used = 1
    if h not in (1, 2) or itemsize not in (1, 2, 4, 8) or W < DIRECT_MIN_WIDTH[h, itemsize] \
            or rmap.shape[0] != H + 2 * h \
            or cmap.shape[0] != 2 * h or not 0 <= j0 <= j1 <= njobs \
            or (mode != 0 and tcode not in (RK_F32_CODE, RK_F64_CODE)) \
            or not 0 <= mode <= 2:
        raise ValueError("imfilt: median_direct needs h in (1, 2), a wide enough row, "
                         "H + 2h row / 2h column indices, a range of row pairs and "
                         "NaN modes only for float medians")
    chunk = (j1 - j0) // (8 * nthreads) + 1
    with nogil:
        for j in prange(j0, j1, num_threads=nthreads, schedule="dynamic", chunksize=chunk):
            imfilt_note_team(&used)
            p = j // npairs
            y = 2 * (j % npairs)
            _median_pair(s, f, &rmap[0], &cmap[0], h, p * H, y, H, W, rowb, tcode, mode,
                         o + p * H * rowb)
    return used


#: Work units of the 8-bit box rank (``box_hist8``): rows x output columns.
BOX8_BAND = 64
BOX8_STRIPE = 256


@cython.boundscheck(False)
@cython.wraparound(False)
def box_hist8(const unsigned char[::1] padded, unsigned char[::1] out, Py_ssize_t nplanes,
              Py_ssize_t Hp, Py_ssize_t Wp, Py_ssize_t H, Py_ssize_t W, Py_ssize_t kh,
              Py_ssize_t kw, Py_ssize_t r, unsigned flip, int nthreads):
    """Rank ``r`` of every full ``kh x kw`` box of 8-bit planes (see rk_box8_unit).

    ``padded``: ``nplanes`` padded planes of ``Hp x Wp`` (output (y, x) sees
    padded rows ``y .. y + kh - 1``, columns ``x .. x + kw - 1``); ``out``:
    ``nplanes`` planes of ``H x W``.  Work units are ``BOX8_BAND`` rows by
    ``BOX8_STRIPE`` columns; every output is exact, whatever thread takes it.
    Returns the number of threads that ran.
    """
    cdef Py_ssize_t band = BOX8_BAND, stripe = BOX8_STRIPE
    cdef Py_ssize_t nb = (H + band - 1) // band
    cdef Py_ssize_t ns = (W + stripe - 1) // stripe
    cdef Py_ssize_t per = nb * ns, nunits = nplanes * per, u, p, b, st, y0, xs
    cdef Py_ssize_t ncol = stripe + kw - 1
    cdef const unsigned char *P = &padded[0]
    cdef unsigned char *o = &out[0]
    cdef unsigned short *col = NULL
    cdef unsigned short *ccol = NULL
    cdef int failed[1]
    cdef int used = 1
    failed[0] = 0
    if kh * kw > 65535 or Hp != H + kh - 1 or Wp != W + kw - 1:
        raise ValueError("imfilt: box_hist8 needs kh * kw <= 65535 and matching padding")
    with nogil, parallel(num_threads=nthreads):
        col = <unsigned short *>malloc(ncol * 256 * sizeof(unsigned short) + 64)
        ccol = <unsigned short *>malloc(ncol * 16 * sizeof(unsigned short) + 64)
        if col == NULL or ccol == NULL:
            failed[0] = 1
        else:
            for u in prange(nunits, schedule="dynamic", chunksize=1):
                imfilt_note_team(&used)
                p = u // per
                b = (u % per) // ns
                st = u % ns
                y0 = b * band
                xs = st * stripe
                rk_box8_unit(P + p * Hp * Wp, Wp, y0, min(H, y0 + band), xs,
                             min(W, xs + stripe), kh, kw, r, flip, o + p * H * W, W,
                             col, ccol)
        free(col)
        free(ccol)
    if failed[0]:
        raise MemoryError("imfilt: could not allocate the box rank filter's histograms")
    return used


@cython.boundscheck(False)
@cython.wraparound(False)
def rank_rows(const unsigned char[::1] padded, unsigned char[::1] out, int tcode,
              Py_ssize_t itemsize, const Py_ssize_t[::1] oshape, const Py_ssize_t[::1] pstride,
              Py_ssize_t W, const Py_ssize_t[::1] offs, int algo, const int[::1] net,
              Py_ssize_t r, int mode, const Py_ssize_t[::1] rtab,
              const Py_ssize_t[::1] enter, const Py_ssize_t[::1] leave, unsigned flip,
              Py_ssize_t B, Py_ssize_t rs, int nthreads, Py_ssize_t min_work=0):
    """Compute every output row; return the number of threads that ran.

    ``oshape``/``pstride``: output extent and padded stride (in elements)
    of each leading axis (at least one entry; use ``[1]``/``[0]`` for 1-D);
    ``offs``: flat footprint offsets into the padded image; ``net``:
    comparator triples for ``algo`` 0; ``r``/``mode``/``rtab``: the rank
    (see ``_rank_impl.h``); ``enter``/``leave``: footprint points entering
    and leaving as the window moves right (histogram algorithms); ``B``:
    pixels per block; ``rs``: padded row stride (algorithm 5).  Threads
    start when the window samples (outputs x footprint size) reach
    ``min_work``.
    """
    cdef Py_ssize_t nlead = oshape.shape[0], nrows = 1, i, rem, base, K = offs.shape[0]
    cdef Py_ssize_t ncomp = net.shape[0] // 3, ne = enter.shape[0], nl = leave.shape[0]
    cdef int a
    cdef const char *P = <const char *>&padded[0]
    cdef char *o = <char *>&out[0]
    cdef char *work = NULL
    cdef int *ibuf = NULL
    cdef int *coarse = NULL
    cdef int bad = 0
    cdef Py_ssize_t chunk
    cdef int failed[1]
    cdef int used = 1
    failed[0] = 0
    for a in range(nlead):
        nrows *= oshape[a]
    if not use_threads(nthreads, nrows * W * K, min_work):
        nthreads = 1
    chunk = nrows // (8 * nthreads) + 1
    with nogil, parallel(num_threads=nthreads):
        imfilt_note_team(&used)
        work = NULL
        ibuf = NULL
        coarse = NULL
        if algo == 0:
            work = <char *>malloc(K * B * itemsize + 64)
            ibuf = <int *>malloc(B * sizeof(int) + 64)
        elif algo == 1:
            work = <char *>malloc(K * itemsize + 64)
        elif algo == 2:
            ibuf = <int *>malloc(256 * sizeof(int))
        elif algo == 4 or algo == 6:
            work = <char *>malloc(64)
        elif algo == 5:
            work = <char *>malloc(3 * (B + 2) * itemsize + 64)
        else:
            ibuf = <int *>calloc(65536, sizeof(int))
            coarse = <int *>calloc(256, sizeof(int))
        if (algo == 0 and (work == NULL or ibuf == NULL)) or (algo in (1, 4, 5, 6) and work == NULL) \
                or (algo in (2, 3) and ibuf == NULL) or (algo == 3 and coarse == NULL):
            bad = 1
            failed[0] = 1
        else:
            bad = 0
        for i in prange(nrows, schedule="dynamic", chunksize=chunk):
            if bad:
                continue
            rem = i
            base = 0
            for a in range(nlead - 1, -1, -1):
                base = base + (rem % oshape[a]) * pstride[a]
                rem = rem // oshape[a]
            if algo == 0:
                rk_net_row(tcode, P + base * itemsize, &offs[0], K, W, &net[0], ncomp, r,
                           mode, &rtab[0], o + i * W * itemsize, work, ibuf, B)
            elif algo == 1:
                rk_sel_row(tcode, P + base * itemsize, &offs[0], K, W, r, mode, &rtab[0],
                           o + i * W * itemsize, work)
            elif algo == 4:
                rk_fixed_row(tcode, P + base * itemsize, &offs[0], K, W, o + i * W * itemsize)
            elif algo == 6:
                rk_fixednan_row(tcode, P + base * itemsize, &offs[0], K, W,
                                o + i * W * itemsize, mode == 2)
            elif algo == 5:
                rk_med3x3_row(tcode, P + base * itemsize, rs, W, o + i * W * itemsize, work, B)
            elif algo == 2:
                rk_hist8_row(<const unsigned char *>(P + base), &offs[0], K, &enter[0], ne,
                             &leave[0], nl, W, r, flip, <unsigned char *>(o + i * W), ibuf)
            else:
                rk_hist16_row(<const unsigned short *>(P + 2 * base), &offs[0], K, &enter[0],
                              ne, &leave[0], nl, W, r, flip,
                              <unsigned short *>(o + 2 * i * W), ibuf, coarse)
        free(work)
        free(ibuf)
        free(coarse)
    if failed[0]:
        raise MemoryError("imfilt: could not allocate the rank filter's work buffers")
    return used
