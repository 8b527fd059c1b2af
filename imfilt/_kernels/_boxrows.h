/*
 * Running-sum box means of eight lines at once, used by _separable.pyx.
 *
 * For each line r < 8 (padded, ``n + size - 1`` entries) and output i < n:
 *
 *     o_r[i] = (real)(run * inv),   run = sum of line_r[i .. i + size - 1]
 *
 * with ``run`` a float64 running sum that restarts at the start of every
 * band (the first band holds ``first`` outputs, every later one ``band``):
 *
 *     run = 0.0; run = run + line[t], t = i0 .. i0 + size - 1   (band start)
 *     run = run + ((double)line[i + size - 1] - (double)line[i - 1])
 *
 * This is the arithmetic of the one-line kernel (``_box_line`` in
 * _separable.pyx), operation for operation, so the values are the same bits.
 * A running sum is a serial chain along the line; here the eight lines are
 * the eight SIMD lanes instead: each band of the lines is transposed into a
 * tile ``tin[p][r]`` (float64, position-major), the running sums advance
 * along the positions with one vector operation for all eight lines, and the
 * outputs ``tout[i][r]`` are transposed back into the lines' rows.  Only
 * data moves in the transposes, so the lane layout does not change a value.
 *
 * Returns a bit mask of the lines whose running sum was non-finite at the
 * end of some band (the caller recomputes those windows one by one).
 */
#ifndef IMFILT_BOXROWS_H
#define IMFILT_BOXROWS_H

#include <math.h>
#include <stddef.h>
#include <string.h>

#define IMFILT_BOX_G 8

#if defined(__AVX__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define IMFILT_BOX_AVX 1
/* Transpose eight rows of eight floats in registers. */
static inline void imfilt_box_t8x8(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}
/* Transpose four rows of four doubles in registers. */
static inline void imfilt_box_t4x4(__m256d r[4])
{
    __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}
#else
#define IMFILT_BOX_AVX 0
#endif

/* Source rows are float32, float64 or uint8 (read directly: a uint8 value
 * is exact in every float type, so converting it here or first gives the
 * same number).  ``tin[(p - at) * 8 + r]`` = padded position ``p`` of row r
 * for ``at <= p < at + np``: inside the image (``before <= p < before + W``)
 * the row itself, elsewhere the boundary table ``idx`` (fill where < 0). */
#define IMFILT_BOX_EDGE(S)                                                      \
    static inline void imfilt_box_edge_##S(const S *const *rows, const ptrdiff_t *idx, \
                                           double fill, ptrdiff_t at, ptrdiff_t lo, \
                                           ptrdiff_t hi, double *tin)           \
    {                                                                           \
        for (ptrdiff_t p = lo; p < hi; p++) {                                   \
            ptrdiff_t s = idx[p];                                               \
            for (int u = 0; u < 8; u++)                                         \
                tin[(p - at) * 8 + u] = s < 0 ? fill : (double)rows[u][s];      \
        }                                                                       \
    }
IMFILT_BOX_EDGE(float)
IMFILT_BOX_EDGE(double)
typedef unsigned char imfilt_box_u8;
IMFILT_BOX_EDGE(imfilt_box_u8)

/* Interior positions ``j0 .. j1 - 1`` of the rows (image coordinates) into
 * tin from entry ``(j0 - d) * 8`` on. */
#if IMFILT_BOX_AVX && defined(__AVX2__)
#define IMFILT_BOX_AVX2 1
#else
#define IMFILT_BOX_AVX2 0
#endif

/* Interior positions of eight float rows (``rf``) or, when ``rb`` is not
 * NULL, eight uint8 rows. */
