"""Fused edge-detection kernels (private).

``sep3_gradient``
    The 3x3 separable derivative pair shared by Sobel, Scharr and Prewitt:
    the derivative along axis 0 is ``[-1, 0, 1]^T (x) [a, b, a]`` and along
    axis 1 its transpose (correlation form).  One pass over the image: each
    output row reads its three source rows once into thread-local row
    buffers (``up``, ``mid``, ``down`` and ``D = down - up``), and the
    horizontal step turns them into any of ``g0``, ``g1`` and the magnitude
    ``sqrt(g0**2 + g1**2)``, written once.  On float images both derivatives
    difference first and smooth second, as scipy.ndimage does: far from
    zero the differences of neighbours are exact and small, where smoothing
    first would round sums of the large values.  On integer images the
    axis-1 derivative differences the smoothed rows (one buffer fewer):
    those sums are exact, so the result is the same.
    Boundaries cost nothing in the inner loops: out-of-image rows are picked
    by pointer (a zero row for the fill rule) and out-of-image columns are
    the two padded ends of the row buffer, filled through ``colmap``.

``nms_interp``
    Canny's non-maximum suppression with linear interpolation between the
    two neighbours that bracket the gradient direction.

``hysteresis``
    Keep the 8-connected components of the suppressed magnitude that
    contain at least one pixel at or above the high threshold.

Threads take contiguous bands of output rows, so each output value is
computed by the same operations whatever the thread count (bit-identical
results).  Nothing here validates input: ``imfilt.edges`` does.
"""

cimport cython
from cython.parallel cimport prange, threadid
from cpython.exc cimport PyErr_CheckSignals
from libc.float cimport DBL_MAX
from libc.math cimport fabs, hypot
from libc.stdint cimport uint8_t, uint16_t

from imfilt._kernels._common cimport (WORK_PER_ELEMENT, imfilt_openmp_compiled,
                                      imfilt_note_team, imin, real_t, use_threads)

ctypedef fused in_t:
    uint8_t
    uint16_t
    float
    double

ctypedef fused out_t:
    float
    double


# The magnitude row loop lives in C.  Compiled with the default math-errno
# semantics, GCC guards every sqrt with a branch and will not vectorise the
# loop (4-8x slower), and the build flags are shared by every kernel, so the
# square root of a row is taken with the SIMD sqrt instruction of the target
# where one is known: it is the same correctly rounded IEEE operation as the
# scalar sqrt (NaN propagates), just several lanes at a time.
cdef extern from *:
    """
    #include <math.h>
    #if defined(__AVX512F__) || defined(__AVX__) || defined(__SSE2__)
    #include <immintrin.h>
    #endif
    #if defined(__aarch64__) && defined(__ARM_NEON)
    #include <arm_neon.h>
    #endif
    /* float and double variants of one SIMD loop, deliberately separate: the
       intrinsics and the lane counts differ by type. */
    static void imfilt_sqrt_inplace_f(float *v, Py_ssize_t n)
    {
        Py_ssize_t j = 0;
    #if defined(__AVX512F__)
        for (; j + 16 <= n; j += 16)
            _mm512_storeu_ps(v + j, _mm512_sqrt_ps(_mm512_loadu_ps(v + j)));
    #elif defined(__AVX__)
        for (; j + 8 <= n; j += 8)
            _mm256_storeu_ps(v + j, _mm256_sqrt_ps(_mm256_loadu_ps(v + j)));
    #elif defined(__SSE2__)
        for (; j + 4 <= n; j += 4)
            _mm_storeu_ps(v + j, _mm_sqrt_ps(_mm_loadu_ps(v + j)));
    #elif defined(__aarch64__) && defined(__ARM_NEON)
        for (; j + 4 <= n; j += 4)
            vst1q_f32(v + j, vsqrtq_f32(vld1q_f32(v + j)));
    #endif
        for (; j < n; j++)
            v[j] = sqrtf(v[j]);
    }
    static void imfilt_sqrt_inplace_d(double *v, Py_ssize_t n)
    {
        Py_ssize_t j = 0;
    #if defined(__AVX512F__)
        for (; j + 8 <= n; j += 8)
            _mm512_storeu_pd(v + j, _mm512_sqrt_pd(_mm512_loadu_pd(v + j)));
    #elif defined(__AVX__)
        for (; j + 4 <= n; j += 4)
            _mm256_storeu_pd(v + j, _mm256_sqrt_pd(_mm256_loadu_pd(v + j)));
    #elif defined(__SSE2__)
        for (; j + 2 <= n; j += 2)
            _mm_storeu_pd(v + j, _mm_sqrt_pd(_mm_loadu_pd(v + j)));
    #elif defined(__aarch64__) && defined(__ARM_NEON)
        for (; j + 2 <= n; j += 2)
            vst1q_f64(v + j, vsqrtq_f64(vld1q_f64(v + j)));
    #endif
        for (; j < n; j++)
            v[j] = sqrt(v[j]);
    }
    """
    void imfilt_sqrt_inplace_f(float *v, Py_ssize_t n) noexcept nogil
    void imfilt_sqrt_inplace_d(double *v, Py_ssize_t n) noexcept nogil


