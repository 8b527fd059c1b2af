"""Pooling and unpooling: NumPy references always, PyTorch parity when installed."""

import math

import numpy as np
import pytest

import imfilt
import imfilt.pooling

RNG = np.random.default_rng(5)


# --------------------------------------------------------------------------
# NumPy references written from the definitions (PyTorch's pooling semantics)
# --------------------------------------------------------------------------

def ref_out_size(n, k, s, p, d, ceil_mode):
    num = n + 2 * p - d * (k - 1) - 1
    out = (math.ceil(num / s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def ref_max_pool(plane, k, s, p, d, ceil_mode):
    """Loop over windows; first maximum in row-major order, NaN wins."""
    H, W = plane.shape
    Ho = ref_out_size(H, k[0], s[0], p[0], d[0], ceil_mode)
    Wo = ref_out_size(W, k[1], s[1], p[1], d[1], ceil_mode)
    out = np.empty((Ho, Wo), dtype=plane.dtype)
    idx = np.empty((Ho, Wo), dtype=np.int64)
    for oy in range(Ho):
        for ox in range(Wo):
            best, where = None, None
            for a in range(k[0]):
                for b in range(k[1]):
                    ih, iw = oy * s[0] - p[0] + a * d[0], ox * s[1] - p[1] + b * d[1]
                    if 0 <= ih < H and 0 <= iw < W:
                        v = plane[ih, iw]
                        if best is None or v > best or np.isnan(v):
                            best, where = v, ih * W + iw
            out[oy, ox], idx[oy, ox] = best, where
    return out, idx


def ref_avg_pool(plane, k, s, p, ceil_mode, count_include_pad, divisor_override):
    H, W = plane.shape
    Ho = ref_out_size(H, k[0], s[0], p[0], 1, ceil_mode)
    Wo = ref_out_size(W, k[1], s[1], p[1], 1, ceil_mode)
    out = np.empty((Ho, Wo))
    for oy in range(Ho):
        for ox in range(Wo):
            y0, x0 = oy * s[0] - p[0], ox * s[1] - p[1]
            # The window, clipped to input + padding (never the ceil overhang).
            y1, x1 = min(y0 + k[0], H + p[0]), min(x0 + k[1], W + p[1])
            padded_count = (y1 - y0) * (x1 - x0)
            ys, xs = slice(max(y0, 0), min(y1, H)), slice(max(x0, 0), min(x1, W))
            total = plane[ys, xs].astype(np.float64).sum()
            inside = plane[ys, xs].size
            div = divisor_override or (padded_count if count_include_pad else inside)
            out[oy, ox] = total / div
    return out


def random_pool_case(rng, dilation=True):
    kh, kw = (int(v) for v in rng.integers(1, 5, 2))
    sh, sw = (int(v) for v in rng.integers(1, 4, 2))
    ph, pw = int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1))
    dh, dw = ((int(v) for v in rng.integers(1, 3, 2)) if dilation else (1, 1))
    H = int(rng.integers(dh * (kh - 1) + 1, 15))
    W = int(rng.integers(dw * (kw - 1) + 1, 15))
    return (kh, kw), (sh, sw), (ph, pw), (dh, dw), H, W, bool(rng.integers(0, 2))


# --------------------------------------------------------------------------
# max / min / avg pooling
# --------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(30))
def test_max_pool_matches_reference(seed):
    rng = np.random.default_rng(seed)
    k, s, p, d, H, W, ceil_mode = random_pool_case(rng)
    # Few distinct values: many ties, which must resolve to the first maximum.
    x = rng.integers(0, 4, (2, 3, H, W)).astype(np.float32)
    if seed % 3 == 0:
        x[0, 1, rng.integers(0, H), rng.integers(0, W)] = np.nan
    out, idx = imfilt.max_pool2d(x, k, s, p, d, ceil_mode, return_indices=True)
    # Without indices (and dilation) a separable row-first path runs.
    plain = imfilt.max_pool2d(x, k, s, p, d, ceil_mode)
    low = imfilt.min_pool2d(x, k, s, p, d, ceil_mode)
    for n in range(2):
        for c in range(3):
            ro, ri = ref_max_pool(x[n, c], k, s, p, d, ceil_mode)
            np.testing.assert_array_equal(out[n, c], ro)
            np.testing.assert_array_equal(idx[n, c], ri)
            np.testing.assert_array_equal(plain[n, c], ro)
            np.testing.assert_array_equal(low[n, c], -ref_max_pool(-x[n, c], k, s, p, d,
                                                                   ceil_mode)[0])
    assert out.dtype == np.float32 and idx.dtype == np.int64


