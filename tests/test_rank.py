"""median / rank_filter / percentile_filter: exact parity with scipy.ndimage,
a brute-force numpy reference (np.pad + sorted windows) where SciPy is not
exact or not defined, NaN policies, properties and hostile inputs.

Rules checked here: output ``i`` sees inputs ``i - size//2 .. i +
(size-1)//2`` (footprint index ``j`` is offset ``j - size//2``); the median
of ``n`` values is rank ``n // 2``; a percentile ``p`` (``p + 100`` when
negative) is rank ``int(n * p / 100)`` capped at ``n - 1``; the result has
the image's dtype; boundaries are numpy.pad's and fold repeatedly.
"""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from scipy import ndimage as ndi

import imfilt
from imfilt import _ranking, median, percentile_filter, rank_filter
from imfilt._kernels import _rank as _k
from imfilt._modes import BOUNDARIES, NUMPY_PAD_MODE
from imfilt._ranking import rank_halo, rank_table, selection_network

NDI_MODE = {"fill": "constant", "wrap": "wrap", "symm": "reflect", "reflect": "mirror",
            "edge": "nearest"}
DTYPES = ["bool", "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64",
          "float32", "float64"]


def _data(rng, shape, dtype, lo=-60, hi=200):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind == "u":
        lo = 0
    if dtype.itemsize == 1:
        lo, hi = (0, 256) if dtype.kind == "u" else (-128, 128)
    return rng.integers(lo, hi, size=shape).astype(dtype)


