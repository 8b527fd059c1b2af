"""Smoothing filters against scipy.ndimage and scikit-image.

Boundary names map to scipy.ndimage modes: fill -> 'constant' (+ cval),
wrap -> 'wrap', symm -> 'reflect', reflect -> 'mirror', edge -> 'nearest'.
Results must agree to a few units in the last place of the compute dtype
(float32 for float32/small-integer images, float64 otherwise).
"""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi
import skimage.filters

import imfilt
from imfilt import (box, difference_of_gaussians, gabor, gabor_kernel, gaussian,
                    gaussian_gradient_magnitude, gaussian_kernel, gaussian_laplace,
                    unsharp_mask)
from imfilt._modes import BOUNDARIES

skf = pytest.importorskip("skimage.filters")

MODE = {"fill": "constant", "wrap": "wrap", "symm": "reflect", "reflect": "mirror",
        "edge": "nearest"}
COMPUTE = {"float32": np.float32, "float64": np.float64, "uint8": np.float32,
           "int16": np.float32, "int32": np.float64, "bool": np.float32, "float16": np.float32}


def image(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == bool:
        return rng.random(shape) > 0.5
    if dtype.kind in "ui":
        return rng.integers(0, 100, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def close(got, ref, compute, scale=1.0):
    ref = np.asarray(ref, dtype=np.float64)
    atol = 64 * np.finfo(compute).eps * scale * max(1.0, float(np.nanmax(np.abs(ref), initial=0)))
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), ref, rtol=0, atol=atol)


# --------------------------------------------------------------------------
# gaussian


SHAPES = [(23,), (12, 15), (5, 9, 11), (3, 4, 5, 6)]


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "uint8"])
@pytest.mark.parametrize("shape", SHAPES)
def test_gaussian_matches_ndimage(boundary, dtype, shape, rng):
    x = image(rng, shape, dtype)
    compute = COMPUTE[dtype]
    xc = x.astype(compute).astype(np.float64)
    nd = len(shape)
    cases = [
        dict(sigma=1.0),
        dict(sigma=[0.7 + 0.5 * i for i in range(nd)], truncate=2.5),
        dict(sigma=1.5, order=[i % 3 for i in range(nd)]),
        dict(sigma=2.0, radius=[1 + i for i in range(nd)]),
        dict(sigma=[0.0] + [1.2] * (nd - 1), order=[0] + [1] * (nd - 1)),
        dict(sigma=3.0, order=3 if nd == 1 else [3] + [0] * (nd - 1)),
    ]
    for kw in cases:
        got = gaussian(x, boundary=boundary, **kw)
        assert got.dtype == compute and got.shape == x.shape
        ref = ndi.gaussian_filter(xc, mode=MODE[boundary], **kw)
        close(got, ref, compute, scale=4)


@pytest.mark.parametrize("boundary", ["fill", "symm", "wrap"])
def test_gaussian_axes_and_stacks(boundary, rng):
    x = rng.standard_normal((4, 10, 12, 3))
    got = gaussian(x, [1.0, 2.0], axes=(1, 2), boundary=boundary)
    ref = ndi.gaussian_filter(x, [1.0, 2.0], axes=(1, 2), mode=MODE[boundary])
    close(got, ref, np.float64)
    got = gaussian(x, 1.5, axes=-2, order=1, boundary=boundary)
    ref = ndi.gaussian_filter(x, 1.5, axes=(2,), order=1, mode=MODE[boundary])
    close(got, ref, np.float64)


@pytest.mark.parametrize("channel_axis", [0, -1, 1])
def test_channel_axis_is_the_per_channel_loop(channel_axis, rng):
    x = rng.standard_normal((6, 7, 3)) if channel_axis != 0 else rng.standard_normal((3, 6, 7))
    if channel_axis == 1:
        x = rng.standard_normal((6, 3, 7))
    c = channel_axis % 3
    for func, args in ((gaussian, (1.3,)), (box, (3,)), (unsharp_mask, (1.0, 2.0)),
                       (gaussian_laplace, (1.0,)), (gaussian_gradient_magnitude, (1.0,)),
                       (difference_of_gaussians, (1.0,))):
        got = func(x, *args, channel_axis=channel_axis)
        loop = np.stack([func(np.take(x, i, axis=c), *args) for i in range(x.shape[c])], axis=c)
        np.testing.assert_array_equal(got, loop)


def test_colour_looking_images_need_axes_or_channel_axis(rng):
    x = rng.random((8, 8, 3))
    with pytest.raises(ValueError, match="channel_axis=-1"):
        gaussian(x, 1.0)
    with pytest.raises(ValueError, match="axes="):
        box(x, 3)
    assert gaussian(x, 1.0, axes=(0, 1, 2)).shape == x.shape
    with pytest.raises(ValueError, match="channel_axis"):
        gaussian(x, 1.0, axes=(0, 2), channel_axis=-1)


def test_sigma_zero_leaves_an_axis_alone(rng):
    x = rng.standard_normal((7, 9))
    np.testing.assert_array_equal(gaussian(x, 0.0), x)
    np.testing.assert_array_equal(gaussian(x, [0, 0], order=[1, 2]), x)
    got = gaussian(x, [0, 1.0])
    np.testing.assert_array_equal(got, gaussian(x, 1.0, axes=1))


