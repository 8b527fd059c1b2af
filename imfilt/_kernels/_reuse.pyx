"""Large result arrays reuse the memory of freed ones (``empty``).

A fresh array of tens of megabytes costs more than filtering into it on
many machines: the operating system hands out new pages on first touch and
zeroes every one of them, so a 4096 x 4096 float32 result (64 MiB) spends
3-10 ms in page faults before the first pixel is written, and a fast
filter pays that again on every call.  The C library keeps some freed
blocks for reuse, but not reliably: blocks of more than 32 MiB always go
back to the operating system, and smaller ones do whenever its heap is
trimmed -- after another library's large arrays came and went, a
1024 x 1024 float64 result (8 MiB) took 2000 page faults and ~2.5 ms more
on each call of an 8 ms filter.

``empty`` allocates arrays of at least ``MIN_BYTES`` through a NumPy memory
handler (NEP 49) of its own.  When such an array is freed, its block is
kept, up to ``limit()`` bytes in all (``IMFILT_REUSE_MIB`` in the
environment, 256 MiB by default, 0 turns this off), and the next array of
exactly that many bytes gets it back without a page fault: the way the C
library treats smaller blocks.  The oldest kept block is freed first when
a new one does not fit.  The arrays are ordinary NumPy arrays that own
their memory; only where their memory goes after they are freed differs.
``release()`` frees every kept block.
"""

import os
import warnings

import numpy as np

from cpython.pycapsule cimport PyCapsule_New
from libc.stdint cimport uint8_t

from imfilt._kernels._common cimport imfilt_openmp_compiled

cdef extern from "numpy/arrayobject.h":
    ctypedef struct PyDataMemAllocator:
        void *ctx
        void *(*malloc)(void *ctx, size_t size) noexcept nogil
        void *(*calloc)(void *ctx, size_t nelem, size_t elsize) noexcept nogil
        void *(*realloc)(void *ctx, void *ptr, size_t new_size) noexcept nogil
        void (*free)(void *ctx, void *ptr, size_t size) noexcept nogil
    ctypedef struct PyDataMem_Handler:
        char name[127]
        uint8_t version
        PyDataMemAllocator allocator
    object PyDataMem_SetHandler(object handler)
    void import_array()

cdef extern from *:
    """
    #include <stdlib.h>
    #include <string.h>
    #if defined(__linux__)
    #include <sys/mman.h>
    #endif
    #include "pythread.h"

    #define IMFILT_REUSE_SLOTS 8
    #define IMFILT_REUSE_MIN_BYTES ((size_t)1 << 20)

    static struct {
        PyThread_type_lock lock;
        size_t limit;               /* bytes kept at most */
        size_t kept;                /* bytes kept now */
        int n;                      /* blocks kept, oldest first */
        void *ptr[IMFILT_REUSE_SLOTS];
        size_t size[IMFILT_REUSE_SLOTS];
        unsigned long long hits, misses;
    } imfilt_reuse;

    static void imfilt_reuse_drop(int i)
    {
        imfilt_reuse.kept -= imfilt_reuse.size[i];
        for (int j = i + 1; j < imfilt_reuse.n; j++) {
            imfilt_reuse.ptr[j - 1] = imfilt_reuse.ptr[j];
            imfilt_reuse.size[j - 1] = imfilt_reuse.size[j];
        }
        imfilt_reuse.n--;
    }

    static void *imfilt_reuse_malloc(void *ctx, size_t size)
    {
        void *p = NULL;
        (void)ctx;
        PyThread_acquire_lock(imfilt_reuse.lock, WAIT_LOCK);
        for (int i = imfilt_reuse.n - 1; i >= 0; i--) {
            if (imfilt_reuse.size[i] == size) {
                p = imfilt_reuse.ptr[i];
                imfilt_reuse_drop(i);
                break;
            }
        }
        if (p != NULL) imfilt_reuse.hits++; else imfilt_reuse.misses++;
        PyThread_release_lock(imfilt_reuse.lock);
        if (p != NULL)
            return p;
        p = malloc(size);
    #if defined(__linux__) && defined(MADV_HUGEPAGE)
        /* As NumPy's own allocator does for large arrays: ask for huge
         * pages on the page-aligned part (fewer faults, fewer TLB misses). */
        if (p != NULL && size >= ((size_t)1 << 22)) {
            size_t page = 4096;
            size_t a = ((size_t)p + page - 1) & ~(page - 1);
            size_t e = ((size_t)p + size) & ~(page - 1);
            if (e > a) madvise((void *)a, e - a, MADV_HUGEPAGE);
        }
    #endif
        return p;
    }

    static void *imfilt_reuse_calloc(void *ctx, size_t nelem, size_t elsize)
    {
        (void)ctx;
        return calloc(nelem, elsize);
    }

    static void *imfilt_reuse_realloc(void *ctx, void *ptr, size_t new_size)
    {
        (void)ctx;
        return realloc(ptr, new_size);
    }

    static void imfilt_reuse_free(void *ctx, void *ptr, size_t size)
    {
        void *gone[IMFILT_REUSE_SLOTS + 1];
        int ngone = 0;
        (void)ctx;
        if (ptr == NULL)
            return;
        PyThread_acquire_lock(imfilt_reuse.lock, WAIT_LOCK);
        if (size < IMFILT_REUSE_MIN_BYTES || size > imfilt_reuse.limit) {
            gone[ngone++] = ptr;
        } else {
            while (imfilt_reuse.n > 0 && (imfilt_reuse.n == IMFILT_REUSE_SLOTS
                                          || imfilt_reuse.kept + size > imfilt_reuse.limit)) {
                gone[ngone++] = imfilt_reuse.ptr[0];
                imfilt_reuse_drop(0);
            }
            imfilt_reuse.ptr[imfilt_reuse.n] = ptr;
            imfilt_reuse.size[imfilt_reuse.n] = size;
            imfilt_reuse.n++;
            imfilt_reuse.kept += size;
        }
        PyThread_release_lock(imfilt_reuse.lock);
        for (int i = 0; i < ngone; i++)
            free(gone[i]);
    }

    /* Frees kept blocks until at most ``keep`` bytes are kept; from now
     * on at most ``limit`` bytes are kept. */
    static void imfilt_reuse_trim(size_t keep, size_t limit)
    {
        void *gone[IMFILT_REUSE_SLOTS];
        int ngone = 0;
        PyThread_acquire_lock(imfilt_reuse.lock, WAIT_LOCK);
        imfilt_reuse.limit = limit;
        while (imfilt_reuse.n > 0 && imfilt_reuse.kept > keep) {
            gone[ngone++] = imfilt_reuse.ptr[0];
            imfilt_reuse_drop(0);
        }
        PyThread_release_lock(imfilt_reuse.lock);
        for (int i = 0; i < ngone; i++)
            free(gone[i]);
    }

    static PyDataMem_Handler imfilt_reuse_handler = {
        "imfilt_reuse", 1,
        {NULL, imfilt_reuse_malloc, imfilt_reuse_calloc, imfilt_reuse_realloc,
         imfilt_reuse_free}
    };

    static int imfilt_reuse_init(size_t limit)
    {
        imfilt_reuse.lock = PyThread_allocate_lock();
        imfilt_reuse.limit = limit;
        return imfilt_reuse.lock != NULL;
    }

    /* In a forked child: another thread of the parent may have held the
     * lock at the fork, so the child takes a new one (the kept blocks are
     * the child's own copies and stay valid). */
    static void imfilt_reuse_after_fork(void)
    {
        PyThread_type_lock lock = PyThread_allocate_lock();
        if (lock != NULL)
            imfilt_reuse.lock = lock;
    }
    """
    int IMFILT_REUSE_SLOTS
    size_t IMFILT_REUSE_MIN_BYTES
    void imfilt_reuse_after_fork()
    PyDataMem_Handler imfilt_reuse_handler
    int imfilt_reuse_init(size_t limit)
    void imfilt_reuse_trim(size_t keep, size_t limit) nogil
    size_t imfilt_reuse_limit "imfilt_reuse.limit"
    size_t imfilt_reuse_kept "imfilt_reuse.kept"
    int imfilt_reuse_n "imfilt_reuse.n"
    unsigned long long imfilt_reuse_hits "imfilt_reuse.hits"
    unsigned long long imfilt_reuse_misses "imfilt_reuse.misses"

