"""The separable engine (imfilt._separable) against numpy.pad + scipy.ndimage.

The definition of a pass: pad the array once by ``numpy.pad`` (windows longer
than the axis fold repeatedly), then correlate each line with the weights
and keep the unpadded part.
"""

import numpy as np
import pytest
from scipy import ndimage as ndi

from imfilt import _separable as S
from imfilt._modes import BOUNDARIES, NUMPY_PAD_MODE


def reference(x, passes, boundary, fill):
    """np.pad once with every pass's extent, correlate each axis, crop."""
    x = x.astype(np.float64)
    pads = [(0, 0)] * x.ndim
    for p in passes:
        pads[p.axis] = (p.before, p.length - 1 - p.before)
    kw = {"constant_values": fill} if boundary == "fill" else {}
    y = np.pad(x, pads, mode=NUMPY_PAD_MODE[boundary], **kw)
    for p in passes:
        w = np.full(p.length, 1.0 / p.length) if p.box is not None else p.weights
        # Full correlation along the axis, then take the 'valid' part.
        y = np.apply_along_axis(lambda line: np.correlate(line, w, "valid"), p.axis, y)
    return y


def tol(real, scale):
    return 64 * np.finfo(real).eps * scale


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("real", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (9,), (1, 1), (6, 1), (7, 11), (3, 5, 40), (2, 3, 4, 5)])
def test_weights_every_axis(boundary, real, shape, rng):
    x = rng.standard_normal(shape)
    kinds = [rng.standard_normal(5), np.array([1.0, 2.0, 1.0]), np.array([1.0, 0.0, -1.0]),
             rng.standard_normal(4), np.array([0.5])]
    passes = [S.Pass(a, kinds[a % len(kinds)], before=[2, 1, 1, 3, 0][a % 5])
              for a in range(len(shape))]
    fill = 1.5 if boundary == "fill" else 0.0
    got = S.run_passes(x, passes, boundary, fill, real, 2)
    ref = reference(x.astype(real), passes, boundary, fill)
    assert got.dtype == real and got.shape == x.shape
    np.testing.assert_allclose(got, ref, rtol=0, atol=tol(real, 8 * max(1, np.abs(ref).max())))


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("n, k", [(1, 7), (2, 9), (3, 25), (5, 31), (4, 4)])
def test_windows_longer_than_the_axis_fold_repeatedly(boundary, n, k, rng):
    x = rng.standard_normal((n, n + 1))
    passes = [S.Pass(0, rng.standard_normal(k)), S.Pass(1, rng.standard_normal(k))]
    got = S.run_passes(x, passes, boundary, -0.5, np.float64, 2)
    ref = reference(x, passes, boundary, -0.5)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * max(1, np.abs(ref).max()))
    got = S.run_passes(x, [S.Pass(0, box=k), S.Pass(1, box=k)], boundary, -0.5, np.float64, 2)
    ref = reference(x, [S.Pass(0, box=k), S.Pass(1, box=k)], boundary, -0.5)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("boundary", ["symm", "reflect", "edge", "wrap"])
def test_kernels_far_longer_than_the_image(boundary, rng):
    # Each image row is filtered once along the last axis, not once per
    # padded row: a 40001-tap pass down 5 rows takes milliseconds (the
    # fused sweep took time growing with the square of the length).
    x = rng.standard_normal((5, 6))
    w = np.exp(-np.linspace(-4, 4, 40001) ** 2 / 2)
    w /= w.sum()
    for passes in ([S.Pass(0, w), S.Pass(1, w[::2].copy())],
                   [S.Pass(0, box=40001), S.Pass(1, box=20002)]):
        got = S.run_passes(x, passes, boundary, 0.0, np.float64, 2)
        ref = x
        for p in passes[::-1]:   # a pad along one axis at a time is the same here
            ref = reference(ref, [p], boundary, 0.0)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("size", [1, 2, 3, 4, 8, 15])
def test_box_equals_uniform_filter(boundary, size, rng):
    x = rng.standard_normal((3, 21, 17)).astype(np.float32)
    passes = [S.Pass(a, before=size // 2, box=size) for a in range(3)]
    got = S.run_passes(x, passes, boundary, 0.0, np.float32, 2)
    mode = {"fill": "constant", "wrap": "wrap", "symm": "reflect", "reflect": "mirror",
            "edge": "nearest"}[boundary]
    ref = ndi.uniform_filter(x.astype(np.float64), size, mode=mode)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)


def test_box_nan_stays_in_its_windows(rng):
    x = rng.standard_normal((30, 40))
    x[5, 7] = np.nan
    x[20, 30] = np.inf
    x[25, 2] = -np.inf
    got = S.run_passes(x, [S.Pass(0, box=3), S.Pass(1, box=4)], "symm", 0, np.float64, 2)
    ref = ndi.correlate(x, np.full((3, 4), 1 / 12), mode="reflect", origin=(0, 0))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
    ok = np.isfinite(ref)
    np.testing.assert_allclose(got[ok], ref[ok], atol=1e-12)
    # Along a non-last axis too (column chunks).
    got = S.run_passes(x, [S.Pass(0, box=5)], "edge", 0, np.float64, 2)
    ref = ndi.correlate1d(x, np.full(5, 0.2), axis=0, mode="nearest")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got[np.isfinite(ref)], ref[np.isfinite(ref)], atol=1e-12)


