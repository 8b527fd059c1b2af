/*
 * Streaming (non-temporal) stores, for kernels writing outputs larger than
 * the last-level cache, which their next reader fetches from memory anyway.
 *
 * A regular store first reads its cache line from memory (read for
 * ownership): a memory-bound filter then moves three lines per output line
 * (the input, and the output read and written back); a streaming store
 * writes the line without reading it, two.  The caller decides (Python side:
 * ``_threads.last_level_cache_bytes``); the values stored are the same
 * either way.
 *
 * imfilt_store_bytes streams a vector only where its address is aligned to
 * the vector's size, and stores it regularly elsewhere, so a kernel may pass
 * any address; callers start their vector runs at imfilt_align_gap so that
 * most stores stream.  Vectors other than 64 bytes stream in 16-byte pieces
 * (the write-combining buffer joins them into whole lines).  imfilt_sfence() orders a thread's streamed stores
 * before its later ones: call it at the end of a thread's work.
 */
#ifndef IMFILT_STREAM_H
#define IMFILT_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__)) \
    && defined(__SSE2__)
#include <immintrin.h>
#define IMFILT_HAVE_STREAM 1
#else
#define IMFILT_HAVE_STREAM 0
#endif

/* Store the ``bytes`` (one vector: 16, 32 or 64) at v to p. */
static inline void imfilt_store_bytes(void *p, const void *v, size_t bytes, int nt)
{
#if IMFILT_HAVE_STREAM
    if (nt && bytes % 16 == 0 && !((uintptr_t)p & (bytes - 1))) {
        char *d = (char *)p;
        const char *s = (const char *)v;
#if defined(__AVX512F__)
        if (bytes == 64) {
            __m512 x;
            memcpy(&x, s, 64);
            _mm512_stream_ps((float *)d, x);
            return;
        }
#endif
        for (size_t i = 0; i < bytes; i += 16) {
            __m128 x;
            memcpy(&x, s + i, 16);
            _mm_stream_ps((float *)(d + i), x);
        }
        return;
    }
#else
    (void)nt;
#endif
    memcpy(p, v, bytes);
}

/* A vector value v (any GCC/Clang vector type) stored at p. */
#define IMFILT_VSTORE(p, v, nt)                                                 \
    do {                                                                        \
        __typeof__(v) vs_ = (v);                                                \
        imfilt_store_bytes((p), &vs_, sizeof vs_, (nt));                        \
    } while (0)

/* Elements of ``size`` bytes before the first ``align``-byte aligned address
 * at or after o (0 when o is not even element-aligned: then nothing streams). */
static inline ptrdiff_t imfilt_align_gap(const void *o, size_t size, size_t align)
{
    uintptr_t a = (uintptr_t)o;
    if (a % size)
        return 0;
    return (ptrdiff_t)(((align - (a & (align - 1))) & (align - 1)) / size);
}

static inline void imfilt_sfence(void)
{
#if IMFILT_HAVE_STREAM
    _mm_sfence();
#endif
}

#endif /* IMFILT_STREAM_H */