def test_max_min_indices_with_inf_nan_and_ties():
    # Special values and many ties, against the row-major loop reference.
    rng = np.random.default_rng(77)
    values = np.array([0.0, 1.0, 2.0, -np.inf, np.inf, np.nan])
    for _ in range(300):
        k, s, p, d, H, W, ceil_mode = random_pool_case(rng, dilation=bool(rng.integers(0, 2)))
        x = rng.choice(values, size=(H, W), p=[0.3, 0.3, 0.2, 0.1, 0.05, 0.05])
        out, idx = imfilt.max_pool2d(x, k, s, p, d, ceil_mode, return_indices=True)
        ro, ri = ref_max_pool(x, k, s, p, d, ceil_mode)
        assert np.array_equal(out, ro, equal_nan=True) and np.array_equal(idx, ri)
        out, idx = imfilt.min_pool2d(x, k, s, p, d, ceil_mode, return_indices=True)
        ro, ri = ref_max_pool(-x, k, s, p, d, ceil_mode)
        assert np.array_equal(out, -ro, equal_nan=True) and np.array_equal(idx, ri)


@pytest.mark.parametrize("seed", range(30))
def test_avg_pool_matches_reference(seed):
    rng = np.random.default_rng(50 + seed)
    k, s, p, _, H, W, ceil_mode = random_pool_case(rng, dilation=False)
    x = rng.standard_normal((3, H, W))
    for include in (True, False):
        for override in (None, 3):
            got = imfilt.avg_pool2d(x, k, s, p, ceil_mode, include, override,
                                    channel_axis=0)
            for c in range(3):
                want = ref_avg_pool(x[c], k, s, p, ceil_mode, include, override)
                np.testing.assert_allclose(got[c], want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k, p", [(2**32 + 1, 2**31), (2**33, 2**32),
                                  ((2**32, 2**31), (2**31, 2**30))])
def test_avg_pool_window_area_beyond_int64(k, p):
    # The divisor (window area with the padding) passes 2**63 while each side
    # does not: an all-ones input averages to 1 / area, never wraps.
    kh, kw = (k, k) if isinstance(k, int) else k
    got = imfilt.avg_pool2d(np.ones((1, 1)), k, stride=1, padding=p)
    assert got.size and np.all(got == 1 / (float(kh) * float(kw)))


def test_min_pool_is_negated_max_pool():
    x = RNG.standard_normal((2, 17, 13))
    a, ia = imfilt.min_pool2d(x, 3, 2, 1, return_indices=True)
    b, ib = imfilt.max_pool2d(-x, 3, 2, 1, return_indices=True)
    assert np.array_equal(a, -b) and np.array_equal(ia, ib)
    u = np.arange(16, dtype=np.uint16).reshape(4, 4)
    assert imfilt.min_pool2d(u, 2).dtype == np.uint16


def test_pool_shapes_2d_3d_4d():
    x = RNG.standard_normal((2, 3, 10, 12))
    full = imfilt.max_pool2d(x, 2)
    assert full.shape == (2, 3, 5, 6)
    assert np.array_equal(imfilt.max_pool2d(x[0], 2), full[0])
    assert np.array_equal(imfilt.max_pool2d(x[0, 0], 2), full[0, 0])


