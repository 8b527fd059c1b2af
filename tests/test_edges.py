"""Edge filters against scipy.ndimage, scikit-image and OpenCV.

References: scipy.ndimage (sobel, prewitt, laplace, correlate) for the
unnormalised kernels and every boundary; skimage.filters for
``convention='skimage'``; skimage.feature.canny for Canny; OpenCV when it is
installed.  Boundary names map to scipy.ndimage modes as imfilt._modes.NDIMAGE_MODE says
(symm = 'reflect', reflect = 'mirror', edge = 'nearest', fill = 'constant').
"""

import os

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import skimage.feature
import skimage.filters

import imfilt
import imfilt.edges
from imfilt._kernels import _build, _edges

# imfilt boundary -> scipy.ndimage mode
NDI_MODE = {"symm": "reflect", "reflect": "mirror", "edge": "nearest",
            "wrap": "wrap", "fill": "constant"}
BOUNDARIES = list(NDI_MODE)

SCHARR_0 = np.array([[-3, -10, -3], [0, 0, 0], [3, 10, 3]], dtype=np.float64)
KERNEL_0 = {
    "sobel": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64),
    "scharr": SCHARR_0,
    "prewitt": np.array([[-1, -1, -1], [0, 0, 0], [1, 1, 1]], dtype=np.float64),
}
OPERATORS = list(KERNEL_0)

# Relative tolerance per output dtype (results differ from the references
# by summation order only).
RTOL = {np.float32: 2e-6, np.float64: 1e-13}


