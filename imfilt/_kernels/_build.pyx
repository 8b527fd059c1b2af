"""Run-time view of how the kernels were built, and the CPU probe of dispatch.

setup.py builds this module once, for the compiler's default target (no
``-march``), so it runs on every x86-64 CPU: ``cpu_level()`` asks the CPU
with ``cpuid`` (and the operating system with ``xgetbv``) which of the
instruction-set levels of the dispatched kernels it can run.
"""

from imfilt._kernels._common cimport (
    imfilt_build_flags,
    imfilt_omp_max_threads,
    imfilt_openmp_compiled,
    imfilt_openmp_version,
)

cdef extern from *:
    """
    #ifndef IMFILT_CPU_LEVELS
    #define IMFILT_CPU_LEVELS ""
    #endif
    #ifndef IMFILT_SINGLE_LEVEL
    #define IMFILT_SINGLE_LEVEL "unknown"
    #endif
    static const char *imfilt_cpu_levels(void) { return IMFILT_CPU_LEVELS; }
    #if defined(__clang__)
    static const char *imfilt_compiler(void) { return "Clang " __clang_version__; }
    #elif defined(__GNUC__)
    static const char *imfilt_compiler(void) { return "GCC " __VERSION__; }
    #elif defined(_MSC_VER)
    #define IMFILT_STR2(x) #x
    #define IMFILT_STR(x) IMFILT_STR2(x)
    static const char *imfilt_compiler(void) { return "MSVC " IMFILT_STR(_MSC_FULL_VER); }
    #else
    static const char *imfilt_compiler(void) { return "unknown"; }
    #endif
    static const char *imfilt_single_level(void) { return IMFILT_SINGLE_LEVEL; }

    /* -2: not an x86-64 CPU or no way to ask; -1: below x86-64-v2;
     * 0: x86-64-v2 (baseline); 1: x86-64-v3 (avx2); 2: x86-64-v4 (avx512).
     * The feature lists are those of the psABI levels GCC and Clang compile
     * for with -march=x86-64-v2/v3/v4; the AVX and AVX-512 register states
     * must also be enabled by the operating system (XCR0). */
    #if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
    #include <cpuid.h>
    #if defined(__APPLE__)
    #include <sys/sysctl.h>
    #endif
    #define IMFILT_BIT(r, n) (((r) >> (n)) & 1u)
    static unsigned long long imfilt_xgetbv0(void) {
        unsigned int lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        return ((unsigned long long)hi << 32) | lo;
    }
    static int imfilt_cpu_level(void) {
        unsigned int a, b, c, d, c1, b7 = 0, x7c = 0, e7 = 0;
        unsigned long long xcr0 = 0;
        int v2, v3, v4, os_avx, os_avx512;
        if (!__get_cpuid(1, &a, &b, &c1, &d))
            return -2;
        if (__get_cpuid_max(0, 0) >= 7)
            __get_cpuid_count(7, 0, &a, &b7, &c, &d);
        if (__get_cpuid(0x80000001u, &a, &b, &x7c, &e7) == 0)
            x7c = 0;
        v2 = IMFILT_BIT(c1, 0) && IMFILT_BIT(c1, 9) && IMFILT_BIT(c1, 13)   /* SSE3 SSSE3 CX16 */
             && IMFILT_BIT(c1, 19) && IMFILT_BIT(c1, 20)                      /* SSE4.1 SSE4.2 */
             && IMFILT_BIT(c1, 23) && IMFILT_BIT(x7c, 0);                     /* POPCNT LAHF */
        if (!v2)
            return -1;
        if (IMFILT_BIT(c1, 27))                                              /* OSXSAVE */
            xcr0 = imfilt_xgetbv0();
        os_avx = (xcr0 & 0x6) == 0x6;                                        /* XMM, YMM */
        os_avx512 = (xcr0 & 0xe6) == 0xe6;                                   /* + opmask, ZMM */
    #if defined(__APPLE__)
        /* macOS enables the AVX-512 state on first use, so XCR0 does not
         * show it yet: ask the kernel instead. */
        {
            int v = 0; size_t n = sizeof v;
            if (sysctlbyname("hw.optional.avx512f", &v, &n, NULL, 0) == 0 && v)
                os_avx512 = os_avx;
        }
    #endif
        v3 = os_avx && IMFILT_BIT(c1, 12) && IMFILT_BIT(c1, 22)             /* FMA MOVBE */
             && IMFILT_BIT(c1, 28) && IMFILT_BIT(c1, 29)                    /* AVX F16C */
             && IMFILT_BIT(b7, 3) && IMFILT_BIT(b7, 5) && IMFILT_BIT(b7, 8) /* BMI1 AVX2 BMI2 */
             && IMFILT_BIT(x7c, 5);                                         /* LZCNT */
        if (!v3)
            return 0;
        v4 = os_avx512 && IMFILT_BIT(b7, 16) && IMFILT_BIT(b7, 17)          /* AVX512F DQ */
             && IMFILT_BIT(b7, 28) && IMFILT_BIT(b7, 30) && IMFILT_BIT(b7, 31); /* CD BW VL */
        return v4 ? 2 : 1;
    }
    #else
    static int imfilt_cpu_level(void) { return -2; }
    #endif
    """
    const char *imfilt_cpu_levels() noexcept nogil
    const char *imfilt_single_level() noexcept nogil
    const char *imfilt_compiler() noexcept nogil
    int imfilt_cpu_level() noexcept nogil


def openmp_compiled():
    """True when this module was compiled with OpenMP."""
    return bool(imfilt_openmp_compiled())


def openmp_version():
    """The ``_OPENMP`` date macro (e.g. 201511), or 0 without OpenMP."""
    return imfilt_openmp_version()


def omp_max_threads():
    """``omp_get_max_threads()``, or 1 without OpenMP."""
    return imfilt_omp_max_threads()


def build_flags():
    """The optimisation and OpenMP flags setup.py used (plus ``-march`` of a
    single-level build; a dispatched build's levels are in ``cpu_levels()``)."""
    return imfilt_build_flags().decode("ascii", "replace")


def compiler():
    """The C compiler that built this module, e.g. ``'GCC 12.2.0'``."""
    return imfilt_compiler().decode("ascii", "replace").strip()


def cpu_levels():
    """``{level: flags}`` of the dispatched kernel builds, lowest first.

    Empty for a single-level build (see ``single_level()``).
    """
    text = imfilt_cpu_levels().decode("ascii", "replace")
    levels = {}
    for item in text.split(";"):
        if item:
            name, _, flags = item.partition("=")
            levels[name] = flags
    return levels


def single_level():
    """The target of a single-level build (e.g. ``-march=native``), else ``''``."""
    return imfilt_single_level().decode("ascii", "replace")


def cpu_level():
    """What this CPU runs: -2 unknown, -1 below x86-64-v2, 0 x86-64-v2,
    1 x86-64-v3 (AVX2), 2 x86-64-v4 (AVX-512)."""
    return imfilt_cpu_level()
