"""The bilateral filter against a float64 brute-force reference and OpenCV.

Definition under test (OpenCV's ``cv2.bilateralFilter``): radius
``max(1, diameter // 2)``, or ``max(1, round(1.5 * sigma_space))`` when
``diameter <= 0``; the window holds the offsets with ``dy^2 + dx^2 <=
radius^2``; weight ``exp(-(dy^2 + dx^2) / (2 sigma_space^2)) * exp(-D^2 /
(2 sigma_color^2))`` with ``D`` the absolute difference (grey) or the sum of
absolute channel differences (colour, one weight for every channel); the
result is the weight-normalised sum; the border defaults to 'reflect'
(OpenCV's BORDER_REFLECT_101).
"""

import numpy as np
import pytest

import imfilt
from imfilt import _threads
from imfilt._modes import NUMPY_PAD_MODE

cv2 = pytest.importorskip("cv2")


def reference(x, diameter, sigma_color, sigma_space, boundary="reflect", fillvalue=0,
              colour=False, omit=False):
    """Brute force in float64, straight from the definition."""
    x = np.asarray(x, dtype=np.float64)
    if not colour:
        x = x[..., None]
    if diameter > 0:
        r = max(1, diameter // 2)
    else:
        r = max(1, int(round(1.5 * sigma_space)))
    kw = {"constant_values": fillvalue} if boundary == "fill" else {}
    xp = np.pad(x, ((r, r), (r, r), (0, 0)), mode=NUMPY_PAD_MODE[boundary], **kw)
    H, W, _ = x.shape
    num = np.zeros_like(x)
    den = np.zeros((H, W, 1))
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dy * dy + dx * dx > r * r:
                continue
            q = xp[r + dy:r + dy + H, r + dx:r + dx + W]
            D = np.abs(q - x).sum(axis=-1, keepdims=True)
            with np.errstate(invalid="ignore"):
                w = (np.exp(-(dy * dy + dx * dx) / (2.0 * sigma_space ** 2))
                     * np.exp(-D * D / (2.0 * sigma_color ** 2)))
                if omit:
                    bad = np.isnan(D)
                    w = np.where(bad, 0.0, w)
                    q = np.where(bad, 0.0, q)
                num += w * q
                den += w
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    if omit:
        out[np.isnan(x).any(axis=-1)] = np.nan
    return out if colour else out[..., 0]


CASES = [(9, 30.0, 5.0), (5, 10.0, 2.0), (0, 50.0, 3.0), (-1, 20.0, 1.2), (1, 5.0, 0.5),
         (15, 80.0, 4.0)]


@pytest.mark.parametrize("diameter,sigma_color,sigma_space", CASES)
@pytest.mark.parametrize("boundary", ["reflect", "symm", "edge", "wrap", "fill"])
def test_float64_is_the_analytic_value(diameter, sigma_color, sigma_space, boundary):
    rng = np.random.default_rng(0)
    x = rng.random((23, 29)) * 255
    got = imfilt.bilateral(x, diameter, sigma_color, sigma_space, boundary=boundary,
                           fillvalue=40)
    ref = reference(x, diameter, sigma_color, sigma_space, boundary, 40)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("scale", [1e140, 1e154, 1e155, 1e200, 1e300])
@pytest.mark.parametrize("boundary", ["reflect", "fill"])
def test_float64_huge_values_and_sigmas_are_the_analytic_value(scale, boundary):
    """The filter commutes with scaling image, fill value and sigma_color
    together: past ~1e154, where 2 sigma_color**2 and the squared
    differences leave float64's range, the result is still the analytic one
    (the reference on the unscaled image, scaled back); a huge sigma_space
    gives spatial weights 1, without an OverflowError."""
    rng = np.random.default_rng(18)
    x = rng.random((13, 17)) * 3
    x[4, 5:9] = 0
    got = imfilt.bilateral(x * scale, 5, 1.5 * scale, 2.0, boundary=boundary,
                           fillvalue=0.5 * scale)
    ref = reference(x, 5, 1.5, 2.0, boundary, 0.5) * scale
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-13 * scale)
    flat = imfilt.bilateral(x, 5, 1.5, 1e200, boundary=boundary, fillvalue=0.5)
    np.testing.assert_allclose(flat, reference(x, 5, 1.5, 1e150, boundary, 0.5),
                               rtol=1e-13, atol=1e-13)
    y = x * scale
    y[2, 2] = np.nan
    omit = imfilt.bilateral(y, 5, 1.5 * scale, 2.0, boundary=boundary, fillvalue=0.5 * scale,
                            nan_policy="omit")
    np.testing.assert_allclose(omit, reference(y / scale, 5, 1.5, 2.0, boundary, 0.5,
                                               omit=True) * scale, rtol=1e-12, atol=1e-13 * scale)


