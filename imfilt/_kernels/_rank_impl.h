/* Per-type rank-selection row kernels; included once per element type by
 * _rank.h with RK_T (element type), RK_SUF (name suffix) and RK_FLOAT (1 for
 * floating types) defined.  Every function computes one output row from a
 * padded image (no boundary tests: the Python layer padded the image with
 * the boundary rule) and touches only that row of the output, so the
 * result does not depend on how rows are shared among threads.
 *
 * Row arguments: P points at the padded element that output pixel 0 of the
 * row sees at footprint offset 0; offs[k] are the flat offsets (in
 * elements) of the K footprint points; out receives W values.
 *
 * mode 0: plain rank r (the image holds no NaN);
 * mode 1: 'propagate': a NaN anywhere in the window gives NaN, else rank r;
 * mode 2: 'omit': NaN left out; with m the number of non-NaN values the
 *         rank is rtab[m] (-1: no such rank, the result is NaN).
 */

#define RK_CAT2(a, b) a##b
#define RK_CAT(a, b) RK_CAT2(a, b)
#define RK_NAME(base) RK_CAT(base, RK_SUF)

/* Sorting network applied lane-wise to B pixels at once.  Wire k holds the
 * B values of footprint point k (wires + k * B); comparator c orders wires
 * net[3c] <= net[3c+1]; net[3c+2] says which outputs are needed later
 * (1: the minimum only, 2: the maximum only, 3: both).  The loops over the
 * lanes are plain min/max over contiguous arrays, which the compiler turns
 * into SIMD instructions. */
static void RK_NAME(rk_net_row_)(const RK_T *P, const Py_ssize_t *offs, Py_ssize_t K,
                                 Py_ssize_t W, const int *net, Py_ssize_t ncomp,
                                 Py_ssize_t r, int mode, const Py_ssize_t *rtab,
                                 RK_T *out, RK_T *wires, int *cnt, Py_ssize_t B)
{
    Py_ssize_t x0, x, k, c, nb;
    for (x0 = 0; x0 < W; x0 += B) {
        nb = W - x0 < B ? W - x0 : B;
#if RK_FLOAT
        if (mode) {
            for (x = 0; x < nb; x++) cnt[x] = 0;
            for (k = 0; k < K; k++) {
                const RK_T *restrict s = P + x0 + offs[k];
                RK_T *restrict w = wires + k * B;
                for (x = 0; x < nb; x++) {
                    RK_T v = s[x];
                    int isnan_ = v != v;
                    cnt[x] += isnan_;
                    w[x] = isnan_ ? (RK_T)INFINITY : v;
                }
            }
        } else
#endif
        {
            for (k = 0; k < K; k++)
                memcpy(wires + k * B, P + x0 + offs[k], (size_t)nb * sizeof(RK_T));
        }
        for (c = 0; c < ncomp; c++) {
            RK_T *restrict a = wires + (Py_ssize_t)net[3 * c] * B;
            RK_T *restrict b = wires + (Py_ssize_t)net[3 * c + 1] * B;
            int kind = net[3 * c + 2];
            if (kind == 3) {
                for (x = 0; x < nb; x++) {
                    RK_T u = a[x], v = b[x];
                    a[x] = v < u ? v : u;
                    b[x] = u < v ? v : u;
                }
            } else if (kind == 1) {
                for (x = 0; x < nb; x++) {
                    RK_T u = a[x], v = b[x];
                    a[x] = v < u ? v : u;
                }
            } else {
                for (x = 0; x < nb; x++) {
                    RK_T u = a[x], v = b[x];
                    b[x] = u < v ? v : u;
                }
            }
        }
#if RK_FLOAT
        if (mode == 1) {
            const RK_T *restrict w = wires + r * B;
            for (x = 0; x < nb; x++) out[x0 + x] = cnt[x] ? (RK_T)NAN : w[x];
            continue;
        }
        if (mode == 2) {
            for (x = 0; x < nb; x++) {
                Py_ssize_t rr = rtab[K - cnt[x]];
                out[x0 + x] = rr < 0 ? (RK_T)NAN : wires[rr * B + x];
            }
            continue;
        }
#endif
        memcpy(out + x0, wires + r * B, (size_t)nb * sizeof(RK_T));
    }
}

/* k-th smallest of a[0..n-1] (0 <= k < n), reordering a.  Partition
 * selection (Hoare's scheme with a median-of-three pivot) down to short
 * ranges, which are finished by insertion sort. */
static RK_T RK_NAME(rk_select_)(RK_T *a, Py_ssize_t n, Py_ssize_t k)
{
    Py_ssize_t lo = 0, hi = n - 1, i, j, mid;
    RK_T pivot, t;
    while (hi - lo >= 16) {
        mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo]) { t = a[mid]; a[mid] = a[lo]; a[lo] = t; }
        if (a[hi] < a[lo]) { t = a[hi]; a[hi] = a[lo]; a[lo] = t; }
        if (a[hi] < a[mid]) { t = a[hi]; a[hi] = a[mid]; a[mid] = t; }
        pivot = a[mid];
        i = lo;
        j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (pivot < a[j]) j--;
            if (i <= j) {
                t = a[i]; a[i] = a[j]; a[j] = t;
                i++;
                j--;
            }
        }
        /* now a[lo..j] <= pivot <= a[i..hi], and a[j+1..i-1] == pivot */
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return a[k];
    }
    for (i = lo + 1; i <= hi; i++) {
        t = a[i];
        j = i - 1;
        while (j >= lo && t < a[j]) { a[j + 1] = a[j]; j--; }
        a[j + 1] = t;
    }
    return a[k];
}

#if RK_FLOAT
/* The NaN-omitting median of the m non-NaN values buf[0..m-1] (rank m / 2,
 * NaN when m = 0), reordering buf. */
static RK_T RK_NAME(rk_omit_median_)(RK_T *buf, Py_ssize_t m)
{
    return m ? RK_NAME(rk_select_)(buf, m, m >> 1) : (RK_T)NAN;
}
#endif