def test_fill_pads_once_by_numpy_pad(rng):
    # Derivative passes see fillvalue beyond the image (numpy.pad of the
    # image, then filter): scipy pads every pass with cval instead.
    x = rng.standard_normal((10, 12))
    r = 4
    got = gaussian(x, 1.0, order=(1, 0), boundary="fill", fillvalue=2.0)
    xp = np.pad(x, r, constant_values=2.0)
    ref = ndi.gaussian_filter(xp, 1.0, order=(1, 0), mode="constant", cval=2.0)[r:-r, r:-r]
    close(got, ref, np.float64)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_gaussian_kernel_and_convolve_agree(boundary, rng):
    x = rng.standard_normal((15, 17))
    k = gaussian_kernel((1.0, 1.6), order=(0, 1), ndim=2)
    ref = imfilt.convolve(x, k, mode="same", boundary=boundary, fillvalue=0.5)
    got = gaussian(x, (1.0, 1.6), order=(0, 1), boundary=boundary, fillvalue=0.5)
    close(got, ref, np.float64)
    impulse = np.zeros(41)
    impulse[20] = 1
    k1 = gaussian_kernel(2.0, order=2)
    np.testing.assert_allclose(k1, ndi.gaussian_filter1d(impulse, 2.0, order=2)[12:29],
                               atol=1e-15)
    assert gaussian_kernel(1.0, dtype=np.float32).dtype == np.float32


# --------------------------------------------------------------------------
# box


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int16"])
@pytest.mark.parametrize("shape", SHAPES)
def test_box_matches_uniform_filter(boundary, dtype, shape, rng):
    x = image(rng, shape, dtype)
    compute = COMPUTE[dtype]
    xc = x.astype(compute).astype(np.float64)
    for size in (1, 2, 3, 4, 7, [2 + i for i in range(len(shape))], 40):
        got = box(x, size, boundary=boundary, fillvalue=0.5)
        ref = ndi.uniform_filter(xc, size, mode=MODE[boundary], cval=0.5)
        assert got.dtype == compute
        close(got, ref, compute)


def test_box_cost_does_not_grow_with_size(rng):
    # O(1) per pixel: a huge window runs as fast as a small one (checked
    # loosely through the result, cheaply: a 10001-wide window of a 3x5).
    x = rng.standard_normal((3, 5))
    ref = ndi.uniform_filter(x, 10001, mode="wrap")
    close(box(x, 10001, boundary="wrap"), ref, np.float64, scale=100)


# --------------------------------------------------------------------------
# nan_policy


@pytest.mark.parametrize("boundary", ["symm", "fill", "edge"])
@pytest.mark.parametrize("func, arg", [(gaussian, 1.2), (box, 4)])
def test_nan_policy_omit_is_normalised_convolution(func, arg, boundary, rng):
    x = rng.standard_normal((16, 18))
    x[3, 4] = np.nan
    x[10:14, 10:14] = np.nan
    x[0, 17] = np.inf
    finite = np.isfinite(x)
    if func is gaussian:
        ref_f = lambda a, cval: ndi.gaussian_filter(a, arg, mode=MODE[boundary], cval=cval)  # noqa
    else:
        ref_f = lambda a, cval: ndi.uniform_filter(a, arg, mode=MODE[boundary], cval=cval)  # noqa
    num = ref_f(np.where(finite, x, 0), 0.0)
    den = ref_f(finite.astype(float), 1.0)
    plain = ref_f(x, 0.0)
    ref = np.where(np.isfinite(plain), plain, num / np.where(den > 1e-12, den, np.nan))
    got = func(x, arg, boundary=boundary, nan_policy="omit")
    assert np.isfinite(got).sum() > 0.9 * got.size
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    ok = np.isfinite(ref)
    np.testing.assert_allclose(got[ok], ref[ok], atol=1e-10)
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        func(x, arg, nan_policy="raise")
    with pytest.raises(ValueError, match="nan_policy"):
        func(x, arg, nan_policy="ignore")


def test_omit_all_missing_window_is_nan():
    x = np.full((9, 9), np.nan)
    x[0, 0] = 1.0
    got = box(x, 3, nan_policy="omit", boundary="fill", fillvalue=np.nan)
    assert got[0, 0] == 1.0 and np.isnan(got[5, 5])
    with pytest.raises(ValueError, match="order=0"):
        gaussian(x, 1.0, order=1, nan_policy="omit")


@pytest.mark.parametrize("fillvalue", [np.nan, np.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8])
@pytest.mark.parametrize("func", ["gaussian", "box", "unsharp_mask", "difference_of_gaussians"])
def test_omit_leaves_out_a_non_finite_fillvalue(func, dtype, fillvalue, rng):
    # A finite image filled with NaN (or inf) outside: the outside is missing,
    # so each output is the weighted mean of the image samples in its window,
    # at the border too (the outside gets no weight), like any other
    # non-finite sample.
    x = (rng.random((9, 12)) * 200).astype(dtype)
    xf = x.astype(np.float64)

    def omitted(f):   # normalised convolution: the outside has weight 0
        return f(xf) / f(np.ones_like(xf))

    def blur(sigma):
        return omitted(lambda a: ndi.gaussian_filter(a, sigma, mode="constant", cval=0.0))

    kw = dict(boundary="fill", fillvalue=fillvalue, nan_policy="omit")
    if func == "gaussian":
        got, ref = gaussian(x, 1.5, **kw), blur(1.5)
    elif func == "box":
        got = box(x, 4, **kw)
        ref = omitted(lambda a: ndi.uniform_filter(a, 4, mode="constant", cval=0.0))
    elif func == "unsharp_mask":
        got, ref = unsharp_mask(x, 1.5, 0.7, **kw), xf + 0.7 * (xf - blur(1.5))
    else:
        got, ref = difference_of_gaussians(x, 1.0, 2.0, **kw), blur(1.0) - blur(2.0)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-4 * 200)


