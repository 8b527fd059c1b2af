"""Direct 2-D correlation of a virtually padded image (private kernel).

The public layer reduces every convolve/correlate call to one problem:

    out[i, j] = sum_{a, b} P[i*s0 + a*d0, j*s1 + b*d1] * w[a, b]

where ``w`` is the kernel in correlation form (already flipped for a true
convolution, conjugated for complex correlation) and ``P`` is the image
padded by a boundary rule.  ``P`` is never materialised: ``rowmap`` and
``colmap`` give, for every padded row and column, the source index in the
image, or -1 for the fill value.  These maps implement numpy.pad semantics
(folding repeatedly for kernels larger than the image) and are built once in
Python (``imfilt._modes.boundary_index``).

with stride ``(s0, s1)`` and dilation ``(d0, d1)``, for a batch of images
(each with its own kernel or one shared kernel).  The same kernel runs an
N-D correlation seen as 2-D: the leading axes flattened into rows, each
output row reading its kernel rows' source rows from a table.

Work is split into bands of output rows, handed to threads dynamically.
Interior columns read the image rows in place; only the border strips of
each input row are padded, into ``k0`` rows of per-thread scratch.  Every
output element is computed by the same sequence of floating-point
operations whichever thread computes it, so the result is bit-identical
for any thread count.
"""

cimport cython
from cython.parallel cimport prange, threadid
from libc.string cimport memcpy

import numpy as np

from imfilt._kernels._common cimport (imfilt_openmp_compiled, imfilt_note_team, real_t,
                                      use_threads)



def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


cdef inline void _gather(const real_t *src, const Py_ssize_t *colmap,
                         Py_ssize_t c_from, Py_ssize_t c_to, real_t fill,
                         real_t *dst) noexcept nogil:
    """``dst[c] = src[colmap[c]]`` (or ``fill`` where -1) for c in [c_from, c_to)."""
    cdef Py_ssize_t c, s
    for c in range(c_from, c_to):
        s = colmap[c]
        dst[c] = src[s] if s >= 0 else fill


cdef extern from "_microkernel.h" nogil:
    void imfilt_tiles_f32(float *o, Py_ssize_t n, const float **rows,
                          Py_ssize_t c0, const float *w, Py_ssize_t k0,
                          Py_ssize_t k1, Py_ssize_t s, Py_ssize_t d, int nt, int spare) noexcept
    void imfilt_tiles_f64(double *o, Py_ssize_t n, const double **rows,
                          Py_ssize_t c0, const double *w, Py_ssize_t k0,
                          Py_ssize_t k1, Py_ssize_t s, Py_ssize_t d, int nt, int spare) noexcept
    void imfilt_tiles2_f32(float *o0, float *o1, Py_ssize_t n,
                           const float **rows, Py_ssize_t c0, const float *w,
                           Py_ssize_t k0, Py_ssize_t k1, Py_ssize_t d, int nt, int spare) noexcept
    void imfilt_tiles2_f64(double *o0, double *o1, Py_ssize_t n,
                           const double **rows, Py_ssize_t c0, const double *w,
                           Py_ssize_t k0, Py_ssize_t k1, Py_ssize_t d, int nt, int spare) noexcept
    void imfilt_sfence() noexcept
    Py_ssize_t imfilt_align_gap(const void *o, size_t size, size_t align) noexcept


#: Elements of padding past the strips and the fill row: a vector of the
#: widest type (16 floats).
cdef Py_ssize_t _SPARE = 16


cdef inline void _row_run(real_t *o, Py_ssize_t n, const real_t **rows,
                          Py_ssize_t c0, const real_t *w, Py_ssize_t k0,
                          Py_ssize_t k1, Py_ssize_t s1,
                          Py_ssize_t d1, bint stream, bint spare) noexcept nogil:
    """``o[j] = sum_{a,b} rows[a][c0 + j*s1 + b*d1] * w[a, b]`` for j < n.

    The register-blocked micro-kernel lives in ``_microkernel.h``;
    ``stream``: store with non-temporal stores where aligned; ``spare``:
    the rows are padded scratch that may be read a vector past the run.
    """
    if real_t is float:
        imfilt_tiles_f32(o, n, rows, c0, w, k0, k1, s1, d1, stream, spare)
    else:
        imfilt_tiles_f64(o, n, rows, c0, w, k0, k1, s1, d1, stream, spare)


