"""
Pooling and unpooling
=====================

The pooling functions of imfilt follow ``torch.nn.functional`` exactly
(window geometry, output size, ``ceil_mode``, padding, the divisor of
average pooling, the layout of the indices), on NumPy arrays of shape
``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``.

Max, min and average pooling of a photograph, 4x4 windows with stride 4:
"""
# sphinx_gallery_thumbnail_number = 2

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import imfilt

image = data.camera().astype(np.float32) / 255  # (512, 512)

pooled = {
    "max_pool2d": imfilt.max_pool2d(image, 4),
    "min_pool2d": imfilt.min_pool2d(image, 4),
    "avg_pool2d": imfilt.avg_pool2d(image, 4),
}
fig, axes = plt.subplots(1, 4, figsize=(12, 3.3), layout="constrained")
axes[0].imshow(image, cmap="gray", vmin=0, vmax=1)
axes[0].set_title(f"camera {image.shape}")
for ax, (name, out) in zip(axes[1:], pooled.items()):
    ax.imshow(out, cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{name}(4) {out.shape}")
for ax in axes:
    ax.set_axis_off()
plt.show()

# %%
# Indices and unpooling
# ---------------------
# ``return_indices=True`` also returns where each maximum came from, as the
# flat index ``row * W + column`` into the input plane.
# :func:`imfilt.max_unpool2d` puts every pooled value back at its index and
# zeros everywhere else: the input of the decoder half of an
# encoder-decoder network (SegNet).  Pooling the unpooled map again gives
# the pooled values back.

out, idx = imfilt.max_pool2d(image, 4, return_indices=True)
restored = imfilt.max_unpool2d(out, idx, 4, output_size=image.shape)
assert np.array_equal(imfilt.max_pool2d(restored, 4), out)
print(f"pooled {out.shape}, indices {idx.dtype}, unpooled {restored.shape}, "
      f"non-zero {np.count_nonzero(restored)} of {restored.size}")

fig, axes = plt.subplots(1, 3, figsize=(10, 3.6), layout="constrained")
axes[0].imshow(out, cmap="gray", vmin=0, vmax=1)
axes[0].set_title("max_pool2d(4)")
axes[1].imshow(restored, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
axes[1].set_title("max_unpool2d: values at their indices")
crop = (slice(120, 168), slice(220, 268))
axes[2].imshow(restored[crop], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
axes[2].set_title("a 48x48 detail, one pixel per sample")
for ax in axes:
    ax.set_axis_off()
plt.show()

# %%
# Stochastic pooling
# ------------------
# :func:`imfilt.stochastic_pool2d` picks one activation per window with
# probability proportional to its value (training) or returns the
# probability-weighted mean (inference).  The random numbers are drawn with
# NumPy in a fixed order, so a seed gives the same result on any number of
# threads.

a = imfilt.stochastic_pool2d(image, 4, rng=0)
b = imfilt.stochastic_pool2d(image, 4, rng=0, workers=1)
assert np.array_equal(a, b)
expected = imfilt.stochastic_pool2d(image, 4, training=False)

fig, axes = plt.subplots(1, 2, figsize=(7, 3.6), layout="constrained")
axes[0].imshow(a, cmap="gray", vmin=0, vmax=1)
axes[0].set_title("training=True, rng=0")
axes[1].imshow(expected, cmap="gray", vmin=0, vmax=1)
axes[1].set_title("training=False (expectation)")
for ax in axes:
    ax.set_axis_off()
plt.show()