@pytest.mark.parametrize("diameter,sigma_color,sigma_space", CASES)
def test_uint8_against_reference_and_opencv(diameter, sigma_color, sigma_space):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (40, 53)).astype(np.uint8)
    x[10:30, 20:40] = 200                                 # flat area with an edge
    got = imfilt.bilateral(x, diameter, sigma_color, sigma_space)
    assert got.dtype == np.float32                       # imfilt's dtype policy
    ref = reference(x, diameter, sigma_color, sigma_space)
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-3)
    cv = cv2.bilateralFilter(x, diameter, sigma_color, sigma_space)
    as_u8 = imfilt.bilateral(x, diameter, sigma_color, sigma_space, dtype=np.uint8)
    assert as_u8.dtype == np.uint8
    assert np.abs(as_u8.astype(int) - cv.astype(int)).max() <= 1


@pytest.mark.parametrize("boundary", ["reflect", "symm", "edge", "wrap", "fill"])
def test_uint8_grey_row_bands_and_column_tiles(boundary):
    # Grey uint8 images evaluate each pair's weight once, in bands of rows
    # by column tiles: results cross band and tile edges unchanged, and
    # do not depend on the thread count.
    rng = np.random.default_rng(11)
    x = rng.integers(0, 256, (150, 230)).astype(np.uint8)
    x[40:90, 60:160] = 90
    for diameter, sc, ss in [(3, 20.0, 1.0), (9, 30.0, 5.0), (17, 60.0, 6.0)]:
        got = imfilt.bilateral(x, diameter, sc, ss, boundary=boundary, fillvalue=250,
                               workers=1)
        ref = reference(x, diameter, sc, ss, boundary, 250)
        np.testing.assert_allclose(got, ref, rtol=0, atol=2e-3)
        again = imfilt.bilateral(x, diameter, sc, ss, boundary=boundary, fillvalue=250,
                                 workers=3)
        assert got.tobytes() == again.tobytes()


@pytest.mark.parametrize("boundary", ["reflect", "symm", "edge", "wrap", "fill"])
def test_float32_grey_pairs_bands_and_tiles(boundary):
    # Grey float32 images evaluate each pair's weight once (2^x by a
    # polynomial): float32 accuracy against the analytic definition across
    # band and tile edges and every radius of the kernel (1..8, and 9 on the
    # row kernel), and the same bits for any thread count.
    rng = np.random.default_rng(12)
    x = (rng.random((150, 230)) * 4 - 1).astype(np.float32)
    x[40:90, 60:160] = 0.5
    span = float(x.max() - x.min())
    for diameter, sc, ss in [(3, 0.2, 1.0), (5, 0.5, 2.0), (9, 0.3, 5.0), (13, 1.0, 3.0),
                             (17, 0.6, 6.0), (19, 0.4, 4.0)]:
        got = imfilt.bilateral(x, diameter, sc, ss, boundary=boundary, fillvalue=2.5,
                               workers=1)
        assert got.dtype == np.float32
        ref = reference(x, diameter, sc, ss, boundary, 2.5)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * span)
        again = imfilt.bilateral(x, diameter, sc, ss, boundary=boundary, fillvalue=2.5,
                                 workers=3)
        assert got.tobytes() == again.tobytes()


