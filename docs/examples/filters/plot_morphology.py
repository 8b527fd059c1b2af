"""
Grey-level morphology
=====================

Erosion takes the minimum over each window, dilation the maximum; opening
(erosion, then dilation) removes bright details smaller than the window,
closing (dilation, then erosion) removes dark ones, and the white top-hat
(the image minus its opening) keeps only the small bright details.  Shown
on scikit-image's ``coins`` with a 7x7 square window.
"""
# requires imfilt: erosion, dilation, opening, closing, white_tophat

import matplotlib.pyplot as plt
from skimage import data

import imfilt

NEEDED = ["erosion", "dilation", "opening", "closing", "white_tophat"]
missing = [name for name in NEEDED if not hasattr(imfilt, name)]
if missing:
    print("this imfilt has no " + ", ".join(missing) + "; nothing to show")
    raise SystemExit(0)

image = data.coins()
size = 7
results = {name: getattr(imfilt, name)(image, size=size) for name in NEEDED}

fig, axes = plt.subplots(2, 3, figsize=(10, 5.6), layout="constrained")
axes[0, 0].imshow(image, cmap="gray")
axes[0, 0].set_title("coins")
for ax, (name, out) in zip(axes.flat[1:], results.items()):
    ax.imshow(out, cmap="gray")
    ax.set_title(f"{name}, size {size}")
for ax in axes.flat:
    ax.set_axis_off()
plt.show()
