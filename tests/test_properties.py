"""Property-based parity: every public function against its reference.

Hypothesis draws shapes (1, primes, kernels larger than the image), dtypes,
modes, boundaries, strides, dilations, axes and memory layouts; each case is
compared with an independent reference (scipy.signal / numpy.pad for
convolution, scipy.ndimage for edges, PyTorch for the network operators when
it is installed).

Profiles (registered in conftest.py): the default ``fast`` profile is
derandomized so CI draws the same cases every run; ``IMFILT_HYPOTHESIS=thorough``
draws thousands of random examples per function.  A failure found by either
becomes a named regression test at the end of this file.
"""

import numpy as np
import pytest
from scipy import ndimage as ndi
from scipy import signal

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, given, note  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import imfilt  # noqa: E402
from imfilt._modes import BOUNDARIES, BOUNDARY_ALIASES, NUMPY_PAD_MODE  # noqa: E402

from conftest import COMPUTE, EPS, assert_close_to_reference, numpy_pad_reference, tolerance  # noqa: E402

# ---------------------------------------------------------------------------
# shared strategies

#: Axis lengths: 1, 2, small primes and a few composites.
LENGTHS = st.sampled_from([1, 1, 2, 3, 4, 5, 6, 7, 8, 11, 13, 16, 17])
#: Kernel lengths, including ones larger than most images (repeated folding).
KLENGTHS = st.sampled_from([1, 1, 2, 3, 3, 4, 5, 7, 9, 12, 19, 31])
IMAGE_DTYPES = st.sampled_from(["float64", "float32", "complex128", "complex64", "uint8",
                                "int8", "uint16", "int16", "int32", "uint32", "int64",
                                "uint64", "float16", "bool"])
KERNEL_DTYPES = st.sampled_from(["float64", "float32", "int64", "complex128", "list"])
LAYOUTS = st.sampled_from(["C", "F", "strided", "negative", "bigendian", "readonly"])
BOUNDARY_NAMES = st.sampled_from(sorted(BOUNDARY_ALIASES))
SMALL_INT = st.integers(1, 3)



