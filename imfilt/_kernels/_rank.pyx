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
    void rk_hist8_row(const unsigned char *P, const Py_ssize_t *offs, Py_ssize_t K,
                      const Py_ssize_t *enter, Py_ssize_t ne, const Py_ssize_t *leave,
                      Py_ssize_t nl, Py_ssize_t W, Py_ssize_t r, unsigned flip,
                      unsigned char *out, int *hist)
    void rk_hist16_row(const unsigned short *P, const Py_ssize_t *offs, Py_ssize_t K,
                       const Py_ssize_t *enter, Py_ssize_t ne, const Py_ssize_t *leave,
                       Py_ssize_t nl, Py_ssize_t W, Py_ssize_t r, unsigned flip,
                       unsigned short *out, int *hist, int *coarse)

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
