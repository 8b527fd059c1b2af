"""Measure the constants of imfilt's method="auto" cost model.

    python benchmarks/calibrate_auto.py            # print the fitted constants
    python benchmarks/calibrate_auto.py --write    # also rewrite imfilt/_auto_constants.py

Times the direct kernel and the FFT path (overlap-save blocks) on one
thread (CPU time of the thread, robust to other load) over a small grid of
image and kernel sizes, fits the linear cost terms of
``imfilt._methods.estimate_costs`` by least squares, and measures the
2-thread speed-up of each (wall time: run it on a quiet machine).
"""

import argparse
import os
import time
import pathlib
import sys

import numpy as np
from scipy.optimize import nnls

from harness import cpu_median, median_time
import imfilt
from imfilt import _auto_constants as K
from imfilt import _methods

TARGET = pathlib.Path(__file__).resolve().parent.parent / "imfilt" / "_auto_constants.py"


def _problem(n, k, dtype, nthreads, kernel=None):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, n, n)).astype(dtype)
    w = (rng.standard_normal((k, k)) if kernel is None else kernel).astype(dtype)[None]
    return _methods.Problem(x=x, w=w, pads=((k // 2, (k - 1) // 2),) * 2, stride=(1, 1),
                            dilation=(1, 1), boundary="symm", fill=0.0,
                            compute=np.dtype(dtype), nthreads=nthreads)


def cpu_time(fn, repeat):
    """Median CPU seconds of the calling thread over ``repeat`` calls of
    ``fn``: the single-thread fits use it, since on a shared machine the wall
    time of a preempted thread is noise and its CPU time is not."""
    return cpu_median(fn, repeat, clock=time.thread_time)


def interleaved_ratio(fn, ref, repeat):
    """Median over ``repeat`` rounds of CPU(fn) / CPU(ref), one call of each
    per round (after one warm-up call each)."""
    fn()
    ref()
    ratios = []
    for _ in range(repeat):
        t0 = time.thread_time()
        fn()
        t1 = time.thread_time()
        ref()
        t2 = time.thread_time()
        ratios.append((t1 - t0) / max(t2 - t1, 1e-9))
    return float(np.median(ratios))


def _lstsq(A, y):
    """Non-negative least squares on relative error (weights 1/y).

    Non-negative by construction (``scipy.optimize.nnls``), not by clipping
    an unconstrained fit: with nearly collinear features a clipped negative
    coefficient would leave the others fitted for it."""
    A = np.asarray(A, float)
    y = np.asarray(y, float)
    coef, _ = nnls(A / y[:, None], np.ones_like(y))
    return np.maximum(coef, 1e-14)


def fit(repeat):
    consts = {}
    for dtype, key in ((np.float32, "f32"), (np.float64, "f64")):
        # direct and separable share the kernel: t = taps * a + outputs * b
        A, y = [], []
        for n in (256, 512, 1024, 2048):
            for k in (1, 3, 5, 9, 15):
                p = _problem(n, k, dtype, 1)
                t = cpu_time(lambda: _methods.run(p, "direct"), repeat)
                A.append(_methods.direct_features(p))
                y.append(t)
        a, b = _lstsq(A, y)
        consts[f"DIRECT_PER_TAP_{key}"], consts[f"DIRECT_PER_OUTPUT_{key}"] = a, b
        # fft: a fixed cost per call (the plan, the kernel's spectrum, the
        # block tables) beyond the direct method's, measured on tiny images
        tiny = _problem(32, 9, dtype, 1)
        K.FFT_OVERHEAD = max(K.DIRECT_OVERHEAD, K.DIRECT_OVERHEAD + cpu_time(
            lambda: _methods.run(tiny, "fft"), 4 * repeat) - cpu_time(
            lambda: _methods.run(tiny, "direct"), 4 * repeat))
        consts[f"FFT_OVERHEAD_{key}"] = K.FFT_OVERHEAD
        # fft: t = points * c1 + blocks * c2, c2 nominal (single thread,
        # overlap-save blocks of _methods.block_plan, whose choice uses these
        # constants: iterate twice so the plans are those of the fitted
        # model).  What method='auto' needs is the FFT's cost relative to
        # direct's, and on a shared machine even a thread's CPU time drifts
        # by tens of percent from one minute to the next, alike for both
        # methods: so each FFT time is measured as a ratio to the direct
        # method on the same problem (calls interleaved) and turned into
        # seconds by the direct model fitted above.
        # The fit is on the images where the choice between the two is
        # close and costly (1024^2 and more, kernels around the crossover);
        # the per-block cost stays at its nominal value.
        for _ in range(2):
            A, y = [], []
            for n in (1024, 2048):
                for k in (9, 13, 15, 19, 31):
                    p = _problem(n, k, dtype, 1)
                    ratio = interleaved_ratio(lambda: _methods.run(p, "fft"),
                                              lambda: _methods.run(p, "direct"), max(3, repeat // 2))
                    taps, outs = _methods.direct_features(p)
                    t = K.DIRECT_OVERHEAD + ratio * (taps * a + outs * b)
                    points, blocks = _methods.fft_features(p)
                    A.append([points])
                    y.append(t - K.FFT_OVERHEAD - blocks * K.FFT_PER_BLOCK)
            # One scale: the shape of the block cost (n log n, cache penalty)
            # is fixed, and block_plan's choice depends on that shape only.
            (c1,) = _lstsq(A, y)
            K.FFT_PER_POINT_LOG[key] = c1
            _methods.block_plan.cache_clear()
        consts[f"FFT_PER_POINT_LOG_{key}"] = c1
    # thread efficiency: 2 threads vs 1 on large direct and FFT problems
    ratios = []
    for k in (3, 7):
        p1 = _problem(2048, k, np.float32, 1)
        p2 = _problem(2048, k, np.float32, 2)
        t1 = median_time(lambda: _methods.run(p1, "direct"), repeat=repeat)
        t2 = median_time(lambda: _methods.run(p2, "direct"), repeat=repeat)
        ratios.append(t1 / t2 - 1)
    consts["THREAD_EFFICIENCY"] = float(np.clip(np.median(ratios), 0.3, 1.0))
    ratios = []
    for dtype in (np.float32, np.float64):
        p1 = _problem(2048, 31, dtype, 1)
        p2 = _problem(2048, 31, dtype, 2)
        t1 = median_time(lambda: _methods.run(p1, "fft"), repeat=repeat)
        t2 = median_time(lambda: _methods.run(p2, "fft"), repeat=repeat)
        ratios.append(t1 / t2 - 1)
    consts["FFT_THREAD_EFFICIENCY"] = float(np.clip(np.median(ratios), 0.3, 1.0))
    return consts


def _cpu():
    """The CPU model and core count, for the constants' docstring."""
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        model = "an unknown CPU"
    return f"a {os.cpu_count()}-core {model}"


def render(c):
    return f'''"""Cost-model constants for method="auto" (seconds).

Regenerate with ``python benchmarks/calibrate_auto.py --write`` on the
target machine; the values below were measured on {_cpu()}.
"""

DIRECT_OVERHEAD = 2.0e-5
DIRECT_PER_TAP = {{"f32": {c["DIRECT_PER_TAP_f32"]:.3e}, "f64": {c["DIRECT_PER_TAP_f64"]:.3e}}}
DIRECT_PER_OUTPUT = {{"f32": {c["DIRECT_PER_OUTPUT_f32"]:.3e}, "f64": {c["DIRECT_PER_OUTPUT_f64"]:.3e}}}
FFT_OVERHEAD = {max(c["FFT_OVERHEAD_f32"], c["FFT_OVERHEAD_f64"]):.1e}
FFT_PER_BLOCK = 2.0e-6
FFT_PER_POINT_LOG = {{"f32": {c["FFT_PER_POINT_LOG_f32"]:.3e}, "f64": {c["FFT_PER_POINT_LOG_f64"]:.3e}}}
FFT_CACHE_PENALTY = 0.1
FFT_THREAD_EFFICIENCY = {c["FFT_THREAD_EFFICIENCY"]:.2f}
SEPARABLE_MIN_TAPS = 9
AUTO_DIRECT_SHORTCUT = 5.0e-4
THREAD_EFFICIENCY = {c["THREAD_EFFICIENCY"]:.2f}
MAX_USEFUL_THREADS = 64
'''


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {TARGET.name}")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    imfilt.show_config()
    consts = fit(args.repeat)
    text = render(consts)
    print(text)
    if args.write:
        TARGET.write_text(text)
        print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