/* Any footprint, any rank: gather the window and select. */
static void RK_NAME(rk_sel_row_)(const RK_T *P, const Py_ssize_t *offs, Py_ssize_t K,
                                 Py_ssize_t W, Py_ssize_t r, int mode,
                                 const Py_ssize_t *rtab, RK_T *out, RK_T *buf)
{
    Py_ssize_t x, k;
    for (x = 0; x < W; x++) {
        const RK_T *q = P + x;
#if RK_FLOAT
        if (mode) {
            Py_ssize_t m = 0;
            for (k = 0; k < K; k++) {
                RK_T v = q[offs[k]];
                if (v == v) buf[m++] = v;
            }
            if (mode == 1) {
                out[x] = m < K ? (RK_T)NAN : RK_NAME(rk_select_)(buf, K, r);
            } else {
                Py_ssize_t rr = rtab[m];
                out[x] = rr < 0 ? (RK_T)NAN : RK_NAME(rk_select_)(buf, m, rr);
            }
            continue;
        }
#endif
        for (k = 0; k < K; k++) buf[k] = q[offs[k]];
        out[x] = RK_NAME(rk_select_)(buf, K, r);
    }
}


/* Fixed networks (3x3, 5x5, 3x3x3 medians and any footprint of 9, 25 or 27
 * points with that rank): the comparators are compiled in, every wire is a
 * SIMD register and the loop over the row is vectorised by the compiler. */
#define RK_CS(a, b) { RK_T u_ = a, w_ = b; a = w_ < u_ ? w_ : u_; b = u_ < w_ ? w_ : u_; }
#define RK_LO(a, b) { a = b < a ? b : a; }
#define RK_HI(a, b) { b = a < b ? b : a; }

#define RK_FIXED(K, R)                                                                \
static void RK_NAME(rk_fixed##K##_)(const RK_T *P, const Py_ssize_t *o, Py_ssize_t W,  \
                                    RK_T *restrict out)                                \
{                                                                                      \
    Py_ssize_t x;                                                                      \
    const RK_T RK_PTRS_##K;                                                            \
    for (x = 0; x < W; x++) {                                                          \
        RK_T RK_LOADS_##K;                                                             \
        RK_NETWORK_##K##_##R                                                           \
        out[x] = v##R;                                                                 \
    }                                                                                  \
}
RK_FIXED(9, 4)
RK_FIXED(25, 12)
RK_FIXED(27, 13)
#undef RK_FIXED

#if RK_FLOAT
/* The fixed networks with NaN handling (image holds NaN): NaN wires count
 * in c and sort last as +inf.  omit = 0 ('propagate'): NaN when c > 0, else
 * rank R.  omit = 1 (median, 'omit'): the result is rank m / 2 of the
 * m = K - c non-NaN values, which is rank R (c < 2) or R - 1 (c = 2, 3) of
 * all K wires; the network sorts just those two ranks.  Windows with 4 or
 * more NaN (rare at any sparse NaN density) are redone afterwards by a
 * gather-and-select (NaN when m = 0); c is kept per pixel for that, in
 * chunks of RK_NAN_CHUNK pixels. */
#ifndef RK_NAN_CHUNK
#define RK_NAN_CHUNK 256
#endif
#define RK_FIXED_NAN(K, R, RM1)                                                        \
static void RK_NAME(rk_fixednan##K##_)(const RK_T *P, const Py_ssize_t *o, Py_ssize_t W, \
                                       RK_T *restrict out, int omit)                  \
{                                                                                      \
    Py_ssize_t x, x0, n;                                                               \
    const RK_T RK_PTRS_##K;                                                            \
    if (omit) {                                                                        \
        int cnt[RK_NAN_CHUNK];                                                         \
        for (x0 = 0; x0 < W; x0 += RK_NAN_CHUNK) {                                     \
            int many = 0;                                                              \
            n = W - x0 < RK_NAN_CHUNK ? W - x0 : RK_NAN_CHUNK;                         \
            for (x = x0; x < x0 + n; x++) {                                            \
                RK_T RK_LOADS_##K;                                                     \
                int c = 0;                                                             \
                RK_NANFIX_##K                                                          \
                RK_NETWORK_##K##_MID                                                   \
                out[x] = c < 2 ? v##R : v##RM1;                                        \
                cnt[x - x0] = c;                                                       \
            }                                                                          \
            for (x = 0; x < n; x++) many |= cnt[x] >= 4;                               \
            if (!many) continue;                                                       \
            for (x = x0; x < x0 + n; x++) {                                            \
                RK_T buf_[K];                                                          \
                int k_, m_ = 0;                                                        \
                if (cnt[x - x0] < 4) continue;                                         \
                for (k_ = 0; k_ < K; k_++) {                                           \
                    RK_T v_ = P[x + o[k_]];                                            \
                    if (v_ == v_) buf_[m_++] = v_;                                     \
                }                                                                      \
                out[x] = RK_NAME(rk_omit_median_)(buf_, m_);                           \
            }                                                                          \
        }                                                                              \
    } else {                                                                           \
        for (x = 0; x < W; x++) {                                                      \
            RK_T RK_LOADS_##K;                                                         \
            int c = 0;                                                                 \
            RK_NANFIX_##K                                                              \
            RK_NETWORK_##K##_##R                                                       \
            out[x] = c ? (RK_T)NAN : v##R;                                             \
        }                                                                              \
    }                                                                                  \
}
RK_FIXED_NAN(9, 4, 3)
RK_FIXED_NAN(25, 12, 11)
RK_FIXED_NAN(27, 13, 12)
#undef RK_FIXED_NAN
#endif

/* 3x3 median of a full 3x3 window whose rows are rs elements apart: sort
 * each column once (shared by the three windows that contain it), then
 * median = med3(max of the column minima, med3 of the column medians,
 * min of the column maxima). */
