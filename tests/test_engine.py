"""method=, stride=, dilation=, axes= stacks and out= of convolve/correlate."""


import dataclasses

import sys
import warnings

import numpy as np
import pytest
from scipy import signal

import imfilt
from imfilt import _methods
from imfilt._modes import BOUNDARIES

MODES = ("full", "same", "valid")
FUNCS = {"convolve": (imfilt.convolve, signal.convolve2d),
         "correlate": (imfilt.correlate, signal.correlate2d)}


def _tol(x, w, dtype):
    eps = np.finfo(np.dtype(dtype).type(0).real.dtype).eps
    return 64 * eps * float(np.abs(x).max()) * float(np.abs(w).sum()) * np.log2(x.size + w.size + 2) + 1e-30


# --- methods agree with each other and with SciPy ------------------------------

@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_methods_match_scipy(fname, method, dtype):
    rng = np.random.default_rng(1)
    ours, ref_fn = FUNCS[fname]
    for _ in range(12):
        xs = tuple(int(v) for v in rng.integers(1, 40, size=2))
        ws = tuple(int(v) for v in rng.integers(1, 12, size=2))
        x = rng.standard_normal(xs).astype(dtype)
        w = rng.standard_normal(ws).astype(dtype)
        for mode in MODES:
            for boundary in ("fill", "wrap", "symm"):
                try:
                    ref = ref_fn(x.astype(np.complex128 if np.iscomplexobj(x) else np.float64),
                                 w.astype(np.complex128 if np.iscomplexobj(w) else np.float64),
                                 mode, boundary, 0.5)
                except ValueError:
                    continue
                got = ours(x, w, mode, boundary, 0.5, method=method)
                assert got.dtype == dtype
                np.testing.assert_allclose(got, ref, rtol=0, atol=_tol(x, w, dtype) + 1.0 * _tol(x, w, dtype))


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", MODES)
def test_fft_matches_direct_every_boundary(boundary, mode):
    rng = np.random.default_rng(2)
    for xs, ws in [((64, 70), (5, 4)), ((300, 290), (7, 9)), ((9, 8), (15, 13)), ((600, 40), (3, 31))]:
        x = rng.standard_normal(xs)
        w = rng.standard_normal(ws)
        if mode == "valid" and not (xs[0] >= ws[0] and xs[1] >= ws[1]) and not (ws[0] >= xs[0] and ws[1] >= xs[1]):
            continue
        for func in (imfilt.convolve, imfilt.correlate):
            a = func(x, w, mode, boundary, 0.25, method="direct")
            b = func(x, w, mode, boundary, 0.25, method="fft")
            np.testing.assert_allclose(b, a, atol=_tol(x, w, np.float64))


def test_fft_overlap_save_tiles_large_image():
    L0, L1, n0, n1, _ = _methods.block_plan(1500, 1300, 9, 7, "f32")
    assert n0 * n1 > 1  # overlap-save blocks, not one transform
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1500, 1300)).astype(np.float32)
    w = rng.standard_normal((9, 7)).astype(np.float32)
    a = imfilt.convolve(x, w, "same", "reflect", method="direct")
    b = imfilt.convolve(x, w, "same", "reflect", method="fft")
    assert b.dtype == np.float32
    np.testing.assert_allclose(b, a, atol=_tol(x, w, np.float32))


@pytest.mark.parametrize("kernel", [
    np.outer([1, 2, 1], [-1, 0, 1]),                       # Sobel
    np.outer([3, 10, 3], [-1, 0, 1]),                      # Scharr
    np.ones((5, 5)) / 25,                                  # box
    np.outer(signal.windows.gaussian(15, 2.5), signal.windows.gaussian(15, 2.5)),
    np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) + np.outer([1, 0, -2, 0, 1], [0, 1, 0, 1, 0]),  # rank 2
])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_separable_matches_direct(kernel, boundary):
    rng = np.random.default_rng(4)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((50, 61)).astype(dtype)
        for mode in MODES:
            for func in (imfilt.convolve, imfilt.correlate):
                a = func(x, kernel, mode, boundary, 1.5, method="direct")
                b = func(x, kernel, mode, boundary, 1.5, method="separable")
                np.testing.assert_allclose(b, a, atol=_tol(x, kernel, dtype))


