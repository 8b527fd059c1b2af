"""The edge filters' scikit-image / OpenCV options: ``mask``, ``fillvalue``,
``sobel(size=5|7)``, ``canny(boundary, fillvalue)`` and the pyramids'
``dstsize``, each against its reference (skimage, scipy.ndimage, cv2),
plus their corners and their chunked (imfilt.dask) forms."""

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import skimage.feature
import skimage.filters as skf

import imfilt
from imfilt._modes import NDIMAGE_MODE

da = pytest.importorskip("dask.array")
import imfilt.dask as idask  # noqa: E402

BOUNDARIES = ["fill", "wrap", "symm", "reflect", "edge"]
CV_BORDER = {"symm": cv2.BORDER_REFLECT, "reflect": cv2.BORDER_REFLECT_101,
             "edge": cv2.BORDER_REPLICATE, "fill": cv2.BORDER_CONSTANT}
SKIMAGE_MASKED = ["sobel", "scharr", "prewitt", "roberts"]
KERNELS = {"sobel": np.outer([-1, 0, 1], [1, 2, 1]), "scharr": np.outer([-1, 0, 1], [3, 10, 3]),
           "prewitt": np.outer([-1, 0, 1], [1, 1, 1])}


def _image(shape=(23, 31), dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random(shape)
    return (x * 255).astype(dtype) if np.dtype(dtype).kind in "iu" else x.astype(dtype)


def _mask(shape, seed=1):
    return np.random.default_rng(seed).random(shape) > 0.15


# -- mask ---------------------------------------------------------------------

@pytest.mark.parametrize("name", SKIMAGE_MASKED)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8])
def test_mask_equals_skimage(name, dtype):
    x, m = _image(dtype=dtype), _mask((23, 31))
    got = getattr(imfilt, name)(x, mask=m, convention="skimage")
    np.testing.assert_allclose(got, getattr(skf, name)(x, mask=m), rtol=1e-5, atol=1e-6)


def test_laplace_mask_equals_skimage_with_its_sign():
    x, m = _image(), _mask((23, 31))
    np.testing.assert_allclose(imfilt.laplace(x, mask=m), -skf.laplace(x, mask=m), atol=1e-12)


@pytest.mark.parametrize("name", ["sobel", "scharr", "prewitt", "roberts", "laplace"])
def test_mask_all_true_all_false_and_the_border(name):
    x = _image()
    f = getattr(imfilt, name)
    full = f(x)
    inner = f(x, mask=np.ones(x.shape, bool))
    np.testing.assert_array_equal(inner[1:-1, 1:-1], full[1:-1, 1:-1])
    assert not inner[0].any() and not inner[-1].any() and not inner[:, 0].any()
    assert not f(x, mask=np.zeros(x.shape, bool)).any()


def test_gradient_mask_zeroes_both_outputs_and_nan_outside():
    x = _image()
    x[5, 5] = np.nan
    m = np.ones(x.shape, bool)
    m[3:8, 3:8] = False
    mag, direction = imfilt.gradient(x, mask=m)
    ref_mag, ref_dir = imfilt.gradient(x)
    keep = ndi.binary_erosion(m, np.ones((3, 3)), border_value=0)
    np.testing.assert_array_equal(mag[keep], ref_mag[keep])
    np.testing.assert_array_equal(direction[keep], ref_dir[keep])
    assert (mag[~keep] == 0).all() and (direction[~keep] == 0).all()   # NaN there too


def test_mask_errors_and_layouts():
    x = _image()
    with pytest.raises(ValueError, match=r"mask must have the image's shape \(23, 31\)"):
        imfilt.sobel(x, mask=np.ones((23, 30), bool))
    with pytest.raises(ValueError, match="mask must be 2-D"):
        imfilt.roberts(x, mask=np.ones((23, 31, 1), bool))
    with pytest.raises(TypeError, match="mask"):
        imfilt.laplace(x, mask=np.ones((23, 31), complex))
    m = _mask((31, 23)).T                                   # non-contiguous mask and image
    np.testing.assert_array_equal(imfilt.prewitt(np.asfortranarray(x), mask=m),
                                  imfilt.prewitt(x, mask=np.ascontiguousarray(m)))
    np.testing.assert_array_equal(imfilt.sobel(x, mask=m.astype(np.uint8)),
                                  imfilt.sobel(x, mask=m))
    assert imfilt.sobel(np.zeros((0, 4)), mask=np.zeros((0, 4), bool)).shape == (0, 4)
    row = imfilt.sobel(np.arange(6.0)[None], mask=np.ones((1, 6), bool))
    assert row.shape == (1, 6) and not row.any()            # 1xN: every pixel is border
    rgb = np.stack([x, x * 2], axis=-1)
    np.testing.assert_array_equal(imfilt.sobel(rgb, channel_axis=-1, mask=m)[..., 1],
                                  imfilt.sobel(x * 2, mask=m))