cdef inline out_t _g1(const out_t *U, const out_t *M, const out_t *N, out_t sa, out_t sb,
                      Py_ssize_t j) noexcept nogil:
    """The axis-1 derivative at column ``j`` of the row buffers, before its
    scale: each row differenced (the zero centre tap multiplied too, so NaN
    and inf propagate as in scipy.ndimage), then smoothed with the weights
    divided by a power of two (``_sep3_band``)."""
    cdef out_t zero = 0
    return (sb * ((M[j + 2] - M[j]) + zero * M[j + 1])
            + sa * (((U[j + 2] - U[j]) + zero * U[j + 1])
                    + ((N[j + 2] - N[j]) + zero * N[j + 1])))


cdef inline void _mag_row(const out_t *U, const out_t *M, const out_t *N, const out_t *D,
                          out_t a, out_t b, out_t sa, out_t sb, out_t up,
                          out_t scale, out_t *out, Py_ssize_t n, bint smoothed) noexcept nogil:
    """``out[j] = sqrt(g0**2 + g1**2) * scale`` for one row (``_g1`` uses the
    weights divided by ``up``, a power of two: undone exactly here; with
    ``smoothed``, ``U`` holds the smoothed rows of an integer image).

    Three contiguous passes over a row that stays in L1: the sum of squares
    (vectorised by the compiler), the SIMD square root in place, the scale.
    """
    cdef Py_ssize_t j
    cdef out_t gx, gy
    cdef out_t zero = 0
    if smoothed:
        for j in range(n):
            gx = ((U[j + 2] - U[j]) + zero * U[j + 1]) * up
            gy = b * D[j + 1] + a * (D[j] + D[j + 2])
            out[j] = gy * gy + gx * gx
    else:
        for j in range(n):
            gx = _g1(U, M, N, sa, sb, j) * up
            gy = b * D[j + 1] + a * (D[j] + D[j + 2])
            out[j] = gy * gy + gx * gx
    if out_t is float:
        imfilt_sqrt_inplace_f(out, n)
    else:
        imfilt_sqrt_inplace_d(out, n)
    if scale != 1:
        for j in range(n):
            out[j] = out[j] * scale


cdef inline void _laplace_row(const out_t *U, const out_t *M, const out_t *N, out_t *out,
                              Py_ssize_t n) noexcept nogil:
    """The 4-neighbour Laplacian of one row of the buffers, with the
    arithmetic of ``scipy.ndimage.laplace``: each axis' second difference
    ``(before + after) + -2 * centre`` in double, rounded to the output
    type, the two then added in the output type.  float32 images so get
    ndimage's bits, and no ``-2 * x`` overflows near float32's limit."""
    cdef Py_ssize_t j
    cdef double c
    for j in range(n):
        c = -2.0 * <double>M[j + 1]
        out[j] = (<out_t>((<double>U[j + 1] + <double>N[j + 1]) + c)
                  + <out_t>((<double>M[j] + <double>M[j + 2]) + c))


# Which outputs sep3_gradient writes (bit flags, mirrored in imfilt.edges).
cdef enum:
    COL_BLOCK = 1024    # columns per block: S, D and the output row fit in L1
    WANT_G0 = 1
    WANT_G1 = 2
    WANT_MAG = 4
    WANT_LAP = 8        # alone: the 4-neighbour Laplacian, written to ``mag``

