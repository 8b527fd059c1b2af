"""Median filters against cv2.medianBlur and scipy.ndimage.median_filter.

    python benchmarks/bench_rank.py [--size 2048] [--volume 256] [--repeat 7] [--workers 2]
                                    [--quick] [--no-ndimage]

Workloads (one process; imfilt and OpenCV use ``--workers`` threads):
uint8 median 3x3 / 5x5 / 15x15 and float32 5x5 on a size^2 image, the
3x3x3 median of a volume^3 float32 volume, and nan_policy='omit' on a
float32 image with 1% NaN.  Every result is checked to agree exactly with
the anchors first (boundary 'edge' = OpenCV's replicated border = ndimage
'nearest').  Times are medians of repeats; ratios are anchor / imfilt
(> 1: imfilt is faster); imfilt and OpenCV (and the NaN policies) are
timed in turn, call by call.  scipy.ndimage runs once per workload (it takes
seconds); ``--quick`` shrinks everything for a smoke run.
"""

import argparse
import time

import numpy as np

import harness
import imfilt


def _equal(name, got, ref):
    if got.shape != ref.shape or got.dtype != ref.dtype:
        raise AssertionError(f"{name}: {got.shape} {got.dtype} != {ref.shape} {ref.dtype}")
    same = (got == ref) | (np.isnan(got) & np.isnan(ref)) if got.dtype.kind == "f" else got == ref
    bad = int(got.size - np.count_nonzero(same))
    if bad:
        raise AssertionError(f"{name}: {bad} of {got.size} values differ")


def cpu_time(fn, repeat):
    """Median process CPU time of ``fn()`` (robust to a busy machine at 1 thread)."""
    return harness.cpu_median(fn, repeat)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--volume", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2,
                        help="threads for imfilt and OpenCV (default 2)")
    parser.add_argument("--quick", action="store_true",
                        help="small images and volume, few repeats (smoke test)")
    parser.add_argument("--no-ndimage", action="store_true",
                        help="skip the (slow) scipy.ndimage timings")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.volume, args.repeat = 512, 64, 3
    import cv2
    from scipy import ndimage as ndi

    cv2.setNumThreads(args.workers)
    with imfilt.set_workers(args.workers):
        _run(args, cv2, ndi)


def _run(args, cv2, ndi):
    harness.print_config()
    print(f"threads: imfilt {imfilt.get_workers()}, OpenCV {cv2.getNumThreads()}\n", flush=True)
    rng = np.random.default_rng(0)
    n = args.size
    u8 = rng.integers(0, 256, (n, n), dtype=np.uint8)
    f32 = rng.random((n, n), dtype=np.float32)
    rows = []

    def timed(fn, repeat=None):
        return harness.median_time(fn, repeat=repeat or args.repeat)

    for name, img, k in [("median uint8 3x3", u8, 3), ("median uint8 5x5", u8, 5),
                         ("median uint8 15x15", u8, 15), ("median float32 5x5", f32, 5)]:
        def ours(img=img, k=k):
            return imfilt.median(img, k, boundary="edge")
        got = ours()
        ocv = cv2.medianBlur(img, k)
        _equal(f"{name} vs cv2", got, ocv)
        # taken in turn, so that a change in the machine's load hits both alike
        t = harness.interleaved_medians(
            {"ours": ours, "cv2": lambda img=img, k=k: cv2.medianBlur(img, k)}, args.repeat)
        t_ours, t_cv = t["ours"], t["cv2"]
        t_nd = None
        if not args.no_ndimage and (k <= 5 or args.quick):
            _equal(f"{name} vs ndimage", got, ndi.median_filter(img, k, mode="nearest"))
            t_nd = timed(lambda img=img, k=k: ndi.median_filter(img, k, mode="nearest"), 1)
        cpu = ""
        if args.workers == 1:
            c_ours = cpu_time(ours, args.repeat)
            c_cv = cpu_time(lambda img=img, k=k: cv2.medianBlur(img, k), args.repeat)
            cpu = f" (CPU {harness.ms(c_ours)} / {harness.ms(c_cv)} = {c_cv / c_ours:.2f}x)"
        rows.append([f"{name} {n}^2", harness.ms(t_ours), harness.ms(t_cv),
                     harness.ratio(t_cv, t_ours) + cpu,
                     harness.ms(t_nd) if t_nd else "-",
                     harness.ratio(t_nd, t_ours) if t_nd else "-"])
        print(" | ".join(rows[-1]), flush=True)

    v = args.volume
    vol = rng.random((v, v, v), dtype=np.float32)

    def ours3():
        return imfilt.median(vol, 3, axes=(0, 1, 2))
    got = ours3()
    t_ours = timed(ours3, max(3, args.repeat // 2))
    t_nd = None
    if not args.no_ndimage:
        _equal("median 3x3x3 vs ndimage", got, ndi.median_filter(vol, 3))
        t_nd = timed(lambda: ndi.median_filter(vol, 3), 1)
    rows.append([f"median float32 3x3x3 {v}^3", harness.ms(t_ours), "-", "-",
                 harness.ms(t_nd) if t_nd else "-",
                 harness.ratio(t_nd, t_ours) if t_nd else "-"])
    print(" | ".join(rows[-1]), flush=True)

    nan_img = f32.copy()
    nan_img[rng.random(nan_img.shape) < 0.01] = np.nan
    for k in (3, 5):
        def omit(k=k):
            return imfilt.median(nan_img, k, nan_policy="omit")
        got = omit()
        # agreement: windows without NaN equal the plain median
        clean = ndi.maximum_filter(np.isnan(nan_img).astype(np.uint8), k) == 0
        _equal("omit (NaN-free windows)", got[clean], imfilt.median(nan_img, k)[clean])
        t = harness.interleaved_medians(
            {"omit": omit, "plain": lambda k=k: imfilt.median(f32, k),
             "propagate": lambda k=k: imfilt.median(nan_img, k)}, args.repeat)
        t_omit, t_plain, t_prop = t["omit"], t["plain"], t["propagate"]
        rows.append([f"nan omit float32 {k}x{k} 1% NaN {n}^2", harness.ms(t_omit),
                     f"plain {harness.ms(t_plain)}", f"omit/plain {t_omit / t_plain:.2f}",
                     f"propagate {harness.ms(t_prop)}", "-"])
        print(" | ".join(rows[-1]), flush=True)

    print()
    print(harness.format_table(
        ["workload", "imfilt ms", "cv2 ms", "cv2/imfilt", "ndimage ms", "ndimage/imfilt"],
        rows))


if __name__ == "__main__":
    main()