def test_fused_equals_two_single_passes(rng):
    x = rng.standard_normal((3, 70, 90)).astype(np.float32)
    w0, w1 = rng.standard_normal(7), rng.standard_normal(9)
    fused = S.run_passes(x, [S.Pass(1, w0), S.Pass(2, w1)], "reflect", 0, np.float32, 2)
    a = S.run_passes(x, [S.Pass(2, w1)], "reflect", 0, np.float32, 2)
    b = S.run_passes(a, [S.Pass(1, w0)], "reflect", 0, np.float32, 2)
    np.testing.assert_array_equal(fused, b)


@pytest.mark.parametrize("real", [np.float32, np.float64])
@pytest.mark.parametrize("form", ["symmetric", "antisymmetric", "general"])
def test_fused_rows_in_fours(real, form, rng):
    # The column pass forms output rows four at a time; a band's last one to
    # three rows go by twos and ones.  Heights 1..18 with bands of 4 * k0
    # rows per thread leave every remainder, at every thread count, and each
    # row must carry the single passes' bits.
    w0 = {"symmetric": np.array([0.25, 0.5, 0.25]), "antisymmetric": np.array([-1.0, 0.0, 1.0]),
          "general": rng.standard_normal(4)}[form]
    w1 = rng.standard_normal(5)
    for H in range(1, 19):
        x = rng.standard_normal((2, H, 45)).astype(real)
        passes = [S.Pass(1, w0), S.Pass(2, w1)]
        a = S.run_passes(x, [passes[1]], "symm", 0, real, 1)
        b = S.run_passes(a, [passes[0]], "symm", 0, real, 1)
        for nt in (1, 2, 3):
            np.testing.assert_array_equal(S.run_passes(x, passes, "symm", 0, real, nt), b,
                                          err_msg=f"H={H} threads={nt}")


@pytest.mark.parametrize("boundary", ["fill", "symm", "wrap", "reflect"])
@pytest.mark.parametrize("source", ["float32", "uint8"])
def test_fused_strips_and_row_pairs(boundary, source, rng):
    # Wide rows and a long column kernel: the fused pass runs in column
    # strips (ring rows in L2), forms output rows in fours (band lengths
    # leave pairs and single rows) and reads float rows in place except at
    # the edges.  Every piece must give the single passes' bits and the
    # reference's values, for any thread count.
    shape = (2, 77, 701)
    if source == "uint8":
        x = rng.integers(0, 256, shape, dtype=np.uint8)
    else:
        x = rng.standard_normal(shape).astype(np.float32)
    w0 = np.exp(-np.arange(-20, 21) ** 2 / 90.0)          # 41 taps, symmetric
    w1 = rng.standard_normal(12)                           # even, general
    passes = [S.Pass(1, w0), S.Pass(2, w1, before=3)]
    fused = S.run_passes(x, passes, boundary, 0.5, np.float32, 1)
    a = S.run_passes(x, [passes[1]], boundary, 0.5, np.float32, 1)
    fill = S._next_fill(passes[1], 0.5, np.dtype(np.float32)) if boundary == "fill" else 0.5
    b = S.run_passes(a, [passes[0]], boundary, fill, np.float32, 1)
    np.testing.assert_array_equal(fused, b)
    for nt in (2, 3):
        np.testing.assert_array_equal(S.run_passes(x, passes, boundary, 0.5, np.float32, nt), fused)
    ref = reference(x, passes, boundary, 0.5)
    np.testing.assert_allclose(fused, ref, rtol=0, atol=tol(np.float32, 16 * np.abs(ref).max()))


