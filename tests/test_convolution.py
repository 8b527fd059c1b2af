"""convolve / correlate against scipy.signal and the numpy.pad definition."""

import itertools

import numpy as np
import pytest
from scipy import signal

import imfilt
from imfilt._modes import BOUNDARY_ALIASES, BOUNDARIES, NUMPY_PAD_MODE, boundary_index

from conftest import COMPUTE, assert_close_to_reference, numpy_pad_reference, tolerance

MODES = ("full", "same", "valid")
FUNCS = {"convolve": (imfilt.convolve, signal.convolve2d, True),
         "correlate": (imfilt.correlate, signal.correlate2d, False)}

# (image shape, kernel shape): odd, even, mixed, 1xN, Nx1, larger than the
# image in one or both axes, many times larger (repeated folding), equal.
SHAPES = [
    ((7, 9), (3, 3)),
    ((8, 6), (4, 2)),
    ((6, 7), (2, 5)),
    ((1, 11), (1, 4)),
    ((9, 1), (3, 1)),
    ((1, 1), (3, 3)),
    ((4, 5), (6, 7)),
    ((3, 2), (11, 9)),
    ((5, 5), (5, 5)),
    ((2, 13), (5, 2)),
    ((12, 10), (1, 1)),
]



def _sample(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind == "u":
        return rng.integers(0, min(np.iinfo(dtype).max, 200), size=shape).astype(dtype)
    if dtype.kind == "i":
        return rng.integers(-100, 100, size=shape).astype(dtype)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _valid_possible(xs, ws):
    return all(a >= b for a, b in zip(xs, ws)) or all(b >= a for a, b in zip(xs, ws))


def _check(fname, x, w, mode, boundary, fillvalue=0.0, **kw):
    ours, ref_fn, is_conv = FUNCS[fname]
    got = ours(x, w, mode, boundary, fillvalue, **kw)
    compute = COMPUTE[np.dtype(x.dtype).name]
    if np.dtype(w.dtype).kind == "c" and np.dtype(compute).kind != "c":
        compute = np.complex64 if compute == np.float32 else np.complex128
    # The reference sees the inputs as imfilt computes them.
    xr = np.asarray(x).astype(compute).astype(np.complex128 if np.dtype(compute).kind == "c" else np.float64)
    wr = np.asarray(w).astype(compute).astype(xr.dtype if np.dtype(compute).kind == "c" else np.float64)
    ref = numpy_pad_reference(xr, wr, mode, boundary, fillvalue, is_conv)
    assert got.dtype == np.dtype(compute)
    atol = tolerance(xr, wr, mode, boundary, fillvalue, is_conv, compute)
    assert_close_to_reference(got, ref, atol)
    # Where SciPy supports the boundary, compare with SciPy itself as well.
    if boundary in ("fill", "wrap", "symm") and np.dtype(compute).kind == "f":
        ref2 = ref_fn(xr, wr, mode, boundary, fillvalue)
        assert_close_to_reference(got, ref2, atol)
    return got


@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("xs,ws", SHAPES)
def test_grid_float64(fname, mode, boundary, xs, ws, rng):
    x = _sample(rng, xs, np.float64)
    w = _sample(rng, ws, np.float64)
    if mode == "valid" and not _valid_possible(xs, ws):
        with pytest.raises(ValueError, match="valid"):
            FUNCS[fname][0](x, w, mode, boundary)
        return
    _check(fname, x, w, mode, boundary, fillvalue=0.75 if boundary == "fill" else 0.0)


@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("dtype", sorted(COMPUTE))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_grid_dtypes(fname, dtype, mode, boundary, rng):
    for xs, ws in [((9, 8), (3, 4)), ((3, 4), (5, 6)), ((1, 7), (1, 2))]:
        if mode == "valid" and not _valid_possible(xs, ws):
            continue
        x = _sample(rng, xs, dtype)
        w = _sample(rng, ws, np.float64)
        _check(fname, x, w, mode, boundary)


@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("kdtype", ["float64", "complex128", "int64", "bool", "float32"])
@pytest.mark.parametrize("xdtype", ["float32", "float64", "complex64", "uint8"])
def test_kernel_dtypes(fname, xdtype, kdtype, rng):
    x = _sample(rng, (10, 11), xdtype)
    w = _sample(rng, (3, 2), kdtype)
    for mode in MODES:
        _check(fname, x, w, mode, "symm")


@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_complex_fill_and_kernel(fname, boundary, rng):
    x = _sample(rng, (6, 7), np.complex128)
    w = _sample(rng, (4, 3), np.complex128)
    fill = 0.5 - 2j if boundary == "fill" else 0
    for mode in MODES:
        _check(fname, x, w, mode, boundary, fillvalue=fill)
    # SciPy itself, for the boundaries it has
    if boundary in ("fill", "wrap", "symm"):
        ours, ref_fn, _ = FUNCS[fname]
        for mode in MODES:
            np.testing.assert_allclose(ours(x, w, mode, boundary, fill),
                                       ref_fn(x, w, mode, boundary, fill), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fname", FUNCS)
def test_complex_valid_swap_matches_scipy(fname, rng):
    # SciPy swaps the inputs; correlate2d then conjugates the *image*.
    x = _sample(rng, (2, 3), np.complex128)
    w = _sample(rng, (4, 5), np.complex128)
    ours, ref_fn, _ = FUNCS[fname]
    np.testing.assert_allclose(ours(x, w, "valid"), ref_fn(x, w, "valid"), rtol=1e-12, atol=1e-12)


# --- 1-D inputs follow scipy.signal.convolve / correlate and numpy ---------

@pytest.mark.parametrize("n,k", [(10, 3), (10, 4), (6, 1), (3, 8), (5, 5), (1, 1), (1, 4)])
@pytest.mark.parametrize("mode", MODES)
def test_one_d_matches_scipy_signal(n, k, mode, rng):
    x = rng.standard_normal(n)
    w = rng.standard_normal(k)
    for ours, ref in [(imfilt.convolve, signal.convolve), (imfilt.correlate, signal.correlate)]:
        got = ours(x, w, mode)
        assert got.ndim == 1
        np.testing.assert_allclose(got, ref(x, w, mode, method="direct"), rtol=1e-12, atol=1e-12)
    if n >= k:
        np.testing.assert_allclose(imfilt.convolve(x, w, mode), np.convolve(x, w, mode), atol=1e-12)
        np.testing.assert_allclose(imfilt.correlate(x, w, mode), np.correlate(x, w, mode), atol=1e-12)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", MODES)
def test_one_d_boundaries(boundary, mode, rng):
    x = rng.standard_normal(7)
    for k in (3, 4, 15):
        w = rng.standard_normal(k)
        if mode == "valid" and k > 7:
            # kernel larger: swapped
            np.testing.assert_allclose(imfilt.convolve(x, w, mode, boundary), signal.convolve(x, w, mode), atol=1e-12)
            continue
        for func, conv in [(imfilt.convolve, True), (imfilt.correlate, False)]:
            ref = numpy_pad_reference(x[None], w[None], mode, boundary, 0.0, conv, align=True)[0]
            np.testing.assert_allclose(func(x, w, mode, boundary), ref, rtol=1e-12, atol=1e-12)


# --- tiny hand-computed cases ------------------------------------------------

def test_seed_full_2x2_with_3x3_gives_4x4():
    image = np.array([[1.0, 2.0], [3.0, 4.0]])
    kernel = np.arange(1.0, 10.0).reshape(3, 3)
    out = imfilt.convolve(image, kernel)
    assert out.shape == (4, 4)
    expected = np.array([
        [1, 4, 7, 6],
        [7, 23, 33, 24],
        [19, 53, 63, 42],
        [21, 52, 59, 36],
    ], dtype=float)
    np.testing.assert_array_equal(out, expected)


def test_seed_valid_5x5_with_3x3_gives_3x3():
    image = np.arange(25.0).reshape(5, 5)
    kernel = np.array([[0.0, 0, 0], [0, 0, 0], [0, 0, 1]])
    out = imfilt.convolve(image, kernel, mode="valid")
    # the flipped kernel picks the top-left sample of each window
    np.testing.assert_array_equal(out, image[:3, :3])
    assert imfilt.correlate(image, kernel, mode="valid").tolist() == image[2:, 2:].tolist()


def test_even_kernel_same_alignment_by_hand():
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    w = np.array([[1.0, 10.0]])
    # convolution full: [1, 12, 23, 34, 40]; same = full[(2-1)//2 : +4] = full[0:4]
    np.testing.assert_array_equal(imfilt.convolve(x, w, "same"), [[1, 12, 23, 34]])
    # correlation full: [10, 21, 32, 43, 4]; same = full[2//2 : +4] = full[1:5]
    np.testing.assert_array_equal(imfilt.correlate(x, w, "same"), [[21, 32, 43, 4]])


def test_ndimage_origin_identity_for_even_kernels(rng):
    from scipy import ndimage
    x = rng.standard_normal((9, 10))
    w = rng.standard_normal((4, 4))
    np.testing.assert_allclose(
        imfilt.convolve(x, w, "same"), ndimage.convolve(x, w, mode="constant", origin=-1), atol=1e-12)
    np.testing.assert_allclose(
        imfilt.correlate(x, w, "same"), ndimage.correlate(x, w, mode="constant", origin=-1), atol=1e-12)


def test_boundary_by_hand():
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    pick_left = np.array([[0.0, 0.0, 1.0]])   # convolution: out[j] = x[j - 1] in 'same'
    got = {b: imfilt.convolve(x, pick_left, "same", b, fillvalue=9).ravel().tolist() for b in BOUNDARIES}
    assert got == {
        "fill": [9, 1, 2, 3],
        "wrap": [4, 1, 2, 3],
        "symm": [1, 1, 2, 3],
        "reflect": [2, 1, 2, 3],
        "edge": [1, 1, 2, 3],
    }


@pytest.mark.parametrize("alias,name", sorted(BOUNDARY_ALIASES.items()))
def test_boundary_aliases(alias, name, rng):
    x = rng.standard_normal((5, 6))
    w = rng.standard_normal((3, 4))
    np.testing.assert_array_equal(imfilt.convolve(x, w, "same", alias), imfilt.convolve(x, w, "same", name))


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_boundary_index_is_numpy_pad(boundary):
    for n in (1, 2, 3, 5):
        for before, after in [(0, 0), (1, 0), (0, 4), (3, 7), (13, 2), (40, 41)]:
            if boundary == "fill":
                src = np.arange(n)
                padded = np.pad(src, (before, after), mode="constant", constant_values=-1)
            else:
                padded = np.pad(np.arange(n), (before, after), mode=NUMPY_PAD_MODE[boundary])
            np.testing.assert_array_equal(boundary_index(n, before, after, boundary), padded)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_kernel_many_times_larger_than_image(boundary, rng):
    x = rng.standard_normal((3, 2))
    w = rng.standard_normal((23, 17))
    for mode in ("full", "same"):
        _check("convolve", x, w, mode, boundary, 0.5 if boundary == "fill" else 0.0)
        _check("correlate", x, w, mode, boundary, 0.5 if boundary == "fill" else 0.0)


# --- memory layouts -------------------------------------------------------------

def _layouts(a):
    big = np.zeros((a.shape[0] * 2 + 1, a.shape[1] * 3 + 2), dtype=a.dtype)
    strided = big[1::2, 2::3]
    strided[...] = a
    fortran = np.asfortranarray(a)
    neg = a[::-1, ::-1].copy()[::-1, ::-1]
    ro = a.copy()
    ro.setflags(write=False)
    be = a.astype(a.dtype.newbyteorder(">"))
    return {"contiguous": a, "strided": strided, "fortran": fortran, "negative": neg,
            "readonly": ro, "bigendian": be}


@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("layout", ["strided", "fortran", "negative", "readonly", "bigendian"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128", "int16"])
def test_memory_layouts(fname, layout, dtype, rng):
    x = _sample(rng, (11, 13), dtype)
    w = _sample(rng, (4, 3), np.float64)
    func = FUNCS[fname][0]
    xl = _layouts(x)[layout]
    wl = _layouts(w)[layout]
    before = xl.copy()
    for mode in MODES:
        for boundary in BOUNDARIES:
            expected = func(x, w, mode, boundary)
            got = func(xl, wl, mode, boundary)
            np.testing.assert_array_equal(got, expected)
            assert got.flags.c_contiguous
            assert got.dtype.isnative
    np.testing.assert_array_equal(xl, before)  # input never modified


def test_python_lists_and_scalars_in_kernel():
    out = imfilt.convolve([[1, 2], [3, 4]], [[1]])
    assert out.dtype == np.float64  # Python ints -> int64 -> float64
    np.testing.assert_array_equal(out, [[1, 2], [3, 4]])


# --- dtype policy -----------------------------------------------------------------

@pytest.mark.parametrize("image_dtype,kernel_dtype,expected", [
    ("float32", "float64", "float32"),
    ("float32", "int64", "float32"),
    ("float32", "complex128", "complex64"),
    ("float64", "float32", "float64"),
    ("float64", "complex64", "complex128"),
    ("complex64", "float64", "complex64"),
    ("complex128", "float32", "complex128"),
    ("uint8", "float64", "float32"),
    ("int8", "float64", "float32"),
    ("uint16", "float64", "float32"),
    ("int16", "float64", "float32"),
    ("bool", "float64", "float32"),
    ("float16", "float64", "float32"),
    ("int32", "float32", "float64"),
    ("uint32", "float32", "float64"),
    ("int64", "float32", "float64"),
    ("uint64", "float32", "float64"),
])
def test_dtype_policy(image_dtype, kernel_dtype, expected):
    x = np.ones((4, 4), dtype=image_dtype)
    w = np.ones((2, 2), dtype=kernel_dtype)
    assert imfilt.convolve(x, w).dtype == np.dtype(expected)
    assert imfilt.correlate(x, w).dtype == np.dtype(expected)


def test_float32_with_python_list_kernel_stays_float32():
    x = np.ones((5, 5), dtype=np.float32)
    assert imfilt.convolve(x, [[0.1, 0.2], [0.3, 0.4]]).dtype == np.float32


def test_integers_never_wrap():
    x = np.full((3, 3), 200, dtype=np.uint8)
    out = imfilt.convolve(x, np.ones((3, 3), dtype=np.uint8), "same")
    assert out[1, 1] == 1800.0
    big = np.full((2, 2), 2**62, dtype=np.int64)
    assert imfilt.convolve(big, np.ones((2, 2), dtype=np.int64))[1, 1] == 4 * 2.0**62


def test_dtype_override_rounds_and_saturates():
    x = np.array([[100, 200, 250]], dtype=np.uint8)
    w = np.array([[1.5]])
    out = imfilt.convolve(x, w, dtype=np.uint8)
    assert out.dtype == np.uint8
    assert out.tolist() == [[150, 255, 255]]
    out = imfilt.convolve(np.array([[-3.5, -2.5, 2.5, 1e10, -1e10, np.nan]]), [[1]], dtype=np.int16)
    assert out.tolist() == [[-4, -2, 2, 32767, -32768, 0]]
    out = imfilt.convolve(np.array([[1e300, -1e300, 3.0]]), [[1]], dtype=np.int64)
    assert out.tolist() == [[np.iinfo(np.int64).max, np.iinfo(np.int64).min, 3]]
    assert imfilt.convolve(np.array([[np.inf, -np.inf]]), [[1]], dtype=np.uint16).tolist() == [[65535, 0]]


def test_dtype_override_float_precision(rng):
    x = rng.standard_normal((20, 20)).astype(np.float32)
    w = rng.standard_normal((5, 5))
    out = imfilt.convolve(x, w, "same", dtype=np.float64)
    assert out.dtype == np.float64
    ref = signal.convolve2d(x.astype(np.float64), w, "same")
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    assert imfilt.convolve(x, w, dtype="complex128").dtype == np.complex128
    assert imfilt.convolve(x, w, dtype=np.float16).dtype == np.float16


def test_dtype_override_errors():
    x = np.ones((3, 3), dtype=np.complex64)
    with pytest.raises(TypeError, match="imaginary"):
        imfilt.convolve(x, [[1]], dtype=np.int32)
    with pytest.raises(TypeError, match="imaginary"):
        imfilt.convolve(x, [[1]], dtype=np.float32)
    with pytest.raises(TypeError, match="dtype=bool"):
        imfilt.convolve(np.ones((3, 3)), [[1]], dtype=bool)
    with pytest.raises(TypeError, match="not a NumPy dtype"):
        imfilt.convolve(np.ones((3, 3)), [[1]], dtype="nonsense")


# --- NaN and inf ----------------------------------------------------------------

@pytest.mark.parametrize("fname", FUNCS)
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("mode", MODES)
def test_nan_inf_propagate_like_scipy(fname, boundary, mode, rng):
    ours, ref_fn, _ = FUNCS[fname]
    x = rng.standard_normal((12, 11))
    x[3, 4] = np.nan
    x[7, 2] = np.inf
    x[9, 9] = -np.inf
    x[0, 10] = np.inf
    w = rng.standard_normal((4, 3))
    w[1, 1] = 0.0  # NaN * 0 must still be NaN
    w[0, 2] = 0.0
    for dtype in (np.float64, np.float32):
        got = ours(x.astype(dtype), w, mode, boundary)
        ref = ref_fn(x, w, mode, boundary)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(ref))
        np.testing.assert_array_equal(np.isneginf(got), np.isneginf(ref))


def test_inf_weight_times_zero_fill_is_nan():
    x = np.ones((3, 3))
    w = np.ones((2, 2))
    w[0, 0] = np.inf
    got = imfilt.convolve(x, w)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(signal.convolve2d(x, w)))
    assert np.isnan(got).any()


def test_nan_fillvalue_propagates():
    got = imfilt.convolve(np.ones((4, 4)), np.ones((3, 3)), "same", fillvalue=np.nan)
    ref = signal.convolve2d(np.ones((4, 4)), np.ones((3, 3)), "same", fillvalue=np.nan)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    assert got[1, 1] == 9.0


def test_huge_values(rng):
    x = rng.standard_normal((8, 8)) * 1e300
    w = rng.standard_normal((3, 3))
    got = imfilt.convolve(x, w, "same")
    ref = signal.convolve2d(x, w, "same")
    np.testing.assert_allclose(got, ref, rtol=1e-10)
    # float32 overflow becomes inf, as the float32 arithmetic says
    x32 = np.full((4, 4), 3e38, dtype=np.float32)
    assert np.isinf(imfilt.convolve(x32, np.ones((2, 2)), "valid")).all()


# --- empty and degenerate inputs ------------------------------------------------

def test_empty_image_fill_matches_scipy():
    x = np.zeros((0, 3))
    w = np.ones((2, 2))
    got = imfilt.convolve(x, w, fillvalue=3)
    np.testing.assert_array_equal(got, signal.convolve2d(x, w, fillvalue=3))
    assert imfilt.convolve(x, w, "same").shape == (0, 3)
    assert imfilt.correlate(np.zeros((0, 0)), w, "same").shape == (0, 0)


@pytest.mark.parametrize("boundary", ["wrap", "symm", "reflect", "edge"])
def test_empty_image_other_boundaries_raise(boundary):
    # scipy.signal.convolve2d crashes the interpreter (SIGFPE) on this input
    with pytest.raises(ValueError, match="empty"):
        imfilt.convolve(np.zeros((0, 3)), np.ones((2, 2)), boundary=boundary)


def test_empty_image_valid():
    with pytest.raises(ValueError, match="valid"):
        imfilt.convolve(np.zeros((0, 3)), np.ones((2, 2)), "valid")
    with pytest.raises(ValueError, match="empty"):
        imfilt.convolve(np.zeros((0, 0)), np.ones((2, 2)), "valid")
    # scipy's quirk: an empty image swapped into the kernel's place
    assert signal.convolve2d(np.zeros((0, 0)), np.ones((2, 2)), "valid").shape == (3, 3)


# --- errors -------------------------------------------------------------------------

@pytest.mark.parametrize("func", [imfilt.convolve, imfilt.correlate])
def test_error_unknown_mode(func):
    with pytest.raises(ValueError) as err:
        func(np.ones((3, 3)), np.ones((2, 2)), mode="middle")
    msg = str(err.value)
    assert "mode='middle'" in msg and "'full'" in msg and "'same'" in msg and "'valid'" in msg


@pytest.mark.parametrize("func", [imfilt.convolve, imfilt.correlate])
def test_error_unknown_boundary(func):
    with pytest.raises(ValueError) as err:
        func(np.ones((3, 3)), np.ones((2, 2)), boundary="bogus")
    msg = str(err.value)
    assert "boundary='bogus'" in msg
    for name in list(BOUNDARY_ALIASES):
        assert repr(name) in msg


def test_error_boundary_hint_for_other_library_names():
    with pytest.raises(ValueError, match="mirror.*reflect"):
        imfilt.convolve(np.ones((3, 3)), np.ones((2, 2)), boundary="mirror")
    with pytest.raises(ValueError, match="Did you mean 'same'"):
        imfilt.convolve(np.ones((3, 3)), np.ones((2, 2)), mode="SAME")


@pytest.mark.parametrize("image,kernel", [
    (np.float64(3.0), np.ones((2, 2))),
    (np.ones((3, 3)), np.ones(2)),
    (np.ones(3), np.ones((2, 2))),
    (np.ones((3, 3)), np.ones((2, 2, 2))),
    (np.ones((2, 3, 3)), np.ones((2, 2, 2, 2))),
])
def test_error_ndim(image, kernel):
    with pytest.raises(ValueError, match="ndim"):
        imfilt.convolve(image, kernel)


def test_error_stack_kernel_leading_shape():
    # per-slice kernels are asked for with axes=; without it a 3-D kernel is N-D
    with pytest.raises(ValueError, match=r"leading shape \(3,\)"):
        imfilt.convolve(np.ones((2, 5, 5)), np.ones((3, 2, 2)), axes=(1, 2))
    assert imfilt.convolve(np.ones((2, 5, 5)), np.ones((3, 2, 2))).shape == (4, 6, 6)


def test_error_empty_kernel():
    with pytest.raises(ValueError, match="kernel must not be empty"):
        imfilt.convolve(np.ones((3, 3)), np.ones((0, 2)))
    with pytest.raises(ValueError, match="kernel must not be empty"):
        imfilt.correlate(np.ones(3), [])


def test_error_mixed_valid_shapes():
    with pytest.raises(ValueError, match=r"\(3, 6\).*\(5, 2\)"):
        imfilt.convolve(np.ones((3, 6)), np.ones((5, 2)), "valid")


@pytest.mark.parametrize("fill", [[1, 2], np.ones((2, 2))])
def test_error_fillvalue_not_scalar(fill):
    with pytest.raises(ValueError, match="fillvalue"):
        imfilt.convolve(np.ones((3, 3)), np.ones((2, 2)), fillvalue=fill)


def test_fillvalue_forms():
    a = imfilt.convolve(np.ones((3, 3)), np.ones((2, 2)), fillvalue=np.array([2.0]))
    b = imfilt.convolve(np.ones((3, 3)), np.ones((2, 2)), fillvalue=2)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="complex"):
        imfilt.convolve(np.ones((3, 3)), np.ones((2, 2)), fillvalue=1 + 1j)
    with pytest.raises(TypeError, match="fillvalue"):
        imfilt.convolve(np.ones((3, 3)), np.ones((2, 2)), fillvalue="zero")


@pytest.mark.parametrize("bad", [
    np.array([["a", "b"], ["c", "d"]]),
    np.array([[b"a"]]),
    np.array([[None, 1]], dtype=object),
    np.array([["2020-01-01"]], dtype="datetime64[D]"),
    np.array([[1]], dtype="timedelta64[s]"),
    np.zeros((2, 2), dtype="V8"),
])
def test_error_bad_dtypes(bad):
    with pytest.raises(TypeError, match="dtype"):
        imfilt.convolve(bad, np.ones((1, 1)))
    with pytest.raises(TypeError, match="kernel"):
        imfilt.correlate(np.ones((3, 3)), bad)


def test_error_ragged_and_none():
    with pytest.raises(ValueError, match="image"):
        imfilt.convolve([[1, 2], [3]], [[1]])
    with pytest.raises(TypeError, match="image"):
        imfilt.convolve(None, [[1]])
    with pytest.raises(TypeError, match="kernel"):
        imfilt.convolve([[1.0]], None)


def test_error_longdouble():
    with pytest.raises(TypeError, match="extended precision"):
        imfilt.convolve(np.ones((2, 2), dtype=np.longdouble), [[1]])


@pytest.mark.parametrize("workers", [0, 1.5, "2", True, [2]])
def test_error_bad_workers(workers):
    with pytest.raises(ValueError, match="workers="):
        imfilt.convolve(np.ones((3, 3)), np.ones((2, 2)), workers=workers)


def test_error_too_negative_workers():
    with pytest.raises(ValueError, match="workers=-10000"):
        imfilt.convolve(np.ones((3, 3)), np.ones((2, 2)), workers=-10000)


def test_keyword_only_arguments():
    with pytest.raises(TypeError):
        imfilt.convolve(np.ones((3, 3)), np.ones((2, 2)), "same", "fill", 0, np.float64)


# --- a random sweep over everything at once ---------------------------------------

def test_random_sweep(rng):
    dtypes = ["float32", "float64", "complex64", "uint8", "int32"]
    for _ in range(150):
        xs = tuple(int(v) for v in rng.integers(1, 14, size=2))
        ws = tuple(int(v) for v in rng.integers(1, 9, size=2))
        mode = MODES[rng.integers(3)]
        boundary = BOUNDARIES[rng.integers(5)]
        if mode == "valid" and not _valid_possible(xs, ws):
            continue
        fname = ("convolve", "correlate")[rng.integers(2)]
        x = _sample(rng, xs, dtypes[rng.integers(len(dtypes))])
        w = _sample(rng, ws, np.float64)
        _check(fname, x, w, mode, boundary, fillvalue=float(rng.standard_normal()) if boundary == "fill" else 0.0,
               workers=int(rng.integers(1, 4)))


def test_all_modes_boundaries_larger_image_agree_with_scipy(rng):
    # a moderately large image exercises the multi-threaded band split
    x = rng.standard_normal((301, 257)).astype(np.float32)
    w = rng.standard_normal((5, 4)).astype(np.float32)
    for fname, mode, boundary in itertools.product(FUNCS, MODES, BOUNDARIES):
        _check(fname, x, w, mode, boundary, workers=2)


@pytest.mark.parametrize("axes", [(1, 0), (-1, -2), (-1, 0)])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_two_d_image_with_swapped_axes_keeps_its_layout(axes, mode, rng):
    # The kernel's first axis runs along image axis axes[0]; the result's
    # axes stay where the image's are (as for a stack), with out= too.
    x, k = rng.standard_normal((8, 9)), rng.standard_normal((3, 2))
    for func, ref in ((imfilt.convolve, signal.convolve2d),
                      (imfilt.correlate, signal.correlate2d)):
        want = ref(x.T, k, mode).T
        got = func(x, k, mode, axes=axes)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-12)
        out = np.empty(want.shape)
        assert func(x, k, mode, axes=axes, out=out) is out
        np.testing.assert_allclose(out, want, atol=1e-12)
        np.testing.assert_array_equal(func(x[None], k, mode, axes=(axes[0] % 2 + 1,
                                                                  axes[1] % 2 + 1))[0], got)


