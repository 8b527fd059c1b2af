"""Conformance with NumPy, SciPy and PyTorch on corners the upstream suites found.

- 1-D complex correlation in 'valid' mode with the kernel longer than the
  signal: SciPy and NumPy swap the inputs and conjugate the result, so that
  ``correlate(a, b, 'valid') == conj(correlate(b, a, 'valid'))[::-1]``.
  2-D correlation keeps ``scipy.signal.correlate2d``'s rule (no conjugation).
- 0-D image and kernel: the product, as ``scipy.signal.convolve``.
- The PyTorch-style functions read sizes as torch does: a one-element
  sequence applies to both axes, an empty ``stride`` means ``kernel_size``
  for pooling; ``conv_transpose2d`` refuses an output size <= 0; ``conv2d``
  and ``conv_transpose2d`` take complex input and weights (no conjugation).
"""

import numpy as np
import pytest
import scipy.signal as ss

import imfilt

A = np.array([1 + 2j, 3 - 1j])
B = np.array([2 + 1j, 1 - 3j, 4])


# --------------------------------------------------------------------------
# 1-D complex 'valid' swap


@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
def test_complex_valid_swap_conjugates_1d(method):
    expected = np.array([7 + 1j, 10 + 11j])
    np.testing.assert_allclose(np.correlate(A, B, "valid"), expected)
    np.testing.assert_allclose(ss.correlate(A, B, "valid"), expected)
    got = imfilt.correlate(A, B, "valid", method=method)
    np.testing.assert_allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize("nan_policy", ["omit", "raise"])
def test_complex_valid_swap_nan_policies(nan_policy):
    got = imfilt.correlate(A, B, "valid", nan_policy=nan_policy)
    np.testing.assert_allclose(got, ss.correlate(A, B, "valid"), atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_complex_valid_random_1d(seed):
    rng = np.random.default_rng(seed)
    n, k = sorted(rng.integers(1, 9, size=2))
    a = rng.normal(size=n) + 1j * rng.normal(size=n)
    b = rng.normal(size=k) + 1j * rng.normal(size=k)
    for x, y in ((a, b), (b, a), (a.real, b), (a, b.real)):
        for mode in ("full", "same", "valid"):
            np.testing.assert_allclose(imfilt.correlate(x, y, mode), ss.correlate(x, y, mode),
                                       atol=1e-12, err_msg=f"{mode} {x.shape} {y.shape}")
            np.testing.assert_allclose(imfilt.convolve(x, y, mode), ss.convolve(x, y, mode),
                                       atol=1e-12, err_msg=f"{mode} {x.shape} {y.shape}")


def test_complex_valid_swap_2d_stays_correlate2d():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(2, 3)) + 1j * rng.normal(size=(2, 3))
    b = rng.normal(size=(4, 5)) + 1j * rng.normal(size=(4, 5))
    np.testing.assert_allclose(imfilt.correlate(a, b, "valid"), ss.correlate2d(a, b, "valid"),
                               atol=1e-12)


def test_complex_valid_swap_dask():
    da = pytest.importorskip("dask.array")
    import imfilt.dask
    got = imfilt.dask.correlate(da.from_array(A, chunks=1), B, "valid").compute()
    np.testing.assert_allclose(got, [7 + 1j, 10 + 11j], atol=1e-12)


# --------------------------------------------------------------------------
# 0-D inputs


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("x, w", [(2.0, 3.0), (2.0 + 1j, 3.0 - 2j), (np.float32(2), 3.0),
                                  (np.nan, 1.0)])
def test_zero_dimensional(mode, x, w):
    x, w = np.asarray(x), np.asarray(w)
    for ours, ref in ((imfilt.convolve, ss.convolve), (imfilt.correlate, ss.correlate)):
        got = ours(x, w, mode)
        want = ref(x, w, mode)
        assert got.shape == ()
        assert got.dtype == (np.float32 if x.dtype == np.float32 else np.asarray(want).dtype)
        np.testing.assert_allclose(got, want)


def test_zero_dimensional_dtype_policy_and_out():
    got = imfilt.convolve(np.uint8(200), np.uint8(2))
    assert got.dtype == np.float32 and got == 400
    assert imfilt.convolve(np.int16(3), 2.5, dtype=np.uint8) == 8
    out = np.empty((), dtype=np.float64)
    assert imfilt.correlate(2.0, 4.0, out=out) is out and out == 8
    with pytest.raises(ValueError, match="shape"):
        imfilt.correlate(2.0, 4.0, out=np.empty(1))
    with pytest.raises(ValueError, match="axes"):
        imfilt.correlate(2.0, 4.0, axes=(0, 1))
    with pytest.raises(ValueError, match="mode"):
        imfilt.correlate(2.0, 4.0, mode="bogus")


# --------------------------------------------------------------------------
# PyTorch-style sizes

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


X = np.random.default_rng(0).normal(size=(2, 3, 9, 8)).astype(np.float32)


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("kwargs", [dict(kernel_size=(3,), stride=()),
                                    dict(kernel_size=3, stride=(), padding=(1,)),
                                    dict(kernel_size=(2,), stride=(1,)),
                                    dict(kernel_size=2, stride=[], padding=[1])])