def sample(rng, shape, dtype):
    """Random values of ``dtype`` that every dtype represents exactly."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind == "u":
        return rng.integers(0, 100, size=shape).astype(dtype)
    if dtype.kind == "i":
        return rng.integers(-100, 100, size=shape).astype(dtype)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def in_layout(a, layout):
    """The same values as ``a`` in another memory layout (never a C-contiguous copy)."""
    a = np.asarray(a)
    if layout == "C" or a.ndim == 0:
        return a
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "strided":
        big = np.zeros(tuple(2 * n for n in a.shape) or (1,), dtype=a.dtype)
        view = big[tuple(slice(None, None, 2) for _ in a.shape)]
        view[...] = a
        return view
    if layout == "negative":
        flip = tuple(slice(None, None, -1) for _ in a.shape)
        return np.ascontiguousarray(a[flip])[flip]
    if layout == "bigendian":
        return a.astype(a.dtype.newbyteorder(">")) if a.dtype.itemsize > 1 else a
    if layout == "readonly":
        r = a.copy()
        r.setflags(write=False)
        return r
    raise AssertionError(layout)


def zero_stuff(w, d):
    if d == (1, 1):
        return w
    out = np.zeros((d[0] * (w.shape[0] - 1) + 1, d[1] * (w.shape[1] - 1) + 1), dtype=w.dtype)
    out[::d[0], ::d[1]] = w
    return out


def as_reference(a, compute):
    """``a`` as imfilt computes it, widened to float64/complex128 for the reference."""
    wide = np.complex128 if np.dtype(compute).kind == "c" else np.float64
    return np.asarray(a).astype(compute).astype(wide)


def valid_possible(xs, ws):
    return all(a >= b for a, b in zip(xs, ws)) or all(b >= a for a, b in zip(xs, ws))


def check_unchanged(original, passed):
    """Inputs are never modified (compared bit for bit, NaN included)."""
    assert np.asarray(passed).tobytes() == np.asarray(original).tobytes() or \
        np.array_equal(np.asarray(passed), original, equal_nan=True)


# ---------------------------------------------------------------------------
# convolve / correlate


@st.composite
def conv_cases(draw, one_d=False):
    xs = (1 if one_d else draw(LENGTHS), draw(LENGTHS))
    ks = (1 if one_d else draw(KLENGTHS), draw(KLENGTHS))
    stride = (1 if one_d else draw(SMALL_INT), draw(SMALL_INT))
    dilation = (1 if one_d else draw(SMALL_INT), draw(SMALL_INT))
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, ks))
    mode = draw(st.sampled_from(["full", "same", "valid"]))
    if mode == "valid" and not valid_possible(xs, span):
        mode = "same"
    return dict(
        xs=xs, ks=ks, stride=stride, dilation=dilation, mode=mode,
        boundary=draw(BOUNDARY_NAMES),
        fillvalue=draw(st.sampled_from([0.0, 0.0, 1.5, -2.0])),
        xdtype=draw(IMAGE_DTYPES), kdtype=draw(KERNEL_DTYPES),
        layout=draw(LAYOUTS), klayout=draw(LAYOUTS),
        method=draw(st.sampled_from(["auto", "direct", "direct", "fft"])),
        workers=draw(st.sampled_from([1, 2])),
        use_out=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def conv_reference(x, w, c, is_conv, one_d=False):
    """The numpy.pad definition with the zero-stuffed kernel, then the stride."""
    compute = COMPUTE[np.dtype(x.dtype).name]
    if np.dtype(w.dtype).kind == "c" and np.dtype(compute).kind != "c":
        compute = np.complex64 if compute == np.float32 else np.complex128
    xr = as_reference(x, compute)
    wr = as_reference(w, compute)
    if one_d:
        xr, wr = xr[np.newaxis], wr[np.newaxis]
    wz = zero_stuff(wr, c["dilation"])
    align = True if one_d else None
    ref = numpy_pad_reference(xr, wz, c["mode"], c["boundary"], c["fillvalue"], is_conv, align)
    atol = tolerance(xr, wz, c["mode"], c["boundary"], c["fillvalue"], is_conv, compute, align)
    s = c["stride"]
    ref, atol = ref[::s[0], ::s[1]], atol[::s[0], ::s[1]]
    if one_d:
        ref, atol = ref[0], atol[0]
        if (c["mode"] == "valid" and not is_conv and np.iscomplexobj(ref)
                and wz.shape[-1] > xr.shape[-1]):
            # 1-D correlation conjugates after the 'valid' swap (numpy.correlate,
            # scipy.signal.correlate); the 2-D reference (correlate2d) does not.
            ref = np.conj(ref)
    return ref, atol, np.dtype(compute)


def fft_tolerance(xr, wr, compute, shape):
    """FFT error bound: ~ eps * log2(size) * max|x| * sum|w| (documented)."""
    n = max(2, int(np.prod([a + b for a, b in zip(xr.shape, wr.shape)])))
    scale = (np.max(np.abs(xr), initial=0.0) + 2.0) * np.sum(np.abs(wr))
    return 16 * EPS[np.dtype(compute)] * np.log2(n) * scale * np.ones(shape)


def _planes(x):
    """(C, H, W) input: say that axis 0 holds planes (W may be 3 or 4)."""
    return {"channel_axis": 0} if np.ndim(x) == 3 else {}


def run_conv_case(c, is_conv, one_d=False):
    rng = np.random.default_rng(c["seed"])
    func = imfilt.convolve if is_conv else imfilt.correlate
    x = sample(rng, c["xs"][1:] if one_d else c["xs"], c["xdtype"])
    kdtype = "float64" if c["kdtype"] == "list" else c["kdtype"]
    w = sample(rng, c["ks"][1:] if one_d else c["ks"], kdtype)
    ref, atol, compute = conv_reference(x, w, c, is_conv, one_d)
    note(f"x {x.dtype}{x.shape} w {w.dtype}{w.shape} compute {compute}")

    xl = in_layout(x, c["layout"])
    wl = w.tolist() if c["kdtype"] == "list" else in_layout(w, c["klayout"])
    x_before, w_before = np.array(xl, copy=True), np.array(wl, copy=True)
    kw = dict(method=c["method"], stride=c["stride"][1] if one_d else c["stride"],
              dilation=c["dilation"][1] if one_d else c["dilation"], workers=c["workers"])
    if c["method"] == "fft":
        kw["method"] = "fft"
    out = None
    if c["use_out"]:
        out = np.full(ref.shape, 7, dtype=compute)
        kw["out"] = out
    got = func(xl, wl, c["mode"], c["boundary"], c["fillvalue"], **kw)

    assert got.dtype == compute, (got.dtype, compute)
    assert got.shape == ref.shape
    assert got.flags.c_contiguous and got.dtype.isnative
    if out is not None:
        assert got is out
    check_unchanged(x_before, xl)
    check_unchanged(w_before, wl)
    if c["method"] == "fft":
        wz = zero_stuff(as_reference(w if not one_d else w[None], compute), c["dilation"])
        atol = np.maximum(atol, fft_tolerance(as_reference(x, compute), wz, compute, ref.shape))
    assert_close_to_reference(got, ref, atol)

    if c["method"] == "direct" and c["workers"] == 2:
        # the parallel contract: bit-identical for any thread count
        serial = func(x, w, c["mode"], c["boundary"], c["fillvalue"], method="direct",
                      stride=kw["stride"], dilation=kw["dilation"], workers=1)
        assert serial.tobytes() == got.tobytes()


@given(conv_cases())
def test_convolve_matches_reference(c):
    run_conv_case(c, is_conv=True)


@given(conv_cases())
def test_correlate_matches_reference(c):
    run_conv_case(c, is_conv=False)


@given(conv_cases(one_d=True), st.booleans())
def test_one_d_matches_reference(c, is_conv):
    run_conv_case(c, is_conv=is_conv, one_d=True)


@given(st.integers(1, 40), st.integers(1, 40), st.sampled_from(["full", "same", "valid"]),
       st.booleans(), st.integers(0, 2**32 - 1))
def test_one_d_fill_matches_scipy_signal(n, k, mode, is_conv, seed):
    """1-D with zero fill: scipy.signal.convolve/correlate themselves."""
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(n), rng.standard_normal(k)
    ours = imfilt.convolve if is_conv else imfilt.correlate
    ref = (signal.convolve if is_conv else signal.correlate)(x, w, mode, method="direct")
    np.testing.assert_allclose(ours(x, w, mode), ref, rtol=1e-12, atol=1e-12 * (n + k))


@st.composite
def stack_cases(draw):
    ndim = draw(st.integers(3, 4))
    shape = [draw(st.sampled_from([1, 2, 3])) for _ in range(ndim)]
    ax = draw(st.permutations(range(ndim)))[:2]
    for a in ax:
        shape[a] = draw(LENGTHS)
    ks = (draw(KLENGTHS), draw(KLENGTHS))
    return dict(shape=tuple(shape), axes=tuple(ax), ks=ks,
                per_slice=draw(st.booleans()), mode=draw(st.sampled_from(["full", "same"])),
                boundary=draw(st.sampled_from(BOUNDARIES)),
                dtype=draw(st.sampled_from(["float32", "float64", "uint8"])),
                layout=draw(LAYOUTS), is_conv=draw(st.booleans()),
                neg_axes=draw(st.booleans()), seed=draw(st.integers(0, 2**32 - 1)))


@given(stack_cases())
def test_axes_stack_equals_slice_by_slice(c):
    rng = np.random.default_rng(c["seed"])
    x = sample(rng, c["shape"], c["dtype"])
    ax = c["axes"]
    lead = tuple(n for a, n in enumerate(c["shape"]) if a not in ax)
    kshape = (lead if c["per_slice"] else ()) + c["ks"]
    w = rng.standard_normal(kshape)
    func = imfilt.convolve if c["is_conv"] else imfilt.correlate
    axes = tuple(a - len(c["shape"]) for a in ax) if c["neg_axes"] else ax
    # method='direct' on both sides: 'auto' may pick FFT for the whole stack and
    # direct for one slice, which differ by rounding.
    got = func(in_layout(x, c["layout"]), w, c["mode"], c["boundary"], axes=axes,
               method="direct")

    moved = np.moveaxis(x, ax, (-2, -1))          # lead axes keep their order
    flat = moved.reshape((-1,) + moved.shape[-2:])
    wflat = w.reshape((-1,) + c["ks"])
    expected = np.stack([func(flat[i], wflat[i if c["per_slice"] else 0], c["mode"],
                              c["boundary"], workers=1, method="direct")
                         for i in range(flat.shape[0])])
    expected = np.moveaxis(expected.reshape(moved.shape[:-2] + expected.shape[-2:]),
                           (-2, -1), ax)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@given(conv_cases(), st.sampled_from(["nan", "inf", "-inf"]), st.data())
def test_non_finite_propagate_like_the_direct_definition(c, bad, data):
    """NaN/inf anywhere: method='auto' gives the direct pattern (never FFT's smear)."""
    rng = np.random.default_rng(c["seed"])
    x = rng.standard_normal(c["xs"])
    w = rng.standard_normal(c["ks"])
    i = data.draw(st.integers(0, x.size - 1))
    x.flat[i] = float(bad)
    # Dilation skips the holes (documented), so the zero-stuffed reference
    # would wrongly spread NaN through them: compare undilated kernels only.
    c = dict(c, method="auto", xdtype="float64", dilation=(1, 1))
    if c["mode"] == "valid" and not valid_possible(c["xs"], c["ks"]):
        c["mode"] = "same"
    ref, _, _ = conv_reference(x, w, c, True)
    got = imfilt.convolve(x, w, c["mode"], c["boundary"], c["fillvalue"], method="auto",
                          stride=c["stride"], dilation=c["dilation"])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(ref))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(ref))