# --------------------------------------------------------------------------
# filters built from Gaussians


@pytest.mark.parametrize("dtype", ["float32", "float64", "uint8"])
def test_unsharp_mask_matches_skimage(dtype, rng):
    x = image(rng, (20, 24), dtype)
    for radius, amount in ((1.0, 1.0), (2.5, 0.7), (0.5, -1.0)):
        got = unsharp_mask(x, radius, amount)
        ref = skf.unsharp_mask(x.astype(COMPUTE[dtype]), radius, amount, preserve_range=True)
        close(got, ref, COMPUTE[dtype], scale=4)
    # scikit-image 0.26's own channel_axis path returns garbage here, so the
    # reference is its per-channel loop.
    x3 = image(rng, (12, 10, 3), dtype)
    got = unsharp_mask(x3, 1.5, 2.0, channel_axis=-1)
    ref = np.stack([skf.unsharp_mask(x3[..., c].astype(COMPUTE[dtype]), 1.5, 2.0,
                                     preserve_range=True) for c in range(3)], axis=-1)
    close(got, ref, COMPUTE[dtype], scale=4)
    clipped = unsharp_mask(x, 2.0, 3.0, clip=(10, 50))
    assert clipped.min() >= 10 and clipped.max() <= 50


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("shape", [(30,), (14, 17), (4, 6, 7)])
def test_laplace_and_gradient_magnitude_match_ndimage(boundary, shape, rng):
    x = rng.standard_normal(shape)
    for kw in (dict(sigma=1.0), dict(sigma=[1.0 + 0.3 * i for i in range(len(shape))]),
               dict(sigma=2.0, truncate=2.0), dict(sigma=1.5, radius=3)):
        close(gaussian_laplace(x, boundary=boundary, **kw),
              ndi.gaussian_laplace(x, mode=MODE[boundary], **kw), np.float64, scale=4)
        close(gaussian_gradient_magnitude(x, boundary=boundary, **kw),
              ndi.gaussian_gradient_magnitude(x, mode=MODE[boundary], **kw), np.float64, scale=4)
    x32 = x.astype(np.float32)
    close(gaussian_laplace(x32, 1.0), ndi.gaussian_laplace(x32.astype(float), 1.0), np.float32, 8)
    if len(shape) == 3:
        close(gaussian_laplace(x, 1.0, axes=(1, 2)),
              ndi.gaussian_laplace(x, 1.0, axes=(1, 2)), np.float64, 4)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_difference_of_gaussians_matches_skimage(boundary, rng):
    x = rng.standard_normal((18, 21))
    for low, high in ((1.0, None), (1.0, 3.0), ([1.0, 2.0], [2.0, 2.5])):
        got = difference_of_gaussians(x, low, high, boundary=boundary, fillvalue=0.3)
        ref = skf.difference_of_gaussians(x, low, high, mode=MODE[boundary], cval=0.3)
        close(got, ref, np.float64)
    # imfilt's default boundary is 'symm' (scikit-image's 'reflect').
    close(difference_of_gaussians(x, 1.0),
          skf.difference_of_gaussians(x, 1.0, mode="reflect"), np.float64)
    x3 = rng.standard_normal((10, 11, 3))
    close(difference_of_gaussians(x3, 1.0, 2.0, boundary="edge", channel_axis=-1),
          skf.difference_of_gaussians(x3, 1.0, 2.0, channel_axis=-1), np.float64)
    with pytest.raises(ValueError, match="high_sigma"):
        difference_of_gaussians(x, 2.0, 1.0)


def test_gabor_matches_skimage(rng):
    for kw in (dict(frequency=0.2), dict(frequency=0.1, theta=0.7, bandwidth=1.5),
               dict(frequency=0.3, sigma_x=2.0, sigma_y=4.0, n_stds=2, offset=0.5, theta=2.0)):
        np.testing.assert_allclose(gabor_kernel(**kw), skf.gabor_kernel(**kw), atol=1e-15)
    x = rng.standard_normal((25, 30))
    for boundary in BOUNDARIES:
        re, im = gabor(x, 0.2, theta=0.3, boundary=boundary, fillvalue=0.5)
        rre, rim = skf.gabor(x, 0.2, theta=0.3, mode=MODE[boundary], cval=0.5)
        close(re, rre, np.float64)
        close(im, rim, np.float64)
    with pytest.raises(ValueError, match="frequency"):
        gabor_kernel(0)
    with pytest.raises(ValueError, match="complex"):
        gabor_kernel(0.2, dtype=np.float64)


# --------------------------------------------------------------------------
# dtypes, out=, layouts


@pytest.mark.parametrize("dtype", list(COMPUTE))
def test_dtype_policy(dtype, rng):
    x = image(rng, (6, 7), dtype)
    for func, arg in ((gaussian, 1.0), (box, 3), (unsharp_mask, 1.0), (gaussian_laplace, 1.0),
                      (gaussian_gradient_magnitude, 1.0), (difference_of_gaussians, 1.0)):
        assert func(x, arg).dtype == COMPUTE[dtype], func.__name__