@pytest.mark.parametrize("real", [np.float32, np.float64])
@pytest.mark.parametrize("form", ["symmetric", "antisymmetric", "general"])
def test_row_pass_equals_the_column_pass_bit_for_bit(real, form, rng):
    # A pass along the contiguous axis reads each output's k values from one
    # line; for 5 <= k <= 17 (AVX-512) it builds them from aligned blocks of the
    # line, with the outputs before the first aligned block and after the
    # last on the general kernel.  A pass along a non-contiguous axis reads k
    # separate rows.  Both must give every output the same bits: filtering the
    # rows equals filtering the columns of the transposed copy, for every k
    # around the limit, row lengths that put the rows at every alignment and
    # tails of every length, float and uint8 sources.
    for k in range(2, 20):
        if form == "general":
            w = rng.standard_normal(k)
        elif k % 2 == 0:
            continue
        else:
            half = rng.uniform(0.1, 1.0, k // 2)
            mid = [rng.uniform(0.1, 1.0)] if form == "symmetric" else [0.0]
            w = np.concatenate([half, mid, half[::-1] * (1 if form == "symmetric" else -1)])
        for W in (1, 5, 16, 17, 40, 63, 100, 161):
            x = rng.standard_normal((3, 19, W)).astype(real)
            for boundary in ("symm", "fill"):
                rows = S.run_passes(x, [S.Pass(2, w)], boundary, 0.5, real, 2)
                xt = np.ascontiguousarray(np.swapaxes(x, 1, 2))
                cols = S.run_passes(xt, [S.Pass(1, w)], boundary, 0.5, real, 2)
                np.testing.assert_array_equal(rows, np.swapaxes(cols, 1, 2),
                                              err_msg=f"k={k} W={W} {boundary}")
            x8 = rng.integers(0, 256, (2, 9, W), dtype=np.uint8)
            passes = [S.Pass(1, [0.25, 0.5, 0.25]), S.Pass(2, w)]
            np.testing.assert_array_equal(S.run_passes(x8, passes, "symm", 0, real, 2),
                                          S.run_passes(x8.astype(real), passes, "symm", 0, real,
                                                       2), err_msg=f"uint8 k={k} W={W}")


@pytest.mark.parametrize("boundary", ["fill", "symm", "wrap"])
def test_fused_box_equals_two_single_passes(boundary, rng):
    # Running sums restart every 256 outputs in every path, so the fused 2-D
    # box, the single passes and a channel-last layout agree bit for bit.
    x = rng.standard_normal((2, 600, 530)).astype(np.float32)
    fused = S.run_passes(x, [S.Pass(1, box=7), S.Pass(2, box=4)], boundary, 0.5, np.float32, 2)
    a = S.run_passes(x, [S.Pass(2, box=4)], boundary, 0.5, np.float32, 2)
    b = S.run_passes(a, [S.Pass(1, box=7)], boundary, float(a.dtype.type(0.5)), np.float32, 2)
    np.testing.assert_array_equal(fused, b)
    last = S.run_passes(np.moveaxis(x, 0, -1), [S.Pass(0, box=7), S.Pass(1, box=4)], boundary,
                        0.5, np.float32, 2)
    np.testing.assert_array_equal(np.moveaxis(last, -1, 0), fused)
    x[0, 300, 200] = np.nan
    fused = S.run_passes(x, [S.Pass(1, box=7), S.Pass(2, box=4)], boundary, 0.5, np.float32, 2)
    assert np.isnan(fused).sum() == 28


@pytest.mark.parametrize("shape", [(1, 300), (131, 257), (4, 33, 65), (1000, 3)])
@pytest.mark.parametrize("real", [np.float32, np.float64])
def test_thread_count_does_not_change_a_bit(shape, real, rng):
    x = rng.standard_normal(shape)
    sym = np.exp(-np.arange(-6, 7) ** 2 / 10.0)
    for passes in ([S.Pass(a, sym) for a in range(len(shape))],
                   [S.Pass(a, rng.standard_normal(4)) for a in range(len(shape))],
                   [S.Pass(a, box=6) for a in range(len(shape))]):
        ref = S.run_passes(x, passes, "fill", 0.25, real, 1)
        for nt in (2, 3, 7):
            np.testing.assert_array_equal(S.run_passes(x, passes, "fill", 0.25, real, nt), ref)


def test_never_writes_into_the_input_and_handles_layouts(rng):
    base = rng.standard_normal((20, 30))
    x = base[::2, ::-3].copy(order="F")[:, :]
    xs = base[::2, ::-3]
    big = xs.astype(">f8")
    keep = xs.copy()
    passes = lambda: [S.Pass(0, [1.0, 2.0, 1.0]), S.Pass(1, [1.0, -1.0])]  # noqa: E731
    a = S.run_passes(xs, passes(), "symm", 0, np.float64, 2)
    b = S.run_passes(x, passes(), "symm", 0, np.float64, 2)
    c = S.run_passes(big, passes(), "symm", 0, np.float64, 2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(xs, keep)


def test_empty_arrays(rng):
    for shape in [(0,), (0, 5), (5, 0), (2, 0, 3)]:
        x = np.zeros(shape)
        out = S.run_passes(x, [S.Pass(a, [1.0, 2.0, 1.0]) for a in range(len(shape))],
                           "symm", 0, np.float64, 2)
        assert out.shape == shape
