"""nan_policy on the edge filters: 'omit' = correlate(..., nan_policy='omit') where needed."""

import math

import numpy as np
import pytest

import imfilt


@pytest.fixture
def holey(rng):
    x = rng.standard_normal((37, 41)).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan
    x[10:14, 20:23] = np.inf
    return x


SOBEL0 = np.outer([-1.0, 0.0, 1.0], [1.0, 2.0, 1.0])


def _expected(x, ordinary, omitted):
    """The ordinary value where finite, the omit value elsewhere."""
    return np.where(np.isfinite(ordinary), ordinary, omitted)


@pytest.mark.parametrize("boundary", ["symm", "wrap", "fill", "reflect", "edge"])
def test_sobel_axis_and_magnitude(holey, boundary):
    for axis, kernel in ((0, SOBEL0), (1, SOBEL0.T)):
        got = imfilt.sobel(holey, axis, boundary=boundary, nan_policy="omit")
        ref = imfilt.correlate(holey, kernel, "same", boundary, nan_policy="omit", method="direct")
        np.testing.assert_array_equal(got, _expected(holey, imfilt.sobel(holey, axis, boundary=boundary), ref))
    c0 = imfilt.correlate(holey, SOBEL0, "same", boundary, nan_policy="omit", method="direct")
    c1 = imfilt.correlate(holey, SOBEL0.T, "same", boundary, nan_policy="omit", method="direct")
    got = imfilt.sobel(holey, boundary=boundary, nan_policy="omit")
    plain = imfilt.sobel(holey, boundary=boundary)
    np.testing.assert_array_equal(got, _expected(holey, plain, np.hypot(c0, c1)))
    finite = np.isfinite(plain)
    np.testing.assert_array_equal(got[finite], plain[finite])   # untouched where clean
    assert np.isfinite(got).sum() > finite.sum()


def test_scharr_prewitt_skimage_convention(holey):
    for fn, (a, b) in ((imfilt.scharr, (3.0, 10.0)), (imfilt.prewitt, (1.0, 1.0))):
        k0 = np.outer([-1.0, 0.0, 1.0], [a, b, a])
        c0 = imfilt.correlate(holey, k0, "same", "symm", nan_policy="omit", method="direct")
        c1 = imfilt.correlate(holey, k0.T, "same", "symm", nan_policy="omit", method="direct")
        got = fn(holey, convention="skimage", nan_policy="omit")
        ref = np.hypot(c0, c1) / (2 * a + b) / math.sqrt(2)
        plain = fn(holey, convention="skimage")
        np.testing.assert_allclose(got, _expected(holey, plain, ref), rtol=1e-6)