def test_uint8_read_directly_equals_float32(rng):
    # The fused kernels read uint8 images without a conversion pass.
    x = rng.integers(0, 256, size=(2, 40, 50), dtype=np.uint8)
    for func, arg in ((gaussian, 1.5), (box, 4), (gaussian, (0, 1.0, 2.0))):
        np.testing.assert_array_equal(func(x, arg, axes=(0, 1, 2)),
                                      func(x.astype(np.float32), arg, axes=(0, 1, 2)))
        a2 = arg if np.ndim(arg) == 0 else arg[1:]
        np.testing.assert_array_equal(func(x[0], a2), func(x[0].astype(np.float32), a2))


def test_integer_dtype_rounds_and_saturates_and_out(rng):
    x = np.array([[0, 255, 255, 255]], dtype=np.uint8)
    y = box(x, (1, 3), dtype=np.uint8)
    assert y.dtype == np.uint8
    np.testing.assert_array_equal(y, [[85, 170, 255, 255]])
    z = unsharp_mask(x, 1.0, 5.0, dtype=np.uint8)
    assert z.dtype == np.uint8 and z.max() == 255 and z.min() == 0
    out = np.empty((1, 4), dtype=np.float32)
    assert gaussian(x, 1.0, out=out) is out
    np.testing.assert_array_equal(out, gaussian(x, 1.0))
    out64 = np.empty((4, 1), dtype=np.float32).T
    assert box(x, 3, out=out64) is out64
    np.testing.assert_array_equal(out64, box(x, 3))
    with pytest.raises(ValueError, match="dtype"):
        gaussian(x, 1.0, out=np.empty((1, 4)))
    with pytest.raises(ValueError, match="shape"):
        gaussian(x, 1.0, out=np.empty((2, 4), np.float32))


def test_layouts_read_only_big_endian(rng):
    x = rng.standard_normal((20, 30))
    ref = gaussian(x[::2, ::-3], 1.5)
    ro = x[::2, ::-3].copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(gaussian(ro, 1.5), ref)
    np.testing.assert_array_equal(gaussian(x[::2, ::-3].astype(">f8"), 1.5), ref)
    np.testing.assert_array_equal(gaussian(np.asfortranarray(x[::2, ::-3]), 1.5), ref)
    np.testing.assert_array_equal(gaussian(x[::2, ::-3].tolist(), 1.5), ref)


# --------------------------------------------------------------------------
# hostile inputs


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(sigma=-1.0), ValueError, "sigma"),
    (dict(sigma=np.nan), ValueError, "sigma"),
    (dict(sigma=np.inf), ValueError, "sigma"),
    (dict(sigma=[1.0, 2.0, 3.0]), ValueError, "sigma"),
    (dict(sigma="1"), TypeError, "sigma"),
    (dict(sigma=1.0, order=-1), ValueError, "order"),
    (dict(sigma=1.0, order=1.5), TypeError, "order"),
    (dict(sigma=1.0, truncate=-1), ValueError, "truncate"),
    (dict(sigma=1.0, truncate=np.nan), ValueError, "truncate"),
    (dict(sigma=1.0, radius=-2), ValueError, "radius"),
    (dict(sigma=1.0, radius=10**9), ValueError, "taps"),
    (dict(sigma=1e12), ValueError, "taps"),
    # truncate * sigma overflows to inf: still the kernel-length error
    (dict(sigma=1e308), ValueError, r"^sigma=1e\+308 with truncate=4.0 gives a kernel of "
                                    "infinitely many taps"),
    (dict(sigma=[1.0, 1e308]), ValueError, r"^sigma=\[1.0, 1e\+308\] .* infinitely many"),
    (dict(sigma=1e300, truncate=1e10), ValueError, "infinitely many taps"),
    (dict(sigma=1.0, boundary="mirror"), ValueError, "reflect"),
    (dict(sigma=1.0, channel_axis=5), ValueError, "channel_axis"),
    (dict(sigma=1.0, axes=(0, 0)), ValueError, "axes"),
    (dict(sigma=1.0, axes=7), ValueError, "axes"),
    (dict(sigma=1.0, workers=0), ValueError, "workers"),
    (dict(sigma=1.0, dtype="U3"), TypeError, "dtype"),
])
def test_gaussian_rejects_bad_arguments(kwargs, exc, match, rng):
    with pytest.raises(exc, match=match):
        gaussian(rng.standard_normal((5, 6)), **kwargs)


def test_errors_name_what_the_caller_passed(rng):
    x = rng.standard_normal((5, 6))
    with pytest.raises(ValueError, match=r"^radius=-1 is not valid"):
        unsharp_mask(x, radius=-1)
    with pytest.raises(ValueError, match=r"^radius=1000000000.0 with truncate=4.0 gives a kernel"):
        unsharp_mask(x, radius=1e9)
    with pytest.raises(ValueError, match=r"^radius=1e\+308 with truncate=4.0 gives a kernel"):
        unsharp_mask(x, radius=1e308)
    with pytest.raises(ValueError, match=r"^high_sigma=.* infinitely many taps"):
        imfilt.difference_of_gaussians(x, 1.0, 1e308)
    with pytest.raises(ValueError, match=r"^low_sigma=.* gives a kernel of 80000001 taps"):
        imfilt.difference_of_gaussians(x, 1e7)
    with pytest.raises(ValueError, match=r"^sigma=1e\+308 .* infinitely many taps"):
        imfilt.gaussian_laplace(x, 1e308)
    with pytest.raises(ValueError, match=r"^amount=nan is not valid; use a finite number$"):
        unsharp_mask(x, 1.0, np.nan)
    with pytest.raises(ValueError, match=r"^theta=nan is not valid; use a finite number$"):
        gabor_kernel(0.2, theta=np.nan)
    with pytest.raises(ValueError, match=r"^offset=inf is not valid; use a finite number$"):
        gabor_kernel(0.2, offset=np.inf)


