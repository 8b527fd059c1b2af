"""``channel_axis`` and the colour-ambiguity rule on every public image function.

Rule: a 3-D input whose last axis has length 3 or 4, given with neither
``axes`` nor ``channel_axis`` (for convolve/correlate: with a 2-D kernel),
raises ValueError saying it looks like a colour image and naming
``channel_axis=-1``; stacks ``(N, H, W)`` with ``W > 4`` are unaffected.
``channel_axis=c`` leaves axis ``c`` unfiltered and equals the loop over
channels stacked on axis ``c``.
"""

import numpy as np
import pytest

import imfilt

RNG = np.random.default_rng(0)
RGB = RNG.random((12, 10, 3)).astype(np.float32)
K2 = RNG.random((3, 3)).astype(np.float32)

# name -> (call on one image, extra kwargs)
FUNCS = {
    "convolve": lambda x, **kw: imfilt.convolve(x, K2, "same", **kw),
    "correlate": lambda x, **kw: imfilt.correlate(x, K2, "valid", **kw),
    "sobel": lambda x, **kw: imfilt.sobel(x, **kw),
    "scharr": lambda x, **kw: imfilt.scharr(x, axis=0, **kw),
    "prewitt": lambda x, **kw: imfilt.prewitt(x, **kw),
    "roberts": lambda x, **kw: imfilt.roberts(x, **kw),
    "laplace": lambda x, **kw: imfilt.laplace(x, **kw),
    "gradient": lambda x, **kw: imfilt.gradient(x, **kw),
    "canny": lambda x, **kw: imfilt.canny(x, sigma=1.0, **kw),
    "max_pool2d": lambda x, **kw: imfilt.max_pool2d(x, 2, **kw),
    "max_pool2d_indices": lambda x, **kw: imfilt.max_pool2d(x, 3, 2, 1, return_indices=True,
                                                            **kw),
    "avg_pool2d": lambda x, **kw: imfilt.avg_pool2d(x, 2, padding=1, **kw),
    "min_pool2d": lambda x, **kw: imfilt.min_pool2d(x, (2, 3), **kw),
    "stochastic_pool2d_eval": lambda x, **kw: imfilt.stochastic_pool2d(x, 2, training=False,
                                                                       **kw),
    "upsample": lambda x, **kw: imfilt.upsample(x, 2, **kw),
    "upsample_nearest": lambda x, **kw: imfilt.upsample(x, 3, "nearest", **kw),
    "pyramid_down": lambda x, **kw: imfilt.pyramid_down(x, **kw),
    "pyramid_up": lambda x, **kw: imfilt.pyramid_up(x, **kw),
}


def _unpool(x, **kw):
    # pooled values and indices of a (2H, 2W) image: unpool back
    idx = np.zeros(x.shape, dtype=np.int64)
    return imfilt.max_unpool2d(x, idx, 2, **kw)


FUNCS["max_unpool2d"] = _unpool


def _loop(func, x, axis):
    moved = np.moveaxis(x, axis, 0)
    parts = [func(plane) for plane in moved]
    if isinstance(parts[0], tuple):
        return tuple(np.stack(p, axis=axis) for p in zip(*parts))
    return np.stack(parts, axis=axis)


def _equal(a, b):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for u, v in zip(a, b):
            _equal(u, v)
        return
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("channels", [3, 4])
def test_colour_ambiguity_error(name, channels):
    x = np.ascontiguousarray(RNG.random((12, 10, channels)).astype(np.float32))
    with pytest.raises(ValueError, match=r"looks like a colour image.*channel_axis=-1"):
        FUNCS[name](x)


@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_channel_axis_equals_loop(name, axis):
    func = FUNCS[name]
    shape = [12, 10]
    shape.insert(axis % 3, 3)
    x = RNG.random(shape).astype(np.float32)
    _equal(func(x, channel_axis=axis), _loop(func, x, axis % 3))


@pytest.mark.parametrize("name", ["convolve", "correlate", "upsample", "pyramid_down",
                                  "pyramid_up"])