static void RK_NAME(rk_med3x3_)(const RK_T *P, Py_ssize_t rs, Py_ssize_t W,
                                RK_T *restrict out, RK_T *restrict tmp, Py_ssize_t B)
{
    Py_ssize_t x0, x, nb;
    RK_T *restrict lo = tmp, *restrict md = tmp + (B + 2), *restrict hi = tmp + 2 * (B + 2);
    for (x0 = 0; x0 < W; x0 += B) {
        const RK_T *restrict r0 = P + x0, *restrict r1 = P + x0 + rs, *restrict r2 = P + x0 + 2 * rs;
        nb = W - x0 < B ? W - x0 : B;
        for (x = 0; x < nb + 2; x++) {
            RK_T a = r0[x], b = r1[x], c = r2[x];
            RK_CS(a, b);
            RK_CS(b, c);
            RK_CS(a, b);
            lo[x] = a;
            md[x] = b;
            hi[x] = c;
        }
        for (x = 0; x < nb; x++) {
            RK_T a = lo[x], b = lo[x + 1], c = lo[x + 2];
            RK_T mx = a < b ? b : a;
            RK_T mn, m0, m1, m2, t;
            mx = mx < c ? c : mx;
            a = hi[x]; b = hi[x + 1]; c = hi[x + 2];
            mn = b < a ? b : a;
            mn = c < mn ? c : mn;
            m0 = md[x]; m1 = md[x + 1]; m2 = md[x + 2];
            RK_CS(m0, m1);
            RK_LO(m1, m2);
            RK_HI(m0, m1);
            /* m1 = med3 of the medians; now med3(mx, m1, mn) */
            t = m1;
            RK_CS(mx, t);
            RK_LO(t, mn);
            RK_HI(mx, t);
            out[x0 + x] = t;
        }
    }
}
/* The full 3x3 median read in place (no padded copy), output rows y and
 * y + 1 at once: r0..r3 are the source rows y - 1 .. y + 2 (a boundary
 * row or a row of the fill value where the boundary rule says so), o1 is
 * NULL for a single row (then r3 is not read).
 *
 * The pair (r1, r2) of each column is ordered once for both rows, and each
 * row merges its own third value into the column's minimum, middle and
 * maximum; the median is then med3(max of the three column minima, med3 of
 * the middles, min of the maxima).  Everything stays in registers: a chunk
 * of RK_M33_CHUNK columns (one 64-byte vector) loads each row at offsets
 * 0, 1 and 2 and sorts those columns afresh rather than storing the column
 * sorts and reading them back three times (that spent the load ports and
 * was twice as slow once the image had left the cache).  Interior pixels
 * 1 .. W - 2 run in whole chunks; the last chunk overlaps its predecessor
 * instead of running a scalar tail (a value written twice is the same
 * value).  Each chunk also prefetches the same columns of rows pf0 and pf1
 * (the rows the next pair of output rows adds) and, for writing, of pw0
 * and pw1 (the next pair's output rows), so that their memory is on its
 * way while this pair computes: once the image has left the cache this
 * halves the time.  Pixels 0 and W - 1 read columns cl /
 * cr (-1: fill).  Needs W >= RK_M33_CHUNK + 2. */
#ifndef RK_M33_BLOCK
#define RK_M33_BLOCK 64
#endif
/* Bytes of a row per chunk: one AVX-512 register. */
#ifndef RK_M33_CHUNK_BYTES
#define RK_M33_CHUNK_BYTES 64
#endif
#undef RK_M33_CHUNK
#define RK_M33_CHUNK ((Py_ssize_t)(RK_M33_CHUNK_BYTES / sizeof(RK_T)))
/* 64-byte vectors for these loops: the chunks are whole registers, and the
 * -march=native tuning of some CPUs would otherwise cap them at 32 bytes. */
#define RK_M33_WIDE __attribute__((target("prefer-vector-width=512")))
/* The outputs never overlap the rows a chunk reads: without this GCC checks
 * that at run time on every chunk (forty scalar instructions per 64 bytes,
 * and a vector copy of the loop that spills registers). */
#if defined(__clang__)
#define RK_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define RK_IVDEP _Pragma("GCC ivdep")
#else
#define RK_IVDEP
#endif
#define RK_MIN_(a, b) ((b) < (a) ? (b) : (a))
#define RK_MAX_(a, b) ((a) < (b) ? (b) : (a))
/* med3(max of lo[0..2], med3 of md[0..2], min of hi[0..2]) */
#define RK_M33_MED(lo, md, hi, dst)                                                    \
    {                                                                                  \
        RK_T mx_ = RK_MAX_(RK_MAX_(lo[0], lo[1]), lo[2]);                              \
        RK_T mn_ = RK_MIN_(RK_MIN_(hi[0], hi[1]), hi[2]);                              \
        RK_T m_ = RK_MAX_(RK_MIN_(md[0], md[1]), RK_MIN_(RK_MAX_(md[0], md[1]), md[2])); \
        dst = RK_MAX_(RK_MIN_(mx_, m_), RK_MIN_(RK_MAX_(mx_, m_), mn_));               \
    }

/* One chunk: medians q0[x] (rows p0..p2) and, when two, q1[x] (rows
 * p1..p3) for x < RK_M33_CHUNK, from columns x .. x + 2 of the rows.  No
 * restrict here: with it GCC folds each load into the two min/max that use
 * it, one load more per use, and the load ports are this loop's limit. */
static inline __attribute__((always_inline)) RK_M33_WIDE void RK_NAME(rk_m33_chunk_)(
    const RK_T *p0, const RK_T *p1, const RK_T *p2, const RK_T *p3, RK_T *q0, RK_T *q1,
    const int two)
{
    Py_ssize_t x;
    int d;
    RK_IVDEP
    for (x = 0; x < RK_M33_CHUNK; x++) {
        RK_T lo0[3], md0[3], hi0[3], lo1[3], md1[3], hi1[3];
        for (d = 0; d < 3; d++) {
            RK_T b = p1[x + d], c = p2[x + d], a = p0[x + d], e = p3[x + d];
            RK_T t = RK_MIN_(b, c);
            c = RK_MAX_(b, c);
            b = t;
            lo0[d] = RK_MIN_(b, a);
            hi0[d] = RK_MAX_(c, a);
            md0[d] = RK_MAX_(b, RK_MIN_(c, a));
            lo1[d] = RK_MIN_(b, e);
            hi1[d] = RK_MAX_(c, e);
            md1[d] = RK_MAX_(b, RK_MIN_(c, e));
        }
        RK_M33_MED(lo0, md0, hi0, q0[x])
        if (two) RK_M33_MED(lo1, md1, hi1, q1[x])
    }
}