def test_pooling_one_element_and_empty(name, kwargs):
    got = getattr(imfilt, name)(X, **kwargs)
    want = getattr(F, name)(_t(X), **kwargs).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_max_pool_dilation_tuple_and_indices():
    got, idx = imfilt.max_pool2d(X, 2, stride=(1,), dilation=(2,), return_indices=True)
    want, widx = F.max_pool2d(_t(X), 2, stride=(1,), dilation=(2,), return_indices=True)
    np.testing.assert_array_equal(got, want.numpy())
    np.testing.assert_array_equal(idx, widx.numpy())


def test_min_and_stochastic_pool_accept_torch_sizes():
    np.testing.assert_array_equal(imfilt.min_pool2d(X, (2,), stride=()),
                                  imfilt.min_pool2d(X, 2))
    a = np.abs(X)
    np.testing.assert_array_equal(imfilt.stochastic_pool2d(a, (2,), stride=(), rng=0),
                                  imfilt.stochastic_pool2d(a, 2, rng=0))


def test_unpool_accepts_torch_sizes():
    pooled, idx = imfilt.max_pool2d(X, 2, return_indices=True)
    ref = imfilt.max_unpool2d(pooled, idx, 2)
    np.testing.assert_array_equal(imfilt.max_unpool2d(pooled, idx, (2,), stride=(),
                                                      padding=(0,)), ref)
    # torch's max_unpool2d indexes one-element tuples per axis and fails on
    # them; its two-element form is the reference.
    want = F.max_unpool2d(_t(pooled), torch.from_numpy(idx), 2, stride=(2, 2), padding=(0, 0))
    np.testing.assert_array_equal(ref, want.numpy())


@pytest.mark.parametrize("kwargs", [dict(stride=(2,), padding=(1,), dilation=(1,)),
                                    dict(stride=(1,), padding=[2], dilation=(2,))])
def test_conv2d_one_element_tuples(kwargs):
    w = np.random.default_rng(1).normal(size=(4, 3, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(imfilt.conv2d(X, w, **kwargs),
                               F.conv2d(_t(X), _t(w), **kwargs).numpy(), rtol=1e-4, atol=1e-4)


def test_conv_transpose2d_one_element_tuples():
    w = np.random.default_rng(1).normal(size=(3, 2, 3, 3)).astype(np.float32)
    kw = dict(stride=(2,), padding=(1,), output_padding=(1,), dilation=(1,))
    np.testing.assert_allclose(imfilt.conv_transpose2d(X, w, **kw),
                               F.conv_transpose2d(_t(X), _t(w), **kw).numpy(),
                               rtol=1e-4, atol=1e-4)


def test_conv2d_empty_stride_is_an_error():
    with pytest.raises(TypeError, match=r"stride=\(\) is not valid"):
        imfilt.conv2d(X, np.ones((1, 3, 3, 3), np.float32), stride=())


@pytest.mark.parametrize("shape, k, padding", [((2, 2), 1, 1), ((1, 1), 1, 1), ((1, 1), 3, 2)])
def test_conv_transpose2d_empty_output_raises(shape, k, padding):
    x = np.ones((1, 1) + shape)
    w = np.ones((1, 1, k, k))
    with pytest.raises(RuntimeError):
        F.conv_transpose2d(_t(x), _t(w), padding=padding)
    with pytest.raises(ValueError, match="padding"):
        imfilt.conv_transpose2d(x, w, padding=padding)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=1), dict(groups=3, dilation=2)])
def test_conv2d_complex_matches_torch(dtype, kwargs):
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(2, 3, 8, 7)) + 1j * rng.normal(size=(2, 3, 8, 7))).astype(dtype)
    cin = 3 // kwargs.get("groups", 1)
    w = (rng.normal(size=(6, cin, 3, 3)) + 1j * rng.normal(size=(6, cin, 3, 3))).astype(dtype)
    b = (rng.normal(size=6) + 1j * rng.normal(size=6)).astype(dtype)
    got = imfilt.conv2d(x, w, b, **kwargs)
    want = F.conv2d(_t(x), _t(w), _t(b), **kwargs).numpy()
    assert got.dtype == dtype
    tol = 1e-4 if dtype == np.complex64 else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=1, output_padding=1),
                                    dict(groups=3, dilation=2)])
def test_conv_transpose2d_complex_matches_torch(dtype, kwargs):
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(2, 3, 5, 6)) + 1j * rng.normal(size=(2, 3, 5, 6))).astype(dtype)
    w = (rng.normal(size=(3, 2, 3, 3)) + 1j * rng.normal(size=(3, 2, 3, 3))).astype(dtype)
    cout = 2 * kwargs.get("groups", 1)
    b = (rng.normal(size=cout) + 1j * rng.normal(size=cout)).astype(dtype)
    got = imfilt.conv_transpose2d(x, w, b, **kwargs)
    want = F.conv_transpose2d(_t(x), _t(w), _t(b), **kwargs).numpy()
    assert got.dtype == dtype
    tol = 1e-4 if dtype == np.complex64 else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_conv2d_complex_mixed_and_single_image():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(6, 5)) + 1j * rng.normal(size=(6, 5))
    w = rng.normal(size=(3, 3))
    got = imfilt.conv2d(x, w, bias=[1j])
    want = ss.correlate2d(x, w, "valid") + 1j
    np.testing.assert_allclose(got, want, atol=1e-12)
    got = imfilt.conv2d(x.real.astype(np.float32), (w + 1j * w).astype(np.complex64))
    assert got.dtype == np.complex64
    with pytest.raises(TypeError, match="bias"):
        imfilt.conv2d(x.real, w, bias=[1j])