# -- fillvalue ----------------------------------------------------------------

@pytest.mark.parametrize("name", list(KERNELS))
@pytest.mark.parametrize("fill", [0.0, 2.5, -7.0, np.nan])
def test_fillvalue_is_the_numpy_pad_definition(name, fill):
    x = _image()
    k = KERNELS[name]
    f = getattr(imfilt, name)
    for axis, kernel in ((0, k), (1, k.T)):
        ref = ndi.correlate(x, kernel.astype(float), mode="constant", cval=fill)
        np.testing.assert_allclose(f(x, axis, boundary="fill", fillvalue=fill), ref,
                                   rtol=1e-12, atol=1e-12)
    mag = np.hypot(ndi.correlate(x, k.astype(float), mode="constant", cval=fill),
                   ndi.correlate(x, k.T.astype(float), mode="constant", cval=fill))
    np.testing.assert_allclose(f(x, boundary="fill", fillvalue=fill), mag, rtol=1e-12)


def test_fillvalue_roberts_laplace_and_skimage_units():
    x = _image()
    for n, kern in ((4, [[0, 1, 0], [1, -4, 1], [0, 1, 0]]), (8, [[1, 1, 1], [1, -8, 1], [1, 1, 1]])):
        np.testing.assert_allclose(imfilt.laplace(x, n, boundary="fill", fillvalue=3.0),
                                   ndi.correlate(x, np.array(kern, float), mode="constant",
                                                 cval=3.0), atol=1e-12)
    p = ndi.correlate(x, np.array([[0, 0, 0], [0, -1, 0], [0, 0, 1.0]]), mode="constant", cval=2)
    q = ndi.correlate(x, np.array([[0, 0, 0], [0, 0, -1], [0, 1, 0.0]]), mode="constant", cval=2)
    np.testing.assert_allclose(imfilt.roberts(x, boundary="fill", fillvalue=2), np.hypot(p, q),
                               atol=1e-12)
    u = _image(dtype=np.uint8)
    for name in SKIMAGE_MASKED[:3]:                # cval in the scaled image's units
        np.testing.assert_allclose(
            getattr(imfilt, name)(u, boundary="fill", fillvalue=0.4, convention="skimage"),
            getattr(skf, name)(u, mode="constant", cval=0.4), rtol=2e-6, atol=1e-6)


def test_fillvalue_errors_and_other_boundaries():
    x = _image()
    with pytest.raises(TypeError, match="fillvalue"):
        imfilt.sobel(x, boundary="fill", fillvalue="zero")
    with pytest.raises(ValueError, match="fillvalue"):
        imfilt.scharr(x, boundary="fill", fillvalue=np.nan, nan_policy="raise")
    np.testing.assert_array_equal(imfilt.sobel(x, fillvalue=9.0), imfilt.sobel(x))  # symm


# -- sobel size 5 and 7 -------------------------------------------------------

@pytest.mark.parametrize("size", [3, 5, 7])
@pytest.mark.parametrize("boundary", list(CV_BORDER))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_sobel_sizes_equal_opencv(size, boundary, dtype):
    x = _image((29, 37), dtype)
    ref_dtype = cv2.CV_64F
    for axis, (dx, dy) in ((1, (1, 0)), (0, (0, 1))):
        ref = cv2.Sobel(x, ref_dtype, dx, dy, ksize=size, borderType=CV_BORDER[boundary])
        got = imfilt.sobel(x, axis, size=size, boundary=boundary)
        tol = 1e-5 * max(1.0, np.abs(ref).max()) if got.dtype == np.float32 else 1e-9
        np.testing.assert_allclose(got, ref, atol=tol)