def test_stack_hint_axes(name):
    with pytest.raises(ValueError, match=r"axes=\(1, 2\)"):
        FUNCS[name](RGB)


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d", "max_unpool2d", "sobel"])
def test_stack_hint_channel_axis_0(name):
    with pytest.raises(ValueError, match=r"channel_axis=0"):
        FUNCS[name](RGB)


@pytest.mark.parametrize("name", ["convolve", "correlate", "max_pool2d", "avg_pool2d",
                                  "min_pool2d", "upsample", "pyramid_down", "pyramid_up",
                                  "max_unpool2d"])
def test_stacks_with_wide_images_unaffected(name):
    x = RNG.random((3, 8, 6)).astype(np.float32)
    _equal(FUNCS[name](x), _loop(FUNCS[name], x, 0))


def test_explicit_axes_still_allowed():
    got = imfilt.convolve(RGB, K2, "same", axes=(0, 1))
    _equal(got, imfilt.convolve(RGB, K2, "same", channel_axis=-1))
    # a genuine stack of 12 (10, 3) images
    got = imfilt.convolve(RGB, K2, "same", axes=(1, 2))
    _equal(got, _loop(lambda p: imfilt.convolve(p, K2, "same"), RGB, 0))
    got = imfilt.upsample(RGB, 2, axes=(1, 2))
    assert got.shape == (12, 20, 6)
    assert imfilt.max_pool2d(RGB, (2, 1), channel_axis=0).shape == (12, 5, 3)


def test_convolve_channel_axis_with_per_channel_kernels():
    kernels = RNG.random((3, 3, 3)).astype(np.float32)
    got = imfilt.convolve(RGB, kernels, "same", channel_axis=-1)
    want = np.stack([imfilt.convolve(RGB[..., c], kernels[c], "same") for c in range(3)], -1)
    _equal(got, want)


def test_convolve_channel_axis_with_1d_kernel_and_out():
    sig = RNG.random((3, 20))
    got = imfilt.correlate(sig, [1.0, 2.0, -1.0], "same", channel_axis=0)
    _equal(got, np.stack([imfilt.correlate(s, [1.0, 2.0, -1.0], "same") for s in sig]))
    out = np.empty((12, 10, 3), dtype=np.float32)
    assert imfilt.convolve(RGB, K2, "same", channel_axis=-1, out=out) is out
    _equal(out, imfilt.convolve(RGB, K2, "same", axes=(0, 1)))


def test_convolve_channel_axis_nan_policy():
    x = RGB.copy()
    x[3, 4, 1] = np.nan
    got = imfilt.convolve(x, K2, "same", channel_axis=-1, nan_policy="omit")
    _equal(got, _loop(lambda p: imfilt.convolve(p, K2, "same", nan_policy="omit"), x, 2))


def test_stochastic_training_channel_axis_equals_loop_with_one_generator():
    x = RNG.random((12, 10, 3))
    got = imfilt.stochastic_pool2d(x, 2, rng=np.random.default_rng(5), channel_axis=-1)
    gen = np.random.default_rng(5)
    want = np.stack([imfilt.stochastic_pool2d(x[..., c], 2, rng=gen) for c in range(3)], -1)
    _equal(got, want)


def test_unpool_channel_axis_round_trip():
    x = RNG.random((8, 6, 3))
    pooled, idx = imfilt.max_pool2d(x, 2, return_indices=True, channel_axis=-1)
    back = imfilt.max_unpool2d(pooled, idx, 2, channel_axis=-1)
    want = _loop(lambda p: imfilt.max_unpool2d(*imfilt.max_pool2d(p, 2, return_indices=True),
                                               2), x, 2)
    _equal(back, want)