def test_ceil_mode_last_window_rule():
    # n=5, k=2, s=2: floor gives 2, ceil 3 (the last window starts inside).
    x = np.arange(25, dtype=np.float64).reshape(5, 5)
    assert imfilt.max_pool2d(x, 2, ceil_mode=True).shape == (3, 3)
    assert imfilt.max_pool2d(x, 2).shape == (2, 2)
    # n=4, k=2, s=2, p=1: ceil would give 4 but that window starts in the
    # right padding, so it is dropped (PyTorch rule).
    y = np.ones((4, 4))
    assert imfilt.max_pool2d(y, 2, 2, 1, ceil_mode=True).shape == (3, 3)
    # avg: the ceil-mode overhang is never counted, even with count_include_pad.
    got = imfilt.avg_pool2d(x, 2, ceil_mode=True)
    assert got[2, 2] == x[4, 4]
    assert got[0, 2] == (x[0, 4] + x[1, 4]) / 2


def test_nan_wins_and_first_max_on_ties():
    x = np.array([[1.0, 3.0, 3.0, np.nan],
                  [3.0, 0.0, 2.0, 5.0]])
    out, idx = imfilt.max_pool2d(x, 2, return_indices=True)
    assert out[0, 0] == 3.0 and idx[0, 0] == 1  # first of the three 3s
    assert np.isnan(out[0, 1]) and idx[0, 1] == 3


def test_integer_dtypes_kept_by_max_pool():
    for dt in (np.uint8, np.int16, np.int32, np.int64, np.uint32, np.bool_):
        x = (RNG.integers(0, 2 if dt == np.bool_ else 200, (9, 9))).astype(dt)
        out = imfilt.max_pool2d(x, 3, 2, 1)
        assert out.dtype == dt
        ref, _ = ref_max_pool(x.astype(np.int64), (3, 3), (2, 2), (1, 1), (1, 1), False)
        assert np.array_equal(out.astype(np.int64), ref)
    big = np.array([[2 ** 62 + 1, 2 ** 62]], dtype=np.int64)
    assert imfilt.max_pool2d(big, (1, 2))[0, 0] == 2 ** 62 + 1  # no float rounding
    assert imfilt.avg_pool2d(np.ones((4, 4), np.uint8), 2).dtype == np.float32
    assert imfilt.max_pool2d(np.ones((4, 4), np.float16), 2).dtype == np.float16
    # Big-endian and read-only inputs: same values, native byte order out.
    x = RNG.standard_normal((5, 7))
    big = x.astype(">f8")
    big.flags.writeable = False
    out = imfilt.max_pool2d(big, 2, ceil_mode=True)
    assert out.dtype == np.float64 and out.dtype.isnative
    assert np.array_equal(out, imfilt.max_pool2d(x, 2, ceil_mode=True))


@pytest.mark.parametrize("func", [imfilt.max_pool2d, imfilt.avg_pool2d, imfilt.min_pool2d])
def test_pool_threads_bit_identical(func):
    x = RNG.standard_normal((3, 97, 101)).astype(np.float32)
    a = func(x, 3, 2, 1, workers=1)
    b = func(x, 3, 2, 1, workers=2)
    assert np.array_equal(a, b)
    if func is not imfilt.avg_pool2d:
        a = func(x, 3, 2, 1, 2, return_indices=True, workers=1)
        b = func(x, 3, 2, 1, 2, return_indices=True, workers=2)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


# --------------------------------------------------------------------------
# max_unpool2d
# --------------------------------------------------------------------------

def test_unpool_round_trip_and_default_size():
    x = RNG.standard_normal((2, 3, 8, 10))
    pooled, idx = imfilt.max_pool2d(x, 2, return_indices=True)
    up = imfilt.max_unpool2d(pooled, idx, 2)
    assert up.shape == x.shape
    # Each 2x2 block keeps only its maximum, at its place, zeros elsewhere.
    blocks = x.reshape(2, 3, 4, 2, 5, 2).max(axis=(3, 5))
    assert np.array_equal(pooled, blocks)
    assert np.array_equal(up[up != 0], x[up != 0])
    assert np.count_nonzero(up) == pooled.size
    want = np.zeros((2 * 3, 80))
    np.put_along_axis(want, idx.reshape(6, -1), pooled.reshape(6, -1), axis=1)
    assert np.array_equal(up, want.reshape(up.shape))