@pytest.mark.parametrize("size", [5, 7])
def test_sobel_wide_wrap_magnitude_and_scaling(size):
    x = _image()
    d, s = imfilt.edges._WIDE_SOBEL[size]
    k0 = np.outer(d, s)
    g0 = ndi.correlate(x, k0, mode="wrap")
    g1 = ndi.correlate(x, k0.T, mode="wrap")
    np.testing.assert_allclose(imfilt.sobel(x, size=size, boundary="wrap"), np.hypot(g0, g1),
                               rtol=1e-12)
    ramp = np.tile(np.arange(12.0), (12, 1))
    for n in (3, 5, 7):
        assert imfilt.sobel(ramp, 1, size=n, convention="skimage")[6, 6] == 2.0
    np.testing.assert_allclose(imfilt.sobel(x, size=3, convention="skimage"), skf.sobel(x),
                               atol=1e-12)


def test_sobel_wide_corners():
    for bad in (4, 9, 1, "5", 5.0, True):
        with pytest.raises(ValueError, match="size"):
            imfilt.sobel(_image(), size=bad)
    x = _image()
    x[10, 10] = np.nan
    out = imfilt.sobel(x, size=5)
    assert np.isnan(out[8:13, 8:13]).all() and np.isfinite(out[:7]).all()
    omit = imfilt.sobel(x, size=7, nan_policy="omit")
    assert np.isfinite(omit).all()
    assert imfilt.sobel(np.zeros((0, 5)), size=7).shape == (0, 5)
    tiny = _image((1, 9))
    ref = cv2.Sobel(tiny, cv2.CV_64F, 1, 0, ksize=5, borderType=cv2.BORDER_REFLECT_101)
    np.testing.assert_allclose(imfilt.sobel(tiny, 1, size=5, boundary="reflect"), ref,
                               atol=1e-9)
    np.testing.assert_array_equal(imfilt.sobel(x, size=5, mask=np.ones(x.shape, bool))[0], 0)


# -- canny boundary and fillvalue ------------------------------------------------

@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_canny_boundary_equals_skimage_mode(boundary):
    img = skimage.data.camera()[::4, ::4]
    mask = np.zeros(img.shape, bool)
    mask[10:100, 20:120] = True
    for fill in ((0.0, 0.35) if boundary == "fill" else (0.0,)):
        for m in (None, mask):
            got = imfilt.canny(img, 1.5, boundary=boundary, fillvalue=fill, mask=m)
            ref = skimage.feature.canny(img, 1.5, mode=NDIMAGE_MODE[boundary], cval=fill, mask=m)
            assert (got != ref).sum() <= 0.01 * max(1, ref.sum())


def test_canny_default_unchanged_and_errors():
    img = skimage.data.camera()[::4, ::4]
    np.testing.assert_array_equal(imfilt.canny(img, 2.0), imfilt.canny(img, 2.0, boundary="fill"))
    with pytest.raises(ValueError, match="boundary"):
        imfilt.canny(img, boundary="mirror")
    with pytest.raises(TypeError, match="fillvalue"):
        imfilt.canny(img, fillvalue=[1, 2j, "a"])
    with pytest.raises(ValueError, match="fillvalue"):
        imfilt.canny(img.astype(float), fillvalue=np.inf, nan_policy="raise")


# -- pyramid dstsize --------------------------------------------------------

def test_pyramid_dstsize_equals_opencv_for_every_allowed_size():
    rng = np.random.default_rng(3)
    checked = 0
    for H in (1, 2, 3, 4, 5, 8, 9):
        for W in (1, 2, 3, 4, 7, 8):
            x = rng.random((H, W)).astype(np.float32)
            for Ho in range(1, 2 * H + 3):
                for Wo in range(1, 2 * W + 3):
                    for ours, theirs in ((imfilt.pyramid_up, cv2.pyrUp),
                                         (imfilt.pyramid_down, cv2.pyrDown)):
                        if theirs is cv2.pyrUp and W == 1 and Wo == 3:
                            continue  # OpenCV reads uninitialised memory there
                        try:
                            ref = theirs(x, dstsize=(Wo, Ho))
                        except cv2.error:
                            with pytest.raises(ValueError, match="OpenCV's rule"):
                                ours(x, dstsize=(Ho, Wo))
                            continue
                        got = ours(x, dstsize=(Ho, Wo))
                        assert got.shape == ref.shape
                        np.testing.assert_allclose(got, ref, atol=1e-6)
                        checked += 1
    assert checked > 500


