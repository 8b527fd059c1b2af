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
    if code == 0:
        saturate_exact(x, <signed char *>o, -128, 127, a, b)
    elif code == 1:
        saturate_exact(x, <unsigned char *>o, 0, 255, a, b)
    elif code == 2:
        saturate_exact(x, <short *>o, -32768, 32767, a, b)
    else:
        saturate_exact(x, <unsigned short *>o, 0, 65535, a, b)
