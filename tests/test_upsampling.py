"""bilinear_kernel, upsample and the Gaussian pyramids."""


import numpy as np
import pytest
from scipy.ndimage import correlate1d

import imfilt
import imfilt.upsampling

RNG = np.random.default_rng(11)
G5 = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16


def ref_bilinear(x, fy, fx):
    """interpolate(mode='bilinear', align_corners=False) written out in NumPy."""
    def axis_weights(n, f):
        dst = np.arange(n * f)
        src = np.maximum((dst + 0.5) / f - 0.5, 0.0)  # PyTorch clamps at 0
        i0 = np.minimum(np.floor(src).astype(int), n - 1)
        i1 = np.minimum(i0 + 1, n - 1)
        lam = src - i0
        m = np.zeros((n * f, n))
        np.add.at(m, (dst, i0), 1 - lam)
        np.add.at(m, (dst, i1), lam)
        return m
    my = axis_weights(x.shape[-2], fy)
    mx = axis_weights(x.shape[-1], fx)
    return np.einsum("ah,...hw,bw->...ab", my, x, mx)


@pytest.mark.parametrize("f", [1, 2, 3, 4, 5, 8])
def test_bilinear_kernel_formula(f):
    k = imfilt.bilinear_kernel(f)
    size = 2 * f - f % 2
    c = f - 1 if size % 2 else f - 0.5
    og = np.ogrid[:size, :size]
    want = (1 - abs(og[0] - c) / f) * (1 - abs(og[1] - c) / f)
    assert k.shape == (size, size)
    np.testing.assert_allclose(k, want, rtol=0, atol=0)
    assert imfilt.bilinear_kernel((2, 3)).shape == (4, 5)


@pytest.mark.parametrize("f", [2, 3, 4])
def test_fcn_deconvolution_is_bilinear_in_the_interior(f):
    # The plain FCN layer: stride f, padding ceil((f-1)/2); exact away from
    # the borders, darker at the first/last ~f/2 outputs (section 10).
    x = RNG.random((12, 10)) + 1
    out = imfilt.conv_transpose2d(x, imfilt.bilinear_kernel(f), stride=f, padding=(f - 1 + 1) // 2)
    want = ref_bilinear(x, f, f)
    assert out.shape == want.shape
    inner = (slice(f, -f), slice(f, -f))
    np.testing.assert_allclose(out[inner], want[inner], rtol=1e-12)
    assert out[0, 0] < want[0, 0]  # the border is darkened by the zero padding


@pytest.mark.parametrize("f", [1, 2, 3, 5, (2, 3)])
@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (7, 9), (2, 3, 8, 5)])
def test_upsample_bilinear_edge_exact(f, shape):
    x = RNG.standard_normal(shape)
    fy, fx = (f, f) if isinstance(f, int) else f
    got = imfilt.upsample(x, f)
    np.testing.assert_allclose(got, ref_bilinear(x, fy, fx), rtol=1e-12, atol=1e-12)


def test_upsample_nearest_axes_and_dtypes():
    rgb = RNG.integers(0, 255, (5, 7, 3)).astype(np.uint8)
    near = imfilt.upsample(rgb, 3, method="nearest", axes=(0, 1))
    assert near.dtype == np.uint8
    assert np.array_equal(near, rgb.repeat(3, axis=0).repeat(3, axis=1))
    bil = imfilt.upsample(rgb, 2, axes=(0, 1))
    assert bil.shape == (10, 14, 3) and bil.dtype == np.float32
    want = ref_bilinear(np.moveaxis(rgb.astype(np.float64), -1, 0), 2, 2)
    np.testing.assert_allclose(np.moveaxis(bil, -1, 0), want, rtol=1e-5, atol=1e-4)
    assert imfilt.upsample(rgb[..., 0].astype(np.float32), 2).dtype == np.float32


def test_upsample_threads_bit_identical():
    x = RNG.standard_normal((3, 97, 101)).astype(np.float32)
    assert np.array_equal(imfilt.upsample(x, 2, workers=1), imfilt.upsample(x, 2, workers=2))