def rng_image(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == bool:
        return rng.random(shape) > 0.5
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        lo, hi = max(info.min, -1000), min(info.max, 1000)
        if dtype.itemsize <= 2:
            lo, hi = info.min, info.max
        return rng.integers(lo, hi, shape, endpoint=True).astype(dtype)
    return (rng.standard_normal(shape) * 10).astype(dtype)


def reference_axis(image, operator, axis, boundary):
    """ndimage correlation with the operator's kernel ``[-1, 0, 1]^T (x) [a, b, a]``, float64."""
    k = KERNEL_0[operator] if axis == 0 else KERNEL_0[operator].T
    return ndi.correlate(np.asarray(image, dtype=np.float64), k, mode=NDI_MODE[boundary])


def assert_close(actual, expected, dtype):
    scale = max(1.0, float(np.nanmax(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=0, atol=RTOL[dtype] * scale * 8)


def assert_same_angles(direction, g0, g1):
    """Angles equal modulo 2*pi where the reference gradient is not ~0.

    The 2-D reference sums its nine taps in another order, so where the
    gradient vanishes it may hold +-1e-16 (or -0.0) instead of an exact 0,
    which moves arctan2 arbitrarily.
    """
    significant = np.hypot(g0, g1) > 1e-9
    diff = np.angle(np.exp(1j * (direction - np.arctan2(g0, g1))))
    np.testing.assert_allclose(diff[significant], 0, atol=1e-9)
    assert significant.mean() > 0.5


# ---------------------------------------------------------------------------
# parity with scipy.ndimage


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("axis", [0, 1])
def test_sobel_prewitt_equal_ndimage_every_boundary(boundary, axis):
    x = rng_image((23, 29), np.float64)
    mode = NDI_MODE[boundary]
    np.testing.assert_allclose(imfilt.sobel(x, axis, boundary=boundary),
                               ndi.sobel(x, axis, mode=mode), rtol=0, atol=1e-12)
    np.testing.assert_allclose(imfilt.prewitt(x, axis, boundary=boundary),
                               ndi.prewitt(x, axis, mode=mode), rtol=0, atol=1e-12)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("operator", OPERATORS)
def test_axis_and_magnitude_equal_correlation_reference(operator, boundary):
    x = rng_image((31, 17), np.float64, seed=3)
    f = getattr(imfilt, operator)
    g0 = reference_axis(x, operator, 0, boundary)
    g1 = reference_axis(x, operator, 1, boundary)
    np.testing.assert_allclose(f(x, 0, boundary=boundary), g0, rtol=0, atol=1e-11)
    np.testing.assert_allclose(f(x, 1, boundary=boundary), g1, rtol=0, atol=1e-11)
    np.testing.assert_allclose(f(x, boundary=boundary), np.hypot(g0, g1), rtol=0, atol=1e-11)
    np.testing.assert_allclose(f(x, -2, boundary=boundary), g0, rtol=0, atol=1e-11)


@pytest.mark.parametrize("alias,canonical", [("symmetric", "symm"), ("nearest", "edge"),
                                             ("constant", "fill"), ("circular", "wrap")])
def test_boundary_aliases(alias, canonical):
    x = rng_image((9, 11), np.float32)
    np.testing.assert_array_equal(imfilt.sobel(x, boundary=alias),
                                  imfilt.sobel(x, boundary=canonical))


@pytest.mark.parametrize("dtype,out", [
    (np.uint8, np.float32), (np.uint16, np.float32), (np.int8, np.float32),
    (np.int16, np.float32), (np.float16, np.float32), (bool, np.float32),
    (np.float32, np.float32), (np.float64, np.float64), (np.int32, np.float64),
    (np.uint32, np.float64), (np.int64, np.float64), (np.uint64, np.float64),
])
@pytest.mark.parametrize("operator", OPERATORS)
def test_dtypes_follow_the_image_policy(operator, dtype, out):
    x = rng_image((19, 24), dtype, seed=5)
    f = getattr(imfilt, operator)
    for axis in (None, 0, 1):
        got = f(x, axis)
        assert got.dtype == out
        if axis is None:
            ref = np.hypot(reference_axis(x, operator, 0, "symm"),
                           reference_axis(x, operator, 1, "symm"))
        else:
            ref = reference_axis(x, operator, axis, "symm")
        assert_close(got, ref, out)


def test_small_integer_images_are_exact():
    """uint8/uint16 derivatives are integers below 2**24: float32 holds them exactly."""
    x = rng_image((40, 33), np.uint16, seed=9)
    for operator in OPERATORS:
        for axis in (0, 1):
            got = getattr(imfilt, operator)(x, axis)
            np.testing.assert_array_equal(got, reference_axis(x, operator, axis, "symm"))


def test_hand_computed_step():
    """A vertical step of height 10: Sobel along axis 1 gives 4 * 10 on both sides."""
    step = np.zeros((4, 6), dtype=np.uint8)
    step[:, 3:] = 10
    expected = np.zeros((4, 6), np.float32)
    expected[:, 2:4] = 40
    np.testing.assert_array_equal(imfilt.sobel(step, axis=1), expected)
    np.testing.assert_array_equal(imfilt.sobel(step, axis=0), np.zeros((4, 6), np.float32))
    np.testing.assert_array_equal(imfilt.sobel(step), expected)
    np.testing.assert_array_equal(imfilt.scharr(step, axis=1), expected * 4)   # 3+10+3
    np.testing.assert_array_equal(imfilt.prewitt(step, axis=1), expected * 3 / 4)


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (2, 2), (3, 2)])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_tiny_images(shape, boundary):
    x = rng_image(shape, np.float64, seed=2)
    for axis in (0, 1):
        np.testing.assert_allclose(imfilt.sobel(x, axis, boundary=boundary),
                                   ndi.sobel(x, axis, mode=NDI_MODE[boundary]),
                                   rtol=0, atol=1e-12)


@pytest.mark.parametrize("n1", [1023, 1024, 1025, 2048, 2100])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_wide_rows_processed_in_column_blocks(n1, boundary):
    """The kernel works in blocks of 1024 columns; block seams must not show."""
    x = rng_image((4, n1), np.float64, seed=n1)
    for operator in OPERATORS:
        mag, direction = imfilt.gradient(x, operator, boundary=boundary)
        g0 = reference_axis(x, operator, 0, boundary)
        g1 = reference_axis(x, operator, 1, boundary)
        np.testing.assert_allclose(mag, np.hypot(g0, g1), rtol=0, atol=1e-11)
        assert_same_angles(direction, g0, g1)
        np.testing.assert_allclose(getattr(imfilt, operator)(x, 1, boundary=boundary), g1,
                                   rtol=0, atol=1e-11)
    u8 = rng_image((3, n1), np.uint8, seed=1)
    np.testing.assert_array_equal(imfilt.sobel(u8, 1, boundary=boundary),
                                  reference_axis(u8, "sobel", 1, boundary))


def test_empty_image_gives_empty_result():
    for shape in [(0, 5), (4, 0)]:
        out = imfilt.sobel(np.zeros(shape, np.uint8))
        assert out.shape == shape and out.dtype == np.float32


def test_layout_byte_order_and_read_only_inputs():
    base = rng_image((30, 40), np.float64, seed=4)
    expected = imfilt.sobel(base)
    view = np.asfortranarray(base)
    strided = np.zeros((60, 80))[::2, ::2]
    strided[...] = base
    big_endian = base.astype(">f8")
    read_only = base.copy()
    read_only.flags.writeable = False
    for x in (view, strided, big_endian, read_only, base.tolist()):
        np.testing.assert_array_equal(imfilt.sobel(x), expected)
    u16 = rng_image((30, 40), np.uint16)
    for f in (imfilt.sobel, imfilt.laplace, imfilt.roberts, imfilt.canny):
        np.testing.assert_array_equal(f(u16.astype(">u2")), f(u16))


def test_input_is_not_modified():
    x = rng_image((12, 13), np.float32)
    before = x.copy()
    imfilt.sobel(x)
    imfilt.canny(x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_and_inf_propagate_like_ndimage(bad, dtype):
    """Zero centre taps are multiplied too: NaN * 0 = NaN, as scipy.ndimage does."""
    x = rng_image((15, 16), dtype)
    x[7, 8] = bad
    x[0, 3] = bad
    for operator in ("sobel", "prewitt"):
        for axis in (0, 1):
            got = getattr(imfilt, operator)(x, axis)
            ref = getattr(ndi, operator)(x.astype(np.float64), axis, mode="reflect")
            np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
            np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
        mag = getattr(imfilt, operator)(x)
        ref = np.hypot(getattr(ndi, operator)(x.astype(np.float64), 0),
                       getattr(ndi, operator)(x.astype(np.float64), 1))
        np.testing.assert_array_equal(np.isfinite(mag), np.isfinite(ref))
    ref = ndi.laplace(x.astype(np.float64))
    np.testing.assert_array_equal(np.isnan(imfilt.laplace(x)), np.isnan(ref))


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_laplace_equals_ndimage(boundary):
    x = rng_image((21, 26), np.float64, seed=8)
    np.testing.assert_allclose(imfilt.laplace(x, boundary=boundary),
                               ndi.laplace(x, mode=NDI_MODE[boundary]), rtol=0, atol=1e-12)
    k8 = np.array([[1, 1, 1], [1, -8, 1], [1, 1, 1]], dtype=np.float64)
    np.testing.assert_allclose(imfilt.laplace(x, 8, boundary=boundary),
                               ndi.correlate(x, k8, mode=NDI_MODE[boundary]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.uint16, np.int32])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_laplace_gives_ndimage_bits(dtype, boundary):
    """The 4-neighbour Laplacian computes each axis' second difference in
    float64, rounds it to the output type and adds the two there, as
    scipy.ndimage.laplace does: the same bits for float32 and float64 at any
    magnitude -- far from zero, NaN, and values near float32's limit where
    a float32 ``-2 * x`` would overflow -- and for integer images."""
    rng = np.random.default_rng(abs(hash((str(dtype), boundary))) % 2 ** 32)
    cases = []
    for shape in ((1, 1), (1, 7), (9, 1), (23, 31), (70, 1100)):
        if np.dtype(dtype).kind == "f":
            cases.append(rng.standard_normal(shape).astype(dtype))
            cases.append((1e5 + rng.standard_normal(shape)).astype(dtype))
            big = 3.3e38 if dtype == np.float32 else 8e307   # uniform needs high - low finite
            cases.append(rng.uniform(-big, big, shape).astype(dtype))
            holes = rng.standard_normal(shape).astype(dtype)
            holes[rng.random(shape) < 0.1] = np.nan
            cases.append(holes)
        else:
            info = np.iinfo(dtype)
            cases.append(rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype))
    # a fill value the output type holds exactly (it is rounded to it)
    fill = 0.75 if boundary == "fill" else 0
    for x in cases:
        got = imfilt.laplace(x, boundary=boundary, fillvalue=fill)
        with np.errstate(over="ignore", invalid="ignore"):
            if np.dtype(dtype).kind == "f":
                want = ndi.laplace(x, mode=NDI_MODE[boundary], cval=fill)
            else:
                want = ndi.laplace(x.astype(np.float64), mode=NDI_MODE[boundary],
                                   cval=fill).astype(got.dtype)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_laplace_has_the_opposite_sign_of_skimage():
    x = rng_image((20, 21), np.float64)
    np.testing.assert_allclose(imfilt.laplace(x), -skimage.filters.laplace(x), atol=1e-12)


def test_laplace_dtype():
    assert imfilt.laplace(np.zeros((5, 5), np.uint8)).dtype == np.float32
    assert imfilt.laplace(np.zeros((5, 5), np.int64)).dtype == np.float64


# ---------------------------------------------------------------------------
# scikit-image convention


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.uint16, np.int8, np.int16])
@pytest.mark.parametrize("operator", OPERATORS)
def test_skimage_convention_equals_skimage_filters(operator, dtype):
    x = rng_image((26, 22), dtype, seed=6)
    if np.dtype(dtype).kind == "f":
        x = x / 40
    ours = getattr(imfilt, operator)
    theirs = getattr(skimage.filters, operator)
    for axis in (None, 0, 1):
        got = ours(x, axis, convention="skimage")
        ref = theirs(x) if axis is None else theirs(x, axis=axis)
        tol = 1e-12 if got.dtype == np.float64 else 1e-6
        np.testing.assert_allclose(got, ref, rtol=0, atol=tol * max(1, np.abs(ref).max()))


