"""A fully convolutional network (FCN) walk-through with imfilt and NumPy only.

The classic FCN story, end to end, on a real photograph
(``skimage.data.astronaut()``, 512x512 RGB):

1. Five stages of 3x3 convolution + ReLU + 2x2 max pooling **with indices**
   take the image to 1/32 resolution (16x16).
2. A small "classifier" is trained-shaped for a 224x224 input: its first
   fully connected layer reads the 7x7xC feature block (the VGG
   ``7x7x512 -> 4096`` layer, with smaller sizes).  Rewritten as a 7x7
   convolution (F=7, P=0, S=1) and a 1x1 convolution, the **same weights**
   applied to the whole 512x512 image give a 10x10 map of class scores, one
   per window position: asserted equal to sliding the original classifier.
3. Max unpooling with the recorded indices enlarges the 1/32 features back
   to 1/16 (record the pooling index, enlarge, then fill each value back
   at its index).
4. FCN-8s style fusion: the 1/32 scores are upsampled 2x by a transposed
   convolution initialised with the bilinear kernel, added to 1x1-conv
   scores of the 1/16 features, upsampled 2x again, added to scores of the
   1/8 features, and finally upsampled 8x to the full 512x512 resolution.
   The plain FCN deconvolution darkens the border; ``imfilt.upsample`` is
   the edge-exact version (equal to PyTorch's bilinear interpolation).

The weights are random (seeded): the point is the mechanics and the exact
equivalences, not a trained segmentation.  Every intermediate map is saved
as a PNG in the output directory given on the command line::

    python examples/fcn_walkthrough.py out_dir

Runs in a few seconds.
"""

import argparse
import os
import sys
import time
from pathlib import Path

# Run from a source checkout: prefer the in-place build next to this script
# over any installed imfilt.
_ROOT = Path(__file__).resolve().parents[1]
if (_ROOT / "imfilt" / "__init__.py").exists() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import numpy as np
from PIL import Image
from skimage import data

import imfilt

N_CLASSES = 5
WIDTHS = (8, 16, 24, 32, 32)     # channels after each of the 5 stages
HIDDEN = 64                      # "4096" of VGG's fc6, smaller


def he_weights(rng, k_out, c_in, kh, kw):
    """Random conv weights with He scaling (keeps activations in range)."""
    w = rng.standard_normal((k_out, c_in, kh, kw)).astype(np.float32)
    return w * np.float32(np.sqrt(2.0 / (c_in * kh * kw)))


def to_png(array, path):
    """Save a 2-D map (normalised to 0..255) or an (H, W, 3) uint8 image."""
    a = np.asarray(array)
    if a.ndim == 2:
        lo, hi = float(a.min()), float(a.max())
        a = ((a - lo) / (hi - lo if hi > lo else 1.0) * 255).round().astype(np.uint8)
    Image.fromarray(a).save(path)


def colorize(labels):
    palette = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200],
                        [245, 130, 48]], dtype=np.uint8)
    return palette[labels % len(palette)]


