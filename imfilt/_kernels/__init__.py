"""Private Cython kernels of imfilt.

Nothing here validates its input: the public modules one level up do that,
normalise dtype and memory layout, resolve the thread count and only then
call in.  Every kernel releases the GIL and writes disjoint output rows per
thread, so results do not depend on the thread count.

Runtime CPU dispatch.  On x86-64 the build compiles every kernel module
once per instruction-set level into ``_cpu_<level>/`` (see setup.py):
``baseline`` (x86-64-v2), ``avx2`` (x86-64-v3: AVX2 + FMA) and ``avx512``
(x86-64-v4).  At import this package asks the CPU which levels it runs and
puts the directory of the best one first on the package's ``__path__``, so
``from imfilt._kernels import _conv`` and ``import imfilt._kernels._conv``
load that level's build under the usual name; no other level's code is
ever loaded.  ``IMFILT_CPU_LEVEL=baseline|avx2|avx512`` in the environment
asks for a lower level (for testing and bug reports).  Every level gives
bit-identical results: the kernels fuse multiply-adds explicitly (the FMA
instruction where the level has it, the C library's correctly rounded
``fma()`` otherwise) and the compiler may not contract ``a * b + c`` itself.
"""

import os
import warnings

#: How many times GNU OpenMP's idle threads poll for the next parallel
#: region before they sleep (``GOMP_SPINCOUNT``; a poll is a ``pause``, about
#: 25 ns on the development machines, so about half a millisecond).
#: libgomp's own default, 300000, keeps every idle thread spinning for
#: several milliseconds after each region: on a busy 2-core machine the
#: spinning threads took the cores the working ones needed, and two-thread
#: calls ran several times slower than one thread.  Half a millisecond still
#: covers the regions of one call and back-to-back calls.  libgomp reads its
#: environment once, when it loads (with the first kernel module, below), so
#: the value is set for that moment only, and only when neither
#: ``OMP_WAIT_POLICY`` nor ``GOMP_SPINCOUNT`` is set (a user's choice wins).
#: (LLVM's libomp, used by Clang builds, ignores it and keeps its own policy.)
SPIN_COUNT = 20000
_spin_env = not any(k in os.environ for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"))
if _spin_env:
    os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
try:
    from imfilt._kernels import _build  # loads libgomp (which reads its environment now)
finally:
    if _spin_env:
        del os.environ["GOMP_SPINCOUNT"]
#: True when the short spin above is in force (a GCC build, nothing set by the user).
SPIN_SET_BY_IMFILT = _spin_env and _build.compiler().startswith("GCC")

#: Dispatch levels, lowest first.
LEVELS = ("baseline", "avx2", "avx512")

_ENV = "IMFILT_CPU_LEVEL"

#: /proc/cpuinfo flags of each level, for when cpuid cannot be asked.
_CPUINFO_FLAGS = {
    "baseline": {"ssse3", "sse4_1", "sse4_2", "popcnt", "cx16", "lahf_lm"},
    "avx2": {"avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "abm", "movbe"},
    "avx512": {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}


def _cpuinfo_level():
    """Index of the best level by /proc/cpuinfo, -1 below baseline, None unknown."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
            else:
                return None
    except OSError:
        return None
    level = -1
    for i, name in enumerate(LEVELS):
        if not _CPUINFO_FLAGS[name] <= flags:
            break
        level = i
    return level


def _choose(compiled, supported, requested):
    """(chosen level, reason) from the compiled levels, the CPU's best and a request.

    ``supported`` indexes LEVELS (-1: below baseline); ``requested`` is the
    raw IMFILT_CPU_LEVEL text or None.
    """
    best = max((i for i, name in enumerate(LEVELS) if name in compiled and i <= supported),
               default=None)
    if best is None:
        raise ImportError(
            "imfilt's kernels were built for x86-64-v2 or later (SSE4.2, POPCNT), which this "
            "CPU does not support; build from source with IMFILT_MARCH=none to run here"
        )
    if requested is None or not requested.strip():
        return LEVELS[best], "the best level this CPU supports"
    name = requested.strip().lower()
    if name not in LEVELS:
        raise ValueError(
            f"{_ENV}={requested!r} is not a CPU level; use one of {', '.join(LEVELS)} "
            "(or leave it unset to use the best level the CPU supports)"
        )
    want = LEVELS.index(name)
    if want > best:
        warnings.warn(
            f"{_ENV}={name!r} is above what this CPU and build support; using "
            f"{LEVELS[best]!r}", RuntimeWarning, stacklevel=3)
        return LEVELS[best], f"{_ENV}={name} asked for more than this CPU supports"
    chosen = max(i for i, level in enumerate(LEVELS) if level in compiled and i <= want)
    return LEVELS[chosen], f"forced by {_ENV}={name}"


def _select_level():
    compiled = _build.cpu_levels()
    requested = os.environ.get(_ENV)
    if not compiled:
        if requested and requested.strip():
            warnings.warn(
                f"{_ENV}={requested!r} has no effect: this imfilt build has a single CPU "
                f"level ({_build.single_level()})", RuntimeWarning, stacklevel=3)
        return None, None, None
    supported = _build.cpu_level()
    if supported == -2:
        supported = _cpuinfo_level()
        if supported is None:
            supported = 0  # nothing to ask: assume the baseline every build targets
    chosen, reason = _choose(compiled, supported, requested)
    return chosen, reason, supported


CPU_LEVEL, _REASON, _SUPPORTED = _select_level()
if CPU_LEVEL is not None:
    __path__.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    f"_cpu_{CPU_LEVEL}"))


def dispatch_summary():
    """One line: the CPU levels compiled and the one chosen, or the single target."""
    if CPU_LEVEL is None:
        return f"single level ({_build.single_level()}); no runtime CPU dispatch"
    compiled = ", ".join(_build.cpu_levels())
    cpu = LEVELS[_SUPPORTED] if _SUPPORTED >= 0 else "below baseline"
    return f"compiled {compiled}; chosen {CPU_LEVEL} ({_REASON}; this CPU: {cpu})"
