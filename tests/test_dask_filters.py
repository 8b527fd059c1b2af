"""imfilt.dask's N-D neighbourhood filters (smoothing, rank, morphology).

The rule tested: for every chunking -- random, uneven, chunks smaller than
the filter's reach -- and every boundary, the chunked result equals the
in-memory call on the whole array bit for bit.
"""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
import imfilt  # noqa: E402
import imfilt.dask as idask  # noqa: E402

BOUNDARIES = ["fill", "wrap", "symm", "reflect", "edge"]

# name -> (positional args, keyword args) of a call with a sizeable reach
CALLS = {
    "gaussian": ((1.7,), {}),
    "unsharp_mask": ((1.3,), {"amount": 2.0}),
    "gaussian_laplace": ((1.2,), {}),
    "gaussian_gradient_magnitude": ((1.1,), {}),
    "difference_of_gaussians": ((0.8,), {}),
    "median": ((), {"size": 5}),
    "rank_filter": ((3,), {"size": (3, 4)}),
    "percentile_filter": ((30,), {"size": 4}),
    "minimum_filter": ((), {"size": (3, 5)}),
    "maximum_filter": ((), {"size": 4}),
    "erosion": ((), {"size": 3}),
    "dilation": ((), {"footprint": np.array([[0, 1, 0], [1, 1, 1], [0, 1, 1]], bool)}),
    "opening": ((), {"size": 3}),
    "closing": ((), {"size": (4, 3)}),
    "white_tophat": ((), {"size": 3}),
    "black_tophat": ((), {"size": 3}),
    "morphological_gradient": ((), {"size": 3}),
    "bilateral": ((5, 0.3, 2.0), {}),
    "box": ((), {"size": (3, 4)}),
}