def test_pyramid_dstsize_errors_and_layouts():
    x = np.random.default_rng(4).random((6, 7, 3))
    with pytest.raises(ValueError, match=r"\|2\*dst - src\| <= 2"):
        imfilt.pyramid_down(x[..., 0], dstsize=(1, 4))
    with pytest.raises(ValueError, match=r"\|dst - 2\*src\| == dst % 2"):
        imfilt.pyramid_up(x[..., 0], dstsize=(12, 16))
    for bad in (5, (5,), (1, 2, 3), ("3", 4), (3.5, 4)):
        with pytest.raises(TypeError, match="dstsize"):
            imfilt.pyramid_down(x[..., 0], dstsize=bad)
    got = imfilt.pyramid_up(x, dstsize=(13, 13), channel_axis=-1)
    ref = cv2.pyrUp(x, dstsize=(13, 13))
    np.testing.assert_allclose(got, ref, atol=1e-12)
    got = imfilt.pyramid_down(np.moveaxis(x, -1, 0), dstsize=(4, 3), channel_axis=0)
    np.testing.assert_allclose(np.moveaxis(got, 0, -1), cv2.pyrDown(x, dstsize=(3, 4)),
                               atol=1e-12)
    np.testing.assert_array_equal(imfilt.pyramid_up(x[..., 0], dstsize=(12, 14)),
                                  imfilt.pyramid_up(x[..., 0]))
    assert imfilt.pyramid_up(np.zeros((0, 3)), dstsize=(0, 7)).shape == (0, 7)
    y = np.full((5, 5), np.nan)
    assert np.isnan(imfilt.pyramid_down(y, dstsize=(3, 2))).all()


# -- chunked forms -------------------------------------------------------------

