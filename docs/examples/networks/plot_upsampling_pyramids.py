"""
Upsampling and image pyramids
=============================

:func:`imfilt.upsample` enlarges by an integer factor.  ``'nearest'``
repeats pixels; ``'bilinear'`` is a transposed convolution with the kernel
of :func:`imfilt.bilinear_kernel` applied to the image extended by one
edge pixel on each side, which makes it equal to PyTorch's
``interpolate(mode='bilinear', align_corners=False)`` everywhere, borders
included.  The plain transposed convolution of fully convolutional networks
(implicit zero padding) darkens the outer pixels instead.
"""
# sphinx_gallery_thumbnail_number = 3

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import imfilt

image = data.camera()[200:264, 220:284].astype(np.float32) / 255  # 64x64 crop
f = 4

nearest = imfilt.upsample(image, f, method="nearest")
bilinear = imfilt.upsample(image, f)
k = imfilt.bilinear_kernel(f).astype(np.float32)
plain = imfilt.conv_transpose2d(image, k, stride=f, padding=f // 2)

fig, axes = plt.subplots(1, 4, figsize=(12, 3.3), layout="constrained")
for ax, img, title in zip(axes, [image, nearest, bilinear, plain],
                          ["64x64 crop", "upsample nearest x4", "upsample bilinear x4",
                           "conv_transpose2d, bilinear kernel"]):
    ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
plt.show()

# %%
# The border difference
# ---------------------
# Inside, the two bilinear results are equal; the plain transposed
# convolution loses weight in the outer ``f/2`` pixels.

diff = plain - bilinear
inner = diff[f:-f, f:-f]
print(f"max |difference| inside: {float(np.abs(inner).max()):.2e}, "
      f"on the border: {float(np.abs(diff).max()):.3f}")

fig, ax = plt.subplots(figsize=(4.4, 3.6), layout="constrained")
im = ax.imshow(diff, cmap="RdBu_r", vmin=-0.5, vmax=0.5)
ax.set_title("conv_transpose2d - upsample")
ax.set_axis_off()
fig.colorbar(im, ax=ax, shrink=0.8)
plt.show()

# %%
# The bilinear kernel
# -------------------
# The FCN initialisation of a transposed convolution: the outer product of
# a triangle of half-width ``factor``.

print(imfilt.bilinear_kernel(2))

# %%
# Gaussian pyramids
# -----------------
# :func:`imfilt.pyramid_down` blurs with the 5x5 Gaussian
# ``[1 4 6 4 1] / 16`` (OpenCV's ``'reflect'`` border) and keeps every other
# pixel; :func:`imfilt.pyramid_up` inserts zeros and smooths with four times
# that kernel.  Both equal OpenCV's ``pyrDown``/``pyrUp``.  A Laplacian
# pyramid stores, per level, what ``pyramid_up`` of the next level misses.

rgb = data.astronaut().astype(np.float32) / 255
levels = [rgb]
for _ in range(4):
    levels.append(imfilt.pyramid_down(levels[-1], axes=(0, 1)))
laplacian = [lev - imfilt.pyramid_up(nxt, axes=(0, 1))[:lev.shape[0], :lev.shape[1]]
             for lev, nxt in zip(levels[:-1], levels[1:])]

fig, axes = plt.subplots(2, 4, figsize=(12, 6), layout="constrained")
for j in range(4):
    axes[0, j].imshow(np.clip(levels[j + 1], 0, 1))
    axes[0, j].set_title(f"pyramid_down x{j + 1}: {levels[j + 1].shape[:2]}", fontsize=9)
    lap = laplacian[j].mean(axis=-1)
    axes[1, j].imshow(lap, cmap="RdBu_r", vmin=-0.15, vmax=0.15)
    axes[1, j].set_title(f"Laplacian level {j}", fontsize=9)
for ax in axes.flat:
    ax.set_axis_off()
plt.show()

# %%
# Reconstruction from the Laplacian pyramid is exact up to rounding:

recon = levels[-1]
for lap in reversed(laplacian):
    up = imfilt.pyramid_up(recon, axes=(0, 1))
    recon = up[:lap.shape[0], :lap.shape[1]] + lap
print(f"max reconstruction error: {float(np.abs(recon - rgb).max()):.1e}")
