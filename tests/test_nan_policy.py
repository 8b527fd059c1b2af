"""nan_policy='propagate' | 'omit' | 'raise' on convolve/correlate."""

import numpy as np
import pytest

import imfilt
from imfilt._nanpolicy import ZERO_SUM_RTOL


def _holey(rng, shape, dtype=np.float64, frac=0.1):
    x = rng.standard_normal(shape).astype(dtype)
    x[rng.random(shape) < frac] = np.nan
    x[3:9, 4:10] = np.nan                                # a hole larger than small kernels
    return x


def _omit_definition(x, w, mode, boundary, fillvalue=0.0, flip=True):
    """sum_finite(w*x) * sum(w) / sum_finite(w), window by window, in float64."""
    fn = imfilt.convolve if flip else imfilt.correlate
    finite = np.isfinite(x)
    x0 = np.where(finite, x, 0.0)
    kw = dict(mode=mode, boundary=boundary, method="direct", dtype=np.float64)
    num = fn(x0, w, fillvalue=fillvalue, **kw)
    den = fn(finite.astype(float), w, fillvalue=1.0, **kw)
    cnt = fn(finite.astype(float), (w != 0).astype(float), fillvalue=1.0, **kw)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num * w.sum() / den
    out[cnt == 0] = np.nan
    return out


def test_default_is_propagate_and_unchanged(rng):
    x = _holey(rng, (20, 20))
    w = rng.random((3, 3))
    np.testing.assert_array_equal(imfilt.convolve(x, w, "same"),
                                  imfilt.convolve(x, w, "same", nan_policy="propagate"))
    assert np.isnan(imfilt.convolve(x, w, "same")).sum() > np.isnan(x).sum()


@pytest.mark.filterwarnings("ignore:nan_treatment='interpolate', however")
@pytest.mark.parametrize("boundary, astropy_boundary", [("fill", "fill"), ("wrap", "wrap"),
                                                        ("edge", "extend")])
@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (7, 9)])
def test_omit_equals_astropy_interpolate_for_normalised_kernels(boundary, astropy_boundary,
                                                                shape, rng):
    astropy_conv = pytest.importorskip("astropy.convolution")
    x = _holey(rng, (40, 47))
    w = rng.random(shape)
    w /= w.sum()
    ref = astropy_conv.convolve(x, w, boundary=astropy_boundary, fill_value=0.0,
                                nan_treatment="interpolate", normalize_kernel=False)
    got = imfilt.convolve(x, w, "same", boundary, nan_policy="omit")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12, equal_nan=True)
    # astropy's own normalisation (normalize_kernel=True) of an unnormalised kernel
    ref2 = astropy_conv.convolve(x, w * 7.0, boundary=astropy_boundary,
                                 nan_treatment="interpolate")
    np.testing.assert_allclose(got, ref2, rtol=1e-12, atol=1e-12, equal_nan=True)


@pytest.mark.filterwarnings("ignore:nan_treatment='interpolate', however")
def test_omit_unnormalised_kernel_keeps_its_gain_like_astropy(rng):
    astropy_conv = pytest.importorskip("astropy.convolution")
    x = _holey(rng, (30, 30))
    w = rng.random((5, 5)) * 3.0                          # sum(w) != 1
    ref = astropy_conv.convolve(x, w, boundary="wrap", nan_treatment="interpolate",
                                normalize_kernel=False)
    got = imfilt.convolve(x, w, "same", "wrap", nan_policy="omit")
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm", "reflect", "edge"])
@pytest.mark.parametrize("flip", [True, False])
def test_omit_matches_its_definition_even_kernels(mode, boundary, flip, rng):
    x = _holey(rng, (21, 26))
    w = rng.random((4, 6)) - 0.2                          # mixed signs, sum != 0
    fn = imfilt.convolve if flip else imfilt.correlate
    got = fn(x, w, mode, boundary, fillvalue=0.5, nan_policy="omit", method="direct")
    ref = _omit_definition(x, w, mode, boundary, fillvalue=0.5, flip=flip)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    ok = np.isfinite(ref)
    np.testing.assert_allclose(got[ok], ref[ok], rtol=1e-9, atol=1e-9)