static RK_M33_WIDE RK_T RK_NAME(rk_m33_edge_)(const RK_T *r0, const RK_T *r1, const RK_T *r2,
                                  Py_ssize_t c0, Py_ssize_t c1, Py_ssize_t c2, RK_T fill)
{
    RK_T v0 = c0 < 0 ? fill : r0[c0], v1 = c0 < 0 ? fill : r1[c0], v2 = c0 < 0 ? fill : r2[c0];
    RK_T v3 = c1 < 0 ? fill : r0[c1], v4 = c1 < 0 ? fill : r1[c1], v5 = c1 < 0 ? fill : r2[c1];
    RK_T v6 = c2 < 0 ? fill : r0[c2], v7 = c2 < 0 ? fill : r1[c2], v8 = c2 < 0 ? fill : r2[c2];
    RK_NETWORK_9_4
    return v4;
}

/* Column c of the next row pair: its rows pf0, pf1 and, for writing, its
 * output rows pw0, pw1 (the line that holds column c of each). */
static inline __attribute__((always_inline)) void RK_NAME(rk_m33_prefetch_)(
    const RK_T *pf0, const RK_T *pf1, RK_T *pw0, RK_T *pw1, Py_ssize_t c)
{
    __builtin_prefetch(pf0 + c);
    __builtin_prefetch(pf1 + c);
    __builtin_prefetch(pw0 + c, 1);
    __builtin_prefetch(pw1 + c, 1);
}

static RK_M33_WIDE void RK_NAME(rk_m33d_)(const RK_T *r0, const RK_T *r1, const RK_T *r2,
                              const RK_T *r3, Py_ssize_t W, Py_ssize_t cl, Py_ssize_t cr,
                              RK_T fill, RK_T *o0, RK_T *o1, const RK_T *pf0,
                              const RK_T *pf1, RK_T *pw0, RK_T *pw1)
{
    Py_ssize_t c0, last = W - 1 - RK_M33_CHUNK;
    for (c0 = 1;; c0 += RK_M33_CHUNK) {
        if (c0 > last) c0 = last;
        RK_NAME(rk_m33_prefetch_)(pf0, pf1, pw0, pw1, c0);
        if (o1)
            RK_NAME(rk_m33_chunk_)(r0 + c0 - 1, r1 + c0 - 1, r2 + c0 - 1, r3 + c0 - 1,
                                   o0 + c0, o1 + c0, 1);
        else
            RK_NAME(rk_m33_chunk_)(r0 + c0 - 1, r1 + c0 - 1, r2 + c0 - 1, r2 + c0 - 1,
                                   o0 + c0, o0 + c0, 0);
        if (c0 == last) break;
    }
    o0[0] = RK_NAME(rk_m33_edge_)(r0, r1, r2, cl, 0, 1, fill);
    o0[W - 1] = RK_NAME(rk_m33_edge_)(r0, r1, r2, W - 2, W - 1, cr, fill);
    if (o1) {
        o1[0] = RK_NAME(rk_m33_edge_)(r1, r2, r3, cl, 0, 1, fill);
        o1[W - 1] = RK_NAME(rk_m33_edge_)(r1, r2, r3, W - 2, W - 1, cr, fill);
    }
}

#if RK_FLOAT
/* The full 3x3 median read in place, one output row, for a float image
 * holding NaN (or a NaN fill): NaN counts in c and sorts last as +inf, as
 * in RK_FIXED_NAN.  omit = 0 ('propagate'): NaN when c > 0, else rank 4.
 * omit = 1 ('omit'): rank m / 2 of the m = 9 - c non-NaN values, which is
 * rank 4 (c < 2) or 3 (c = 2, 3) of the nine; windows with 4 or more NaN
 * are redone by gather-and-select (NaN when m = 0).  Interior pixels run in
 * chunks as in rk_m33d_ (nine loads and one network per pixel: the column
 * sorts do not give rank 3); pixels 0 and W - 1 read columns cl / cr (-1:
 * fill). */
static inline __attribute__((always_inline)) RK_M33_WIDE void RK_NAME(rk_m33n_chunk_)(
    const RK_T *p0, const RK_T *p1, const RK_T *p2, RK_T *q, int *cnt, const int omit)
{
    Py_ssize_t x;
    RK_IVDEP
    for (x = 0; x < RK_M33_CHUNK; x++) {
        RK_T v0 = p0[x], v1 = p0[x + 1], v2 = p0[x + 2], v3 = p1[x], v4 = p1[x + 1],
             v5 = p1[x + 2], v6 = p2[x], v7 = p2[x + 1], v8 = p2[x + 2];
        int c = 0;
        RK_NANFIX_9
        if (omit) {
            RK_NETWORK_9_MID
            q[x] = c < 2 ? v4 : v3;
            cnt[x] = c;
        } else {
            RK_NETWORK_9_4
            q[x] = c ? (RK_T)NAN : v4;
        }
    }
}

/* The window at columns c0, c1, c2 (-1: fill) of rows r0 .. r2 by
 * gather-and-select, NaN as rk_m33n_ says. */
static RK_T RK_NAME(rk_m33n_gather_)(const RK_T *r0, const RK_T *r1, const RK_T *r2,
                                     Py_ssize_t c0, Py_ssize_t c1, Py_ssize_t c2, RK_T fill,
                                     int omit)
{
    const RK_T *rows[3];
    Py_ssize_t cols[3], m = 0;
    RK_T buf[9];
    int i, j;
    rows[0] = r0; rows[1] = r1; rows[2] = r2;
    cols[0] = c0; cols[1] = c1; cols[2] = c2;
    for (i = 0; i < 3; i++)
        for (j = 0; j < 3; j++) {
            RK_T v = cols[j] < 0 ? fill : rows[i][cols[j]];
            if (v == v) buf[m++] = v;
        }
    if (omit) return RK_NAME(rk_omit_median_)(buf, m);
    return m < 9 ? (RK_T)NAN : RK_NAME(rk_select_)(buf, 9, 4);
}

/* Chunk c0 of output row o (rows r0 .. r2) under 'omit': one network per
 * pixel (rk_m33n_chunk_), windows with 4 or more NaN by gather-and-select. */