@pytest.mark.parametrize("dtype", [np.float64, np.uint8, np.int16])
def test_roberts_matches_skimage(dtype):
    x = rng_image((18, 27), dtype, seed=7)
    ref = skimage.filters.roberts(x)
    got = imfilt.roberts(x, convention="skimage")
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6 * max(1, np.abs(ref).max()))
    if dtype == np.float64:
        np.testing.assert_allclose(imfilt.roberts(x), ref * np.sqrt(2), atol=1e-12)


def test_roberts_hand_computed():
    x = np.array([[0, 0, 0], [0, 3, 0], [0, 0, 0]], dtype=np.float64)
    # p = x[i+1, j+1] - x[i, j], q = x[i+1, j] - x[i, j+1]; symm boundary.
    expected = np.array([[3, 3, 0], [3, 3, 0], [0, 0, 0]], dtype=np.float64)
    np.testing.assert_allclose(imfilt.roberts(x), expected)


# ---------------------------------------------------------------------------
# OpenCV


def test_opencv_sobel_scharr_laplacian():
    cv2 = pytest.importorskip("cv2")
    x = skimage.data.camera()[100:260, 50:250]
    reflect101 = dict(borderType=cv2.BORDER_REFLECT_101)
    np.testing.assert_array_equal(imfilt.sobel(x, 1, boundary="reflect"),
                                  cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3, **reflect101))
    np.testing.assert_array_equal(imfilt.sobel(x, 0, boundary="symm"),
                                  cv2.Sobel(x, cv2.CV_32F, 0, 1, ksize=3,
                                            borderType=cv2.BORDER_REFLECT))
    np.testing.assert_array_equal(imfilt.scharr(x, 0, boundary="edge"),
                                  cv2.Scharr(x, cv2.CV_32F, 0, 1,
                                             borderType=cv2.BORDER_REPLICATE))
    np.testing.assert_array_equal(imfilt.laplace(x, boundary="reflect"),
                                  cv2.Laplacian(x, cv2.CV_32F, ksize=1, **reflect101))
    dx = cv2.Sobel(x, cv2.CV_32F, 1, 0, **reflect101)
    dy = cv2.Sobel(x, cv2.CV_32F, 0, 1, **reflect101)
    np.testing.assert_allclose(imfilt.sobel(x, boundary="reflect"), cv2.magnitude(dx, dy),
                               rtol=2e-6)


