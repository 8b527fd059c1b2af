"""Minimum/maximum filters and grey morphology: exact parity with scipy.ndimage.

References: ``scipy.ndimage`` (minimum_filter, maximum_filter, grey_erosion,
grey_dilation, grey_opening, grey_closing, white_tophat, black_tophat,
morphological_gradient) with the boundary names mapped to ndimage modes
(fill -> 'constant' + cval, wrap -> 'wrap', symm -> 'reflect', reflect ->
'mirror', edge -> 'nearest'), and a brute-force NumPy reference built from
the definition (numpy.pad, then the extremum over the footprint's samples)
where SciPy cannot serve: 64-bit integers near their limits (SciPy's
maximum_filter loses them), float16, and NaN policies.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from numpy.lib.stride_tricks import sliding_window_view

import imfilt
from imfilt import _threads
from imfilt._modes import NUMPY_PAD_MODE

NDI = {"fill": "constant", "wrap": "wrap", "symm": "reflect", "reflect": "mirror",
       "edge": "nearest"}
BOUNDARIES = list(NDI)

PAIRS = {
    "minimum_filter": (imfilt.minimum_filter, ndi.minimum_filter),
    "maximum_filter": (imfilt.maximum_filter, ndi.maximum_filter),
    "erosion": (imfilt.erosion, ndi.grey_erosion),
    "dilation": (imfilt.dilation, ndi.grey_dilation),
    "opening": (imfilt.opening, ndi.grey_opening),
    "closing": (imfilt.closing, ndi.grey_closing),
    "white_tophat": (imfilt.white_tophat, ndi.white_tophat),
    "black_tophat": (imfilt.black_tophat, ndi.black_tophat),
    "morphological_gradient": (imfilt.morphological_gradient, ndi.morphological_gradient),
}

INT_DTYPES = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64"]


def reference(x, fp, ismax, boundary, fillvalue=0, omit=False, centre=None):
    """Definition: out[i] = extremum over fp[j] of padded x at i + j - centre."""
    fp = np.asarray(fp, dtype=bool)
    if centre is None:
        centre = tuple(s // 2 for s in fp.shape)
    pads = [(c, s - 1 - c) for c, s in zip(centre, fp.shape)]
    kw = {"constant_values": fillvalue} if boundary == "fill" else {}
    xp = np.pad(x, pads, mode=NUMPY_PAD_MODE[boundary], **kw)
    vals = sliding_window_view(xp, fp.shape)[..., fp]
    if omit:
        with np.errstate(all="ignore"), pytest.warns(RuntimeWarning) if np.isnan(
                vals).all(axis=-1).any() else _nullcontext():
            return (np.nanmax if ismax else np.nanmin)(vals, axis=-1)
    return (vals.max if ismax else vals.min)(axis=-1)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _footprints(rng, nd):
    """Random, hollow, one-pixel, line, off-centre and even footprints."""
    out = [rng.random((3,) * nd) < 0.5, np.ones((4,) * nd, bool)]
    hollow = np.ones((5,) * nd, bool)
    hollow[(slice(1, -1),) * nd] = False
    out.append(hollow)
    one = np.zeros((3,) * nd, bool)
    one[(0,) * nd] = True                          # a single off-centre pixel
    out.append(one)
    line = np.zeros((1,) * (nd - 1) + (5,), bool)
    line[..., 1:] = True                           # an even run, off centre
    out.append(line)
    out.append(rng.random(tuple(rng.integers(1, 5, nd))) < 0.6)
    return [f for f in out if f.any()]


# ---------------------------------------------------------------- parity grids


@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_size_grid_matches_scipy(name, boundary):
    ours, theirs = PAIRS[name]
    rng = np.random.default_rng(0)
    composite = name not in ("minimum_filter", "maximum_filter", "erosion", "dilation")
    shapes = [(7, 9), (4, 5, 6)] if composite else [(11,), (7, 9), (4, 5, 6)]
    for shape in shapes:
        x = rng.integers(0, 50, shape).astype(np.int16)
        # 23: larger than every axis (the boundary folds repeatedly)
        for size in ([2, 3, 23] if composite else [1, 2, 3, 4, 5, 8, 23]):
            got = ours(x, size, boundary=boundary, fillvalue=7)
            ref = theirs(x, size=size, mode=NDI[boundary], cval=7)
            assert got.dtype == x.dtype
            np.testing.assert_array_equal(got, ref, err_msg=f"{shape} size={size}")
        sizes = tuple(rng.integers(1, 6, len(shape)))
        np.testing.assert_array_equal(ours(x, sizes, boundary=boundary, fillvalue=7),
                                      theirs(x, size=sizes, mode=NDI[boundary], cval=7))


@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_footprint_grid_matches_scipy(name, boundary):
    ours, theirs = PAIRS[name]
    rng = np.random.default_rng(1)
    for nd, shape in [(1, (13,)), (2, (9, 8)), (3, (5, 6, 7))]:
        x = rng.integers(-40, 40, shape).astype(np.int32)
        for fp in _footprints(rng, nd):
            got = ours(x, footprint=fp, boundary=boundary, fillvalue=-3)
            ref = theirs(x, footprint=fp, mode=NDI[boundary], cval=-3)
            np.testing.assert_array_equal(got, ref, err_msg=f"{shape} fp={fp.astype(int)}")


@pytest.mark.parametrize("name", ["minimum_filter", "maximum_filter", "erosion", "dilation",
                                  "closing", "white_tophat"])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_lines_beside_the_centre(name, boundary):
    # A line footprint off the centre trims to a full box whose window does
    # not hold its output position (a pure shift on the other axis); its
    # row pass must not be fused into the column pass, which assumes it does.
    ours, theirs = PAIRS[name]
    rng = np.random.default_rng(11)
    for shape in [(5, 3), (9, 8), (4, 7, 6), (6, 5, 2)]:
        x = rng.integers(0, 200, shape).astype(np.uint8)
        for length in (1, 2, 5, 6):
            for width in (3, 5, 6):
                for col in range(width):
                    fp = np.zeros((length, width), bool)
                    fp[:, col] = True
                    axes = (0, len(shape) - 1)
                    got = ours(x, footprint=fp, boundary=boundary, fillvalue=9, axes=axes)
                    ref = theirs(x, footprint=fp, mode=NDI[boundary], cval=9, axes=axes)
                    np.testing.assert_array_equal(
                        got, ref, err_msg=f"{shape} line {length} at column {col} of {width}")


def test_shifted_windows_never_write_outside_the_kernel_buffers():
    # A dilation whose reflected, trimmed footprint is a column beside the
    # centre, with axes out of order over a 3-D image, once wrote a value
    # before its row buffer: with glibc's checking allocator that aborts.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import numpy as np, imfilt, scipy.ndimage as ndi\n"
        "fp = np.zeros((2, 5), bool); fp[:, 0] = True\n"
        "x = (np.arange(70) % 97).astype(np.int16).reshape(5, 7, 2)\n"
        "ref = ndi.grey_dilation(x, footprint=fp, axes=[2, 0])\n"
        "for _ in range(300):\n"
        "    assert (imfilt.dilation(x, footprint=fp, axes=[2, 0]) == ref).all()\n"
        "    assert (imfilt.closing(x.astype(np.uint8), footprint=fp, axes=[2, 0]) ==\n"
        "            ndi.grey_closing(x.astype(np.uint8), footprint=fp, axes=[2, 0])).all()\n"
        "print('ok')\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(imfilt.__file__)))
    env = dict(os.environ, PYTHONMALLOC="malloc", MALLOC_CHECK_="3")
    done = subprocess.run([sys.executable, "-c", code, root], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_kernels_refuse_windows_that_would_leave_their_buffers():
    from imfilt._kernels import _morph
    x = np.arange(12, dtype=np.uint8)
    out = np.empty_like(x)
    idx = np.arange(3, dtype=np.intp)
    fill = np.zeros(1, np.uint8)
    with pytest.raises(ValueError, match="rbefore"):
        _morph.minmax_pass(x, out, 1, 3, 4, 1, 0, idx, fill, False, 1, -1,
                           np.arange(4, dtype=np.intp), 1, 1)
    with pytest.raises(ValueError, match="row indices"):
        _morph.minmax_pass(x, out, 1, 3, 4, 2, 0, idx, fill, False, 0, 0, idx, 1, 1)
    with pytest.raises(ValueError, match="inside the padded image"):
        _morph.minmax_offsets(x, out, np.array([0, 4, 8], np.intp), 4,
                              np.array([0, 1], np.intp), False, 1, 1)


def test_large_footprints_with_long_runs():
    # rows of consecutive True entries are read as two overlapping windows
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[-6:7, -6:7]
    disk = yy ** 2 + xx ** 2 <= 36
    ring = disk & (yy ** 2 + xx ** 2 >= 9)
    x = rng.integers(0, 1000, (31, 37)).astype(np.uint16)
    for fp in (disk, ring, rng.random((7, 11)) < 0.8, disk[:, :12]):
        for b in BOUNDARIES:
            for name in ("erosion", "dilation", "maximum_filter"):
                ours, theirs = PAIRS[name]
                np.testing.assert_array_equal(ours(x, footprint=fp, boundary=b, fillvalue=9),
                                              theirs(x, footprint=fp, mode=NDI[b], cval=9))
    vol = rng.random((6, 7, 9))
    ball = np.ones((3, 3, 9), bool)
    ball[1, 1, 4] = False
    np.testing.assert_array_equal(imfilt.erosion(vol, footprint=ball),
                                  ndi.grey_erosion(vol, footprint=ball))
    f = rng.standard_normal((20, 21))
    f[rng.random(f.shape) < 0.3] = np.nan
    for omit in (False, True):
        got = imfilt.minimum_filter(f, footprint=disk, nan_policy="omit" if omit else "propagate")
        np.testing.assert_array_equal(got, reference(f, disk, False, "symm", omit=omit))


def test_four_dimensional_and_large_windows():
    rng = np.random.default_rng(2)
    x = rng.random((3, 4, 5, 6)).astype(np.float32)
    for b in BOUNDARIES:
        for size in [(2, 3, 1, 4), (9, 9, 9, 13)]:
            np.testing.assert_array_equal(imfilt.erosion(x, size, boundary=b),
                                          ndi.grey_erosion(x, size=size, mode=NDI[b]))
            np.testing.assert_array_equal(imfilt.dilation(x, size, boundary=b),
                                          ndi.grey_dilation(x, size=size, mode=NDI[b]))
    fp = rng.random((2, 3, 2, 3)) < 0.5
    np.testing.assert_array_equal(imfilt.maximum_filter(x, footprint=fp),
                                  ndi.maximum_filter(x, footprint=fp))


def test_even_size_placement_written_out():
    x = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.uint8)
    # minimum_filter, size 2: output i sees inputs i-1 .. i
    np.testing.assert_array_equal(imfilt.minimum_filter(x, 2), [3, 1, 1, 1, 1, 5, 2, 2])
    # dilation, size 2 (footprint reflected): output i sees inputs i .. i+1
    np.testing.assert_array_equal(imfilt.dilation(x, 2), [3, 4, 4, 5, 9, 9, 6, 6])
    # window of 4 at i=0 under 'symm': inputs -2..1 = x[1], x[0], x[0], x[1]
    assert imfilt.maximum_filter(x, 4)[0] == 3


@pytest.mark.parametrize("dtype", INT_DTYPES + ["float32", "float64", "bool"])
def test_every_dtype_matches_scipy(dtype):
    rng = np.random.default_rng(3)
    if dtype == "bool":
        x = rng.random((17, 19)) < 0.5
    elif dtype.startswith("float"):
        x = rng.standard_normal((17, 19)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        x = rng.integers(max(info.min, -1000), min(info.max, 1000), (17, 19)).astype(dtype)
    fp = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 1]], bool)
    for name in ["minimum_filter", "maximum_filter", "erosion", "dilation", "opening",
                 "closing", "white_tophat", "black_tophat"]:
        ours, theirs = PAIRS[name]
        for kw in ({"size": 4}, {"footprint": fp}):
            got = ours(x, **kw)
            assert got.dtype == x.dtype
            np.testing.assert_array_equal(got, theirs(x, **kw), err_msg=f"{name} {kw}")
    if dtype != "bool":
        np.testing.assert_array_equal(imfilt.morphological_gradient(x, 3),
                                      ndi.morphological_gradient(x, size=3))


@pytest.mark.parametrize("dtype", ["int64", "uint64", "int32", "uint32"])
def test_64bit_limits_exact(dtype):
    info = np.iinfo(dtype)
    x = np.array([[info.max, info.min, info.max - 1, 5],
                  [info.min + 1, 0, info.max, info.min]], dtype=dtype)
    for b in BOUNDARIES:
        for ismax, f in ((False, imfilt.minimum_filter), (True, imfilt.maximum_filter)):
            for size in (2, 3):
                fp = np.ones((size, size), bool)
                np.testing.assert_array_equal(f(x, size, boundary=b),
                                              reference(x, fp, ismax, b))
    fill = np.iinfo(dtype).max
    np.testing.assert_array_equal(
        imfilt.minimum_filter(x, 3, boundary="fill", fillvalue=fill),
        reference(x, np.ones((3, 3), bool), False, "fill", fill))


def test_float16_bool_and_byte_order():
    rng = np.random.default_rng(4)
    x16 = rng.standard_normal((9, 10)).astype(np.float16)
    got = imfilt.dilation(x16, 3)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, ndi.grey_dilation(x16.astype(np.float32), size=3))
    big = rng.integers(0, 1000, (9, 10)).astype(">i4")
    got = imfilt.erosion(big, (2, 3))
    assert got.dtype == np.dtype("int32")
    np.testing.assert_array_equal(got, ndi.grey_erosion(big.astype(np.int32), size=(2, 3)))
    b = rng.random((12, 13)) < 0.5
    for name in ("erosion", "dilation", "opening", "closing", "white_tophat", "black_tophat"):
        ours, theirs = PAIRS[name]
        got = ours(b, 3)
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got, theirs(b, size=3))
    g = imfilt.morphological_gradient(b, 3)
    assert g.dtype == np.bool_
    np.testing.assert_array_equal(g, imfilt.dilation(b, 3) & ~imfilt.erosion(b, 3))
    np.testing.assert_array_equal(
        g, ndi.morphological_gradient(b.astype(np.uint8), size=3).astype(bool))


def test_bool_erosion_is_binary_erosion():
    rng = np.random.default_rng(5)
    b = rng.random((20, 21)) < 0.7
    fp = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)
    np.testing.assert_array_equal(
        imfilt.erosion(b, footprint=fp, boundary="fill", fillvalue=True),
        ndi.binary_erosion(b, structure=fp, border_value=1))


def test_stacks_axes_and_channel_axis():
    rng = np.random.default_rng(6)
    x = rng.integers(0, 255, (8, 9, 3)).astype(np.uint8)
    got = imfilt.opening(x, 3, channel_axis=-1)
    loop = np.stack([ndi.grey_opening(x[..., c], size=3) for c in range(3)], axis=-1)
    np.testing.assert_array_equal(got, loop)
    got = imfilt.erosion(x, footprint=np.eye(3, dtype=bool), channel_axis=2)
    loop = np.stack([ndi.grey_erosion(x[..., c], footprint=np.eye(3, dtype=bool))
                     for c in range(3)], axis=-1)
    np.testing.assert_array_equal(got, loop)
    stack = rng.random((4, 10, 11))
    np.testing.assert_array_equal(imfilt.maximum_filter(stack, 5, axes=(1, 2)),
                                  ndi.maximum_filter(stack, size=(1, 5, 5)))
    np.testing.assert_array_equal(imfilt.minimum_filter(stack, 3, axes=0),
                                  ndi.minimum_filter1d(stack, 3, axis=0))
    with pytest.raises(ValueError, match="channel_axis=-1"):
        imfilt.erosion(x, 3)


def test_non_contiguous_and_read_only():
    rng = np.random.default_rng(7)
    base = rng.random((30, 40))
    x = base[::2, ::-3]
    x.flags.writeable = False if x.base is None else x.flags.writeable
    ro = base.copy()
    ro.flags.writeable = False
    for arr in (x, ro, np.asfortranarray(base)):
        np.testing.assert_array_equal(imfilt.erosion(arr, (3, 4)),
                                      ndi.grey_erosion(arr, size=(3, 4)))


# ---------------------------------------------------------------- NaN policies


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_nan_propagate_and_omit_against_reference(boundary):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((12, 13))
    x[rng.random(x.shape) < 0.15] = np.nan
    x[2:6, 3:8] = np.nan                                  # an all-NaN region
    x[0, 0] = np.inf
    for fp in (np.ones((3, 3), bool), np.array([[1, 0, 1], [0, 1, 0]], bool)):
        for ismax, f in ((False, imfilt.minimum_filter), (True, imfilt.maximum_filter)):
            got = f(x, footprint=fp, boundary=boundary, fillvalue=0.5)
            np.testing.assert_array_equal(got, reference(x, fp, ismax, boundary, 0.5))
            got = f(x, footprint=fp, boundary=boundary, fillvalue=0.5, nan_policy="omit")
            np.testing.assert_array_equal(
                got, reference(x, fp, ismax, boundary, 0.5, omit=True))


def test_nan_fill_and_raise():
    x = np.array([1.0, 2.0, np.nan, 4.0], dtype=np.float32)
    got = imfilt.minimum_filter(x, 3, boundary="fill", fillvalue=np.nan, nan_policy="omit")
    np.testing.assert_array_equal(got, np.array([1, 1, 2, 4], np.float32))
    got = imfilt.minimum_filter(x, 3, boundary="fill", fillvalue=np.nan)
    assert np.isnan(got).all()
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        imfilt.erosion(x, 3, nan_policy="raise")
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        imfilt.erosion(np.ones(4), 3, boundary="fill", fillvalue=np.nan, nan_policy="raise")
    assert imfilt.erosion(np.ones(4), 3, nan_policy="raise").tolist() == [1, 1, 1, 1]
    with pytest.raises(ValueError, match="nan_policy"):
        imfilt.erosion(x, 3, nan_policy="ignore")


# ---------------------------------------------------------------- properties


@st.composite
def image_and_footprint(draw):
    nd = draw(st.integers(1, 3))
    shape = draw(hnp.array_shapes(min_dims=nd, max_dims=nd, min_side=1, max_side=9))
    dtype = draw(st.sampled_from(["uint8", "int16", "int64", "float32", "float64"]))
    x = draw(hnp.arrays(dtype, shape, elements=st.integers(-100, 100).map(
        lambda v: abs(v) if dtype.startswith("u") else v)))
    fshape = draw(hnp.array_shapes(min_dims=nd, max_dims=nd, min_side=1, max_side=5))
    fp = draw(hnp.arrays(bool, fshape))
    return x, fp


@settings(max_examples=40, deadline=None)
@given(image_and_footprint(), st.sampled_from(BOUNDARIES))
def test_erosion_below_image_below_dilation(case, boundary):
    x, fp = case
    # the centre in both orientations: erosion's is s // 2, dilation's (s - 1) // 2
    fp = fp.copy()
    fp[tuple(s // 2 for s in fp.shape)] = True
    fp[tuple((s - 1) // 2 for s in fp.shape)] = True
    fp = fp | fp[(slice(None, None, -1),) * fp.ndim]
    e = imfilt.erosion(x, footprint=fp, boundary=boundary)
    d = imfilt.dilation(x, footprint=fp, boundary=boundary)
    assert (e <= x).all() and (x <= d).all()


@settings(max_examples=25, deadline=None)
@given(image_and_footprint())
def test_opening_and_closing_idempotent(case):
    # Exact on a periodic domain ('wrap'); with other boundaries the second
    # opening sees a different extension of the image (SciPy's too).
    x, fp = case
    boundary = "wrap"
    if not fp.any():
        fp[(0,) * fp.ndim] = True
    o = imfilt.opening(x, footprint=fp, boundary=boundary)
    np.testing.assert_array_equal(imfilt.opening(o, footprint=fp, boundary=boundary), o)
    c = imfilt.closing(x, footprint=fp, boundary=boundary)
    np.testing.assert_array_equal(imfilt.closing(c, footprint=fp, boundary=boundary), c)


@settings(max_examples=25, deadline=None)
@given(image_and_footprint(), st.booleans())
def test_thread_count_bit_identical(case, rect):
    x, fp = case
    if rect or not fp.any():
        fp = np.ones(fp.shape, bool)
    # tests/conftest.py makes every kernel thread even these tiny inputs
    a = imfilt.erosion(x, footprint=fp, workers=1)
    b = imfilt.erosion(x, footprint=fp, workers=2)
    c = imfilt.dilation(x, footprint=fp, workers=3)
    assert a.tobytes() == b.tobytes()
    np.testing.assert_array_equal(c, imfilt.dilation(x, footprint=fp, workers=1))


def test_threads_on_odd_sizes():
    rng = np.random.default_rng(9)
    x = rng.random((97, 101)).astype(np.float32)
    for size in (3, 15):
        a = imfilt.minimum_filter(x, size, workers=1)
        _threads.ran_parallel(reset=True)
        b = imfilt.minimum_filter(x, size, workers=2)
        if imfilt.openmp_enabled():
            assert _threads.ran_parallel() == 2          # really ran on two threads
        assert a.tobytes() == b.tobytes()
        np.testing.assert_array_equal(a, ndi.minimum_filter(x, size))


# ---------------------------------------------------------------- hostile inputs


def test_empty_and_degenerate_shapes():
    for shape in [(0,), (0, 5), (3, 0)]:
        x = np.zeros(shape, np.uint8)
        got = imfilt.erosion(x, 3)
        assert got.shape == shape and got.dtype == np.uint8
    x = np.arange(6, dtype=np.float64).reshape(1, 6)
    for b in BOUNDARIES:
        np.testing.assert_array_equal(imfilt.dilation(x, (3, 3), boundary=b),
                                      ndi.grey_dilation(x, size=3, mode=NDI[b]))


@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_rows_of_one_sample(name, boundary):
    # A last axis of length 1 under a window wider than 1: the window still
    # reaches the boundary's samples (a fill value below the image's values
    # must win), so the row pass cannot be dropped or fused away.
    ours, theirs = PAIRS[name]
    x = np.arange(1, 7, dtype=np.float32).reshape(6, 1)
    for size in [(2, 2), (3, 3), (5, 2), (1, 4), (4, 1)]:
        for fill in (0.0, 2.0, 9.0):
            np.testing.assert_array_equal(
                ours(x, size, boundary=boundary, fillvalue=fill, axes=(0, 1)),
                theirs(x, size=size, mode=NDI[boundary], cval=fill),
                err_msg=f"size={size} fill={fill}")
    y = np.arange(24, dtype=np.int16).reshape(2, 3, 4, 1)
    np.testing.assert_array_equal(
        ours(y, (2, 1, 3, 3), boundary=boundary, fillvalue=-5),
        theirs(y, size=(2, 1, 3, 3), mode=NDI[boundary], cval=-5))


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_sizes_far_beyond_the_image(boundary):
    # A window of 2n + 1 or more holds the whole axis (and the boundary)
    # wherever it sits: huge sizes give SciPy's result at once.
    rng = np.random.default_rng(3)
    for shape in [(1, 4), (3, 1), (5, 4)]:
        x = rng.integers(0, 50, shape).astype(np.float64)
        for size in [(2 * shape[0] + 1, 2), (2 * shape[0] + 4, 2 * shape[1] + 3), (1, 40)]:
            for name in ("minimum_filter", "dilation", "opening", "black_tophat"):
                ours, theirs = PAIRS[name]
                np.testing.assert_array_equal(
                    ours(x, size, boundary=boundary, fillvalue=7),
                    theirs(x, size=size, mode=NDI[boundary], cval=7), err_msg=f"{name} {size}")
    line = np.arange(7.0)
    np.testing.assert_array_equal(imfilt.maximum_filter(line, 10 ** 9, boundary=boundary,
                                                        fillvalue=-1), np.full(7, 6.0))


def test_errors_name_the_parameter():
    x = np.zeros((5, 5), np.uint8)
    with pytest.raises(ValueError, match="size"):
        imfilt.erosion(x)
    with pytest.raises(ValueError, match="size"):
        imfilt.erosion(x, 0)
    with pytest.raises(TypeError, match="size"):
        imfilt.erosion(x, 2.5)
    with pytest.raises(ValueError, match="size"):
        imfilt.erosion(x, (3, 3, 3))
    with pytest.raises(ValueError, match="both"):
        imfilt.erosion(x, 3, footprint=np.ones((3, 3)))
    with pytest.raises(ValueError, match="no True"):
        imfilt.erosion(x, footprint=np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="flat"):
        imfilt.erosion(x, footprint=np.full((3, 3), 2))
    with pytest.raises(ValueError, match="dimension"):
        imfilt.erosion(x, footprint=np.ones(3, bool))
    with pytest.raises(ValueError, match="boundary='mirror'.*'reflect'"):
        imfilt.erosion(x, 3, boundary="mirror")
    with pytest.raises(ValueError, match="fillvalue=nan.*uint8"):
        imfilt.erosion(x, 3, boundary="fill", fillvalue=np.nan)
    with pytest.raises(ValueError, match="fillvalue.*complex"):
        imfilt.erosion(x, 3, boundary="fill", fillvalue=1 + 2j)
    with pytest.raises(TypeError, match="fillvalue"):
        imfilt.erosion(x, 3, boundary="fill", fillvalue="zero")
    with pytest.raises(TypeError, match="complex"):
        imfilt.erosion(x + 1j, 3)
    with pytest.raises(TypeError, match="image"):
        imfilt.erosion(np.array(["a", "b"]), 3)
    with pytest.raises(ValueError, match="scalar"):
        imfilt.erosion(np.float64(3.0), 3)
    with pytest.raises(ValueError, match="workers"):
        imfilt.erosion(x, 3, workers=0)
    with pytest.raises(ValueError, match="axes"):
        imfilt.erosion(x, 3, axes=(0, 0))
    with pytest.raises(ValueError, match="channel_axis"):
        imfilt.erosion(x, 3, channel_axis=5)


def test_out_argument():
    rng = np.random.default_rng(10)
    x = rng.integers(0, 9, (6, 7)).astype(np.int16)
    out = np.empty_like(x)
    assert imfilt.closing(x, 3, out=out) is out
    np.testing.assert_array_equal(out, ndi.grey_closing(x, size=3))
    with pytest.raises(ValueError, match="dtype"):
        imfilt.erosion(x, 3, out=np.empty(x.shape, np.float32))
    with pytest.raises(ValueError, match="shape"):
        imfilt.erosion(x, 3, out=np.empty((6, 6), np.int16))
    with pytest.raises(ValueError, match="overlaps"):
        imfilt.erosion(x, 3, out=x)
    with pytest.raises(TypeError, match="out"):
        imfilt.erosion(x, 3, out=[0])


def test_huge_values_and_infinities():
    x = np.array([np.inf, -np.inf, 1e308, -1e308, 0.0, -0.0])
    np.testing.assert_array_equal(imfilt.minimum_filter(x, 3), ndi.minimum_filter(x, 3))
    np.testing.assert_array_equal(imfilt.maximum_filter(x, 2), ndi.maximum_filter(x, 2))


def test_engine_halo_is_exact_for_chunks():
    # A chunk extended by halo() on each side reproduces the full result inside it.
    from imfilt._minmax import dilation_geometry, erosion_geometry, halo, minmax
    rng = np.random.default_rng(12)
    x = rng.integers(0, 100, (40, 45)).astype(np.int32)
    for fp in (rng.random((5, 4)) < 0.5, np.array([[0, 0, 1]], bool), np.ones((6, 3), bool)):
        if not fp.any():
            continue
        for geometry, ismax in ((erosion_geometry, False), (dilation_geometry, True)):
            f, c = geometry(fp)
            full = minmax(x, f, c, ismax, "symm", 0, (0, 1), 1, "propagate")
            (b0, a0), (b1, a1) = halo(f, c)
            r0, r1, q0, q1 = 10, 25, 12, 30
            part = x[r0 - b0:r1 + a0, q0 - b1:q1 + a1]
            got = minmax(part, f, c, ismax, "edge", 0, (0, 1), 1, "propagate")
            np.testing.assert_array_equal(got[b0:b0 + r1 - r0, b1:b1 + q1 - q0],
                                          full[r0:r1, q0:q1])


def test_fill_outside_the_integer_range_saturates():
    # The fill orders as the number it is: -1 lies below every uint8 value,
    # so it acts as 0 (scipy.ndimage wraps it around to 255 instead), and
    # rank filters, min/max and morphology share the rule.
    x = np.array([[10, 20, 30], [40, 50, 60]], np.uint8)
    for fill, held in ((-1, 0), (300, 255), (-np.inf, 0), (np.inf, 255), (-0.5, 0)):
        full = np.full(x.shape, fill)
        np.testing.assert_array_equal(
            imfilt.erosion(x, 3, boundary="fill", fillvalue=fill),
            np.minimum(ndi.grey_erosion(x, 3, mode="nearest"), np.clip(full, 0, 255)))
        np.testing.assert_array_equal(
            imfilt.maximum_filter(x, 3, boundary="fill", fillvalue=fill),
            np.maximum(ndi.maximum_filter(x, 3, mode="nearest"), np.clip(full, 0, 255)))
        assert imfilt.minimum_filter(x, 3, boundary="fill", fillvalue=fill).min() == min(held, 10)
        assert imfilt.rank_filter(x, 0, 3, boundary="fill", fillvalue=fill).min() == min(held, 10)
        assert imfilt.dilation(x, 3, boundary="fill", fillvalue=fill).max() == max(held, 60)
    b = np.array([[True, False, True]])
    np.testing.assert_array_equal(imfilt.erosion(b, (1, 3), boundary="fill", fillvalue=5),
                                  [[False, False, False]])
    np.testing.assert_array_equal(imfilt.dilation(b, (1, 3), boundary="fill", fillvalue=-2),
                                  [[True, True, True]])


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64])
def test_fractional_fill_truncates_on_integer_images(dtype):
    # scipy.ndimage casts cval to the image dtype, truncating toward zero.
    rng = np.random.default_rng(11)
    x = rng.integers(0, 20, size=(6, 7)).astype(dtype)
    for fill in (0.5, 2.7, 19.99, -0.9, 255.7 if dtype == np.uint8 else -3.5):
        for ours, ref in ((imfilt.minimum_filter, ndi.minimum_filter),
                          (imfilt.maximum_filter, ndi.maximum_filter),
                          (imfilt.erosion, ndi.grey_erosion),
                          (imfilt.closing, ndi.grey_closing)):
            np.testing.assert_array_equal(
                ours(x, 3, boundary="fill", fillvalue=fill),
                ref(x, size=3, mode="constant", cval=fill), err_msg=f"{ours.__name__} {fill}")



@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_fill_beyond_the_float_range_is_infinity_without_warnings(dtype):
    # 1e39 does not fit float32 (nor 1e5 float16): it orders as +inf, and is
    # +inf where selected, with no NumPy overflow warning on the way.
    x = np.ones((4, 5), dtype)
    big = 1e39
    for fill, inf in ((big, np.inf), (-big, -np.inf)):
        ref = ndi.maximum_filter(x.astype(np.float64), 3, mode="constant", cval=inf)
        np.testing.assert_array_equal(imfilt.maximum_filter(x, 3, boundary="fill",
                                                            fillvalue=fill), ref)
        ref = ndi.median_filter(x.astype(np.float64), 3, mode="constant", cval=inf)
        np.testing.assert_array_equal(imfilt.median(x, 3, boundary="fill", fillvalue=fill), ref)
        ref = ndi.grey_erosion(x.astype(np.float64), 3, mode="constant", cval=inf)
        np.testing.assert_array_equal(imfilt.erosion(x, 3, boundary="fill", fillvalue=fill), ref)


def test_no_numpy_warnings_from_ieee_results():
    # inf - inf in a top-hat is NaN and a float16 fill beyond its range is
    # +-inf, as IEEE says, without NumPy's RuntimeWarnings
    import warnings
    x = np.array([[np.inf, 1, 2], [3, 4, 5]])
    h = np.full((4, 4), 1e4, np.float16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(imfilt.black_tophat(x, 3)[0, 0])
        assert imfilt.maximum_filter(h, 3, boundary="fill", fillvalue=1e6)[0, 0] == np.inf
        assert imfilt.erosion(h, 3, boundary="fill", fillvalue=-1e6)[0, 0] == -np.inf
        imfilt.opening(h, 3, boundary="fill", fillvalue=7e4)


@pytest.mark.parametrize("func", [imfilt.erosion, imfilt.opening, imfilt.median,
                                  imfilt.maximum_filter])
def test_footprint_checks_are_shared_and_fail_fast(func):
    # One parser for the rank filters and morphology: a footprint larger than
    # memory is refused before a single value is read (a broadcast view of
    # 2**40 points took tens of minutes to scan), a ragged one names
    # ``footprint`` with a TypeError.
    image = np.random.default_rng(0).random((16, 17))
    huge = np.broadcast_to(True, (2**20, 2**20))
    with pytest.raises(ValueError, match=r"footprint of shape \(1048576, 1048576\) asks for a "
                                         r"window .*more than this machine's memory"):
        func(image, footprint=huge)
    with pytest.raises(TypeError, match="footprint could not be converted"):
        func(image, footprint=[[1, 1], [1]])
    with pytest.raises(TypeError, match="footprint has dtype <U1"):
        func(image, footprint=[["a"]])
    with pytest.raises(ValueError, match="footprint has 1 dimension.* 2 axes are filtered"):
        func(image, footprint=[1, 1])
    with pytest.raises(ValueError, match="footprint holds NaN or inf"):
        func(image, footprint=[[1.0, np.nan]])


@pytest.mark.parametrize("func", [imfilt.erosion, imfilt.white_tophat, imfilt.maximum_filter])
@pytest.mark.parametrize("boundary", ["symm", "fill"])
def test_fillvalue_is_checked_whatever_the_boundary(func, boundary):
    # As in the rank and linear filters: a fillvalue that is not a number is
    # refused even where the boundary does not read it.
    image = np.random.default_rng(0).random((5, 6))
    for bad in ("abc", None):
        with pytest.raises(TypeError, match="fillvalue must be a number"):
            func(image, size=3, boundary=boundary, fillvalue=bad)
        with pytest.raises(ValueError, match="fillvalue=.* is complex"):
            func(image, size=3, boundary=boundary, fillvalue=1 + 2j)
    # what the rank filters and scipy.ndimage take: 0-d and one-element arrays
    for good in (np.array(0.5), np.array([0.5]), np.longdouble(0.5)):
        assert np.array_equal(func(image, size=3, boundary=boundary, fillvalue=good),
                              func(image, size=3, boundary=boundary, fillvalue=0.5))