def test_gradient_roberts_laplace(holey):
    mag, direction = imfilt.gradient(holey, nan_policy="omit")
    np.testing.assert_array_equal(mag, imfilt.sobel(holey, nan_policy="omit"))
    assert np.isfinite(direction).sum() >= np.isfinite(imfilt.gradient(holey)[1]).sum()

    p = imfilt.correlate(holey, [[-1.0, 0], [0, 1]], "same", "symm", nan_policy="omit", method="direct")
    q = imfilt.correlate(holey, [[0, -1.0], [1, 0]], "same", "symm", nan_policy="omit", method="direct")
    np.testing.assert_array_equal(imfilt.roberts(holey, nan_policy="omit"),
                                  _expected(holey, imfilt.roberts(holey), np.hypot(p, q)))
    for neighbors, kernel in ((4, [[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
                              (8, [[1, 1, 1], [1, -8, 1], [1, 1, 1]])):
        ref = imfilt.correlate(holey, np.array(kernel, float), "same", "symm", nan_policy="omit",
                               method="direct")
        np.testing.assert_array_equal(
            imfilt.laplace(holey, neighbors, nan_policy="omit"),
            _expected(holey, imfilt.laplace(holey, neighbors), ref))


def test_omit_on_a_hand_example():
    # One NaN in a linear ramp: Sobel along axis 1 of a ramp is 8 * slope; the
    # omitted pixel's neighbours keep the ramp's derivative after rescaling by
    # sum|w| / sum_finite|w|.
    ramp = np.tile(np.arange(7, dtype=np.float64), (5, 1))
    ramp[2, 3] = np.nan
    got = imfilt.sobel(ramp, axis=1, nan_policy="omit")
    assert np.isfinite(got).all()
    np.testing.assert_array_equal(got[:, 1:-1][[0, 4]], 8.0)
    # Next to the NaN: the window's finite part, rescaled by sum|w| / sum_finite|w|.
    w = SOBEL0.T
    win = ramp[1:4, 1:4]
    ok = np.isfinite(win)
    expected = np.sum(np.where(ok, win, 0) * w) * np.abs(w).sum() / np.abs(w)[ok].sum()
    assert got[2, 2] == pytest.approx(expected)


def test_canny_omit_masks_the_non_finite_pixels(rng):
    x = np.zeros((40, 40))
    x[:, 20:] = 1.0
    x += 0.01 * rng.standard_normal(x.shape)
    x[5, 5] = np.nan
    got = imfilt.canny(x, sigma=1.0, nan_policy="omit")
    ref = imfilt.canny(np.nan_to_num(x), sigma=1.0, mask=np.isfinite(x))
    np.testing.assert_array_equal(got, ref)
    assert got[:, 19:21].any()


@pytest.mark.parametrize("fn", [imfilt.sobel, imfilt.scharr, imfilt.prewitt, imfilt.roberts,
                                imfilt.laplace, imfilt.canny, imfilt.gradient])
def test_raise_and_bad_policy(fn, holey):
    with pytest.raises(ValueError, match="image holds .* NaN or inf values and nan_policy='raise'"):
        fn(holey, nan_policy="raise")
    with pytest.raises(ValueError, match="nan_policy='drop' is not valid; choose one of"):
        fn(holey, nan_policy="drop")
    clean = np.nan_to_num(holey, posinf=0.0)
    first = fn(clean, nan_policy="raise")
    second = fn(clean)
    for a, b in zip(first if isinstance(first, tuple) else (first,),
                    second if isinstance(second, tuple) else (second,)):
        np.testing.assert_array_equal(a, b)


def test_integer_images_are_untouched(rng):
    x = rng.integers(0, 255, (20, 20), dtype=np.uint8)
    np.testing.assert_array_equal(imfilt.sobel(x, nan_policy="omit"), imfilt.sobel(x))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8])
@pytest.mark.parametrize("name, convention", [
    (name, convention) for name in ("sobel", "prewitt", "gradient", "roberts")
    for convention in ("ndimage", "skimage")] + [("laplace", "ndimage")])
def test_omit_nan_fill_without_nan_in_the_image(rng, dtype, convention, name):
    """A NaN or inf fill value under 'omit' makes the outside of the image
    count as missing even when the image itself holds no NaN (the border
    used to come out NaN), for float and integer images, both conventions:
    the values of correlate(..., nan_policy='omit') with the operator's
    kernels, in the convention's units."""
    x = (rng.random((9, 12)) * 200).astype(dtype)
    kwargs = dict(boundary="fill", nan_policy="omit")
    if name != "laplace":
        kwargs["convention"] = convention
    fn = getattr(imfilt, name)
    for fill in (np.nan, np.inf):
        got = fn(x, fillvalue=fill, **kwargs)
        got = got[0] if name == "gradient" else got
        assert np.isfinite(got).all() or name == "roberts"
        # the reference: the same filter of the float image, scaled as
        # skimage scales integers, with the fill inside an explicit NaN frame
        ref_x = x.astype(np.float64) / (255.0 if convention == "skimage" and dtype == np.uint8
                                        else 1.0)
        framed = np.pad(ref_x, 3, constant_values=np.nan)
        want = fn(framed, boundary="symm", nan_policy="omit",
                  **({} if name == "laplace" else {"convention": convention}))
        want = (want[0] if name == "gradient" else want)[3:-3, 3:-3]
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)
    with pytest.raises(ValueError, match="fillvalue=nan is not finite and nan_policy='raise'"):
        fn(x, boundary="fill", fillvalue=np.nan, nan_policy="raise")


@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
def test_correlate_integer_image_with_nan_fill_omits_the_outside(method):
    """An integer image cannot hold NaN, but a NaN fill value still makes the
    outside missing under 'omit' (it was spread as with 'propagate')."""
    u = (np.arange(30).reshape(5, 6) * 7).astype(np.uint8)
    got = imfilt.correlate(u, np.ones((3, 3)), "same", boundary="fill", fillvalue=np.nan,
                           nan_policy="omit", method=method)
    want = imfilt.correlate(u.astype(np.float32), np.ones((3, 3)), "same", boundary="fill",
                            fillvalue=np.nan, nan_policy="omit", method=method)
    assert got.dtype == np.float32 and np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=1e-6)
    # a corner sees 4 of 9 samples: their mean times sum(w)
    np.testing.assert_allclose(got[0, 0], u[:2, :2].mean() * 9, rtol=1e-6)
