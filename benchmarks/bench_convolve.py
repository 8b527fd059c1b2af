"""imfilt.convolve against scipy.signal, scipy.ndimage and OpenCV.

    python benchmarks/bench_convolve.py              # the issue grid
    python benchmarks/bench_convolve.py --quick      # a fast smoke run

For each image size, dtype, kernel size and thread count the script first
checks that every library gives the same 'same'-mode result (zero boundary;
OpenCV gets the flipped kernel, since filter2D correlates), then times each
one and prints medians and ratios (anchor / imfilt, > 1 = imfilt faster).
scipy.signal.convolve2d and scipy.ndimage are single-threaded; OpenCV uses
``cv2.setNumThreads`` with the same thread count as imfilt.
"""

import argparse
import sys

import numpy as np
from scipy import ndimage, signal

from harness import check_close, format_table, median_time, ms, print_config, ratio
import imfilt

try:
    import cv2
except ImportError:  # OpenCV is an optional anchor
    cv2 = None


def run(sizes, kernels, dtypes, threads, repeat, slow_repeat):
    rng = np.random.default_rng(0)
    headers = ["size", "dtype", "kernel", "threads", "imfilt ms", "convolve2d ms", "x convolve2d",
               "ndimage ms", "x ndimage", "cv2.filter2D ms", "x filter2D"]
    rows = []
    cache = {}
    for n in sizes:
        for dtype in dtypes:
            image = rng.standard_normal((n, n)).astype(dtype)
            for k in kernels:
                kernel = rng.standard_normal((k, k)).astype(dtype)
                ref = signal.convolve2d(image.astype(np.float64), kernel.astype(np.float64), "same")
                eps = np.finfo(dtype).eps
                scale = float(np.abs(kernel).sum()) * float(np.abs(image).max())
                tol = 8 * k * k * eps
                check_close("imfilt", imfilt.convolve(image, kernel, "same"), ref, tol, scale)
                check_close("ndimage", ndimage.convolve(image, kernel, mode="constant"), ref, tol, scale)
                flipped = np.ascontiguousarray(kernel[::-1, ::-1])
                if cv2 is not None:
                    got = cv2.filter2D(image, -1, flipped, borderType=cv2.BORDER_CONSTANT)
                    check_close("cv2.filter2D", got, ref, tol, scale)
                # Single-threaded anchors: time once per configuration.
                key = (n, np.dtype(dtype).name, k)
                if key not in cache:
                    t_sig = median_time(lambda: signal.convolve2d(image, kernel, "same"),
                                        repeat=slow_repeat, warmup=0)
                    t_ndi = median_time(lambda: ndimage.convolve(image, kernel, mode="constant"),
                                        repeat=slow_repeat)
                    cache[key] = (t_sig, t_ndi)
                t_sig, t_ndi = cache[key]
                for nt in threads:
                    t_ours = median_time(lambda: imfilt.convolve(image, kernel, "same", workers=nt),
                                         repeat=repeat)
                    if cv2 is not None:
                        cv2.setNumThreads(nt)
                        t_cv = median_time(lambda: cv2.filter2D(image, -1, flipped,
                                                                borderType=cv2.BORDER_CONSTANT),
                                           repeat=repeat)
                        cv_cells = [ms(t_cv), ratio(t_cv, t_ours)]
                    else:
                        cv_cells = ["n/a", "n/a"]
                    rows.append([f"{n}^2", np.dtype(dtype).name, f"{k}x{k}", nt, ms(t_ours),
                                 ms(t_sig), ratio(t_sig, t_ours), ms(t_ndi), ratio(t_ndi, t_ours),
                                 *cv_cells])
                    print(format_table(headers, rows[-1:]).splitlines()[-1], flush=True)
    return headers, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048])
    parser.add_argument("--kernels", type=int, nargs="+", default=[3, 5, 7])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeat = [256], 3
    print_config()
    headers, rows = run(args.sizes, args.kernels, args.dtypes, args.threads, args.repeat,
                        slow_repeat=3 if not args.quick else 1)
    print()
    print("'same' mode, zero boundary; ratio = anchor time / imfilt time (> 1: imfilt faster)")
    print(format_table(headers, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