#: The flags and the column block, for imfilt.edges (read from here, never copied).
OUT_G0, OUT_G1, OUT_MAG, OUT_LAP, COLUMN_BLOCK = WANT_G0, WANT_G1, WANT_MAG, WANT_LAP, COL_BLOCK


def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


#: Elements per work item of ``magnitude_pair`` (a double buffer of this
#: many stays in the core's L1 cache).
cdef Py_ssize_t _MAG_CHUNK = 2048
MAG_CHUNK = _MAG_CHUNK
#: The least root of a normal sum of squares, sqrt(DBL_MIN) rounded up.
cdef double _ROOT_DBL_MIN = 1.4916681462400413e-154


cdef void _magnitude_range(const real_t *x, const real_t *y, real_t *out, Py_ssize_t n,
                           double scale, double *t) noexcept nogil:
    """``out[i] = sqrt(x[i]**2 + y[i]**2) * scale`` for ``i < n`` (see
    ``magnitude_pair``), ``t`` a scratch of ``n`` doubles."""
    cdef Py_ssize_t i
    cdef double a, b
    for i in range(n):
        a = x[i]
        b = y[i]
        t[i] = a * a + b * b
    imfilt_sqrt_inplace_d(t, n)
    for i in range(n):
        # A root of at least sqrt(DBL_MIN) (1.5e-154) and finite: the sum of
        # squares was a normal number, so the root is exact to rounding.
        # Otherwise (non-finite samples, a float64 square out of range) C's
        # hypot, which never overflows or underflows and keeps IEEE's inf
        # with NaN; but zero for two zeros, the common case of a flat image.
        if not (t[i] <= DBL_MAX and t[i] >= _ROOT_DBL_MIN):
            if x[i] == 0 and y[i] == 0:
                t[i] = 0
            else:
                t[i] = hypot(<double>x[i], <double>y[i])
                if t[i] > DBL_MAX and fabs(x[i]) <= DBL_MAX and fabs(y[i]) <= DBL_MAX:
                    # finite derivatives whose root overflows before a scale
                    # below 1 brings it back: scaled first
                    out[i] = <real_t>hypot(x[i] * scale, y[i] * scale)
                    continue
        # the scale in double, one rounding to the result type
        out[i] = <real_t>(t[i] * scale)


@cython.boundscheck(False)
@cython.wraparound(False)
def magnitude_pair(const real_t[::1] x not None, const real_t[::1] y not None,
                   real_t[::1] out not None, double scale, double[:, ::1] scratch not None,
                   int nthreads, Py_ssize_t min_work):
    """``out = sqrt(x**2 + y**2) * scale`` elementwise, on up to ``nthreads``
    threads; returns the number of threads that ran.  # OUT out

    ``scratch``: at least ``(nthreads, MAG_CHUNK)`` doubles (a buffer per
    thread).

    The squares and their sum are taken in double and rounded once: exact
    squares and no overflow for float32, and for float64 wherever the sum
    of squares is a normal number; elsewhere (and for NaN and inf) C's
    ``hypot``, which gives inf for an infinity even with a NaN, as
    ``numpy.hypot`` does.  The root is multiplied by ``scale`` in double and
    rounded once to the result type (a float64 root beyond the range that
    the scale brings back is computed from the scaled derivatives).
    Each element depends on its inputs only, so the result does not depend
    on the threads.
    """
    cdef Py_ssize_t n = x.shape[0], p, lo, count
    cdef int used = 1
    if y.shape[0] != n or out.shape[0] != n:
        raise ValueError("x, y and out must have the same length")
    if scratch.shape[0] < max(nthreads, 1) or scratch.shape[1] < _MAG_CHUNK:
        raise ValueError("scratch must hold (nthreads, MAG_CHUNK) doubles")
    if n == 0:
        return used
    count = (n + _MAG_CHUNK - 1) // _MAG_CHUNK
    for p in prange(count, nogil=True, num_threads=nthreads, schedule="static",
                    use_threads_if=use_threads(nthreads, n * WORK_PER_ELEMENT, min_work)):
        imfilt_note_team(&used)
        lo = p * _MAG_CHUNK
        _magnitude_range(&x[0] + lo, &y[0] + lo, &out[0] + lo, imin(lo + _MAG_CHUNK, n) - lo,
                         scale, &scratch[threadid(), 0])
    return used