cdef inline void _row_run2(real_t *o0, real_t *o1, Py_ssize_t n,
                           const real_t **rows, Py_ssize_t c0, const real_t *w,
                           Py_ssize_t k0, Py_ssize_t k1,
                           Py_ssize_t d1, bint stream, bint spare) noexcept nogil:
    """Two adjacent output rows (row stride 1): ``rows`` holds k0 + 1 rows."""
    if real_t is float:
        imfilt_tiles2_f32(o0, o1, n, rows, c0, w, k0, k1, d1, stream, spare)
    else:
        imfilt_tiles2_f64(o0, o1, n, rows, c0, w, k0, k1, d1, stream, spare)


cdef struct Geometry:
    Py_ssize_t n0, n1          # image
    Py_ssize_t k0, k1          # kernel
    Py_ssize_t o0, o1          # output
    Py_ssize_t s1, d1          # column stride and dilation
    Py_ssize_t pl              # left padding
    Py_ssize_t P1              # padded row length
    Py_ssize_t jl, jr          # interior output columns [jl, jr)
    Py_ssize_t left_to         # padded columns [0, left_to) feed [0, jl)
    # Output row i, kernel row a reads image row rowsrc[i * row_step + a * tap_step]
    # (-1 = all fill): a padded row map (row stride, row dilation) or a table
    # of k0 rows per output row (k0, 1).
    Py_ssize_t row_step, tap_step
    bint pair_rows             # adjacent output rows share k0 - 1 input rows
    bint stream                # non-temporal stores (output beyond the cache)


cdef void _set_columns(Geometry *g, Py_ssize_t pl, Py_ssize_t s1, Py_ssize_t d1,
                       Py_ssize_t P1) noexcept nogil:
    """Column geometry: stride, dilation, padding and the interior run."""
    cdef Py_ssize_t num
    g.s1, g.d1, g.pl, g.P1 = s1, d1, pl, P1
    # Interior outputs: window [j*s1, j*s1 + (k1-1)*d1] inside [pl, pl+n1).
    g.jl = (pl + s1 - 1) // s1
    if g.jl > g.o1:
        g.jl = g.o1
    num = pl + g.n1 - 1 - (g.k1 - 1) * d1
    g.jr = num // s1 + 1 if num >= 0 else 0
    if g.jr > g.o1:
        g.jr = g.o1
    if g.jr < g.jl:
        g.jr = g.jl
    g.left_to = (g.jl - 1) * s1 + (g.k1 - 1) * d1 + 1 if g.jl > 0 else 0
    if g.left_to > g.P1:
        g.left_to = g.P1


