"""
Speed against OpenCV and SciPy, measured now
============================================

A small benchmark run while this page was built, on the machine that built
it: a few common operations on a 1024x1024 image, timed for imfilt and for
the libraries people would otherwise use.  Every pair is first checked to
compute the same result, then the implementations are timed in turns
(interleaved, so that a noisy neighbour slows all of them alike) and the
median of the repeats is kept.

Everything runs on **one thread** (``imfilt.set_workers(1)``,
``cv2.setNumThreads(1)``; SciPy is single-threaded anyway).  The
documentation is often built on shared, busy machines, where threaded
timings say more about the neighbours than about the code; one-thread
ratios are stable.  imfilt's speed-up from threads is measured by the
scripts in ``benchmarks/``.

The plot shows **ratios**, ``anchor time / imfilt time`` (above 1: imfilt is
faster).  Each operation is timed only a few times to keep the build short,
so on a busy machine a single ratio can be off by a factor of two or more;
run the script again (or the scripts in ``benchmarks/``) before drawing
conclusions from one bar.  Absolute times depend on the machine and on what else runs on it;
the ratios measured in one process on the same data are what carries over.
The full benchmarks, at larger sizes and with more anchors, are the scripts
in the repository's ``benchmarks/`` folder.
"""

import os
import platform
import statistics
import time

import matplotlib.pyplot as plt
from matplotlib.patches import Patch
import numpy as np
import scipy
import scipy.ndimage as ndi
import scipy.signal
from skimage import data

import imfilt

try:
    import cv2
except ImportError:  # OpenCV is optional: its bars are left out
    cv2 = None

t_start = time.perf_counter()
SIZE = 1024
REPEAT = 7
threads = 1
if cv2 is not None:
    cv2.setNumThreads(threads)

