"""
Edge filters on a photograph
============================

The derivative filters of imfilt on scikit-image's ``camera`` photograph:
the gradient magnitudes of :func:`imfilt.sobel`, :func:`imfilt.scharr`,
:func:`imfilt.prewitt` and :func:`imfilt.roberts`, and the Laplacian of
:func:`imfilt.laplace`.  A ``uint8`` image gives ``float32`` results in the
units of the image (no rescaling, ``convention='ndimage'``), so the
magnitudes of the 3x3 operators differ by the sum of their smoothing
weights: 4 for Sobel, 16 for Scharr, 3 for Prewitt.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import hsv_to_rgb
from skimage import data

import imfilt

image = data.camera()  # (512, 512) uint8

results = {
    "sobel": imfilt.sobel(image),
    "scharr": imfilt.scharr(image),
    "prewitt": imfilt.prewitt(image),
    "roberts": imfilt.roberts(image),
    "laplace": imfilt.laplace(image),
}
for name, out in results.items():
    print(f"{name:8s} dtype {out.dtype}, max {float(np.abs(out).max()):8.1f}")

fig, axes = plt.subplots(2, 3, figsize=(9, 6.4), layout="constrained")
axes[0, 0].imshow(image, cmap="gray")
axes[0, 0].set_title("camera (uint8)")
for ax, (name, out) in zip(axes.flat[1:], results.items()):
    if name == "laplace":
        # Signed: show it on a diverging scale clipped at a high percentile.
        lim = float(np.percentile(np.abs(out), 99))
        ax.imshow(out, cmap="RdBu_r", vmin=-lim, vmax=lim)
    else:
        ax.imshow(out, cmap="magma", vmax=float(np.percentile(out, 99.5)))
    ax.set_title(f"imfilt.{name}")
for ax in axes.flat:
    ax.set_axis_off()
plt.show()

# %%
# One derivative, and the direction
# ---------------------------------
# ``axis=0`` is the derivative down the rows (positive where the image gets
# brighter downwards), ``axis=1`` along the columns.  :func:`imfilt.gradient`
# returns the magnitude and the direction ``arctan2(g0, g1)`` from one pass.

g0 = imfilt.sobel(image, axis=0)
g1 = imfilt.sobel(image, axis=1)
magnitude, direction = imfilt.gradient(image)
np.testing.assert_allclose(magnitude, np.hypot(g0, g1), rtol=1e-5, atol=1e-3)

fig, axes = plt.subplots(1, 3, figsize=(9, 3.4), layout="constrained")
lim = float(np.percentile(np.abs(g0), 99))
axes[0].imshow(g0, cmap="RdBu_r", vmin=-lim, vmax=lim)
axes[0].set_title("sobel, axis=0")
axes[1].imshow(g1, cmap="RdBu_r", vmin=-lim, vmax=lim)
axes[1].set_title("sobel, axis=1")
# Hue = direction, brightness = magnitude.
hsv = np.stack([(direction + np.pi) / (2 * np.pi), np.ones_like(direction),
                np.clip(magnitude / np.percentile(magnitude, 99), 0, 1)], axis=-1)
axes[2].imshow(hsv_to_rgb(hsv))
axes[2].set_title("gradient direction (hue)")
for ax in axes:
    ax.set_axis_off()
plt.show()

# %%
# Colour images
# -------------
# Edge filters work on 2-D images; ``channel_axis`` filters each channel of
# a colour image on its own and keeps the channel axis.

rgb = data.astronaut()
per_channel = imfilt.sobel(rgb, channel_axis=-1)  # (512, 512, 3) float32
print(per_channel.shape, per_channel.dtype)

fig, axes = plt.subplots(1, 2, figsize=(8, 4), layout="constrained")
axes[0].imshow(rgb)
axes[0].set_title("astronaut")
axes[1].imshow(np.clip(per_channel / np.percentile(per_channel, 99), 0, 1))
axes[1].set_title("sobel(channel_axis=-1)")
for ax in axes:
    ax.set_axis_off()
plt.show()