cdef void _correlate_band(const Geometry *g, const real_t *x, const real_t *w,
                          real_t *out, const Py_ssize_t *rowsrc,
                          const Py_ssize_t *colmap, real_t fill,
                          const real_t *fillrow, real_t *strips,
                          const real_t **inner, const real_t **outer,
                          Py_ssize_t i0, Py_ssize_t i1) noexcept nogil:
    """Compute output rows ``[i0, i1)`` of one image.

    Each output row splits into three column runs: ``[0, jl)`` and
    ``[jr, o1)`` whose windows reach past the image edge read padded copies
    of the input rows' border strips (built per row into ``strips``, k0
    rows of P1 elements, only the strips written); ``[jl, jr)`` reads the
    image row in place (with ``stream``: streamed from its first 64-byte
    aligned output on).  Rows that are all fill read ``fillrow``.
    ``inner``/``outer`` are the thread's tables of k0 + 1 row pointers.
    With ``pair_rows`` (both row steps and the column stride 1), rows are
    computed in pairs that share their input rows (see
    ``_microkernel.h``); results are the same as one row at a time.
    """
    cdef Py_ssize_t i, a, s, run, r0, r1, c0, nrows, ja
    cdef Py_ssize_t k0 = g.k0, P1 = g.P1, jl = g.jl, jr = g.jr
    cdef bint nt
    cdef const real_t **table
    cdef const real_t *src
    cdef real_t *strip
    cdef real_t *o

    i = i0
    while i < i1:
        # Two output rows share k0 - 1 input rows: fetch k0 + 1 rows.
        nrows = k0 + 1 if (g.pair_rows and i + 1 < i1) else k0
        for a in range(nrows):
            s = rowsrc[i * g.row_step + a * g.tap_step]
            if s < 0:
                inner[a] = fillrow + jl * g.s1
                outer[a] = fillrow
                continue
            src = x + s * g.n1
            inner[a] = src + (jl * g.s1 - g.pl)
            strip = strips + a * P1
            outer[a] = strip
            if jr > jl:
                _gather(src, colmap, 0, g.left_to, fill, strip)
                _gather(src, colmap, jr * g.s1, P1, fill, strip)
            else:
                _gather(src, colmap, 0, P1, fill, strip)
        o = out + i * g.o1
        # Streamed, the interior run starts its vectors at the first 64-byte
        # aligned output: [jl, ja) is stored normally, [ja, jr) streamed.
        ja = jl
        if g.stream and jr - jl > 64:
            ja = jl + imfilt_align_gap(o + jl, sizeof(real_t), 64)
        # Four runs through one call site each, so the compiler keeps a
        # single register-blocked loop body per kernel.
        for run in range(4):
            nt = g.stream and run == 2
            if run == 0:
                r0, r1, table, c0 = 0, jl, outer, 0
            elif run == 1:
                r0, r1, table, c0 = jl, ja, inner, 0
            elif run == 2:
                r0, r1, table, c0 = ja, jr, inner, (ja - jl) * g.s1
            else:
                r0, r1, table, c0 = jr, g.o1, outer, jr * g.s1
            if r1 > r0:
                # The border runs read the padded strips (or fill row).
                if nrows > k0:
                    _row_run2(o + r0, o + g.o1 + r0, r1 - r0, table, c0, w, k0, g.k1, g.d1, nt,
                              table == outer)
                else:
                    _row_run(o + r0, r1 - r0, table, c0, w, k0, g.k1, g.s1, g.d1, nt,
                             table == outer)
        i += nrows - k0 + 1
    if g.stream:
        imfilt_sfence()


cdef int _correlate_images(const Geometry *g, Py_ssize_t B, Py_ssize_t Bw,
                           const real_t *xp, const real_t *wp, real_t *op,
                           const Py_ssize_t *rowsrc, const Py_ssize_t *cp, real_t fill,
                           const real_t *fp, real_t *sp, Py_ssize_t strip_len,
                           Py_ssize_t *pp, int nthreads,
                           Py_ssize_t min_parallel_work) noexcept nogil:
    """The band driver of both entry points: ``B`` images (each with its own
    kernel when ``Bw > 1``) cut into bands of output rows, run on up to
    ``nthreads`` threads.  Returns the number of threads that ran."""
    cdef Py_ssize_t per_image, band, nitems, item, img, blk, i0, i1, tid
    cdef bint parallel
    cdef int used = 1
    # Work items: bands of output rows of one image, about eight per thread
    # in all, handed out dynamically (a thread on a busy core does not hold
    # up the others); rows are computed identically whoever takes them.
    per_image = (nthreads * 8 + B - 1) // B
    if per_image > g.o0:
        per_image = g.o0
    band = (g.o0 + per_image - 1) // per_image
    per_image = (g.o0 + band - 1) // band
    nitems = B * per_image
    parallel = nitems > 1 and use_threads(nthreads, B * g.o0 * g.o1 * g.k0 * g.k1,
                                          min_parallel_work)

    for item in prange(nitems, num_threads=nthreads, schedule="dynamic",
                       chunksize=1, use_threads_if=parallel):
        imfilt_note_team(&used)
        tid = threadid()
        img = item // per_image
        blk = item - img * per_image
        i0 = blk * band
        i1 = i0 + band
        if i1 > g.o0:
            i1 = g.o0
        if i0 < i1:
            _correlate_band(g, xp + img * g.n0 * g.n1,
                            wp + (img if Bw > 1 else 0) * g.k0 * g.k1,
                            op + img * g.o0 * g.o1, rowsrc, cp, fill, fp,
                            sp + tid * strip_len,
                            <const real_t **>(pp + tid * 2 * (g.k0 + 1)),
                            <const real_t **>(pp + tid * 2 * (g.k0 + 1) + g.k0 + 1),
                            i0, i1)
    return used