static inline __attribute__((always_inline)) RK_M33_WIDE void RK_NAME(rk_m33n_omit_chunk_)(
    const RK_T *r0, const RK_T *r1, const RK_T *r2, Py_ssize_t c0, RK_T fill, RK_T *o)
{
    int cnt[RK_M33_CHUNK];
    Py_ssize_t x;
    int many = 0;
    RK_NAME(rk_m33n_chunk_)(r0 + c0 - 1, r1 + c0 - 1, r2 + c0 - 1, o + c0, cnt, 1);
    for (x = 0; x < RK_M33_CHUNK; x++) many |= cnt[x] >= 4;
    if (many)
        for (x = 0; x < RK_M33_CHUNK; x++)
            if (cnt[x] >= 4)
                o[c0 + x] = RK_NAME(rk_m33n_gather_)(r0, r1, r2, c0 + x - 1, c0 + x,
                                                     c0 + x + 1, fill, 1);
}

static RK_M33_WIDE void RK_NAME(rk_m33n_)(const RK_T *r0, const RK_T *r1, const RK_T *r2,
                              Py_ssize_t W, Py_ssize_t cl, Py_ssize_t cr, RK_T fill,
                              RK_T *o, int omit, const RK_T *pf0, const RK_T *pf1,
                              RK_T *pw0, RK_T *pw1)
{
    int cnt[RK_M33_CHUNK];
    Py_ssize_t c0, last = W - 1 - RK_M33_CHUNK;
    for (c0 = 1;; c0 += RK_M33_CHUNK) {
        if (c0 > last) c0 = last;
        RK_NAME(rk_m33_prefetch_)(pf0, pf1, pw0, pw1, c0);
        if (omit) {
            RK_NAME(rk_m33n_omit_chunk_)(r0, r1, r2, c0, fill, o);
        } else {
            RK_NAME(rk_m33n_chunk_)(r0 + c0 - 1, r1 + c0 - 1, r2 + c0 - 1, o + c0, cnt, 0);
        }
        if (c0 == last) break;
    }
    o[0] = RK_NAME(rk_m33n_gather_)(r0, r1, r2, cl, 0, 1, fill, omit);
    o[W - 1] = RK_NAME(rk_m33n_gather_)(r0, r1, r2, W - 2, W - 1, cr, fill, omit);
}

/* One chunk of two output rows (rows p0..p2 and p1..p3) of a float image
 * holding NaN, sharing the column sorts as rk_m33_chunk_ does: NaN sorts
 * last as +inf and counts in c (per window), and the shared formula gives
 * rank 4 of the nine.  omit = 0 ('propagate'): NaN when c > 0, else that
 * value.  omit = 1 ('omit'): that value is the answer when c < 2 (rank
 * m / 2 of the m = 9 - c values is rank 4 of the nine); returns nonzero
 * when a window of the chunk has c >= 2, and the caller redoes the chunk
 * by rows (rk_m33n_chunk_ and gather-and-select).  With NaN rare that is
 * a few chunks in a hundred, and the others cost about what the NaN-free
 * pair costs instead of one network per pixel. */
static inline __attribute__((always_inline)) RK_M33_WIDE int RK_NAME(rk_m33n_pair_chunk_)(
    const RK_T *p0, const RK_T *p1, const RK_T *p2, const RK_T *p3, RK_T *q0, RK_T *q1,
    const int omit)
{
    Py_ssize_t x;
    int hard = 0;
    RK_IVDEP
    for (x = 0; x < RK_M33_CHUNK; x++) {
        RK_T lo0[3], md0[3], hi0[3], lo1[3], md1[3], hi1[3], m0, m1;
        int c0 = 0, c1 = 0;
        /* column d of the chunk (written out three times: GCC does not
         * vectorize this loop around an inner loop) */
#define RK_M33N_COLUMN(d)                                                              \
        {                                                                              \
            RK_T b = p1[x + d], c = p2[x + d], a = p0[x + d], e = p3[x + d], t;         \
            int nb = b != b, nc = c != c, na = a != a, ne = e != e;                    \
            c0 += na + nb + nc;                                                        \
            c1 += nb + nc + ne;                                                        \
            a = na ? (RK_T)INFINITY : a;                                               \
            b = nb ? (RK_T)INFINITY : b;                                               \
            c = nc ? (RK_T)INFINITY : c;                                               \
            e = ne ? (RK_T)INFINITY : e;                                               \
            t = RK_MIN_(b, c);                                                         \
            c = RK_MAX_(b, c);                                                         \
            b = t;                                                                     \
            lo0[d] = RK_MIN_(b, a);                                                    \
            hi0[d] = RK_MAX_(c, a);                                                    \
            md0[d] = RK_MAX_(b, RK_MIN_(c, a));                                        \
            lo1[d] = RK_MIN_(b, e);                                                    \
            hi1[d] = RK_MAX_(c, e);                                                    \
            md1[d] = RK_MAX_(b, RK_MIN_(c, e));                                        \
        }
        RK_M33N_COLUMN(0)
        RK_M33N_COLUMN(1)
        RK_M33N_COLUMN(2)
#undef RK_M33N_COLUMN
        RK_M33_MED(lo0, md0, hi0, m0)
        RK_M33_MED(lo1, md1, hi1, m1)
        if (omit) {
            q0[x] = m0;
            q1[x] = m1;
            hard |= (c0 >= 2) | (c1 >= 2);
        } else {
            q0[x] = c0 ? (RK_T)NAN : m0;
            q1[x] = c1 ? (RK_T)NAN : m1;
        }
    }
    return hard;
}

/* Output rows y (o0) and y + 1 (o1) of the in-place 3x3 median of a float
 * image holding NaN, NaN as rk_m33n_ says: rows r0 .. r3 and the rest as
 * in rk_m33d_. */