def test_omit_tiny_cases_by_hand():
    x = np.array([[1.0, np.nan, 3.0]])
    # box of 3: mean of the finite neighbours
    np.testing.assert_allclose(imfilt.convolve(x, [[1, 1, 1.0]], "same", nan_policy="omit"),
                               [[0.5 * 3, 4.0 / 2 * 3, 3.0 / 2 * 3]])
    # a hole wider than the kernel: no finite weight left -> NaN
    y = np.array([[1.0, np.nan, np.nan, np.nan, 5.0]])
    got = imfilt.convolve(y, [[1, 1, 1.0]], "same", nan_policy="omit")
    assert np.isnan(got[0, 2]) and np.isfinite(got[0, [0, 1, 3, 4]]).all()
    # a NaN under a zero weight is omitted (propagate gives NaN there)
    z = np.array([[np.nan, 2.0, 4.0]])
    w = [[0.0, 1.0, 1.0]]
    assert np.isnan(imfilt.correlate(z, w, "valid")[0, 0])
    assert imfilt.correlate(z, w, "valid", nan_policy="omit")[0, 0] == 6.0


def test_omit_is_exactly_propagate_where_windows_are_clean(rng):
    x = rng.standard_normal((50, 50)).astype(np.float32)
    w = rng.random((5, 5))
    clean = imfilt.convolve(x, w, "same", "symm", method="direct")
    x[25, 25] = np.nan
    got = imfilt.convolve(x, w, "same", "symm", method="direct", nan_policy="omit")
    far = np.ones(x.shape, bool)
    far[23:28, 23:28] = False
    np.testing.assert_array_equal(got[far], clean[far])
    assert np.isfinite(got).all()


def test_omit_treats_inf_as_missing(rng):
    x = rng.standard_normal((10, 10))
    y = x.copy()
    x[4, 4], y[4, 4] = np.inf, np.nan
    w = rng.random((3, 3))
    np.testing.assert_array_equal(imfilt.convolve(x, w, "same", nan_policy="omit"),
                                  imfilt.convolve(y, w, "same", nan_policy="omit"))


def test_omit_keeps_float32_and_works_with_threads_stride_dilation(rng):
    x = _holey(rng, (97, 101), np.float32)
    w = rng.random((4, 4))
    one = imfilt.correlate(x, w, "same", "symm", nan_policy="omit", workers=1)
    two = imfilt.correlate(x, w, "same", "symm", nan_policy="omit", workers=2)
    assert one.dtype == np.float32
    np.testing.assert_array_equal(one, two)
    strided = imfilt.correlate(x, w, "same", "symm", nan_policy="omit", stride=2, dilation=2,
                               method="direct")
    ref = _omit_definition(x.astype(np.float64), w, "same", "symm", flip=False)
    ref_sd = imfilt.correlate(x, w, "same", "symm", nan_policy="omit", dilation=2,
                              method="direct")[::2, ::2]
    np.testing.assert_array_equal(strided, ref_sd)
    np.testing.assert_array_equal(np.isnan(one), np.isnan(ref))
    ok = np.isfinite(ref)
    np.testing.assert_allclose(one[ok], ref[ok], rtol=2e-5, atol=2e-5)


def test_omit_nan_fill_value_means_outside_is_missing(rng):
    x = rng.standard_normal((8, 8))
    w = np.ones((3, 3))
    got = imfilt.convolve(x, w, "same", "fill", fillvalue=np.nan, nan_policy="omit")
    assert np.isfinite(got).all()
    # a corner window sees 4 finite samples of 9: their mean times sum(w)
    np.testing.assert_allclose(got[0, 0], x[:2, :2].mean() * 9)


