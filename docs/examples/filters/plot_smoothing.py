"""
Smoothing: Gaussian, box and unsharp masking
============================================

Blurring a photograph with :func:`imfilt.gaussian` at growing ``sigma`` and
with :func:`imfilt.box` (the mean over a square window), and sharpening it
with :func:`imfilt.unsharp_mask`, which adds back ``amount`` times the
difference between the image and its Gaussian blur.  A ``uint8`` photograph
gives ``float32`` results (imfilt's dtype policy), in the units of the image.
"""
# requires imfilt: gaussian, box, unsharp_mask

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import imfilt

NEEDED = ["gaussian", "box", "unsharp_mask"]
missing = [name for name in NEEDED if not hasattr(imfilt, name)]
if missing:
    print("this imfilt has no " + ", ".join(missing) + "; nothing to show")
    raise SystemExit(0)

image = data.camera()  # (512, 512) uint8

sigmas = [1, 3, 8]
fig, axes = plt.subplots(1, 4, figsize=(12, 3.4), layout="constrained")
axes[0].imshow(image, cmap="gray", vmin=0, vmax=255)
axes[0].set_title("camera (uint8)")
for ax, sigma in zip(axes[1:], sigmas):
    ax.imshow(imfilt.gaussian(image, sigma), cmap="gray", vmin=0, vmax=255)
    ax.set_title(f"gaussian, sigma={sigma}")
for ax in axes:
    ax.set_axis_off()
plt.show()

# %%
# Box filter and unsharp mask
# ---------------------------

boxed = imfilt.box(image, 9)
sharp = imfilt.unsharp_mask(image, 2.0, 1.5)
crop = (slice(60, 240), slice(180, 360))
fig, axes = plt.subplots(1, 3, figsize=(10, 3.6), layout="constrained")
for ax, img, title in zip(axes, [image, boxed, sharp],
                          ["detail", "box, size 9", "unsharp_mask(radius=2, amount=1.5)"]):
    ax.imshow(np.clip(img[crop], 0, 255), cmap="gray", vmin=0, vmax=255)
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
plt.show()
