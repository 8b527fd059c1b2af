# Shared by every kernel module (cimport from here; never copy):
#
# - ``real_t``: the float/double fused type of the floating-point kernels
#   (one definition, so every module specialises the same two types);
# - the OpenMP facts of *this* translation unit (each module cimports them,
#   so a test can check that every module was compiled with OpenMP);
# - ``imfilt_team_size()``: the number of threads of the enclosing parallel
#   region (1 outside one, or without OpenMP).  Every kernel records it from
#   its prange body with ``imfilt_note_team(&used)`` and returns ``used``, so
#   Python knows how many threads really ran (the fork guard and the thread
#   tests read it).  Not by assigning ``used = imfilt_team_size()`` there:
#   Cython makes a variable assigned in a prange body firstprivate and
#   lastprivate of an ``omp for nowait``, and with a dynamic schedule Clang's
#   OpenMP (libomp) often copies out the initial value instead (1 for a
#   two-thread region about half the time; GCC's libgomp does not);
# - ``WORK_PER_ELEMENT``: the thread policy counts work in multiply-adds
#   ("tap-outputs") and compares it with the minimum parallel work passed
#   from Python (``imfilt._threads.min_parallel_work()``); a kernel doing a
#   few operations per element (elementwise NaN passes, pyramids, pooling,
#   3x3 edges) counts each element as this many work items;
# - ``imfilt_max_abs_bits_f32/_f64``: the bit maximum of ``_bits.h``, and
#   ``max_abs``: the largest magnitude of a run of floats from it.

from libc.math cimport NAN
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy

ctypedef fused real_t:
    float
    double

cdef enum:
    WORK_PER_ELEMENT = 32

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int imfilt_openmp_compiled(void) { return 1; }
    static int imfilt_openmp_version(void) { return _OPENMP; }
    static int imfilt_omp_max_threads(void) { return omp_get_max_threads(); }
    static int imfilt_team_size(void) { return omp_get_num_threads(); }
    static void imfilt_note_team(int *used) {
        int n = omp_get_num_threads();
    #if _OPENMP >= 201107   /* 'atomic write' is OpenMP 3.1; MSVC has 2.0 */
        #pragma omp atomic write
    #endif
        *used = n;
    }
    #else
    static int imfilt_openmp_compiled(void) { return 0; }
    static int imfilt_openmp_version(void) { return 0; }
    static int imfilt_omp_max_threads(void) { return 1; }
    static int imfilt_team_size(void) { return 1; }
    static void imfilt_note_team(int *used) { *used = 1; }
    #endif
    #ifndef IMFILT_BUILD_FLAGS
    #define IMFILT_BUILD_FLAGS "unknown"
    #endif
    static const char *imfilt_build_flags(void) { return IMFILT_BUILD_FLAGS; }
    """
    int imfilt_openmp_compiled() noexcept nogil
    int imfilt_openmp_version() noexcept nogil
    int imfilt_omp_max_threads() noexcept nogil
    int imfilt_team_size() noexcept nogil
    void imfilt_note_team(int *used) noexcept nogil
    const char *imfilt_build_flags() noexcept nogil


# The largest magnitude of n floats on their bits, and inf's bits: a value
# above inf's is NaN (see _bits.h).
cdef extern from "_bits.h" nogil:
    uint32_t imfilt_max_abs_bits_f32(const float *x, Py_ssize_t n) noexcept
    uint64_t imfilt_max_abs_bits_f64(const double *x, Py_ssize_t n) noexcept
    uint32_t IMFILT_F32_INF_BITS
    uint64_t IMFILT_F64_INF_BITS


cdef inline double max_abs(const real_t *x, Py_ssize_t n) noexcept nogil:
    """The largest ``|x[i]|`` of ``n`` values, NaN when one is NaN, inf with an
    infinity, 0 for none: one vectorised integer maximum of the bits."""
    cdef uint32_t m32
    cdef uint64_t m64
    cdef float f
    cdef double d
    if real_t is float:
        m32 = imfilt_max_abs_bits_f32(x, n)
        memcpy(&f, &m32, sizeof(f))
        return NAN if m32 > IMFILT_F32_INF_BITS else f
    m64 = imfilt_max_abs_bits_f64(x, n)
    memcpy(&d, &m64, sizeof(d))
    return NAN if m64 > IMFILT_F64_INF_BITS else d


cdef inline Py_ssize_t imin(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return a if a < b else b


cdef inline Py_ssize_t imax(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return a if a > b else b


cdef inline bint use_threads(int nthreads, Py_ssize_t work, Py_ssize_t min_work) noexcept nogil:
    """The thread policy of every kernel: a parallel region only with more than
    one thread and at least ``min_work`` work items (see WORK_PER_ELEMENT)."""
    return nthreads > 1 and work >= min_work
