"""The one place that decides how many threads a kernel uses.

``workers=None`` means the default: the value set by the innermost
:func:`set_workers` block of the calling thread, else ``OMP_NUM_THREADS``
when set, else every core available to the process (CPU affinity and cgroup
CPU quota respected).  ``workers=-1`` means every available core, ``-2`` all
but one, and so on; ``workers=0`` is an error.  imfilt never calls
``omp_set_num_threads``: each kernel call states its own thread count.
"""

import contextlib
import contextvars
import functools
import math
import os
import platform
import sys

from imfilt._validation import is_integer_like

__all__ = ["available_cores", "resolve_workers", "set_workers", "get_workers",
           "openmp_enabled", "show_config"]

_default_workers = contextvars.ContextVar("imfilt_default_workers", default=None)


@functools.lru_cache(maxsize=1)
def _cgroup_cpu_limit():
    """CPU limit from a cgroup v2/v1 quota, or None when unlimited/unknown.

    Read once per process: the files cost tens of microseconds per read
    and a container's quota does not change while it runs.
    """
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as f:
            quota = int(f.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as f:
            period = int(f.read())
        if quota > 0 and period > 0:
            return max(1, math.ceil(quota / period))
    except (OSError, ValueError):
        pass
    return None


def available_cores():
    """Number of cores this process may run on (affinity and cgroup quota)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    if limit is not None:
        n = min(n, limit)
    return max(1, n)


def _omp_num_threads():
    """The first level of ``OMP_NUM_THREADS`` as a positive int, or None."""
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n > 0 else None


def _check_workers(workers, param="workers"):
    if not is_integer_like(workers):
        raise ValueError(
            f"{param}={workers!r} is not valid; use None (the default), a positive "
            "number of threads, or a negative number to count back from all cores "
            "(-1 = all cores)"
        )
    workers = int(workers)
    if workers == 0:
        raise ValueError(
            f"{param}=0 is not valid; use None (the default), a positive number of "
            "threads, or -1 for all cores"
        )
    return workers


def resolve_workers(workers=None):
    """Turn a ``workers`` argument into a positive thread count."""
    if workers is None:
        workers = _default_workers.get()
        if workers is None:
            return _omp_num_threads() or available_cores()
    workers = _check_workers(workers)
    if workers < 0:
        n = available_cores() + 1 + workers
        if n < 1:
            raise ValueError(
                f"workers={workers} asks for fewer than one thread on a machine with "
                f"{available_cores()} available cores; use -1 .. -{available_cores()}"
            )
        return n
    return workers


def get_workers():
    """The thread count a call with ``workers=None`` uses right now.

    Examples
    --------
    >>> import imfilt
    >>> with imfilt.set_workers(1):
    ...     imfilt.get_workers()
    1
    """
    return resolve_workers(None)


@contextlib.contextmanager
def set_workers(workers):
    """Context manager: the default ``workers`` for calls inside the block.

    The setting is local to the calling thread (and asyncio task), so
    concurrent code is not affected; blocks nest.

    Parameters
    ----------
    workers : int
        Positive thread count, or negative to count back from all available
        cores (-1 = all).  0 is an error.

    Examples
    --------
    >>> import numpy as np, imfilt
    >>> image = np.ones((64, 64), dtype=np.float32)
    >>> with imfilt.set_workers(1):
    ...     out = imfilt.convolve(image, np.ones((3, 3)), mode="same")
    >>> float(out[10, 10])
    9.0
    """
    workers = _check_workers(workers)
    resolve_workers(workers)  # validate negative counts now, not at first use
    token = _default_workers.set(workers)
    try:
        yield
    finally:
        _default_workers.reset(token)


def _build_module():
    from imfilt._kernels import _build
    return _build


def openmp_enabled():
    """True when every kernel module of this build was compiled with OpenMP.

    Examples
    --------
    >>> import imfilt
    >>> isinstance(imfilt.openmp_enabled(), bool)
    True
    """
    import importlib
    import pkgutil

    import imfilt._kernels as kernels

    compiled = []
    for info in pkgutil.iter_modules(kernels.__path__):
        mod = importlib.import_module(f"imfilt._kernels.{info.name}")
        probe = getattr(mod, "_openmp_compiled", None) or getattr(mod, "openmp_compiled", None)
        if probe is not None:
            compiled.append(bool(probe()))
    return bool(compiled) and all(compiled)


def show_config(file=None):
    """Print how imfilt was built and how many threads it will use.

    Parameters
    ----------
    file : file-like, optional
        Where to print (default ``sys.stdout``).

    Examples
    --------
    >>> import io, imfilt
    >>> buf = io.StringIO()
    >>> imfilt.show_config(file=buf)
    >>> "OpenMP" in buf.getvalue()
    True
    """
    import numpy
    import scipy

    import imfilt

    build = _build_module()
    omp = openmp_enabled()
    lines = [
        f"imfilt {imfilt.__version__}",
        f"  OpenMP: {'yes (version ' + str(build.openmp_version()) + ')' if omp else 'NO - kernels run on one thread; rebuild with an OpenMP compiler'}",
        f"  build flags: {build.build_flags()}",
        f"  threads: default {get_workers()}, available cores {available_cores()}"
        + (f", OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}" if "OMP_NUM_THREADS" in os.environ else ""),
        f"  python {platform.python_version()} ({platform.machine()}, {platform.system()})",
        f"  numpy {numpy.__version__}, scipy {scipy.__version__}",
    ]
    print("\n".join(lines), file=file if file is not None else sys.stdout)