cdef inline void _edge_column(const in_t *up, const in_t *mid, const in_t *dn, Py_ssize_t s,
                             out_t *U, out_t *M, out_t *N, out_t *D, out_t sa, out_t sb,
                             Py_ssize_t k, bint raw) noexcept nogil:
    """Element ``k`` of the row buffers for a column outside the image: source
    column ``s`` of the boundary rule, or 0 (fill) when ``s < 0``; ``raw``
    keeps an integer image's rows unsmoothed (the Laplacian)."""
    cdef out_t zero = 0
    cdef out_t u = <out_t>up[s] if s >= 0 else 0
    cdef out_t c = <out_t>mid[s] if s >= 0 else 0
    cdef out_t d = <out_t>dn[s] if s >= 0 else 0
    if (in_t is uint8_t or in_t is uint16_t) and not raw:
        U[k] = sb * c + sa * (u + d)
    else:
        U[k] = u
        M[k] = c
        N[k] = d
    D[k] = (d - u) + zero * c


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _sep3_band(const in_t *x, Py_ssize_t n1,
                     const in_t *zero_row,
                     const Py_ssize_t *rowmap, const Py_ssize_t *colmap,
                     out_t a, out_t b, out_t axis_scale, out_t mag_scale,
                     int what, out_t *g0, out_t *g1, out_t *mag,
                     out_t *buf, Py_ssize_t blen,
                     Py_ssize_t i0, Py_ssize_t i1) noexcept nogil:
    """Rows ``[i0, i1)`` of the requested outputs.

    The axis-1 derivative smooths the row differences with the weights
    divided by the power of two ``p2`` at or above ``2a + b``: the sum then
    stays within the range of the differences (no overflow where the
    result itself is in range), and ``p2`` comes back exactly in the scale
    of g1 and the magnitude: the same bits wherever nothing overflows.

    Each row is done in column blocks of at most ``COL_BLOCK`` so that the
    block's source bytes, the row buffers and output stay in L1.  ``buf``
    holds four buffers of ``blen >= COL_BLOCK + 2`` elements, ``U``, ``M``,
    ``N`` (the three source rows in the output type; for integer images
    ``U`` holds the smoothed rows instead) and ``D = N - U``: element ``k``
    is column ``c0 - 1 + k`` of the block starting at ``c0``.
    """
    cdef Py_ssize_t i, j, s, c0, c1, w, lo, hi, off
    cdef const in_t *up
    cdef const in_t *mid
    cdef const in_t *dn
    cdef out_t u, d, c
    cdef out_t zero = 0     # typed: a bare 0 makes Cython promote to double
    cdef out_t *o0
    cdef out_t *o1
    cdef out_t *U = buf
    cdef out_t *M = buf + blen
    cdef out_t *N = buf + 2 * blen
    cdef out_t *D = buf + 3 * blen
    cdef out_t p2 = 1, sa, sb, g1_scale
    while p2 < 2 * a + b:
        p2 = p2 * 2
    sa = a / p2
    sb = b / p2
    g1_scale = axis_scale * p2

    for i in range(i0, i1):
        # Padded row i holds image row i - 1; rowmap has n0 + 2 entries.
        # The centre row is read through rowmap too (rowmap[i + 1] == i for
        # a whole image), so a caller can hand over a band of output rows:
        # x from row 0 with the band's row count, rowmap and outputs cut to
        # the band.
        s = rowmap[i]
        up = x + s * n1 if s >= 0 else zero_row
        mid = x + rowmap[i + 1] * n1
        s = rowmap[i + 2]
        dn = x + s * n1 if s >= 0 else zero_row

        c1 = 0
        while c1 < n1:
            c0 = c1
            c1 = c0 + COL_BLOCK
            if c1 > n1:
                c1 = n1
            w = c1 - c0
            lo = c0 - 1 if c0 > 0 else 0
            hi = c1 + 1 if c1 < n1 else n1
            off = 1 - c0

            # Vertical stage: contiguous, no tests, vectorised.  The zero
            # centre tap of the derivative is multiplied too, so NaN and inf
            # propagate exactly as in scipy.ndimage (NaN * 0 = NaN).
            if (in_t is uint8_t or in_t is uint16_t) and not (what & WANT_LAP):
                # Integers: the smoothed rows (in U) are exact sums, so the
                # axis-1 derivative may difference them afterwards.
                for j in range(lo, hi):
                    u = <out_t>up[j]
                    d = <out_t>dn[j]
                    c = <out_t>mid[j]
                    U[j + off] = sb * c + sa * (u + d)
                    D[j + off] = (d - u) + zero * c
            else:
                # One loop per buffer (a loop storing to four gets more
                # possible overlaps to test than the compiler vectorises with).
                if what & (WANT_G1 | WANT_MAG | WANT_LAP):
                    for j in range(lo, hi):
                        U[j + off] = <out_t>up[j]
                    for j in range(lo, hi):
                        M[j + off] = <out_t>mid[j]
                    for j in range(lo, hi):
                        N[j + off] = <out_t>dn[j]
                if what & (WANT_G0 | WANT_MAG):
                    for j in range(lo, hi):
                        D[j + off] = (<out_t>dn[j] - <out_t>up[j]) + zero * <out_t>mid[j]

            # Columns outside the image, through the boundary rule (fill =
            # 0), with the same arithmetic as the loops above.
            if c0 == 0:
                _edge_column(up, mid, dn, colmap[0], U, M, N, D, sa, sb, 0, what & WANT_LAP)
            if c1 == n1:
                _edge_column(up, mid, dn, colmap[n1 + 1], U, M, N, D, sa, sb, w + 1,
                             what & WANT_LAP)

            # Horizontal stage.
            if what & WANT_G0:
                o0 = g0 + i * n1 + c0
                for j in range(w):
                    o0[j] = (b * D[j + 1] + a * (D[j] + D[j + 2])) * axis_scale
            if what & WANT_G1:
                o1 = g1 + i * n1 + c0
                if in_t is uint8_t or in_t is uint16_t:
                    for j in range(w):
                        o1[j] = ((U[j + 2] - U[j]) + zero * U[j + 1]) * g1_scale
                else:
                    for j in range(w):
                        o1[j] = _g1(U, M, N, sa, sb, j) * g1_scale
            if what & WANT_LAP:
                _laplace_row(U, M, N, mag + i * n1 + c0, w)
            if what & WANT_MAG:
                _mag_row(U, M, N, D, a, b, sa, sb, p2, mag_scale, mag + i * n1 + c0, w,
                         in_t is uint8_t or in_t is uint16_t)