# ---------------------------------------------------------------------------
# gradient


@pytest.mark.parametrize("operator", OPERATORS)
def test_gradient_magnitude_and_direction(operator):
    x = rng_image((25, 30), np.float64, seed=11)
    mag, direction = imfilt.gradient(x, operator)
    g0 = reference_axis(x, operator, 0, "symm")
    g1 = reference_axis(x, operator, 1, "symm")
    np.testing.assert_allclose(mag, np.hypot(g0, g1), atol=1e-11)
    assert_same_angles(direction, g0, g1)
    np.testing.assert_array_equal(mag, getattr(imfilt, operator)(x))


def test_gradient_direction_convention():
    right = np.tile(np.arange(6.0), (6, 1))       # brighter to the right
    down = right.T.copy()                          # brighter downwards
    assert imfilt.gradient(right)[1][3, 3] == 0.0
    assert np.isclose(imfilt.gradient(down)[1][3, 3], np.pi / 2)
    assert np.isclose(imfilt.gradient(-right)[1][3, 3], np.pi)
    u8 = (right * 10).astype(np.uint8)
    mag, direction = imfilt.gradient(u8)
    assert mag.dtype == direction.dtype == np.float32


def test_gradient_skimage_convention_scales_magnitude_only():
    x = rng_image((12, 14), np.uint8)
    m1, d1 = imfilt.gradient(x)
    m2, d2 = imfilt.gradient(x, convention="skimage")
    np.testing.assert_allclose(m2, skimage.filters.sobel(x), atol=1e-6)
    np.testing.assert_allclose(d1, d2, atol=1e-6)


