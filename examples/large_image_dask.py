"""Filter an image stored on disk, chunk by chunk, with imfilt.dask.

The image lives in a ``.npy`` file opened as a NumPy memmap, so it may be
larger than memory: Dask reads one chunk (plus its halo) at a time, imfilt
smooths it with a 7x7 Gaussian, and ``dask.array.store`` writes each result
block straight into an output ``.npy`` memmap.  A progress bar shows the
blocks as they finish.  The same graph runs on a ``dask.distributed``
cluster: create a ``Client`` before calling ``main``.

    python examples/large_image_dask.py --size 16384 --chunk 2048 -o /tmp/big

writes ``/tmp/big/input.npy`` (created once, seeded) and
``/tmp/big/smoothed.npy``.  Needs ``pip install "imfilt[dask]"``.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import imfilt

try:
    import dask.array as da
    from dask.diagnostics import ProgressBar

    import imfilt.dask
except ImportError as exc:  # pragma: no cover - the message is the point
    sys.exit(f'this example needs Dask: pip install "imfilt[dask]" ({exc})')


def gaussian_kernel(size, sigma):
    """Normalised 2-D Gaussian, float32."""
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-0.5 * (r / sigma) ** 2)
    return np.outer(g, g).astype(np.float32) / np.float32(g.sum() ** 2)


def make_input(path, size, rows_per_write=1024, seed=0):
    """A seeded synthetic float32 image written band by band (never all in memory)."""
    image = np.lib.format.open_memmap(str(path), mode="w+", dtype=np.float32, shape=(size, size))
    rng = np.random.default_rng(seed)
    cols = np.linspace(0, 8 * np.pi, size, dtype=np.float32)
    for r0 in range(0, size, rows_per_write):
        r1 = min(size, r0 + rows_per_write)
        rows = np.arange(r0, r1, dtype=np.float32)[:, None] * np.float32(8 * np.pi / size)
        image[r0:r1] = np.sin(rows) * np.cos(cols) + rng.standard_normal((r1 - r0, size),
                                                                          dtype=np.float32)
    image.flush()
    del image


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8192, help="image side in pixels (default 8192)")
    parser.add_argument("--chunk", type=int, default=1024, help="Dask chunk side (default 1024)")
    parser.add_argument("--kernel-size", type=int, default=7, help="Gaussian size (default 7)")
    parser.add_argument("-o", "--output-dir", default="large_image_dask_out",
                        help="directory for input.npy and smoothed.npy")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    if args.size < 1 or args.chunk < 1 or args.kernel_size < 1:
        parser.error("--size, --chunk and --kernel-size must be positive")

    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    src, dst = out_dir / "input.npy", out_dir / "smoothed.npy"
    if not src.exists() or np.load(str(src), mmap_mode="r").shape != (args.size, args.size):
        make_input(src, args.size)

    image = da.from_array(np.load(str(src), mmap_mode="r"), chunks=args.chunk)
    kernel = gaussian_kernel(args.kernel_size, args.kernel_size / 6)
    smoothed = imfilt.dask.convolve(image, kernel, mode="same", boundary="symm")
    target = np.lib.format.open_memmap(str(dst), mode="w+", dtype=smoothed.dtype,
                                       shape=smoothed.shape)
    start = time.perf_counter()
    if args.no_progress:
        da.store(smoothed, target, lock=False, scheduler="threads")
    else:
        with ProgressBar():
            da.store(smoothed, target, lock=False, scheduler="threads")
    target.flush()
    elapsed = time.perf_counter() - start

    # Spot check: one band recomputed in memory with its halo.
    mid, h = args.size // 2, args.kernel_size
    lo, hi = max(0, mid - 2 * h), min(args.size, mid + 2 * h)
    band = imfilt.convolve(np.load(str(src), mmap_mode="r")[lo:hi], kernel, mode="same",
                           boundary="symm", method="direct")
    keep = slice(mid - lo, mid - lo + 1)
    error = float(np.max(np.abs(band[keep] - target[mid:mid + 1])))
    print(f"wrote {dst}: {args.size}x{args.size} float32 ({target.nbytes / 2**20:.0f} MiB) in "
          f"{elapsed:.2f} s with {image.npartitions} chunks of {args.chunk}; "
          f"spot-check max error {error:.1e}")
    return 0 if error == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