static RK_M33_WIDE void RK_NAME(rk_m33n2_)(const RK_T *r0, const RK_T *r1, const RK_T *r2,
                               const RK_T *r3, Py_ssize_t W, Py_ssize_t cl, Py_ssize_t cr,
                               RK_T fill, RK_T *o0, RK_T *o1, int omit, const RK_T *pf0,
                               const RK_T *pf1, RK_T *pw0, RK_T *pw1)
{
    Py_ssize_t c0, last = W - 1 - RK_M33_CHUNK;
    for (c0 = 1;; c0 += RK_M33_CHUNK) {
        if (c0 > last) c0 = last;
        RK_NAME(rk_m33_prefetch_)(pf0, pf1, pw0, pw1, c0);
        if (!omit) {
            RK_NAME(rk_m33n_pair_chunk_)(r0 + c0 - 1, r1 + c0 - 1, r2 + c0 - 1, r3 + c0 - 1,
                                         o0 + c0, o1 + c0, 0);
        } else if (RK_NAME(rk_m33n_pair_chunk_)(r0 + c0 - 1, r1 + c0 - 1, r2 + c0 - 1,
                                                r3 + c0 - 1, o0 + c0, o1 + c0, 1)) {
            RK_NAME(rk_m33n_omit_chunk_)(r0, r1, r2, c0, fill, o0);
            RK_NAME(rk_m33n_omit_chunk_)(r1, r2, r3, c0, fill, o1);
        }
        if (c0 == last) break;
    }
    o0[0] = RK_NAME(rk_m33n_gather_)(r0, r1, r2, cl, 0, 1, fill, omit);
    o0[W - 1] = RK_NAME(rk_m33n_gather_)(r0, r1, r2, W - 2, W - 1, cr, fill, omit);
    o1[0] = RK_NAME(rk_m33n_gather_)(r1, r2, r3, cl, 0, 1, fill, omit);
    o1[W - 1] = RK_NAME(rk_m33n_gather_)(r1, r2, r3, W - 2, W - 1, cr, fill, omit);
}
#endif
#undef RK_M33_MED
#undef RK_M33_WIDE
/* The full 5x5 median read in place, output rows y and y + 1 at once (r0
 * .. r5: source rows y - 2 .. y + 3; o1 NULL: row y alone, r5 unused).  The
 * 20 points the two windows share (rows y - 1 .. y + 2) are reduced once to
 * their ranks 6 .. 12 (the network the NaN kernel uses too); each window's
 * median is then rank 5 of ranks 7 .. 12 and
 * the 5 points of its own row (the 7 shared points below rank 7 lie below
 * the median and the 7 above rank 12 above it).  Interior pixels 2 .. W - 3
 * run in blocks as in rk_m33d_; pixels 0, 1, W - 2, W - 1 read the
 * columns cm[0], cm[1] (left of 0) and cm[2], cm[3] (right of W - 1) where
 * they leave the row (-1: fill).  Rows pf0 and pf1 (those the next pair
 * adds) and the next pair's output rows pw0 and pw1 are prefetched block
 * by block.  Needs W >= RK_M33_BLOCK + 4.  mode 1, 2
 * (float images holding NaN, or a NaN fill): 'propagate' and 'omit' by
 * rk_m55n_pair_ below. */
/* Wires v0 .. v19: columns x .. x + 4 of rows a, b, c, d (the 20 points
 * that the windows of two neighbouring output rows share). */
#define RK_M55_SHARED(a, b, c, d)                                                       \
    RK_T v0 = a[x], v1 = a[x + 1], v2 = a[x + 2], v3 = a[x + 3], v4 = a[x + 4],         \
         v5 = b[x], v6 = b[x + 1], v7 = b[x + 2], v8 = b[x + 3], v9 = b[x + 4],         \
         v10 = c[x], v11 = c[x + 1], v12 = c[x + 2], v13 = c[x + 3], v14 = c[x + 4],    \
         v15 = d[x], v16 = d[x + 1], v17 = d[x + 2], v18 = d[x + 3], v19 = d[x + 4];
/* One block of two output rows (restrict parameters: no aliasing checks). */
static void RK_NAME(rk_m55_pair_)(const RK_T *restrict p0, const RK_T *restrict p1,
                                  const RK_T *restrict p2, const RK_T *restrict p3,
                                  const RK_T *restrict p4, const RK_T *restrict p5,
                                  RK_T *restrict q0, RK_T *restrict q1)
{
    Py_ssize_t x;
    for (x = 0; x < RK_M33_BLOCK; x++) {
        RK_T t0, t1, t2, t3, t4, t5;
        {
            RK_M55_SHARED(p1, p2, p3, p4)
            RK_NETWORK_20_6_12   /* ranks 7..12 are on v7..v12 */
            t0 = v7; t1 = v8; t2 = v9; t3 = v10; t4 = v11; t5 = v12;
        }
        {
            RK_T v0 = t0, v1 = t1, v2 = t2, v3 = t3, v4 = t4, v5 = t5,
                 v6 = p0[x], v7 = p0[x + 1], v8 = p0[x + 2], v9 = p0[x + 3],
                 v10 = p0[x + 4];
            RK_NETWORK_11_5
            q0[x] = v5;
        }
        {
            RK_T v0 = t0, v1 = t1, v2 = t2, v3 = t3, v4 = t4, v5 = t5,
                 v6 = p5[x], v7 = p5[x + 1], v8 = p5[x + 2], v9 = p5[x + 3],
                 v10 = p5[x + 4];
            RK_NETWORK_11_5
            q1[x] = v5;
        }
    }
}

/* One block of a lone output row. */
static void RK_NAME(rk_m55_one_)(const RK_T *restrict p0, const RK_T *restrict p1,
                                 const RK_T *restrict p2, const RK_T *restrict p3,
                                 const RK_T *restrict p4, RK_T *restrict q0)
{
    Py_ssize_t x;
    for (x = 0; x < RK_M33_BLOCK; x++) {
        RK_T v0 = p0[x], v1 = p0[x + 1], v2 = p0[x + 2], v3 = p0[x + 3],
             v4 = p0[x + 4], v5 = p1[x], v6 = p1[x + 1], v7 = p1[x + 2],
             v8 = p1[x + 3], v9 = p1[x + 4], v10 = p2[x], v11 = p2[x + 1],
             v12 = p2[x + 2], v13 = p2[x + 3], v14 = p2[x + 4], v15 = p3[x],
             v16 = p3[x + 1], v17 = p3[x + 2], v18 = p3[x + 3], v19 = p3[x + 4],
             v20 = p4[x], v21 = p4[x + 1], v22 = p4[x + 2], v23 = p4[x + 3],
             v24 = p4[x + 4];
        RK_NETWORK_25_12
        q0[x] = v12;
    }
}