cdef inline Py_ssize_t _bands(Py_ssize_t n0, int *nthreads) noexcept nogil:
    """One band of rows per thread: clamp ``nthreads`` to [1, n0], return the band count."""
    if nthreads[0] < 1:
        nthreads[0] = 1
    if nthreads[0] > n0:
        nthreads[0] = <int>n0
    return nthreads[0]


@cython.boundscheck(False)
@cython.wraparound(False)
def sep3_gradient(const in_t[:, ::1] x not None,
                  const in_t[::1] zero_row not None,
                  const Py_ssize_t[::1] rowmap not None,
                  const Py_ssize_t[::1] colmap not None,
                  double a, double b, double axis_scale, double mag_scale,
                  int what,
                  out_t[:, ::1] g0 not None,
                  out_t[:, ::1] g1 not None,
                  out_t[:, ::1] mag not None,
                  out_t[:, ::1] scratch not None,
                  int nthreads, Py_ssize_t min_work):
    """Separable 3x3 derivative pair of ``x`` (validated by the caller).

    x : (n0, n1) C-contiguous image, n0, n1 >= 1.                 # IN
    zero_row : (n1,) zeros of the image dtype (rows outside, fill).  # IN
    rowmap : (n0 + 2,) source row of padded rows -1 .. n0, -1 = fill.
    colmap : (n1 + 2,) source column of padded columns -1 .. n1.
    a, b : smoothing weights ``[a, b, a]``.
    axis_scale, mag_scale : factors applied to g0/g1 and to the magnitude.
    what : bit set of outputs wanted: 1 = g0, 2 = g1, 4 = magnitude; or 8
        alone: the 4-neighbour Laplacian, written to ``mag`` (a, b unused).
    g0, g1, mag : (n0, n1) outputs; unwanted ones may be any shape.  # OUT
    scratch : (nthreads, 4 * (min(n1, 1024) + 2)) row buffers.
    nthreads : threads to use (>= 1); one below ``min_work`` work items.

    Returns the number of threads that ran.
    """
    cdef Py_ssize_t n0 = x.shape[0], n1 = x.shape[1]
    cdef Py_ssize_t nblocks, band, blk, i0, i1, slen = scratch.shape[1]
    cdef const in_t *xp = &x[0, 0]
    cdef const in_t *zp = &zero_row[0]
    cdef const Py_ssize_t *rp = &rowmap[0]
    cdef const Py_ssize_t *cp = &colmap[0]
    cdef out_t *p0 = &g0[0, 0]
    cdef out_t *p1 = &g1[0, 0]
    cdef out_t *pm = &mag[0, 0]
    cdef out_t *sp = &scratch[0, 0]
    cdef out_t *buf
    cdef out_t ta = <out_t>a, tb = <out_t>b
    cdef out_t tas = <out_t>axis_scale, tms = <out_t>mag_scale
    cdef int used = 1

    nblocks = _bands(n0, &nthreads)
    band = (n0 + nblocks - 1) // nblocks
    for blk in prange(nblocks, nogil=True, num_threads=nthreads, schedule="static", chunksize=1,
                      use_threads_if=use_threads(nthreads, n0 * n1 * WORK_PER_ELEMENT, min_work)):
        imfilt_note_team(&used)
        buf = sp + (<Py_ssize_t>threadid()) * slen
        if blk * band < n0:
            _sep3_band(xp, n1, zp, rp, cp, ta, tb, tas, tms, what,
                       p0, p1, pm, buf, slen // 4, blk * band, imin(blk * band + band, n0))
    return used


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _nms_rows(const real_t *g0, const real_t *g1, const real_t *mag,
                    const uint8_t *keep, real_t *out, Py_ssize_t n0, Py_ssize_t n1,
                    real_t low, Py_ssize_t i0, Py_ssize_t i1) noexcept nogil:
    """Suppressed magnitude of rows ``[i0, i1)``; only pixels with ``keep``
    set and off the one-pixel border can be kept.

    For the gradient ``(g0, g1)`` the two neighbours across the edge are
    found by stepping one pixel along the dominant axis (``major``) and one
    pixel diagonally (``diag``), both in the quadrant of the gradient; the
    value at the crossing is ``diag * w + major * (1 - w)`` with ``w`` the
    ratio of the smaller to the larger gradient component.  The pixel is
    kept when neither crossing (forward and backward) exceeds it.
    """
    cdef Py_ssize_t i, j, k, major, diag
    cdef real_t m, a0, a1, w, fwd, bwd
    cdef bint same_sign
    for i in range(i0, i1):
        for j in range(n1):
            k = i * n1 + j
            out[k] = 0
            if not keep[k] or i == 0 or i == n0 - 1 or j == 0 or j == n1 - 1:
                continue
            m = mag[k]
            if not (m >= low and m > 0):
                continue
            # Quadrant: the signs of (g0, g1), zero counted as negative.
            same_sign = (g0[k] > 0) == (g1[k] > 0)
            a0 = fabs(g0[k])
            a1 = fabs(g1[k])
            if same_sign:
                diag = n1 + 1                       # (+1, +1)
                if a0 > a1:
                    major = n1                      # (+1, 0)
                    w = a1 / a0
                else:
                    major = 1                       # (0, +1)
                    w = a0 / a1
            else:
                diag = 1 - n1                       # (-1, +1)
                if a0 < a1:
                    major = 1                       # (0, +1)
                    w = a0 / a1
                else:
                    major = -n1                     # (-1, 0)
                    w = a1 / a0
            fwd = mag[k + diag] * w + mag[k + major] * (1 - w)
            if fwd <= m:
                bwd = mag[k - diag] * w + mag[k - major] * (1 - w)
                if bwd <= m:
                    out[k] = m


@cython.boundscheck(False)
@cython.wraparound(False)
def nms_interp(const real_t[:, ::1] g0 not None,
               const real_t[:, ::1] g1 not None,
               const real_t[:, ::1] mag not None,
               const uint8_t[:, ::1] keep not None,
               real_t[:, ::1] out not None,
               double low, int nthreads, Py_ssize_t min_work,
               Py_ssize_t row0=0, Py_ssize_t row1=-1):
    """Non-maximum suppression of ``mag``; border pixels, pixels where
    ``keep`` is 0 and ``mag < low`` give 0.  All arrays (n0, n1)
    C-contiguous; rows ``row0 .. row1 - 1`` of ``out`` are written (every
    row by default: a caller can run bands of rows in turn).  Returns the
    threads that ran."""
    cdef Py_ssize_t n0 = mag.shape[0], n1 = mag.shape[1]
    cdef Py_ssize_t nblocks, band, blk, i0, i1, nrows
    cdef const real_t *a = &g0[0, 0]
    cdef const real_t *b = &g1[0, 0]
    cdef const real_t *m = &mag[0, 0]
    cdef const uint8_t *kp = &keep[0, 0]
    cdef real_t *o = &out[0, 0]
    cdef real_t lo = <real_t>low
    cdef int used = 1
    if row1 < 0 or row1 > n0:
        row1 = n0
    if row0 < 0:
        row0 = 0
    if row1 <= row0:
        return used
    nrows = row1 - row0
    nblocks = _bands(nrows, &nthreads)
    band = (nrows + nblocks - 1) // nblocks
    for blk in prange(nblocks, nogil=True, num_threads=nthreads, schedule="static", chunksize=1,
                      use_threads_if=use_threads(nthreads, nrows * n1 * WORK_PER_ELEMENT,
                                                 min_work)):
        if blk * band < nrows:
            _nms_rows(a, b, m, kp, o, n0, n1, lo, row0 + blk * band,
                      row0 + imin(blk * band + band, nrows))
        imfilt_note_team(&used)
    return used


@cython.boundscheck(False)
@cython.wraparound(False)
def hysteresis(const real_t[:, ::1] nms not None,
               double high,
               uint8_t[:, ::1] out not None,
               Py_ssize_t[::1] stack not None):
    """Mark 8-connected components of ``nms > 0`` holding a value >= high.

    ``out`` (n0, n1) must be zero on entry and receives 1 for edge pixels;
    ``stack`` needs ``n0 * n1`` entries (each pixel is pushed at most once).
    Returns the number of edge pixels.  Signals are handled every 2**20
    pixels visited (a flood fill over a huge image answers Ctrl-C: the
    handler's exception, KeyboardInterrupt, is raised and ``out`` is left
    incomplete).
    """
    cdef Py_ssize_t n0 = nms.shape[0], n1 = nms.shape[1]
    cdef Py_ssize_t i, j, k, top, count = 0, p, pi, pj, di, dj, q, visits = 0
    cdef const real_t *v = &nms[0, 0]
    cdef uint8_t *o = &out[0, 0]
    cdef Py_ssize_t *st = &stack[0]
    cdef real_t hi = <real_t>high
    with nogil:
        for k in range(n0 * n1):
            if o[k] or not (v[k] > 0 and v[k] >= hi):
                continue
            o[k] = 1
            count += 1
            st[0] = k
            top = 1
            while top > 0:
                top -= 1
                p = st[top]
                visits += 1
                if visits & 0xFFFFF == 0:
                    with gil:
                        PyErr_CheckSignals()
                pi = p // n1
                pj = p - pi * n1
                for di in range(-1, 2):
                    if pi + di < 0 or pi + di >= n0:
                        continue
                    for dj in range(-1, 2):
                        if pj + dj < 0 or pj + dj >= n1:
                            continue
                        q = p + di * n1 + dj
                        if not o[q] and v[q] > 0:
                            o[q] = 1
                            count += 1
                            st[top] = q
                            top += 1
    return count