def test_separable_exact_for_integer_kernels():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, size=(40, 40)).astype(np.uint8)
    sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    a = imfilt.convolve(x, sobel, "same", "symm", method="direct")
    b = imfilt.convolve(x, sobel, "same", "symm", method="separable")
    np.testing.assert_array_equal(a, b)


def test_separable_rejects_full_rank_kernel_with_its_rank():
    w = np.random.default_rng(6).standard_normal((5, 5))
    with pytest.raises(ValueError, match="rank 5"):
        imfilt.convolve(np.ones((20, 20)), w, method="separable")


def test_factorize_ranks():
    g = signal.windows.gaussian(9, 1.5)
    assert _methods.factorize(np.outer(g, g), np.float64)[0] == 1
    two = np.outer(g, g) + np.outer(np.arange(9.0), np.ones(9))
    assert _methods.factorize(two, np.float64)[0] == 2
    assert _methods.factorize(np.eye(4), np.float64)[0] == 4


def test_factorize_is_kept_by_value():
    # Small kernels keep their factors by value: equal values in another
    # array give the same (read-only) factors; changed values are factorised again.
    w = np.outer(np.arange(1.0, 6.0), np.arange(2.0, 7.0))
    rank, pairs = _methods.factorize(w, np.float64)
    again = _methods.factorize(w.copy(), np.float64)
    assert rank == again[0] == 1 and pairs[0][0] is again[1][0][0]
    assert not pairs[0][0].flags.writeable and not pairs[0][1].flags.writeable
    w[0, 0] += 1.0                          # now rank 2
    assert _methods.factorize(w, np.float64)[0] == 2
    x = np.random.default_rng(3).standard_normal((40, 50))
    for kernel in (w, np.outer(np.arange(1.0, 6.0), np.arange(2.0, 7.0))):
        for _ in range(2):   # the second call reads the kept factors
            np.testing.assert_allclose(
                imfilt.correlate(x, kernel, mode="same", method="separable"),
                imfilt.correlate(x, kernel, mode="same", method="direct"), rtol=1e-12, atol=1e-12)
    # float32 and float64 problems keep their own tolerance (rank at eps(real))
    near = np.outer(np.ones(7), np.ones(7)) + 1e-9 * np.eye(7)
    assert _methods.factorize(near, np.float32)[0] == 1
    assert _methods.factorize(near, np.float64)[0] == 7


def test_repeated_linear_calls_resolve_the_threads_each_time():
    # convolve/correlate keep their parsed arguments; the thread count and
    # every error still come from the call itself.
    from imfilt import _linear
    for workers in (1, 2, 1):
        with imfilt.set_workers(workers):
            spec = _linear.parse("same", "symm", "auto", None, 1, 1, None, True, "propagate")
            assert spec.nthreads == workers and spec.mode == "same"
    for _ in range(2):
        with pytest.raises(ValueError, match="boundary='sym'"):
            imfilt.convolve(np.ones((4, 4)), np.ones((3, 3)), boundary="sym")
        with pytest.raises(ValueError, match="workers"):
            imfilt.convolve(np.ones((4, 4)), np.ones((3, 3)), workers=0)
    assert _linear.parse("full", "fill", "direct", 1, (2, 1), 3, (0, 1), False, "omit").stride \
        == (2, 1)


def test_unknown_method():
    with pytest.raises(ValueError, match=r"method='magic'.*'auto', 'direct', 'separable', 'fft'"):
        imfilt.convolve(np.ones((3, 3)), np.ones((2, 2)), method="magic")


# --- auto ---------------------------------------------------------------------

def test_auto_keeps_direct_nan_pattern():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((400, 400))
    x[100, 200] = np.nan
    x[300, 10] = np.inf
    w = rng.standard_normal((31, 31))   # large: auto would pick FFT for finite data
    # (the same data with 0 for NaN and inf; nan_to_num's 1.8e308 would
    # rightly keep FFT out: its sums would overflow)
    assert _methods.choose(_problem(np.where(np.isfinite(x), x, 0), w), "auto") == \
        _methods.FFT_CHECKED
    got = imfilt.convolve(x, w, "same")
    ref = imfilt.convolve(x, w, "same", method="direct")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
    assert np.isfinite(got).sum() > 0