def _zero_sum_reference(x, w):
    """Omit with a zero-sum kernel: ``sum|w| / sum_finite|w|`` rescales ('same', 'symm')."""
    finite = np.isfinite(x)
    num = imfilt.correlate(np.where(finite, x, 0), w, "same", "symm", method="direct")
    den = imfilt.correlate(finite.astype(float), np.abs(w), "same", "symm", method="direct")
    hit = imfilt.correlate((~finite).astype(float), (w != 0).astype(float), "same", "symm")
    return np.where(hit > 0, num * np.abs(w).sum() / den, num)


def test_zero_sum_kernels_rescale_by_absolute_weight(rng):
    """Derivatives sum to zero; astropy raises, imfilt uses sum|w| / sum_finite|w|."""
    x = rng.standard_normal((12, 12))
    x[5, 5] = np.nan
    sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1.0]])
    got = imfilt.correlate(x, sobel, "same", "symm", nan_policy="omit", method="direct")
    np.testing.assert_allclose(got, _zero_sum_reference(x, sobel), rtol=1e-12)
    assert np.isfinite(got).all()
    assert abs(sobel.sum()) <= ZERO_SUM_RTOL * np.abs(sobel).sum()
    astropy_conv = pytest.importorskip("astropy.convolution")
    with pytest.raises(ValueError, match="sum close to zero"):
        astropy_conv.convolve(x, sobel, nan_treatment="interpolate")


def test_omit_on_integer_images_is_propagate(rng):
    x = rng.integers(0, 255, (16, 16), dtype=np.uint8)
    w = rng.random((3, 3))
    np.testing.assert_array_equal(imfilt.convolve(x, w, nan_policy="omit"), imfilt.convolve(x, w))


def test_omit_with_per_slice_kernels_and_integer_output(rng):
    x = _holey(rng, (2, 15, 16))
    w = rng.random((2, 3, 3))
    got = imfilt.convolve(x, w, "same", nan_policy="omit", method="direct", axes=(1, 2))
    for b in range(2):
        np.testing.assert_array_equal(
            got[b], imfilt.convolve(x[b], w[b], "same", nan_policy="omit", method="direct"))
    as_int = imfilt.convolve(x * 50, w[0], "same", nan_policy="omit", dtype=np.int16)
    assert as_int.dtype == np.int16


def test_omit_rejects_non_finite_kernels():
    with pytest.raises(ValueError, match="kernel holds NaN or inf"):
        imfilt.convolve([[1.0, np.nan]], [[np.inf, 1.0]], nan_policy="omit")


def test_raise_names_the_problem(rng):
    x = rng.standard_normal((6, 6))
    imfilt.convolve(x, np.ones((3, 3)), nan_policy="raise")   # finite: fine
    x[1, 1], x[2, 2] = np.nan, np.inf
    with pytest.raises(ValueError, match=r"image holds 2 NaN or inf values and nan_policy='raise'"):
        imfilt.convolve(x, np.ones((3, 3)), nan_policy="raise")
    with pytest.raises(ValueError, match="kernel holds 1 NaN or inf value"):
        imfilt.correlate(np.ones((4, 4)), [[1.0, np.nan]], nan_policy="raise")
    with pytest.raises(ValueError, match="fillvalue=nan is not finite"):
        imfilt.correlate(np.ones((4, 4)), np.ones((2, 2)), fillvalue=np.nan, nan_policy="raise")


def test_unknown_policy_lists_the_choices():
    with pytest.raises(ValueError, match="nan_policy='skip' is not valid; choose one of "
                                         "'propagate', 'omit', 'raise'"):
        imfilt.convolve(np.ones((3, 3)), np.ones((2, 2)), nan_policy="skip")


# --------------------------------------------------------------------------
# N-D convolution (the kernel spans every axis of the image)