@given(st.sampled_from([(3, 3), (5, 5), (7, 1), (1, 9), (5, 3)]), LENGTHS, LENGTHS,
       st.sampled_from(BOUNDARIES), st.sampled_from(["float32", "float64"]),
       st.integers(0, 2**32 - 1))
def test_separable_method_matches_direct(ks, n0, n1, boundary, dtype, seed):
    """A rank-1 kernel through method='separable' agrees with 'direct'."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n0, n1)).astype(dtype)
    w = np.outer(rng.standard_normal(ks[0]), rng.standard_normal(ks[1]))
    a = imfilt.convolve(x, w, "same", boundary, method="separable")
    b = imfilt.convolve(x, w, "same", boundary, method="direct")
    scale = imfilt.convolve(np.abs(x).astype(np.float64), np.abs(w), "same", boundary)
    tol = 8 * (w.size + 2) * EPS[np.dtype(dtype)] * scale + 1e-300
    assert np.all(np.abs(a.astype(np.float64) - b) <= tol)


# ---------------------------------------------------------------------------
# edge filters against scipy.ndimage

NDI_MODE = {"fill": "constant", "wrap": "wrap", "symm": "reflect", "reflect": "mirror",
            "edge": "nearest"}
EDGE_DTYPES = st.sampled_from(["float64", "float32", "uint8", "uint16", "int16", "int32",
                               "int64", "bool", "float16", "uint32", "int8"])
SMOOTH = {"sobel": [1.0, 2.0, 1.0], "scharr": [3.0, 10.0, 3.0], "prewitt": [1.0, 1.0, 1.0]}


def edge_compute(dtype):
    return np.dtype(COMPUTE[np.dtype(dtype).name])


@st.composite
def edge_cases(draw):
    return dict(shape=(draw(LENGTHS), draw(LENGTHS)), dtype=draw(EDGE_DTYPES),
                boundary=draw(BOUNDARY_NAMES), layout=draw(LAYOUTS),
                workers=draw(st.sampled_from([1, 2])), seed=draw(st.integers(0, 2**32 - 1)))


def edge_input(c):
    rng = np.random.default_rng(c["seed"])
    x = sample(rng, c["shape"], c["dtype"])
    xl = in_layout(x, c["layout"])
    return x, xl, np.array(xl, copy=True), edge_compute(c["dtype"])


def derivative_reference(xr, op, axis, boundary):
    mode = NDI_MODE[BOUNDARY_ALIASES[boundary]]
    d = ndi.correlate1d(xr, [-1.0, 0.0, 1.0], axis=axis, mode=mode)
    return ndi.correlate1d(d, SMOOTH[op], axis=1 - axis, mode=mode)


def edge_tol(xr, compute, terms=16):
    return terms * EPS[compute] * (np.abs(xr) + 1.0) * 16.0 + 1e-300


@given(edge_cases(), st.sampled_from(["sobel", "scharr", "prewitt"]),
       st.sampled_from([None, 0, 1, -1, -2]))
def test_derivative_filters_match_ndimage(c, op, axis):
    x, xl, before, compute = edge_input(c)
    got = getattr(imfilt, op)(xl, axis, boundary=c["boundary"], workers=c["workers"])
    xr = as_reference(x, compute)
    if axis is None:
        ref = np.hypot(derivative_reference(xr, op, 0, c["boundary"]),
                       derivative_reference(xr, op, 1, c["boundary"]))
    else:
        ref = derivative_reference(xr, op, axis % 2, c["boundary"])
    if op == "sobel" and axis is not None:
        # and scipy.ndimage.sobel itself
        np.testing.assert_allclose(
            ndi.sobel(xr, axis % 2, mode=NDI_MODE[BOUNDARY_ALIASES[c["boundary"]]]), ref,
            atol=1e-9 * (np.abs(xr).max(initial=0) + 1))
    assert got.dtype == compute and got.shape == x.shape
    scale = ndi.uniform_filter(np.abs(xr), 3, mode="nearest") * 30 + 1
    assert_close_to_reference(got, ref, 64 * EPS[compute] * scale)
    check_unchanged(before, xl)


@given(edge_cases(), st.sampled_from(["sobel", "scharr", "prewitt"]))
def test_gradient_matches_ndimage(c, op):
    x, xl, before, compute = edge_input(c)
    mag, direction = imfilt.gradient(xl, op, boundary=c["boundary"], workers=c["workers"])
    xr = as_reference(x, compute)
    g0 = derivative_reference(xr, op, 0, c["boundary"])
    g1 = derivative_reference(xr, op, 1, c["boundary"])
    scale = ndi.uniform_filter(np.abs(xr), 3, mode="nearest") * 30 + 1
    assert_close_to_reference(mag, np.hypot(g0, g1), 64 * EPS[compute] * scale)
    # Direction: only where the gradient is clearly non-zero (atan2 of rounding noise
    # is arbitrary).
    strong = np.hypot(g0, g1) > 1e3 * EPS[compute] * scale
    diff = np.angle(np.exp(1j * (direction.astype(np.float64) - np.arctan2(g0, g1))))
    assert np.all(np.abs(diff[strong]) <= 1e-3 if compute == np.float32 else 1e-9)
    check_unchanged(before, xl)


@given(edge_cases(), st.sampled_from([4, 8]))
def test_laplace_matches_ndimage(c, neighbors):
    x, xl, before, compute = edge_input(c)
    got = imfilt.laplace(xl, neighbors, boundary=c["boundary"], workers=c["workers"])
    xr = as_reference(x, compute)
    mode = NDI_MODE[BOUNDARY_ALIASES[c["boundary"]]]
    if neighbors == 4:
        ref = ndi.laplace(xr, mode=mode)
    else:
        ref = ndi.correlate(xr, [[1, 1, 1], [1, -8, 1], [1, 1, 1]], mode=mode)
    scale = ndi.uniform_filter(np.abs(xr), 3, mode="nearest") * 30 + 1
    assert got.dtype == compute
    assert_close_to_reference(got, ref, 64 * EPS[compute] * scale)
    check_unchanged(before, xl)


@given(edge_cases())
def test_roberts_matches_ndimage(c):
    x, xl, before, compute = edge_input(c)
    got = imfilt.roberts(xl, boundary=c["boundary"], workers=c["workers"])
    xr = as_reference(x, compute)
    mode = NDI_MODE[BOUNDARY_ALIASES[c["boundary"]]]
    # 2x2 kernels aligned like correlate2d 'same': ndimage's centre k//2 shifted by -1.
    p = ndi.correlate(xr, [[-1, 0], [0, 1]], mode=mode, origin=-1)
    q = ndi.correlate(xr, [[0, -1], [1, 0]], mode=mode, origin=-1)
    scale = ndi.uniform_filter(np.abs(xr), 3, mode="nearest") * 30 + 1
    assert got.dtype == compute
    assert_close_to_reference(got, np.hypot(p, q), 64 * EPS[compute] * scale)
    check_unchanged(before, xl)


@given(st.sampled_from([1, 2, 3, 5, 8, 13, 16, 24, 31]), st.sampled_from([1, 2, 3, 5, 8, 13, 16, 24, 31]),
       st.sampled_from(["float64", "uint8", "uint16", "float32"]),
       st.sampled_from([0.0, 0.5, 1.0, 2.0]), LAYOUTS, st.integers(0, 2**32 - 1))
def test_canny_matches_skimage_on_blocky_images(n0, n1, dtype, sigma, layout, seed):
    """Piecewise-constant images: the same edges as scikit-image, up to ties.

    A symmetric step has two pixels of exactly equal magnitude across it, and
    which one survives non-maximum suppression depends on rounding (found by
    the thorough profile: a 3x8 step, imfilt keeps column 4, skimage column 3),
    so each edge pixel must lie within one pixel of an edge of the other.  (A
    tie can also keep both pixels: on an 8x13 step with sigma=0.5 imfilt's
    smoothing is exactly symmetric and keeps both rows next to the step,
    skimage's rounding keeps one; both use ``<=`` in non-maximum suppression.)
    """
    feature = pytest.importorskip("skimage.feature")
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 2, size=(max(1, n0 // 4), max(1, n1 // 4)))
    x = np.kron(coarse, np.ones((4, 4)))[:n0, :n1]
    x = np.pad(x, ((0, n0 - x.shape[0]), (0, n1 - x.shape[1])), mode="edge")
    if dtype == "uint8":
        x = (x * 200).astype(np.uint8)
    elif dtype == "uint16":
        x = (x * 50000).astype(np.uint16)
    else:
        x = x.astype(dtype)
    xl = in_layout(x, layout)
    before = np.array(xl, copy=True)
    got = imfilt.canny(xl, sigma)
    ref = feature.canny(x, sigma)
    assert got.dtype == bool and got.shape == x.shape
    assert not got[[0, -1], :].any() and not got[:, [0, -1]].any()
    near_ref = ndi.binary_dilation(ref, np.ones((3, 3), bool))
    near_got = ndi.binary_dilation(got, np.ones((3, 3), bool))
    assert np.all(near_ref[got]) and np.all(near_got[ref])
    check_unchanged(before, xl)


# ---------------------------------------------------------------------------
# network operators against PyTorch (and OpenCV for the pyramids)

NET_DTYPES = st.sampled_from(["float32", "float64"])


def torch_module():
    return pytest.importorskip("torch")


def t64(a):
    torch = torch_module()
    return torch.from_numpy(np.ascontiguousarray(np.asarray(a, dtype=np.float64)))


def net_tol(abs_ref, dtype, terms):
    """A few ulps of the sum of |terms| (``abs_ref`` is the reference on |x|, |w|)."""
    return 8 * (terms + 2) * EPS[np.dtype(dtype)] * (abs_ref + 1e-300) + 1e-300


@st.composite
def net_planes(draw, min_hw=1):
    """(x, lead-dims form): (N, C, H, W), (C, H, W) or (H, W) with C from groups."""
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    n = draw(st.integers(1, 2))
    h, w = max(min_hw, draw(LENGTHS)), max(min_hw, draw(LENGTHS))
    form = draw(st.sampled_from(["NCHW", "NCHW", "CHW"]))
    return dict(groups=groups, cin=cin, cout=cout, n=n, h=h, w=w, form=form,
                dtype=draw(NET_DTYPES), layout=draw(LAYOUTS), seed=draw(st.integers(0, 2**32 - 1)))


def _nchw(c, shape):
    rng = np.random.default_rng(c["seed"])
    x = rng.standard_normal(shape).astype(c["dtype"])
    return rng, x


@given(net_planes(), st.integers(1, 5), st.integers(1, 5), SMALL_INT, SMALL_INT,
       st.integers(1, 2), st.integers(1, 2),
       st.sampled_from([0, 1, 2, (0, 2), (3, 1), "valid", "same"]),
       st.sampled_from(BOUNDARIES), st.booleans(), st.sampled_from([1, 2]))
def test_conv2d_matches_torch(c, kh, kw, sh, sw, dh, dw, padding, boundary, use_bias, workers):
    torch = torch_module()
    F = torch.nn.functional
    g = c["groups"]
    rng, x = _nchw(c, (c["n"], c["cin"], c["h"], c["w"]))
    wt = rng.standard_normal((c["cout"], c["cin"] // g, kh, kw)).astype(c["dtype"])
    bias = rng.standard_normal(c["cout"]).astype(c["dtype"]) if use_bias else None
    # the padding as pads (before, after) per axis, PyTorch/TensorFlow rules
    pads = []
    for n, k, s, d, i in ((c["h"], kh, sh, dh, 0), (c["w"], kw, sw, dw, 1)):
        if padding == "valid":
            pads.append((0, 0))
        elif padding == "same":
            total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        else:
            p = padding if isinstance(padding, int) else padding[i]
            pads.append((p, p))
    out_hw = [(n + a + b - d * (k - 1) - 1) // s + 1
              for n, (a, b), k, s, d in zip((c["h"], c["w"]), pads, (kh, kw), (sh, sw), (dh, dw))]
    assume(min(out_hw) >= 1)
    if boundary != "fill":
        # numpy.pad defines the boundaries; torch's own pad cannot fold twice
        assume(all(a < n and b < n for (a, b), n in zip(pads, (c["h"], c["w"]))) or True)
    xin = x if c["form"] == "NCHW" else x[0]
    xl = in_layout(xin, c["layout"])
    before = np.array(xl, copy=True)
    got = imfilt.conv2d(xl, wt, bias, (sh, sw), padding, (dh, dw), g, boundary=boundary,
                        workers=workers)
    kw_pad = {"constant_values": 0} if boundary == "fill" else {}
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0)) + tuple(pads),
                mode=NUMPY_PAD_MODE[boundary], **kw_pad)
    ref = F.conv2d(t64(xp), t64(wt), None if bias is None else t64(bias), (sh, sw), 0,
                   (dh, dw), g).numpy()
    aref = F.conv2d(t64(np.abs(xp)), t64(np.abs(wt)), None if bias is None else t64(np.abs(bias)),
                    (sh, sw), 0, (dh, dw), g).numpy()
    if c["form"] == "CHW":
        ref, aref = ref[0], aref[0]
    assert got.dtype == np.dtype(c["dtype"])
    assert got.shape == ref.shape
    assert_close_to_reference(got, ref, net_tol(aref, c["dtype"], c["cin"] // g * kh * kw))
    check_unchanged(before, xl)


@given(net_planes(), st.integers(1, 5), st.integers(1, 5), SMALL_INT, SMALL_INT,
       st.integers(1, 2), st.integers(1, 2), st.integers(0, 2), st.integers(0, 2),
       st.integers(0, 2), st.integers(0, 2), st.booleans(), st.sampled_from([1, 2]))
def test_conv_transpose2d_matches_torch(c, kh, kw, sh, sw, dh, dw, ph, pw, oph, opw, use_bias,
                                        workers):
    torch = torch_module()
    F = torch.nn.functional
    g = c["groups"]
    assume(oph < max(sh, dh) and opw < max(sw, dw))
    size = [(n - 1) * s - 2 * p + d * (k - 1) + op + 1
            for n, s, p, d, k, op in ((c["h"], sh, ph, dh, kh, oph), (c["w"], sw, pw, dw, kw, opw))]
    assume(min(size) >= 1)
    rng, x = _nchw(c, (c["n"], c["cin"], c["h"], c["w"]))
    wt = rng.standard_normal((c["cin"], c["cout"] // g, kh, kw)).astype(c["dtype"])
    bias = rng.standard_normal(c["cout"]).astype(c["dtype"]) if use_bias else None
    xin = x if c["form"] == "NCHW" else x[0]
    xl = in_layout(xin, c["layout"])
    before = np.array(xl, copy=True)
    got = imfilt.conv_transpose2d(xl, wt, bias, (sh, sw), (ph, pw), (oph, opw), g, (dh, dw),
                                  workers=workers)
    args = ((sh, sw), (ph, pw), (oph, opw), g, (dh, dw))
    ref = F.conv_transpose2d(t64(x), t64(wt), None if bias is None else t64(bias), *args).numpy()
    aref = F.conv_transpose2d(t64(np.abs(x)), t64(np.abs(wt)),
                              None if bias is None else t64(np.abs(bias)), *args).numpy()
    if c["form"] == "CHW":
        ref, aref = ref[0], aref[0]
    assert got.dtype == np.dtype(c["dtype"]) and got.shape == ref.shape
    assert_close_to_reference(got, ref, net_tol(aref, c["dtype"], c["cin"] * kh * kw))
    check_unchanged(before, xl)


@st.composite
def pool_cases(draw, dilation=True):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.sampled_from([None, 1, 2, 3, (1, 2), (3, 1)]))
    return dict(
        n=draw(st.integers(1, 2)), c=draw(st.integers(1, 3)), h=draw(LENGTHS), w=draw(LENGTHS),
        k=(kh, kw), stride=stride,
        padding=(draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))),
        dilation=(draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1),
        ceil_mode=draw(st.booleans()), dtype=draw(NET_DTYPES),
        values=draw(st.sampled_from(["normal", "ties", "nan"])),
        form=draw(st.sampled_from(["NCHW", "CHW", "HW"])), layout=draw(LAYOUTS),
        workers=draw(st.sampled_from([1, 2])), seed=draw(st.integers(0, 2**32 - 1)))


def pool_input(c):
    rng = np.random.default_rng(c["seed"])
    shape = (c["n"], c["c"], c["h"], c["w"])
    if c["values"] == "ties":
        x = rng.integers(-2, 3, size=shape).astype(c["dtype"])   # many equal maxima
    else:
        x = rng.standard_normal(shape).astype(c["dtype"])
    if c["values"] == "nan":
        x.flat[rng.integers(0, x.size)] = np.nan
    xin = {"NCHW": x, "CHW": x[0], "HW": x[0, 0]}[c["form"]]
    return x, xin


def torch_pool_out(F, fn, x, *args, **kw):
    """A PyTorch pooling call, or None when PyTorch rejects the geometry."""
    try:
        return fn(t64(x), *args, **kw)
    except RuntimeError:
        return None


def _shape_like(c, a):
    a = np.asarray(a)
    return {"NCHW": a, "CHW": a[0], "HW": a[0, 0]}[c["form"]]


@given(pool_cases(), st.booleans())
def test_max_and_min_pool2d_match_torch(c, use_min):
    torch = torch_module()
    F = torch.nn.functional
    x, xin = pool_input(c)
    sign = -1.0 if use_min else 1.0
    ref = torch_pool_out(F, F.max_pool2d, sign * x, c["k"], c["stride"], c["padding"],
                         c["dilation"], c["ceil_mode"], return_indices=True)
    assume(ref is not None)
    xl = in_layout(xin, c["layout"])
    before = np.array(xl, copy=True)
    f = imfilt.min_pool2d if use_min else imfilt.max_pool2d
    got, idx = f(xl, c["k"], c["stride"], c["padding"], c["dilation"], c["ceil_mode"], True,
                 workers=c["workers"], **_planes(xl))
    rv, ri = ref
    rv = sign * rv.numpy()
    assert got.dtype == np.dtype(c["dtype"])
    np.testing.assert_array_equal(got, _shape_like(c, rv).astype(c["dtype"]))
    if c["values"] != "nan":  # which NaN's index torch reports is not specified
        np.testing.assert_array_equal(idx, _shape_like(c, ri.numpy()))
    check_unchanged(before, xl)


@given(pool_cases(dilation=False), st.booleans(), st.sampled_from([None, 1, 3, 7]))
def test_avg_pool2d_matches_torch(c, count_include_pad, divisor):
    torch = torch_module()
    F = torch.nn.functional
    x, xin = pool_input(c)
    ref = torch_pool_out(F, F.avg_pool2d, x, c["k"], c["stride"], c["padding"], c["ceil_mode"],
                         count_include_pad, divisor)
    assume(ref is not None)
    xl = in_layout(xin, c["layout"])
    got = imfilt.avg_pool2d(xl, c["k"], c["stride"], c["padding"], c["ceil_mode"],
                            count_include_pad, divisor, workers=c["workers"], **_planes(xl))
    aref = F.avg_pool2d(t64(np.abs(x)), c["k"], c["stride"], c["padding"], c["ceil_mode"],
                        count_include_pad, divisor).numpy()
    terms = c["k"][0] * c["k"][1]
    assert got.dtype == np.dtype(c["dtype"])
    assert_close_to_reference(got, _shape_like(c, ref.numpy()),
                              _shape_like(c, net_tol(aref, c["dtype"], terms)))


@given(pool_cases(dilation=False), st.booleans())
def test_max_unpool2d_matches_torch(c, give_size):
    torch = torch_module()
    F = torch.nn.functional
    c = dict(c, values="normal", ceil_mode=False)
    x, _ = pool_input(c)
    pooled = torch_pool_out(F, F.max_pool2d, x, c["k"], c["stride"], c["padding"],
                            return_indices=True)
    assume(pooled is not None)
    pv, pi = pooled
    size = (c["h"], c["w"]) if give_size else None
    try:
        ref = F.max_unpool2d(pv, pi, c["k"], c["stride"], c["padding"], size).numpy()
    except RuntimeError:
        assume(False)
    vals = _shape_like(c, pv.numpy().astype(c["dtype"]))
    idx = _shape_like(c, pi.numpy())
    got = imfilt.max_unpool2d(in_layout(vals, c["layout"]), idx, c["k"], c["stride"],
                              c["padding"], size, workers=c["workers"], **_planes(vals))
    assert got.dtype == np.dtype(c["dtype"])
    # An empty default plane too: the empty array PyTorch returns.
    want = _shape_like(c, ref).astype(c["dtype"])
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@given(pool_cases(dilation=False), st.integers(0, 2**32 - 1))
def test_stochastic_pool2d_properties(c, seed):
    """No reference library: check the definition (Zeiler & Fergus 2013)."""
    x, xin = pool_input(dict(c, values="ties"))
    x = np.abs(x)
    xin = np.abs(xin)
    k, s = c["k"], c["stride"] if c["stride"] is not None else c["k"]
    s = (s, s) if isinstance(s, int) else s
    H, W = x.shape[-2:]
    assume(H >= k[0] and W >= k[1])
    xl = in_layout(xin, c["layout"])
    mean = imfilt.stochastic_pool2d(xl, k, s, training=False, workers=c["workers"],
                                    **_planes(xl))
    got, idx = imfilt.stochastic_pool2d(xl, k, s, rng=seed, return_indices=True,
                                        workers=c["workers"], **_planes(xl))
    again = imfilt.stochastic_pool2d(xin, k, s, rng=np.random.default_rng(seed), workers=1,
                                     **_planes(xin))
    np.testing.assert_array_equal(got, again)          # same seed, any thread count
    planes = np.asarray(xin).reshape(-1, H, W).astype(np.float64)
    Ho, Wo = (H - k[0]) // s[0] + 1, (W - k[1]) // s[1] + 1
    gflat = np.asarray(got, dtype=np.float64).reshape(-1, Ho, Wo)
    iflat = np.asarray(idx).reshape(-1, Ho, Wo)
    mflat = np.asarray(mean, dtype=np.float64).reshape(-1, Ho, Wo)
    for p in range(planes.shape[0]):
        for i in range(Ho):
            for j in range(Wo):
                win = planes[p, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]
                total = win.sum()
                if total == 0:
                    assert gflat[p, i, j] == 0 and mflat[p, i, j] == 0
                    continue
                r, q = divmod(int(iflat[p, i, j]), W)
                assert i * s[0] <= r < i * s[0] + k[0] and j * s[1] <= q < j * s[1] + k[1]
                assert planes[p, r, q] > 0 and gflat[p, i, j] == planes[p, r, q]
                expect = (win * win).sum() / total
                assert abs(mflat[p, i, j] - expect) <= 1e-5 * expect


@given(st.integers(1, 6), st.integers(1, 6))
def test_bilinear_kernel_formula(fy, fx):
    got = imfilt.bilinear_kernel((fy, fx))

    def one(f):
        size = 2 * f - f % 2
        centre = f - 1 if size % 2 else f - 0.5
        return 1 - np.abs(np.arange(size) - centre) / f

    np.testing.assert_allclose(got, np.outer(one(fy), one(fx)), rtol=0, atol=1e-15)


@given(st.sampled_from(["NCHW", "CHW", "HW"]), LENGTHS, LENGTHS, st.integers(1, 4),
       st.integers(1, 4), NET_DTYPES, st.sampled_from(["bilinear", "nearest"]), LAYOUTS,
       st.integers(0, 2**32 - 1))
def test_upsample_matches_torch_interpolate(form, h, w, fy, fx, dtype, method, layout, seed):
    torch = torch_module()
    F = torch.nn.functional
    x = np.random.default_rng(seed).standard_normal((2, 2, h, w)).astype(dtype)
    xin = {"NCHW": x, "CHW": x[0], "HW": x[0, 0]}[form]
    got = imfilt.upsample(in_layout(xin, layout), (fy, fx), method, axes=(-2, -1))
    kw = {"align_corners": False} if method == "bilinear" else {}
    ref = F.interpolate(t64(x), scale_factor=(fy, fx), mode=method, **kw).numpy()
    ref = {"NCHW": ref, "CHW": ref[0], "HW": ref[0, 0]}[form]
    assert got.dtype == np.dtype(dtype) and got.shape == ref.shape
    tol = 16 * EPS[np.dtype(dtype)] * (np.abs(ref) + np.abs(x).max())
    assert_close_to_reference(got, ref, tol)


@given(st.integers(1, 40), st.integers(1, 40), NET_DTYPES, st.booleans(), LAYOUTS,
       st.integers(0, 2**32 - 1))
def test_pyramids_match_opencv(h, w, dtype, up, layout, seed):
    cv2 = pytest.importorskip("cv2")
    x = np.random.default_rng(seed).standard_normal((h, w)).astype(dtype)
    try:
        ref = cv2.pyrUp(x) if up else cv2.pyrDown(x)
    except cv2.error:
        assume(False)
    got = (imfilt.pyramid_up if up else imfilt.pyramid_down)(in_layout(x, layout))
    assert got.dtype == np.dtype(dtype) and got.shape == ref.shape
    tol = 32 * EPS[np.dtype(dtype)] * (np.abs(x).max() + 1)
    assert_close_to_reference(got, ref, tol)


# ---------------------------------------------------------------------------
# nan_policy


@given(conv_cases(), st.sampled_from(["nan", "inf", "-inf"]), st.integers(0, 3), st.data())
def test_nan_policy_omit_matches_its_definition(c, bad, nbad, data):
    """'omit' = sum_finite(w x) * sum(w) / sum_finite(w) (|w| for zero-sum kernels);
    windows without a non-finite sample under a non-zero weight equal 'propagate'."""
    rng = np.random.default_rng(c["seed"])
    x = rng.standard_normal(c["xs"])
    w = rng.uniform(0.1, 1.0, c["ks"]) * data.draw(st.sampled_from([1.0, -1.0]))
    if data.draw(st.booleans()):
        w = w - w.mean()                           # a zero-sum (derivative-like) kernel
    for _ in range(nbad):
        x.flat[data.draw(st.integers(0, x.size - 1))] = float(bad)
    c = dict(c, xdtype="float64", dilation=(1, 1), fillvalue=0.0)
    if c["mode"] == "valid" and not all(n >= k for n, k in zip(c["xs"], c["ks"])):
        c["mode"] = "same"                         # no swapped 'valid' here
    kw = dict(stride=c["stride"])
    func = imfilt.convolve
    got = func(x, w, c["mode"], c["boundary"], nan_policy="omit", method="direct", **kw)
    plain = func(x, w, c["mode"], c["boundary"], method="direct", **kw)
    finite = np.isfinite(x)
    xz = np.where(finite, x, 0.0)
    zero_sum = abs(w.sum()) <= 1e-8 * np.abs(w).sum()
    wn = np.abs(w) if zero_sum else w
    num = func(xz, w, c["mode"], c["boundary"], method="direct", **kw)
    # finite weight: the outside of the image (fill 0) counts as finite
    den = func(finite.astype(float), wn, c["mode"], c["boundary"], 0.0, method="direct", **kw)
    den_all = func(np.ones_like(x), wn, c["mode"], c["boundary"], 0.0, method="direct", **kw)
    if c["boundary"] in ("fill", "constant"):
        den, den_all = den + (wn.sum() - den_all), np.full_like(den_all, wn.sum())
    bad_taps = func((~finite).astype(float), np.ones_like(w), c["mode"], c["boundary"],
                    method="direct", **kw)
    clean = bad_taps == 0
    # windows without any non-finite sample: exactly the plain result.  (A NaN
    # under a zero weight is omitted too: 'propagate' gives NaN there, 'omit'
    # the finite sum, e.g. an all-zero kernel on [[nan]] gives 0.)
    np.testing.assert_array_equal(got[clean], plain[clean])
    dirty = ~clean
    with np.errstate(divide="ignore", invalid="ignore"):
        expect = num * wn.sum() / den
    ok = dirty & np.isfinite(expect) & (np.abs(den) > 1e-6 * np.abs(wn).sum())
    tol = 1e-9 * (np.abs(xz).max(initial=0) + 1) * np.abs(w).sum() * (1 + np.abs(expect[ok]))
    assert np.all(np.abs(got[ok] - expect[ok]) <= tol)
    assert got.dtype == np.float64


@given(conv_cases(), st.sampled_from([np.nan, np.inf]), st.booleans())
def test_nan_policy_raise_raises_exactly_when_non_finite(c, bad, inject):
    rng = np.random.default_rng(c["seed"])
    x = rng.standard_normal(c["xs"])
    w = rng.standard_normal(c["ks"])
    if c["mode"] == "valid" and not valid_possible(c["xs"], c["ks"]):
        c["mode"] = "same"
    if inject:
        x.flat[rng.integers(0, x.size)] = bad
        with pytest.raises(ValueError, match="nan_policy"):
            imfilt.correlate(x, w, c["mode"], c["boundary"], nan_policy="raise")
    else:
        a = imfilt.correlate(x, w, c["mode"], c["boundary"], nan_policy="raise")
        b = imfilt.correlate(x, w, c["mode"], c["boundary"])
        assert a.tobytes() == b.tobytes()


# ---------------------------------------------------------------------------
# imfilt.dask: the same result as the NumPy functions for every chunking


def dask_array():
    return pytest.importorskip("dask.array")


@st.composite
def chunkings(draw, shape):
    return tuple(draw(st.integers(1, max(1, n))) for n in shape)


@given(st.data(), conv_cases(), st.booleans())
def test_dask_convolve_equals_numpy_for_any_chunking(data, c, is_conv):
    da = dask_array()
    idask = pytest.importorskip("imfilt.dask")
    rng = np.random.default_rng(c["seed"])
    dtype = data.draw(st.sampled_from(["float32", "float64", "uint8", "int16"]))
    x = sample(rng, c["xs"], dtype)
    w = rng.standard_normal(c["ks"])
    chunks = data.draw(chunkings(c["xs"]))
    name = "convolve" if is_conv else "correlate"
    kw = dict(stride=c["stride"], dilation=c["dilation"], method="direct")
    ref = getattr(imfilt, name)(x, w, c["mode"], c["boundary"], c["fillvalue"], **kw)
    lazy = getattr(idask, name)(da.from_array(x, chunks=chunks), w, c["mode"], c["boundary"],
                                c["fillvalue"], **kw)
    got = lazy.compute(scheduler="synchronous")
    assert got.dtype == ref.dtype and got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)


@given(st.data(), edge_cases(), st.sampled_from(["sobel", "scharr", "prewitt", "roberts",
                                                  "laplace", "gradient"]))
def test_dask_edges_equal_numpy_for_any_chunking(data, c, op):
    da = dask_array()
    idask = pytest.importorskip("imfilt.dask")
    x, _, _, _ = edge_input(c)
    chunks = data.draw(chunkings(x.shape))
    ref = getattr(imfilt, op)(x, boundary=c["boundary"])
    got = getattr(idask, op)(da.from_array(x, chunks=chunks), boundary=c["boundary"])
    if op == "gradient":
        got = tuple(g.compute(scheduler="synchronous") for g in got) \
            if isinstance(got, tuple) else got.compute(scheduler="synchronous")
        for g, r in zip(got, ref):
            np.testing.assert_array_equal(g, r)
        return
    np.testing.assert_array_equal(got.compute(scheduler="synchronous"), ref)


@given(st.data(), pool_cases(dilation=False), st.sampled_from(["max_pool2d", "min_pool2d",
                                                                "avg_pool2d"]))
def test_dask_pooling_equals_numpy_for_any_chunking(data, c, name):
    da = dask_array()
    idask = pytest.importorskip("imfilt.dask")
    x, xin = pool_input(c)
    args = (c["k"], c["stride"], c["padding"])
    try:
        ref = getattr(imfilt, name)(xin, *args, ceil_mode=c["ceil_mode"])
    except ValueError:
        assume(False)
    chunks = data.draw(chunkings(np.shape(xin)))
    got = getattr(idask, name)(da.from_array(xin, chunks=chunks), *args,
                               ceil_mode=c["ceil_mode"]).compute(scheduler="synchronous")
    if name == "avg_pool2d":
        np.testing.assert_allclose(got, ref, rtol=4 * EPS[np.dtype(c["dtype"])], atol=1e-300)
    else:
        np.testing.assert_array_equal(got, ref)


# ---------------------------------------------------------------------------
# Regression tests for failures the properties found


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_regression_column_stride_with_paired_rows(workers, dtype):
    """Found by test_convolve_matches_reference: stride=(1, s1 > 1) was ignored in
    the columns whenever a band of two or more output rows went through the
    two-row micro-kernel (workers=1 on small images, any workers on large ones).
    """
    x = np.arange(100 * 37, dtype=dtype).reshape(100, 37) % 17
    w = np.arange(9, dtype=dtype).reshape(3, 3)
    for s1 in (2, 3):
        got = imfilt.convolve(x, w, "same", stride=(1, s1), method="direct", workers=workers)
        full = imfilt.convolve(x, w, "same", method="direct", workers=workers)
        np.testing.assert_array_equal(got, full[:, ::s1])
    small = imfilt.convolve(np.arange(33.0).reshape(11, 3), [[2.0]], "full", stride=(1, 2),
                            workers=workers)
    np.testing.assert_array_equal(small, 2 * np.arange(33.0).reshape(11, 3)[:, ::2])


def test_regression_upsample_nearest_returns_native_byte_order():
    """Found by test_upsample_matches_torch_interpolate: method='nearest' kept a
    big-endian input's byte order ('>f4'), unlike every other imfilt result."""
    x = np.arange(6, dtype=">f4").reshape(2, 3)
    got = imfilt.upsample(x, 2, method="nearest")
    assert got.dtype == np.float32 and got.dtype.isnative
    np.testing.assert_array_equal(got, np.repeat(np.repeat(x, 2, 0), 2, 1))
    u16 = imfilt.upsample(np.arange(4, dtype=">u2").reshape(2, 2), 3, method="nearest")
    assert u16.dtype == np.uint16 and u16.dtype.isnative