# ---------------------------------------------------------------------------
# threads


def _all_outputs(x, workers):
    return [imfilt.sobel(x, workers=workers), imfilt.sobel(x, 0, workers=workers),
            imfilt.scharr(x, 1, boundary="wrap", workers=workers),
            *imfilt.gradient(x, "prewitt", workers=workers),
            imfilt.laplace(x, 8, workers=workers), imfilt.laplace(x, workers=workers),
            imfilt.roberts(x, workers=workers),
            imfilt.canny(x, sigma=1.5, workers=workers)]


@pytest.mark.parametrize("shape", [(97, 101), (301, 257)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_results_identical_for_any_thread_count(shape, dtype):
    """97x101 runs serially by design (small); 301x257 engages the thread team."""
    x = rng_image(shape, dtype, seed=12)
    if np.dtype(dtype).kind == "f":
        x = x / 20
    one = _all_outputs(x, 1)
    for workers in (2, 3):
        for a, b in zip(one, _all_outputs(x, workers)):
            np.testing.assert_array_equal(a, b)


def test_edges_module_built_with_openmp_like_the_rest():
    """A serial build must fail loudly unless it was asked for (IMFILT_OPENMP=0)."""
    if os.environ.get("IMFILT_OPENMP", "auto").strip() != "0":
        assert _edges._openmp_compiled(), "imfilt._kernels._edges was built without OpenMP"
    assert _edges._openmp_compiled() == _build.openmp_compiled()
    assert imfilt.openmp_enabled() == (_edges._openmp_compiled() and _build.openmp_compiled())


# ---------------------------------------------------------------------------
# Canny


def _agreement(a, b):
    """Fraction of edge pixels (in either map) on which both agree."""
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def _grey(name):
    image = getattr(skimage.data, name)()
    if image.ndim == 3:
        from skimage.color import rgb2gray
        image = rgb2gray(image)
    return image


@pytest.mark.parametrize("name", ["camera", "coins", "astronaut", "moon", "text", "brick"])
@pytest.mark.parametrize("sigma,low,high,quantiles", [
    (1.0, None, None, False), (2.0, None, None, False), (1.0, 0.6, 0.9, True),
    (1.5, 20, 40, False),
])
def test_canny_agrees_with_skimage_on_sample_photographs(name, sigma, low, high, quantiles):
    image = _grey(name)
    if not quantiles and low is not None and image.dtype.kind == "f":
        low, high = low / 255, high / 255
    ours = imfilt.canny(image, sigma, low, high, use_quantiles=quantiles)
    theirs = skimage.feature.canny(image, sigma, low, high, use_quantiles=quantiles)
    assert ours.dtype == bool and ours.shape == image.shape
    assert theirs.sum() > 500
    assert _agreement(ours, theirs) >= 0.95
    # In practice the maps are identical; allow a handful of rounding ties.
    assert np.count_nonzero(ours != theirs) <= 10


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.int16])
def test_canny_dtypes_match_skimage(dtype):
    cam = skimage.data.camera()
    image = {np.uint16: cam.astype(np.uint16) * 257,
             np.float32: (cam / 255).astype(np.float32),
             np.int16: cam.astype(np.int16) * 128}[dtype]
    ours = imfilt.canny(image, 1.5)
    theirs = skimage.feature.canny(image, 1.5)
    assert _agreement(ours, theirs) >= 0.99


