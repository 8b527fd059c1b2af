/*
 * Largest magnitude of n IEEE values, read on their bits.
 *
 * With the sign bit cleared, IEEE values order as unsigned integers by
 * magnitude: every finite value below inf, inf below every NaN.  One integer
 * maximum (which compilers vectorize; a float maximum with NaN semantics
 * they do not) therefore gives the largest |x| and, in the same pass,
 * whether an inf (== IMFILT_*_INF_BITS) or a NaN (> it) is among the values.
 * Used by the methods' finite check (_nan.pyx) and by the float32 line
 * kernels' overflow check (_sepline.h).
 */
#ifndef IMFILT_BITS_H
#define IMFILT_BITS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define IMFILT_F32_INF_BITS 0x7f800000u
#define IMFILT_F64_INF_BITS UINT64_C(0x7ff0000000000000)

/* One definition for both widths: U holds T's bits, MASK clears the sign. */
#define IMFILT_MAX_ABS_BITS(NAME, T, U, MASK)                \
    static inline U NAME(const T *x, ptrdiff_t n)            \
    {                                                        \
        U m = 0;                                             \
        for (ptrdiff_t i = 0; i < n; i++) {                  \
            U b;                                             \
            memcpy(&b, x + i, sizeof b);                     \
            b &= (MASK);                                     \
            m = b > m ? b : m;                               \
        }                                                    \
        return m;                                            \
    }
IMFILT_MAX_ABS_BITS(imfilt_max_abs_bits_f32, float, uint32_t, 0x7fffffffu)
IMFILT_MAX_ABS_BITS(imfilt_max_abs_bits_f64, double, uint64_t, UINT64_C(0x7fffffffffffffff))

#endif