tiles = -(-SIZE // 512)
photo_u8 = np.ascontiguousarray(np.tile(data.camera(), (tiles, tiles))[:SIZE, :SIZE])
photo = photo_u8.astype(np.float32) / 255
k3 = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 16
k7 = np.random.default_rng(0).random((7, 7)).astype(np.float32)


def interleaved(funcs, repeat=REPEAT):
    """Median seconds of each function, run in turns after one warm-up each."""
    times = {name: [] for name in funcs}
    for f in funcs.values():
        f()
    for _ in range(repeat):
        for name, f in funcs.items():
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def same(name, a, b, tol):
    err = float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
    assert err <= tol, f"{name}: results differ by {err}"


cases = []  # (operation, {implementation: function}); imfilt first

# Convolution with the image mirrored at its edges ('symm' = ndimage 'reflect'
# = OpenCV BORDER_REFLECT).  cv2.filter2D correlates, so it gets the flipped kernel.
for label, k in (("convolve 3x3", k3), ("convolve 7x7", k7)):
    funcs = {
        "imfilt": lambda k=k: imfilt.convolve(photo, k, mode="same", boundary="symm"),
        "scipy.ndimage": lambda k=k: ndi.convolve(photo, k, mode="reflect"),
        "scipy.signal": lambda k=k: scipy.signal.convolve2d(photo, k, mode="same",
                                                            boundary="symm"),
    }
    if cv2 is not None:
        funcs["OpenCV"] = lambda k=k: cv2.filter2D(photo, -1, k[::-1, ::-1].copy(),
                                                   borderType=cv2.BORDER_REFLECT)
    ref = funcs["imfilt"]()
    for name, f in funcs.items():
        same(f"{label} {name}", f(), ref, 1e-4 * float(np.abs(k).sum()))
    cases.append((label, funcs))

# Sobel gradient magnitude of a uint8 photograph, float32 result.
funcs = {
    "imfilt": lambda: imfilt.sobel(photo_u8),
    "scipy.ndimage": lambda: np.hypot(ndi.sobel(photo_u8, 0, output=np.float32),
                                      ndi.sobel(photo_u8, 1, output=np.float32)),
}
if cv2 is not None:
    funcs["OpenCV"] = lambda: cv2.magnitude(
        cv2.Sobel(photo_u8, cv2.CV_32F, 1, 0, borderType=cv2.BORDER_REFLECT),
        cv2.Sobel(photo_u8, cv2.CV_32F, 0, 1, borderType=cv2.BORDER_REFLECT))
ref = funcs["imfilt"]()
for name, f in funcs.items():
    same(f"sobel {name}", f(), ref, 1e-2)
cases.append(("sobel magnitude (uint8)", funcs))

# Gaussian pyramid level (OpenCV's pyrDown; SciPy has no single call).
if cv2 is not None:
    funcs = {"imfilt": lambda: imfilt.pyramid_down(photo),
             "OpenCV": lambda: cv2.pyrDown(photo)}
    same("pyramid_down", funcs["OpenCV"](), funcs["imfilt"](), 1e-5)
    cases.append(("pyramid_down", funcs))

# 3x3 max filter as pooling with stride 1 ('valid' windows).
funcs = {"imfilt": lambda: imfilt.max_pool2d(photo, 3, stride=1),
         "scipy.ndimage": lambda: ndi.maximum_filter(photo, 3)[1:-1, 1:-1]}
if cv2 is not None:
    funcs["OpenCV"] = lambda: cv2.dilate(photo, np.ones((3, 3), np.uint8))[1:-1, 1:-1]
ref = funcs["imfilt"]()
for name, f in funcs.items():
    same(f"max 3x3 {name}", f(), ref, 0)
cases.append(("max_pool2d 3x3, stride 1", funcs))

with imfilt.set_workers(threads):
    results = [(label, interleaved(funcs)) for label, funcs in cases]

# %%
# The measurements
# ----------------

print(f"{SIZE}x{SIZE} float32 (uint8 for Sobel), one thread each; "
      f"{platform.machine()}, {os.cpu_count()} logical CPUs, imfilt {imfilt.__version__}"
      + (f", OpenCV {cv2.__version__}" if cv2 is not None else "")
      + f", SciPy {scipy.__version__}")
print(f"{'operation':28s} {'implementation':15s} {'median ms':>10s} {'ratio':>7s}")
for label, times in results:
    base = times["imfilt"]
    for name, t in times.items():
        print(f"{label:28s} {name:15s} {t * 1e3:10.2f} {t / base:7.2f}")

anchors = ["OpenCV", "scipy.ndimage", "scipy.signal"]
colours = {"OpenCV": "tab:blue", "scipy.ndimage": "tab:orange", "scipy.signal": "tab:green"}
fig, ax = plt.subplots(figsize=(8, 4.2), layout="constrained")
height = 0.8 / len(anchors)
ratios = []
for i, (label, times) in enumerate(results):
    for j, name in enumerate(anchors):
        if name in times:
            ratio = times[name] / times["imfilt"]
            ratios.append(ratio)
            y = i + (j - 1) * height
            # Bars start at 1 (equal speed): right of it imfilt is faster.
            ax.barh(y, ratio - 1, left=1, height=height, color=colours[name])
            ax.text(ratio * 1.08 if ratio >= 1 else ratio / 1.08, y, f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.2g}x",
                    va="center", ha="left" if ratio >= 1 else "right", fontsize=8)
ax.set_xlim(min(ratios + [1]) / 3, max(ratios + [1]) * 3)
ax.axvline(1, color="k", linewidth=1)
ax.set_xscale("log")
ax.set_yticks(range(len(results)), [label for label, _ in results])
ax.invert_yaxis()
ax.set_xlabel("anchor time / imfilt time (log scale; > 1 means imfilt is faster)")
ax.set_title(f"{SIZE}x{SIZE}, one thread, measured while building this page",
             fontsize=10)
ax.legend(handles=[Patch(color=colours[n], label=n) for n in anchors], loc="lower right",
          fontsize=8)
plt.show()

print(f"benchmark took {time.perf_counter() - t_start:.1f} s")
