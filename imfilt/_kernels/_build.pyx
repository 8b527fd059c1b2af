"""Run-time view of how the kernels were built (OpenMP, compiler flags)."""

from imfilt._kernels._common cimport (
    imfilt_build_flags,
    imfilt_omp_max_threads,
    imfilt_openmp_compiled,
    imfilt_openmp_version,
)


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
    """The optimisation, architecture and OpenMP flags setup.py used."""
    return imfilt_build_flags().decode("ascii", "replace")