@pytest.mark.parametrize("name", ["camera", "coins"])
def test_canny_mask_matches_skimage(name):
    image = _grey(name)
    n0, n1 = image.shape
    rect = np.zeros(image.shape, bool)
    rect[n0 // 5: 4 * n0 // 5, n1 // 6: 2 * n1 // 3] = True
    ii, jj = np.mgrid[:n0, :n1]
    disc = (ii - n0 / 2) ** 2 + (jj - n1 / 3) ** 2 < (n0 / 3) ** 2
    for mask in (rect, disc, rect & ~disc):
        ours = imfilt.canny(image, 1.5, mask=mask)
        theirs = skimage.feature.canny(image, 1.5, mask=mask)
        assert theirs.sum() > 200
        assert _agreement(ours, theirs) >= 0.99
        assert not ours[~mask].any()
    np.testing.assert_array_equal(imfilt.canny(image, mask=np.ones(image.shape, bool)),
                                  skimage.feature.canny(image, mask=np.ones(image.shape, bool)))


def test_canny_mask_shape_error():
    with pytest.raises(ValueError, match=r"mask must have the image's shape \(6, 6\).*\(5, 6\)"):
        imfilt.canny(np.zeros((6, 6)), mask=np.ones((5, 6), bool))


def test_canny_hand_made_square():
    square = np.zeros((12, 12))
    square[3:9, 3:9] = 1.0
    edges = imfilt.canny(square)
    expected = np.zeros((12, 12), bool)
    expected[3, 3:9] = expected[8, 3:9] = expected[3:9, 3] = expected[3:9, 8] = True
    np.testing.assert_array_equal(edges, expected)
    np.testing.assert_array_equal(edges, skimage.feature.canny(square))


def test_canny_hysteresis_is_8_connected():
    """A weak diagonal line touching a strong segment survives; a separate one does not."""
    nms = np.zeros((8, 8))
    nms[1, 1] = 5.0          # strong
    nms[2, 2] = nms[3, 3] = 1.0  # weak, diagonally connected
    nms[6, 1] = 1.0          # weak, isolated
    out = np.zeros((8, 8), np.uint8)
    count = _edges.hysteresis(nms, 2.0, out, np.empty(64, np.intp))
    assert count == 3
    assert out[1, 1] and out[2, 2] and out[3, 3] and not out[6, 1]


def test_canny_flat_and_tiny_images():
    assert not imfilt.canny(np.zeros((20, 20))).any()
    assert not imfilt.canny(np.ones((2, 2))).any()
    assert imfilt.canny(np.zeros((0, 4))).shape == (0, 4)


def test_canny_sigma_zero_means_no_smoothing():
    image = _grey("camera")
    np.testing.assert_array_equal(imfilt.canny(image, 0.0), skimage.feature.canny(image, 0.0))


# ---------------------------------------------------------------------------
# errors name the parameter, echo the value and list the choices


def test_colour_image_is_a_clear_error():
    rgb = np.zeros((4, 5, 3), np.uint8)
    for f in (imfilt.sobel, imfilt.roberts, imfilt.laplace, imfilt.canny):
        with pytest.raises(ValueError, match=r"\(4, 5, 3\).*looks like a colour image.*channel_axis=-1"):
            f(rgb)
    with pytest.raises(ValueError, match="ndim=1"):
        imfilt.sobel(np.zeros(5))


@pytest.mark.parametrize("call,match", [
    (lambda x: imfilt.sobel(x, axis=2), r"axis=2 is not valid.*None.*0.*1"),
    (lambda x: imfilt.sobel(x, axis="x"), r"axis='x' is not valid"),
    (lambda x: imfilt.sobel(x, axis=True), r"axis=True is not valid"),
    (lambda x: imfilt.scharr(x, boundary="mirror"), r"boundary='mirror'.*'symm'.*Did you mean 'reflect'"),
    (lambda x: imfilt.prewitt(x, convention="opencv"), r"convention='opencv'.*'ndimage', 'skimage'"),
    (lambda x: imfilt.gradient(x, operator="sobol"), r"operator='sobol'.*'sobel', 'scharr', 'prewitt'"),
    (lambda x: imfilt.gradient(x, operator="Sobel"), r"Did you mean 'sobel'"),
    (lambda x: imfilt.laplace(x, neighbors=6), r"neighbors=6 is not valid.*4 or 8"),
    (lambda x: imfilt.laplace(x, neighbors=True), r"neighbors=True"),
    (lambda x: imfilt.laplace(x, [4]), r"neighbors=\[4\] is not valid.*4 or 8"),
    (lambda x: imfilt.sobel(x, workers=0), r"workers=0"),
    (lambda x: imfilt.canny(x, sigma=-1), r"sigma=-1 is not valid.*>= 0"),
    (lambda x: imfilt.canny(x, low_threshold=0.5, high_threshold=0.2), r"low_threshold=0.5.*high_threshold=0.2"),
    (lambda x: imfilt.canny(x, 1, 0.2, 1.5, use_quantiles=True), r"high_threshold=1.5.*between 0.0 and 1.0"),
    (lambda x: imfilt.canny(x, low_threshold=np.nan), r"low_threshold=nan"),
])
def test_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(np.zeros((6, 6)))


def test_type_errors():
    with pytest.raises(TypeError, match="real image"):
        imfilt.sobel(np.zeros((4, 4), complex))
    with pytest.raises(TypeError, match="dtype"):
        imfilt.sobel(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(TypeError, match="sigma=.big. is not valid; use a real number"):
        imfilt.canny(np.zeros((4, 4)), sigma="big")
    with pytest.raises(TypeError, match="use_quantiles"):
        imfilt.canny(np.zeros((4, 4)), use_quantiles="yes")


def test_public_names_are_exported():
    for name in ("sobel", "scharr", "prewitt", "roberts", "laplace", "gradient", "canny"):
        assert name in imfilt.__all__ and getattr(imfilt, name).__doc__
        assert "Examples" in getattr(imfilt, name).__doc__


# --- colour images: channel_axis -------------------------------------------------

@pytest.mark.parametrize("name", ["sobel", "scharr", "prewitt", "roberts", "laplace"])
@pytest.mark.parametrize("channel_axis", [-1, 0, 2])
def test_channel_axis_filters_each_channel(name, channel_axis):
    rng = np.random.default_rng(21)
    rgb = rng.random((3, 23, 19)) if channel_axis == 0 else rng.random((23, 19, 3))
    func = getattr(imfilt, name)
    got = func(rgb, channel_axis=channel_axis)
    assert got.shape == rgb.shape
    planes = np.moveaxis(rgb, channel_axis, 0)
    expected = np.stack([func(p) for p in planes], axis=channel_axis % 3)
    np.testing.assert_array_equal(got, expected)


def test_channel_axis_gradient_returns_stacked_pair():
    rgb = np.random.default_rng(22).random((16, 17, 3)).astype(np.float32)
    mag, ang = imfilt.gradient(rgb, channel_axis=-1)
    assert mag.shape == ang.shape == rgb.shape and mag.dtype == np.float32
    m1, a1 = imfilt.gradient(rgb[..., 1])
    np.testing.assert_array_equal(mag[..., 1], m1)
    np.testing.assert_array_equal(ang[..., 1], a1)


@pytest.mark.parametrize("bad", [3, -4, 1.0, "last"])
def test_channel_axis_errors(bad):
    with pytest.raises(ValueError, match="channel_axis="):
        imfilt.sobel(np.ones((4, 5, 3)), channel_axis=bad)
    with pytest.raises(ValueError, match="3-D image"):
        imfilt.sobel(np.ones((4, 5)), channel_axis=-1)


def test_colour_without_channel_axis_suggests_it():
    with pytest.raises(ValueError, match="channel_axis="):
        imfilt.sobel(np.ones((4, 5, 3)))


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32, np.float64, bool])
def test_every_edge_filter_takes_an_empty_image(dtype):
    # An empty image gives an empty result of the dtype a non-empty one gets
    # (boundaries that extend the image have nothing to extend, but nothing
    # is read either), as scipy.ndimage's filters do.
    for name in ("sobel", "scharr", "prewitt", "roberts", "laplace"):
        func = getattr(imfilt, name)
        got = func(np.zeros((0, 4), dtype))
        assert got.shape == (0, 4) and got.dtype == func(np.zeros((3, 4), dtype)).dtype, name