def test_auto_never_fft_for_exact_integer_problems():
    x = np.random.default_rng(8).integers(0, 1000, size=(500, 500)).astype(np.int32)
    w = np.ones((41, 41), dtype=np.int64)
    w[3, 5] = 7  # not separable
    assert _methods.choose(_problem(x, w), "auto") == "direct"
    got = imfilt.convolve(x, w, "same")
    ref = signal.convolve2d(x.astype(np.int64), w, "same")
    np.testing.assert_array_equal(got, ref.astype(np.float64))


@pytest.mark.parametrize("real", [np.float32, np.float64])
def test_rank_exceeds_never_claims_more_than_the_svd_rank(real):
    """The SVD-free test ``method='auto'`` runs on large kernels answers
    "rank above r" only when factorize's rank is above r: low-rank kernels
    plus noise around the tolerance, exact ranks, zeros, a single column."""
    rng = np.random.default_rng(12)
    eps = np.finfo(real).eps
    g = signal.windows.gaussian(70, 9)
    kernels = [np.zeros((70, 70)), np.ones((70, 1)), np.outer(g, g)]
    for true_rank in (1, 2, 3, 5):
        base = sum(np.outer(rng.standard_normal(70), rng.standard_normal(70)) for _ in range(true_rank))
        for noise in (0.0, 1e-3 * eps, eps, 10 * eps, 1e3 * eps, 1e-3):
            kernels.append(base + noise * np.abs(base).max() * rng.standard_normal(base.shape))
    kernels.append(rng.standard_normal((70, 90)))
    for w in kernels:
        rank = _methods.factorize(w, real)[0]
        for r in range(0, 7):
            if _methods._rank_exceeds(w, r, real):
                assert rank > r, (rank, r)
    full = rng.standard_normal((127, 127))
    assert all(_methods._rank_exceeds(full, r, real) for r in (1, 2, 5))


def test_auto_skipping_the_svd_of_large_kernels_changes_no_choice(monkeypatch):
    """``method='auto'`` skips the SVD of a large kernel whose rank is
    certainly too high for the separable method to win; the pick is the one
    the SVD's rank gives."""
    rng = np.random.default_rng(13)
    g = signal.windows.gaussian(81, 12)
    x32 = rng.standard_normal((700, 700)).astype(np.float32)
    kernels = [rng.standard_normal((81, 81)), np.outer(g, g),
               np.outer(g, g) + 1e-3 * np.outer(np.sin(np.arange(81)), g),
               sum(np.outer(rng.standard_normal(81), rng.standard_normal(81)) for _ in range(3))]
    picks = []
    for x in (x32, x32.astype(np.float64), x32[:90, :400]):
        for w in kernels:
            picks.append(_methods.choose(_problem(x, w.astype(x.dtype)), "auto"))
    monkeypatch.setattr(_methods, "_rank_exceeds", lambda w, r, real: False)
    for x in (x32, x32.astype(np.float64), x32[:90, :400]):
        for w in kernels:
            assert _methods.choose(_problem(x, w.astype(x.dtype)), "auto") == picks.pop(0)


def test_auto_picks_separable_for_large_gaussian():
    # (checked as it runs: no pass over the image beforehand)
    g = signal.windows.gaussian(15, 3)
    x = np.random.default_rng(9).standard_normal((1024, 1024)).astype(np.float32)
    assert _methods.choose(_problem(x, np.outer(g, g).astype(np.float32)), "auto") == \
        _methods.SEPARABLE_CHECKED


@pytest.mark.parametrize("dtype, k, n", [(np.float64, 15, 256), (np.float32, 11, 384),
                                         (np.float64, 7, 512), (np.float32, 31, 600),
                                         (np.float64, 63, 300)])
