"""N-D convolution and correlation with ``scipy.signal``'s meaning.

Rule: with ``axes=None`` and ``kernel.ndim == image.ndim >= 3`` the call is
a true N-D convolution/correlation over every axis, equal to
``scipy.signal.convolve``/``correlate(method='direct')`` in every mode
('same' output ``i`` is full output ``i + (k - 1) // 2`` per axis; 'valid'
swaps the inputs when the kernel is the larger in every axis, and a swapped
correlation is reversed and conjugated).  Every boundary applies on every
axis; the definition is ``numpy.pad`` followed by a 'valid' correlation.
Per-slice kernels need an explicit ``axes=`` or ``channel_axis=``.
"""

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as ss
from hypothesis import given, settings
from hypothesis import strategies as st

import imfilt
from imfilt._modes import NUMPY_PAD_MODE

METHODS = ["direct", "fft", "auto"]


def _case(rng, ndim, complex_x=False, complex_k=False, max_n=7, max_k=5):
    xs = tuple(int(v) for v in rng.integers(1, max_n, ndim))
    ks = tuple(int(v) for v in rng.integers(1, max_k, ndim))
    x = rng.standard_normal(xs)
    k = rng.standard_normal(ks)
    if complex_x:
        x = x + 1j * rng.standard_normal(xs)
    if complex_k:
        k = k + 1j * rng.standard_normal(ks)
    return x, k


def _check(ours, ref, x, k, mode, method, atol=1e-9):
    try:
        want = ref(x, k, mode, method="direct")
    except ValueError:
        with pytest.raises(ValueError):
            ours(x, k, mode, method=method)
        return
    got = ours(x, k, mode, method=method)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=atol, rtol=1e-9)


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("method", METHODS)
def test_parity_with_scipy_signal(ndim, seed, mode, method):
    rng = np.random.default_rng(1000 * ndim + seed)
    x, k = _case(rng, ndim, complex_x=seed % 3 == 1, complex_k=seed % 3 == 2)
    _check(imfilt.convolve, ss.convolve, x, k, mode, method)
    if ndim == 2:
        # 2-D keeps correlate2d's rules (even kernels in 'same' differ from
        # scipy.signal.correlate there), checked in test_convolution.
        return
    _check(imfilt.correlate, ss.correlate, x, k, mode, method)


@pytest.mark.parametrize("seed", range(4))
def test_valid_swap_complex_3d(seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((2, 3, 2)) + 1j * rng.standard_normal((2, 3, 2))
    b = rng.standard_normal((4, 3, 5)) + 1j * rng.standard_normal((4, 3, 5))
    for method in METHODS:
        np.testing.assert_allclose(imfilt.correlate(a, b, "valid", method=method),
                                   ss.correlate(a, b, "valid", method="direct"), atol=1e-10)
        np.testing.assert_allclose(imfilt.convolve(a, b, "valid", method=method),
                                   ss.convolve(a, b, "valid", method="direct"), atol=1e-10)


def _pad_reference(x, k, mode, boundary, fillvalue, flip):
    w = k[(slice(None, None, -1),) * k.ndim] if flip else np.conj(k)
    pads = []
    for n in k.shape:
        if mode == "full":
            pads.append((n - 1, n - 1))
        elif mode == "same":
            pads.append((n // 2, n - 1 - n // 2))
        else:
            pads.append((0, 0))
    extra = {"constant_values": fillvalue} if boundary == "fill" else {}
    xp = np.pad(x, pads, mode=NUMPY_PAD_MODE[boundary], **extra)
    return ss.correlate(xp, np.conj(w), "valid", method="direct")


@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm", "reflect", "edge"])
@pytest.mark.parametrize("ndim", [3, 4])
@pytest.mark.parametrize("seed", range(4))
def test_boundaries_are_numpy_pad(boundary, ndim, seed):
    rng = np.random.default_rng(seed + 10 * ndim)
    # kernels up to twice the image: the padding folds repeatedly
    x, k = _case(rng, ndim, max_n=5, max_k=9)
    for mode in ("full", "same"):
        for flip, func in ((True, imfilt.convolve), (False, imfilt.correlate)):
            want = _pad_reference(x, k, mode, boundary, 1.5, flip)
            for method in ("direct", "fft"):
                got = func(x, k, mode, boundary, 1.5, method=method)
                np.testing.assert_allclose(got, want, atol=1e-9, rtol=1e-9,
                                           err_msg=f"{func.__name__} {mode} {method}")


@pytest.mark.parametrize("boundary", ["fill", "symm", "reflect", "edge", "wrap"])
def test_separable_exact_kernel(boundary):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 7, 8))
    k = np.multiply.outer(np.multiply.outer([1.0, 2.0, 1.0], [1.0, 0.0, -1.0]), [1.0, 4, 6, 4, 1])
    want = _pad_reference(x, k, "same", boundary, 0.5, True)
    for method in ("separable", "auto", "direct"):
        got = imfilt.convolve(x, k, "same", boundary, 0.5, method=method)
        np.testing.assert_allclose(got, want, atol=1e-10)
    with pytest.raises(ValueError, match="rank-1"):
        imfilt.convolve(x, rng.standard_normal((3, 3, 3)), method="separable")


def test_matches_ndimage_for_odd_kernels():
    rng = np.random.default_rng(4)
    x = rng.random((9, 10, 11), dtype=np.float32)
    k = rng.random((3, 5, 3)).astype(np.float32)
    for boundary, mode in (("symm", "reflect"), ("reflect", "mirror"), ("edge", "nearest"),
                           ("wrap", "wrap"), ("fill", "constant")):
        got = imfilt.convolve(x, k, "same", boundary)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, ndi.convolve(x, k, mode=mode), rtol=1e-5, atol=1e-5)
        got = imfilt.correlate(x, k, "same", boundary)
        np.testing.assert_allclose(got, ndi.correlate(x, k, mode=mode), rtol=1e-5, atol=1e-5)