def test_unpool_needs_output_size_for_odd_sizes():
    # 540 -> 270 -> 135 -> 67: the last step cannot be inverted without output_size.
    x = RNG.standard_normal((1, 135, 6))
    pooled, idx = imfilt.max_pool2d(x, 2, return_indices=True)
    assert pooled.shape == (1, 67, 3)
    # (1, 67, 3) looks like a colour image: say that axis 0 holds the planes.
    assert imfilt.max_unpool2d(pooled, idx, 2, channel_axis=0).shape == (1, 134, 6)
    up = imfilt.max_unpool2d(pooled, idx, 2, output_size=x.shape, channel_axis=0)
    assert up.shape == (1, 135, 6)
    with pytest.raises(ValueError, match=r"output_size height 137 is not valid.*132 and 136"):
        imfilt.max_unpool2d(pooled, idx, 2, output_size=(137, 6), channel_axis=0)


def test_unpool_chain_540_270_135_67():
    # 540 -> 270 -> 135 -> 67 cannot be inverted without output_size: undo each step with it.
    x = RNG.random((1, 540, 4))
    sizes, stack = [], x
    trace = []
    for _ in range(3):
        sizes.append(stack.shape)
        stack, idx = imfilt.max_pool2d(stack, (2, 1), return_indices=True, channel_axis=0)
        trace.append(idx)
    assert stack.shape == (1, 67, 4)
    for idx, size in zip(reversed(trace), reversed(sizes)):
        stack = imfilt.max_unpool2d(stack, idx, (2, 1), output_size=size, channel_axis=0)
        assert stack.shape == size
    # The global maximum survives every pool/unpool round at its place.
    assert stack.max() == x.max() and stack.argmax() == x.argmax()


def test_unpool_rejects_bad_indices_without_crashing():
    vals = np.ones((1, 2, 2))
    with pytest.raises(ValueError, match=r"indices holds 16, outside \[0, 16\)"):
        imfilt.max_unpool2d(vals, np.full((1, 2, 2), 16), 2)
    with pytest.raises(ValueError, match=r"indices holds -1"):
        imfilt.max_unpool2d(vals, np.full((1, 2, 2), -1), 2)
    with pytest.raises(ValueError, match=r"indices has shape \(2, 2\) but x has shape"):
        imfilt.max_unpool2d(vals, np.zeros((2, 2), int), 2)
    with pytest.raises(TypeError, match=r"indices has dtype float64"):
        imfilt.max_unpool2d(vals, np.zeros((1, 2, 2)), 2)


# --------------------------------------------------------------------------
# Stochastic pooling
# --------------------------------------------------------------------------

def test_stochastic_inference_formula():
    x = RNG.random((2, 6, 9)) * (RNG.random((2, 6, 9)) > 0.3)
    x[0, :3, :3] = 0  # an all-zero window gives 0
    got = imfilt.stochastic_pool2d(x, 3, training=False)
    win = x.reshape(2, 2, 3, 3, 3).transpose(0, 1, 3, 2, 4).reshape(2, 2, 3, 9)
    s1, s2 = win.sum(-1), (win ** 2).sum(-1)
    want = np.divide(s2, s1, out=np.zeros_like(s1), where=s1 > 0)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[0, 0, 0] == 0


def test_stochastic_distribution_within_binomial_bounds():
    # One 2x2 window with probabilities 0.1, 0.2, 0.3, 0.4, replicated over
    # many planes: each position's frequency must lie within 5 sigma.
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    n = 20000
    x = np.broadcast_to(a, (n, 2, 2))
    out, idx = imfilt.stochastic_pool2d(x, 2, rng=123, return_indices=True)
    assert set(np.unique(idx)) <= {0, 1, 2, 3}
    assert np.array_equal(out.ravel(), a.ravel()[idx.ravel()])
    counts = np.bincount(idx.ravel(), minlength=4)
    p = a.ravel() / a.sum()
    sigma = np.sqrt(n * p * (1 - p))
    assert np.all(np.abs(counts - n * p) < 5 * sigma), counts
    # Zero activations are never chosen.
    z = np.broadcast_to(np.array([[0.0, 1.0], [0.0, 1.0]]), (2000, 2, 2))
    _, iz = imfilt.stochastic_pool2d(z, 2, rng=1, return_indices=True)
    assert set(np.unique(iz)) <= {1, 3}


