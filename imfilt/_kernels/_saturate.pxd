# The integer cast of a float result (the one definition; cimport, never copy):
# ``rint`` (nearest, ties to even), NaN -> 0, values at or beyond the integer
# type's limits -> the limit.  ``_cast.pyx`` runs it over whole arrays; the
# fused 2-D kernels of ``_separable.pyx`` run it on each output row while the
# row is still in cache (``dtype=np.uint8`` etc. without a float temporary).
#
# ``saturate_small`` covers the 8- and 16-bit types (codes 0..3 of
# ``_cast.CODES``), whose limits are exact in float32 and float64: the value
# is clamped to the limits, then rounded by adding and subtracting ``magic``
# (1.5 times 2**(mantissa bits)), which leaves the nearest integer, ties to
# even, for ``|v| <= magic / 3`` (the clamped range).  Clamping before
# rounding gives what rounding first would; plain arithmetic, so the loop
# vectorises.

from imfilt._kernels._common cimport real_t

ctypedef fused int_t:
    signed char
    unsigned char
    short
    unsigned short
    int
    unsigned int
    long long
    unsigned long long


#: Largest ``_cast.CODES`` code ``saturate_small`` takes (int8, uint8, int16, uint16).
cdef enum:
    SATURATE_SMALL_CODES = 3


cdef extern from *:
    """
    /* The value of v, hidden from the optimiser: with the limits of the
       clamp known as constants GCC turns it into byte blends under mask
       registers (spilled in the fused kernels, several times slower than
       the min/max it emits for unknown limits). */
    #if defined(__GNUC__) && defined(__x86_64__)
    static inline float imfilt_opaque_f(float v) { __asm__("" : "+x"(v)); return v; }
    static inline double imfilt_opaque_d(double v) { __asm__("" : "+x"(v)); return v; }
    #else
    static inline float imfilt_opaque_f(float v) { return v; }
    static inline double imfilt_opaque_d(double v) { return v; }
    #endif
    """
    float imfilt_opaque_f(float v) noexcept nogil
    double imfilt_opaque_d(double v) noexcept nogil


cdef extern from *:
    """
    /* float32 -> 8/16-bit integer by the rule above, 16 values per step with
       AVX-512: max(v, lo) (the second operand is returned for NaN, so NaN
       -> lo, i.e. 0 for the unsigned types), min(., hi), vcvtps2dq (round to
       nearest, ties to even: the default rounding mode, as for the magic
       constant) and a truncating narrow of a value already in range.  For
       the signed types NaN must give 0, not lo: a mask fixes those lanes.
       Returns the index where the scalar loop takes over. */
    #if defined(__AVX512F__) && defined(__x86_64__)
    #include <immintrin.h>
    static inline Py_ssize_t imfilt_sat_f32_vec(const float *x, char *o, int code,
                                                Py_ssize_t a, Py_ssize_t b)
    {
        static const float lims[4][2] = {{-128.f, 127.f}, {0.f, 255.f},
                                         {-32768.f, 32767.f}, {0.f, 65535.f}};
        const __m512 lo = _mm512_set1_ps(lims[code][0]), hi = _mm512_set1_ps(lims[code][1]);
        Py_ssize_t i = a;
        for (; i + 16 <= b; i += 16) {
            __m512 v = _mm512_loadu_ps(x + i);
            __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
            __m512i q = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, lo), hi));
            if (code == 0 || code == 2)
                q = _mm512_maskz_mov_epi32((__mmask16)~nan, q);
            if (code <= 1)
                _mm_storeu_si128((__m128i *)(o + i), _mm512_cvtepi32_epi8(q));
            else
                _mm256_storeu_si256((__m256i *)(o + 2 * i), _mm512_cvtepi32_epi16(q));
        }
        return i;
    }
    #else
    static inline Py_ssize_t imfilt_sat_f32_vec(const float *x, char *o, int code,
                                                Py_ssize_t a, Py_ssize_t b)
    { (void)x; (void)o; (void)code; (void)b; return a; }
    #endif
    """
    Py_ssize_t imfilt_sat_f32_vec(const float *x, char *o, int code, Py_ssize_t a,
                                  Py_ssize_t b) noexcept nogil


cdef inline void saturate_exact(const real_t *x, int_t *o, real_t lo, real_t hi,
                                Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """``o[i]`` for ``a <= i < b``: NaN -> 0, clamp to ``[lo, hi]`` (exact in
    ``real_t``), round, convert."""
    cdef Py_ssize_t i
    cdef real_t d
    cdef real_t magic = 12582912.0 if sizeof(real_t) == 4 else 6755399441055744.0
    if real_t is float:
        lo = imfilt_opaque_f(lo)
        hi = imfilt_opaque_f(hi)
    else:
        lo = imfilt_opaque_d(lo)
        hi = imfilt_opaque_d(hi)
    for i in range(a, b):
        d = x[i]
        d = d if d == d else 0
        d = lo if d < lo else d
        d = hi if d > hi else d
        d = (d + magic) - magic
        o[i] = <int_t>d


cdef inline void saturate_small(const real_t *x, char *o, int code, Py_ssize_t a,
                                Py_ssize_t b) noexcept nogil:
    """Elements ``a:b`` of ``x`` into the integer array ``o`` (raw bytes) of
    type ``code`` <= SATURATE_SMALL_CODES."""
    if real_t is float:
        a = imfilt_sat_f32_vec(x, o, code, a, b)
    if code == 0:
        saturate_exact(x, <signed char *>o, -128, 127, a, b)
    elif code == 1:
        saturate_exact(x, <unsigned char *>o, 0, 255, a, b)
    elif code == 2:
        saturate_exact(x, <short *>o, -32768, 32767, a, b)
    else:
        saturate_exact(x, <unsigned short *>o, 0, 65535, a, b)