import_array()

#: Arrays smaller than this come from NumPy's own allocator: their page
#: faults cost little next to the work that fills them.
MIN_BYTES = int(IMFILT_REUSE_MIN_BYTES)

#: Most blocks kept at once.
SLOTS = IMFILT_REUSE_SLOTS

_ENV = "IMFILT_REUSE_MIB"

#: Bytes kept at most unless the environment says otherwise.
DEFAULT_LIMIT = 256 << 20


def _limit_from_environment():
    text = os.environ.get(_ENV, "").strip()
    if not text:
        return DEFAULT_LIMIT
    try:
        mib = float(text)
    except ValueError:
        mib = -1.0
    if not mib >= 0:     # also NaN
        warnings.warn(f"{_ENV}={text!r} is not a number of MiB >= 0; using the default "
                      f"{DEFAULT_LIMIT >> 20}", RuntimeWarning, stacklevel=2)
        return DEFAULT_LIMIT
    return int(min(mib, 1 << 40) * (1 << 20))


if not imfilt_reuse_init(_limit_from_environment()):
    raise MemoryError("imfilt: could not allocate the lock of its memory reuse")

_HANDLER = PyCapsule_New(<void *>&imfilt_reuse_handler, "mem_handler", NULL)


def _after_fork_in_child():
    imfilt_reuse_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _openmp_compiled():
    """True if this module was compiled with OpenMP (it runs no parallel code)."""
    return bool(imfilt_openmp_compiled())


def empty(shape, dtype=float):
    """``numpy.empty(shape, dtype)``, on reused memory when it is large.

    ``shape`` is an int or a sequence of ints; ``dtype`` a NumPy dtype or type.
    """
    dt = np.dtype(dtype)
    nbytes = dt.itemsize
    if isinstance(shape, (int, np.integer)):
        nbytes *= int(shape)
    else:
        for n in shape:
            nbytes *= int(n)
    if nbytes < MIN_BYTES or nbytes > imfilt_reuse_limit:
        return np.empty(shape, dt)
    old = PyDataMem_SetHandler(_HANDLER)
    try:
        return np.empty(shape, dt)
    finally:
        PyDataMem_SetHandler(old)


def limit():
    """Bytes of freed large arrays kept for reuse at most (0: none)."""
    return int(imfilt_reuse_limit)


def set_limit(nbytes):
    """Keep at most ``nbytes`` (an int >= 0) of freed large arrays; returns the old limit."""
    old = int(imfilt_reuse_limit)
    imfilt_reuse_trim(<size_t>nbytes, <size_t>nbytes)
    return old


def release():
    """Free every kept block now."""
    imfilt_reuse_trim(0, imfilt_reuse_limit)


def stats():
    """``(blocks kept, bytes kept, reuses, fresh allocations)``."""
    return (int(imfilt_reuse_n), int(imfilt_reuse_kept), int(imfilt_reuse_hits),
            int(imfilt_reuse_misses))