static inline void imfilt_box_mid8(const float *const *rf, const imfilt_box_u8 *const *rb,
                                   ptrdiff_t j0, ptrdiff_t j1, double *tin)
{
    ptrdiff_t j = j0;
#if IMFILT_BOX_AVX2
    for (; j + 8 <= j1; j += 8, tin += 64) {
        __m256 r[8];
        for (int u = 0; u < 8; u++)
            r[u] = rb != NULL ? _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(
                                    _mm_loadl_epi64((const __m128i *)(rb[u] + j))))
                              : _mm256_loadu_ps(rf[u] + j);
        imfilt_box_t8x8(r);
        for (int u = 0; u < 8; u++) {
            _mm256_storeu_pd(tin + u * 8, _mm256_cvtps_pd(_mm256_castps256_ps128(r[u])));
            _mm256_storeu_pd(tin + u * 8 + 4, _mm256_cvtps_pd(_mm256_extractf128_ps(r[u], 1)));
        }
    }
#endif
    for (; j < j1; j++, tin += 8)
        for (int u = 0; u < 8; u++)
            tin[u] = rb != NULL ? (double)rb[u][j] : (double)rf[u][j];
}

static inline void imfilt_box_mid_float(const float *const *rows, ptrdiff_t j0, ptrdiff_t j1,
                                        double *tin)
{
    imfilt_box_mid8(rows, NULL, j0, j1, tin);
}

static inline void imfilt_box_mid_imfilt_box_u8(const imfilt_box_u8 *const *rows, ptrdiff_t j0,
                                                ptrdiff_t j1, double *tin)
{
    imfilt_box_mid8(NULL, rows, j0, j1, tin);
}

static inline void imfilt_box_mid_double(const double *const *rows, ptrdiff_t j0, ptrdiff_t j1,
                                         double *tin)
{
    ptrdiff_t j = j0;
#if IMFILT_BOX_AVX
    for (; j + 4 <= j1; j += 4, tin += 32) {
        for (int h = 0; h < 2; h++) {
            __m256d r[4];
            for (int u = 0; u < 4; u++)
                r[u] = _mm256_loadu_pd(rows[4 * h + u] + j);
            imfilt_box_t4x4(r);
            for (int u = 0; u < 4; u++)
                _mm256_storeu_pd(tin + u * 8 + 4 * h, r[u]);
        }
    }
#endif
    for (; j < j1; j++, tin += 8)
        for (int u = 0; u < 8; u++)
            tin[u] = rows[u][j];
}

/* Padded positions ``at .. at + np - 1`` of eight rows of W into tin. */
#define IMFILT_BOX_IN(S)                                                        \
    static inline void imfilt_box_in_##S(const S *const *rows, ptrdiff_t W,     \
                                         const ptrdiff_t *idx, ptrdiff_t before, \
                                         double fill, ptrdiff_t at, ptrdiff_t np, \
                                         double *tin)                           \
    {                                                                           \
        ptrdiff_t e = at + np, a = at > before ? at : before;                   \
        ptrdiff_t b = e < before + W ? e : before + W;                          \
        if (a >= b) {                                                           \
            imfilt_box_edge_##S(rows, idx, fill, at, at, e, tin);               \
            return;                                                             \
        }                                                                       \
        imfilt_box_edge_##S(rows, idx, fill, at, at, a, tin);                   \
        imfilt_box_mid_##S(rows, a - before, b - before, tin + (a - at) * 8);   \
        imfilt_box_edge_##S(rows, idx, fill, at, b, e, tin);                    \
    }
IMFILT_BOX_IN(float)
IMFILT_BOX_IN(double)
IMFILT_BOX_IN(imfilt_box_u8)

/* Blocks of the transpose back: STEP outputs of all eight rows. */
#if IMFILT_BOX_AVX
#define IMFILT_BOX_OUTSTEP_float 8
#define IMFILT_BOX_OUTBLK_float                                                 \
    {                                                                           \
        __m256 r[8];                                                            \
        for (int u = 0; u < 8; u++)                                             \
            r[u] = _mm256_loadu_ps(tout + (i + u) * 8);                         \
        imfilt_box_t8x8(r);                                                     \
        for (int u = 0; u < 8; u++)                                             \
            _mm256_storeu_ps(outs[u] + at + i, r[u]);                           \
    }