@pytest.mark.parametrize("f", [2, 3, (2, 4)])
def test_upsample_matches_torch_interpolate(f):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 3, 9, 14)).astype(np.float32)
    fy, fx = (f, f) if isinstance(f, int) else f
    want = torch.nn.functional.interpolate(torch.from_numpy(x), scale_factor=(fy, fx),
                                           mode="bilinear", align_corners=False).numpy()
    np.testing.assert_allclose(imfilt.upsample(x, f), want, rtol=1e-5, atol=1e-5)
    want = torch.nn.functional.interpolate(torch.from_numpy(x), scale_factor=(fy, fx),
                                           mode="nearest").numpy()
    assert np.array_equal(imfilt.upsample(x, f, method="nearest"), want)


# --------------------------------------------------------------------------
# Pyramids: OpenCV when installed, a scipy.ndimage reference always
# --------------------------------------------------------------------------

SHAPES = [(1, 1), (1, 4), (2, 3), (7, 9), (8, 6), (33, 17)]


@pytest.mark.parametrize("shape", SHAPES)
def test_pyramids_match_ndimage_reference(shape):
    x = RNG.standard_normal(shape)
    # pyrDown: reflect-101 ('mirror') blur, even samples.
    want = correlate1d(correlate1d(x, G5, axis=0, mode="mirror"), G5, axis=1, mode="mirror")
    np.testing.assert_allclose(imfilt.pyramid_down(x), want[::2, ::2], rtol=1e-12, atol=1e-12)
    # pyrUp: zero-stuff, reflect-101 on the stuffed image, 2 * g per axis.
    z = np.zeros((2 * shape[0], 2 * shape[1]))
    z[::2, ::2] = x
    want = correlate1d(correlate1d(z, 2 * G5, axis=0, mode="mirror"), 2 * G5, axis=1, mode="mirror")
    np.testing.assert_allclose(imfilt.pyramid_up(x), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES + [(10, 11, 3)])