@pytest.mark.parametrize("method", ["separable", "auto"])
def test_separable_first_pass_does_not_overflow(method, rng):
    # The factor applied first is scaled by a power of two to sum to less
    # than 1 (the second by the inverse: the same bits): a 31x31 box on
    # float32 values near 3e37 stays finite, as the direct sum does.
    x = np.full((64, 70), 3e37, np.float32)
    k = np.ones((31, 31), np.float32) / 961
    got = imfilt.convolve(x, k, "same", method=method, boundary="symm")
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, 3e37, rtol=1e-5)
    got = imfilt.convolve(x, k, "same", method="separable", stride=2)
    assert np.isfinite(got[2:-2, 2:-2]).all()
    small = rng.standard_normal((40, 50)).astype(np.float32)
    np.testing.assert_array_equal(imfilt.convolve(small * 2**100, k, "same", method="separable"),
                                  imfilt.convolve(small, k, "same", method="separable") * 2**100)


def test_separable_valid_with_a_kernel_larger_than_the_image():
    # SciPy's 'valid' swap makes the image the filter; method='separable'
    # still gives SciPy's answer (it ran the rank test on the image).
    img = np.array([[1.0, 2, 0], [0, 1, 3], [4, 0, 1]])
    k = np.outer([1, 2, 3, 4, 5], [1, 2, 3, 4, 5.0])
    for func, ref in ((imfilt.convolve, signal.convolve2d), (imfilt.correlate, signal.correlate2d)):
        np.testing.assert_allclose(func(img, k, "valid", method="separable"), ref(img, k, "valid"))


