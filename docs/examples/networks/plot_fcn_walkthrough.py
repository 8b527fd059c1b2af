"""
A fully convolutional network, step by step
===========================================

The repository's ``examples/fcn_walkthrough.py`` builds a small fully
convolutional network (FCN) from imfilt and NumPy alone and runs it on
scikit-image's ``astronaut`` photograph (512x512 RGB).  The weights are
random (seeded): the point is the mechanics and the exact equivalences, not a
trained segmentation.  This page runs that script and shows the maps it
writes, as heat maps.

1. Five stages of 3x3 :func:`imfilt.conv2d` + ReLU + 2x2
   :func:`imfilt.max_pool2d` **with indices** take the image to 1/32 of its
   size (16x16).
2. A classifier shaped for a 224x224 input reads the 7x7 feature block
   through a fully connected layer.  Rewritten as a 7x7 convolution and a
   1x1 convolution, the same weights applied to the whole image give a 10x10
   map of class scores, one per window position; the script asserts it
   equals sliding the original classifier over every window.
3. :func:`imfilt.max_unpool2d` with the recorded indices enlarges the 1/32
   features back to 1/16.
4. FCN-8s fusion: the 1/32 scores are upsampled 2x by
   :func:`imfilt.conv_transpose2d` with :func:`imfilt.bilinear_kernel`,
   added to scores of the 1/16 features, upsampled 2x again, added to scores
   of the 1/8 features and upsampled 8x to full size.
   :func:`imfilt.upsample` is the edge-exact version of the last step.
"""
# sphinx_gallery_thumbnail_number = 3

import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

# The walk-through lives in the repository's examples/ folder.
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # run as a notebook
    HERE = Path.cwd()
REPO = next(p for p in [HERE, *HERE.parents] if (p / "examples" / "fcn_walkthrough.py").exists())
sys.path.insert(0, str(REPO / "examples"))
import fcn_walkthrough  # noqa: E402

out_dir = Path(tempfile.mkdtemp(prefix="imfilt-fcn-"))
fcn_walkthrough.main([str(out_dir)])


def load(name):
    return np.asarray(Image.open(out_dir / name))


# %%
# Features at every scale
# -----------------------
# The mean absolute activation after each conv + ReLU + pool stage: 1/2 down
# to 1/32 of the input size.

pools = sorted(out_dir.glob("01_pool*.png"))
fig, axes = plt.subplots(1, len(pools) + 1, figsize=(13, 2.8), layout="constrained")
axes[0].imshow(load("00_input.png"))
axes[0].set_title("input 512x512")
for ax, path in zip(axes[1:], pools):
    m = load(path.name)
    ax.imshow(m, cmap="inferno", interpolation="nearest")
    ax.set_title(f"pool{path.name[7]} {m.shape[0]}x{m.shape[1]}")
for ax in axes:
    ax.set_axis_off()
plt.show()

# %%
# Fully connected layer as a convolution, and unpooling
# -----------------------------------------------------
# Left: the winning class of each of the 10x10 window positions.  Right: the
# 1/32 features unpooled to 1/16 with the indices recorded by the last
# pooling -- each value back at the position its maximum came from, zeros
# elsewhere.

fig, axes = plt.subplots(1, 2, figsize=(7, 3.4), layout="constrained")
axes[0].imshow(load("02_window_scores_argmax.png"), cmap="viridis", interpolation="nearest")
axes[0].set_title("10x10 window scores (argmax)")
axes[1].imshow(load("03_unpooled_pool5_1-16.png"), cmap="inferno", interpolation="nearest")
axes[1].set_title("max_unpool2d: 1/32 -> 1/16")
for ax in axes:
    ax.set_axis_off()
plt.show()

# %%
# FCN-8s fusion
# -------------
# The winning class at 1/32, after fusion with 1/16 and with 1/8, the score
# of class 0 upsampled to full size (a heat map), the full-size
# segmentation and its overlay on the photograph.

names = [("04_score_1-32_argmax.png", "1/32 (16x16)"),
         ("05_fuse_1-16_argmax.png", "fused 1/16"),
         ("06_fuse_1-8_argmax.png", "fused 1/8"),
         ("07_class0_score_full.png", "class 0 score, full size"),
         ("08_segmentation_full.png", "segmentation 512x512"),
         ("09_overlay.png", "overlay")]
fig, axes = plt.subplots(2, 3, figsize=(10, 6.8), layout="constrained")
for ax, (name, title) in zip(axes.flat, names):
    img = load(name)
    ax.imshow(img, cmap="magma" if img.ndim == 2 else None, interpolation="nearest")
    ax.set_title(title)
    ax.set_axis_off()
plt.show()

# %%
# The classical alternative: a Gaussian pyramid
# ---------------------------------------------
# :func:`imfilt.pyramid_down` and :func:`imfilt.pyramid_up` (OpenCV's
# ``pyrDown``/``pyrUp``) halve and double the photograph.

fig, axes = plt.subplots(1, 2, figsize=(7, 3.6), layout="constrained")
axes[0].imshow(load("10_pyramid_down.png"))
axes[0].set_title("pyramid_down: 256x256")
axes[1].imshow(load("11_pyramid_up.png"))
axes[1].set_title("pyramid_up of that: 512x512")
for ax in axes:
    ax.set_axis_off()
plt.show()