#if RK_FLOAT
/* The pair block of an image holding NaN (or filled with NaN): NaN counts
 * in c and sorts last as +inf (an image's own +inf values stay what they
 * are and tie with it).  The rank of a window with c NaN is 12 (c = 0, 1)
 * or 11 (c = 2, 3) of its 25 values (see RK_FIXED_NAN); ranks 11 and 12 of
 * 25 lie among ranks 6 .. 12 of the 20 shared points (t0 .. t6, in order)
 * and the 5 own points (the 6 shared points below rank 6 lie below rank 11
 * of the window, the 7 above rank 12 above rank 12), as ranks 5 and 6 of
 * those 12.  These come from merging t with the own row sorted (v0 .. v4):
 * rank k of the two is the least over i + j = k + 1 of max(t[i - 1],
 * v[j - 1]) (t[-1] = v[-1] = -inf), 10 min/max per rank instead of a
 * 12-point network that does not know t is sorted.  omit = 0
 * ('propagate'): NaN when c > 0, else rank 12 (the value rk_m55_pair_
 * gives).  omit = 1 ('omit'): windows with 4 or more NaN are redone by
 * gather-and-select after the block.
 *
 * A first pass over the block's 6 rows x (RK_M33_BLOCK + 4) columns writes
 * the rows with NaN made +inf and counts NaN per column (of the 4 shared
 * rows, and of each own row), so that each value is tested once rather
 * than in each of the 5 windows that read it; a window's count is a sum of
 * 5 column counts. */
#define RK_M55N_FIX(v) (v < (RK_T)INFINITY ? v : (RK_T)INFINITY)
#define RK_M55N_ISNAN(v) (v != v ? (RK_T)1 : (RK_T)0)
#define RK_M55N_SUM5(n) (n[x] + n[x + 1] + n[x + 2] + n[x + 3] + n[x + 4])
#define RK_M55N_PREP(x)                                                                 \
    {                                                                                  \
        RK_T a0 = p0[x], a1 = p1[x], a2 = p2[x], a3 = p3[x], a4 = p4[x], a5 = p5[x];   \
        na[x] = RK_M55N_ISNAN(a0);                                                     \
        nb[x] = RK_M55N_ISNAN(a5);                                                     \
        nsh[x] = RK_M55N_ISNAN(a1) + RK_M55N_ISNAN(a2) + RK_M55N_ISNAN(a3) +           \
                 RK_M55N_ISNAN(a4);                                                    \
        s0[x] = RK_M55N_FIX(a0);                                                       \
        s1[x] = RK_M55N_FIX(a1);                                                       \
        s2[x] = RK_M55N_FIX(a2);                                                       \
        s3[x] = RK_M55N_FIX(a3);                                                       \
        s4[x] = RK_M55N_FIX(a4);                                                       \
        s5[x] = RK_M55N_FIX(a5);                                                       \
    }
#define RK_M55N_OWN(s, nown, q, n)                                                      \
    {                                                                                  \
        RK_T v0 = s[x], v1 = s[x + 1], v2 = s[x + 2], v3 = s[x + 3], v4 = s[x + 4],     \
             c = cs + RK_M55N_SUM5(nown), r6;                                          \
        RK_NETWORK_5_0_4                                                               \
        r6 = RK_MIN_(RK_MIN_(RK_MIN_(t6, RK_MAX_(t5, v0)), RK_MIN_(RK_MAX_(t4, v1),     \
                                                                 RK_MAX_(t3, v2))),    \
                     RK_MIN_(RK_MAX_(t2, v3), RK_MAX_(t1, v4)));                       \
        if (omit) {                                                                    \
            RK_T r5 = RK_MIN_(RK_MIN_(RK_MIN_(t5, RK_MAX_(t4, v0)),                    \
                                      RK_MIN_(RK_MAX_(t3, v1), RK_MAX_(t2, v2))),      \
                              RK_MIN_(RK_MAX_(t1, v3), RK_MAX_(t0, v4)));              \
            q[x] = c < 2 ? r6 : r5;                                                    \
            n[x] = c;                                                                  \
        } else {                                                                       \
            q[x] = c > 0 ? (RK_T)NAN : r6;                                             \
        }                                                                              \
    }

/* The NaN-omitting median of the window at rows p0 .. p4, columns x .. x + 4. */
static RK_T RK_NAME(rk_m55_gather_)(const RK_T *p0, const RK_T *p1, const RK_T *p2,
                                    const RK_T *p3, const RK_T *p4, Py_ssize_t x)
{
    const RK_T *rows[5];
    RK_T buf[25];
    Py_ssize_t m = 0, i, j;
    rows[0] = p0; rows[1] = p1; rows[2] = p2; rows[3] = p3; rows[4] = p4;
    for (i = 0; i < 5; i++)
        for (j = 0; j < 5; j++) {
            RK_T v = rows[i][x + j];
            if (v == v) buf[m++] = v;
        }
    return RK_NAME(rk_omit_median_)(buf, m);
}

