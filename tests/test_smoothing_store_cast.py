"""Integer ``dtype=`` results of gaussian and box stored cast by the engine.

With an 8- or 16-bit integer output the fused 2-D kernels round and
saturate each output row as they store it (``_kernels/_saturate.pxd``, the
rule of ``imfilt._cast``), without a float temporary; other paths cast a
float result afterwards.  Either way the values must be those of the float
result cast by ``cast_output``, bit for bit: the reference here is exactly
that, computed with the float32/float64 result the filter returns without
``dtype=``.
"""

import numpy as np
import pytest

from imfilt import box, gaussian
from imfilt._cast import cast_output
from imfilt._modes import BOUNDARIES
from imfilt._validation import result_dtypes

OUT = ["int8", "uint8", "int16", "uint16", "int32", "uint64"]


def image(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return rng.integers(info.min, int(info.max) + 1, size=shape, dtype=dtype)
    # Beyond every 8/16-bit range, with exact halves to round to even.
    x = rng.standard_normal(shape) * 300
    x[::3] = np.round(x[::3]) + 0.5
    return x.astype(dtype)


def reference(func, x, arg, out_dtype, **kw):
    """The float result (in the compute dtype of ``dtype=out_dtype``), cast."""
    compute, _ = result_dtypes(x.dtype, np.dtype(np.float64), out_dtype)
    return cast_output(func(x, arg, dtype=compute, **kw), out_dtype)


def check(func, x, arg, out_dtype, **kw):
    ref = reference(func, x, arg, out_dtype, **kw)
    got = func(x, arg, dtype=out_dtype, **kw)
    assert got.dtype == np.dtype(out_dtype)
    np.testing.assert_array_equal(got, ref)
    return ref


CASES = [(gaussian, 0.7), (gaussian, (2.0, 1.0)), (box, 2), (box, (3, 4)), (box, 1)]


@pytest.mark.parametrize("func,arg", CASES)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", "float32", "float64"])
def test_store_cast_equals_cast_after(func, arg, boundary, dtype, rng):
    for shape in [(1, 1), (2, 3), (7, 40), (40, 7), (2, 9, 33)]:
        x = image(rng, shape, dtype)
        for out_dtype in OUT:
            for fill in (0, 300.4, -2.5):
                check(func, x, arg, out_dtype, boundary=boundary, fillvalue=fill,
                      axes=(-2, -1))


@pytest.mark.parametrize("func,arg", [(gaussian, 1.3), (gaussian, (4.0, 0.5)), (box, 3), (box, 15),
                                      (box, (31, 2)), (box, 600)])
@pytest.mark.parametrize("dtype", ["uint8", "int16"])
def test_large_images_bands_strips_and_threads(func, arg, dtype, rng):
    # Bands of 256 rows, strips of 512 columns and pieces of the thread split.
    x = image(rng, (530, 1100), dtype)
    for out_dtype in ("uint8", "int8", "uint16"):
        ref = check(func, x, arg, out_dtype, boundary="symm", workers=2)
        np.testing.assert_array_equal(func(x, arg, dtype=out_dtype, workers=1), ref)


def test_out_layouts_channels_stacks_and_1d(rng):
    x = image(rng, (3, 30, 41), "uint8")
    for func, arg in ((gaussian, 1.5), (box, 5)):
        ref = reference(func, x, arg, np.uint8, axes=(1, 2))
        out = np.empty(x.shape, np.uint8)
        assert func(x, arg, dtype=np.uint8, axes=(1, 2), out=out) is out
        np.testing.assert_array_equal(out, ref)
        out_t = np.empty(x.shape[::-1], np.uint8).T           # not C-contiguous
        assert func(x, arg, dtype=np.uint8, axes=(1, 2), out=out_t) is out_t
        np.testing.assert_array_equal(out_t, ref)
        # Channels last (the channel-first copy runs the fused kernels).
        xc = np.moveaxis(x, 0, -1)
        np.testing.assert_array_equal(func(xc, arg, dtype=np.uint8, channel_axis=-1),
                                      np.moveaxis(ref, 0, -1))
        # 1-D lines and 3-D volumes cast after the single passes.
        check(func, x[0, 0], arg, np.uint8)
        check(func, x, arg, np.uint8, axes=(0, 1, 2))
        check(func, x, arg, np.int16, axes=(0, 2))


def test_nonfinite_box_redo_and_nan_fill(rng):
    # A non-finite running sum sends box to the single passes: the integer
    # result is then the recomputed float result, cast.
    x = image(rng, (40, 50), "float32")
    x[5, 7] = np.nan
    x[20, 30] = np.inf
    check(box, x, 3, np.uint8)
    check(box, x, (4, 5), np.int16, boundary="fill", fillvalue=-np.inf)
    u = image(rng, (40, 50), "uint8")
    check(box, u, 3, np.uint8, boundary="fill", fillvalue=np.nan)
    check(gaussian, u, 1.0, np.uint8, boundary="fill", fillvalue=np.nan)
    check(gaussian, x, 1.0, np.uint16)


def test_nan_policy_omit_with_integer_output(rng):
    x = image(rng, (30, 31), "float32")
    x[3, 4] = np.nan
    for func, arg in ((gaussian, 1.0), (box, 3)):
        ref = cast_output(func(x, arg, nan_policy="omit"), np.uint8)
        np.testing.assert_array_equal(func(x, arg, nan_policy="omit", dtype=np.uint8), ref)


# --------------------------------------------------------------------------
# the exact uint8 box (integer row sums): equal to the float64 running sums


def _running_sums(monkeypatch):
    """Send every box through the general float64 running-sum kernel."""
    from imfilt import _separable
    monkeypatch.setattr(_separable, "_u8_exact", lambda *args: None)


@pytest.mark.parametrize("size", [2, 3, 4, (5, 2), (2, 31), 15, (64, 257), (258, 3), (1025, 2)])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_uint8_box_exact_path_equals_running_sums(size, boundary, rng, monkeypatch):
    from imfilt import _separable
    # Every row length the kernel takes (speed alone limits it to short rows).
    monkeypatch.setattr(_separable, "_U8_ROW_MAX", 1 << 20)
    cases = []
    for shape in [(1, 1), (2, 3), (5, 70), (70, 5), (2, 37, 41), (300, 530)]:
        x = rng.integers(0, 256, shape, dtype=np.uint8)
        x[..., ::2] = np.where(x[..., ::2] > 127, 255, 0)      # extremes
        for fill in ([0, 255, 7, 3.5, -1.0] if boundary == "fill" else [0]):
            for dt in (None, np.uint8, np.int16):
                for w in (1, 2):
                    kw = dict(boundary=boundary, fillvalue=fill, dtype=dt, workers=w,
                              axes=(-2, -1))
                    cases.append((x, kw, box(x, size, **kw)))
    _running_sums(monkeypatch)
    for x, kw, got in cases:
        ref = box(x, size, **kw)
        assert got.dtype == ref.dtype
        np.testing.assert_array_equal(got, ref, err_msg=str(kw))


@pytest.mark.parametrize("size", [3, (5, 7), 9, (257, 9), (259, 3), (11, 3), 11, 15, (3, 17),
                                  31, (3, 33), (257, 33), (5, 35), (9, 64)])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_uint8_odd_box_integer_rounding_equals_running_sums(size, boundary, rng, monkeypatch):
    """uint8 -> uint8 boxes of an odd number of points take the integer
    kernel (the mean of an odd count is never half-way, so rounding the
    integer mean gives the float result's cast); 16-bit column sums up to
    257 rows and rows up to 33 points (longer rows add sums of 2**j column
    sums), the float path past that."""
    from imfilt import _separable
    calls = []
    kernel = _separable._k.box_u8_round

    def spy(*args):
        calls.append(args[5])
        return kernel(*args)
    monkeypatch.setattr(_separable._k, "box_u8_round", spy)
    cases = []
    for shape in [(1, 1), (2, 3), (5, 70), (70, 5), (2, 37, 41), (300, 530)]:
        x = rng.integers(0, 256, shape, dtype=np.uint8)
        x[..., ::2] = np.where(x[..., ::2] > 127, 255, 0)      # extremes
        for fill in ([0, 255, 7] if boundary == "fill" else [0]):
            for w in (1, 2, 3):
                kw = dict(boundary=boundary, fillvalue=fill, dtype=np.uint8, workers=w,
                          axes=(-2, -1))
                cases.append((x, kw, box(x, size, **kw)))
    k0, k1 = (size, size) if isinstance(size, int) else size
    assert bool(calls) == (k0 <= 257 and k1 <= 33 and (k0 * k1) % 2 == 1)
    monkeypatch.undo()
    _running_sums(monkeypatch)
    for x, kw, got in cases:
        ref = box(x, size, **kw)
        np.testing.assert_array_equal(got, ref, err_msg=str(kw))


@pytest.mark.parametrize("size", [3, 15, 31, (257, 33), (255, 33), (31, 17)])
def test_uint8_odd_box_rounding_at_the_closest_means_to_half_way(size, monkeypatch):
    """A checkerboard of 254 and 255 gives windows of N points whose mean
    is 254 + (N -+ 1) / (2 N): 1 / (2 N) from the half-way point 254.5, the
    closest an odd box's mean comes to it, at the top of the range where
    float32 is least precise.  The integer kernel rounds each side as the
    float path does."""
    x = (254 + np.indices((300, 300)).sum(axis=0) % 2).astype(np.uint8)
    got = box(x, size, dtype=np.uint8)
    assert set(np.unique(got[40:-40, 40:-40])) == {254, 255}    # both sides of half-way
    _running_sums(monkeypatch)
    np.testing.assert_array_equal(got, box(x, size, dtype=np.uint8))


def test_uint8_odd_box_16bit_lanes_equal_the_float_form(rng, monkeypatch):
    """Odd boxes of up to 255 points with rows of up to 9 form the rounded
    mean in 16-bit lanes, ``((S + (N - 1) / 2) * mul) >> (16 + shift)``, with
    a divisor checked for every sum; every such size (including those with
    no exact 16-bit divisor, which keep the float form) gives the float
    form's bytes, at the extremes of the sums as well."""
    from imfilt import _separable
    x = rng.integers(0, 256, (2, 61, 83), dtype=np.uint8)
    x[0] = 255
    x[1, ::2] = np.where(x[1, ::2] > 127, 255, 0)
    sizes = [(k0, k1) for k1 in (1, 3, 5, 7, 9) for k0 in range(1, 256 // k1 + 1, 2)]
    got = {s: box(x, s, dtype=np.uint8, boundary="fill", fillvalue=255, axes=(-2, -1))
           for s in sizes}
    lanes = [s for s in sizes if _separable._u8_divisor(s[0] * s[1])[0]]
    assert len(lanes) > 0.8 * len(sizes)
    monkeypatch.setattr(_separable, "_u8_divisor", lambda n: (0, 0))
    for s in sizes:
        np.testing.assert_array_equal(got[s], box(x, s, dtype=np.uint8, boundary="fill",
                                                  fillvalue=255, axes=(-2, -1)), err_msg=str(s))
