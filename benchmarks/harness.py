"""Shared benchmark plumbing: configuration header, medians, ratio tables.

Every benchmark in this folder times imfilt and its anchors in one process on
the same data, checks that they agree first, and reports medians of repeated
runs with ratios (anchor time / imfilt time: > 1 means imfilt is faster).
"""

import gc
import importlib.metadata
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

# Run from a source checkout: the in-place build next to this folder, not an
# imfilt installed elsewhere (an older wheel would be timed instead).  Every
# benchmark imports this module before imfilt.
_ROOT = Path(__file__).resolve().parents[1]
if (_ROOT / "imfilt" / "__init__.py").exists() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import numpy as np  # noqa: E402

import imfilt  # noqa: E402


#: Anchor modules and the distributions that install them.
_ANCHORS = (("scipy", ("scipy",)),
            ("cv2", ("opencv-python-headless", "opencv-python",
                     "opencv-contrib-python-headless", "opencv-contrib-python")),
            ("torch", ("torch",)),
            ("skimage", ("scikit-image",)))


def _anchor_version(module, distributions):
    """The version of an anchor without importing it.

    A benchmark imports only the libraries it times: importing PyTorch just
    to print its version would make every ``gc.collect()`` between timed
    calls walk PyTorch's objects (about 100 ms) and leave the caches cold
    for whichever call comes next.
    """
    if module in sys.modules:
        return getattr(sys.modules[module], "__version__", "?")
    for dist in distributions:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return None


def print_config(file=sys.stdout):
    """Print imfilt's build/thread configuration and the anchors' versions."""
    imfilt.show_config(file=file)
    versions = []
    for name, distributions in _ANCHORS:
        version = _anchor_version(name, distributions)
        versions.append(f"{name} {version}" if version else f"{name} (not installed)")
    print("  anchors: " + ", ".join(versions), file=file)
    print(f"  machine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} logical CPUs", file=file)
    print(file=file, flush=True)


def median_time(fn, repeat=7, warmup=1, min_time=0.0):
    """Median wall time of ``fn()`` in seconds over ``repeat`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    while min_time and sum(times) < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cpu_median(fn, repeat, clock=time.process_time):
    """Median CPU seconds of ``fn()`` over ``repeat`` calls after one warm-up
    (``clock``: ``time.process_time``, or ``time.thread_time`` for the
    calling thread only).  At one thread the CPU time is the work itself;
    the wall time also counts waiting for a core on a busy machine."""
    fn()
    times = []
    for _ in range(repeat):
        c0 = clock()
        fn()
        times.append(clock() - c0)
    return statistics.median(times)


def interleaved_medians(fns, repeat=7, warmup=1):
    """Median wall time in seconds of each ``fns[name]()``, the calls taken in
    turn (round robin), so that a change in the machine's load hits all alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def load_average():
    """The 1-minute load average as text ("-" where the OS has none)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "-"


def peak_rss_mib():
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def check_close(name, got, ref, rtol, atol_scale=None):
    """Raise AssertionError when ``got`` and ``ref`` disagree beyond tolerance."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        raise AssertionError(f"{name}: shape {got.shape} != reference {ref.shape}")
    scale = atol_scale if atol_scale is not None else max(1.0, float(np.max(np.abs(ref))))
    err = float(np.max(np.abs(got - ref))) if got.size else 0.0
    if not err <= rtol * scale:
        raise AssertionError(f"{name}: max error {err:.3g} > {rtol:.1g} * {scale:.3g}")


def format_table(headers, rows):
    """A plain-text table (Markdown compatible) with right-aligned numbers."""
    cols = list(zip(*([headers] + rows))) if rows else [[h] for h in headers]
    widths = [max(len(str(c)) for c in col) for col in cols]
    def line(cells):
        return "| " + " | ".join(str(c).rjust(w) for c, w in zip(cells, widths)) + " |"
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def ms(seconds):
    return f"{seconds * 1e3:.2f}"


def ratio(anchor, ours):
    return f"{anchor / ours:.2f}x"
