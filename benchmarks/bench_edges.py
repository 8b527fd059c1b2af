"""Sobel gradient magnitude, 4096x4096 uint8 -> float32, against the anchors.

    python benchmarks/bench_edges.py [--size 4096] [--repeat 15] [--workers N]

Prints the configuration first, checks that every implementation computes
the same thing (before any timing), then times them interleaved in this one
process and reports medians and ratios to imfilt (the machines are shared and
noisy: compare the ratios, not the absolute times).  A second table times
the 4-neighbour Laplacian (float32) against OpenCV and ndimage, a third
Canny against ``skimage.feature.canny`` on a 2048x2048 photograph.

Targets (issue 4): imfilt >= 2x faster than OpenCV's ``cv2.Sobel`` dx, dy +
``cv2.magnitude``, and >= 10x faster than ``skimage.filters.sobel``.
"""

import argparse
import platform
import statistics
import time

import numpy as np
import scipy
import scipy.ndimage as ndi
import skimage
import skimage.data
import skimage.feature
import skimage.filters

import harness  # noqa: F401  (times the source checkout's imfilt)
import imfilt


def photo(size):
    """The camera photograph tiled to ``size`` x ``size`` (realistic content)."""
    cam = skimage.data.camera()
    reps = -(-size // cam.shape[0])
    return np.ascontiguousarray(np.tile(cam, (reps, reps))[:size, :size])


def time_interleaved(funcs, repeat):
    """Median and minimum seconds per function, runs interleaved round-robin."""
    times = {name: [] for name in funcs}
    for name, f in funcs.items():   # warm-up (page faults, thread pools, imports)
        f()
    for _ in range(repeat):
        for name, f in funcs.items():
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    return {name: (statistics.median(t), min(t)) for name, t in times.items()}


def table(title, results, baseline):
    base = results[baseline][0]
    print(f"\n{title}")
    print(f"| {'implementation':<44} | {'median ms':>9} | {'min ms':>8} | {'vs imfilt':>9} |")
    print(f"|{'-' * 46}|{'-' * 11}|{'-' * 10}|{'-' * 11}|")
    for name, (med, best) in results.items():
        print(f"| {name:<44} | {med * 1e3:9.1f} | {best * 1e3:8.1f} | {med / base:8.2f}x |")


def check(name, got, ref, rtol):
    err = float(np.max(np.abs(got.astype(np.float64) - ref)) / max(1.0, np.abs(ref).max()))
    status = "ok" if err <= rtol else "MISMATCH"
    print(f"  agree {name:<40} max rel err {err:.1e}  {status}")
    if err > rtol:
        raise SystemExit(f"{name} does not agree with the reference; not timing it")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--workers", type=int, default=None,
                        help="imfilt threads (default: imfilt's default)")
    parser.add_argument("--no-canny", action="store_true", help="skip the Canny table")
    args = parser.parse_args(argv)

    imfilt.show_config()
    try:
        import cv2
    except ImportError:
        cv2 = None
    print(f"  scikit-image {skimage.__version__}, scipy {scipy.__version__}, "
          + (f"OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads)" if cv2 else "no OpenCV")
          + f", {platform.processor() or platform.machine()}")
    workers = imfilt._threads.resolve_workers(args.workers)
    print(f"  imfilt workers for this run: {workers}")

    x = photo(args.size)
    print(f"\nworkload: Sobel gradient magnitude of a {x.shape[0]}x{x.shape[1]} uint8 "
          "photograph -> float32, boundary symm (ndimage 'reflect', OpenCV BORDER_REFLECT)")

    funcs = {
        f"imfilt.sobel (fused, {workers} threads)": lambda: imfilt.sobel(x, workers=workers),
        "imfilt.sobel (fused, 1 thread)": lambda: imfilt.sobel(x, workers=1),
    }
    if cv2 is not None:
        def opencv():
            dx = cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
            dy = cv2.Sobel(x, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)
            return cv2.magnitude(dx, dy)
        funcs["OpenCV Sobel dx, dy + magnitude"] = opencv

    def scipy_ndimage():
        return np.hypot(ndi.sobel(x, 0, output=np.float32), ndi.sobel(x, 1, output=np.float32))
    funcs["scipy.ndimage.sobel x2 + np.hypot (float32)"] = scipy_ndimage
    funcs["skimage.filters.sobel (float64, normalised)"] = lambda: skimage.filters.sobel(x)

    # Agreement first: everything against a float64 reference.
    ref = np.hypot(ndi.sobel(x.astype(np.float64), 0), ndi.sobel(x.astype(np.float64), 1))
    mine = imfilt.sobel(x, workers=workers)
    assert mine.dtype == np.float32
    check("imfilt.sobel", mine, ref, 1e-6)
    assert np.array_equal(mine, imfilt.sobel(x, workers=1)), "thread count changed the result"
    if cv2 is not None:
        check("OpenCV", funcs["OpenCV Sobel dx, dy + magnitude"](), ref, 1e-6)
    check("scipy.ndimage", scipy_ndimage(), ref, 1e-6)
    sk = skimage.filters.sobel(x)
    check("skimage.filters.sobel (x 4*255*sqrt(2))", sk * (4 * 255 * np.sqrt(2)), ref, 1e-9)
    check("imfilt.sobel(convention='skimage')",
          imfilt.sobel(x, convention="skimage", workers=workers) * (4 * 255 * np.sqrt(2)),
          ref, 1e-6)

    slow = {k: v for k, v in funcs.items() if k.startswith(("scipy", "skimage"))}
    fast = {k: v for k, v in funcs.items() if k not in slow}
    results = time_interleaved(fast, args.repeat)
    results.update(time_interleaved(slow, max(3, args.repeat // 4)))
    baseline = next(iter(funcs))
    table(f"Sobel magnitude {x.shape[0]}x{x.shape[1]} uint8 -> float32", results, baseline)

    base = results[baseline][0]
    print()
    if cv2 is not None:
        r = results["OpenCV Sobel dx, dy + magnitude"][0] / base
        print(f"imfilt vs OpenCV:  {r:.1f}x faster (target >= 2x): {'met' if r >= 2 else 'NOT met'}")
    r = results["skimage.filters.sobel (float64, normalised)"][0] / base
    print(f"imfilt vs skimage: {r:.1f}x faster (target >= 10x): {'met' if r >= 10 else 'NOT met'}")

    # The 4-neighbour Laplacian of the same photograph as float32 (its own
    # fused kernel): against OpenCV's Laplacian(ksize=1) and ndimage.laplace.
    xf = x.astype(np.float32)
    lap = {f"imfilt.laplace ({workers} threads)": lambda: imfilt.laplace(xf, workers=workers)}
    if cv2 is not None:
        lap["OpenCV Laplacian(ksize=1)"] = lambda: cv2.Laplacian(
            xf, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT)
    lap["scipy.ndimage.laplace (float32)"] = lambda: ndi.laplace(xf)
    lref = ndi.laplace(xf.astype(np.float64))
    print()
    mine = imfilt.laplace(xf, workers=workers)
    check("imfilt.laplace", mine, lref, 1e-6)
    assert np.array_equal(mine, ndi.laplace(xf)), "imfilt.laplace lost ndimage's bits"
    if cv2 is not None:
        check("OpenCV Laplacian", lap["OpenCV Laplacian(ksize=1)"](), lref, 1e-6)
    res = time_interleaved({k: v for k, v in lap.items() if not k.startswith("scipy")},
                           args.repeat)
    res.update(time_interleaved({k: v for k, v in lap.items() if k.startswith("scipy")},
                                max(3, args.repeat // 4)))
    table(f"Laplacian {xf.shape[0]}x{xf.shape[1]} float32 (bits of ndimage.laplace)", res,
          next(iter(res)))

    if not args.no_canny:
        y = photo(2048)
        a = imfilt.canny(y, 2.0, workers=workers)
        b = skimage.feature.canny(y, 2.0)
        agree = np.count_nonzero(a & b) / max(1, np.count_nonzero(a | b))
        print(f"\n  agree imfilt.canny vs skimage.feature.canny: {100 * agree:.2f}% of edge pixels")
        res = time_interleaved({
            f"imfilt.canny (sigma=2, {workers} threads)": lambda: imfilt.canny(y, 2.0, workers=workers),
            "skimage.feature.canny (sigma=2)": lambda: skimage.feature.canny(y, 2.0),
        }, max(3, args.repeat // 3))
        table("Canny 2048x2048 uint8, sigma=2, default thresholds", res, next(iter(res)))


if __name__ == "__main__":
    main()