def test_canny_refuses_strings_and_huge_sigmas():
    x = np.zeros((8, 8))
    with pytest.raises(TypeError, match="sigma='1' is not valid; use a real number"):
        imfilt.canny(x, sigma="1")
    with pytest.raises(TypeError, match="low_threshold='0.1' is not valid; use a real number"):
        imfilt.canny(x, low_threshold="0.1")
    with pytest.raises(TypeError, match="sigma=True is not valid; use a real number"):
        imfilt.canny(x, sigma=True)
    with pytest.raises(TypeError, match="high_threshold=True is not valid"):
        imfilt.canny(x, high_threshold=True)
    with pytest.raises(ValueError, match=r"low_threshold=0.5 is above high_threshold \(default "
                                         r"0.2\)"):
        imfilt.canny(x, low_threshold=0.5)
    # A sigma too small for a second tap is one tap (sigma**2 underflows to 0)
    for tiny in (1e-300, 1e-200, 5e-324):
        assert np.array_equal(imfilt.canny(x + np.eye(8), sigma=tiny),
                              imfilt.canny(x + np.eye(8), sigma=0.0))
    # 0-d arrays are numbers as everywhere else
    assert np.array_equal(imfilt.canny(x, sigma=np.array(1.5)), imfilt.canny(x, sigma=1.5))
    with pytest.raises(ValueError, match=r"sigma=1000000000.0 gives a Gaussian of 8000000001 taps"):
        imfilt.canny(x, sigma=1e9)
    assert imfilt.canny(x, sigma=np.float32(1.5)).shape == x.shape


