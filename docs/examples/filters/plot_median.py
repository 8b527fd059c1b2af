"""
Median filter against salt-and-pepper noise
===========================================

A median filter replaces each pixel by the median of its window, so isolated
outliers disappear while edges stay sharp -- unlike a mean of the same
window.  :func:`imfilt.median` keeps the input dtype (it selects values, it
does not compute new ones).
"""
# requires imfilt: median

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import imfilt

if not hasattr(imfilt, "median"):
    print("this imfilt has no median filter; nothing to show")
    raise SystemExit(0)

image = data.camera()
rng = np.random.default_rng(0)
noisy = image.copy()
salt = rng.random(image.shape)
noisy[salt < 0.05] = 0
noisy[salt > 0.95] = 255

med3 = imfilt.median(noisy, size=3)
med5 = imfilt.median(noisy, size=5)
mean3 = imfilt.convolve(noisy, np.full((3, 3), 1 / 9), mode="same", boundary="symm")
print(f"median keeps the dtype: {med3.dtype}")

fig, axes = plt.subplots(1, 4, figsize=(12, 3.4), layout="constrained")
for ax, img, title in zip(axes, [noisy, mean3, med3, med5],
                          ["10% salt and pepper", "3x3 mean", "median, size 3",
                           "median, size 5"]):
    ax.imshow(img, cmap="gray", vmin=0, vmax=255)
    ax.set_title(title)
    ax.set_axis_off()
plt.show()