#define IMFILT_BOX_OUTSTEP_double 4
#define IMFILT_BOX_OUTBLK_double                                                \
    for (int h = 0; h < 2; h++) {                                               \
        __m256d r[4];                                                           \
        for (int u = 0; u < 4; u++)                                             \
            r[u] = _mm256_loadu_pd(tout + (i + u) * 8 + 4 * h);                 \
        imfilt_box_t4x4(r);                                                     \
        for (int u = 0; u < 4; u++)                                             \
            _mm256_storeu_pd(outs[4 * h + u] + at + i, r[u]);                   \
    }
#else
#define IMFILT_BOX_OUTSTEP_float 8
#define IMFILT_BOX_OUTBLK_float {}
#define IMFILT_BOX_OUTSTEP_double 4
#define IMFILT_BOX_OUTBLK_double {}
#endif

/* outs[r][at + i] = tout[i * 8 + r], i < len, r < cnt. */
#define IMFILT_BOX_OUT(SUF, T)                                                  \
    static inline void imfilt_box_out_##SUF(const T *tout, ptrdiff_t len,       \
                                            T *const *outs, ptrdiff_t at, int cnt) \
    {                                                                           \
        ptrdiff_t i = 0;                                                        \
        if (IMFILT_BOX_AVX && cnt == 8)                                         \
            for (; i + IMFILT_BOX_OUTSTEP_##T <= len; i += IMFILT_BOX_OUTSTEP_##T) \
                IMFILT_BOX_OUTBLK_##T                                           \
        for (; i < len; i++)                                                    \
            for (int u = 0; u < cnt; u++)                                       \
                outs[u][at + i] = tout[i * 8 + u];                              \
    }
IMFILT_BOX_OUT(f32, float)
IMFILT_BOX_OUT(f64, double)

#if defined(__GNUC__) || defined(__clang__)
/* Vectors of VW doubles: 8 (one zmm) where AVX-512 is on, else 4. */
#if defined(__AVX512F__) && !defined(IMFILT_BOX_FORCE_VW4)
#define IMFILT_BOX_VW 8
#else
#define IMFILT_BOX_VW 4
#endif
typedef double imfilt_box_vd __attribute__((vector_size(IMFILT_BOX_VW * 8)));
typedef float imfilt_box_vf __attribute__((vector_size(IMFILT_BOX_VW * 4)));
#define IMFILT_BOX_NVL (8 / IMFILT_BOX_VW)      /* vectors per tile position */
#define IMFILT_BOX_LD(p) ({ imfilt_box_vd v_; memcpy(&v_, (p), sizeof v_); v_; })
/* Load VW values of T as doubles (exact). */
#define IMFILT_BOX_LDT_float(p) ({ imfilt_box_vf f_; memcpy(&f_, (p), sizeof f_); \
                                   __builtin_convertvector(f_, imfilt_box_vd); })
#define IMFILT_BOX_LDT_double(p) IMFILT_BOX_LD(p)
/* Store the lanes of ``v`` as T (a conversion rounds as a scalar one). */
#define IMFILT_BOX_ST_float(p, v) do { \
        imfilt_box_vf f_ = __builtin_convertvector((v), imfilt_box_vf); \
        memcpy((p), &f_, sizeof f_); } while (0)
#define IMFILT_BOX_ST_double(p, v) do { \
        imfilt_box_vd d_ = (v); memcpy((p), &d_, sizeof d_); } while (0)
/* The running sums of NB consecutive bands of ``len`` outputs, eight lanes:
 * band b reads tin from position b * len on and writes tout from output
 * b * len on.  The bands' sums are independent chains in flight together
 * (each one's arithmetic unchanged).  Returns the lanes whose sum ended a
 * band non-finite. */