def test_float32_grey_exp2():
    from imfilt._kernels import _bilateral as kb
    t = np.concatenate([-np.linspace(0, 130, 20001), [-0.0, -1e-30, -1e30, -np.inf, np.nan]])
    got = np.array([kb.exp2_neg(v) for v in t.astype(np.float32)], dtype=np.float64)
    t32 = t.astype(np.float32).astype(np.float64)
    # below 2**-125 (and for -inf, NaN) the weight is 0, as the exact one
    # rounds to in float32's normal range: a huge difference weighs nothing
    want = np.where(t32 >= -125.0, np.exp2(np.nan_to_num(t32, nan=-200.0)), 0.0)
    np.testing.assert_allclose(got, want, rtol=2.5e-7, atol=0)


def test_float32_grey_narrow_images_are_columns_of_wide_ones():
    # The pair kernel needs rows of SYM_MIN_WIDTH outputs; narrower images
    # are widened, so they keep its order of the sums.
    rng = np.random.default_rng(13)
    x = rng.random((37, 45)).astype(np.float32)
    x[3, 0] = np.nan
    zeros = np.zeros((37, 40), np.float32)
    for policy in ("propagate", "omit"):
        for width in (1, 2, 5, 31, 32, 33):
            part = x[:, :width]
            wide = imfilt.bilateral(np.concatenate([part, zeros], axis=1), 7, 0.3, 2.0,
                                    boundary="fill", fillvalue=0, nan_policy=policy)
            narrow = imfilt.bilateral(part, 7, 0.3, 2.0, boundary="fill", fillvalue=0,
                                      nan_policy=policy)
            np.testing.assert_array_equal(narrow, wide[:, :width])


@pytest.mark.parametrize("boundary", ["reflect", "fill"])
def test_float32_grey_nan_policies(boundary):
    rng = np.random.default_rng(14)
    x = (rng.random((40, 70)) * 50).astype(np.float32)
    x[rng.random(x.shape) < 0.03] = np.nan
    x[5, 5] = np.nan
    omit = imfilt.bilateral(x, 7, 20, 2, boundary=boundary, fillvalue=np.nan,
                            nan_policy="omit")
    ref = reference(x, 7, 20, 2, boundary, np.nan, omit=True)
    np.testing.assert_array_equal(np.isnan(omit), np.isnan(ref))
    np.testing.assert_allclose(omit, ref, rtol=0, atol=1e-5 * 50)
    assert np.isnan(omit[5, 5]) and not np.isnan(omit[5, 6])
    prop = imfilt.bilateral(x, 7, 20, 2, boundary=boundary, fillvalue=np.nan)
    ref_p = reference(x, 7, 20, 2, boundary, np.nan)
    np.testing.assert_array_equal(np.isnan(prop), np.isnan(ref_p))
    np.testing.assert_allclose(prop, ref_p, rtol=0, atol=1e-5 * 50)
    clean = np.where(np.isnan(x), 1.0, x).astype(np.float32)
    a = imfilt.bilateral(clean, 7, 20, 2, nan_policy="omit", workers=1)
    b = imfilt.bilateral(clean, 7, 20, 2, nan_policy="propagate", workers=2)
    assert a.tobytes() == b.tobytes()       # no NaN: the policies give the same bits


@pytest.mark.parametrize("diameter,sigma_color,sigma_space", CASES[:4])
def test_float32_against_reference_and_opencv(diameter, sigma_color, sigma_space):
    rng = np.random.default_rng(2)
    x = (rng.random((37, 41)) * 3 - 1).astype(np.float32)
    sc = sigma_color / 100
    got = imfilt.bilateral(x, diameter, sc, sigma_space)
    assert got.dtype == np.float32
    ref = reference(x, diameter, sc, sigma_space)
    span = float(x.max() - x.min())
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * span)
    cv = cv2.bilateralFilter(x, diameter, sc, sigma_space)
    np.testing.assert_allclose(got, cv, rtol=0, atol=1e-3 * span)


