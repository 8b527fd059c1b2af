"""Measure the constants of imfilt's method="auto" cost model.

    python benchmarks/calibrate_auto.py            # print the fitted constants
    python benchmarks/calibrate_auto.py --write    # also rewrite imfilt/_auto_constants.py

Times the direct kernel (1 and 2 threads) and the FFT path (overlap-save
blocks; 1 and 2 threads) over a small grid of image and kernel sizes, and
fits the linear cost terms of ``imfilt._methods.estimate_costs`` by least
squares.
"""

import argparse
import os
import pathlib
import sys

import numpy as np

import imfilt
from imfilt import _auto_constants as K
from imfilt import _methods
from harness import median_time

TARGET = pathlib.Path(__file__).resolve().parent.parent / "imfilt" / "_auto_constants.py"


def _problem(n, k, dtype, nthreads, kernel=None):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, n, n)).astype(dtype)
    w = (rng.standard_normal((k, k)) if kernel is None else kernel).astype(dtype)[None]
    return _methods.Problem(x=x, w=w, pads=((k // 2, (k - 1) // 2),) * 2, stride=(1, 1),
                            dilation=(1, 1), boundary="symm", fill=0.0,
                            compute=np.dtype(dtype), nthreads=nthreads)


def _lstsq(A, y):
    """Non-negative-ish least squares on relative error (weights 1/y)."""
    A = np.asarray(A, float)
    y = np.asarray(y, float)
    coef, *_ = np.linalg.lstsq(A / y[:, None], np.ones_like(y), rcond=None)
    return np.maximum(coef, 1e-14)


def fit(repeat):
    consts = {}
    for dtype, key in ((np.float32, "f32"), (np.float64, "f64")):
        # direct and separable share the kernel: t = taps * a + outputs * b
        A, y = [], []
        for n in (256, 512, 1024, 2048):
            for k in (1, 3, 5, 9, 15):
                p = _problem(n, k, dtype, 1)
                t = median_time(lambda: _methods.run(p, "direct"), repeat=repeat)
                A.append(_methods.direct_features(p))
                y.append(t)
        a, b = _lstsq(A, y)
        consts[f"DIRECT_PER_TAP_{key}"], consts[f"DIRECT_PER_OUTPUT_{key}"] = a, b
        # fft: a fixed cost per call (the plan, the kernel's spectrum, the
        # block tables) beyond the direct method's, measured on tiny images
        tiny = _problem(32, 9, dtype, 1)
        K.FFT_OVERHEAD = max(K.DIRECT_OVERHEAD, K.DIRECT_OVERHEAD + median_time(
            lambda: _methods.run(tiny, "fft"), repeat=4 * repeat) - median_time(
            lambda: _methods.run(tiny, "direct"), repeat=4 * repeat))
        consts[f"FFT_OVERHEAD_{key}"] = K.FFT_OVERHEAD
        # fft: t = points * c1 + blocks * c2 (single thread, overlap-save
        # blocks of _methods.block_plan, whose choice uses these constants:
        # iterate twice so the plans are those of the fitted model)
        for _ in range(2):
            A, y = [], []
            for n in (128, 256, 512, 1024, 2048):
                for k in (9, 15, 31, 63, 127):
                    if k >= n:
                        continue
                    p = _problem(n, k, dtype, 1)
                    t = median_time(lambda: _methods.run(p, "fft"), repeat=max(3, repeat // 2))
                    A.append(_methods.fft_features(p))
                    y.append(max(t - K.FFT_OVERHEAD, t * 0.05))
            c1, c2 = _lstsq(A, y)
            K.FFT_PER_POINT_LOG[key], K.FFT_PER_BLOCK = c1, min(c2, 2e-5)
            _methods.block_plan.cache_clear()
        consts[f"FFT_PER_POINT_LOG_{key}"], consts[f"FFT_PER_BLOCK_{key}"] = c1, min(c2, 2e-5)
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
FFT_PER_BLOCK = {max(c["FFT_PER_BLOCK_f32"], c["FFT_PER_BLOCK_f64"]):.3e}
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
