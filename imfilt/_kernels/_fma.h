/*
 * Fused multiply-add for builds whose target has no FMA instruction (the
 * portable x86-64-v2 "baseline" level of the dispatched build, MSVC, ...).
 *
 * Kernels that add products with an explicit FMA must round exactly the
 * same way on every build level, or results would depend on the CPU:
 * a * b + c rounded once, never a multiply and an add rounded separately.
 * The C library's fma()/fmaf() are correctly rounded on every platform (and
 * glibc's use the FMA instruction when the running CPU has one), so these
 * helpers apply them lane by lane to GCC/Clang vector types.  Slower than
 * the instruction, but only CPUs without FMA take this path.
 */
#ifndef IMFILT_FMA_H
#define IMFILT_FMA_H

#include <math.h>

#if defined(__GNUC__) || defined(__clang__)
#define imfilt_fmaf(a, b, c) __builtin_fmaf((a), (b), (c))
#define imfilt_fma(a, b, c) __builtin_fma((a), (b), (c))

typedef float imfilt_fma_v8f __attribute__((vector_size(32)));
typedef double imfilt_fma_v4d __attribute__((vector_size(32)));

/* acc + v * s per lane, one rounding. */
static inline imfilt_fma_v8f imfilt_fma_lanes_v8f(imfilt_fma_v8f acc, imfilt_fma_v8f v, float s)
{
    for (int i = 0; i < 8; i++)
        acc[i] = __builtin_fmaf(v[i], s, acc[i]);
    return acc;
}
static inline imfilt_fma_v4d imfilt_fma_lanes_v4d(imfilt_fma_v4d acc, imfilt_fma_v4d v, double s)
{
    for (int i = 0; i < 4; i++)
        acc[i] = __builtin_fma(v[i], s, acc[i]);
    return acc;
}
#else
#define imfilt_fmaf(a, b, c) fmaf((a), (b), (c))
#define imfilt_fma(a, b, c) fma((a), (b), (c))
#endif

#endif /* IMFILT_FMA_H */