@pytest.mark.parametrize("axis", [-1, 0])
def test_colour_one_weight_for_all_channels(axis):
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (31, 34, 3)).astype(np.uint8)
    x = np.moveaxis(rgb, -1, axis)
    got = imfilt.bilateral(x, 7, 40, 3, channel_axis=axis)
    assert got.shape == x.shape
    got = np.moveaxis(got, axis, -1)
    ref = reference(rgb, 7, 40, 3, colour=True)
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-3)
    cv = cv2.bilateralFilter(rgb, 7, 40, 3)
    assert np.abs(np.rint(got) - cv).max() <= 1
    # not a per-channel loop: the red channel alone gives another answer
    alone = imfilt.bilateral(rgb[..., 0], 7, 40, 3)
    assert not np.allclose(alone, got[..., 0])
    f = rgb.astype(np.float64)
    np.testing.assert_allclose(imfilt.bilateral(f, 7, 40, 3, channel_axis=-1),
                               reference(f, 7, 40, 3, colour=True), rtol=1e-13, atol=1e-12)


def test_other_dtypes_follow_the_policy():
    rng = np.random.default_rng(4)
    base = rng.integers(0, 100, (12, 15))
    for dtype, expect in [("int16", np.float32), ("uint16", np.float32), ("bool", np.float32),
                          ("int32", np.float64), ("uint64", np.float64),
                          ("float16", np.float32), (">f8", np.float64)]:
        x = (base > 50) if dtype == "bool" else base.astype(dtype)
        got = imfilt.bilateral(x, 5, 30, 2)
        assert got.dtype == expect
        tol = 1e-12 if expect == np.float64 else 2e-3
        np.testing.assert_allclose(got, reference(x.astype(np.float64), 5, 30, 2),
                                   rtol=0, atol=tol * max(1, float(np.max(base))))


def test_window_larger_than_image_and_thin_images():
    rng = np.random.default_rng(5)
    for shape in [(1, 9), (9, 1), (3, 4), (2, 2)]:
        x = rng.random(shape) * 10
        for b in ["reflect", "symm", "wrap", "edge", "fill"]:
            got = imfilt.bilateral(x, 13, 5.0, 4.0, boundary=b, fillvalue=3)
            np.testing.assert_allclose(got, reference(x, 13, 5.0, 4.0, b, 3),
                                       rtol=1e-13, atol=1e-12)


def test_nan_policies():
    rng = np.random.default_rng(6)
    x = rng.random((20, 22)) * 50
    x[rng.random(x.shape) < 0.05] = np.nan
    x[5, 5] = np.nan
    got = imfilt.bilateral(x, 5, 20, 2, nan_policy="omit")
    ref = reference(x, 5, 20, 2, omit=True)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-12)
    assert np.isnan(got[5, 5])
    got32 = imfilt.bilateral(x.astype(np.float32), 5, 20, 2, nan_policy="omit")
    np.testing.assert_allclose(got32, ref, rtol=0, atol=1e-3)
    prop = imfilt.bilateral(x, 5, 20, 2)
    ref_p = reference(x, 5, 20, 2)                       # NaN spreads through the sums
    np.testing.assert_array_equal(np.isnan(prop), np.isnan(ref_p))
    np.testing.assert_allclose(prop, ref_p, rtol=1e-13, atol=1e-12)
    rgb = rng.random((10, 11, 3))
    rgb[4, 4, 1] = np.nan
    got = imfilt.bilateral(rgb, 3, 0.5, 1, channel_axis=-1, nan_policy="omit")
    np.testing.assert_allclose(got, reference(rgb, 3, 0.5, 1, colour=True, omit=True),
                               rtol=1e-13, atol=1e-12)
    assert np.isnan(got[4, 4]).all() and not np.isnan(got[4, 5]).any()
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        imfilt.bilateral(x, 5, 20, 2, nan_policy="raise")
    clean = np.ones((5, 5))
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        imfilt.bilateral(clean, 3, 1, 1, boundary="fill", fillvalue=np.nan, nan_policy="raise")
    np.testing.assert_allclose(
        imfilt.bilateral(clean, 3, 1, 1, boundary="fill", fillvalue=np.nan, nan_policy="omit"),
        clean)