def test_auto_result_does_not_depend_on_the_thread_count(dtype, k, n):
    # The methods round differently: auto's cost model assumes one thread
    # count whatever workers is, so every thread count picks the same method.
    rng = np.random.default_rng(11)
    g = signal.windows.gaussian(k, k / 4)
    x = rng.standard_normal((n, n)).astype(dtype)
    for w in (np.outer(g, g).astype(dtype), rng.standard_normal((k, k)).astype(dtype)):
        ref = imfilt.convolve(x, w, "same", boundary="symm", workers=1)
        for workers in (2, 3, 8):
            np.testing.assert_array_equal(
                imfilt.convolve(x, w, "same", boundary="symm", workers=workers), ref)
        picks = {_methods.choose(dataclasses.replace(_problem(x, w), nthreads=t), "auto")
                 for t in (1, 2, 3, 64)}
        assert len(picks) == 1, picks


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("boundary", ["fill", "symm", "wrap"])
def test_auto_separable_falls_back_to_direct_on_inf_nan_and_overflow(dtype, boundary):
    # auto's separable run checks its outputs: an inf or NaN anywhere (in
    # the image, in a fill value, or from overflow) gives direct's result.
    rng = np.random.default_rng(10)
    g = signal.windows.gaussian(15, 3)
    w = np.outer(g, g).astype(dtype)
    x = rng.standard_normal((700, 600)).astype(dtype)
    kw = {"fillvalue": 0.5} if boundary == "fill" else {}
    clean = imfilt.convolve(x, w, "same", boundary=boundary, **kw)
    np.testing.assert_allclose(clean, imfilt.convolve(x, w, "same", boundary=boundary,
                                                      method="separable", **kw))
    big = np.finfo(dtype).max
    cases = []
    for where, value in [((3, 4), np.nan), ((350, 599), np.inf), ((699, 0), -np.inf),
                         ((200, 300), big)]:
        y = x.copy()
        y[where] = value
        y[where[0], where[1] - 1] = value if value != big else big
        cases.append((y, kw))
    if boundary == "fill":
        cases.append((x, {"fillvalue": np.nan}))
        cases.append((x, {"fillvalue": np.inf}))
    for y, extra in cases:
        with np.errstate(invalid="ignore", over="ignore"):
            got = imfilt.convolve(y, w, "same", boundary=boundary, **extra)
            ref = imfilt.convolve(y, w, "same", boundary=boundary, method="direct", **extra)
        np.testing.assert_array_equal(got, ref)
        assert not np.isfinite(got).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("boundary", ["fill", "symm"])
def test_auto_fft_falls_back_on_inf_nan_and_overflow(dtype, boundary):
    """auto's FFT run checks its outputs instead of a pass over the image
    first: an inf or NaN anywhere (in the image, the fill value or the
    kernel, or from a transform sum past the dtype's range) gives the result
    of the best other method, direct here, with its exact IEEE pattern --
    also where a stride skips every output the value reaches."""
    rng = np.random.default_rng(15)
    w = rng.standard_normal((31, 31)).astype(dtype)
    x = rng.standard_normal((400, 380)).astype(dtype)
    kw = {"fillvalue": 0.5} if boundary == "fill" else {}
    assert _methods.choose(_problem(x, w), "auto") == _methods.FFT_CHECKED
    big = np.finfo(dtype).max / 4
    cases = []
    for where, value in [((3, 4), np.nan), ((200, 379), np.inf), ((399, 0), -np.inf),
                         ((100, 100), big)]:
        y = x.copy()
        y[where] = value
        cases.append((y, w, dict(kw)))
    cases.append((x, np.where(np.arange(31) == 5, np.nan, w).astype(dtype), dict(kw)))
    if boundary == "fill":
        cases += [(x, w, {"fillvalue": np.nan}), (x, w, {"fillvalue": -np.inf})]
    y = x.copy()
    y[1, 1] = np.nan            # reaches outputs 0..16 only: stride 40 keeps output 0 ...
    cases.append((y, w, dict(kw, stride=40)))
    y = x.copy()
    y[60, 60] = np.nan          # ... and none of these (outputs 45..75 are skipped)
    cases.append((y, w, dict(kw, stride=(44, 44))))
    for y, k, extra in cases:
        with np.errstate(invalid="ignore", over="ignore"):
            got = imfilt.convolve(y, k, "same", boundary=boundary, **extra)
            ref = imfilt.convolve(y, k, "same", boundary=boundary, method="direct", **extra)
        np.testing.assert_array_equal(got, ref)
    assert np.isfinite(got).all()   # the last case: FFT's NaN block was not kept


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_auto_fft_on_huge_values(dtype):
    """Values far above 1 whose transform sums stay well inside the dtype's
    range keep FFT's result (within its documented bound of the direct
    sum); past ``max / 16 / (size^2 sum|w|)`` the result is recomputed by
    direct, whose sums cannot overflow where the true result does not."""
    rng = np.random.default_rng(16)
    w = rng.standard_normal((31, 31)).astype(dtype)
    base = rng.standard_normal((300, 300))
    safe, unsafe = (1e20, 1e26) if dtype == np.float32 else (1e250, 1e300)
    x = (base * safe).astype(dtype)
    got = imfilt.convolve(x, w, "same")
    assert got.tobytes() == imfilt.convolve(x, w, "same", method="fft").tobytes()
    ref = imfilt.convolve(x.astype(np.float64), w.astype(np.float64), "same", method="direct")
    eps = np.finfo(dtype).eps
    bound = 64 * eps * np.abs(x).max() * np.abs(w).sum() * np.log2(x.size)
    assert np.abs(got - ref).max() <= bound
    x = (base * unsafe).astype(dtype)
    with np.errstate(over="ignore"):
        got = imfilt.convolve(x, w, "same")
        assert got.tobytes() == imfilt.convolve(x, w, "same", method="direct").tobytes()