def _random_chunks(rng, n):
    out = []
    while sum(out) < n:
        out.append(int(min(rng.integers(1, max(2, n // 2)), n - sum(out))))
    return tuple(out)


def _check(name, image, chunks, *args, **kwargs):
    expected = getattr(imfilt, name)(image, *args, **kwargs)
    lazy = getattr(idask, name)(da.from_array(image, chunks=chunks), *args, **kwargs)
    got = lazy.compute(scheduler="sync")
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_table_is_exported():
    for name in CALLS:
        assert name in idask.__all__
        assert getattr(idask, name).__doc__.count(f"imfilt.{name}")


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_random_chunkings_bit_identical(name, boundary):
    rng = np.random.default_rng(abs(hash((name, boundary))) % 2**32)
    image = rng.random((23, 19))
    args, kwargs = CALLS[name]
    for _ in range(3):
        chunks = (_random_chunks(rng, 23), _random_chunks(rng, 19))
        _check(name, image, chunks, *args, boundary=boundary, fillvalue=0.25, **kwargs)
    _check(name, image, (1, 2), *args, boundary=boundary, **kwargs)   # chunks < reach


@pytest.mark.parametrize("name", sorted(CALLS))
def test_integer_image(name):
    image = np.random.default_rng(1).integers(0, 255, (17, 15), dtype=np.uint8)
    args, kwargs = CALLS[name]
    _check(name, image, (4, 3), *args, **kwargs)


@pytest.mark.parametrize("name", ["gaussian", "median", "erosion", "opening",
                                  "difference_of_gaussians"])
@pytest.mark.parametrize("boundary", ["wrap", "symm", "fill"])
def test_volume_axes_and_channels(name, boundary):
    rng = np.random.default_rng(2)
    vol = rng.random((9, 11, 4))
    args, kwargs = CALLS[name]
    kwargs = {k: (3 if k == "size" else v) for k, v in kwargs.items() if k != "footprint"}
    if name in ("erosion", "opening"):
        kwargs = {"size": 3}
    chunks = ((2, 3, 4), (5, 1, 5), (1, 3))
    _check(name, vol, chunks, *args, boundary=boundary, axes=(0, 1, 2), **kwargs)
    _check(name, vol, chunks, *args, boundary=boundary, channel_axis=-1, **kwargs)
    _check(name, vol, chunks, *args, boundary=boundary, axes=(0, 2), **kwargs)


def test_window_larger_than_image():
    image = np.random.default_rng(3).random((5, 7))
    _check("gaussian", image, (2, 3), 4.0, boundary="symm")
    _check("median", image, (2, 3), size=9, boundary="reflect")
    _check("opening", image, (1, 2), size=4, boundary="wrap")


def test_sigma_per_axis_and_radius():
    image = np.random.default_rng(4).random((16, 12), ).astype(np.float32)
    _check("gaussian", image, (3, 5), (2.0, 0.5), order=(0, 1))
    _check("gaussian", image, (3, 5), 1.0, radius=(5, 1))
    _check("gaussian_laplace", image, (3, 2), 1.0, radius=3)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_errors_at_graph_time(name):
    args, kwargs = CALLS[name]
    x = da.zeros((6, 6), chunks=2)
    with pytest.raises(ValueError, match="boundary"):
        getattr(idask, name)(x, *args, boundary="bogus", **kwargs)
    with pytest.raises(ValueError, match="colour"):
        getattr(idask, name)(da.zeros((6, 6, 3), chunks=2), *args, **kwargs)


def test_negative_sigma_names_parameter():
    with pytest.raises(ValueError, match="sigma"):
        idask.gaussian(da.zeros((6, 6), chunks=2), -1.0)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_bilateral_colour_and_sigma_space_radius(boundary):
    rng = np.random.default_rng(5)
    rgb = rng.random((13, 11, 3)).astype(np.float32)
    _check("bilateral", rgb, (3, 2, 3), 0, 0.2, 2.0, boundary=boundary, channel_axis=-1)
    _check("bilateral", rgb, (4, 5, 1), 7, 0.2, 1.0, boundary=boundary, channel_axis=2)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_bilateral_uint8_grey_narrow_chunks(boundary):
    # Grey uint8 images take the symmetric-pair kernel; chunks narrower than
    # its minimum row must take it too (the order of the sums is its own).
    rng = np.random.default_rng(7)
    grey = rng.integers(0, 256, (41, 53)).astype(np.uint8)
    for chunks, args in [((11, 9), (4, 30.0, 6.0)), ((7, 4), (8, 80.0, 1.5)),
                         ((20, 53), (0, 10.0, 3.0)), ((1, 3), (3, 30.0, 2.0))]:
        _check("bilateral", grey, chunks, *args, boundary=boundary)
    zeros = np.zeros((41, 40), np.uint8)
    for width in (1, 2, 5, 31, 32, 33):      # a narrow image equals a wide one's columns
        x = grey[:, :width]
        wide = imfilt.bilateral(np.concatenate([x, zeros], axis=1), 5, 30.0, 3.0,
                                boundary="fill", fillvalue=0)
        np.testing.assert_array_equal(
            imfilt.bilateral(x, 5, 30.0, 3.0, boundary="fill", fillvalue=0), wide[:, :width])


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_bilateral_float32_grey_narrow_chunks(boundary):
    # Grey float32 images take the symmetric-pair kernel too, chunks narrower
    # than its minimum row included; NaN chunks and NaN-free ones alike.
    rng = np.random.default_rng(8)
    grey = rng.random((41, 53)).astype(np.float32)
    grey[20, 7] = np.nan
    for chunks, args in [((11, 9), (4, 0.3, 6.0)), ((7, 4), (8, 0.8, 1.5)),
                         ((20, 53), (0, 0.1, 3.0)), ((1, 3), (3, 0.3, 2.0))]:
        for policy in ("propagate", "omit"):
            _check("bilateral", grey, chunks, *args, boundary=boundary, fillvalue=0.5,
                   nan_policy=policy)


@pytest.mark.parametrize("name", ["gaussian", "median", "maximum_filter", "opening",
                                  "bilateral", "unsharp_mask"])
def test_nan_and_float32_big_endian(name):
    rng = np.random.default_rng(6)
    image = rng.random((15, 14)).astype(">f4")
    image[4, 7] = np.nan
    args, kwargs = CALLS[name]
    _check(name, image, (2, 5), *args, **kwargs)


@pytest.mark.parametrize("chunks", [3, 4, (3, 3, 2)])
def test_blocks_whose_last_axis_looks_like_colour(chunks):
    # A volume that is not colour-like as a whole is filtered with blocks
    # whose last axis has length 3 or 4 (a filtered axis with no reach keeps
    # its chunks): never refused as colour, and equal to the in-memory call.
    x = np.random.default_rng(0).random((8, 8, 8)).astype(np.float32)
    lazy = da.from_array(x, chunks=chunks)
    for name, args, kw in [("median", (), {"size": (3, 3, 1)}),
                           ("gaussian", ((1.0, 1.0, 0.0),), {}),
                           ("opening", (), {"size": 1}),
                           ("minimum_filter", (), {"size": (3, 1, 3)}),
                           ("rank_filter", (1,), {"size": (3, 3, 1)}),
                           ("morphological_gradient", (), {"size": (3, 3, 1)})]:
        got = getattr(imfilt.dask, name)(lazy, *args, **kw).compute(scheduler="sync")
        np.testing.assert_array_equal(got, getattr(imfilt, name)(x, *args, **kw), err_msg=name)


def test_colour_rule_as_in_memory():
    # A colour-like volume: refused exactly where the in-memory call refuses
    # it (a 3-D footprint says "volume" to the min/max family), naming the
    # image's own shape.
    x = np.random.default_rng(1).random((5, 5, 3)).astype(np.float32)
    fp = np.ones((3, 3, 3), bool)
    for name in ("maximum_filter", "erosion", "white_tophat"):
        got = getattr(imfilt.dask, name)(da.from_array(x, chunks=2), footprint=fp)
        np.testing.assert_array_equal(got.compute(scheduler="sync"),
                                      getattr(imfilt, name)(x, footprint=fp))
    for name in ("median", "maximum_filter"):
        with pytest.raises(ValueError, match=r"shape \(5, 5, 3\), which looks like a colour"):
            getattr(imfilt.dask, name)(da.from_array(x, chunks=2), size=3)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint64, bool, np.float16])
def test_selection_pooling_keeps_the_dtype(dtype):
    # The lazy array's dtype, the computed blocks' dtype and the in-memory
    # result's dtype agree (blocks were computed in int64 / float32).
    rng = np.random.default_rng(2)
    x = (rng.random((2, 3, 9, 10)) * 200).astype(dtype)
    if dtype == np.uint64:
        x = x * np.uint64(2**56) + np.uint64(2**63)
    for func in ("max_pool2d", "min_pool2d"):
        want = getattr(imfilt, func)(x, 2, padding=1)
        lazy = getattr(imfilt.dask, func)(da.from_array(x, chunks=(1, 2, 3, 4)), 2, padding=1)
        got = lazy.compute(scheduler="sync")
        assert lazy.dtype == got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["laplace", "sobel", "roberts"])
def test_omit_nan_fill_same_for_every_chunking(name):
    """A NaN fill value under 'omit' makes every chunk omit the outside,
    also chunks whose own samples are all finite: the result of the
    in-memory filter for any chunking (chunks without a NaN kept NaN
    borders)."""
    rng = np.random.default_rng(11)
    z = rng.standard_normal((13, 11))
    z[3, 3] = np.nan
    want = getattr(imfilt, name)(z, boundary="fill", fillvalue=np.nan, nan_policy="omit")
    for chunks in ((2, 2), (1, 5), (13, 11), (4, 3)):
        got = getattr(idask, name)(da.from_array(z, chunks=chunks), boundary="fill",
                                   fillvalue=np.nan, nan_policy="omit").compute()
        np.testing.assert_array_equal(got, want)