def test_thread_count_bit_identical():
    rng = np.random.default_rng(7)
    for x, kw in [(rng.integers(0, 256, (97, 101)).astype(np.uint8), {}),
                  (rng.random((97, 101)).astype(np.float32), {}),
                  (rng.random((61, 67, 3)), {"channel_axis": -1})]:
        a = imfilt.bilateral(x, 7, 0.3 if x.dtype != np.uint8 else 30, 2, workers=1, **kw)
        _threads.ran_parallel(reset=True)
        b = imfilt.bilateral(x, 7, 0.3 if x.dtype != np.uint8 else 30, 2, workers=2, **kw)
        if imfilt.openmp_enabled():
            assert _threads.ran_parallel() == 2
        assert a.tobytes() == b.tobytes()


def test_layouts_and_empty():
    rng = np.random.default_rng(8)
    base = rng.random((30, 40)) * 100
    for x in (base[::2, ::3], np.asfortranarray(base), base.astype(">f8")):
        np.testing.assert_allclose(imfilt.bilateral(x, 5, 10, 2), reference(x, 5, 10, 2),
                                   rtol=1e-13, atol=1e-12)
    ro = base.copy()
    ro.flags.writeable = False
    imfilt.bilateral(ro, 5, 10, 2)
    for shape in [(0, 5), (4, 0)]:
        assert imfilt.bilateral(np.zeros(shape, np.uint8), 5, 10, 2).shape == shape
    assert imfilt.bilateral(np.zeros((0, 5, 3)), 5, 10, 2, channel_axis=-1).shape == (0, 5, 3)


def test_flat_image_and_extremes():
    x = np.full((8, 9), 7.5)
    np.testing.assert_allclose(imfilt.bilateral(x, 5, 1e-3, 1e3), x, rtol=1e-15)
    x = np.array([[0, 1e300], [1e300, 0]])
    got = imfilt.bilateral(x, 3, 1.0, 1.0)      # distant values get weight exactly 0
    np.testing.assert_array_equal(got, x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8])
@pytest.mark.parametrize("sigma_color, sigma_space", [(1e-300, 1.0), (1e-160, 1.0), (1e-20, 2.0),
                                                      (10.0, 1e-300), (1e-300, 1e-300)])