@pytest.mark.parametrize("scale", [2.0 ** 1000, 1e308 / 4, 1e200, 1e-300, 2.0 ** -1070])
def test_stochastic_float64_near_its_limits(scale):
    """Activations near float64's limits (sums and squares that overflow
    or underflow a double) keep the window's probabilities and mean: the
    window is summed scaled by a power of two."""
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    n = 20000
    x = np.broadcast_to(a * scale, (n, 2, 2))
    out, idx = imfilt.stochastic_pool2d(x, 2, rng=5, return_indices=True)
    assert np.array_equal(out.ravel(), x[0].ravel()[idx.ravel()])
    counts = np.bincount(idx.ravel(), minlength=4)
    p = a.ravel() / a.sum()
    assert np.all(np.abs(counts - n * p) < 5 * np.sqrt(n * p * (1 - p))), counts
    mean = imfilt.stochastic_pool2d(a * scale, 2, training=False)[0, 0]
    # sum(a**2) / sum(a) = 30 / 10, times the scale
    np.testing.assert_allclose(mean, 3.0 * scale, rtol=1e-12 if scale > 1e-300 else 1e-3)


def test_stochastic_refuses_infinite_activations():
    with pytest.raises(ValueError, match="x holds infinite values"):
        imfilt.stochastic_pool2d(np.array([[np.inf, 1.0], [0.0, 2.0]]), 2)


def test_stochastic_reproducible_for_any_thread_count():
    x = RNG.random((4, 97, 101)).astype(np.float32)
    a = imfilt.stochastic_pool2d(x, 3, 2, rng=7, workers=1)
    b = imfilt.stochastic_pool2d(x, 3, 2, rng=7, workers=2)
    c = imfilt.stochastic_pool2d(x, 3, 2, rng=np.random.default_rng(7), workers=2)
    assert np.array_equal(a, b) and np.array_equal(a, c)
    assert a.dtype == np.float32 and a.shape == (4, 48, 50)
    assert not np.array_equal(a, imfilt.stochastic_pool2d(x, 3, 2, rng=8))


def test_stochastic_rejects_negative_and_bad_rng():
    with pytest.raises(ValueError, match="non-negative activations.*negative"):
        imfilt.stochastic_pool2d(np.array([[1.0, -1.0], [0.0, 2.0]]), 2)
    with pytest.raises(ValueError, match="NaN"):
        imfilt.stochastic_pool2d(np.array([[1.0, np.nan], [0.0, 2.0]]), 2)
    with pytest.raises(TypeError, match=r"rng='seed' is not valid.*Generator"):
        imfilt.stochastic_pool2d(np.ones((2, 2)), 2, rng="seed")
    with pytest.raises(ValueError, match="return_indices=True needs training=True"):
        imfilt.stochastic_pool2d(np.ones((2, 2)), 2, training=False, return_indices=True)