def test_hostile_images(rng):
    z = rng.standard_normal((6, 7)) + 1j * rng.standard_normal((6, 7))
    for func, arg in ((gaussian, 1.0), (box, 3), (unsharp_mask, 1.0), (gaussian_laplace, 1.0),
                      (difference_of_gaussians, 1.0)):
        got = func(z, arg)
        assert got.dtype == np.complex128
        np.testing.assert_array_equal(got, func(z.real, arg) + 1j * func(z.imag, arg))
    assert gaussian(z.astype(np.complex64), 1.0).dtype == np.complex64
    with pytest.raises(TypeError, match="real"):
        gaussian_gradient_magnitude(z, 1.0)
    with pytest.raises(TypeError, match="real"):
        gaussian(z, 1.0, nan_policy="omit")
    with pytest.raises(TypeError, match="dtype"):
        box(np.array([["a", "b"]]), 2)
    with pytest.raises(ValueError, match="0-d"):
        gaussian(np.float64(3.0), 1.0)
    with pytest.raises(ValueError, match="size"):
        box(np.ones((4, 4)), 0)
    for shape in [(0,), (0, 5), (4, 0), (2, 0, 5)]:
        for func, arg in ((gaussian, 1.0), (box, 3), (unsharp_mask, 1.0),
                          (gaussian_laplace, 1.0), (difference_of_gaussians, 1.0)):
            assert func(np.zeros(shape, np.float32), arg, axes=tuple(range(len(shape)))).shape == shape
    # A huge radius folds repeatedly: still exact.
    x = rng.standard_normal((3, 4))
    close(gaussian(x, 1.0, radius=50), ndi.gaussian_filter(x, 1.0, radius=50), np.float64)
    # Huge values: the mean of 1e308s is 1e308 (the sum would overflow).
    big = np.full((2, 3), 1e308)
    np.testing.assert_allclose(box(big, 2), 1e308)
    np.testing.assert_allclose(box(big, 2, axes=0), 1e308)


def test_uint8_images_skip_the_overflow_check_only_when_nothing_can_overflow(rng):
    # A uint8 image's fused 2-D pass skips the float32 overflow check of
    # folded taps; a fill or weights near the float maximum keep it, so the
    # uint8 image gives the bits of the same image as float32 either way.
    from imfilt import _separable
    x = rng.integers(0, 256, (40, 50), dtype=np.uint8)
    w = np.array([0.25, 0.5, 0.25])
    assert _separable._folds_bounded(x, 0.0, w, w)
    assert not _separable._folds_bounded(x, 3e38, w, w)
    assert not _separable._folds_bounded(x, 0.0, w * 1e18, w * 1e18)
    assert not _separable._folds_bounded(x, np.nan, w, w)
    assert not _separable._folds_bounded(x.astype(np.float32), 0.0, w, w)
    for fill in (0, 255, -7.5, 1e20, 3e38, -3e38):
        for sigma in (1.0, (2.0, 0.7)):
            got = gaussian(x, sigma, boundary="fill", fillvalue=fill)
            ref = gaussian(x.astype(np.float32), sigma, boundary="fill", fillvalue=fill)
            np.testing.assert_array_equal(got, ref, err_msg=f"fill={fill}")
            assert np.isfinite(got).all()
    k = np.outer([1e18, 3e18, 1e18], [2e18, 1e18, 2e18]).astype(np.float32)
    np.testing.assert_array_equal(imfilt.convolve(x, k, method="separable"),
                                  imfilt.convolve(x.astype(np.float32), k, method="separable"))


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_float32_values_near_the_maximum_stay_finite(boundary):
    # Symmetric taps are added before their weight multiplies them; two
    # float32 values above half the maximum overflow there, while SciPy
    # (which sums a float32 image in double) stays finite: imfilt recomputes
    # exactly those outputs unfolded.  Infinities and NaN keep SciPy's pattern.
    rng = np.random.default_rng(4)
    hi = np.finfo(np.float32).max
    for shape in [(40,), (30, 37), (7, 20, 9)]:
        x = (rng.uniform(-1, 1, shape) * hi).astype(np.float32)
        x[rng.random(shape) < 0.3] = np.float32(0.9) * hi
        flat = x.reshape(-1)
        flat[3], flat[-5] = np.inf, np.nan
        for func, ref_func in ((gaussian, ndi.gaussian_filter),
                               (gaussian_laplace, ndi.gaussian_laplace)):
            with np.errstate(invalid="ignore", over="ignore"):
                # (a fill of 0: with another value SciPy pads every pass, imfilt the image)
                got = func(x, 1.5, boundary=boundary)
                ref = ref_func(x.astype(np.float64), 1.5,
                               mode=MODE[boundary]).astype(np.float32)
            assert np.array_equal(np.isnan(got), np.isnan(ref))
            assert np.array_equal(np.isposinf(got), np.isposinf(ref))
            assert np.array_equal(np.isneginf(got), np.isneginf(ref))
            fin = np.isfinite(ref)
            close(got[fin], ref[fin], np.float32, scale=4.0)
    x = np.full(9, 2e38, np.float32)      # a constant (padded with itself) stays itself
    kw = {"fillvalue": 2e38} if boundary == "fill" else {}
    np.testing.assert_allclose(gaussian(x, 1.0, boundary=boundary, **kw), 2e38, rtol=1e-6)
    np.testing.assert_allclose(unsharp_mask(x, 1.0, 1.0, boundary=boundary, **kw), 2e38,
                               rtol=1e-5)