def test_pyramids_match_opencv(shape):
    cv2 = pytest.importorskip("cv2")
    x = RNG.standard_normal(shape).astype(np.float32)
    axes = (0, 1)
    np.testing.assert_allclose(imfilt.pyramid_down(x, axes=axes), cv2.pyrDown(x), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(imfilt.pyramid_up(x, axes=axes), cv2.pyrUp(x), rtol=1e-5,
                               atol=1e-6)
    u8 = RNG.integers(0, 256, shape).astype(np.uint8)
    # OpenCV rounds back to uint8; imfilt returns float32 (dtype policy).
    assert np.abs(imfilt.pyramid_down(u8, axes=axes) - cv2.pyrDown(u8)).max() <= 0.5 + 1e-4


def _pyr_down_float32(x):
    """pyrDown in float32 arithmetic, each operation rounded as imfilt's kernel
    does it: the five rows combined first, then every other column."""
    f = np.float32
    H, W = x.shape
    rows = np.pad(np.arange(H), 2, mode="reflect")
    cols = np.pad(np.arange(W), 2, mode="reflect")
    p = x[np.ix_(rows, cols)]
    t = (p[0:H] + p[4:H + 4]) + f(4) * (p[1:H + 1] + p[3:H + 3]) + f(6) * p[2:H + 2]
    t = t[0::2]
    o = (t[:, 0:W:2] + t[:, 4:W + 4:2]) + f(4) * (t[:, 1:W + 1:2] + t[:, 3:W + 3:2]) \
        + f(6) * t[:, 2:W + 2:2]
    return o * f(1 / 256)


@pytest.mark.parametrize("shape", [(9, 13), (64, 70), (5, 6)])
def test_float32_pyramids_compute_in_float32(shape):
    # float32 stays float32 (the dtype policy): every sum and product is
    # rounded to float32, with no float64 intermediate.
    x = RNG.standard_normal(shape).astype(np.float32) * np.float32(1e3)
    np.testing.assert_array_equal(imfilt.pyramid_down(x), _pyr_down_float32(x))
    # Values whose products lose bits in float32: a float64 intermediate
    # would round differently.
    assert not np.array_equal(_pyr_down_float32(x), np.float32(
        correlate1d(correlate1d(x.astype(np.float64), G5, axis=0, mode="mirror"), G5,
                    axis=1, mode="mirror")[::2, ::2]))


def test_pyramids_every_small_size():
    # Border handling for every size up to 9x9 (1 and 2 are the special cases).
    for H in range(1, 10):
        for W in range(1, 10):
            x = RNG.standard_normal((H, W))
            want = correlate1d(correlate1d(x, G5, axis=0, mode="mirror"), G5, axis=1,
                               mode="mirror")[::2, ::2]
            np.testing.assert_allclose(imfilt.pyramid_down(x), want, rtol=1e-12, atol=1e-12)
            z = np.zeros((2 * H, 2 * W))
            z[::2, ::2] = x
            want = correlate1d(correlate1d(z, 2 * G5, axis=0, mode="mirror"), 2 * G5, axis=1,
                               mode="mirror")
            np.testing.assert_allclose(imfilt.pyramid_up(x), want, rtol=1e-12, atol=1e-12)


def test_pyramids_threads_bit_identical():
    x = RNG.standard_normal((3, 97, 101)).astype(np.float32)
    for func in (imfilt.pyramid_down, imfilt.pyramid_up):
        assert np.array_equal(func(x, workers=1), func(x, workers=2))


def test_pyramid_round_trip_on_constant():
    x = np.full((2, 9, 12), 3.0, dtype=np.float32)
    d = imfilt.pyramid_down(x)
    u = imfilt.pyramid_up(d)
    assert d.shape == (2, 5, 6) and u.shape == (2, 10, 12) and u.dtype == np.float32
    np.testing.assert_allclose(u, 3.0, rtol=1e-6)


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: imfilt.upsample(np.ones((3, 3)), 2, method="bicubic"), ValueError,
     r"method='bicubic' is not valid; choose one of 'bilinear', 'nearest'"),
    (lambda: imfilt.upsample(np.ones((3, 3)), 2, method="Nearest"), ValueError,
     r"Did you mean 'nearest'"),
    (lambda: imfilt.upsample(np.ones((3, 3)), 0), ValueError, r"factor=0 is not valid"),
    (lambda: imfilt.upsample(np.ones((3, 3)), 1.5), TypeError, r"factor=1.5 is not valid"),
    (lambda: imfilt.upsample(np.ones(3), 2), ValueError, r"at least 2 dimensions"),
    (lambda: imfilt.upsample(np.ones((3, 3)), 2, axes=(0, 0)), ValueError, r"axes=\(0, 0\)"),
    (lambda: imfilt.upsample(np.ones((3, 3)), 2, axes=(0, 5)), ValueError,
     r"axes=\(0, 5\) is not valid .*\[-2, 1\]"),
    (lambda: imfilt.upsample(np.ones((3, 3)), 2, axes=0), TypeError, r"axes=0 is not valid"),
    (lambda: imfilt.pyramid_down(np.ones((0, 3))), ValueError, r"empty spatial axis"),
    (lambda: imfilt.pyramid_up(np.ones((3, 3), complex)), TypeError, r"real images only"),
    (lambda: imfilt.bilinear_kernel(-1), ValueError, r"factor=-1 is not valid"),
])
def test_validation_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_factors_too_large_for_memory_are_refused_at_once():
    # A factor whose output (or kernel) cannot fit in memory is a ValueError
    # naming it, not minutes of allocation and swapping.
    img = np.ones((6, 6), bool)
    for call in (lambda: imfilt.upsample(img, 10 ** 9), lambda: imfilt.bilinear_kernel(10 ** 9),
                 lambda: imfilt.upsample(img, (1, 10 ** 6)),
                 lambda: imfilt.upsample(img, 10 ** 9, method="nearest")):
        with pytest.raises(ValueError, match=r"factor=.*more than this machine's memory"):
            call()


def test_pyramid_uint8_rounding_recipe_gives_opencv_bytes():
    # The documented recipe, floor(out + 0.5), rounds exact halves up as
    # OpenCV does (np.rint would round them to even).
    cv2 = pytest.importorskip("cv2")
    x = np.random.default_rng(3).integers(0, 256, (37, 41), dtype=np.uint8)
    x[10, 10] = 32
    down = np.floor(imfilt.pyramid_down(x) + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(down, cv2.pyrDown(x))
    up = np.floor(imfilt.pyramid_up(x) + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(up, cv2.pyrUp(x))