def reference(x, fp, boundary, fill, kind, value, omit=False):
    """Brute force: pad with numpy.pad, sort each window, pick the rank."""
    before = [s // 2 for s in fp.shape]
    after = [s - 1 - s // 2 for s in fp.shape]
    if x.dtype.kind in "iu":  # integer images: fill truncated and saturated
        info = np.iinfo(x.dtype)
        fill = min(max(int(fill), info.min), info.max)
    kw = {"constant_values": fill} if boundary == "fill" else {}
    xp = np.pad(x, list(zip(before, after)), mode=NUMPY_PAD_MODE[boundary], **kw)
    win = np.sort(sliding_window_view(xp, fp.shape)[..., fp], axis=-1)  # NaN sort last
    K = win.shape[-1]
    table = rank_table(kind, value, K)
    if omit:
        m = np.count_nonzero(~np.isnan(win), axis=-1)
    else:
        m = np.full(x.shape, K)
    r = table[m]
    got = np.take_along_axis(win, np.maximum(r, 0)[..., None], axis=-1)[..., 0]
    if win.dtype.kind == "f":
        got = np.where(r < 0, np.nan, got)
        if not omit:
            got = np.where(np.isnan(win).any(axis=-1), np.nan, got)
    return got.astype(x.dtype)


# ---------------------------------------------------------------------------
# parity with scipy.ndimage


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_median_sizes_dims_parity(dtype, boundary, rng):
    for shape in [(9,), (7, 8), (4, 5, 6), (3, 4, 3, 5)]:
        x = _data(rng, shape, dtype)
        for size in (1, 2, 3, 4, 5):
            ref = ndi.median_filter(x, size, mode=NDI_MODE[boundary], cval=7)
            got = median(x, size, boundary=boundary, fillvalue=7, axes=tuple(range(len(shape))))
            assert got.dtype == x.dtype
            np.testing.assert_array_equal(got, ref, err_msg=f"{shape} size={size}")


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "uint16", "int16", "uint32",
                                   "int64", "uint64"])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_median_3x3_5x5_wide_rows_parity(dtype, boundary, rng):
    # Integer 3x3 and 5x5 medians of wide enough rows are read in place (two
    # output rows at once, whole SIMD chunks, the last chunk overlapping, edge
    # pixels apart): 5x5 from 68 pixels, 3x3 from 512 bytes + 2 pixels (514
    # uint8 .. 66 int64 pixels); rows of several chunks carry column sorts over.
    for shape in [(1, 68), (2, 69), (5, 130), (4, 3, 201), (3, 514), (2, 515), (2, 3, 1100)]:
        x = _data(rng, shape, dtype, lo=-1000, hi=1000)
        for k in (3, 5):
            fp = (1,) * (len(shape) - 2) + (k, k)
            ref = ndi.median_filter(x, fp, mode=NDI_MODE[boundary], cval=7)
            got = median(x, k, boundary=boundary, fillvalue=7, axes=(-2, -1))
            assert got.dtype == x.dtype
            np.testing.assert_array_equal(got, ref, err_msg=f"{shape} {k}")
            np.testing.assert_array_equal(
                rank_filter(x, k * k // 2, k, boundary=boundary, fillvalue=7, axes=(-2, -1)),
                ref)
            np.testing.assert_array_equal(
                median(x, k, boundary=boundary, fillvalue=7, axes=(-2, -1), workers=3), ref)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_median_3x3_5x5_wide_float_rows(dtype, rng):
    # Float images without NaN take the in-place 3x3 / 5x5 path as well
    # (infinities are values); a NaN in the image or a NaN fill value sends
    # them to the padded path, whose networks handle NaN.
    for shape in [(9, 140), (2, 6, 530)]:
        x = rng.normal(size=shape).astype(dtype)
        x.flat[::7] = np.inf
        x.flat[3::11] = -np.inf
        x.flat[5::13] = -0.0
        for k in (3, 5):
            h = k // 2
            fp = (1,) * (len(shape) - 2) + (k, k)
            for boundary in BOUNDARIES:
                ref = ndi.median_filter(x, fp, mode=NDI_MODE[boundary], cval=0.25)
                for w in (1, 3):
                    got = median(x, k, boundary=boundary, fillvalue=0.25, axes=(-2, -1),
                                 workers=w)
                    np.testing.assert_array_equal(got, ref, err_msg=f"{shape} {k} {boundary}")
            y = x.copy()
            y[..., 4, 70] = np.nan
            np.testing.assert_array_equal(
                median(y, k, axes=(-2, -1)),
                reference(y, np.ones(fp, bool), "symm", 0, "median", 0))
            got = median(x, k, boundary="fill", fillvalue=np.nan, axes=(-2, -1))
            assert np.isnan(got[..., 0, :]).all() and np.isnan(got[..., :, -1]).all()
            assert not np.isnan(got[..., h:-h, h:-h]).any()


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8"])
def test_8_bit_boxes_column_histograms(dtype, rng):
    # Full rectangles of more than NETWORK_MAX points on 8-bit data use
    # column histograms, in units of rows x column stripes (edges crossed).
    for shape in [(70, 300), (2, 130, 530), (3, 1), (1, 700)]:
        x = _data(rng, shape, dtype)
        axes = (-2, -1)
        for size, rank in [((15, 15), 112), ((7, 9), -1), ((3, 50), 0), ((60, 1), 31)]:
            fp = (1,) * (len(shape) - 2) + size
            for boundary in ("symm", "fill", "wrap"):
                kw = dict(boundary=boundary, fillvalue=7, axes=axes)
                ref = ndi.rank_filter(x, rank, fp, mode=NDI_MODE[boundary], cval=7)
                np.testing.assert_array_equal(rank_filter(x, rank, size, **kw), ref,
                                              err_msg=f"{shape} {size} {boundary}")
            np.testing.assert_array_equal(median(x, size, axes=axes, workers=3),
                                          ndi.median_filter(x, fp))


def _footprints(rng, ndim):
    n = 5
    yield np.ones((n,) * ndim, bool)                       # full
    hollow = np.ones((n,) * ndim, bool)
    hollow[(slice(1, -1),) * ndim] = False
    yield hollow                                            # hollow
    one = np.zeros((3,) * ndim, bool)
    one.flat[rng.integers(one.size)] = True
    yield one                                               # one pixel (off centre)
    line = np.zeros((4,) * ndim, bool)
    line[(slice(None),) + (1,) * (ndim - 1)] = True
    yield line                                              # line along axis 0
    if ndim >= 2:
        yield np.eye(6, dtype=bool).reshape((6, 6) + (1,) * (ndim - 2))   # diagonal
        yield np.ones((1, 7) + (1,) * (ndim - 2), bool)     # row
    for shape in [(3,) * ndim, (4, 2, 5, 3)[:ndim], (7, 6, 2, 1)[:ndim]]:
        fp = rng.random(shape) < 0.6
        fp.flat[0] = True
        yield fp                                            # random


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", "int64", "float32",
                                   "float64", "bool"])