# --------------------------------------------------------------------------
# PyTorch parity (skipped without torch)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(40))
def test_torch_parity(seed):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(900 + seed)
    k, s, p, d, H, W, ceil_mode = random_pool_case(rng)
    dtype = np.float32 if seed % 2 else np.float64
    x = rng.standard_normal((2, 3, H, W)).astype(dtype)
    if seed % 4 == 0:
        x = np.round(x)  # ties
    if seed % 5 == 0:
        x[1, 2, 0, 0] = np.nan
    tx = torch.from_numpy(x)
    out, idx = imfilt.max_pool2d(x, k, s, p, d, ceil_mode, return_indices=True)
    tout, tidx = F.max_pool2d(tx, k, s, p, d, ceil_mode, return_indices=True)
    np.testing.assert_array_equal(out, tout.numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())
    for include in (True, False):
        for override in (None, 2):
            got = imfilt.avg_pool2d(x, k, s, p, ceil_mode, include, override,
                                    channel_axis=0)
            want = F.avg_pool2d(tx, k, s, p, ceil_mode, include, override).numpy()
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    if d == (1, 1):
        up = imfilt.max_unpool2d(out, idx, k, s, p, output_size=x.shape)
        tup = F.max_unpool2d(tout, tidx, k, s, p, output_size=x.shape[-2:]).numpy()
        np.testing.assert_array_equal(up, tup)
        try:
            tup = F.max_unpool2d(tout, tidx, k, s, p).numpy()
        except RuntimeError:  # an index beyond the default size: ours is a ValueError
            with pytest.raises(ValueError, match="indices holds"):
                imfilt.max_unpool2d(out, idx, k, s, p)
        else:
            np.testing.assert_array_equal(imfilt.max_unpool2d(out, idx, k, s, p), tup)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8,
                                   np.uint16, np.uint32, np.uint64, np.bool_, np.float16])
def test_window_of_padding_only_gives_the_dtypes_own_limit(dtype):
    """A dilated window that covers only padding returns the least value of
    the input's dtype for max (the greatest for min), as PyTorch's max pool
    does: int8's -128, not int64's limit wrapped to 0 by the cast back."""
    x = np.array([[5, 7, 1]]).astype(dtype)
    # one row: both dilated rows of every window (-1 and 1) are padding
    kwargs = dict(kernel_size=2, stride=1, padding=1, dilation=2)
    if dtype == np.float16:
        low, high = -np.inf, np.inf
    elif dtype == np.bool_:
        low, high = False, True
    else:
        low, high = np.iinfo(dtype).min, np.iinfo(dtype).max
    got_max = imfilt.max_pool2d(x, **kwargs)
    got_min = imfilt.min_pool2d(x, **kwargs)
    assert got_max.dtype == dtype and got_min.dtype == dtype
    assert got_max.shape == (1, 3)
    assert np.all(got_max == low) and np.all(got_min == high)
    torch = pytest.importorskip("torch")
    if dtype in (np.int8, np.int16, np.int32, np.int64, np.uint8):
        want = torch.nn.functional.max_pool2d(torch.from_numpy(x[None]), **kwargs).numpy()[0]
        assert np.array_equal(got_max, want)


def test_torch_integer_max_pool():
    torch = pytest.importorskip("torch")
    x = RNG.integers(0, 255, (2, 11, 9)).astype(np.uint8)
    want = torch.nn.functional.max_pool2d(torch.from_numpy(x), 3, 2, 1).numpy()
    got = imfilt.max_pool2d(x, 3, 2, 1)
    assert got.dtype == want.dtype and np.array_equal(got, want)


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------