@pytest.mark.parametrize("diameter", [3, 9])
def test_sigmas_whose_squares_underflow_give_the_limit(dtype, sigma_color, sigma_space,
                                                        diameter, rng):
    # As sigma_color -> 0 only equal values keep a weight; as sigma_space -> 0
    # only the centre: either way each output is its own input (not NaN, and
    # no ZeroDivisionError when 2 * sigma**2 underflows to 0).
    x = rng.random((7, 40))
    x = (x * 255).astype(dtype) if dtype == np.uint8 else x.astype(dtype)
    got = imfilt.bilateral(x, diameter, sigma_color, sigma_space)
    np.testing.assert_allclose(got, x, rtol=4 * np.finfo(got.dtype).eps, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("nan_policy", ["propagate", "omit"])
def test_infinite_values_count_as_nan(dtype, nan_policy, rng):
    # A weight of 0 times inf is NaN: an infinite sample acts as NaN, in
    # float32 (whose weights never reach 0) as in float64.
    x = rng.random((9, 40)).astype(dtype)
    x[4, 7], x[2, 30] = np.inf, -np.inf
    y = x.copy()
    y[np.isinf(y)] = np.nan
    got = imfilt.bilateral(x, 5, 0.3, 2, nan_policy=nan_policy)
    np.testing.assert_array_equal(got, imfilt.bilateral(y, 5, 0.3, 2, nan_policy=nan_policy))
    assert not np.isinf(got).any() and np.isnan(got).any()
    with pytest.raises(ValueError, match="NaN or inf"):
        imfilt.bilateral(x, 5, 0.3, 2, nan_policy="raise")
    filled = imfilt.bilateral(np.ones((5, 6), dtype), 3, 1, 1, boundary="fill", fillvalue=-np.inf)
    assert np.isnan(filled[0]).all() and (filled[1:-1, 1:-1] == 1).all()


def test_errors_name_the_parameter():
    x = np.zeros((6, 6), np.uint8)
    with pytest.raises(TypeError, match="diameter"):
        imfilt.bilateral(x, 2.5, 10, 2)
    with pytest.raises(ValueError, match="sigma_color"):
        imfilt.bilateral(x, 5, 0, 2)
    with pytest.raises(ValueError, match="sigma_space"):
        imfilt.bilateral(x, 5, 10, -1)
    with pytest.raises(ValueError, match="sigma_space"):
        imfilt.bilateral(x, 5, 10, np.inf)
    with pytest.raises(ValueError, match=r"diameter=1000000000 .* radius 500000000; the largest"):
        imfilt.bilateral(x, 10**9, 10, 2)
    with pytest.raises(ValueError, match=r"sigma_space=1e\+300 gives a window of radius 1.5e\+300"):
        imfilt.bilateral(x, 0, 10, 1e300)
    with pytest.raises(TypeError, match="sigma_color"):
        imfilt.bilateral(x, 5, "10", 2)
    with pytest.raises(ValueError, match="channel_axis"):
        imfilt.bilateral(np.zeros((6, 6, 3)), 5, 10, 2)
    with pytest.raises(ValueError, match="2-D"):
        imfilt.bilateral(np.zeros(6), 5, 10, 2)
    with pytest.raises(ValueError, match="channel_axis"):
        imfilt.bilateral(x, 5, 10, 2, channel_axis=-1)
    with pytest.raises(ValueError, match="boundary"):
        imfilt.bilateral(x, 5, 10, 2, boundary="mirror")
    with pytest.raises(ValueError, match="nan_policy"):
        imfilt.bilateral(x, 5, 10, 2, nan_policy="skip")
    with pytest.raises(TypeError, match="complex"):
        imfilt.bilateral(x + 1j, 5, 10, 2)
    with pytest.raises(ValueError, match="workers"):
        imfilt.bilateral(x, 5, 10, 2, workers=0)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, bool])
@pytest.mark.parametrize("sign", [1, -1])
def test_fill_beyond_float32_counts_as_infinite(dtype, sign):
    # The fill value is rounded to the compute precision (float32 here): a
    # finite value beyond its range is then infinite, and counts as NaN
    # under every policy, exactly like fillvalue=+-inf.
    x = (np.arange(30).reshape(5, 6) % 7).astype(dtype)
    for policy in ("propagate", "omit"):
        got = imfilt.bilateral(x, 3, 30, 1, boundary="fill", fillvalue=sign * 1e40,
                               nan_policy=policy)
        ref = imfilt.bilateral(x, 3, 30, 1, boundary="fill", fillvalue=sign * np.inf,
                               nan_policy=policy)
        np.testing.assert_array_equal(got, ref)
        assert not np.isinf(got).any()
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        imfilt.bilateral(x, 3, 30, 1, boundary="fill", fillvalue=sign * 1e40, nan_policy="raise")
    # float64 keeps the value: far from every pixel, its weight is 0
    got = imfilt.bilateral(x.astype(np.float64), 3, 30, 1, boundary="fill",
                           fillvalue=sign * 1e40)
    assert np.isfinite(got).all()


def test_float32_huge_neighbours_weigh_nothing():
    # a fill value or a pixel far beyond sigma_color gets weight 0 (float64
    # and OpenCV agree); its weight was 2**-125, which a 1e37 value turned
    # into a visible share
    import cv2
    x = np.zeros((3, 3), np.float32)
    for fill in (1e37, 3e38, -3e38):
        got = imfilt.bilateral(x, 3, 0.1, 1, boundary="fill", fillvalue=fill)
        np.testing.assert_array_equal(got, 0)
    y = np.zeros((5, 5), np.float32)
    y[2, 2] = 1e37
    got = imfilt.bilateral(y, 3, 0.1, 1, boundary="symm")
    ref = cv2.bilateralFilter(y, 3, 0.1, 1, borderType=cv2.BORDER_REFLECT)
    np.testing.assert_array_equal(got[y == 0], ref[y == 0])
    assert not got[y == 0].any()