def test_footprints_ranks_percentiles_parity(dtype, rng):
    for ndim, shape in [(2, (11, 13)), (3, (5, 6, 7))][int(rng.integers(2)) if dtype in ("int8", "uint16") else 0:]:
        x = _data(rng, shape, dtype)
        for fp in _footprints(rng, ndim):
            K = int(fp.sum())
            b = BOUNDARIES[int(rng.integers(len(BOUNDARIES)))]
            kw = dict(mode=NDI_MODE[b], cval=3)
            np.testing.assert_array_equal(
                median(x, footprint=fp, boundary=b, fillvalue=3, axes=tuple(range(ndim))),
                ndi.median_filter(x, footprint=fp, **kw))
            for r in sorted({0, K - 1, K // 3, -(K // 2) - 1})[int(rng.integers(2)):]:
                np.testing.assert_array_equal(
                    rank_filter(x, r, footprint=fp, boundary=b, fillvalue=3,
                                axes=tuple(range(ndim))),
                    ndi.rank_filter(x, r, footprint=fp, **kw), err_msg=f"rank {r} {fp}")
            for p in rng.choice([0, 10, 33.3, 50, 77.7, 100, -20, -100], 3, replace=False):
                np.testing.assert_array_equal(
                    percentile_filter(x, p, footprint=fp, boundary=b, fillvalue=3,
                                      axes=tuple(range(ndim))),
                    ndi.percentile_filter(x, p, footprint=fp, **kw), err_msg=f"p {p}")


def test_one_d_footprints(rng):
    # SciPy's 1-D fast path ignores the footprint's holes; its N-D path is
    # the reference here (a leading axis of length 1).
    x = rng.normal(size=40).astype(np.float32)
    for fp in ([1, 0, 1, 1, 0, 1, 1], [0, 1], [1, 1, 0, 0, 0, 0, 0, 0, 1]):
        fp = np.array(fp, bool)
        for b in BOUNDARIES:
            ref = ndi.median_filter(x[None], footprint=fp[None], mode=NDI_MODE[b])[0]
            np.testing.assert_array_equal(median(x, footprint=fp, boundary=b), ref)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int32", "float32", "int64"])
def test_nine_point_footprints_that_are_not_a_3x3_square(dtype, rng):
    # A footprint of 9 points spanning 3x3 on its last two axes is not the
    # 3x3 square unless it is one plane of it; the in-register 3x3 median
    # must not be taken for the others.
    x = _data(rng, (6, 5, 7), dtype, lo=0, hi=1000)
    fps = [np.zeros((2, 3, 3), bool), np.zeros((3, 3, 3), bool), np.ones((1, 3, 3), bool)]
    fps[0][0, :, 0] = fps[0][1, :, 1:] = True
    fps[1][[0, 1, 2, 1, 1, 0, 2, 0, 2], [0, 1, 2, 0, 2, 1, 1, 2, 0], [1, 1, 1, 0, 2, 0, 2, 2, 0]] = True
    for fp in fps:
        assert fp.sum() == 9
        for b in BOUNDARIES:
            np.testing.assert_array_equal(
                median(x, footprint=fp, boundary=b, fillvalue=2, axes=(0, 1, 2)),
                ndi.median_filter(x, footprint=fp, mode=NDI_MODE[b], cval=2), err_msg=b)


def test_one_d_windows_longer_than_the_image(rng):
    # SciPy's 1-D fast path folds such windows differently under reflect and
    # mirror; its N-D path and numpy.pad agree with imfilt.
    for n in (1, 2, 3, 5):
        x = rng.integers(0, 100, n).astype(np.float32)
        for size in range(1, 3 * n + 3):
            for b in BOUNDARIES:
                ref = ndi.median_filter(x[None], size=(1, size), mode=NDI_MODE[b], cval=3)[0]
                np.testing.assert_array_equal(median(x, size, boundary=b, fillvalue=3), ref)
                direct = reference(x, np.ones(size, bool), b, 3, "median", None)
                np.testing.assert_array_equal(ref, direct)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", "float32", "int32"])
def test_large_windows_all_algorithms(dtype, rng):
    # Footprints above the sorting-network limit: histograms (8/16-bit)
    # and selection (others).
    x = _data(rng, (23, 29), dtype, lo=-3000, hi=3000)
    for size in [(7, 9), (8, 8), (15, 3), (1, 60)]:
        for b in BOUNDARIES:
            for r in (0, -1, 17, -30):
                K = size[0] * size[1]
                if not -K <= r < K:
                    continue
                np.testing.assert_array_equal(
                    rank_filter(x, r, size, boundary=b, fillvalue=-5),
                    reference(x, np.ones(size, bool), b, -5, "rank", r), err_msg=f"{size} {b}")
            np.testing.assert_array_equal(
                median(x, size, boundary=b, fillvalue=5),
                ndi.median_filter(x, size, mode=NDI_MODE[b], cval=5))


def test_window_larger_than_image_folds(rng):
    x = rng.normal(size=(3, 4))
    for b in BOUNDARIES:
        for size in [(9, 11), (2, 17)]:
            np.testing.assert_array_equal(
                median(x, size, boundary=b, fillvalue=1.5),
                reference(x, np.ones(size, bool), b, 1.5, "median", 0))
    one = np.array([[4.0]])
    assert median(one, 5, boundary="reflect")[0, 0] == 4.0


def test_64_bit_extremes():
    big = np.iinfo(np.int64).max
    x = np.array([[big, big - 1, big - 3], [big - 2, -big - 1, big - 5], [3, big - 4, -big]],
                 dtype=np.int64)
    for b in BOUNDARIES:
        for r in (0, 4, -2):
            np.testing.assert_array_equal(
                rank_filter(x, r, 3, boundary=b, fillvalue=big - 7),
                reference(x, np.ones((3, 3), bool), b, big - 7, "rank", r))
    u = (np.iinfo(np.uint64).max - np.arange(12, dtype=np.uint64)).reshape(3, 4)
    np.testing.assert_array_equal(median(u), reference(u, np.ones((3, 3), bool), "symm", 0,
                                                       "median", 0))


def test_float16_and_inf(rng):
    x = rng.normal(size=(9, 10)).astype(np.float16)
    x[2, 3] = np.inf
    x[5, 5] = -np.inf
    got = median(x, 4, boundary="fill", fillvalue=0.1)
    assert got.dtype == np.float16
    ref = ndi.median_filter(x.astype(np.float32), 4, mode="constant",
                            cval=float(np.float16(0.1))).astype(np.float16)
    np.testing.assert_array_equal(got, ref)


def test_channel_axis_and_axes(rng):
    x = rng.integers(0, 255, size=(12, 10, 3)).astype(np.uint8)
    got = median(x, 3, channel_axis=-1)
    loop = np.stack([ndi.median_filter(x[..., c], 3) for c in range(3)], axis=-1)
    np.testing.assert_array_equal(got, loop)
    got0 = median(x, (3, 5), channel_axis=0, axes=(1, 2))
    loop0 = np.stack([ndi.median_filter(x[c], (3, 5)) for c in range(12)])
    np.testing.assert_array_equal(got0, loop0)
    stack = rng.normal(size=(4, 9, 8))
    np.testing.assert_array_equal(median(stack, 3, axes=(1, 2)),
                                  ndi.median_filter(stack, (1, 3, 3)))
    np.testing.assert_array_equal(rank_filter(stack, 1, 5, axes=0),
                                  ndi.rank_filter(stack, 1, (5, 1, 1)))
    with pytest.raises(ValueError, match="channel_axis=-1"):
        median(x)


# ---------------------------------------------------------------------------
# NaN policies


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_omit_against_brute_force(dtype, rng):
    x = rng.normal(size=(15, 17)).astype(dtype)
    x[rng.random(x.shape) < 0.25] = np.nan
    x[:4, :5] = np.nan                         # an all-NaN window
    for size in [3, 5, (2, 5), 8]:
        fp = np.ones(size if isinstance(size, tuple) else (size, size), bool)
        for b in BOUNDARIES:
            got = median(x, size, boundary=b, fillvalue=0.5, nan_policy="omit")
            ref = reference(x, fp, b, 0.5, "median", 0, omit=True)
            np.testing.assert_array_equal(got, ref)
            for r in (2, -3):
                np.testing.assert_array_equal(
                    rank_filter(x, r, size, boundary=b, fillvalue=0.5, nan_policy="omit"),
                    reference(x, fp, b, 0.5, "rank", r, omit=True))
            np.testing.assert_array_equal(
                percentile_filter(x, 30, size, boundary=b, nan_policy="omit"),
                reference(x, fp, b, 0, "percentile", 30, omit=True))
    vol = rng.normal(size=(6, 7, 8)).astype(dtype)
    vol[rng.random(vol.shape) < 0.3] = np.nan
    vol[:3, :3, :3] = np.nan
    for b in ("symm", "fill"):
        ref = reference(vol, np.ones((3, 3, 3), bool), b, 0.5, "median", 0, omit=True)
        np.testing.assert_array_equal(
            median(vol, 3, boundary=b, fillvalue=0.5, axes=(0, 1, 2), nan_policy="omit"), ref)
        prop = reference(vol, np.ones((3, 3, 3), bool), b, 0.5, "median", 0)
        np.testing.assert_array_equal(
            median(vol, 3, boundary=b, fillvalue=0.5, axes=(0, 1, 2)), prop)
    # rows longer than the kernels' chunk of per-pixel NaN counts (256)
    wide = rng.normal(size=(7, 600)).astype(dtype)
    wide[rng.random(wide.shape) < 0.2] = np.nan
    for size in (3, 5):
        fp = np.ones((size, size), bool)
        np.testing.assert_array_equal(median(wide, size, nan_policy="omit"),
                                      reference(wide, fp, "symm", 0, "median", 0, omit=True))
    # the median of the finite values is np.nanmedian's upper element
    w = np.array([1.0, np.nan, 5.0, 2.0, np.nan])
    assert median(w, 5, boundary="edge", nan_policy="omit")[2] == 2.0


def _nan_field(rng, shape, dtype):
    """Values with NaN whose density runs from 0 to 1 along the last axis
    (5x5 windows holding every count 0 .. 25), a dense NaN cluster, and
    +inf / -inf values (which NaN, sorted last as +inf, must not disturb)."""
    x = rng.normal(size=shape).astype(dtype)
    density = np.linspace(-0.1, 1.1, shape[-1])
    x[rng.random(shape) < density] = np.nan
    x[rng.random(shape) < 0.08] = np.inf
    x[rng.random(shape) < 0.04] = -np.inf
    x[..., 1:6, 3:9] = np.nan
    x[..., -3:, 30:33] = np.inf
    x[..., -2:, 31:35] = np.nan
    return x


@pytest.mark.parametrize("size", [3, 5])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_in_place_against_brute_force(dtype, size, rng, monkeypatch):
    """The in-place 3x3 and 5x5 medians with NaN (NaN counted and sorted
    last; the 5x5 computes two output rows sharing their 20 common points):
    'omit' is rank m // 2 of the m non-NaN values (NaN when m = 0),
    'propagate' NaN for any NaN, at every boundary (a NaN fill value too),
    widths around the chunk, odd and even heights, stacks and thread counts."""
    modes = []

    def spy(*args):
        modes.append(args[-1])
        return direct(*args)

    direct = _k.median_direct
    monkeypatch.setattr(_ranking._k, "median_direct", spy)
    h = size // 2
    block = _k.DIRECT_MIN_WIDTH[h, np.dtype(dtype).itemsize] - 2 * h
    fp = np.ones((size, size), bool)
    for H, W in [(5, block + 2 * h), (8, block + 5), (9, 2 * block + 3), (2, block + 7),
                 (6, 3 * block + 4), (7, 2 * block + 4 + block // 2), (4, 40)]:
        x = _nan_field(rng, (H, W), dtype)
        for b in BOUNDARIES:
            for fill in (0.5, np.nan, np.inf):
                if b != "fill" and fill != 0.5:
                    continue
                for policy in ("omit", "propagate"):
                    got = median(x, size, boundary=b, fillvalue=fill, nan_policy=policy)
                    ref = reference(x, fp, b, fill, "median", 0, omit=policy == "omit")
                    np.testing.assert_array_equal(got, ref, err_msg=f"{H}x{W} {b} {fill} {policy}")
    assert set(modes) == {1, 2}
    # stacks of planes, threads, and the windows' NaN counts really spanning 0 .. size**2
    x = _nan_field(rng, (3, 9, 2 * block + 9), dtype)
    counts = sliding_window_view(np.pad(np.isnan(x), ((0, 0), (h, h), (h, h)), "symmetric"),
                                 (size, size), axis=(1, 2)).sum(axis=(-2, -1))
    assert set(np.unique(counts)) == set(range(size * size + 1))
    ref = reference(x, np.ones((1, size, size), bool), "symm", 0, "median", 0, omit=True)
    for workers in (1, 2, 3):
        np.testing.assert_array_equal(
            median(x, size, axes=(1, 2), nan_policy="omit", workers=workers), ref)
    # a rank that equals the median's rank but is not a median keeps the
    # padded path under 'omit' (its table differs); 'propagate' reads in place
    modes.clear()
    r = size * size // 2
    np.testing.assert_array_equal(
        rank_filter(x[0], r, size, nan_policy="omit"),
        reference(x[0], fp, "symm", 0, "rank", r, omit=True))
    np.testing.assert_array_equal(rank_filter(x[0], r, size),
                                  reference(x[0], fp, "symm", 0, "rank", r))
    assert modes == [1]


def test_nan_propagate_and_raise(rng):
    x = rng.normal(size=(12, 12)).astype(np.float32)
    x[5, 6] = np.nan
    got = median(x, 3)
    assert np.isnan(got[4:7, 5:8]).all()
    assert np.count_nonzero(np.isnan(got)) == 9
    clean = np.isfinite(got)
    np.testing.assert_array_equal(got[clean], ndi.median_filter(x, 3)[clean])
    # a NaN fill value reaches every border window
    y = rng.normal(size=(6, 6))
    assert np.isnan(median(y, 3, boundary="fill", fillvalue=np.nan)[0]).all()
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        median(x, 3, nan_policy="raise")
    np.testing.assert_array_equal(median(y, 3, nan_policy="raise"), ndi.median_filter(y, 3))
    with pytest.raises(ValueError, match="nan_policy"):
        median(x, nan_policy="ignore")


def test_nan_large_windows_select_path(rng):
    x = rng.normal(size=(10, 30))
    x[rng.random(x.shape) < 0.3] = np.nan
    fp = np.ones((3, 21), bool)
    np.testing.assert_array_equal(median(x, (3, 21), nan_policy="omit"),
                                  reference(x, fp, "symm", 0, "median", 0, omit=True))
    np.testing.assert_array_equal(median(x, (3, 21)),
                                  reference(x, fp, "symm", 0, "median", 0))


# ---------------------------------------------------------------------------
# layouts, out=, threads


def test_layouts_and_out(rng):
    x = rng.normal(size=(20, 30))
    ref = ndi.median_filter(x, 3)
    np.testing.assert_array_equal(median(x[::2, ::3], 3), ndi.median_filter(x[::2, ::3], 3))
    np.testing.assert_array_equal(median(x.T, 3), ndi.median_filter(x.T, 3))
    be = x.astype(">f8")
    np.testing.assert_array_equal(median(be, 3), ref)
    ro = x.copy()
    ro.setflags(write=False)
    np.testing.assert_array_equal(median(ro, 3), ref)
    out = np.empty_like(x)
    assert median(x, 3, out=out) is out
    np.testing.assert_array_equal(out, ref)
    outT = np.empty((30, 20)).T
    median(x, 3, out=outT)
    np.testing.assert_array_equal(outT, ref)
    with pytest.raises(ValueError, match="dtype"):
        median(x, 3, out=np.empty(x.shape, np.float32))
    with pytest.raises(ValueError, match="overlaps"):
        median(x, 3, out=x)
    assert median(np.zeros((0, 5)), 3).shape == (0, 5)
    assert median(np.zeros((4, 0), np.uint8), 3).dtype == np.uint8


def test_workers_bit_identical(rng):
    for dtype, size in [("float32", 3), ("float64", 9), ("uint8", 11), ("uint16", 9),
                        ("int64", 4)]:
        x = _data(rng, (37, 41), dtype, lo=-1000, hi=1000)
        one = median(x, size, workers=1)
        for w in (2, 3, 5):
            np.testing.assert_array_equal(median(x, size, workers=w), one)


def test_selection_network_is_correct(rng):
    # The pruned networks leave the wanted ranks on their wires.
    for K in (2, 3, 9, 25, 27):
        wanted = tuple(sorted({0, K // 2, K - 1}))
        data = rng.random((K, 64))
        v = data.copy()
        for i, j, kind in selection_network(K, wanted).reshape(-1, 3):
            lo, hi = np.minimum(v[i], v[j]), np.maximum(v[i], v[j])
            if kind & 1:
                v[i] = lo
            if kind & 2:
                v[j] = hi
        ref = np.sort(data, axis=0)
        for r in wanted:
            np.testing.assert_array_equal(v[r], ref[r])


def test_rank_halo_makes_chunks_exact(rng):
    # A block extended by rank_halo samples from its neighbours gives, after
    # cropping the halo, the rows of the whole-image result (the contract a
    # chunked caller relies on).
    x = rng.normal(size=(30, 11))
    for size in [(3, 3), (4, 5), (8, 2)]:
        (b0, a0), _ = rank_halo(size)
        whole = median(x, size, boundary="edge")
        for lo, hi in [(0, 10), (10, 21), (21, 30)]:
            s0, s1 = max(lo - b0, 0), min(hi + a0, 30)
            part = median(x[s0:s1], size, boundary="edge")
            np.testing.assert_array_equal(part[lo - s0:lo - s0 + hi - lo], whole[lo:hi])


# ---------------------------------------------------------------------------
# hostile inputs


def test_hostile_inputs():
    x = np.arange(25.0).reshape(5, 5)
    with pytest.raises(ValueError, match="rank=9"):
        rank_filter(x, 9, 3)
    with pytest.raises(ValueError, match="rank=-10"):
        rank_filter(x, -10, 3)
    with pytest.raises(TypeError, match="rank="):
        rank_filter(x, 1.5, 3)
    with pytest.raises(ValueError, match=r"\[-100, 100\]"):
        percentile_filter(x, 100.5, 3)
    with pytest.raises(ValueError, match=r"\[-100, 100\]"):
        percentile_filter(x, -101, 3)
    with pytest.raises(TypeError, match="percentile="):
        percentile_filter(x, "50", 3)
    with pytest.raises(ValueError, match="size="):
        median(x, 0)
    with pytest.raises(ValueError, match="size="):
        median(x, (3, 3, 3))
    with pytest.raises(TypeError, match="size="):
        median(x, 2.5)
    with pytest.raises(TypeError, match="size= .* or footprint="):
        rank_filter(x, 0)
    with pytest.raises(ValueError, match="footprint"):
        median(x, footprint=np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="footprint"):
        median(x, footprint=np.ones(3, bool))
    with pytest.raises(TypeError, match="footprint"):
        median(x, footprint=np.array(["a", "b"]))
    with pytest.raises(ValueError, match="boundary='mirror'.*'reflect'"):
        median(x, boundary="mirror")
    with pytest.raises(TypeError, match="complex"):
        median(x.astype(complex))
    with pytest.raises(ValueError, match="0-d"):
        median(np.float64(3.0))
    with pytest.raises(ValueError, match="axes="):
        median(x, axes=(0, 0))
    with pytest.raises(ValueError, match="axes="):
        median(x, axes=2)
    with pytest.raises(ValueError, match="channel_axis"):
        median(x, axes=(0, 1), channel_axis=1)
    with pytest.raises(ValueError, match="fillvalue"):
        median(x.astype(np.int16), boundary="fill", fillvalue=np.nan)
    with pytest.raises(ValueError, match="workers"):
        median(x, workers=0)
    # fill values outside an integer range saturate
    u = np.full((3, 3), 200, np.uint8)
    assert rank_filter(u, -1, 3, boundary="fill", fillvalue=1000).max() == 255
    assert rank_filter(u, 0, 3, boundary="fill", fillvalue=-3.7).min() == 0


def test_package_exports():
    for name in ("median", "rank_filter", "percentile_filter"):
        assert name in imfilt.__all__
        assert name in imfilt.__doc__


# ---------------------------------------------------------------------------
# properties

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

@st.composite
def _image_and_size(draw):
    dtype = draw(st.sampled_from([np.uint8, np.int16, np.int64, np.float32, np.float64]))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=9))
    if len(shape) == 3 and shape[-1] in (3, 4):
        shape = shape[:-1] + (5,)
    x = draw(hnp.arrays(dtype, shape, elements=st.integers(0, 100)))
    size = draw(st.integers(1, 6))
    boundary = draw(st.sampled_from(BOUNDARIES))
    return x, size, boundary


@given(_image_and_size(), st.integers(-50, 50))
def test_property_constant_and_bounds(case, c):
    x, size, boundary = case
    const = np.full(x.shape, abs(c), dtype=x.dtype)
    np.testing.assert_array_equal(median(const, size, boundary=boundary,
                                         fillvalue=abs(c)), const)
    med = median(x, size, boundary=boundary, fillvalue=50)
    lo = rank_filter(x, 0, size, boundary=boundary, fillvalue=50)
    hi = rank_filter(x, -1, size, boundary=boundary, fillvalue=50)
    assert np.all(lo <= med) and np.all(med <= hi)


@given(_image_and_size())
def test_property_thread_count_bit_identical(case):
    x, size, boundary = case
    a = median(x, size, boundary=boundary, workers=1)
    b = median(x, size, boundary=boundary, workers=2)
    assert a.tobytes() == b.tobytes()


def test_no_filtered_axis_is_the_identity_as_scipy(rng):
    # axes=() leaves a one-point window: the image itself (a new array), as
    # scipy.ndimage.median_filter(x, 3, axes=()); ranks other than 0 and -1
    # are then out of the window.
    x = rng.standard_normal((5, 6))
    for got in (imfilt.median(x, 3, axes=()), imfilt.rank_filter(x, -1, size=3, axes=()),
                imfilt.percentile_filter(x, 80, size=3, axes=())):
        np.testing.assert_array_equal(got, ndi.median_filter(x, 3, axes=()))
        assert not np.shares_memory(got, x)
    with pytest.raises(ValueError, match="rank=1 is not valid for a footprint of 1 points"):
        imfilt.rank_filter(x, 1, size=3, axes=())
    for func in (imfilt.median, imfilt.erosion):
        with pytest.raises(TypeError, match="both are None"):
            func(x, None)
        with pytest.raises(ValueError, match="both are None"):
            func(x, None)


# --------------------------------------------------------------------------
# Parsed arguments are reused between calls (imfilt._validation.ParsedCache):
# a repeated call must behave exactly as a first call.

def test_repeated_calls_keep_argument_types_apart():
    x = np.arange(25.0).reshape(5, 5)
    ref = ndi.median_filter(x, 3, mode="reflect")
    for _ in range(2):
        np.testing.assert_array_equal(median(x, 3), ref)
        for size in (3.0, True):       # equal to 3 (or 1) as keys, but refused
            with pytest.raises(TypeError, match="size="):
                median(x, size)
    np.testing.assert_array_equal(median(x, 1), x)


def test_repeated_calls_keep_the_sign_of_a_zero_fill():
    x = np.ones((4, 5))
    for _ in range(2):
        for fill in (-0.0, 0.0, -0.0):
            got = rank_filter(x, 0, size=3, boundary="fill", fillvalue=fill)
            assert got[0, 0] == 0 and bool(np.signbit(got[0, 0])) == bool(np.signbit(fill))
            assert got[1, 1] == 1


def test_repeated_calls_raise_every_time():
    x = np.zeros((6, 6), np.uint8)
    for _ in range(3):
        with pytest.raises(ValueError, match="size=0"):
            median(x, 0)
        with pytest.raises(ValueError, match="rank=9"):
            rank_filter(x, 9, size=3)
        with pytest.raises(ValueError, match="percentile=101"):
            percentile_filter(x, 101, size=3)
    # the same arguments on an image of another shape are checked again
    median(np.zeros((6, 6, 3), np.uint8), 3, channel_axis=-1)
    with pytest.raises(ValueError, match="channel_axis"):
        median(np.zeros((6, 6, 3), np.uint8), 3)


def test_repeated_calls_see_a_new_dtype_and_boundary():
    x = np.array([[5, 1, 4, 2, 3, 8, 7]] * 3, dtype=np.int16)
    for dtype in (np.int16, np.float32, np.dtype(">f8"), np.uint8):
        for boundary, mode in (("symm", "reflect"), ("edge", "nearest")):
            got = median(x.astype(dtype), 3, boundary=boundary)
            assert got.dtype == np.dtype(dtype).newbyteorder("=")
            np.testing.assert_array_equal(got, ndi.median_filter(x.astype(dtype), 3,
                                                                 mode=mode))


def test_parsed_cache_keys_and_bound():
    from imfilt._validation import ParsedCache
    cache = ParsedCache(maxsize=4)
    assert cache.key(3, "symm", None, (1, 2)) == cache.key(3, "symm", None, (1, 2))
    assert cache.key(3) != cache.key(3.0) != cache.key(True)
    assert cache.key(0.0) != cache.key(-0.0)
    for unhashable in ([3, 3], np.int64(3), np.ones(2), (3, 3.0), {"a": 1}):
        assert cache.key(unhashable) is None
    assert cache.get(None) is None
    for i in range(10):
        cache.put(cache.key(i), i)
        assert len(cache._parsed) <= 4
    assert cache.get(cache.key(9)) == 9
    cache.put(None, "never stored")
    assert "never stored" not in cache._parsed.values()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_sparse_3x3_pairs(dtype, rng):
    """Rare NaN: the 3x3 row pairs keep their shared column sorts (rank 4 of
    the nine, NaN last) and redo by rows only chunks where a window holds two
    or more NaN; isolated NaN, adjacent pairs and a 2x2 block of NaN, at
    chunk edges and in the first and last rows."""
    x = rng.normal(size=(11, 203)).astype(dtype)
    for r, c in [(0, 0), (3, 15), (3, 16), (6, 40), (6, 41), (7, 41), (7, 40), (10, 202),
                 (5, 100), (4, 130), (4, 131), (9, 64)]:
        x[r, c] = np.nan
    fp = np.ones((3, 3), bool)
    for b in BOUNDARIES:
        for policy in ("omit", "propagate"):
            np.testing.assert_array_equal(
                median(x, 3, boundary=b, fillvalue=0.5, nan_policy=policy),
                reference(x, fp, b, 0.5, "median", 0, omit=policy == "omit"),
                err_msg=f"{b} {policy}")


@pytest.mark.parametrize("dtype", ["uint8", "int64", "float32", "bool"])
def test_extreme_ranks_use_the_min_max_engine(dtype, rng, monkeypatch):
    """Rank 0 / n - 1 (percentile 0 / 100) are the window's minimum / maximum,
    computed by the min/max engine (cost flat in a rectangle's size, windows
    larger than the image included); rank n - 1 given as a positive number
    under 'omit' is not a maximum (it does not exist in a window with NaN)."""
    x = (rng.random((13, 17)) * 100).astype(dtype)
    calls = []
    minmax = _ranking._minmax.minmax
    monkeypatch.setattr(_ranking._minmax, "minmax",
                        lambda *a, **k: calls.append(a[3]) or minmax(*a, **k))
    for size in (3, (4, 9), 41):
        mode = "reflect"
        np.testing.assert_array_equal(rank_filter(x, 0, size), ndi.minimum_filter(x, size,
                                                                                   mode=mode))
        np.testing.assert_array_equal(rank_filter(x, -1, size), ndi.maximum_filter(x, size,
                                                                                    mode=mode))
        np.testing.assert_array_equal(percentile_filter(x, 100, size, boundary="wrap"),
                                      ndi.maximum_filter(x, size, mode="wrap"))
    assert calls == [False, True, True] * 3
    if dtype == "float32":
        y = x.astype(np.float32)
        y[3, 4] = np.nan
        fp = np.ones((3, 3), bool)
        calls.clear()
        got = rank_filter(y, 8, size=3, nan_policy="omit")
        assert calls == []
        np.testing.assert_array_equal(got, reference(y, fp, "symm", 0, "rank", 8, omit=True))
        for r, ismax in ((0, False), (-1, True)):
            np.testing.assert_array_equal(
                rank_filter(y, r, size=3, nan_policy="omit"),
                reference(y, fp, "symm", 0, "rank", r, omit=True))
            np.testing.assert_array_equal(
                rank_filter(y, r, size=3), reference(y, fp, "symm", 0, "rank", r))


@pytest.mark.parametrize("func", [imfilt.median, lambda x, size: imfilt.rank_filter(x, 0, size),
                                  lambda x, size: imfilt.percentile_filter(x, 50, size)])
def test_window_beyond_memory_is_a_value_error_naming_size(func):
    # 10**10 points: the table of ranks alone would take 75 GiB
    with pytest.raises(ValueError, match=r"size=100000 .*GiB.*use a smaller size"):
        func(np.zeros((3, 3), np.uint8), size=100000)