def test_conv2d_channels_last():
    w = RNG.random((5, 3, 3, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"looks like a colour image.*channel_axis=-1"):
        imfilt.conv2d(RGB, w)
    got = imfilt.conv2d(RGB, w, channel_axis=-1)
    _equal(got, np.moveaxis(imfilt.conv2d(np.moveaxis(RGB, -1, 0), w), 0, -1))
    batch = np.stack([RGB, RGB * 2])
    got = imfilt.conv2d(batch, w, channel_axis=-1)
    _equal(got, np.moveaxis(imfilt.conv2d(np.moveaxis(batch, -1, 1), w), 1, -1))
    # (C, H, W) with W in {3, 4} is unambiguous when C matches the weight
    x = RNG.random((3, 6, 4)).astype(np.float32)
    assert imfilt.conv2d(x, w).shape == (5, 4, 2)


@pytest.mark.parametrize("func", [lambda x, **k: imfilt.convolve(x, K2, **k),
                                  lambda x, **k: imfilt.max_pool2d(x, 2, **k),
                                  lambda x, **k: imfilt.upsample(x, 2, **k),
                                  lambda x, **k: imfilt.sobel(x, **k)])
def test_channel_axis_validation(func):
    with pytest.raises(ValueError, match=r"channel_axis=3"):
        func(RGB, channel_axis=3)
    with pytest.raises(TypeError, match=r"channel_axis=1.5"):
        func(RGB, channel_axis=1.5)


def test_channel_axis_inside_axes_refused():
    with pytest.raises(ValueError, match="channel axis"):
        imfilt.convolve(RGB, K2, axes=(0, 2), channel_axis=-1)
    with pytest.raises(ValueError, match="channel axis"):
        imfilt.upsample(RGB, 2, axes=(0, 2), channel_axis=-1)


def test_channel_axis_that_leaves_too_few_dimensions_names_the_call():
    # The error speaks of the image and kernel the caller passed, not of the
    # per-channel slices.
    with pytest.raises(ValueError, match=r"channel_axis=-1 leaves 1-D channels of the 2-D image "
                                         r"\(shape \(5, 6\)\), fewer dimensions than the 2-D "
                                         r"kernel"):
        imfilt.convolve(np.zeros((5, 6)), np.ones((3, 3)), "same", channel_axis=-1)
    with pytest.raises(ValueError, match=r"channel_axis=0 leaves 0-D channels"):
        imfilt.correlate(np.zeros(5), np.ones(3), "same", channel_axis=0)


# N-D smoothing with per-axis parameters: ``axes`` given with ``channel_axis``
# (in any order) pair their values with the axes exactly as the same ``axes``
# do for one channel (renumbered without the channel axis).
SMOOTH = {
    "gaussian": lambda x, axes, **kw: imfilt.gaussian(x, (0.8, 2.0), axes=axes, **kw),
    "box": lambda x, axes, **kw: imfilt.box(x, (2, 5), axes=axes, **kw),
    "gaussian_laplace": lambda x, axes, **kw: imfilt.gaussian_laplace(x, (1.0, 2.0), axes=axes,
                                                                      **kw),
    "gaussian_gradient_magnitude": lambda x, axes, **kw: imfilt.gaussian_gradient_magnitude(
        x, (1.0, 2.0), axes=axes, **kw),
    "difference_of_gaussians": lambda x, axes, **kw: imfilt.difference_of_gaussians(
        x, (1.0, 0.5), (2.0, 3.0), axes=axes, **kw),
    "unsharp_mask": lambda x, axes, **kw: imfilt.unsharp_mask(x, (1.0, 2.5), axes=axes, **kw),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
@pytest.mark.parametrize("channel_axis, axes", [(-1, (1, 0)), (-1, (0, 1)), (0, (2, 1)),
                                                (1, (2, 0)), (1, (0, 2))])
def test_smoothing_channel_axis_with_axes_equals_loop(name, channel_axis, axes):
    x = RNG.random((14, 11, 13))
    c = channel_axis % 3
    plane_axes = tuple(a - (a > c) for a in axes)
    got = SMOOTH[name](x, axes, channel_axis=channel_axis)
    ref = _loop(lambda plane: SMOOTH[name](plane, plane_axes), x, c)
    np.testing.assert_array_equal(got, ref)
