"""Grey morphology and the bilateral filter at 2048x2048 against the anchors.

    python benchmarks/bench_morph.py [--size 2048] [--repeat 9] [--workers 2]

Prints the configuration, checks that imfilt and every anchor agree (exactly
for erosion/minimum_filter, within one grey level / 1e-3 of the range for the
bilateral filter), then times them interleaved in this one process and
reports medians and ratios (anchor time / imfilt time: > 1 means imfilt is
faster).  The machines are shared and noisy: compare ratios, not times.

Targets (issue 13): erosion / minimum_filter uint8 3x3 and 15x15 at least as
fast as ``cv2.erode`` and >= 30x ``scipy.ndimage.grey_erosion``; bilateral
diameter 9 (uint8 and float32) at least as fast as ``cv2.bilateralFilter``.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parent))

import imfilt  # noqa: E402
from harness import format_table, print_config  # noqa: E402

try:
    import cv2
except ImportError:  # the anchors are optional; imfilt is still timed
    cv2 = None


def time_interleaved(funcs, repeat):
    """Median seconds per function, runs interleaved round-robin (after one warm-up)."""
    times = {name: [] for name in funcs}
    for fn in funcs.values():
        fn()
    for _ in range(repeat):
        for name, fn in funcs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def photo(size, dtype):
    try:
        import skimage.data
        cam = skimage.data.camera()
    except ImportError:
        cam = np.random.default_rng(0).integers(0, 256, (512, 512)).astype(np.uint8)
    reps = -(-size // cam.shape[0])
    img = np.ascontiguousarray(np.tile(cam, (reps, reps))[:size, :size])
    return img if dtype == np.uint8 else img.astype(dtype) / 255


def bench_erosion(size, repeat, workers, rows):
    x = photo(size, np.uint8)
    for k in (3, 15):
        ours = {
            "imfilt.erosion": lambda: imfilt.erosion(x, k, workers=workers),
            "imfilt.minimum_filter": lambda: imfilt.minimum_filter(x, k, workers=workers),
        }
        ref = ndi.grey_erosion(x, size=k)
        for name, fn in ours.items():
            assert np.array_equal(fn(), ref), f"{name} {k}x{k} differs from ndimage"
        funcs = dict(ours)
        if cv2 is not None:
            kern = np.ones((k, k), np.uint8)
            cv = lambda: cv2.erode(x, kern, borderType=cv2.BORDER_REFLECT)  # noqa: E731
            assert np.array_equal(cv(), ref), "cv2.erode differs from ndimage"
            funcs["cv2.erode"] = cv
        t = time_interleaved(funcs, repeat if k == 3 else max(3, repeat // 2))
        # ndimage (one thread, ~100 ms) is timed on its own: inside the
        # rounds it would leave imfilt's OpenMP threads asleep before the
        # next call and charge their wake-up to whichever imfilt call follows.
        t.update(time_interleaved({"ndimage.grey_erosion": lambda: ndi.grey_erosion(x, size=k)},
                                  max(3, repeat // 2)))
        for name in ours:
            rows.append([f"{name} uint8 {k}x{k}", f"{t[name] * 1e3:.2f}",
                         f"{t['cv2.erode'] / t[name]:.2f}x" if "cv2.erode" in t else "-",
                         f"{t['ndimage.grey_erosion'] / t[name]:.1f}x"])
        if "cv2.erode" in t:
            rows.append([f"  cv2.erode {k}x{k}", f"{t['cv2.erode'] * 1e3:.2f}", "1.00x", ""])
        rows.append([f"  ndimage.grey_erosion {k}x{k}",
                     f"{t['ndimage.grey_erosion'] * 1e3:.2f}", "", "1.0x"])


def bench_bilateral(size, repeat, workers, rows):
    for dtype, sc in ((np.uint8, 30.0), (np.float32, 30.0 / 255)):
        x = photo(size, dtype)
        ours = lambda: imfilt.bilateral(x, 9, sc, 5, workers=workers)  # noqa: E731
        funcs = {"imfilt": ours}
        if cv2 is not None:
            cv = lambda: cv2.bilateralFilter(x, 9, sc, 5)  # noqa: E731
            got, ref = ours(), cv()
            if dtype == np.uint8:
                err = np.abs(np.rint(got) - ref).max()
                assert err <= 1, f"bilateral uint8 differs from OpenCV by {err}"
            else:
                err = np.abs(got - ref).max()
                assert err <= 1e-3, f"bilateral float32 differs from OpenCV by {err}"
            funcs["cv2"] = cv
        t = time_interleaved(funcs, max(3, repeat // 3))
        name = np.dtype(dtype).name
        rows.append([f"imfilt.bilateral d=9 {name}", f"{t['imfilt'] * 1e3:.1f}",
                     f"{t['cv2'] / t['imfilt']:.2f}x" if "cv2" in t else "-", ""])
        if "cv2" in t:
            rows.append([f"  cv2.bilateralFilter d=9 {name}", f"{t['cv2'] * 1e3:.1f}",
                         "1.00x", ""])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    print_config()
    if cv2 is not None:
        cv2.setNumThreads(args.workers)
    print(f"{args.size}^2, imfilt workers={args.workers}, OpenCV threads={args.workers}, "
          "ndimage one thread; medians of interleaved runs\n")
    rows = []
    bench_erosion(args.size, args.repeat, args.workers, rows)
    bench_bilateral(args.size, args.repeat, args.workers, rows)
    print(format_table(["workload", "median ms", "vs OpenCV", "vs ndimage"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
