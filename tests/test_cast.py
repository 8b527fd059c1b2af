"""The output cast: an integer ``dtype=`` rounds to nearest (ties to even),
maps NaN to 0 and saturates at the integer limits (OpenCV's saturate_cast).

The reference is exact Python integer arithmetic per element, independent of
the threaded kernel and of its NumPy fallback.
"""

import math

import numpy as np
import pytest

import imfilt
from imfilt._cast import cast_output

INTEGERS = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]


def reference(values, dtype):
    info = np.iinfo(dtype)
    out = []
    for v in values.tolist():
        if math.isnan(v):
            out.append(0)
        elif math.isinf(v):
            out.append(int(info.max) if v > 0 else int(info.min))
        else:
            out.append(min(max(round(v), int(info.min)), int(info.max)))  # round(): ties to even
    return np.array(out, dtype=dtype)


def hostile_values(src, rng):
    limits = [-2.0 ** 64, -2.0 ** 63, -2.0 ** 31, -32768, -128, 0, 127, 255, 32767, 65535,
              2.0 ** 31 - 1, 2.0 ** 32 - 1, 2.0 ** 63, 2.0 ** 64]
    base = np.array(limits + [x + d for x in limits for d in (-1.5, -0.5, 0.5, 1.5)]
                    + [np.nan, np.inf, -np.inf, -0.0, 0.49999997, 2.5, -2.5, 3.4e38, -3.4e38,
                       4194304.5, 8388609.0, 1e30], dtype=np.float64)
    base = base.astype(src)
    near = np.concatenate([base, np.nextafter(base, src(0)), np.nextafter(base, src(np.inf))])
    noise = rng.standard_normal(3000) * 10.0 ** rng.integers(0, 20, 3000)
    halves = rng.integers(-70000, 70000, 3000) + 0.5
    return np.concatenate([near, noise.astype(src), halves.astype(src)])


@pytest.mark.parametrize("src", [np.float32, np.float64])
@pytest.mark.parametrize("dtype", INTEGERS)
@pytest.mark.parametrize("nthreads", [1, 2])
def test_integer_cast_matches_exact_reference(src, dtype, nthreads, rng):
    values = hostile_values(src, rng)
    with np.errstate(all="ignore"):
        ref = reference(values, dtype)
        got = cast_output(values, np.dtype(dtype), nthreads)          # threaded kernel
        strided = cast_output(values[::-1], np.dtype(dtype), nthreads)  # NumPy path
        into = np.empty(values.shape, dtype=dtype)
        assert cast_output(values, np.dtype(dtype), nthreads, dest=into) is into
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(strided, ref[::-1])
    np.testing.assert_array_equal(into, ref)


def test_large_cast_is_thread_count_independent(rng):
    x = (rng.standard_normal((700, 900)) * 200).astype(np.float32)
    x[::7, ::11] = np.nan
    one = cast_output(x, np.dtype(np.uint8), 1)
    two = cast_output(x, np.dtype(np.uint8), 2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, reference(x.ravel(), "uint8").reshape(x.shape))


@pytest.mark.parametrize("func, args", [
    (imfilt.gaussian, (1.5,)), (imfilt.box, (3,)), (imfilt.unsharp_mask, (2.0, 3.0)),
    (imfilt.gaussian_laplace, (1.0,)),
])
def test_filters_with_integer_dtype_and_out(func, args, rng):
    x = rng.integers(0, 256, (64, 80)).astype(np.uint8)
    want = reference(func(x, *args).ravel(), "uint8").reshape(x.shape)
    np.testing.assert_array_equal(func(x, *args, dtype=np.uint8), want)
    out = np.empty(x.shape, np.uint8)
    assert func(x, *args, dtype=np.uint8, out=out) is out
    np.testing.assert_array_equal(out, want)
    out_t = np.empty(x.shape[::-1], np.uint8).T          # non-contiguous out=
    assert func(x, *args, dtype=np.uint8, out=out_t) is out_t
    np.testing.assert_array_equal(out_t, want)


def test_convolve_integer_dtype(rng):
    x = rng.integers(-300, 300, (50, 60)).astype(np.float64)
    k = rng.standard_normal((5, 5))
    want = reference(imfilt.convolve(x, k, mode="same").ravel(), "int16").reshape(x.shape)
    np.testing.assert_array_equal(imfilt.convolve(x, k, mode="same", dtype=np.int16), want)