#define IMFILT_BOX_BAND_DEFINE(NAME, T, NB)                                     \
static inline int NAME(const double *tin, T *tout, ptrdiff_t len,              \
                       ptrdiff_t size, double inv)                              \
{                                                                               \
    imfilt_box_vd a[NB][IMFILT_BOX_NVL], s = (imfilt_box_vd){} + inv;           \
    for (int b = 0; b < NB; b++)                                                \
        for (int v = 0; v < IMFILT_BOX_NVL; v++)                                \
            a[b][v] = (imfilt_box_vd){};                                        \
    for (ptrdiff_t t = 0; t < size; t++)                                        \
        for (int b = 0; b < NB; b++)                                            \
            for (int v = 0; v < IMFILT_BOX_NVL; v++)                            \
                a[b][v] = a[b][v] + IMFILT_BOX_LD(tin + (b * len + t) * 8 + v * IMFILT_BOX_VW); \
    for (int b = 0; b < NB; b++)                                                \
        for (int v = 0; v < IMFILT_BOX_NVL; v++)                                \
            IMFILT_BOX_ST_##T(tout + b * len * 8 + v * IMFILT_BOX_VW, a[b][v] * s); \
    for (ptrdiff_t i = 1; i < len; i++) {                                       \
        for (int b = 0; b < NB; b++) {                                          \
            const double *add = tin + (b * len + i + size - 1) * 8;             \
            const double *sub = tin + (b * len + i - 1) * 8;                    \
            for (int v = 0; v < IMFILT_BOX_NVL; v++) {                          \
                a[b][v] = a[b][v] + (IMFILT_BOX_LD(add + v * IMFILT_BOX_VW)     \
                                     - IMFILT_BOX_LD(sub + v * IMFILT_BOX_VW)); \
                IMFILT_BOX_ST_##T(tout + (b * len + i) * 8 + v * IMFILT_BOX_VW, a[b][v] * s); \
            }                                                                   \
        }                                                                       \
    }                                                                           \
    int bad = 0;                                                                \
    for (int b = 0; b < NB; b++)                                                \
        for (int v = 0; v < IMFILT_BOX_NVL; v++)                                \
            for (int u = 0; u < IMFILT_BOX_VW; u++)                             \
                if (!isfinite(a[b][v][u])) bad |= 1 << (v * IMFILT_BOX_VW + u);  \
    return bad;                                                                 \
}
#else
#define IMFILT_BOX_BAND_DEFINE(NAME, T, NB)                                     \
static inline int NAME(const double *tin, T *tout, ptrdiff_t len,              \
                       ptrdiff_t size, double inv)                              \
{                                                                               \
    int bad = 0;                                                                \
    for (int b = 0; b < NB; b++, tin += len * 8, tout += len * 8)               \
        for (int u = 0; u < 8; u++) {                                           \
            double run = 0.0;                                                   \
            for (ptrdiff_t t = 0; t < size; t++)                                \
                run = run + tin[t * 8 + u];                                     \
            tout[u] = (T)(run * inv);                                           \
            for (ptrdiff_t i = 1; i < len; i++) {                               \
                run = run + (tin[(i + size - 1) * 8 + u] - tin[(i - 1) * 8 + u]); \
                tout[i * 8 + u] = (T)(run * inv);                               \
            }                                                                   \
            if (!isfinite(run)) bad |= 1 << u;                                  \
        }                                                                       \
    return bad;                                                                 \
}
#endif
IMFILT_BOX_BAND_DEFINE(imfilt_box_band_f32, float, 1)
IMFILT_BOX_BAND_DEFINE(imfilt_box_band_f64, double, 1)
IMFILT_BOX_BAND_DEFINE(imfilt_box_band2_f32, float, 2)
IMFILT_BOX_BAND_DEFINE(imfilt_box_band2_f64, double, 2)

/* Outputs ``c0 .. c1 - 1`` of eight image rows of W (``cnt`` real ones:
 * lanes >= cnt repeat row 0 and are not stored), source type S (the compute
 * type T, or uint8), padded by ``idx``/``before``/``fill``; output ``i`` of
 * row u goes to ``outs[u][i - c0]``.  Bands start at c0 (``first`` outputs)
 * and then every ``band``.  ``tin``: (2 * band + size - 1) * 8 doubles,
 * ``tout``: 2 * band * 8 (two bands run together). */
