"""imfilt's speed engine against every anchor on the issue's grid.

    python benchmarks/bench_engine.py                 # full grid (takes a while)
    python benchmarks/bench_engine.py --quick         # 256/1024 only
    python benchmarks/bench_engine.py --sizes 2048 --kernels 3 15 g15 --threads 2
    python benchmarks/bench_engine.py --floor          # small kernels vs a copy of the bytes
    python benchmarks/bench_engine.py --fft-floor      # large kernels vs their transforms alone
    python benchmarks/bench_engine.py --fft-floor --fft-backend mkl_fft.interfaces.scipy_fft

For each image size, kernel, dtype and thread count: imfilt with
method="auto" and each of direct/separable/fft, OpenCV filter2D (and
sepFilter2D for the rank-1 Gaussian 'g15'), scipy.signal.fftconvolve and
oaconvolve (``scipy.fft.set_workers``), scipy.signal.convolve2d and
scipy.ndimage.convolve (single-threaded; skipped where one call would take
longer than --slow-limit seconds), PyTorch conv2d when installed.  All
results are checked against each other first; imfilt's methods and the
threaded anchors are then timed interleaved (rounds of one call each,
medians).  Ratios are anchor / imfilt auto (> 1: imfilt faster); "auto/best"
is auto's time over the best of imfilt's three methods, "pick/best" the
time of the method auto chose, from the same rounds (direct is left out
where --max-direct-seconds predicts one call longer than that).  "peak MiB" is imfilt's extra traced memory beyond
the output (direct path), i.e. scratch.

``--floor`` (default 4096^2 float32, kernels 3, 5, 7): the direct method
against the memory-bandwidth floor of the same bytes, timed in turn in one
process: a fresh result against ``x.copy()`` (both page-fault a new array),
and ``out=`` a pre-faulted array against ``np.copyto`` into one.  Ratios are
imfilt time / copy time (<= 1.5 is the target); the load average is printed
with each row because two-thread timings move with the machine's load.

``--fft-floor`` (default 1024^2 and 2048^2 float64, kernels 31, 63, 127):
what the FFT method's transforms alone cost, against OpenCV filter2D.  For
each candidate block plan of imfilt's planner, the transforms of its blocks
(``rfft2``, product with a spectrum, inverse column transforms, inverse row
transforms of the rows kept), on ready-made blocks, in the same batches,
shared by the same threads, with no gather, scatter or boundary handling:
"plan" is the plan imfilt picks, "best plan" the fastest candidate.  Where
the transforms alone take about as long as filter2D's whole call, no
choice of blocks can make the method faster than filter2D with the FFT
that ``scipy.fft`` gives.  "cv2 dft" runs the same plan's transforms with
OpenCV's own DFT (the one filter2D uses), so "cv2 dft/plan fft" is the
speed of the two FFT libraries on the same work (< 1: OpenCV's is faster).  ``--fft-backend MODULE`` runs every call, imfilt
and the transforms alike, under ``scipy.fft.set_backend(MODULE)``.
"""

import argparse
import contextlib
import importlib
import sys
import tracemalloc

import numpy as np
import scipy.fft
from scipy import ndimage, signal

from harness import format_table, interleaved_medians, load_average, median_time, print_config
import imfilt
from imfilt import _methods, _threads

try:
    import cv2
except ImportError:
    cv2 = None
try:
    import torch
except ImportError:
    torch = None


def gaussian(k, sigma):
    g = signal.windows.gaussian(k, sigma)
    g /= g.sum()
    return np.outer(g, g)


def agree(name, got, ref, tol):
    err = float(np.max(np.abs(np.asarray(got, np.float64) - ref)))
    if not err <= tol:
        raise AssertionError(f"{name} disagrees: max error {err:.3g} > {tol:.3g}")


def peak_extra_mib(fn, out_bytes):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return max(peak - out_bytes, 0) / 2**20


