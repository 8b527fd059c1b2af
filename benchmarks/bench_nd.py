"""N-D convolution: imfilt vs scipy.ndimage.convolve and torch conv3d (CPU).

A 256^3 float32 volume with 3x3x3 and 5x5x5 kernels, 'same' output with the
'symm' boundary (= scipy.ndimage's default 'reflect'; torch pads with zeros,
which costs it nothing extra).  Prints the configuration, checks that every
implementation agrees, then medians measured in this one process and the
ratios (anchor time / imfilt time: > 1 means imfilt is faster).  The
machines are shared and noisy: compare ratios, not absolute times.

    python benchmarks/bench_nd.py [--repeat 5] [--size 256] [--workers N]
"""

import argparse

import numpy as np
import scipy.ndimage as ndi

from harness import median_time, print_config
import imfilt

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    print_config()
    nthreads = imfilt.get_workers() if args.workers is None else args.workers
    if torch is not None:
        torch.set_num_threads(nthreads)
    rng = np.random.default_rng(0)
    n = args.size
    x = rng.random((n, n, n), dtype=np.float32)
    rows = []
    for k in (3, 5):
        w = rng.random((k, k, k)).astype(np.float32)
        wsep = np.multiply.outer(np.multiply.outer(rng.random(k), rng.random(k)),
                                 rng.random(k)).astype(np.float32)
        ours = {}
        for method in ("direct", "fft"):
            ours[method] = lambda m=method: imfilt.convolve(x, w, "same", "symm", method=m,
                                                            workers=args.workers)
        ref = ndi.convolve(x, w, mode="reflect")
        for method, fn in ours.items():
            np.testing.assert_allclose(fn(), ref, rtol=1e-4, atol=1e-3 * k ** 3)
        t_nd = median_time(lambda: ndi.convolve(x, w, mode="reflect"), repeat=max(1, args.repeat // 2))
        t_torch = None
        if torch is not None:
            xt = torch.from_numpy(x)[None, None]
            wt = torch.from_numpy(np.ascontiguousarray(w[::-1, ::-1, ::-1]))[None, None]
            with torch.no_grad():
                t_torch = median_time(lambda: F.conv3d(xt, wt, padding=k // 2), repeat=args.repeat)
        for method, fn in ours.items():
            t = median_time(fn, repeat=args.repeat)
            rows.append((f"{k}x{k}x{k} {method}", t, t_nd, t_torch))
        # an exact rank-1 (product) kernel takes the separable path
        sep = lambda: imfilt.convolve(x, wsep, "same", "symm", method="auto", workers=args.workers)
        rows.append((f"{k}x{k}x{k} separable (auto)", median_time(sep, repeat=args.repeat),
                     median_time(lambda: ndi.convolve(x, wsep, mode="reflect"),
                                 repeat=max(1, args.repeat // 2)), t_torch))
    print(f"{n}^3 float32, mode='same', boundary='symm', workers={nthreads}")
    print(f"{'case':28s} {'imfilt ms':>10s} {'ndimage ms':>11s} {'x ndimage':>10s} "
          f"{'conv3d ms':>10s} {'x conv3d':>9s}")
    for name, t, t_nd, t_torch in rows:
        tt = f"{t_torch * 1e3:10.1f} {t_torch / t:9.2f}" if t_torch else f"{'-':>10s} {'-':>9s}"
        print(f"{name:28s} {t * 1e3:10.1f} {t_nd * 1e3:11.1f} {t_nd / t:10.2f} {tt}")


if __name__ == "__main__":
    main()