def test_big_endian_out_gets_a_hint_that_works(rng):
    x = rng.standard_normal((6, 7))
    with pytest.raises(ValueError, match=r"out has dtype >f8, not in this machine's byte order; "
                                         r"imfilt writes native arrays: allocate out with "
                                         r"dtype=float64"):
        imfilt.convolve(x, np.ones((3, 3)), "same", out=np.empty((6, 7), ">f8"))
    out = np.empty((6, 7), np.float64)
    assert imfilt.convolve(x, np.ones((3, 3)), "same", out=out) is out


def test_auto_avoids_fft_where_its_sums_would_overflow(rng):
    # A large non-separable kernel on float32 values near 3e37: auto would
    # pick FFT, whose transform sums overflow (NaN everywhere); it takes a
    # method whose sums stay within the direct sum's range instead.
    x = np.full((200, 200), 3e37, np.float32)
    k = rng.random((31, 31)).astype(np.float32)
    k /= k.sum()
    got = imfilt.convolve(x, k, "same", boundary="symm")
    np.testing.assert_allclose(got, imfilt.convolve(x, k, "same", boundary="symm",
                                                    method="direct"), rtol=1e-5)
    # Ordinary values still go to FFT when it is the fastest.
    small = rng.standard_normal((200, 200)).astype(np.float32)
    np.testing.assert_allclose(imfilt.convolve(small, k, "same"),
                               imfilt.convolve(small, k, "same", method="direct"), atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_border_runs_equal_interior_runs_bit_for_bit(dtype, boundary):
    """Outputs whose windows reach past the edge (read from padded copies of
    the border, a run shorter than a vector computed as one vector) get the
    same bits as the same windows read inside an explicitly padded image:
    every output starts at zero and adds its taps in the same order."""
    rng = np.random.default_rng(40)
    x = rng.standard_normal((23, 37)).astype(dtype)
    for k0, k1 in [(1, 2), (3, 3), (4, 7), (1, 15), (3, 16), (2, 17), (5, 18), (9, 9)]:
        w = rng.standard_normal((k0, k1)).astype(dtype)
        pads = ((k0 - 1, k0 - 1), (k1 - 1, k1 - 1))
        xp = np.pad(x, pads, mode=NUMPY_PAD_MODE[boundary])
        want = imfilt.correlate(xp, w, "valid", method="direct")
        got = imfilt.correlate(x, w, "full", boundary, method="direct")
        assert got.tobytes() == want.tobytes(), (k0, k1)


@pytest.mark.parametrize("flip", [True, False])
def test_one_d_stride_and_dilation_as_one_value_sequences(flip):
    """A 1-D call filters one axis: ``stride=(2,)`` and ``dilation=[2]``
    are that axis' one value, the same as the ints (they were refused as
    'a sequence of 2'); two values are refused naming one."""
    f = imfilt.convolve if flip else imfilt.correlate
    x, k = np.arange(8.0), np.array([1.0, 2.0, 4.0])
    assert np.array_equal(f(x, k, "valid", stride=(2,)), f(x, k, "valid", stride=2))
    assert np.array_equal(f(x, k, "same", dilation=[2]), f(x, k, "same", dilation=2))
    assert np.array_equal(f(x, k, "full", stride=np.array([3]), dilation=(2,)),
                          f(x, k, "full", stride=3, dilation=2))
    with pytest.raises(TypeError, match=r"stride=\(2, 3\) is not valid; use an int or a "
                                         r"sequence of 1 of them"):
        f(x, k, stride=(2, 3))