def features(x, convs):
    """Conv + ReLU + max pool with indices per stage; returns every level."""
    levels, indices, shapes = [], [], []
    for w, b in convs:
        x = np.maximum(imfilt.conv2d(x, w, b, padding=1), 0)
        shapes.append(x.shape)
        x, idx = imfilt.max_pool2d(x, 2, return_indices=True)
        levels.append(x)
        indices.append(idx)
    return levels, indices, shapes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="directory for the PNG maps (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    args = parser.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    out = lambda name: os.path.join(args.out_dir, name)  # noqa: E731
    t_start = time.perf_counter()
    rng = np.random.default_rng(args.seed)

    image = data.astronaut()                                   # (512, 512, 3) uint8
    to_png(image, out("00_input.png"))
    x = np.moveaxis(image, -1, 0).astype(np.float32) / 255.0   # (3, 512, 512)
    x -= x.mean(axis=(1, 2), keepdims=True)

    # 1. Conv + pool with indices down to 1/32 -------------------------------
    convs, c_in = [], 3
    for c_out in WIDTHS:
        convs.append((he_weights(rng, c_out, c_in, 3, 3), np.zeros(c_out, np.float32)))
        c_in = c_out
    levels, indices, pre_pool = features(x, convs)
    for i, lev in enumerate(levels):
        to_png(np.abs(lev).mean(axis=0), out(f"01_pool{i + 1}_1-{2 ** (i + 1)}.png"))
    pool3, pool4, pool5 = levels[2], levels[3], levels[4]
    print(f"features: {' -> '.join('x'.join(map(str, lev.shape)) for lev in levels)}")
    assert pool5.shape == (WIDTHS[-1], 16, 16)

    # 2. The fully connected classifier, and the same weights as convolutions --
    C = WIDTHS[-1]
    fc6 = rng.standard_normal((HIDDEN, C * 7 * 7)).astype(np.float32) * np.float32(
        np.sqrt(2.0 / (C * 49)))
    b6 = rng.standard_normal(HIDDEN).astype(np.float32) * np.float32(0.1)
    fc7 = rng.standard_normal((N_CLASSES, HIDDEN)).astype(np.float32) * np.float32(
        np.sqrt(1.0 / HIDDEN))
    b7 = np.zeros(N_CLASSES, np.float32)

    def classifier(block):                                      # block: (C, 7, 7)
        h = np.maximum(fc6 @ block.reshape(-1) + b6, 0)
        return fc7 @ h + b7

    # On a 224x224 crop the features are exactly 7x7xC: one score vector.
    crop_feats, _, _ = features(x[:, 144:368, 144:368], convs)
    assert crop_feats[-1].shape == (C, 7, 7)
    crop_scores = classifier(crop_feats[-1])

    # FC -> conv: fc6 becomes a 7x7 conv (F=7, P=0, S=1, K=HIDDEN), fc7 a 1x1 conv.
    w6 = fc6.reshape(HIDDEN, C, 7, 7)
    w7 = fc7.reshape(N_CLASSES, HIDDEN, 1, 1)
    crop_conv = imfilt.conv2d(np.maximum(imfilt.conv2d(crop_feats[-1], w6, b6), 0), w7, b7)
    np.testing.assert_allclose(crop_conv[:, 0, 0], crop_scores, rtol=1e-4, atol=1e-5)

    # On the full 512x512 image the same weights give a 10x10 map of scores,
    # equal to sliding the original classifier over every 7x7 window.
    score_map = imfilt.conv2d(np.maximum(imfilt.conv2d(pool5, w6, b6), 0), w7, b7)
    assert score_map.shape == (N_CLASSES, 10, 10)
    slid = np.empty_like(score_map)
    for i in range(10):
        for j in range(10):
            slid[:, i, j] = classifier(pool5[:, i:i + 7, j:j + 7])
    np.testing.assert_allclose(score_map, slid, rtol=1e-4, atol=1e-4)
    print("FC-as-conv: 10x10 score map == the classifier slid over every 7x7 window "
          f"(max |diff| {np.abs(score_map - slid).max():.2e})")
    to_png(np.kron(score_map.argmax(0), np.ones((16, 16), int)).astype(np.uint8) * 60,
           out("02_window_scores_argmax.png"))

    # 3. Unpooling with the recorded indices: 1/32 -> 1/16 --------------------
    unpooled = imfilt.max_unpool2d(pool5, indices[4], 2, output_size=pre_pool[4])
    assert unpooled.shape == (C, 32, 32)
    assert np.count_nonzero(unpooled) <= pool5.size
    assert np.array_equal(imfilt.max_pool2d(unpooled, 2), pool5)  # values back in place
    to_png(np.abs(unpooled).mean(axis=0), out("03_unpooled_pool5_1-16.png"))

    # 4. FCN-8s: score at 1/32 (fc6 padded 'same'), fuse with 1/16 and 1/8 -----
    score_fr = imfilt.conv2d(np.maximum(imfilt.conv2d(pool5, w6, b6, padding="same"), 0),
                             w7, b7)                                      # (5, 16, 16)
    score_pool4 = imfilt.conv2d(pool4, he_weights(rng, N_CLASSES, WIDTHS[3], 1, 1))
    score_pool3 = imfilt.conv2d(pool3, he_weights(rng, N_CLASSES, WIDTHS[2], 1, 1))

    def deconv(scores, f):
        """FCN's per-class transposed convolution with the bilinear kernel."""
        k = imfilt.bilinear_kernel(f).astype(np.float32)
        w = np.broadcast_to(k, (N_CLASSES, 1) + k.shape)
        # stride f, padding ceil((f - 1) / 2) = f // 2: output exactly f times larger
        return imfilt.conv_transpose2d(scores, w, stride=f, padding=f // 2, groups=N_CLASSES)

    upscore2 = deconv(score_fr, 2)                                       # 1/16
    fuse_pool4 = upscore2 + score_pool4
    upscore_pool4 = deconv(fuse_pool4, 2)                                # 1/8
    fuse_pool3 = upscore_pool4 + score_pool3
    upscore8 = deconv(fuse_pool3, 8)                                     # full size
    exact8 = imfilt.upsample(fuse_pool3, 8)                              # edge-exact
    assert upscore8.shape == exact8.shape == (N_CLASSES, 512, 512)
    inner = (slice(None), slice(8, -8), slice(8, -8))
    np.testing.assert_allclose(upscore8[inner], exact8[inner], rtol=1e-4, atol=1e-4)
    border = np.abs(upscore8 - exact8).max()
    print(f"FCN-8s: 1/32 {score_fr.shape[1:]} -> 1/16 {fuse_pool4.shape[1:]} -> "
          f"1/8 {fuse_pool3.shape[1:]} -> {upscore8.shape[1:]}; deconvolution == bilinear "
          f"in the interior, border differs by up to {border:.3f} (edge-exact upsample fixes it)")

    for name, m in (("04_score_1-32", score_fr), ("05_fuse_1-16", fuse_pool4),
                    ("06_fuse_1-8", fuse_pool3)):
        to_png(colorize(m.argmax(0)), out(f"{name}_argmax.png"))
    to_png(exact8[0], out("07_class0_score_full.png"))
    to_png(colorize(exact8.argmax(0)), out("08_segmentation_full.png"))
    blend = (0.5 * image + 0.5 * colorize(exact8.argmax(0))).astype(np.uint8)
    to_png(blend, out("09_overlay.png"))

    # The classical alternative: a Gaussian pyramid (cv2.pyrDown/pyrUp).
    down = imfilt.pyramid_down(image, axes=(0, 1))                   # float32
    to_png(np.clip(np.rint(down), 0, 255).astype(np.uint8), out("10_pyramid_down.png"))
    up = imfilt.pyramid_up(down, axes=(0, 1))
    to_png(np.clip(np.rint(up), 0, 255).astype(np.uint8), out("11_pyramid_up.png"))

    print(f"wrote {len(os.listdir(args.out_dir))} PNG files to {args.out_dir} in "
          f"{time.perf_counter() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