X = np.zeros((1, 3, 8, 8))


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: imfilt.max_pool2d(X, 3, padding=2), ValueError,
     r"padding=2 is not valid for kernel_size=3: .*<= \(1, 1\)"),
    (lambda: imfilt.max_pool2d(X, 0), ValueError, r"kernel_size=0 is not valid; .*>= 1"),
    (lambda: imfilt.max_pool2d(X, "2"), TypeError, r"kernel_size='2' is not valid; use an int"),
    (lambda: imfilt.max_pool2d(X, 2, stride=(1, 0)), ValueError, r"stride=\(1, 0\) is not valid"),
    (lambda: imfilt.max_pool2d(X, 9), ValueError, r"height of the input \(8\) is too small"),
    (lambda: imfilt.max_pool2d(X, 2, ceil_mode="yes"), TypeError, r"ceil_mode='yes'"),
    (lambda: imfilt.max_pool2d(np.zeros(5), 2), ValueError, r"x must have shape \(H, W\)"),
    (lambda: imfilt.max_pool2d(np.zeros((1, 0, 5)), 2, padding=1, ceil_mode=True), ValueError,
     r"x has an empty plane \(shape \(1, 0, 5\)\)"),
    (lambda: imfilt.avg_pool2d(np.zeros((3, 0)), 1), ValueError, r"empty plane"),
    (lambda: imfilt.max_pool2d(X.astype(complex), 2), TypeError, r"no order on complex"),
    (lambda: imfilt.avg_pool2d(X, 2, divisor_override=0), ValueError, r"divisor_override=0"),
    (lambda: imfilt.avg_pool2d(X, 2, count_include_pad=None), TypeError,
     r"count_include_pad=None"),
    (lambda: imfilt.max_pool2d(X, 2, workers="all"), ValueError, r"workers='all' is not valid"),
    (lambda: imfilt.max_unpool2d(X, X.astype(int), 2, output_size=5), TypeError,
     r"output_size=5 is not valid"),
    (lambda: imfilt.max_unpool2d(np.zeros((1, 2, 0, 3)), np.zeros((1, 2, 0, 3), int), 2),
     ValueError, r"x has an empty plane \(shape \(1, 2, 0, 3\)\)"),
    (lambda: imfilt.max_unpool2d(X, X.astype(int), 10 ** 12), ValueError,
     r"kernel_size=1000000000000 asks for an output .* use a smaller kernel_size"),
    (lambda: imfilt.max_unpool2d(X, X.astype(int), 2, stride=10 ** 6), ValueError,
     r"stride=1000000 asks for an output .* use a smaller stride"),
])
def test_validation_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_unpool_default_size_zero_is_an_empty_output_as_pytorch():
    # (n - 1) * stride - 2 * padding + kernel_size = 0 on an axis: PyTorch
    # returns the empty plane (whatever the indices); a negative size is an error.
    x = np.random.default_rng(0).random((1, 1, 3, 1)).astype(np.float32)
    y, i = imfilt.max_pool2d(x, (1, 2), stride=2, padding=(0, 1), return_indices=True)
    got = imfilt.max_unpool2d(y, i, (1, 2), stride=2, padding=(0, 1))
    assert got.shape == (1, 1, 3, 0) and got.dtype == np.float32
    with pytest.raises(ValueError, match="is negative; pass output_size"):
        imfilt.max_unpool2d(y, i, (1, 1), stride=1, padding=(0, 2))
    torch = pytest.importorskip("torch")
    ty, ti = torch.nn.functional.max_pool2d(torch.from_numpy(x), (1, 2), stride=2,
                                            padding=(0, 1), return_indices=True)
    want = torch.nn.functional.max_unpool2d(ty, ti, (1, 2), stride=2, padding=(0, 1))
    assert tuple(want.shape) == got.shape


def test_uint64_pools_exactly_over_its_whole_range():
    # Values above 2**63 keep their order (the int64 kernels see them with
    # the top bit flipped); unpooling moves the bits unchanged.
    rng = np.random.default_rng(5)
    x = rng.integers(0, 2**64 - 1, (2, 3, 9, 10), dtype=np.uint64, endpoint=True)
    x[0, 0, 0, :2] = 0, 2**64 - 1
    windows = x[..., :8, :10].reshape(2, 3, 4, 2, 5, 2)
    for func, reduce in ((imfilt.max_pool2d, np.max), (imfilt.min_pool2d, np.min)):
        y, i = func(x, 2, return_indices=True)
        assert y.dtype == np.uint64
        np.testing.assert_array_equal(y, reduce(windows, axis=(3, 5)))
        np.testing.assert_array_equal(
            np.take_along_axis(x.reshape(2, 3, -1), i.reshape(2, 3, -1), 2).reshape(y.shape), y)
        np.testing.assert_array_equal(func(x.astype(">u8"), 2), y)
        u = imfilt.max_unpool2d(y, i, 2, output_size=(9, 10))
        assert u.dtype == np.uint64
        np.testing.assert_array_equal(
            np.take_along_axis(u.reshape(2, 3, -1), i.reshape(2, 3, -1), 2).reshape(y.shape), y)
    np.testing.assert_allclose(imfilt.avg_pool2d(x, 2), windows.astype(float).mean(axis=(3, 5)),
                               rtol=1e-15)
