"""Gaussian pyramid kernels (private): OpenCV's pyrDown / pyrUp, separably.

``pyr_down``: out[i, j] = sum_{a, b} g[a] g[b] x[R[2i + a], C[2j + b]] with
g = [1 4 6 4 1] / 16 and R, C the reflect-101 source maps of the padded
axes (built in Python by ``imfilt._modes.boundary_index``).  Each output row
first combines its five source rows into a scratch row (contiguous,
vectorised), then filters that row horizontally at the even columns.

``pyr_up``: per axis, even outputs are ``(e[i-1] + 6 e[i] + e[i+1]) / 8`` and
odd outputs ``(e[i] + e[i+1]) / 2`` of the extended samples
``e[-1] = x[min(1, n-1)]``, ``e[n] = x[n-1]`` (reflect-101 of the
zero-stuffed image, as OpenCV).  Vertical pass into a scratch row, then the
horizontal pass writes the interleaved output row.

Threads own whole output rows; results are bit-identical for any count.
"""

cimport cython
from cython.parallel cimport prange, threadid

from imfilt._kernels._common cimport (WORK_PER_ELEMENT, imax, imfilt_openmp_compiled,
                                      imfilt_note_team, real_t, use_threads)



def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _down_row(const real_t *x, Py_ssize_t W, real_t *o, Py_ssize_t Wo,
                    const Py_ssize_t *rows, const Py_ssize_t *colmap,
                    real_t *t) noexcept nogil:
    """Output row from the five source rows ``rows[0:5]``."""
    cdef const real_t *r0 = x + rows[0] * W
    cdef const real_t *r1 = x + rows[1] * W
    cdef const real_t *r2 = x + rows[2] * W
    cdef const real_t *r3 = x + rows[3] * W
    cdef const real_t *r4 = x + rows[4] * W
    cdef Py_ssize_t c, j, j0, j1
    cdef real_t s256 = <real_t>(1.0 / 256.0)
    cdef real_t four = 4, six = 6   # typed: a literal 4 would make the sums double
    for c in range(W):
        t[c] = (r0[c] + r4[c]) + four * (r1[c] + r3[c]) + six * r2[c]
    # Interior outputs read columns 2j-2 .. 2j+2 directly.
    j0 = 1
    j1 = (W - 3) // 2 + 1   # last j with 2j + 2 <= W - 1, plus one
    if j1 < j0:
        j1 = j0
    if j1 > Wo:
        j1 = Wo
    for j in range(j0, j1):
        c = 2 * j
        o[j] = ((t[c - 2] + t[c + 2]) + four * (t[c - 1] + t[c + 1]) + six * t[c]) * s256
    # Border outputs (before j0 and from j1 on) through the column map.
    j = 0
    while j < Wo:
        if j == j0 and j1 > j0:
            j = j1
            continue
        o[j] = ((t[colmap[2 * j]] + t[colmap[2 * j + 4]])
                + four * (t[colmap[2 * j + 1]] + t[colmap[2 * j + 3]])
                + six * t[colmap[2 * j + 2]]) * s256
        j += 1


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _up_row(const real_t *x, Py_ssize_t H, Py_ssize_t W, Py_ssize_t oy,
                  real_t *o, real_t *t) noexcept nogil:
    """Output row ``oy`` (of 2H) into ``o`` (2W values)."""
    cdef Py_ssize_t i = oy // 2, c, j
    cdef Py_ssize_t im = i - 1 if i > 0 else (1 if H > 1 else 0)
    cdef Py_ssize_t ip = i + 1 if i + 1 < H else H - 1
    cdef const real_t *a = x + im * W
    cdef const real_t *b = x + i * W
    cdef const real_t *d = x + ip * W
    cdef real_t s8 = <real_t>0.125
    cdef real_t s64 = <real_t>(1.0 / 64.0)
    cdef real_t tm, tp
    cdef real_t four = 4, six = 6   # typed: a literal 4 would make the sums double
    if oy % 2 == 0:
        for c in range(W):
            t[c] = (a[c] + d[c]) + six * b[c]
    else:
        for c in range(W):
            t[c] = four * (b[c] + d[c])
    # Horizontal: even 2j from t[j-1], t[j], t[j+1]; odd 2j+1 from t[j], t[j+1].
    for j in range(1, W - 1):
        o[2 * j] = ((t[j - 1] + t[j + 1]) + six * t[j]) * s64
        o[2 * j + 1] = (four * (t[j] + t[j + 1])) * s64
    # Borders: e[-1] = t[min(1, W-1)], e[W] = t[W-1].
    tm = t[1] if W > 1 else t[0]
    tp = t[1] if W > 1 else t[0]
    o[0] = ((tm + tp) + six * t[0]) * s64
    o[1] = (four * (t[0] + tp)) * s64
    if W > 1:
        j = W - 1
        o[2 * j] = ((t[j - 1] + t[j]) + six * t[j]) * s64
        o[2 * j + 1] = (four * (t[j] + t[j])) * s64


@cython.boundscheck(False)
@cython.wraparound(False)
def pyramid(const real_t[:, :, ::1] x not None,         # IN  (P, H, W), H, W >= 1
            real_t[:, :, ::1] out not None,             # OUT (P, (H+1)//2, (W+1)//2) or (P, 2H, 2W)
            const Py_ssize_t[::1] rowmap not None,      # down: (2 * Ho + 3,) padded by 2
            const Py_ssize_t[::1] colmap not None,      # down: (2 * Wo + 3,) padded by 2
            real_t[:, ::1] scratch not None,            # (nthreads, W)
            int nthreads, Py_ssize_t min_work, bint down):
    """OpenCV pyrDown (``down``) or pyrUp of every plane (see module docstring).

    Threads take whole output rows; returns the number of threads that ran.
    """
    cdef Py_ssize_t P = x.shape[0], H = x.shape[1], W = x.shape[2]
    cdef Py_ssize_t Ho = out.shape[1], Wo = out.shape[2]
    cdef Py_ssize_t rows = P * Ho, r, p, i, tid
    cdef const real_t *xp
    cdef real_t *op
    cdef real_t *sp = &scratch[0, 0]
    cdef Py_ssize_t ss = scratch.shape[1]
    cdef int used = 1
    if rows == 0 or Wo == 0 or W == 0:
        return used
    xp = &x[0, 0, 0]
    op = &out[0, 0, 0]
    for r in prange(rows, nogil=True, num_threads=nthreads, schedule="static",
                    use_threads_if=use_threads(nthreads, rows * imax(W, Wo) * WORK_PER_ELEMENT,
                                               min_work)):
        imfilt_note_team(&used)
        tid = threadid()
        p = r // Ho
        i = r - p * Ho
        if down:
            _down_row(xp + p * H * W, W, op + r * Wo, Wo, &rowmap[2 * i], &colmap[0],
                      sp + tid * ss)
        else:
            _up_row(xp + p * H * W, H, W, i, op + r * Wo, sp + tid * ss)
    return used
