"""
Convolution with hand-made kernels
==================================

:func:`imfilt.convolve` is true 2-D convolution (the kernel is flipped, as
in :func:`scipy.signal.convolve2d`); :func:`imfilt.correlate` does not
flip.  Here a few classic kernels are applied to scikit-image's ``astronaut``
photograph, a colour image of shape ``(512, 512, 3)``: ``axes=(0, 1)`` names
its two spatial axes, so the three channels are filtered in one call.
``mode='same'`` keeps the image's size and ``boundary='symm'`` mirrors it
at the edges.
"""

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import imfilt

rgb = data.astronaut().astype(np.float32) / 255

motion = np.eye(15, dtype=np.float32) / 15  # a diagonal streak
kernels = {
    "box 9x9": np.full((9, 9), 1 / 81, np.float32),
    "motion blur 15": motion,
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float32),
    "outline": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], np.float32),
}

fig, axes = plt.subplots(2, 3, figsize=(10, 6.8), layout="constrained")
axes[0, 0].imshow(rgb)
axes[0, 0].set_title("astronaut")
for ax, (name, k) in zip(axes.flat[1:], kernels.items()):
    out = imfilt.convolve(rgb, k, mode="same", boundary="symm", axes=(0, 1))
    if name == "outline":
        out = out * 4 + 0.5  # centre the signed response on grey
    ax.imshow(np.clip(out, 0, 1))
    ax.set_title(name)
for ax in axes.flat:
    ax.set_axis_off()
plt.show()

# %%
# Three ways to compute the same thing
# ------------------------------------
# ``method='direct'`` sums the taps, ``'separable'`` applies a kernel of low
# rank as pairs of 1-D passes, ``'fft'`` multiplies spectra.  They agree to
# rounding; ``'auto'`` (the default) picks the fastest by a measured cost
# model.  A 31x31 Gaussian has rank 1:

x = np.arange(31) - 15
g = np.exp(-0.5 * (x / 5.0) ** 2)
gauss = (np.outer(g, g) / g.sum() ** 2).astype(np.float32)
grey = rgb.mean(axis=-1)
results = {m: imfilt.convolve(grey, gauss, mode="same", boundary="symm", method=m)
           for m in ("direct", "separable", "fft")}
for m, out in results.items():
    print(f"{m:9s} max |difference from direct| = "
          f"{float(np.abs(out - results['direct']).max()):.1e}")

# %%
# Dilation and stride
# -------------------
# ``dilation=d`` spaces the taps ``d`` apart (a 3x3 kernel with ``d=4``
# covers 9x9); ``stride=s`` keeps every ``s``-th output.

dilated = imfilt.convolve(grey, kernels["outline"], mode="same", boundary="symm", dilation=4)
strided = imfilt.convolve(grey, kernels["box 9x9"], mode="same", boundary="symm", stride=4)
fig, axes = plt.subplots(1, 2, figsize=(8, 4), layout="constrained")
axes[0].imshow(np.clip(dilated * 2 + 0.5, 0, 1), cmap="gray")
axes[0].set_title("outline kernel, dilation=4")
axes[1].imshow(strided, cmap="gray")
axes[1].set_title(f"box 9x9, stride=4: {strided.shape}")
for ax in axes:
    ax.set_axis_off()
plt.show()
