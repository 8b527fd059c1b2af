"""Bilateral filter kernels (private; the public front is imfilt.bilateral).

Input: a padded planar image ``x[C, Hp, Wp]`` (C channels, padded by the
window radius on every side by the caller's boundary rule) and the window
as flat offsets ``doff[k] = dy * Wp + dx`` with their spatial log-weights
``ls[k] = -(dy^2 + dx^2) / (2 sigma_space^2)``.  For output ``(y, x)``::

    D_k = sum_c |x[c, y + dy, x + dx] - x[c, y, x]|
    w_k = exp(ls[k] - D_k^2 * cc),   cc = 1 / (2 sigma_color^2)
    out[c, y, x] = sum_k w_k x[c, y + dy, x + dx] / sum_k w_k

Two entry points.  ``bilateral_sym`` takes grey uint8 and float32 planes
(radius 1..``SYM_MAX_RADIUS``): the weight of a pair of pixels is the same
from either end, so each is evaluated once and added to both (the kernel is
``_bilateral_sym.h``; float32 weights are ``2^(ls2 - d^2 cc2)``, the
log-weights in base 2, by a 16-lane degree-5 polynomial of about 1.3 ulp).
``bilateral_rows`` runs every other case, offset by offset over whole
output rows, so the inner loops are contiguous and vectorise (the planes'
dtype selects the path):

uint8 planes        the colour weight is a table of
                    ``255 * C + 1`` entries, the spatial one a table of
                    ``nk``; float32 sums.
float planes        float32 planes with a vectorisable exp (Cody-Waite
                    reduction and a degree-6 polynomial, about 2 ulp) and
                    float32 sums; float64 planes with the C library's exp
                    and float64 sums (the analytic definition).
                    ``omit`` leaves out every neighbour with a NaN channel
                    (weight 0); otherwise NaN propagates through the sums.

``bilateral_rows``' threads take whole output rows (disjoint), and every
output value is the same sequence of operations for any thread count (for
``bilateral_sym`` see its header).  Threads start when the weight
evaluations (``H * W * nk * C``) reach ``min_work``; the entry points
return the thread count they used.  ``pad_plane`` builds the pair kernel's
padded plane with threads.
"""

cimport cython
cimport cython.parallel
from cython.parallel cimport prange, threadid
from libc.math cimport exp, fabs
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

import numpy as np

from imfilt._kernels._common cimport (imfilt_note_team, imfilt_openmp_compiled, real_t,
                                      use_threads)

cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    #include <stdlib.h>
    #include <string.h>
    #ifndef IMFILT_RESTRICT
    #  if defined(_MSC_VER)
    #    define IMFILT_RESTRICT __restrict
    #  else
    #    define IMFILT_RESTRICT __restrict__
    #  endif
    #endif
    /* exp(x) in float32 for x <= 0: Cody-Waite reduction by ln 2, degree-6
       polynomial (about 1 ulp), 0 below -87.  Written with integer masks
       instead of float branches so that loops calling it vectorise. */
    static inline float imfilt_expf_neg(float x) {
        uint32_t ub, keep, xb, rb;
        float xc, n, r, p, scale, res;
        int32_t bits;
        memcpy(&ub, &x, sizeof(ub));
        keep = ub > 0xC2AE0000u ? 0u : 0xFFFFFFFFu;     /* x >= -87 */
        xb = (ub & keep) | (0xC2AE0000u & ~keep);
        memcpy(&xc, &xb, sizeof(xc));
        n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  /* round */
        r = xc - n * 0.693359375f;
        r = r + n * 2.12194440e-4f;
        p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        p = p * (r * r) + r + 1.0f;
        bits = ((int32_t)n + 127) << 23;
        memcpy(&scale, &bits, sizeof(scale));
        res = p * scale;
        memcpy(&rb, &res, sizeof(rb));
        rb &= keep;
        memcpy(&res, &rb, sizeof(res));
        return res;
    }
    static inline float imfilt_maskf(float v, uint32_t m) {
        uint32_t b;
        memcpy(&b, &v, sizeof(b));
        b &= m;
        memcpy(&v, &b, sizeof(v));
        return v;
    }
    /* The uint8 and float32 helpers below are deliberate type variants of
       the same row loops (the uint8 ones look weights up in tables, the
       float32 ones compute them with imfilt_expf_neg): each vectorises for
       its own element type. */
    /* --- uint8 planes, table weights ------------------------------------ */
    static void imfilt_bil_grey_u8(const uint8_t *IMFILT_RESTRICT q,
                                   const uint8_t *IMFILT_RESTRICT cp, Py_ssize_t W,
                                   float s, const float *IMFILT_RESTRICT cw,
                                   float *IMFILT_RESTRICT num, float *IMFILT_RESTRICT den) {
        for (Py_ssize_t i = 0; i < W; i++) {
            int d = abs((int)q[i] - (int)cp[i]);
            float w = s * cw[d];
            num[i] += w * (float)q[i];
            den[i] += w;
        }
    }
    /* four taps at once: num/den are loaded and stored once per four taps */
    static void imfilt_bil_grey4_u8(const uint8_t *IMFILT_RESTRICT q0,
                                    const uint8_t *IMFILT_RESTRICT q1,
                                    const uint8_t *IMFILT_RESTRICT q2,
                                    const uint8_t *IMFILT_RESTRICT q3,
                                    const uint8_t *IMFILT_RESTRICT cp, Py_ssize_t W,
                                    const float *IMFILT_RESTRICT s,
                                    const float *IMFILT_RESTRICT cw,
                                    float *IMFILT_RESTRICT num, float *IMFILT_RESTRICT den) {
        float s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
        for (Py_ssize_t i = 0; i < W; i++) {
            int c = (int)cp[i];
            float w0 = s0 * cw[abs((int)q0[i] - c)];
            float w1 = s1 * cw[abs((int)q1[i] - c)];
            float w2 = s2 * cw[abs((int)q2[i] - c)];
            float w3 = s3 * cw[abs((int)q3[i] - c)];
            num[i] += ((w0 * (float)q0[i] + w1 * (float)q1[i]) + (w2 * (float)q2[i] + w3 * (float)q3[i]));
            den[i] += ((w0 + w1) + (w2 + w3));
        }
    }
    static void imfilt_bil_absdiff_u8(int32_t *IMFILT_RESTRICT dbuf,
                                      const uint8_t *IMFILT_RESTRICT q,
                                      const uint8_t *IMFILT_RESTRICT cp, Py_ssize_t W, int first) {
        if (first)
            for (Py_ssize_t i = 0; i < W; i++) dbuf[i] = abs((int)q[i] - (int)cp[i]);
        else
            for (Py_ssize_t i = 0; i < W; i++) dbuf[i] += abs((int)q[i] - (int)cp[i]);
    }
    static void imfilt_bil_wlut(float *IMFILT_RESTRICT wbuf, const int32_t *IMFILT_RESTRICT dbuf,
                                Py_ssize_t W, float s, const float *IMFILT_RESTRICT cw,
                                float *IMFILT_RESTRICT den) {
        for (Py_ssize_t i = 0; i < W; i++) {
            float w = s * cw[dbuf[i]];
            wbuf[i] = w;
            den[i] += w;
        }
    }
    static void imfilt_bil_num_u8(float *IMFILT_RESTRICT num, const float *IMFILT_RESTRICT wbuf,
                                  const uint8_t *IMFILT_RESTRICT q, Py_ssize_t W) {
        for (Py_ssize_t i = 0; i < W; i++) num[i] += wbuf[i] * (float)q[i];
    }
    /* --- float32 planes, computed weights ------------------------------- */
    static void imfilt_bil_grey_f32(const float *IMFILT_RESTRICT q,
                                    const float *IMFILT_RESTRICT cp, Py_ssize_t W,
                                    float s, float cc,
                                    float *IMFILT_RESTRICT num, float *IMFILT_RESTRICT den) {
        for (Py_ssize_t i = 0; i < W; i++) {
            float v = q[i];
            float d = v - cp[i];
            float w = imfilt_expf_neg(s - d * d * cc);
            num[i] += w * v;
            den[i] += w;
        }
    }
    static void imfilt_bil_grey4_f32(const float *IMFILT_RESTRICT q0,
                                     const float *IMFILT_RESTRICT q1,
                                     const float *IMFILT_RESTRICT q2,
                                     const float *IMFILT_RESTRICT q3,
                                     const float *IMFILT_RESTRICT cp, Py_ssize_t W,
                                     const float *IMFILT_RESTRICT s, float cc,
                                     float *IMFILT_RESTRICT num, float *IMFILT_RESTRICT den) {
        float s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
        for (Py_ssize_t i = 0; i < W; i++) {
            float c = cp[i];
            float v0 = q0[i], v1 = q1[i], v2 = q2[i], v3 = q3[i];
            float d0 = v0 - c, d1 = v1 - c, d2 = v2 - c, d3 = v3 - c;
            float w0 = imfilt_expf_neg(s0 - d0 * d0 * cc);
            float w1 = imfilt_expf_neg(s1 - d1 * d1 * cc);
            float w2 = imfilt_expf_neg(s2 - d2 * d2 * cc);
            float w3 = imfilt_expf_neg(s3 - d3 * d3 * cc);
            num[i] += ((w0 * v0 + w1 * v1) + (w2 * v2 + w3 * v3));
            den[i] += ((w0 + w1) + (w2 + w3));
        }
    }
    static void imfilt_bil_absdiff_f32(float *IMFILT_RESTRICT dbuf,
                                       const float *IMFILT_RESTRICT q,
                                       const float *IMFILT_RESTRICT cp, Py_ssize_t W, int first) {
        if (first)
            for (Py_ssize_t i = 0; i < W; i++) dbuf[i] = fabsf(q[i] - cp[i]);
        else
            for (Py_ssize_t i = 0; i < W; i++) dbuf[i] += fabsf(q[i] - cp[i]);
    }
    /* omit: a NaN distance (a NaN channel) gets weight 0 */
    static void imfilt_bil_wexp_f32(float *IMFILT_RESTRICT wbuf, const float *IMFILT_RESTRICT dbuf,
                                    Py_ssize_t W, float s, float cc,
                                    float *IMFILT_RESTRICT den, int omit) {
        if (omit) {
            for (Py_ssize_t i = 0; i < W; i++) {
                float d = dbuf[i];
                float w = imfilt_maskf(imfilt_expf_neg(s - d * d * cc),
                                       d == d ? 0xFFFFFFFFu : 0u);
                wbuf[i] = w;
                den[i] += w;
            }
        } else {
            for (Py_ssize_t i = 0; i < W; i++) {
                float d = dbuf[i];
                float w = imfilt_expf_neg(s - d * d * cc);
                wbuf[i] = w;
                den[i] += w;
            }
        }
    }
    /* omit: a zero weight contributes exactly 0 (even for a NaN sample) */
    static void imfilt_bil_num_f32(float *IMFILT_RESTRICT num, const float *IMFILT_RESTRICT wbuf,
                                   const float *IMFILT_RESTRICT q, Py_ssize_t W, int omit) {
        if (omit)
            for (Py_ssize_t i = 0; i < W; i++)
                num[i] += imfilt_maskf(wbuf[i] * q[i], wbuf[i] != 0.0f ? 0xFFFFFFFFu : 0u);
        else
            for (Py_ssize_t i = 0; i < W; i++) num[i] += wbuf[i] * q[i];
    }
    """
    float imfilt_expf_neg(float x) noexcept nogil
    void imfilt_bil_grey_u8(const unsigned char *q, const unsigned char *cp, Py_ssize_t W,
                            float s, const float *cw, float *num, float *den) noexcept nogil
    void imfilt_bil_grey4_u8(const unsigned char *q0, const unsigned char *q1,
                             const unsigned char *q2, const unsigned char *q3,
                             const unsigned char *cp, Py_ssize_t W, const float *s,
                             const float *cw, float *num, float *den) noexcept nogil
    void imfilt_bil_grey4_f32(const float *q0, const float *q1, const float *q2,
                              const float *q3, const float *cp, Py_ssize_t W, const float *s,
                              float cc, float *num, float *den) noexcept nogil
    void imfilt_bil_absdiff_u8(int *dbuf, const unsigned char *q, const unsigned char *cp,
                               Py_ssize_t W, int first) noexcept nogil
    void imfilt_bil_wlut(float *wbuf, const int *dbuf, Py_ssize_t W, float s, const float *cw,
                         float *den) noexcept nogil
    void imfilt_bil_num_u8(float *num, const float *wbuf, const unsigned char *q,
                           Py_ssize_t W) noexcept nogil
    void imfilt_bil_grey_f32(const float *q, const float *cp, Py_ssize_t W, float s, float cc,
                             float *num, float *den) noexcept nogil
    void imfilt_bil_absdiff_f32(float *dbuf, const float *q, const float *cp, Py_ssize_t W,
                                int first) noexcept nogil
    void imfilt_bil_wexp_f32(float *wbuf, const float *dbuf, Py_ssize_t W, float s, float cc,
                             float *den, int omit) noexcept nogil
    void imfilt_bil_num_f32(float *num, const float *wbuf, const float *q, Py_ssize_t W,
                            int omit) noexcept nogil

def _openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


def expf_neg(float x):
    """The float32 exp used by the float32 path (for tests)."""
    return imfilt_expf_neg(x)


@cython.boundscheck(False)
@cython.wraparound(False)
# IEEE division on purpose (also in the debug build): a window whose every
# neighbour was left out under nan_policy='omit' gives 0/0 = NaN.
@cython.cdivision(True)
cdef void _row_lut(const unsigned char *x, Py_ssize_t C, Py_ssize_t plane,
                   Py_ssize_t Wp, Py_ssize_t y, Py_ssize_t W, Py_ssize_t r,
                   const Py_ssize_t *doff, const float *sw, Py_ssize_t nk,
                   const float *cw, float *num, float *den, int *dbuf, float *wbuf,
                   float *out, Py_ssize_t oplane) noexcept nogil:
    """Output row ``y`` of every channel (uint8 planes, table weights)."""
    cdef const unsigned char *cp = x + (y + r) * Wp + r
    cdef const unsigned char *q
    cdef Py_ssize_t k, i, c, k0
    memset(num, 0, C * W * sizeof(float))
    memset(den, 0, W * sizeof(float))
    k0 = 0
    if C == 1:
        while k0 + 4 <= nk:
            imfilt_bil_grey4_u8(cp + doff[k0], cp + doff[k0 + 1], cp + doff[k0 + 2],
                                cp + doff[k0 + 3], cp, W, sw + k0, cw, num, den)
            k0 = k0 + 4
    for k in range(k0, nk):
        q = cp + doff[k]
        if C == 1:
            imfilt_bil_grey_u8(q, cp, W, sw[k], cw, num, den)
        else:
            for c in range(C):
                imfilt_bil_absdiff_u8(dbuf, q + c * plane, cp + c * plane, W, c == 0)
            imfilt_bil_wlut(wbuf, dbuf, W, sw[k], cw, den)
            for c in range(C):
                imfilt_bil_num_u8(num + c * W, wbuf, q + c * plane, W)
    for c in range(C):
        for i in range(W):
            out[c * oplane + i] = num[c * W + i] / den[i]


@cython.boundscheck(False)
@cython.wraparound(False)
# IEEE division on purpose (also in the debug build): a window whose every
# neighbour was left out under nan_policy='omit' gives 0/0 = NaN.
@cython.cdivision(True)
cdef void _row_real(const real_t *x, Py_ssize_t C, Py_ssize_t plane, Py_ssize_t Wp,
                    Py_ssize_t y, Py_ssize_t W, Py_ssize_t r, const Py_ssize_t *doff,
                    const real_t *ls, Py_ssize_t nk, real_t cc, bint omit,
                    real_t *num, real_t *den, real_t *dbuf, real_t *wbuf,
                    real_t *out, Py_ssize_t oplane) noexcept nogil:
    """Output row ``y`` of every channel (float planes, computed weights)."""
    cdef const real_t *cp = x + (y + r) * Wp + r
    cdef const real_t *q
    cdef Py_ssize_t k, i, c, k0
    cdef real_t s, w, d, v
    memset(num, 0, C * W * sizeof(real_t))
    memset(den, 0, W * sizeof(real_t))
    k0 = 0
    if real_t is float:
        if C == 1 and not omit:
            while k0 + 4 <= nk:
                imfilt_bil_grey4_f32(cp + doff[k0], cp + doff[k0 + 1], cp + doff[k0 + 2],
                                     cp + doff[k0 + 3], cp, W, ls + k0, cc, num, den)
                k0 = k0 + 4
    for k in range(k0, nk):
        q = cp + doff[k]
        s = ls[k]
        if real_t is float:
            if C == 1 and not omit:
                imfilt_bil_grey_f32(q, cp, W, s, cc, num, den)
                continue
            for c in range(C):
                imfilt_bil_absdiff_f32(dbuf, q + c * plane, cp + c * plane, W, c == 0)
            imfilt_bil_wexp_f32(wbuf, dbuf, W, s, cc, den, omit)
            for c in range(C):
                imfilt_bil_num_f32(num + c * W, wbuf, q + c * plane, W, omit)
        else:
            for i in range(W):
                dbuf[i] = fabs(q[i] - cp[i])
            for c in range(1, C):
                for i in range(W):
                    dbuf[i] = dbuf[i] + fabs(q[c * plane + i] - cp[c * plane + i])
            for i in range(W):
                d = dbuf[i]
                w = exp(s - d * d * cc)
                if omit and d != d:
                    w = 0
                wbuf[i] = w
                den[i] = den[i] + w
            for c in range(C):
                for i in range(W):
                    v = q[c * plane + i]
                    if omit and wbuf[i] == 0:
                        continue
                    num[c * W + i] = num[c * W + i] + wbuf[i] * v
    for c in range(C):
        for i in range(W):
            out[c * oplane + i] = num[c * W + i] / den[i]


ctypedef fused pix_t:
    unsigned char
    float
    double


@cython.boundscheck(False)
@cython.wraparound(False)
def bilateral_rows(const pix_t[:, :, ::1] x not None,  # IN  (C, H + 2r, W + 2r)
                   out not None,                       # OUT (C, H, W), float32 for uint8
                   Py_ssize_t r,
                   const Py_ssize_t[::1] doff not None,  # IN  (nk,) dy * Wp + dx
                   weights not None,                   # IN  (nk,) sw (uint8) or ls
                   const float[::1] cw=None,           # IN  (255 * C + 1,) uint8 only
                   double cc=0.0, bint omit=False, int nthreads=1, Py_ssize_t min_work=0):
    """Every output row of the bilateral filter of ``x`` (see module docstring).

    uint8 planes take the table path: ``weights`` are the spatial weights
    ``sw`` (float32) and ``cw`` the colour weights; float32/float64 planes
    take ``weights`` as the spatial log-weights ``ls`` (the planes' dtype),
    ``cc`` and ``omit``.  Returns the number of threads that ran.
    """
    cdef Py_ssize_t C = x.shape[0], Hp = x.shape[1], Wp = x.shape[2]
    cdef Py_ssize_t H = out.shape[1], W = out.shape[2], nk = doff.shape[0]
    cdef Py_ssize_t y, tid, per = (C + 3) * W
    cdef float[:, :, ::1] out_lut
    cdef const float[::1] sw
    cdef pix_t[:, :, ::1] out_real
    cdef const pix_t[::1] ls
    cdef float[::1] scratch_lut
    cdef pix_t[::1] scratch_real
    cdef float *scr_lut = NULL
    cdef pix_t *scr_real = NULL
    cdef bint parallel
    cdef int used = 1
    if H == 0 or W == 0 or C == 0:
        return 1
    parallel = use_threads(nthreads, H * W * nk * C, min_work)
    if not parallel:
        nthreads = 1
    if pix_t is cython.uchar:
        out_lut, sw = out, weights
        scratch_lut = np.empty(nthreads * per, dtype=np.float32)
        scr_lut = &scratch_lut[0]
    else:
        out_real, ls = out, weights
        scratch_real = np.empty(nthreads * per, dtype=np.float32 if pix_t is float else np.float64)
        scr_real = &scratch_real[0]
    with nogil:
        for y in prange(H, num_threads=nthreads, schedule="dynamic", chunksize=1,
                        use_threads_if=parallel):
            imfilt_note_team(&used)
            tid = threadid()
            if pix_t is cython.uchar:
                _row_lut(&x[0, 0, 0], C, Hp * Wp, Wp, y, W, r, &doff[0], &sw[0], nk, &cw[0],
                         scr_lut + tid * per, scr_lut + tid * per + C * W,
                         <int *>(scr_lut + tid * per + (C + 1) * W),
                         scr_lut + tid * per + (C + 2) * W, &out_lut[0, y, 0], H * W)
            else:
                _row_real(&x[0, 0, 0], C, Hp * Wp, Wp, y, W, r, &doff[0], &ls[0], nk,
                          <pix_t>cc, omit, scr_real + tid * per, scr_real + tid * per + C * W,
                          scr_real + tid * per + (C + 1) * W, scr_real + tid * per + (C + 2) * W,
                          &out_real[0, y, 0], H * W)
    return used


cdef extern from "_bilateral_sym.h" nogil:
    void imfilt_bil_sym_u8_unit(const unsigned char *x, Py_ssize_t Wp, Py_ssize_t r,
                                Py_ssize_t y0, Py_ssize_t y1, Py_ssize_t x0, Py_ssize_t x1,
                                const int *hdy, const int *hdx, const float *hsw,
                                Py_ssize_t nh, const float *cw, float *ring, Py_ssize_t RW,
                                float *out, Py_ssize_t ostride)
    void imfilt_bil_sym_f32_unit(const float *x, const float *xq, int omit, Py_ssize_t Wp,
                                 Py_ssize_t r, Py_ssize_t y0, Py_ssize_t y1, Py_ssize_t x0,
                                 Py_ssize_t x1, const int *hdy, const int *hdx,
                                 const float *hls2, Py_ssize_t nh, float cc2, float *ring,
                                 Py_ssize_t RW, float *out, Py_ssize_t ostride)
    float imfilt_bil_exp2(float t)
    int BIL_BAND
    int BIL_LANES
    int BIL_MAX_RADIUS

#: Narrowest column tile (and image) of the symmetric grey path.
SYM_MIN_WIDTH = BIL_LANES
#: Largest radius of the symmetric grey path (its ring of weight rows).
SYM_MAX_RADIUS = BIL_MAX_RADIUS


def exp2_neg(float t):
    """The float32 ``2**t`` (t <= 0) of the symmetric float32 path (for tests)."""
    return imfilt_bil_exp2(t)


ctypedef fused sym_t:
    unsigned char
    float


@cython.boundscheck(False)
@cython.wraparound(False)
def pad_plane(const sym_t[:, ::1] src not None,      # IN  (H, W)
              sym_t[:, ::1] dst not None,            # OUT (H + 2r, W + 2r)
              const Py_ssize_t[::1] iy not None,     # IN  (H + 2r,) source row, -1: fill
              const Py_ssize_t[::1] ix not None,     # IN  (W + 2r,) source column, -1: fill
              double fill, int nthreads, Py_ssize_t min_work):
    """``dst[y, x] = src[iy[y], ix[x]]`` (``fill`` where an index is -1), rows
    in parallel: the symmetric kernels' padded plane without a serial copy.
    Returns the number of threads that ran."""
    cdef Py_ssize_t H = src.shape[0], W = src.shape[1], Hp = dst.shape[0], Wp = dst.shape[1]
    cdef Py_ssize_t r = (Wp - W) // 2, y, c, sy
    cdef sym_t f = <sym_t>fill
    cdef bint parallel
    cdef int used = 1
    if iy.shape[0] != Hp or ix.shape[0] != Wp or Wp - W != 2 * r or H == 0 or W == 0:
        raise ValueError("imfilt: pad_plane shapes do not match")
    parallel = use_threads(nthreads, Hp * Wp, min_work)
    if not parallel:
        nthreads = 1
    with nogil:
        for y in prange(Hp, num_threads=nthreads, schedule="static", use_threads_if=parallel):
            imfilt_note_team(&used)
            sy = iy[y]
            if sy < 0:
                for c in range(Wp):
                    dst[y, c] = f
            else:
                memcpy(&dst[y, r], &src[sy, 0], W * sizeof(sym_t))
                for c in range(r):
                    dst[y, c] = src[sy, ix[c]] if ix[c] >= 0 else f
                    dst[y, r + W + c] = src[sy, ix[r + W + c]] if ix[r + W + c] >= 0 else f
    return used


@cython.boundscheck(False)
@cython.wraparound(False)
def bilateral_sym(const sym_t[:, ::1] x not None,       # IN  (H + 2r, W + 2r)
                  float[:, ::1] out not None,           # OUT (H, W)
                  Py_ssize_t r,
                  const int[::1] hdy not None,          # IN  (nh,) half window
                  const int[::1] hdx not None,
                  const float[::1] hsw not None,        # IN  (nh,) sw (uint8) or ls2 (float32)
                  const Py_ssize_t[::1] tiles not None,  # IN  column tile edges
                  int nthreads, Py_ssize_t min_work,
                  const float[::1] cw=None,             # IN  (256,) colour weights (uint8)
                  double cc2=0.0,                       # IN  colour log-weight scale (float32)
                  const sym_t[:, ::1] xq=None):         # IN  values, NaN -> 0 (float32 omit)
    """Grey bilateral filter, each pair's weight evaluated once (see _bilateral_sym.h).

    uint8 planes take the spatial weights ``hsw`` and the colour weights
    ``cw``; float32 planes take base-2 spatial log-weights ``hsw`` and
    ``cc2``, and with ``xq`` (``x`` with NaN replaced by 0) leave NaN
    neighbours out (nan_policy='omit').  ``tiles`` holds the column edges
    ``0 = t0 < t1 < ... = W`` of tiles at least ``SYM_MIN_WIDTH`` wide; work
    units are ``BIL_BAND`` rows by one tile.  Returns the number of threads
    that ran.
    """
    cdef Py_ssize_t Wp = x.shape[1], H = out.shape[0], W = out.shape[1], nh = hdy.shape[0]
    cdef Py_ssize_t ntiles = tiles.shape[0] - 1, nbands, nunits, u, b, tl, RW = 0, k
    cdef float *ring
    cdef const float *cwp = NULL
    cdef const sym_t *xqp = NULL
    cdef bint parallel
    cdef int failed[1]
    cdef int used = 1
    cdef int omit = xq is not None
    failed[0] = 0
    if H == 0 or W == 0:
        return 1
    if not 1 <= r <= BIL_MAX_RADIUS:
        raise ValueError("imfilt: the symmetric bilateral kernel takes radii 1..SYM_MAX_RADIUS")
    if x.shape[0] != H + 2 * r or Wp != W + 2 * r or hdx.shape[0] != nh or hsw.shape[0] != nh:
        raise ValueError("imfilt: bilateral_sym shapes do not match")
    # The kernel reads a row's own (dy == 0) taps backward late in a block,
    # after the forward pass stored them: it needs them first in tap order.
    nz = 0
    for k in range(nh):
        if hdy[k] < 0 or (k and hdy[k] < hdy[k - 1]) or (hdy[k] == 0 and hdx[k] <= 0):
            raise ValueError("imfilt: bilateral_sym taps must be the half window by rows")
        nz += hdy[k] == 0
    if 2 * nz - 1 >= nh:
        raise ValueError("imfilt: bilateral_sym needs more taps below the row than in it")
    if sym_t is cython.uchar:
        if cw is None or cw.shape[0] < 256:
            raise ValueError("imfilt: uint8 planes need the 256 colour weights")
        cwp = &cw[0]
    elif omit:
        if xq.shape[0] != x.shape[0] or xq.shape[1] != Wp:
            raise ValueError("imfilt: xq must have the shape of x")
        xqp = &xq[0, 0]
    for k in range(ntiles):
        if tiles[k + 1] - tiles[k] < BIL_LANES:
            raise ValueError("imfilt: bilateral tiles must be at least SYM_MIN_WIDTH wide")
        RW = max(RW, tiles[k + 1] - tiles[k] + 2 * r)
    nbands = (H + BIL_BAND - 1) // BIL_BAND
    nunits = nbands * ntiles
    parallel = use_threads(nthreads, H * W * (2 * nh + 1), min_work)
    if not parallel:
        nthreads = 1
    with nogil, cython.parallel.parallel(num_threads=nthreads, use_threads_if=parallel):
        ring = <float *>malloc((r + 1) * nh * RW * sizeof(float) + 64)
        if ring == NULL:
            failed[0] = 1
        else:
            for u in prange(nunits, schedule="dynamic", chunksize=1):
                imfilt_note_team(&used)
                b = u // ntiles
                tl = u % ntiles
                if sym_t is cython.uchar:
                    imfilt_bil_sym_u8_unit(&x[0, 0], Wp, r, b * BIL_BAND,
                                           min(H, (b + 1) * BIL_BAND), tiles[tl],
                                           tiles[tl + 1], &hdy[0], &hdx[0], &hsw[0], nh,
                                           cwp, ring, RW, &out[0, 0], W)
                else:
                    imfilt_bil_sym_f32_unit(&x[0, 0], xqp, omit, Wp, r, b * BIL_BAND,
                                            min(H, (b + 1) * BIL_BAND), tiles[tl],
                                            tiles[tl + 1], &hdy[0], &hdx[0], &hsw[0], nh,
                                            <float>cc2, ring, RW, &out[0, 0], W)
            free(ring)
    if failed[0]:
        raise MemoryError("imfilt: could not allocate the bilateral filter's weight ring")
    return used