# --------------------------------------------------------------------------
# properties


@settings(max_examples=30)
@given(st.integers(1, 12), st.integers(1, 12), st.floats(0.1, 4.0), st.sampled_from(BOUNDARIES),
       st.floats(-100, 100))
def test_gaussian_of_a_constant_is_the_constant(n0, n1, sigma, boundary, c):
    x = np.full((n0, n1), c)
    got = gaussian(x, sigma, boundary=boundary, fillvalue=c)
    np.testing.assert_allclose(got, c, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(box(x, 3, boundary=boundary, fillvalue=c), c, rtol=1e-12,
                               atol=1e-12)


@settings(max_examples=30)
@given(st.integers(1, 20), st.integers(1, 20), st.floats(0.2, 3.0), st.floats(0.2, 3.0),
       st.sampled_from(BOUNDARIES), st.integers(0, 2))
def test_separable_equals_2d_convolution(n0, n1, s0, s1, boundary, order):
    x = np.random.default_rng(n0 * 31 + n1).standard_normal((n0, n1))
    k = gaussian_kernel((s0, s1), order=(order, 0), ndim=2)
    ref = imfilt.convolve(x, k, mode="same", boundary=boundary, fillvalue=0.25,
                          method="direct")
    got = gaussian(x, (s0, s1), order=(order, 0), boundary=boundary, fillvalue=0.25)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * max(1, np.abs(ref).max()))


@settings(max_examples=30)
@given(st.integers(1, 70), st.integers(1, 70), st.floats(0.3, 5.0), st.sampled_from(BOUNDARIES),
       st.sampled_from([np.float32, np.float64]))
def test_workers_one_and_two_are_bit_identical(n0, n1, sigma, boundary, dtype):
    x = np.random.default_rng(n0 + 100 * n1).standard_normal((n0, n1)).astype(dtype)
    for func, arg in ((gaussian, sigma), (box, int(sigma) + 1), (gaussian_laplace, sigma)):
        np.testing.assert_array_equal(func(x, arg, boundary=boundary, workers=1),
                                      func(x, arg, boundary=boundary, workers=2))


