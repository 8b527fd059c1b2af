"""Smoothing filters against OpenCV, scipy.ndimage and scikit-image.

    python benchmarks/bench_filters.py [--quick] [--repeat 7] [--workers 2]

Workloads (2048^2 and 4096^2; float32, float64 and uint8 input):

- ``gaussian`` sigma 1, 2, 5, 10 vs ``cv2.GaussianBlur`` with the same kernel
  radius (``int(4 sigma + 0.5)``) and ``scipy.ndimage.gaussian_filter``;
- ``box`` 3, 15, 31 vs ``cv2.blur`` and ``scipy.ndimage.uniform_filter``;
- uint8 images also as OpenCV filters them, uint8 in and out (``dtype=np.uint8``,
  checked within two grey levels of OpenCV's fixed-point Gaussian, one of its box);
- ``convolve(method='separable')`` of a 15x15 Gaussian vs ``cv2.sepFilter2D``;
- ``gaussian_laplace``, ``gaussian_gradient_magnitude`` (ndimage) and
  ``unsharp_mask`` (scikit-image) at sigma 2;
- 3-D ``gaussian`` on 256^3 float32, sigma 2, vs ndimage.

Every implementation is checked against imfilt before timing; the table
reports medians and ratios (anchor / imfilt: > 1 means imfilt is faster)
measured in this one process, imfilt and its anchors timed in turn.  ``--quick``: 2048^2 float32 only, fewer cases.
Targets: gaussian >= 1.2x GaussianBlur and >= 10x ndimage; box >= cv2.blur;
separable convolve >= 1.2x sepFilter2D; LoG/GGM/unsharp >= 10x; 3-D >= 5x.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (check_close, format_table, interleaved_medians, ms,  # noqa: E402
                     print_config, ratio)

import imfilt  # noqa: E402

try:
    import cv2
except ImportError:  # OpenCV is optional: its columns are skipped
    cv2 = None
try:
    import skimage.filters as skf
except ImportError:
    skf = None


def image(n, dtype, rng):
    if np.dtype(dtype) == np.uint8:
        return rng.integers(0, 256, size=(n, n), dtype=np.uint8)
    return rng.standard_normal((n, n)).astype(dtype)


def as_float(a, dtype):
    return a if a.dtype.kind == "f" else a.astype(np.float32)


def run_case(rows, label, ours, anchors, repeat, rtol):
    """Check every anchor against imfilt, time all, append one row per anchor."""
    ref = ours()
    for name, (fn, check) in anchors.items():
        if check:
            check_close(f"{label} {name}", fn(), ref, rtol)
    # imfilt and its anchors take turns (round robin), so that a change in
    # the shared machine's load hits all of them alike.
    fns = {"imfilt": ours, **{name: fn for name, (fn, _) in anchors.items()}}
    times = interleaved_medians(fns, repeat=repeat)
    t_ours = times.pop("imfilt")
    for name, t in times.items():
        rows.append([label, ms(t_ours), name, ms(t), ratio(t, t_ours)])
        print("  " + " | ".join(rows[-1]), flush=True)   # progress
    if not anchors:
        rows.append([label, ms(t_ours), "-", "-", "-"])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeat", type=int, default=None)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--sizes", type=int, nargs="*", default=None,
                   help="image sizes (default 2048 4096; --quick: 2048)")
    args = p.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 7)
    w = args.workers
    if cv2 is not None:
        cv2.setNumThreads(w)
    print_config()
    rng = np.random.default_rng(0)
    sizes = args.sizes or ([2048] if args.quick else [2048, 4096])
    dtypes = [np.float32] if args.quick else [np.float32, np.float64, np.uint8]
    sigmas = [2, 8] if args.quick else [1, 2, 5, 10]
    boxes = [3, 15] if args.quick else [3, 15, 31]
    rows = []

    for n in sizes:
        for dt in dtypes:
            x = image(n, dt, rng)
            xf = as_float(x, dt)
            tag = f"{n}^2 {np.dtype(dt).name}"
            rt = 2e-5 if dt == np.uint8 or dt == np.float32 else 1e-10
            for s in sigmas:
                r = int(4 * s + 0.5)
                anchors = {}
                if cv2 is not None:
                    anchors["cv2.GaussianBlur"] = (
                        lambda x=x, r=r, s=s: cv2.GaussianBlur(
                            x, (2 * r + 1, 2 * r + 1), s, borderType=cv2.BORDER_REFLECT),
                        dt != np.uint8)
                if s <= 2 or not args.quick:
                    anchors["ndimage.gaussian_filter"] = (
                        lambda xf=xf, s=s: ndi.gaussian_filter(xf, s), True)
                run_case(rows, f"gaussian s={s} {tag}",
                         lambda x=x, s=s: imfilt.gaussian(x, s, workers=w), anchors, repeat,
                         max(rt, 1e-6) if dt != np.float64 else 1e-9)
                if dt == np.uint8 and cv2 is not None:
                    # The same job as OpenCV's: uint8 in, uint8 out.  OpenCV's uint8
                    # Gaussian uses fixed-point weights: within 2 levels (the smoothed
                    # values exceed 128, so 2.01 / 128 of the largest is >= 2).
                    run_case(rows, f"gaussian s={s} {tag}->uint8",
                             lambda x=x, s=s: imfilt.gaussian(x, s, dtype=np.uint8, workers=w),
                             {"cv2.GaussianBlur": anchors["cv2.GaussianBlur"][:1] + (True,)},
                             repeat, 2.01 / 128)
            for k in boxes:
                anchors = {}
                if cv2 is not None:
                    anchors["cv2.blur"] = (
                        lambda x=x, k=k: cv2.blur(x, (k, k), borderType=cv2.BORDER_REFLECT),
                        dt != np.uint8)
                    if dt == np.uint8:
                        # The same job as imfilt's default: uint8 in, float32 out.
                        anchors["cv2.boxFilter CV_32F"] = (
                            lambda x=x, k=k: cv2.boxFilter(x, cv2.CV_32F, (k, k),
                                                           borderType=cv2.BORDER_REFLECT),
                            True)
                anchors["ndimage.uniform_filter"] = (lambda xf=xf, k=k: ndi.uniform_filter(xf, k),
                                                     True)
                run_case(rows, f"box {k} {tag}", lambda x=x, k=k: imfilt.box(x, k, workers=w),
                         anchors, repeat, 1e-5 if dt != np.float64 else 1e-9)
                if dt == np.uint8 and cv2 is not None:
                    run_case(rows, f"box {k} {tag}->uint8",
                             lambda x=x, k=k: imfilt.box(x, k, dtype=np.uint8, workers=w),
                             {"cv2.blur": anchors["cv2.blur"][:1] + (True,)}, repeat, 1.01 / 128)
            if dt != np.uint8:
                g = imfilt.gaussian_kernel(15 / 6, radius=7)
                k2 = np.outer(g, g)
                anchors = {}
                if cv2 is not None:
                    anchors["cv2.sepFilter2D"] = (
                        lambda x=x, g=g: cv2.sepFilter2D(x, -1, g, g,
                                                         borderType=cv2.BORDER_REFLECT_101),
                        True)
                run_case(rows, f"convolve 15x15 separable {tag}",
                         lambda x=x: imfilt.convolve(x, k2, mode="same", boundary="reflect",
                                                     method="separable", workers=w),
                         anchors, repeat, 1e-5 if dt == np.float32 else 1e-9)
            if dt == np.float32:
                run_case(rows, f"gaussian_laplace s=2 {tag}",
                         lambda x=x: imfilt.gaussian_laplace(x, 2.0, workers=w),
                         {"ndimage.gaussian_laplace": (lambda: ndi.gaussian_laplace(x, 2.0), True)},
                         repeat, 1e-5)
                run_case(rows, f"gaussian_gradient_magnitude s=2 {tag}",
                         lambda x=x: imfilt.gaussian_gradient_magnitude(x, 2.0, workers=w),
                         {"ndimage.gaussian_gradient_magnitude":
                          (lambda: ndi.gaussian_gradient_magnitude(x, 2.0), True)}, repeat, 1e-5)
                if skf is not None:
                    run_case(rows, f"unsharp_mask r=2 {tag}",
                             lambda x=x: imfilt.unsharp_mask(x, 2.0, 1.0, workers=w),
                             {"skimage.unsharp_mask":
                              (lambda: skf.unsharp_mask(x, 2.0, 1.0, preserve_range=True), True)},
                             repeat, 1e-5)
                    run_case(rows, f"difference_of_gaussians 1,3 {tag}",
                             lambda x=x: imfilt.difference_of_gaussians(x, 1.0, 3.0,
                                                                        boundary="edge", workers=w),
                             {"skimage.difference_of_gaussians":
                              (lambda: skf.difference_of_gaussians(x, 1.0, 3.0), True)},
                             repeat, 1e-5)

    vol = rng.standard_normal((128 if args.quick else 256,) * 3).astype(np.float32)
    run_case(rows, f"gaussian 3-D s=2 {vol.shape[0]}^3 float32",
             lambda: imfilt.gaussian(vol, 2.0, axes=(0, 1, 2), workers=w),
             {"ndimage.gaussian_filter": (lambda: ndi.gaussian_filter(vol, 2.0), True)},
             max(2, repeat // 2), 1e-5)

    print(format_table(["workload", "imfilt ms", "anchor", "anchor ms", "anchor/imfilt"], rows))


if __name__ == "__main__":
    main()
