"""Peak memory of convolve on an 8192 x 8192 float32 image, beside its anchors.

Each measurement runs in a fresh interpreter (so peaks do not mix): the child
creates the image, records its resident set (``VmRSS``), makes one call and
reports the peak (``VmHWM``) minus that baseline, i.e. the extra memory the
call needed beyond its input.  The output alone is 256 MiB (the image's
size), so an extra peak of 1.0x the image means "the output and nothing
else".  Ratios are anchor peak / imfilt peak (> 1: imfilt needs less).

Run: ``python benchmarks/bench_memory.py [--size 8192]``
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from harness import print_config  # noqa: E402

CHILD = r"""
import json, sys, time
import numpy as np

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)

size, case = int(sys.argv[1]), sys.argv[2]
import imfilt, scipy.ndimage, scipy.signal
try:
    import cv2
except ImportError:
    cv2 = None
rng = np.random.default_rng(0)
x = rng.standard_normal((size, size), dtype=np.float32)
k3 = rng.standard_normal((3, 3)).astype(np.float32)
k15 = rng.standard_normal((15, 15)).astype(np.float32)
g = np.outer(*(2 * [np.exp(-0.5 * (np.arange(-7, 8) / 2.5) ** 2)])).astype(np.float32)
g /= g.sum()
CASES = {
    "imfilt 3x3 direct": lambda: imfilt.convolve(x, k3, "same", method="direct"),
    "imfilt 3x3 auto": lambda: imfilt.convolve(x, k3, "same"),
    "imfilt 3x3 out=": lambda: imfilt.convolve(x, k3, "same", out=np.empty_like(x)),
    "imfilt 3x3 symm": lambda: imfilt.convolve(x, k3, "same", "symm"),
    "imfilt 15x15 auto": lambda: imfilt.convolve(x, k15, "same"),
    "imfilt 15x15 fft": lambda: imfilt.convolve(x, k15, "same", method="fft"),
    "imfilt 15x15 gaussian separable": lambda: imfilt.convolve(x, g, "same", method="separable"),
    "imfilt sobel": lambda: imfilt.sobel(x),
    "scipy.signal.convolve2d 3x3": lambda: scipy.signal.convolve2d(x, k3, "same"),
    "scipy.signal.fftconvolve 15x15": lambda: scipy.signal.fftconvolve(x, k15, "same"),
    "scipy.ndimage.convolve 3x3": lambda: scipy.ndimage.convolve(x, k3, mode="constant"),
    "scipy.ndimage.convolve 15x15": lambda: scipy.ndimage.convolve(x, k15, mode="constant"),
    "scipy.ndimage.sobel": lambda: np.hypot(scipy.ndimage.sobel(x, 0), scipy.ndimage.sobel(x, 1)),
}
if cv2 is not None:
    CASES["cv2.filter2D 3x3"] = lambda: cv2.filter2D(x, -1, k3[::-1, ::-1].copy(),
                                                     borderType=cv2.BORDER_CONSTANT)
    CASES["cv2.filter2D 15x15"] = lambda: cv2.filter2D(x, -1, k15[::-1, ::-1].copy(),
                                                       borderType=cv2.BORDER_CONSTANT)
if case == "--list":
    print(json.dumps(list(CASES)))
    sys.exit(0)
base = status("VmRSS")
t0 = time.perf_counter()
out = CASES[case]()
elapsed = time.perf_counter() - t0
peak = status("VmHWM")
print(json.dumps({"extra": peak - base, "image": x.nbytes, "seconds": elapsed}))
"""


def run(size, case):
    proc = subprocess.run([sys.executable, "-c", CHILD, str(size), case], capture_output=True,
                          text=True, cwd=os.path.dirname(HERE))
    if proc.returncode != 0:
        return None, proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"
    return json.loads(proc.stdout), None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8192, help="image side (default 8192)")
    args = parser.parse_args(argv)
    print_config()
    if not os.path.exists("/proc/self/status"):
        print("needs /proc/self/status (Linux) to read VmHWM")
        return 1
    cases = json.loads(subprocess.run([sys.executable, "-c", CHILD, "1", "--list"],
                                      capture_output=True, text=True, check=True,
                                      cwd=os.path.dirname(HERE)).stdout)
    print(f"peak extra memory of one call on a {args.size}x{args.size} float32 image "
          f"({args.size * args.size * 4 / 2**20:.0f} MiB); one fresh process per row")
    print(f"{'call':36s} {'extra MiB':>10s} {'x image':>8s} {'seconds':>8s}")
    results = {}
    for case in cases:
        r, err = run(args.size, case)
        if r is None:
            print(f"{case:36s} failed: {err}")
            continue
        results[case] = r
        print(f"{case:36s} {r['extra'] / 2**20:10.0f} {r['extra'] / r['image']:8.2f} "
              f"{r['seconds']:8.2f}", flush=True)
    print("\nratios (anchor peak / imfilt peak; > 1 means imfilt needs less memory):")
    pairs = [("imfilt 3x3 direct", "scipy.signal.convolve2d 3x3"),
             ("imfilt 3x3 direct", "scipy.ndimage.convolve 3x3"),
             ("imfilt 3x3 direct", "cv2.filter2D 3x3"),
             ("imfilt 15x15 auto", "scipy.signal.fftconvolve 15x15"),
             ("imfilt 15x15 auto", "scipy.ndimage.convolve 15x15"),
             ("imfilt 15x15 auto", "cv2.filter2D 15x15"),
             ("imfilt sobel", "scipy.ndimage.sobel")]
    for ours, anchor in pairs:
        if ours in results and anchor in results:
            ratio = results[anchor]["extra"] / max(results[ours]["extra"], 1)
            print(f"  {anchor:32s} / {ours:24s} {ratio:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