def _omit_nd_reference(x, w, mode, boundary, fillvalue, flip):
    """The omit definition on every axis: ``numpy.pad`` by ``k - 1``, then
    'valid' correlations by ``scipy.signal.correlate`` (direct) of the
    finite samples, the finite indicator and the tap indicator, cropped as
    ``scipy.signal`` crops 'same' and 'valid'."""
    import scipy.signal as ss
    from imfilt._modes import NUMPY_PAD_MODE
    wc = w[(slice(None, None, -1),) * w.ndim] if flip else w
    pads = [(k - 1, k - 1) for k in w.shape]
    extra = {"constant_values": fillvalue} if boundary == "fill" else {}
    xp = np.pad(x, pads, mode=NUMPY_PAD_MODE[boundary], **extra)
    fin = np.isfinite(xp)
    num = ss.correlate(np.where(fin, xp, 0.0), wc, "valid", method="direct")
    den = ss.correlate(fin.astype(float), wc, "valid", method="direct")
    cnt = ss.correlate(fin.astype(float), (wc != 0).astype(float), "valid", method="direct")
    with np.errstate(invalid="ignore", divide="ignore"):
        full = num * w.sum() / den
    full[cnt < 0.5] = np.nan
    if mode == "full":
        return full
    if mode == "same":
        crop = [slice((k - 1) // 2, (k - 1) // 2 + n) for n, k in zip(x.shape, w.shape)]
    else:
        crop = [slice(k - 1, n) for n, k in zip(x.shape, w.shape)]
    return full[tuple(crop)]


@pytest.mark.parametrize("ndim", [3, 4])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm", "reflect", "edge"])
@pytest.mark.parametrize("flip", [True, False])
def test_omit_nd_matches_its_definition(ndim, mode, boundary, flip, rng):
    shape = (7, 8, 9, 6)[:ndim]
    x = rng.standard_normal(shape)
    x[rng.random(shape) < 0.15] = np.nan
    x[(slice(1, 4),) * ndim] = np.nan                     # a hole larger than the kernel
    w = rng.random((3, 4, 2, 3)[:ndim]) - 0.2              # mixed signs, sum != 0
    fn = imfilt.convolve if flip else imfilt.correlate
    got = fn(x, w, mode, boundary, fillvalue=0.5, nan_policy="omit", method="direct")
    ref = _omit_nd_reference(x, w, mode, boundary, 0.5, flip)
    assert got.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    ok = np.isfinite(ref)
    np.testing.assert_allclose(got[ok], ref[ok], rtol=1e-9, atol=1e-9)


def test_omit_nd_is_propagate_where_windows_are_clean_and_any_method(rng):
    x = rng.standard_normal((12, 13, 14)).astype(np.float32)
    w = rng.random((3, 3, 3)).astype(np.float32)
    clean = imfilt.convolve(x, w, "same", "symm", method="direct")
    x[6, 6, 6] = np.nan
    for method in ("direct", "fft", "auto"):
        got = imfilt.convolve(x, w, "same", "symm", method=method, nan_policy="omit",
                              workers=2)
        assert got.dtype == np.float32 and np.isfinite(got).all()
        far = np.ones(x.shape, bool)
        far[5:8, 5:8, 5:8] = False
        if method == "direct":
            np.testing.assert_array_equal(got[far], clean[far])
        np.testing.assert_allclose(got, imfilt.convolve(x, w, "same", "symm", method="direct",
                                                        nan_policy="omit"), rtol=1e-4, atol=1e-5)


def test_omit_nd_zero_sum_kernel_and_nan_fill(rng):
    x = rng.standard_normal((9, 10, 11))
    x[4, 5, 5] = np.nan
    w = np.zeros((3, 3, 3))
    w[0, 1, 1], w[2, 1, 1] = 1.0, -1.0                   # a derivative: sums to zero
    got = imfilt.correlate(x, w, "same", "symm", nan_policy="omit", method="direct")
    np.testing.assert_allclose(got, _zero_sum_reference(x, w), rtol=1e-12)
    # A NaN fill value: the outside is missing too.
    y = rng.standard_normal((6, 7, 8))
    box = np.ones((3, 3, 3))
    got = imfilt.convolve(y, box, "same", "fill", fillvalue=np.nan, nan_policy="omit")
    ref = _omit_nd_reference(y, box, "same", "fill", np.nan, True)
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_omit_nd_valid_swap_with_larger_kernel(rng):
    x = rng.standard_normal((3, 4, 3))
    x[1, 2, 1] = np.nan
    w = rng.random((5, 6, 4)) + 0.1
    got = imfilt.correlate(x, w, "valid", nan_policy="omit", method="direct")
    # SciPy swaps the inputs (the kernel becomes the image); an output's
    # window is the part of the kernel under the image, so the rule
    # sum_finite(w*x) * sum(w) / sum_finite(w) sums that part.
    import scipy.signal as ss
    fin = np.isfinite(x)
    num = ss.correlate(np.where(fin, x, 0), w, "valid", method="direct")
    den = ss.correlate(fin.astype(float), w, "valid", method="direct")
    ref = num * ss.correlate(np.ones(x.shape), w, "valid", method="direct") / den
    assert got.shape == ref.shape == (3, 3, 2)
    np.testing.assert_allclose(got, ref, rtol=1e-10)


def test_raise_ignores_a_fill_value_that_valid_never_uses():
    x, k = np.arange(16.0).reshape(4, 4), np.ones((2, 2))
    got = imfilt.convolve(x, k, "valid", fillvalue=np.nan, nan_policy="raise")
    np.testing.assert_array_equal(got, imfilt.convolve(x, k, "valid"))
    with pytest.raises(ValueError, match="fillvalue=nan is not finite"):
        imfilt.convolve(x, k, "same", fillvalue=np.nan, nan_policy="raise")


def test_omit_with_an_all_zero_kernel_is_zero_on_every_path():
    """An all-zero kernel meets no non-finite sample with a non-zero weight:
    'omit' gives 0 everywhere (a NaN under a zero weight is omitted), on the
    real fast path and on the general one (complex values, a kernel per
    slice, the 'valid' swap) alike."""
    x = np.array([[1.0, np.nan, 3.0, np.inf], [2.0, 5.0, np.nan, 1.0]])
    cases = [(x, np.zeros((1, 1)), {}), (x, np.zeros((2, 3)), {}),
             (x + 0j, np.zeros((2, 2)), {}),
             (np.stack([x, x]), np.zeros((2, 1, 2)), {"axes": (1, 2)}),
             (x[:, :2], np.zeros((3, 5)), {"mode": "valid"})]
    for image, kernel, kw in cases:
        kw.setdefault("mode", "same")
        got = imfilt.correlate(image, kernel, nan_policy="omit", **kw)
        np.testing.assert_array_equal(got, np.zeros(got.shape), err_msg=str((kernel.shape, kw)))
    # ... and a window whose non-zero weights all meet NaN is NaN on both paths
    for image in (x, x + 0j):
        got = imfilt.correlate(image, [[0.0, 1.0]], "same", nan_policy="omit")
        assert np.isnan(got[0, 0]) and got[0, 1] == 3


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
def test_omit_finite_weights_summing_to_zero_give_nan(dtype, method):
    """``[1, -1, 1]`` over ``[5, 2, nan]``: the weights on finite samples sum
    to zero, so no rescaling exists -- NaN, not the +-inf of dividing by 0
    (whose sign was rounding noise).  Other windows keep the rule."""
    k = np.array([1.0, -1.0, 1.0])
    for x in ([5.0, 2.0, np.nan], [1.0, 1.0, np.nan], [0.1 + 0.2, 0.3, np.nan]):
        x = np.array(x, dtype=dtype)
        got = imfilt.correlate(x, k, "same", nan_policy="omit", method=method)
        assert np.isnan(got[1])
        # the ends: [0, x0, x1] is clean; [x1, nan, 0] rescales by sum(w) / 2
        np.testing.assert_allclose(got[0], -x[0] + x[1], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(got[2], x[1] / 2, rtol=1e-6, atol=1e-6)


def test_omit_fft_cancelling_weights_give_nan_as_direct():
    """The FFT sums the finite weights with an error of a few eps * sum|w|:
    where direct finds them cancelling exactly, the FFT must not rescale by
    that noise (it gave -1.4e16)."""
    k = np.ones((15, 15))
    k[0, 0] = -1
    x = np.full((60, 60), np.nan)
    x[20, 20], x[20, 21] = 1.0, 5.0
    for dtype in (np.float64, np.float32):
        fft = imfilt.correlate(x.astype(dtype), k, "same", method="fft", nan_policy="omit")
        direct = imfilt.correlate(x.astype(dtype), k, "same", method="direct", nan_policy="omit")
        np.testing.assert_array_equal(np.isnan(fft), np.isnan(direct))
        np.testing.assert_allclose(fft, direct, rtol=1e-4 if dtype == np.float32 else 1e-9,
                                   atol=1e-3 if dtype == np.float32 else 1e-9)
    # a kernel of one sign never cancels: a far corner weight still rescales
    g = np.exp(-np.add.outer(np.arange(-7, 8) ** 2, np.arange(-7, 8) ** 2) / 8.0)
    y = np.full((30, 30), np.nan)
    y[0, 0] = 2.0
    got = imfilt.correlate(y, g, "same", method="direct", nan_policy="omit")
    assert got[7, 7] == pytest.approx(2.0 * g.sum(), rel=1e-12)


@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_omit_complex_correlation_rescales_by_the_conjugated_sum(method, ndim):
    """correlate conjugates a complex kernel; 'omit' rescales by the sum of
    the weights it applied, conj(sum(w)): a constant image with a hole gives
    back the 'propagate' value of the image without it (it gave the
    conjugate)."""
    rng = np.random.default_rng(ndim)
    shape = (9,) * ndim
    k = (rng.standard_normal((3,) * ndim) + 1j * rng.standard_normal((3,) * ndim))
    x = np.full(shape, 2.0 - 1.0j)
    holey = x.copy()
    holey[(4,) * ndim] = np.nan
    want = imfilt.correlate(x, k, "same", boundary="wrap", method=method)
    got = imfilt.correlate(holey, k, "same", boundary="wrap", method=method, nan_policy="omit")
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    # a real image, complex kernel
    got = imfilt.correlate(holey.real.copy(), k, "same", boundary="wrap", method=method,
                           nan_policy="omit")
    want = imfilt.correlate(x.real.copy(), k, "same", boundary="wrap", method=method)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("flip", [True, False])
def test_omit_valid_swap_rescales_by_the_kernel_part_under_the_image(flip):
    """'valid' with the kernel the larger input: each output's window is the
    part of the kernel under the image, so a constant image with a hole
    gives back its 'propagate' value (the whole kernel's sum doubled it),
    a NaN under a dilation hole changes nothing, and complex correlation
    conjugates as the swap does."""
    f = imfilt.convolve if flip else imfilt.correlate
    k = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(f([1.0, np.nan], k, "valid", nan_policy="omit"),
                               f([1.0, 1.0], k, "valid"))
    x = np.array([np.inf, 1.0, 2.0])
    fin = np.isfinite(x)
    num = f(np.where(fin, x, 0), k, "valid", dilation=2)
    ref = num * f(np.ones(3), k, "valid", dilation=2) / f(fin * 1.0, k, "valid", dilation=2)
    got = f(x, k, "valid", dilation=2, nan_policy="omit")
    np.testing.assert_allclose(got, ref)
    assert got[1] == num[1]     # the inf only under a dilation hole: no rescaling
    kc = np.array([[1.0, 2j, 3.0]])
    np.testing.assert_allclose(f([[1.0, np.nan]], kc, "valid", nan_policy="omit"),
                               f([[1.0, 1.0]], kc, "valid"))
    # 2-D and 3-D: constant images with holes against the propagate value
    rng = np.random.default_rng(4)
    for shape, kshape in (((3, 4), (5, 6)), ((2, 3, 2), (4, 4, 3))):
        w = rng.standard_normal(kshape)
        x = np.full(shape, 1.5)
        holey = x.copy()
        holey.flat[1] = np.nan
        np.testing.assert_allclose(f(holey, w, "valid", nan_policy="omit"), f(x, w, "valid"),
                                   rtol=1e-10, atol=1e-12)