def test_fft_warns_on_nan():
    x = np.ones((20, 20))
    x[3, 3] = np.nan
    with pytest.warns(RuntimeWarning, match="NaN"):
        imfilt.convolve(x, np.ones((3, 3)), method="fft")


@pytest.mark.parametrize("case", ["image", "inf", "kernel", "fill", "stack", "3-D", "complex"])
def test_fft_nan_warning_points_at_the_callers_line(case):
    """method='fft' warns once when the image (its magnitude found as the
    blocks are read), the kernel or a used fill value holds inf or NaN, and
    the warning names the caller's file and line, not imfilt's."""
    x, w, kw = np.ones((20, 20)), np.ones((3, 3)), {}
    if case in ("image", "stack", "complex"):
        x[3, 3] = np.nan
    elif case == "inf":
        x[0, 19] = -np.inf
    elif case == "kernel":
        w = np.where(np.eye(3) > 0, np.inf, 1.0)
    elif case == "fill":
        kw = {"fillvalue": np.nan}
    if case == "stack":
        x, w, kw = np.stack([x, x]), np.ones((3, 3)), {"axes": (1, 2)}
    elif case == "3-D":
        x, w = np.ones((5, 6, 7)), np.ones((2, 2, 2))
        x[2, 3, 4] = np.nan
    elif case == "complex":
        x = x + 1j
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1
        imfilt.convolve(x, w, method="fft", **kw)
    messages = [r for r in seen if "spreads them" in str(r.message)]
    assert len(messages) == 1, [str(r.message) for r in seen]
    assert messages[0].category is RuntimeWarning
    assert (messages[0].filename, messages[0].lineno) == (__file__, line)


def test_fft_on_finite_input_does_not_warn():
    rng = np.random.default_rng(17)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        imfilt.convolve(rng.standard_normal((300, 300)), rng.standard_normal((31, 31)),
                        method="fft")
        imfilt.convolve(rng.standard_normal((300, 300)), rng.standard_normal((31, 31)))