#define IMFILT_BOXROWS_DEFINE(NAME, T, S, SUF)                                  \
static inline int NAME(const S *const *rows, int cnt, ptrdiff_t W,             \
                       const ptrdiff_t *idx, ptrdiff_t before, T fill,          \
                       T **outs, ptrdiff_t c0, ptrdiff_t c1, ptrdiff_t size,    \
                       double inv, ptrdiff_t first, ptrdiff_t band, double *tin, \
                       T *tout)                                                 \
{                                                                               \
    const S *src[8];                                                            \
    int bad = 0;                                                                \
    for (int u = 0; u < 8; u++)                                                 \
        src[u] = rows[u < cnt ? u : 0];                                         \
    ptrdiff_t i0 = c0, len = first < c1 - c0 ? first : c1 - c0;                 \
    while (i0 < c1) {                                                           \
        int nb = len == band && i0 + 2 * band <= c1 ? 2 : 1;                    \
        imfilt_box_in_##S(src, W, idx, before, (double)fill, i0, nb * len + size - 1, tin); \
        if (nb == 2)                                                            \
            bad |= imfilt_box_band2_##SUF(tin, tout, len, size, inv);           \
        else                                                                    \
            bad |= imfilt_box_band_##SUF(tin, tout, len, size, inv);            \
        imfilt_box_out_##SUF(tout, nb * len, outs, i0 - c0, cnt);               \
        i0 += nb * len;                                                         \
        len = c1 - i0 < band ? c1 - i0 : band;                                  \
    }                                                                           \
    return bad & ((1 << cnt) - 1);                                              \
}
IMFILT_BOXROWS_DEFINE(imfilt_boxrows_f32, float, float, f32)
IMFILT_BOXROWS_DEFINE(imfilt_boxrows_f64, double, double, f64)
IMFILT_BOXROWS_DEFINE(imfilt_boxrows_u8_f32, float, imfilt_box_u8, f32)
IMFILT_BOXROWS_DEFINE(imfilt_boxrows_u8_f64, double, imfilt_box_u8, f64)

/* Column running sums over a ring, ``m`` steps: for s < m,
 * ``a += (double)add[s] - (double)sub[s]`` then ``out[s] = (T)(a * inv)``
 * (the arithmetic of ``_box_step``, each step in turn); columns in blocks
 * whose sums stay in registers across the steps. */
