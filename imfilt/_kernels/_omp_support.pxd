# Build facts shared by every kernel module: whether *this* translation unit
# was compiled with OpenMP, the OpenMP version and the compiler flags that
# setup.py chose.  Each kernel module cimports these so a test can check
# every module, not just one.
cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int imfilt_openmp_compiled(void) { return 1; }
    static int imfilt_openmp_version(void) { return _OPENMP; }
    static int imfilt_omp_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int imfilt_openmp_compiled(void) { return 0; }
    static int imfilt_openmp_version(void) { return 0; }
    static int imfilt_omp_max_threads(void) { return 1; }
    #endif
    #ifndef IMFILT_BUILD_FLAGS
    #define IMFILT_BUILD_FLAGS "unknown"
    #endif
    static const char *imfilt_build_flags(void) { return IMFILT_BUILD_FLAGS; }
    """
    int imfilt_openmp_compiled() noexcept nogil
    int imfilt_openmp_version() noexcept nogil
    int imfilt_omp_max_threads() noexcept nogil
    const char *imfilt_build_flags() noexcept nogil
