"""
The five boundary rules side by side
====================================

Every imfilt filter that reads outside the image takes a ``boundary``:
``'fill'`` (a constant, ``fillvalue``), ``'wrap'`` (periodic), ``'symm'``
(mirror that repeats the edge pixel; ``scipy.ndimage``'s ``'reflect'``),
``'reflect'`` (mirror about the edge pixel; OpenCV's default) and ``'edge'``
(repeat the edge pixel).  They are defined by :func:`numpy.pad`.

Seeing the padding itself
-------------------------
Full correlation with a kernel that is zero except for a 1 at its centre
returns the image surrounded by ``r`` samples of padding, where ``2r + 1`` is
the kernel size: the padded image, drawn by imfilt's own boundary code.
It equals ``numpy.pad`` with the mode of the same rule.
"""
# sphinx_gallery_thumbnail_number = 3

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import imfilt

NUMPY_PAD = {"fill": "constant", "wrap": "wrap", "symm": "symmetric",
             "reflect": "reflect", "edge": "edge"}

image = data.camera()[60:188, 200:328].astype(np.float32) / 255  # 128x128 crop
r = 64
delta = np.zeros((2 * r + 1, 2 * r + 1), dtype=np.float32)
delta[r, r] = 1

fig, axes = plt.subplots(1, 5, figsize=(13, 3.1), layout="constrained")
for ax, boundary in zip(axes, imfilt.BOUNDARIES):
    padded = imfilt.correlate(image, delta, mode="full", boundary=boundary, fillvalue=0.5)
    np.testing.assert_array_equal(
        padded, np.pad(image, r, mode=NUMPY_PAD[boundary],
                       **({"constant_values": 0.5} if boundary == "fill" else {})))
    ax.imshow(padded, cmap="gray", vmin=0, vmax=1)
    ax.add_patch(plt.Rectangle((r - 0.5, r - 0.5), image.shape[1], image.shape[0],
                               fill=False, edgecolor="tab:red", linewidth=1.5))
    label = boundary + (" (fillvalue=0.5)" if boundary == "fill" else "")
    ax.set_title(label)
    ax.set_axis_off()
plt.show()

# %%
# Kernels larger than the image
# -----------------------------
# The rules fold again and again when the padding is wider than the image:
# ``'wrap'`` repeats with period ``n``, ``'symm'`` with period ``2n`` and
# ``'reflect'`` with period ``2n - 2``.  A 16-sample ramp padded by 40 on
# each side:

ramp = np.arange(16, dtype=np.float64)
r = 40
delta1 = np.zeros(2 * r + 1)
delta1[r] = 1
fig, ax = plt.subplots(figsize=(9.5, 3.4), layout="constrained")
for offset, boundary in enumerate(["wrap", "symm", "reflect", "edge"]):
    padded = imfilt.correlate(ramp, delta1, mode="full", boundary=boundary)
    x = np.arange(-r, ramp.size + r)
    ax.plot(x, padded + 20 * offset, ".-", markersize=3, label=boundary)
ax.axvspan(-0.5, ramp.size - 0.5, color="0.9")
ax.set_xlabel("sample index (the grey band is the image)")
ax.set_yticks([])
ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
plt.show()

# %%
# The effect on a blur
# --------------------
# A 31x31 box blur of the same crop.  Near the edges the rules differ: the
# zero fill darkens the border, ``'wrap'`` brings in the opposite side,
# and the three others continue the image.  The second row shows the
# difference from ``'symm'``, the default of the image filters.

box = np.full((31, 31), 1 / 31**2, dtype=np.float32)
blurred = {b: imfilt.convolve(image, box, mode="same", boundary=b) for b in imfilt.BOUNDARIES}
fig, axes = plt.subplots(2, 5, figsize=(13, 5.6), layout="constrained")
for j, boundary in enumerate(imfilt.BOUNDARIES):
    axes[0, j].imshow(blurred[boundary], cmap="gray", vmin=0, vmax=1)
    axes[0, j].set_title(boundary)
    diff = blurred[boundary] - blurred["symm"]
    axes[1, j].imshow(diff, cmap="RdBu_r", vmin=-0.3, vmax=0.3)
    axes[1, j].set_title(f"- symm (max |d| {float(np.abs(diff).max()):.2f})", fontsize=9)
for ax in axes.flat:
    ax.set_axis_off()
plt.show()

# %%
# Names in other libraries
# ------------------------
# The same rules go by other names elsewhere; see the user guide page on
# boundaries for the full table.  The error message for a foreign name
# suggests the imfilt one:

try:
    imfilt.convolve(image, box, boundary="mirror")
except ValueError as exc:
    print(exc)
