"""
Bilateral filter: smoothing that keeps edges
============================================

The bilateral filter averages each pixel with its neighbours, weighting each
neighbour by a Gaussian of its distance (``sigma_space``) *and* of its
difference in value (``sigma_color``): across an edge the values differ a
lot, so the other side gets almost no weight and the edge stays sharp.
A mean over a window of the same size is shown for comparison.
"""
# requires imfilt: bilateral

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import imfilt

if not hasattr(imfilt, "bilateral"):
    print("this imfilt has no bilateral filter; nothing to show")
    raise SystemExit(0)

image = data.camera().astype(np.float32) / 255
noisy = np.clip(image + np.random.default_rng(0).normal(0, 0.08, image.shape), 0, 1)
noisy = noisy.astype(np.float32)

smooth = imfilt.bilateral(noisy, 9, 0.2, 3.0)
blur = imfilt.convolve(noisy, np.full((9, 9), 1 / 81, np.float32), mode="same",
                       boundary="symm")

crop = (slice(60, 260), slice(160, 360))
fig, axes = plt.subplots(1, 3, figsize=(10, 3.6), layout="constrained")
for ax, img, title in zip(axes, [noisy, blur, smooth],
                          ["noisy", "9x9 mean", "bilateral(9, 0.2, 3.0)"]):
    ax.imshow(img[crop], cmap="gray", vmin=0, vmax=1)
    ax.set_title(title)
    ax.set_axis_off()
plt.show()