#define IMFILT_BOXCOLS_DEFINE(NAME, T)                                          \
static inline void NAME(double *a, const T *const *add, const T *const *sub,   \
                        T *const *out, int m, ptrdiff_t W, double inv)          \
{                                                                               \
    ptrdiff_t c = 0;                                                            \
    IMFILT_BOXCOLS_VEC(T)                                                       \
    for (; c < W; c++) {                                                        \
        double v = a[c];                                                        \
        for (int s_ = 0; s_ < m; s_++) {                                        \
            v = v + ((double)add[s_][c] - (double)sub[s_][c]);                  \
            out[s_][c] = (T)(v * inv);                                          \
        }                                                                       \
        a[c] = v;                                                               \
    }                                                                           \
}
#if defined(__AVX512F__) && !defined(IMFILT_BOX_FORCE_VW4)
/* 32 columns, four zmm sums held in registers across the steps. */
#define IMFILT_BOX_Z_float(p) _mm512_cvtps_pd(_mm256_loadu_ps(p))
#define IMFILT_BOX_Z_double(p) _mm512_loadu_pd(p)
#define IMFILT_BOX_ZST_float(p, v) _mm256_storeu_ps((p), _mm512_cvtpd_ps(v))
#define IMFILT_BOX_ZST_double(p, v) _mm512_storeu_pd((p), (v))
#define IMFILT_BOXCOLS_VEC(T)                                                   \
    for (; c + 32 <= W; c += 32) {                                              \
        __m512d v0 = _mm512_loadu_pd(a + c), v1 = _mm512_loadu_pd(a + c + 8);   \
        __m512d v2 = _mm512_loadu_pd(a + c + 16), v3 = _mm512_loadu_pd(a + c + 24); \
        const __m512d s = _mm512_set1_pd(inv);                                  \
        for (int s_ = 0; s_ < m; s_++) {                                        \
            const T *ad = add[s_] + c, *sb = sub[s_] + c;                       \
            T *o = out[s_] + c;                                                 \
            v0 = _mm512_add_pd(v0, _mm512_sub_pd(IMFILT_BOX_Z_##T(ad), IMFILT_BOX_Z_##T(sb))); \
            v1 = _mm512_add_pd(v1, _mm512_sub_pd(IMFILT_BOX_Z_##T(ad + 8), IMFILT_BOX_Z_##T(sb + 8))); \
            v2 = _mm512_add_pd(v2, _mm512_sub_pd(IMFILT_BOX_Z_##T(ad + 16), IMFILT_BOX_Z_##T(sb + 16))); \
            v3 = _mm512_add_pd(v3, _mm512_sub_pd(IMFILT_BOX_Z_##T(ad + 24), IMFILT_BOX_Z_##T(sb + 24))); \
            IMFILT_BOX_ZST_##T(o, _mm512_mul_pd(v0, s));                        \
            IMFILT_BOX_ZST_##T(o + 8, _mm512_mul_pd(v1, s));                    \
            IMFILT_BOX_ZST_##T(o + 16, _mm512_mul_pd(v2, s));                   \
            IMFILT_BOX_ZST_##T(o + 24, _mm512_mul_pd(v3, s));                   \
        }                                                                       \
        _mm512_storeu_pd(a + c, v0);                                            \
        _mm512_storeu_pd(a + c + 8, v1);                                        \
        _mm512_storeu_pd(a + c + 16, v2);                                       \
        _mm512_storeu_pd(a + c + 24, v3);                                       \
    }
#elif defined(__GNUC__) || defined(__clang__)
#define IMFILT_BOXCOLS_NV (32 / IMFILT_BOX_VW)
#define IMFILT_BOXCOLS_VEC(T)                                                   \
    for (; c + 32 <= W; c += 32) {                                              \
        imfilt_box_vd v[IMFILT_BOXCOLS_NV], s = (imfilt_box_vd){} + inv;        \
        for (int q_ = 0; q_ < IMFILT_BOXCOLS_NV; q_++)                          \
            v[q_] = IMFILT_BOX_LD(a + c + IMFILT_BOX_VW * q_);                  \
        for (int s_ = 0; s_ < m; s_++) {                                        \
            const T *ad = add[s_] + c, *sb = sub[s_] + c;                       \
            T *o = out[s_] + c;                                                 \
            for (int q_ = 0; q_ < IMFILT_BOXCOLS_NV; q_++) {                    \
                v[q_] = v[q_] + (IMFILT_BOX_LDT_##T(ad + IMFILT_BOX_VW * q_)    \
                                 - IMFILT_BOX_LDT_##T(sb + IMFILT_BOX_VW * q_)); \
                IMFILT_BOX_ST_##T(o + IMFILT_BOX_VW * q_, v[q_] * s);           \
            }                                                                   \
        }                                                                       \
        for (int q_ = 0; q_ < IMFILT_BOXCOLS_NV; q_++)                          \
            memcpy(a + c + IMFILT_BOX_VW * q_, &v[q_], sizeof v[q_]);           \
    }
#else
#define IMFILT_BOXCOLS_VEC(T)
#endif
IMFILT_BOXCOLS_DEFINE(imfilt_boxcols_f32, float)
IMFILT_BOXCOLS_DEFINE(imfilt_boxcols_f64, double)

/*
 * Rounded means of uint8 boxes in 16-bit lanes (box_u8_round, _separable.pyx):
 *
 *     o[x] = ((S + h) * mul) >> (16 + shift),   S = c[x] + ... + c[x + k1 - 1]
 *
 * ``c`` holds 16-bit column sums; the caller guarantees that S + h fits 16
 * bits and that mul/shift divide exactly for every such value, so each
 * step is exact integer arithmetic and the lanes give the scalar form's bytes.
 * The high half of a 16 x 16-bit product is one instruction on every x86-64
 * level (SSE2 pmulhuw), which compilers do not find from the scalar form.
 */
#include <stdint.h>
#if defined(__AVX512BW__) && defined(__x86_64__)
#define IMFILT_U8R_VL 32
typedef __m512i imfilt_u8r_v;
#define IMFILT_U8R_LOAD(p) _mm512_loadu_si512((const void *)(p))
#define IMFILT_U8R_ADD _mm512_add_epi16
#define IMFILT_U8R_SET1 _mm512_set1_epi16
#define IMFILT_U8R_MULHI _mm512_mulhi_epu16
#define IMFILT_U8R_SRL _mm512_srl_epi16
#define IMFILT_U8R_STORE8(p, v) _mm256_storeu_si256((__m256i *)(p), _mm512_cvtepi16_epi8(v))
#elif defined(__AVX2__) && defined(__x86_64__)
#include <immintrin.h>
#define IMFILT_U8R_VL 16
typedef __m256i imfilt_u8r_v;
#define IMFILT_U8R_LOAD(p) _mm256_loadu_si256((const __m256i *)(p))
#define IMFILT_U8R_ADD _mm256_add_epi16
#define IMFILT_U8R_SET1 _mm256_set1_epi16
#define IMFILT_U8R_MULHI _mm256_mulhi_epu16
#define IMFILT_U8R_SRL _mm256_srl_epi16
#define IMFILT_U8R_STORE8(p, v) _mm_storeu_si128((__m128i *)(p), _mm_packus_epi16(   \
    _mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)))
#elif defined(__SSE2__)
#include <emmintrin.h>
#define IMFILT_U8R_VL 8
typedef __m128i imfilt_u8r_v;
#define IMFILT_U8R_LOAD(p) _mm_loadu_si128((const __m128i *)(p))
#define IMFILT_U8R_ADD _mm_add_epi16
#define IMFILT_U8R_SET1 _mm_set1_epi16
#define IMFILT_U8R_MULHI _mm_mulhi_epu16
#define IMFILT_U8R_SRL _mm_srl_epi16
#define IMFILT_U8R_STORE8(p, v) _mm_storel_epi64((__m128i *)(p), _mm_packus_epi16(v, v))
#else
#define IMFILT_U8R_VL 0
#endif

static inline void imfilt_u8r_round16(const uint16_t *c, uint8_t *o, ptrdiff_t W, ptrdiff_t k1,
                                      uint16_t h, uint16_t mul, int shift)
{
    ptrdiff_t x = 0, t;
#if IMFILT_U8R_VL
    const imfilt_u8r_v vh = IMFILT_U8R_SET1((short)h), vm = IMFILT_U8R_SET1((short)mul);
    const __m128i sh = _mm_cvtsi32_si128(shift);
    for (; x + IMFILT_U8R_VL <= W; x += IMFILT_U8R_VL) {
        imfilt_u8r_v s = IMFILT_U8R_ADD(IMFILT_U8R_LOAD(c + x), vh);
        for (t = 1; t < k1; t++)
            s = IMFILT_U8R_ADD(s, IMFILT_U8R_LOAD(c + x + t));
        IMFILT_U8R_STORE8(o + x, IMFILT_U8R_SRL(IMFILT_U8R_MULHI(s, vm), sh));
    }
#endif
    for (; x < W; x++) {
        uint16_t s = (uint16_t)(c[x] + h);
        for (t = 1; t < k1; t++)
            s = (uint16_t)(s + c[x + t]);
        o[x] = (uint8_t)((((uint32_t)s * mul) >> 16) >> shift);
    }
}

#endif