def run(args):
    rng = np.random.default_rng(0)
    headers = ["size", "dtype", "kernel", "thr", "auto", "auto ms", "auto/best", "pick/best", "filter2D ms", "fftconv ms",
               "filter2D", "sepFilter2D",
               "fftconv", "oaconv", "convolve2d", "ndimage", "torch", "direct peak MiB"]
    rows = []
    for n in args.sizes:
        for dtype in args.dtypes:
            image = rng.standard_normal((n, n)).astype(dtype)
            for kname in args.kernels:
                if kname == "g15":
                    kernel = gaussian(15, 2.5).astype(dtype)
                else:
                    k = int(kname)
                    kernel = rng.standard_normal((k, k)).astype(dtype)
                k = kernel.shape[0]
                if k > n:
                    continue
                flipped = np.ascontiguousarray(kernel[::-1, ::-1])
                ref = signal.fftconvolve(image.astype(np.float64), kernel.astype(np.float64), "same")
                eps = np.finfo(dtype).eps
                tol = 64 * eps * float(np.abs(image).max()) * float(np.abs(kernel).sum()) * np.log2(n * n)
                for nt in args.threads:
                    if cv2 is not None:
                        cv2.setNumThreads(nt)
                    if torch is not None:
                        torch.set_num_threads(nt)
                    # Every contender, checked against the reference first,
                    # then timed interleaved (one call of each per round), so
                    # a change of machine load hits all of them alike.
                    fns = {}
                    for m in ("direct", "separable", "fft"):
                        if m == "direct" and n * n * k * k * 5e-11 / nt > args.max_direct_seconds:
                            continue  # predicted far slower than fft: cannot be the best
                        try:
                            got = imfilt.convolve(image, kernel, "same", method=m, workers=nt)
                        except ValueError:
                            continue  # separable on a full-rank kernel
                        agree(f"imfilt {m}", got, ref, tol)
                        fns[m] = lambda m=m: imfilt.convolve(image, kernel, "same", method=m, workers=nt)
                    fns["auto"] = lambda: imfilt.convolve(image, kernel, "same", workers=nt)
                    if cv2 is not None:
                        agree("cv2.filter2D", cv2.filter2D(image, -1, flipped, borderType=cv2.BORDER_CONSTANT), ref, tol)
                        fns["filter2D"] = lambda: cv2.filter2D(image, -1, flipped, borderType=cv2.BORDER_CONSTANT)
                        if kname == "g15":
                            g1 = np.ascontiguousarray(signal.windows.gaussian(15, 2.5) / signal.windows.gaussian(15, 2.5).sum()).astype(dtype)
                            agree("cv2.sepFilter2D", cv2.sepFilter2D(image, -1, g1, g1, borderType=cv2.BORDER_CONSTANT), ref, tol)
                            fns["sepFilter2D"] = lambda: cv2.sepFilter2D(image, -1, g1, g1, borderType=cv2.BORDER_CONSTANT)

                    def in_workers(f):
                        def call():
                            with scipy.fft.set_workers(nt):
                                return f()
                        return call
                    fns["fftconv"] = in_workers(lambda: signal.fftconvolve(image, kernel, "same"))
                    fns["oaconv"] = in_workers(lambda: signal.oaconvolve(image, kernel, "same"))
                    # torch's CPU conv2d builds a full im2col buffer: skip it
                    # where that buffer alone would exceed 4 GiB.
                    im2col_bytes = n * n * k * k * np.dtype(dtype).itemsize
                    if torch is not None and n * n * k * k * 3e-10 < args.slow_limit \
                            and im2col_bytes < 4 * 2**30:
                        ti = torch.from_numpy(image)[None, None]
                        tk = torch.from_numpy(np.ascontiguousarray(flipped))[None, None]
                        pad = (k // 2, (k - 1) // 2)
                        def tconv():
                            with torch.no_grad():
                                return torch.nn.functional.conv2d(
                                    torch.nn.functional.pad(ti, (pad[0], pad[1], pad[0], pad[1])), tk)
                        agree("torch", tconv()[0, 0].numpy(), ref, tol)
                        fns["torch"] = tconv
                    slowest = max(median_time(f, repeat=1, warmup=0) for f in fns.values())
                    rep = args.repeat if slowest < 0.5 else 3
                    times = interleaved_medians(fns, repeat=rep)
                    cells = dict(times)
                    est_sig = n * n * k * k * 3e-9
                    if est_sig < args.slow_limit:
                        cells["convolve2d"] = median_time(lambda: signal.convolve2d(image, kernel, "same"), repeat=1, warmup=0)
                    est_ndi = n * n * k * k * 1.5e-9
                    if est_ndi < args.slow_limit:
                        cells["ndimage"] = median_time(lambda: ndimage.convolve(image, kernel, mode="constant"), repeat=1, warmup=0)
                    problem = _methods.Problem(x=image[None], w=flipped[None], pads=((k // 2, (k - 1) // 2),) * 2,
                                               stride=(1, 1), dilation=(1, 1), boundary="fill", fill=0.0,
                                               compute=np.dtype(dtype), nthreads=nt)
                    pick = _methods.choose(problem, "auto")
                    # (separable: its outputs checked for inf/NaN as it runs; fft: the
                    # image's magnitude checked as its blocks are read)
                    pick = {_methods.SEPARABLE_CHECKED: "separable",
                            _methods.FFT_CHECKED: "fft"}.get(pick, pick)
                    t_auto = times["auto"]
                    best = min(times[m] for m in ("direct", "separable", "fft") if m in times)
                    ratio = lambda t: f"{t / t_auto:.2f}x" if t is not None else "-"  # noqa: E731
                    ms = lambda t: f"{t * 1e3:.2f}" if t is not None else "-"  # noqa: E731
                    if "direct" in times:
                        out_bytes = n * n * np.dtype(dtype).itemsize
                        peak = f"{peak_extra_mib(fns['direct'], out_bytes):.2f}"
                    else:
                        peak = "-"
                    row = [f"{n}", np.dtype(dtype).name, kname if kname == "g15" else f"{k}x{k}", nt, pick,
                           f"{t_auto * 1e3:.2f}", f"{t_auto / best:.2f}",
                           f"{times[pick] / best:.2f}" if pick in times else "-",
                           ms(cells.get("filter2D")), ms(cells.get("fftconv")),
                           *(ratio(cells.get(c)) for c in ("filter2D", "sepFilter2D", "fftconv", "oaconv",
                                                           "convolve2d", "ndimage", "torch")),
                           peak]
                    rows.append(row)
                    print(format_table(headers, [row]).splitlines()[-1], flush=True)
    return headers, rows


def floor(args):
    """Small kernels (direct method) against a streaming copy of the same bytes."""
    rng = np.random.default_rng(0)
    headers = ["size", "dtype", "kernel", "thr", "fresh ms", "x.copy() ms", "fresh/copy",
               "out= ms", "copyto ms", "out=/copyto", "load"]
    rows = []
    for n in args.sizes:
        for dtype in args.dtypes:
            image = rng.standard_normal((n, n)).astype(dtype)
            out = np.ones_like(image)       # pre-faulted
            dst = np.ones_like(image)
            for kname in args.kernels:
                k = int(kname)
                kernel = rng.standard_normal((k, k)).astype(dtype)
                ref = signal.fftconvolve(image[:256, :256].astype(np.float64), kernel, "same")
                got = imfilt.convolve(image[:256, :256], kernel, "same", method="direct")
                eps = np.finfo(dtype).eps
                agree("imfilt direct", got, ref, 64 * eps * float(np.abs(image).max())
                      * float(np.abs(kernel).sum()) * np.log2(n * n))
                for nt in args.threads:
                    t = interleaved_medians({
                        "fresh": lambda: imfilt.convolve(image, kernel, "same", method="direct",
                                                         workers=nt),
                        "copy": lambda: image.copy(),
                        "out": lambda: imfilt.convolve(image, kernel, "same", method="direct",
                                                       workers=nt, out=out),
                        "copyto": lambda: np.copyto(dst, image),
                    }, repeat=args.repeat)
                    row = [f"{n}", np.dtype(dtype).name, f"{k}x{k}", nt,
                           f"{t['fresh'] * 1e3:.2f}", f"{t['copy'] * 1e3:.2f}",
                           f"{t['fresh'] / t['copy']:.2f}", f"{t['out'] * 1e3:.2f}",
                           f"{t['copyto'] * 1e3:.2f}", f"{t['out'] / t['copyto']:.2f}",
                           load_average()]
                    rows.append(row)
                    print(format_table(headers, [row]).splitlines()[-1], flush=True)
    return headers, rows


def plan_transforms(n, k, dtype, L0, L1, nt, rng):
    """A call that runs the transforms of an n x n 'same' problem's blocks
    (k x k kernel, blocks L0 x L1) and nothing else, ``nt`` threads sharing
    the batches as imfilt's FFT method does (``_threads.share_items``: the
    calling thread and helpers take the next batch as they become free)."""
    T0, T1 = L0 - k + 1, L1 - k + 1
    count = -(-n // T0) * -(-n // T1)
    per_batch = max(1, min(count, _methods.FFT_BATCH_BYTES // (L0 * L1 * np.dtype(dtype).itemsize)))
    blocks = rng.standard_normal((count, L0, L1)).astype(dtype)
    spectrum = scipy.fft.rfft2(rng.standard_normal((L0, L1)).astype(dtype))
    batches = [blocks[q:q + per_batch] for q in range(0, count, per_batch)]

    def one(batch):
        spec = scipy.fft.rfft2(batch, workers=1)
        spec *= spectrum
        spec = scipy.fft.ifft(spec, axis=-2, norm="forward", overwrite_x=True, workers=1)
        return scipy.fft.irfft(spec[:, k - 1:], n=L1, axis=-1, norm="forward", workers=1)

    return lambda: _threads.share_items(len(batches), lambda i, slot: one(batches[i]), nt)


def plan_transforms_cv2(n, k, dtype, L0, L1, nt, rng):
    """The transforms of :func:`plan_transforms` done by OpenCV's own DFT
    (real blocks in its packed format, ``cv2.mulSpectrums``, an inverse that
    computes only the rows kept), one block per call, shared by the same
    threads: what the same block plan costs with the DFT that filter2D uses."""
    T0, T1 = L0 - k + 1, L1 - k + 1
    count = -(-n // T0) * -(-n // T1)
    blocks = [rng.standard_normal((L0, L1)).astype(dtype) for _ in range(count)]
    spectrum = cv2.dft(rng.standard_normal((L0, L1)).astype(dtype))
    inverse = cv2.DFT_INVERSE | cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT

    def one(i, slot):
        product = cv2.mulSpectrums(cv2.dft(blocks[i]), spectrum, 0)
        return cv2.dft(product, flags=inverse, nonzeroRows=T0)

    def call():
        cv2.setNumThreads(1)     # one DFT per thread, as imfilt's batches
        try:
            _threads.share_items(count, one, nt)
        finally:
            cv2.setNumThreads(nt)
    return call


def fft_floor(args):
    """Large kernels: imfilt and filter2D against the FFT method's transforms alone."""
    rng = np.random.default_rng(0)
    headers = ["size", "dtype", "kernel", "thr", "blocks", "auto ms", "filter2D ms", "plan fft ms",
               "best plan", "best fft ms", "cv2 dft ms", "filter2D/auto", "filter2D/best fft",
               "cv2 dft/plan fft", "load"]
    rows = []
    for n in args.sizes:
        for dtype in args.dtypes:
            image = rng.standard_normal((n, n)).astype(dtype)
            key = "f32" if np.dtype(dtype) == np.float32 else "f64"
            for kname in args.kernels:
                k = int(kname)
                kernel = rng.standard_normal((k, k)).astype(dtype)
                flipped = np.ascontiguousarray(kernel[::-1, ::-1])
                got = imfilt.convolve(image, kernel, "same")
                if cv2 is not None:
                    ref = cv2.filter2D(image, -1, flipped, borderType=cv2.BORDER_CONSTANT)
                    eps = np.finfo(dtype).eps
                    agree("OpenCV filter2D", got, ref, 64 * eps * float(np.abs(image).max())
                          * float(np.abs(kernel).sum()) * np.log2(n * n))
                V = n      # 'same': the 'valid' output of the padded image is n x n
                L0, L1 = _methods.block_plan(V, V, k, k, key)[:2]
                candidates = {(a, b) for a, _ in _methods._axis_candidates(V, k)
                              for b, _ in _methods._axis_candidates(V, k)}
                for nt in args.threads:
                    if cv2 is not None:
                        cv2.setNumThreads(nt)
                    # Scan every candidate plan briefly, then time the
                    # fastest interleaved with imfilt and filter2D.
                    scan = {plan: median_time(plan_transforms(n, k, dtype, *plan, nt, rng),
                                              repeat=3)
                            for plan in sorted(candidates)}
                    best = min(scan, key=scan.get)
                    fns = {
                        "auto": lambda: imfilt.convolve(image, kernel, "same", workers=nt),
                        "plan": plan_transforms(n, k, dtype, L0, L1, nt, rng),
                        "best": plan_transforms(n, k, dtype, *best, nt, rng),
                    }
                    if cv2 is not None:
                        fns["filter2D"] = lambda: cv2.filter2D(image, -1, flipped,
                                                               borderType=cv2.BORDER_CONSTANT)
                        fns["cv2 dft"] = plan_transforms_cv2(n, k, dtype, L0, L1, nt, rng)
                    t = interleaved_medians(fns, repeat=args.repeat)
                    f2d = t.get("filter2D", float("nan"))
                    cvd = t.get("cv2 dft", float("nan"))
                    row = [f"{n}", np.dtype(dtype).name, f"{k}x{k}", nt, f"{L0}x{L1}",
                           f"{t['auto'] * 1e3:.2f}", f"{f2d * 1e3:.2f}", f"{t['plan'] * 1e3:.2f}",
                           f"{best[0]}x{best[1]}", f"{t['best'] * 1e3:.2f}", f"{cvd * 1e3:.2f}",
                           f"{f2d / t['auto']:.2f}x", f"{f2d / t['best']:.2f}x",
                           f"{cvd / t['plan']:.2f}", load_average()]
                    rows.append(row)
                    print(format_table(headers, [row]).splitlines()[-1], flush=True)
    return headers, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 2048, 4096])
    parser.add_argument("--kernels", nargs="+", default=["3", "5", "7", "9", "15", "31", "63", "127", "g15"])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--slow-limit", type=float, default=3.0)
    parser.add_argument("--max-direct-seconds", type=float, default=float("inf"),
                        help="skip method='direct' where one call is predicted to take longer "
                             "(large kernels, where it cannot be the fastest method)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--floor", action="store_true",
                        help="small kernels against a copy of the same bytes (see above)")
    parser.add_argument("--fft-floor", action="store_true",
                        help="large kernels against the FFT method's transforms alone (see above)")
    parser.add_argument("--fft-backend", metavar="MODULE",
                        help="run under scipy.fft.set_backend(MODULE), e.g. "
                             "mkl_fft.interfaces.scipy_fft")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeat = [256, 1024], 3
    print_config()
    backend = contextlib.nullcontext()
    if args.fft_backend:
        backend = scipy.fft.set_backend(importlib.import_module(args.fft_backend), only=True)
        print(f"scipy.fft backend: {args.fft_backend}")
    with backend:
        return run_mode(args, argv)


#: The special modes: (flag, defaults for options not given, runner, caption).
MODES = [
    ("fft_floor", dict(sizes=[1024, 2048], kernels=["31", "63", "127"], dtypes=["float64"],
                       threads=[2]),
     lambda args: fft_floor(args),
     "'same' mode, zero boundary, random kernels. 'plan fft'/'best fft': the transforms alone "
     "of imfilt's plan and of the fastest candidate plan. Ratios: filter2D time / other time "
     "(> 1: filter2D slower)."),
    ("floor", dict(sizes=[4096], kernels=["3", "5", "7"], dtypes=["float32"], threads=[2]),
     lambda args: floor(args),
     "'same' mode, zero boundary, direct method. fresh: a new result array; out=: a "
     "pre-faulted one. Ratios: imfilt time / copy time (target <= 1.5)."),
]


def run_mode(args, argv):
    """The mode ``args`` asks for; prints its table."""
    explicit = set(argv if argv is not None else sys.argv[1:])
    for flag, defaults, runner, caption in MODES:
        if getattr(args, flag):
            for name, value in defaults.items():
                if f"--{name}" not in explicit:
                    setattr(args, name, value)
            headers, rows = runner(args)
            print()
            print(caption)
            print(format_table(headers, rows))
            return 0
    headers, rows = run(args)
    print()
    print("'same' mode, zero boundary. Ratio columns: anchor time / imfilt auto time (> 1: imfilt faster).")
    print(format_table(headers, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