@cython.boundscheck(False)
@cython.wraparound(False)
def correlate_padded(const real_t[:, :, ::1] x not None,
                     const real_t[:, :, ::1] w not None,
                     real_t[:, :, ::1] out not None,
                     const Py_ssize_t[::1] rowsrc not None,
                     const Py_ssize_t[::1] colmap not None,
                     Py_ssize_t pl,
                     Py_ssize_t row_step, Py_ssize_t s1,
                     Py_ssize_t tap_step, Py_ssize_t d1,
                     real_t fill,
                     int nthreads,
                     Py_ssize_t min_parallel_work=0,
                     bint stream=False):
    """Correlate each virtually padded image ``x[b]`` with its kernel.

    Output row ``i`` of every image reads, for kernel row ``a``, image row
    ``rowsrc[i * row_step + a * tap_step]`` (-1 = all fill): for a 2-D
    correlation ``rowsrc`` is the padded row map and the steps are the row
    stride and dilation; an N-D correlation seen as 2-D (leading axes
    flattened into rows, ``B = 1``) passes its ``(O, Ka)`` table of source
    rows, flattened, with ``row_step = Ka`` and ``tap_step = 1``.

    Parameters (all validated by the caller)
    ----------------------------------------
    x : (B, n0, n1) C-contiguous images, n0, n1 >= 1.            # IN
    w : (1 or B, k0, k1) kernels in correlation form.             # IN
    out : (B, o0, o1) C-contiguous output, o0, o1 >= 1.           # OUT
    rowsrc : source row per padded row (or table entry), -1 = fill.
    colmap : ((o1-1)*s1 + (k1-1)*d1 + 1,) source column per padded
        column, -1 = fill.
    pl : left padding (padded column c holds image column c - pl).
    row_step, tap_step, s1, d1 : as above; column stride and dilation
        (all >= 1).
    fill : the fill value.
    nthreads : threads to use (>= 1).
    min_parallel_work : below this many tap-outputs run on one thread.
    stream : write ``out`` with non-temporal stores (for outputs larger
        than the last-level cache; the values are the same).

    Per-thread scratch (``k0 + 1`` padded border strips and row pointers
    each) is allocated here, once per call.

    Returns the number of threads that ran (1 when serial).
    """
    cdef Geometry g
    cdef int used
    cdef Py_ssize_t P1 = colmap.shape[0]
    cdef real_t[::1] fillrow
    cdef real_t[:, ::1] strips
    cdef Py_ssize_t[:, ::1] pointers
    g.n0, g.n1 = x.shape[1], x.shape[2]
    g.k0, g.k1 = w.shape[1], w.shape[2]
    g.o0, g.o1 = out.shape[1], out.shape[2]
    g.row_step, g.tap_step = row_step, tap_step
    # Adjacent output rows share k0 - 1 input rows when both steps are 1;
    # the two-row micro-kernel reads contiguous columns: column stride 1.
    g.pair_rows = row_step == 1 and tap_step == 1 and s1 == 1
    g.stream = stream
    _set_columns(&g, pl, s1, d1, P1)
    real = np.float32 if real_t is float else np.float64
    # Both padded by _SPARE zeros: a border run shorter than a vector is
    # computed as one vector (``_microkernel.h``), reading up to a vector
    # past its last value -- into the next strip or this padding.
    fillrow = np.full(P1 + _SPARE, fill, dtype=real)
    strips = np.zeros((nthreads, (g.k0 + 1) * P1 + _SPARE), dtype=real)
    pointers = np.empty((nthreads, 2 * (g.k0 + 1)), dtype=np.intp)
    with nogil:
        used = _correlate_images(&g, x.shape[0], w.shape[0], &x[0, 0, 0], &w[0, 0, 0],
                                 &out[0, 0, 0], &rowsrc[0], &colmap[0], fill, &fillrow[0],
                                 &strips[0, 0], strips.shape[1], &pointers[0, 0], nthreads,
                                 min_parallel_work)
    return used