@pytest.mark.parametrize("name", ["sobel", "scharr", "prewitt", "roberts", "laplace",
                                  "gradient"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
def test_dask_mask_and_fillvalue_bit_identical(name, boundary):
    x = _image((23, 19), np.uint8)
    m = _mask((23, 19))
    for chunks in ((5, 4), (1, 2), (23, 19)):
        for kw in (dict(fillvalue=0.3), dict(mask=m), dict(mask=da.from_array(m, chunks=7))):
            exp = getattr(imfilt, name)(x, boundary=boundary,
                                        **{k: np.asarray(v) for k, v in kw.items()})
            got = getattr(idask, name)(da.from_array(x, chunks=chunks), boundary=boundary, **kw)
            for e, g in zip(exp if isinstance(exp, tuple) else (exp,),
                            got if isinstance(got, tuple) else (got,)):
                np.testing.assert_array_equal(g.compute(scheduler="sync"), e)


def test_dask_sobel_size_channels_and_mask_errors():
    x = _image((20, 21))
    for size in (5, 7):
        np.testing.assert_array_equal(
            idask.sobel(da.from_array(x, chunks=(3, 4)), size=size, boundary="fill",
                        fillvalue=2.0).compute(scheduler="sync"),
            imfilt.sobel(x, size=size, boundary="fill", fillvalue=2.0))
    rgb = np.stack([x, 2 * x, 3 * x], axis=1)
    m = _mask((20, 21))
    mag, direction = idask.gradient(da.from_array(rgb, chunks=(6, 3, 5)), channel_axis=1,
                                    mask=m)
    ref = imfilt.gradient(rgb, channel_axis=1, mask=m)
    np.testing.assert_array_equal(mag.compute(scheduler="sync"), ref[0])
    np.testing.assert_array_equal(direction.compute(scheduler="sync"), ref[1])
    with pytest.raises(ValueError, match="mask must have the image's shape"):
        idask.sobel(da.from_array(x, chunks=5), mask=np.ones((20, 20), bool))
    with pytest.raises(ValueError, match="size"):
        idask.sobel(da.from_array(x, chunks=5), size=4)


def test_new_paths_thread_count_and_layout_bit_identical():
    x = _image((301, 256))
    x[100, 100] = np.nan
    m = _mask(x.shape)
    nc = np.asfortranarray(x)
    for call in (lambda a, w: imfilt.sobel(a, size=7, workers=w),
                 lambda a, w: imfilt.sobel(a, size=5, boundary="fill", fillvalue=2, workers=w),
                 lambda a, w: imfilt.gradient(a, mask=m, boundary="fill", fillvalue=-1,
                                              workers=w)[0],
                 lambda a, w: imfilt.pyramid_up(a, dstsize=(603, 511), workers=w),
                 lambda a, w: imfilt.pyramid_down(a, dstsize=(150, 129), workers=w)):
        one = call(x, 1)
        np.testing.assert_array_equal(call(x, 2), one)
        np.testing.assert_array_equal(call(nc, 2), one)


@pytest.mark.parametrize("size", [5, 7])
@pytest.mark.parametrize("dtype", ["uint16", "int16", "float32", "float64"])
def test_wide_sobel_of_a_flat_image_is_exactly_zero(size, dtype):
    # OpenCV's two 1-D passes: the smoothing pass of a 16-bit image stays
    # exact in float32, so no rounding is left (one 49-tap float32 sum of
    # 65535s left -8)
    top = np.iinfo(dtype).max if dtype[0] in "ui" else 65535.0
    flat = np.full((6, 9), top, dtype=dtype)
    for axis in (0, 1, None):
        got = imfilt.sobel(flat, axis=axis, size=size)
        assert not got.any(), (axis, got)


@pytest.mark.parametrize("call", [lambda x: imfilt.sobel(x, axis=1.0),
                                  lambda x: imfilt.sobel(x, axis=True),
                                  lambda x: imfilt.sobel(x, size="3"),
                                  lambda x: imfilt.sobel(x, size=3.0),
                                  lambda x: imfilt.laplace(x, 4.0)])
def test_int_choices_of_the_wrong_type_are_type_errors(call):
    # a TypeError that is also a ValueError (ParameterTypeError), naming the value
    with pytest.raises(TypeError, match="is not valid; choose one of"):
        call(np.ones((4, 4)))
    with pytest.raises(ValueError):
        call(np.ones((4, 4)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_magnitude_pass_is_hypot_without_overflow(dtype):
    # roberts and sobel(size=5|7) magnitudes: sqrt(p**2 + q**2) like
    # numpy.hypot (float32: the same bits; float64: within 1 ulp), finite
    # for derivatives near the type's limit and for tiny ones, NaN and inf
    # where hypot gives them
    from imfilt import _threads
    from imfilt._kernels import _edges
    rng = np.random.default_rng(5)
    top = 30 if dtype == "float32" else 300
    x = (rng.standard_normal(50_000) * 10.0 ** rng.integers(-top, top, 50_000)).astype(dtype)
    y = (rng.standard_normal(50_000) * 10.0 ** rng.integers(-top, top, 50_000)).astype(dtype)
    x[rng.random(x.size) < 0.2] = 0
    y[:6] = [np.nan, np.inf, -np.inf, 0, np.nan, 3]
    x[:6] = [np.inf, np.nan, 1, 0, 2, -np.inf]
    out = np.empty_like(x)
    scratch = np.empty((2, _edges.MAG_CHUNK))
    _edges.magnitude_pair(x, y, out, 1.0, scratch, 2, _threads.min_parallel_work())
    with np.errstate(over="ignore"):
        ref = np.hypot(x, y)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    np.testing.assert_array_equal(out[np.isinf(ref)], ref[np.isinf(ref)])
    ok = np.isfinite(ref)
    np.testing.assert_allclose(out[ok], ref[ok], rtol=0 if dtype == "float32" else 2.3e-16,
                               atol=0)
    # through the public filters
    big = np.zeros((6, 7), dtype=dtype)
    big[:, 4:] = np.finfo(dtype).max / 64
    for got in (imfilt.sobel(big, size=5), imfilt.roberts(big)):
        assert np.isfinite(got).all() and got.max() > 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_skimage_wide_magnitude_is_finite_where_its_value_is(dtype):
    # the root of the unscaled sums overflows; the scaled magnitude does not
    a = np.finfo(dtype).max / 150
    i, j = np.mgrid[0:9, 0:9]
    x = (a * (i + j)).astype(dtype)
    g0 = imfilt.sobel(x, 0, size=5, convention="skimage")
    g1 = imfilt.sobel(x, 1, size=5, convention="skimage")
    mag = imfilt.sobel(x, size=5, convention="skimage")
    ref = np.hypot(g0.astype(np.float64), g1.astype(np.float64)) / np.sqrt(2)
    assert np.isfinite(mag).all()
    np.testing.assert_allclose(mag, ref, rtol=4 * np.finfo(dtype).eps)
