"""
Canny edges and their thresholds
================================

:func:`imfilt.canny` smooths the image with a Gaussian of standard deviation
``sigma``, takes Sobel gradients, keeps only local maxima along the gradient
direction, and links edges by hysteresis: a pixel whose gradient exceeds
``low_threshold`` is an edge when it is 8-connected to a pixel above
``high_threshold``.  For a ``uint8`` image the thresholds are in the image's
units (0..255 scale, as in scikit-image); the defaults are 10% and 20% of
the dtype's maximum.

This example varies ``sigma`` and then the thresholds on scikit-image's
``coins`` photograph.
"""
# sphinx_gallery_thumbnail_number = 2

import matplotlib.pyplot as plt
from skimage import data

import imfilt

image = data.coins()  # (303, 384) uint8

# %%
# More smoothing, fewer and longer edges
# --------------------------------------

sigmas = [1.0, 2.0, 3.0]
fig, axes = plt.subplots(1, 4, figsize=(12, 3.2), layout="constrained")
axes[0].imshow(image, cmap="gray")
axes[0].set_title("coins (uint8)")
for ax, sigma in zip(axes[1:], sigmas):
    edges = imfilt.canny(image, sigma=sigma)
    ax.imshow(edges, cmap="gray")
    ax.set_title(f"sigma={sigma:g}: {int(edges.sum())} edge pixels")
for ax in axes:
    ax.set_axis_off()
plt.show()

# %%
# Hysteresis thresholds
# ---------------------
# Raising ``high_threshold`` removes edge chains that never become strong;
# raising ``low_threshold`` cuts chains where they weaken.  The grid shows
# both, in grey levels of the uint8 image.

lows = [10, 25, 50]
highs = [30, 60, 120]
fig, axes = plt.subplots(len(lows), len(highs), figsize=(9, 7.2), layout="constrained")
for i, low in enumerate(lows):
    for j, high in enumerate(highs):
        ax = axes[i, j]
        if low > high:
            ax.set_axis_off()
            continue
        edges = imfilt.canny(image, sigma=2.0, low_threshold=low, high_threshold=high)
        ax.imshow(edges, cmap="gray")
        ax.set_title(f"low={low}, high={high}", fontsize=9)
        ax.set_axis_off()
plt.show()

# %%
# Quantile thresholds
# -------------------
# With ``use_quantiles=True`` the thresholds are quantiles of the gradient
# magnitude instead: ``high_threshold=0.9`` keeps chains that reach the top
# 10% of gradients, whatever the image's contrast.

edges = imfilt.canny(image, sigma=2.0, low_threshold=0.7, high_threshold=0.9,
                     use_quantiles=True)
fig, ax = plt.subplots(figsize=(4.5, 3.6), layout="constrained")
ax.imshow(edges, cmap="gray")
ax.set_title("quantiles 0.7 / 0.9")
ax.set_axis_off()
plt.show()