static inline __attribute__((always_inline)) void RK_NAME(rk_m55n_pair_)(
    const RK_T *restrict p0, const RK_T *restrict p1, const RK_T *restrict p2,
    const RK_T *restrict p3, const RK_T *restrict p4, const RK_T *restrict p5,
    RK_T *restrict q0, RK_T *restrict q1, int omit)
{
    RK_T s0[RK_M33_BLOCK + 4], s1[RK_M33_BLOCK + 4], s2[RK_M33_BLOCK + 4];
    RK_T s3[RK_M33_BLOCK + 4], s4[RK_M33_BLOCK + 4], s5[RK_M33_BLOCK + 4];
    RK_T nsh[RK_M33_BLOCK + 4], na[RK_M33_BLOCK + 4], nb[RK_M33_BLOCK + 4];
    RK_T n0[RK_M33_BLOCK], n1[RK_M33_BLOCK];
    Py_ssize_t x;
    int many = 0;
    /* columns 0 .. RK_M33_BLOCK - 1, then the last 16 (whole SIMD registers
     * rather than a scalar tail of 4; a value written twice is the same) */
    for (x = 0; x < RK_M33_BLOCK; x++) RK_M55N_PREP(x)
    for (x = RK_M33_BLOCK - 12; x < RK_M33_BLOCK + 4; x++) RK_M55N_PREP(x)
    for (x = 0; x < RK_M33_BLOCK; x++) {
        RK_T t0, t1, t2, t3, t4, t5, t6, cs = RK_M55N_SUM5(nsh);
        {
            RK_M55_SHARED(s1, s2, s3, s4)
            RK_NETWORK_20_6_12
            t0 = v6; t1 = v7; t2 = v8; t3 = v9; t4 = v10; t5 = v11; t6 = v12;
        }
        RK_M55N_OWN(s0, na, q0, n0)
        RK_M55N_OWN(s5, nb, q1, n1)
    }
    if (!omit) return;
    for (x = 0; x < RK_M33_BLOCK; x++) many |= (n0[x] >= 4) | (n1[x] >= 4);
    if (!many) return;
    for (x = 0; x < RK_M33_BLOCK; x++) {
        if (n0[x] >= 4) q0[x] = RK_NAME(rk_m55_gather_)(p0, p1, p2, p3, p4, x);
        if (n1[x] >= 4) q1[x] = RK_NAME(rk_m55_gather_)(p1, p2, p3, p4, p5, x);
    }
}
#undef RK_M55N_FIX
#undef RK_M55N_ISNAN
#undef RK_M55N_PREP
#undef RK_M55N_SUM5
#undef RK_M55N_OWN
#endif
#undef RK_M55_SHARED

/* One block of two output rows by mode (0: no NaN, 1: 'propagate', 2:
 * 'omit'); o1 NULL: a lone row y (r5 is not read). */
static void RK_NAME(rk_m55_block_)(const RK_T *r0, const RK_T *r1, const RK_T *r2,
                                   const RK_T *r3, const RK_T *r4, const RK_T *r5,
                                   RK_T *o0, RK_T *o1, int mode)
{
#if RK_FLOAT
    if (mode) {
        RK_T spare[RK_M33_BLOCK];
        if (!o1) {
            r5 = r4;
            o1 = spare;
        }
        if (mode == 2) RK_NAME(rk_m55n_pair_)(r0, r1, r2, r3, r4, r5, o0, o1, 1);
        else RK_NAME(rk_m55n_pair_)(r0, r1, r2, r3, r4, r5, o0, o1, 0);
        return;
    }
#endif
    (void)mode;
    if (o1) RK_NAME(rk_m55_pair_)(r0, r1, r2, r3, r4, r5, o0, o1);
    else RK_NAME(rk_m55_one_)(r0, r1, r2, r3, r4, o0);
}

static void RK_NAME(rk_m55d_)(const RK_T *r0, const RK_T *r1, const RK_T *r2,
                              const RK_T *r3, const RK_T *r4, const RK_T *r5, Py_ssize_t W,
                              const Py_ssize_t *cm, RK_T fill, RK_T *o0, RK_T *o1, int mode,
                              const RK_T *pf0, const RK_T *pf1, RK_T *pw0, RK_T *pw1)
{
    Py_ssize_t x0, x, last = W - 2 - RK_M33_BLOCK;
    for (x0 = 2;; x0 += RK_M33_BLOCK) {
        if (x0 > last) x0 = last;
        /* the block's lines of the next pair's rows (see rk_m33d_) */
        for (x = 0; x < RK_M33_BLOCK; x += 64 / (Py_ssize_t)sizeof(RK_T))
            RK_NAME(rk_m33_prefetch_)(pf0, pf1, pw0, pw1, x0 + x);
        RK_NAME(rk_m55_block_)(r0 + x0 - 2, r1 + x0 - 2, r2 + x0 - 2, r3 + x0 - 2,
                               r4 + x0 - 2, o1 ? r5 + x0 - 2 : NULL, o0 + x0,
                               o1 ? o1 + x0 : NULL, mode);
        if (x0 == last) break;
    }
    /* Pixels 0, 1 and W - 2, W - 1: one block each on a copy of the rows
     * with the boundary columns in place (columns -2 .. 65 and W - 66 .. W + 1). */
    for (x = 0; x < 2; x++) {
        RK_T buf[6][RK_M33_BLOCK + 4], res[2][RK_M33_BLOCK];
        const RK_T *rows[6];
        Py_ssize_t j, k, c0 = x == 0 ? -2 : W - 2 - RK_M33_BLOCK;
        rows[0] = r0; rows[1] = r1; rows[2] = r2; rows[3] = r3; rows[4] = r4;
        rows[5] = o1 ? r5 : r4;
        for (k = 0; k < 6; k++)
            for (j = 0; j < RK_M33_BLOCK + 4; j++) {
                Py_ssize_t c = c0 + j;
                c = c < 0 ? cm[c + 2] : (c >= W ? cm[c - W + 2] : c);
                buf[k][j] = c < 0 ? fill : rows[k][c];
            }
        RK_NAME(rk_m55_block_)(buf[0], buf[1], buf[2], buf[3], buf[4], buf[5], res[0], res[1],
                               mode);
        j = x == 0 ? 0 : RK_M33_BLOCK - 2;
        o0[c0 + 2 + j] = res[0][j];
        o0[c0 + 3 + j] = res[0][j + 1];
        if (o1) {
            o1[c0 + 2 + j] = res[1][j];
            o1[c0 + 3 + j] = res[1][j + 1];
        }
    }
}
#undef RK_MIN_
#undef RK_MAX_

#undef RK_CS
#undef RK_LO
#undef RK_HI

#if RK_FLOAT
static int RK_NAME(rk_has_nan_)(const RK_T *a, Py_ssize_t n)
{
    Py_ssize_t i;
    int any = 0;
    for (i = 0; i < n; i++) any |= a[i] != a[i];
    return any;
}
#endif

#undef RK_NAME
#undef RK_CAT
#undef RK_CAT2