@pytest.mark.parametrize("name", ["sobel", "scharr", "prewitt"])
def test_values_near_the_float32_maximum_as_ndimage(name):
    # scipy.ndimage takes the derivative first, so a constant image near the
    # float32 maximum has derivative 0 along both axes; imfilt's smoothing
    # is scaled down by a power of two (exactly undone), so it never
    # overflows where ndimage does not.  (Scharr: the same derivative-first
    # order with weights 3, 10, 3.)
    x = np.full((6, 7), 1e38, np.float32)
    x[:, 4:] = 5e37
    for axis in (0, 1):
        if name == "scharr":
            d = ndi.correlate1d(x, [-1.0, 0.0, 1.0], axis=axis, mode="reflect")
            want = ndi.correlate1d(d, [3.0, 10.0, 3.0], axis=1 - axis, mode="reflect")
        else:
            want = getattr(ndi, name)(x, axis)
        got = getattr(imfilt, name)(x, axis)
        assert np.isfinite(got).all() == np.isfinite(want).all()
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sobel", "prewitt"])
def test_derivatives_difference_before_smoothing(dtype, name):
    """Both axes difference neighbours first and smooth second, as
    scipy.ndimage does: on a float image far from zero the differences are
    exact and small, so the result equals ndimage's to its last bits (where
    smoothing first would round sums of the large values: 3e-3 relative on
    float32 at 1e5), and a constant image near the dtype's limit has
    derivative 0, not NaN."""
    rng = np.random.default_rng(19)
    x = (1e5 + rng.standard_normal((64, 70))).astype(dtype)
    ref = getattr(ndi, name)
    for axis in (0, 1):
        got = getattr(imfilt, name)(x, axis=axis)
        want = ref(x, axis=axis, mode="reflect")
        np.testing.assert_allclose(got, want, rtol=0, atol=4 * np.finfo(dtype).eps * np.abs(want).max())
    top = np.finfo(dtype).max
    flat = np.full((5, 6), top * 0.9, dtype=dtype)
    for f in (imfilt.sobel, imfilt.prewitt, imfilt.scharr):
        for axis in (0, 1, None):
            assert np.array_equal(f(flat, axis=axis), np.zeros(flat.shape)), (f.__name__, axis)
        assert np.array_equal(f(flat, convention="skimage"), np.zeros(flat.shape))
    assert all(np.array_equal(g, np.zeros(flat.shape)) for g in imfilt.gradient(flat)[:1])