def test_concurrent_python_threads_match_serial_calls(rng):
    import threading
    x = rng.standard_normal((64, 70)).astype(np.float32)
    u8 = rng.integers(0, 256, size=(50, 60), dtype=np.uint8)
    calls = [lambda: gaussian(x, 1.5), lambda: box(u8, 6), lambda: unsharp_mask(x, 2.0),
             lambda: gaussian_laplace(u8, 1.0), lambda: difference_of_gaussians(x, 1.0),
             lambda: gaussian(x, 2.0, nan_policy="omit")]
    expected = [c().tobytes() for c in calls]
    bad = []

    def worker(i):
        for _ in range(10):
            if calls[i]().tobytes() != expected[i]:
                bad.append(i)
                return

    threads = [threading.Thread(target=worker, args=(i % len(calls),)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not bad and not any(t.is_alive() for t in threads)


# --------------------------------------------------------------------------
# corners found by fuzzing against the references


@pytest.mark.parametrize("dtype", ["uint8", "int16", "float16", "float32", "bool"])
def test_unsharp_mask_computes_in_the_float_dtype_asked(dtype, rng):
    # dtype=float64 computes in float64 even where the default is float32
    x = image(rng, (9, 13), dtype)
    x64 = x.astype(np.float64)
    ref = x64 + 1.5 * (x64 - ndi.gaussian_filter(x64, 1.2, mode="reflect"))
    got = unsharp_mask(x, 1.2, 1.5, dtype=np.float64)
    assert got.dtype == np.float64
    close(got, ref, np.float64)
    np.testing.assert_array_equal(
        unsharp_mask(x, 1.2, 1.5, dtype=np.float64, out=np.empty(x.shape)), got)


@pytest.mark.parametrize("sigma", [1e-300, 1e-16, 1e-15, 1.0000001e-15, 0.0])
def test_sigmas_up_to_1e_15_leave_an_axis_alone(sigma):
    # scipy.ndimage skips an axis whose sigma is <= 1e-15, whatever the order
    x = np.array([[1.0, 4.0, 2.0, 8.0, 5.0], [3.0, -1.0, 0.5, 2.0, 7.0]])
    for order in (0, 1, 2):
        close(gaussian(x, sigma, order=order), ndi.gaussian_filter(x, sigma, order=order),
              np.float64, scale=1e15 if sigma > 1e-15 else 1.0)
        close(gaussian(x, (1.0, sigma), order=(0, order)),
              ndi.gaussian_filter(x, (1.0, sigma), order=(0, order)), np.float64,
              scale=1e15 if sigma > 1e-15 else 1.0)
    for ours, ref in ((gaussian_laplace, ndi.gaussian_laplace),
                      (gaussian_gradient_magnitude, ndi.gaussian_gradient_magnitude)):
        close(ours(x, sigma), ref(x, sigma), np.float64, scale=1e30 if sigma > 1e-15 else 1.0)
    assert gaussian_kernel(1e-16, order=2).tolist() == [1.0]


def _close_non_finite(got, ref, dtype):
    """``got == ref`` at NaN and +-inf (same places), close elsewhere."""
    got = np.asarray(got, dtype=np.float64)
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(np.where(finite, 0, got), np.where(finite, 0, ref))
    close(got[finite], ref[finite], np.dtype(dtype).type)


def _box_reference(x, sizes, mode):
    """Window means in float64, NaN/inf as numpy sums them."""
    p = np.pad(x.astype(np.float64), [(s // 2, s - 1 - s // 2) for s in sizes], mode=mode)
    w = np.lib.stride_tricks.sliding_window_view(p, sizes)
    with np.errstate(invalid="ignore"):
        return w.mean(axis=tuple(range(-len(sizes), 0)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_box_non_finite_reach_only_their_windows(dtype, rng):
    # NaN anywhere in a window gives NaN, +inf alone +inf, -inf alone -inf,
    # +inf with -inf NaN; windows they have left are finite again: on lines
    # (the last axis) and along a strided axis, at sizes up to beyond a band
    for n, size in [(40, 3), (600, 7), (700, 300), (90, 500)]:
        x = rng.standard_normal(n).astype(dtype)
        x[[5, 6]] = np.inf
        x[n // 2] = -np.inf
        x[n // 2 + 1] = np.inf
        x[n - 9] = np.nan
        _close_non_finite(box(x, size, boundary="edge"), _box_reference(x, (size,), "edge"),
                          dtype)
        col = np.repeat(x[:, None], 3, axis=1)
        _close_non_finite(box(col, (size, 1), boundary="edge"),
                          _box_reference(col, (size, 1), "edge"), dtype)
    y = rng.standard_normal((37, 41)).astype(dtype)
    y[rng.random(y.shape) < 0.02] = np.inf
    y[rng.random(y.shape) < 0.02] = -np.inf
    y[rng.random(y.shape) < 0.01] = np.nan
    for sizes in [(3, 3), (8, 5), (1, 30), (30, 1)]:
        _close_non_finite(box(y, sizes), _box_reference(y, sizes, "symmetric"), dtype)


def test_box_of_huge_finite_values_is_their_finite_mean():
    # A window's sum can exceed float64's range while its mean cannot:
    # no output may be inf (scipy.ndimage gives inf there).  Reference: the
    # means of samples each divided by the size first; running sums are
    # accurate to a few eps * max|x| (scipy.ndimage's are too).
    big = np.finfo(np.float64).max
    for x, sizes in [(np.r_[[1.5e308] * 3, np.zeros(5)], (3,)),
                     (np.r_[np.zeros(300), [big] * 40, np.zeros(300)], (7,)),
                     (np.tile(np.r_[[1.5e308] * 3, np.zeros(5)], (4, 1)), (1, 3)),
                     (np.tile(np.r_[[1.5e308] * 3, np.zeros(5)], (4, 1)).T.copy(), (3, 1)),
                     (np.tile(np.r_[[1.5e308] * 3, np.zeros(5)], (4, 1)), (3, 3)),
                     (np.full((5, 6), big), (3, 4)),
                     (np.array([1e308, big, big, 0.0, 0.0]), (2,)),
                     (np.full(7, big), (3,)),
                     (np.full((4, 5, 6), -big), (3, 3, 3))]:
        ref = x / 16     # (exact: a power of two; no window sum overflows)
        for axis, s in enumerate(sizes):   # one axis at a time, as box does
            pad = [(0, 0)] * x.ndim
            pad[axis] = (s // 2, s - 1 - s // 2)
            p = np.pad(ref, pad, mode="symmetric")
            ref = np.lib.stride_tricks.sliding_window_view(p, s, axis=axis).mean(axis=-1)
        # (a mean of samples within +-big lies within it; rounding aside)
        ref = np.clip(ref * 16, -big, big)
        got = box(x, sizes)
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, ref, rtol=0, atol=8 * np.finfo(float).eps * np.abs(x).max())


def test_box_with_nan_and_a_huge_size_is_linear():
    # a line holding NaN used to be redone window by window (cost n * size)
    x = np.arange(3000.0)
    x[1500] = np.nan
    got = box(x, 2_000_001, boundary="edge")
    assert np.isnan(got).all()
    got = box(x, 2_001, boundary="edge")
    assert np.isnan(got[500:2501]).all() and np.isfinite(got[:500]).all()
    # (running sums over a band of 256 windows: a few hundred ulp at most)
    close(got[2501:], _box_reference(x, (2001,), "edge")[2501:], np.float64, scale=8)


@pytest.mark.parametrize("call", [
    lambda: gaussian(np.ones(5), 10 ** 400),
    lambda: gaussian(np.ones(5), 1, truncate=10 ** 400),
    lambda: gaussian(np.ones(5), 1, boundary="fill", fillvalue=10 ** 400),
    lambda: box(np.ones(5), 3, boundary="fill", fillvalue=-10 ** 400),
    lambda: imfilt.median(np.ones(5), 3, boundary="fill", fillvalue=10 ** 400),
    lambda: imfilt.convolve(np.ones((3, 3)), np.ones((2, 2)), boundary="fill",
                            fillvalue=10 ** 400),
])
def test_ints_beyond_float64_are_value_errors(call):
    with pytest.raises(ValueError, match="sigma|truncate|fillvalue"):
        call()


@pytest.mark.parametrize("boundary", ["reflect", "symm", "wrap", "edge", "fill"])
def test_box_omit_window_without_a_finite_sample_is_nan(boundary):
    """Running sums of the finite-sample mask can leave a rounding residue
    where every sample is missing: such windows are NaN (they gave 1.0, or
    a value from nowhere), counted exactly."""
    x = np.array([[np.nan, 1.0], [1.0, np.nan], [np.nan, np.nan], [np.nan, np.nan]])
    got = imfilt.box(x, 3, boundary="reflect", nan_policy="omit")
    want = imfilt.correlate(x, np.ones((3, 3)) / 9, "same", boundary="reflect", nan_policy="omit")
    np.testing.assert_allclose(got, want, rtol=1e-12)
    rng = np.random.default_rng(5)
    for _ in range(150):
        shape = tuple(int(v) for v in rng.integers(1, 9, 2))
        x = rng.standard_normal(shape)
        x[rng.random(shape) < 0.6] = np.nan
        size = tuple(int(v) for v in rng.integers(1, 5, 2))
        got = imfilt.box(x, size, boundary=boundary, nan_policy="omit")
        # windows with no finite sample: the box of the finite mask is 0
        # (below half a sample's weight, whatever its rounding residue)
        seen = imfilt.box(np.isfinite(x).astype(float), size, boundary=boundary,
                          fillvalue=1.0)
        np.testing.assert_array_equal(np.isnan(got), seen < 0.5 / np.prod(size))


_OMIT_FRONTS = {
    "gaussian": lambda x, **kw: gaussian(x, 1.3, **kw),
    "box": lambda x, **kw: box(x, 3, **kw),
    "unsharp_mask": lambda x, **kw: unsharp_mask(x, 1.3, amount=2.0, **kw),
    "difference_of_gaussians": lambda x, **kw: difference_of_gaussians(x, 1.0, 2.0, **kw),
}


@pytest.mark.parametrize("name", sorted(_OMIT_FRONTS))
@pytest.mark.parametrize("image_dtype, dtype", [("float64", None), ("float32", None),
                                                ("uint8", None), ("uint8", "uint8"),
                                                ("uint8", "int16"), ("float64", "int16")])
def test_omit_with_out_and_integer_dtypes_equals_the_plain_call(name, image_dtype, dtype):
    # 'omit' without any NaN is the plain filter; with out= the result lands
    # in out (difference_of_gaussians wrote both blurs into out and returned
    # zeros; unsharp_mask on integer images cast its blur and failed).
    f = _OMIT_FRONTS[name]
    x = (np.arange(70).reshape(7, 10) * 37 % 251).astype(image_dtype)
    ref = f(x, dtype=dtype)
    got = f(x, dtype=dtype, nan_policy="omit")
    np.testing.assert_array_equal(got, ref)
    out = np.empty_like(ref)
    assert f(x, dtype=dtype, nan_policy="omit", out=out) is out
    np.testing.assert_array_equal(out, ref)
    if image_dtype.startswith("float"):
        y = x.copy()
        y[3, 4] = np.nan
        ref = f(y, dtype=dtype, nan_policy="omit")
        out = np.empty_like(ref)
        f(y, dtype=dtype, nan_policy="omit", out=out)
        np.testing.assert_array_equal(out, ref)


def test_gabor_kernel_parameter_corners():
    # A tiny bandwidth widens the envelope without a division by zero
    # (2**bandwidth - 1 is taken as expm1): the kernel-size check names it.
    for bw in (1e-300, 1e-10):
        with pytest.raises(ValueError, match=rf"bandwidth={bw!r} with .* give a Gabor kernel of "):
            imfilt.gabor_kernel(0.2, bandwidth=bw)
        with pytest.raises(ValueError, match="bandwidth"):
            imfilt.gabor(np.ones((5, 5)), 0.2, bandwidth=bw)
    # The size in the message is short (it had hundreds of digits)
    with pytest.raises(ValueError, match=r"^frequency=1e-300, .*3\.373e\+300x3\.373e\+300 taps"):
        imfilt.gabor_kernel(1e-300)
    # A bandwidth small but usable agrees with scikit-image's formula
    got = imfilt.gabor_kernel(0.4, bandwidth=0.05, n_stds=0.2)
    want = skimage.filters.gabor_kernel(0.4, bandwidth=0.05, n_stds=0.2)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)
    for bad in (None, [], np.float64, "float32"):
        with pytest.raises(TypeError, match=rf"dtype={re.escape(repr(bad))} is not supported; "
                                            r"choose a complex dtype \(complex64 or complex128\)"):
            imfilt.gabor_kernel(0.2, dtype=bad)
    # any complex dtype, as scikit-image
    assert imfilt.gabor_kernel(0.2, dtype=np.clongdouble).dtype == np.clongdouble


@pytest.mark.parametrize("bandwidth", [0.01, 0.5, 1, 2, 3.7])
def test_gabor_kernel_bits_equal_skimage(bandwidth):
    # The envelope's sigma is computed in scikit-image's own operations.
    for theta in (0, 0.3):
        assert np.array_equal(imfilt.gabor_kernel(0.2, theta, bandwidth),
                              skimage.filters.gabor_kernel(0.2, theta, bandwidth))