def _problem(x, w):
    return _methods.Problem(x=np.asarray(x)[None], w=np.asarray(w)[None], pads=((w.shape[0] // 2, (w.shape[0] - 1) // 2),) * 2,
                            stride=(1, 1), dilation=(1, 1), boundary="fill", fill=0.0,
                            compute=np.dtype(np.float32 if np.asarray(x).dtype == np.float32 else np.float64),
                            nthreads=2)


# --- stride -------------------------------------------------------------------

@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("method", ["direct", "fft"])
def test_stride_equals_slicing(fname, mode, boundary, method):
    rng = np.random.default_rng(10)
    func = FUNCS[fname][0]
    for xs, ws, st in [((23, 19), (3, 4), (2, 3)), ((16, 16), (5, 5), 4), ((7, 30), (2, 7), (1, 5)), ((5, 5), (7, 6), 2)]:
        x = rng.standard_normal(xs)
        w = rng.standard_normal(ws)
        try:
            full = func(x, w, mode, boundary, 0.5)
        except ValueError:
            continue
        s = st if isinstance(st, tuple) else (st, st)
        got = func(x, w, mode, boundary, 0.5, stride=st, method=method)
        np.testing.assert_allclose(got, full[::s[0], ::s[1]], atol=_tol(x, w, np.float64))


def test_seed_stride_formula():
    x = np.ones((11, 11))
    w = np.ones((3, 3))
    assert imfilt.convolve(x, w, "valid", stride=2).shape == ((11 - 3) // 2 + 1,) * 2
    assert imfilt.convolve(x, w, "valid", stride=3).shape == (3, 3)


@pytest.mark.parametrize("bad", [0, -1, 1.5, (1, 2, 3), "2", True, (2, 0)])
def test_bad_stride_and_dilation(bad):
    with pytest.raises(ValueError, match="stride="):
        imfilt.convolve(np.ones((5, 5)), np.ones((2, 2)), stride=bad)
    with pytest.raises(ValueError, match="dilation="):
        imfilt.convolve(np.ones((5, 5)), np.ones((2, 2)), dilation=bad)


# --- dilation -----------------------------------------------------------------

def _stuff(w, d):
    d = d if isinstance(d, tuple) else (d, d)
    out = np.zeros((d[0] * (w.shape[0] - 1) + 1, d[1] * (w.shape[1] - 1) + 1), dtype=w.dtype)
    out[::d[0], ::d[1]] = w
    return out


@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
def test_dilation_equals_zero_stuffed_kernel(fname, mode, boundary, method):
    rng = np.random.default_rng(11)
    func = FUNCS[fname][0]
    for xs, ws, d in [((20, 21), (3, 3), 2), ((17, 30), (2, 4), (3, 2)), ((6, 6), (3, 2), 4), ((40, 40), (4, 3), (1, 5))]:
        x = rng.standard_normal(xs)
        w = rng.standard_normal(ws)
        try:
            ref = func(x, _stuff(w, d), mode, boundary, 0.5, method="direct")
        except ValueError:
            continue
        got = func(x, w, mode, boundary, 0.5, dilation=d, method=method)
        np.testing.assert_allclose(got, ref, atol=_tol(x, w, np.float64))
        # with stride too
        got = func(x, w, mode, boundary, 0.5, dilation=d, stride=(2, 3), method=method)
        np.testing.assert_allclose(got, ref[::2, ::3], atol=_tol(x, w, np.float64))


def test_atrous_3x3_d2_covers_5x5():
    x = np.zeros((9, 9))
    x[4, 4] = 1
    out = imfilt.correlate(x, np.ones((3, 3)), "same", dilation=2)
    assert sorted(zip(*np.nonzero(out))) == [(r, c) for r in (2, 4, 6) for c in (2, 4, 6)]


# --- stacks and axes ----------------------------------------------------------

@pytest.mark.parametrize("method", ["direct", "fft", "separable"])
def test_stack_matches_per_slice(method):
    rng = np.random.default_rng(12)
    x = rng.standard_normal((4, 3, 30, 28)).astype(np.float32)
    w = np.outer([1, 2, 1], [1, 0, -1]).astype(np.float32)
    got = imfilt.convolve(x, w, "same", "symm", method=method)
    assert got.shape == x.shape and got.dtype == np.float32
    for n in range(4):
        for c in range(3):
            ref = imfilt.convolve(x[n, c], w, "same", "symm", method="direct")
            np.testing.assert_allclose(got[n, c], ref, atol=_tol(x, w, np.float32))


def test_colour_image_axes_0_1():
    rng = np.random.default_rng(13)
    img = rng.random((40, 50, 3))
    w = rng.standard_normal((5, 4))
    got = imfilt.correlate(img, w, "same", "reflect", axes=(0, 1))
    assert got.shape == (40, 50, 3)
    for c in range(3):
        np.testing.assert_allclose(got[..., c], imfilt.correlate(img[..., c], w, "same", "reflect"), atol=1e-12)
    full = imfilt.correlate(img, w, "full", axes=(0, 1))
    assert full.shape == (44, 53, 3)
    strided = imfilt.correlate(img, w, "valid", axes=(0, 1), stride=2)
    assert strided.shape == ((40 - 5) // 2 + 1, (50 - 4) // 2 + 1, 3)


def test_per_slice_kernels():
    rng = np.random.default_rng(14)
    x = rng.standard_normal((3, 20, 22))
    ws = rng.standard_normal((3, 4, 5))
    # a kernel per slice needs axes= (without it, a 3-D kernel means N-D)
    got = imfilt.convolve(x, ws, "same", "wrap", axes=(1, 2))
    for i in range(3):
        np.testing.assert_allclose(got[i], signal.convolve2d(x[i], ws[i], "same", "wrap"), atol=1e-12)
    colour = rng.random((16, 18, 3))
    per_channel = rng.standard_normal((3, 3, 3))
    got = imfilt.convolve(colour, per_channel, "same", axes=(0, 1))
    for c in range(3):
        np.testing.assert_allclose(got[..., c], signal.convolve2d(colour[..., c], per_channel[c], "same"), atol=1e-12)


def test_stack_threads_bit_identical():
    rng = np.random.default_rng(15)
    x = rng.standard_normal((5, 37, 41)).astype(np.float32)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    a = imfilt.convolve(x, w, "same", "symm", workers=1, method="direct")
    for n in (2, 3, 8):
        assert imfilt.convolve(x, w, "same", "symm", workers=n, method="direct").tobytes() == a.tobytes()


def test_bad_axes():
    x = np.ones((4, 5, 6))
    for bad in [(0,), (0, 0), (0, 3), "01", (0.0, 1)]:
        with pytest.raises(ValueError, match="axes="):
            imfilt.convolve(x, np.ones((2, 2)), axes=bad)
    with pytest.raises(ValueError, match="axes="):
        imfilt.convolve(np.ones(5), np.ones(2), axes=(0, 1))


def test_empty_stack():
    out = imfilt.convolve(np.ones((0, 8, 8)), np.ones((3, 3)), "same")
    assert out.shape == (0, 8, 8)


# --- out= -----------------------------------------------------------------------

def test_out_is_written_and_returned():
    rng = np.random.default_rng(16)
    x = rng.standard_normal((30, 30)).astype(np.float32)
    w = rng.standard_normal((3, 3)).astype(np.float32)
    out = np.empty((30, 30), dtype=np.float32)
    res = imfilt.convolve(x, w, "same", out=out)
    assert res is out
    np.testing.assert_array_equal(out, imfilt.convolve(x, w, "same"))
    # a non-contiguous destination
    big = np.zeros((60, 60), dtype=np.float32)
    view = big[::2, ::2]
    imfilt.convolve(x, w, "same", out=view)
    np.testing.assert_array_equal(view, out)


def test_out_misuse_raises():
    x = np.ones((10, 10))
    w = np.ones((3, 3))
    with pytest.raises(ValueError, match="shape"):
        imfilt.convolve(x, w, "same", out=np.empty((9, 10)))
    with pytest.raises(ValueError, match="dtype float32 but the result has dtype float64"):
        imfilt.convolve(x, w, "same", out=np.empty((10, 10), dtype=np.float32))
    with pytest.raises(ValueError, match="overlaps image"):
        imfilt.convolve(x, w, "same", out=x)
    with pytest.raises(ValueError, match="overlaps kernel"):
        imfilt.convolve(np.ones((3, 3)), w, "same", out=w)
    ro = np.empty((10, 10))
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        imfilt.convolve(x, w, "same", out=ro)
    with pytest.raises(TypeError, match="out must be a numpy.ndarray"):
        imfilt.convolve(x, w, "same", out=[[0] * 10] * 10)
    for call in (lambda o: imfilt.convolve(x, w, "same", out=o),
                 lambda o: imfilt.median(x, 3, out=o), lambda o: imfilt.gaussian(x, 1, out=o)):
        with pytest.raises(TypeError, match="out is a numpy.matrix"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PendingDeprecationWarning)   # np.matrix's
                call(np.asmatrix(np.empty((10, 10))))
    # dtype= and out= together
    out = np.empty((10, 10), dtype=np.uint8)
    imfilt.convolve(x, w, "same", dtype=np.uint8, out=out)
    assert out[5, 5] == 9


# --- streaming stores ----------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_streaming_stores_write_the_same_bytes(dtype):
    """Outputs at least the size of the last-level cache are written with
    streaming stores; the kernel gives the same bytes either way, for every
    row length (aligned and unaligned rows, tails shorter than a vector),
    one- and two-row kernels, strided and dilated taps, and any thread
    count."""
    from imfilt._kernels import _conv
    kernel = _conv.correlate_padded["float" if dtype == np.float32 else "double"]
    rng = np.random.default_rng(7)
    for n1 in (1, 7, 16, 31, 64, 129, 200, 333):
        for (k0, k1), s1, d1 in (((3, 3), 1, 1), ((5, 2), 1, 1), ((1, 7), 1, 2), ((3, 3), 2, 1)):
            x = rng.standard_normal((2, 11, n1)).astype(dtype)
            w = rng.standard_normal((1, k0, k1)).astype(dtype)
            pl = (k1 - 1) * d1 // 2
            o1 = -(-n1 // s1)
            P1 = (o1 - 1) * s1 + (k1 - 1) * d1 + 1
            colmap = _methods._axis_map(n1, pl, P1, "symm")
            rowmap = _methods._axis_map(11, k0 // 2, 11 + k0 - 1, "symm")
            results = []
            for stream, threads, shift in ((False, 1, 0), (True, 1, 0), (True, 2, 1), (True, 2, 3)):
                # an output starting off the vector alignment by ``shift`` elements
                buf = np.full(2 * 11 * o1 + shift, np.nan, dtype)
                out = buf[shift:].reshape(2, 11, o1)
                kernel(x, w, out, rowmap, colmap, pl, 1, s1, 1, d1, dtype(0), threads, 0, stream)
                results.append(out.copy())
            for r in results[1:]:
                assert r.tobytes() == results[0].tobytes(), (n1, k0, k1, s1, d1)


def test_large_outputs_stream_and_match_scipy():
    """A result beyond the last-level cache (the streaming path) equals SciPy's."""
    from imfilt._threads import last_level_cache_bytes
    rows = last_level_cache_bytes() // (4 * 1024) + 8
    rng = np.random.default_rng(8)
    x = rng.standard_normal((rows, 1024)).astype(np.float32)
    w = rng.standard_normal((3, 3)).astype(np.float32)
    got = imfilt.convolve(x, w, "same", "symm", method="direct")
    assert got.nbytes >= last_level_cache_bytes()
    ref = signal.convolve2d(x[:300].astype(np.float64), w.astype(np.float64), "same", "symm")
    np.testing.assert_allclose(got[:299], ref[:299], rtol=0, atol=_tol(x, w, np.float32))
    part = imfilt.convolve(x[:300], w, "same", "symm", method="direct")
    assert got[:299].tobytes() == part[:299].tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.dtype(">f8"), np.complex128])
def test_magnitude_check_of_the_fft_and_separable_methods(dtype, rng):
    """``auto`` reads the image's largest |value| before it picks FFT or
    separable (NaN/inf keep direct's exact pattern): one threaded pass over
    float images, max/min otherwise; the same value for any thread count."""
    for shape in ((1, 0, 0), (1, 1, 1), (2, 3, 5), (3, 70000, 1), (1, 300, 301)):
        x = rng.standard_normal(shape).astype(dtype)
        if np.dtype(dtype).kind == "c":
            x = x + 1j
        ref = float(np.abs(x).max()) if x.size else 0.0
        for nt in (1, 2):
            assert _methods._magnitude(x, nt) == ref
        if x.size > 1 and np.dtype(dtype).kind == "f":
            y = x.copy()
            y.flat[0] = -np.inf
            assert _methods._magnitude(y, 2) == np.inf
            y.flat[-1] = np.nan
            assert np.isnan(_methods._magnitude(y, 2))
    if np.dtype(dtype).kind == "f":
        # the float kernel works on the bits: signs, subnormals, the extremes
        f = np.finfo(dtype)
        for values in ([-0.0, 0.0], [f.smallest_subnormal, -f.tiny], [f.max, -f.max],
                       [-np.inf, 1.0], [-np.nan, 2.0]):
            x = np.array(values, dtype).reshape(1, 1, -1)
            got = _methods._magnitude(x, 2)
            if np.isnan(x).any():
                assert np.isnan(got)
            else:
                assert got == float(np.abs(x).max())