def test_volume_output_shape_is_scipys():
    vol = np.ones((3, 32, 32))
    assert imfilt.convolve(vol, np.ones((3, 3, 3))).shape == (5, 34, 34)
    # the old per-slice meaning needs axes= now
    per_slice = imfilt.convolve(vol, np.ones((3, 3, 3)), axes=(1, 2))
    assert per_slice.shape == (3, 34, 34)
    np.testing.assert_array_equal(per_slice[1], imfilt.convolve(vol[1], np.ones((3, 3))))


def test_stride_and_dilation_nd():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((7, 8, 9))
    k = rng.standard_normal((2, 3, 2))
    stuffed = np.zeros((3, 5, 3))
    stuffed[::2, ::2, ::2] = k
    for method in ("direct", "fft"):
        got = imfilt.correlate(x, k, "same", "symm", stride=(1, 2, 3), dilation=2, method=method)
        want = imfilt.correlate(x, stuffed, "same", "symm")[:, ::2, ::3]
        np.testing.assert_allclose(got, want, atol=1e-10)
    with pytest.raises(TypeError, match="stride"):
        imfilt.correlate(x, k, stride=(1, 2))


def test_dtypes_out_and_workers_nd():
    rng = np.random.default_rng(6)
    x = rng.integers(0, 255, (5, 6, 7)).astype(np.uint8)
    k = np.ones((3, 3, 3))
    got = imfilt.convolve(x, k, "same")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, ss.convolve(x.astype(float), k, "same"))
    out = np.empty((5, 6, 7), dtype=np.float32)
    assert imfilt.convolve(x, k, "same", out=out) is out
    np.testing.assert_array_equal(out, got)
    assert imfilt.convolve(x.astype(np.float32), rng.random((3, 2, 4)), "same").dtype == np.float32
    xf = rng.random((6, 40, 50), dtype=np.float32)
    kf = rng.random((3, 3, 3)).astype(np.float32)
    np.testing.assert_array_equal(imfilt.convolve(xf, kf, "same", workers=1, method="direct"),
                                  imfilt.convolve(xf, kf, "same", workers=2, method="direct"))
    assert imfilt.convolve(np.ones((2, 2, 2), dtype=np.float16), k).dtype == np.float32


def test_nan_propagates_like_scipy_direct():
    x = np.ones((4, 5, 6))
    x[2, 2, 3] = np.nan
    k = np.ones((2, 2, 2))
    np.testing.assert_array_equal(np.isnan(imfilt.convolve(x, k, method="direct")),
                                  np.isnan(ss.convolve(x, k, method="direct")))
    np.testing.assert_array_equal(np.isnan(imfilt.convolve(x, k)),
                                  np.isnan(ss.convolve(x, k, method="direct")))


def test_empty_and_errors_nd():
    assert imfilt.convolve(np.ones((0, 3, 3)), np.ones((2, 2, 2))).shape == (1, 4, 4)
    with pytest.raises(ValueError, match="empty"):
        imfilt.convolve(np.ones((2, 3, 3)), np.ones((0, 2, 2)))
    with pytest.raises(ValueError, match="boundary='symm' cannot"):
        imfilt.convolve(np.ones((0, 3, 3)), np.ones((2, 2, 2)), boundary="symm")
    with pytest.raises(ValueError, match="valid"):
        imfilt.convolve(np.ones((3, 6, 3)), np.ones((5, 2, 3)), "valid")


@settings(max_examples=40, deadline=None)
@given(ndim=st.integers(1, 4), data=st.data())
def test_property_parity(ndim, data):
    xs = data.draw(st.tuples(*[st.integers(1, 5)] * ndim))
    ks = data.draw(st.tuples(*[st.integers(1, 4)] * ndim))
    mode = data.draw(st.sampled_from(["full", "same", "valid"]))
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs)
    k = rng.standard_normal(ks)
    _check(imfilt.convolve, ss.convolve, x, k, mode, "auto")
    if ndim != 2:
        _check(imfilt.correlate, ss.correlate, x, k, mode, "auto")


@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm", "reflect", "edge"])
@pytest.mark.parametrize("ndim", [3, 4])
def test_row_table_kernel_equals_batched_passes(boundary, ndim):
    # the one-call row-table kernel and the sum of batched 2-D passes
    from imfilt import _nd
    rng = np.random.default_rng(ndim)
    real = np.dtype(np.float64)
    for _ in range(4):
        x = rng.standard_normal(tuple(int(v) for v in rng.integers(1, 7, ndim)))
        w = rng.standard_normal(tuple(int(v) for v in rng.integers(1, 4, ndim)))
        strides = tuple(int(v) for v in rng.integers(1, 3, ndim))
        dil = tuple(int(v) for v in rng.integers(1, 3, ndim))
        pads = tuple((int(a), int(b)) for a, b in rng.integers(0, 6, (ndim, 2)))
        a = _nd._direct_table(x, w, pads, strides, dil, boundary, 0.5, real, 2)
        b = _nd._direct_batched(x[None], w, pads, strides, dil, boundary, 0.5, real, 2)[0]
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-10)
