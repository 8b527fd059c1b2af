"""imfilt.dask.box: bit-identical to imfilt.box for every chunking.

box's running sums restart every 256 outputs at *global* positions (the
kernels take the global position of a block's first output), so the images
here are longer than a band along the filtered axes and the chunk edges fall
anywhere in a band: inside, on and next to band edges, chunks smaller than
the halo, one chunk per axis.  Non-finite values make the kernels recompute
from the first non-finite running sum to the band's end; they sit in, before
and after chunk edges.
"""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
import imfilt  # noqa: E402
import imfilt.dask as idask  # noqa: E402
from imfilt.smoothing import box_at  # noqa: E402

BOUNDARIES = ["fill", "wrap", "symm", "reflect", "edge"]

CHUNKINGS = [
    (100, 130), (37, 300), (530, 91), (256, 255), (257, 300), (530, 300), (13, 300),
    ((255, 1, 274), (44, 212, 44)), ((300, 230), (1, 299)), (7, 7),
]


def _image(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((530, 300)) * 100).astype(dtype)
    if x.dtype.kind == "f":
        x[350, 120] = np.nan
        x[510, 10] = np.inf
        x[255, 256] = -np.inf
        if x.dtype == np.float64:
            x[100, 200] = x[101, 200] = 1e308        # the float64 sum overflows
    return x


def _same(image, chunks, *args, **kwargs):
    expected = imfilt.box(image, *args, **kwargs)
    got = idask.box(da.from_array(image, chunks=chunks), *args, **kwargs).compute(
        scheduler="sync")
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("size", [2, 5, (7, 1), (1, 4), 31])
def test_every_chunking_bit_identical(boundary, size):
    image = _image()
    for chunks in CHUNKINGS:
        _same(image, chunks, size, boundary=boundary, fillvalue=0.5)


@pytest.mark.parametrize("dtype", [np.float32, ">f4", np.uint8, np.int32])
def test_dtypes(dtype):
    image = _image(np.float64 if dtype == np.float64 else np.float32, seed=1)
    if np.dtype(dtype).kind in "iu":
        image = np.nan_to_num(image, nan=0, posinf=0, neginf=0).clip(0, 255).astype(dtype)
    else:
        image = image.astype(dtype)
    for chunks in CHUNKINGS[:6]:
        _same(image, chunks, 9)


def test_nan_policy_omit_and_axes():
    image = _image(seed=2)
    for chunks in CHUNKINGS[:5]:
        _same(image, chunks, 4, nan_policy="omit")
        _same(image, chunks, 6, axes=0)
        _same(image, chunks, 6, axes=-1, boundary="wrap")


def test_volume_and_channels():
    rng = np.random.default_rng(3)
    vol = rng.standard_normal((270, 9, 260))
    vol[3, 4, 200] = np.nan
    chunks = ((100, 170), (4, 5), (1, 258, 1))
    _same(vol, chunks, 3)
    _same(vol, chunks, (2, 1, 5), boundary="wrap")
    _same(vol, chunks, 3, channel_axis=1)
    _same(vol, ((261, 9), 9, (130, 130)), 4, axes=(0, 2), boundary="reflect")
    rgb = np.random.default_rng(8).standard_normal((530, 300, 3))     # channels last
    rgb[300, 100, 1] = np.nan
    _same(rgb, ((100, 430), (77, 223), 3), 5, channel_axis=-1)
    _same(rgb, ((100, 430), (77, 223), 3), 5, channel_axis=-1, boundary="wrap")


def test_corners():
    _same(np.zeros((0, 300)), (1, 7), 3)
    _same(np.random.default_rng(4).random((1, 600)), (1, 77), 5)
    _same(np.random.default_rng(5).random(1000), 123, 11)           # 1-D
    big = np.random.default_rng(6).random((40, 600))
    _same(big, (40, 100), 700, boundary="symm")                       # window > image
    _same(big[:, ::2], (7, 50), 3)                                    # non-contiguous


def test_errors_at_graph_time():
    x = da.zeros((300, 300), chunks=100)
    with pytest.raises(ValueError, match="size"):
        idask.box(x, 0)
    with pytest.raises(ValueError, match="boundary"):
        idask.box(x, 3, boundary="mirror")


def test_box_at_is_the_whole_images_band_rule():
    """A block that reaches back to its band start, filtered at its origin,
    equals the whole image there; at origin 0 (the line-relative rule) the
    last bits differ somewhere."""
    image = _image(seed=7)
    full = imfilt.box(image, 7)
    r0, c0 = 300, 100                        # bands start at 256 and 0
    block = image[256 - 3:r0 + 103, 0:c0 + 103]
    inner = np.s_[r0 - 253:r0 - 253 + 100, c0:c0 + 100]
    np.testing.assert_array_equal(box_at(block, 7, (253, 0))[inner],
                                  full[r0:r0 + 100, c0:c0 + 100])
    assert not np.array_equal(box_at(block, 7, (0, 0))[inner], full[r0:r0 + 100, c0:c0 + 100],
                              equal_nan=True)


@pytest.mark.parametrize("origin", [(0, 0), (1, 255), (-3, 700), (300, -1)])
def test_box_at_threads_and_layouts_bit_identical(origin):
    image = _image(np.float32, seed=9)
    for axes in (None, 0, 1):
        one = box_at(image, 9, origin, axes=axes, workers=1)
        np.testing.assert_array_equal(box_at(image, 9, origin, axes=axes, workers=2), one)
        np.testing.assert_array_equal(
            box_at(np.asfortranarray(image), 9, origin, axes=axes, workers=2), one)
