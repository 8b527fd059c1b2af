"""conv2d and conv_transpose2d: NumPy/SciPy references always, PyTorch when installed."""


import itertools

import numpy as np
import pytest
from scipy import signal

import imfilt
import imfilt.layers
from imfilt._modes import NUMPY_PAD_MODE

RNG = np.random.default_rng(20261123)


# --------------------------------------------------------------------------
# Independent references
# --------------------------------------------------------------------------

def ref_conv2d(x, w, b, stride, pads, dil, groups, boundary="fill"):
    """Loop-over-taps cross-correlation of numpy.pad-ed input (float64)."""
    (sh, sw), (dh, dw) = stride, dil
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0)) + tuple(pads), mode=NUMPY_PAD_MODE[boundary])
    N, C, H, W = xp.shape
    K, Cg, kh, kw = w.shape
    Ho = (H - dh * (kh - 1) - 1) // sh + 1
    Wo = (W - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((N, K, Ho, Wo))
    Kg = K // groups
    for ky in range(kh):
        for kx in range(kw):
            patch = xp[:, :, ky * dh:ky * dh + (Ho - 1) * sh + 1:sh,
                       kx * dw:kx * dw + (Wo - 1) * sw + 1:sw]
            for g in range(groups):
                out[:, g * Kg:(g + 1) * Kg] += np.einsum(
                    "nchw,kc->nkhw", patch[:, g * Cg:(g + 1) * Cg],
                    w[g * Kg:(g + 1) * Kg, :, ky, kx].astype(np.float64))
    if b is not None:
        out += np.asarray(b, dtype=np.float64)[None, :, None, None]
    return out


def ref_transpose_1ch(x, w, stride, padding, output_padding, dilation):
    """Zero-stuffing + scipy.signal.convolve2d 'full', crop and extend (section 9)."""
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    H, W = x.shape
    kh, kw = w.shape
    up = np.zeros(((H - 1) * sh + 1, (W - 1) * sw + 1))
    up[::sh, ::sw] = x
    wd = np.zeros(((kh - 1) * dh + 1, (kw - 1) * dw + 1))
    wd[::dh, ::dw] = w
    full = signal.convolve2d(up, wd, mode="full")
    Ho = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    Wo = (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    ext = np.zeros((max(full.shape[0], ph + Ho), max(full.shape[1], pw + Wo)))
    ext[:full.shape[0], :full.shape[1]] = full
    return ext[ph:ph + Ho, pw:pw + Wo]


def ref_transpose(x, w, b, stride, padding, output_padding, groups, dilation):
    N, C, H, W = x.shape
    _, Kg, kh, kw = w.shape
    Cg = C // groups
    outs = None
    for n in range(N):
        for g in range(groups):
            for k in range(Kg):
                acc = None
                for c in range(g * Cg, (g + 1) * Cg):
                    r = ref_transpose_1ch(x[n, c], w[c, k], stride, padding, output_padding,
                                          dilation)
                    acc = r if acc is None else acc + r
                if outs is None:
                    outs = np.zeros((N, Kg * groups) + acc.shape)
                outs[n, g * Kg + k] = acc
    if b is not None:
        outs += np.asarray(b, dtype=np.float64)[None, :, None, None]
    return outs


def random_case(rng, max_hw=12):
    groups = int(rng.choice([1, 2, 3]))
    Cg, Kg = int(rng.integers(1, 4)), int(rng.integers(1, 6))
    kh, kw = (int(v) for v in rng.integers(1, 5, 2))
    sh, sw = (int(v) for v in rng.integers(1, 4, 2))
    dh, dw = (int(v) for v in rng.integers(1, 3, 2))
    ph, pw = (int(v) for v in rng.integers(0, 3, 2))
    H = int(rng.integers(dh * (kh - 1) + 1, max_hw + dh * (kh - 1) + 1))
    W = int(rng.integers(dw * (kw - 1) + 1, max_hw + dw * (kw - 1) + 1))
    N = int(rng.integers(1, 3))
    return dict(N=N, C=groups * Cg, K=groups * Kg, Cg=Cg, Kg=Kg, groups=groups, k=(kh, kw),
                s=(sh, sw), d=(dh, dw), p=(ph, pw), H=H, W=W)


# --------------------------------------------------------------------------
# conv2d
# --------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(25))
def test_conv2d_matches_numpy_reference(seed):
    rng = np.random.default_rng(seed)
    c = random_case(rng)
    x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"]))
    w = rng.standard_normal((c["K"], c["Cg"]) + c["k"])
    b = rng.standard_normal(c["K"])
    got = imfilt.conv2d(x, w, b, c["s"], c["p"], c["d"], c["groups"])
    pads = ((c["p"][0],) * 2, (c["p"][1],) * 2)
    want = ref_conv2d(x, w, b, c["s"], pads, c["d"], c["groups"])
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm", "reflect", "edge"])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_conv2d_boundaries_and_same(boundary, stride):
    x = RNG.standard_normal((2, 3, 11, 8)).astype(np.float32)
    w = RNG.standard_normal((4, 3, 4, 3)).astype(np.float32)
    got = imfilt.conv2d(x, w, padding="same", stride=stride, boundary=boundary)
    assert got.shape == (2, 4, -(-11 // stride), -(-8 // stride))
    # 'same': total padding (ceil(n/s) - 1) s + k - n, the odd cell after.
    pads = []
    for n, k in ((11, 4), (8, 3)):
        total = max((-(-n // stride) - 1) * stride + k - n, 0)
        pads.append((total // 2, total - total // 2))
    want = ref_conv2d(x, w, None, (stride, stride), pads, (1, 1), 1, boundary)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
    # Wide padding folds repeatedly like numpy.pad.
    if boundary != "fill":
        got = imfilt.conv2d(x, w, padding=(9, 7), stride=stride, boundary=boundary)
        want = ref_conv2d(x, w, None, (stride, stride), ((9, 9), (7, 7)), (1, 1), 1, boundary)
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


def test_conv2d_single_channel_equals_correlate():
    x = RNG.standard_normal((20, 17))
    w = RNG.standard_normal((5, 4))
    np.testing.assert_allclose(imfilt.conv2d(x, w), signal.correlate2d(x, w, "valid"),
                               rtol=1e-12, atol=1e-12)
    # A true convolution is conv2d with the flipped kernel.
    np.testing.assert_allclose(imfilt.conv2d(x, w[::-1, ::-1], padding=(4, 3)),
                               signal.convolve2d(x, w, "full"), rtol=1e-12, atol=1e-12)


def test_conv2d_many_channels_small_tiles():
    # A deep input: 5400 taps per output, the source rows of a task near the cache budget.
    x = RNG.standard_normal((1, 600, 13, 11)).astype(np.float32)
    w = RNG.standard_normal((9, 600, 3, 3)).astype(np.float32)
    want = ref_conv2d(x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    np.testing.assert_allclose(imfilt.conv2d(x, w, padding=1), want, rtol=1e-4, atol=1e-3)


def test_conv2d_fully_connected_as_conv():
    # A fully connected layer on a 7x7xC input is a conv with F = 7 (section 11).
    C, K = 6, 5
    x = RNG.standard_normal((C, 7, 7))
    w = RNG.standard_normal((K, C, 7, 7))
    fc = w.reshape(K, -1) @ x.reshape(-1)
    np.testing.assert_allclose(imfilt.conv2d(x, w)[:, 0, 0], fc, rtol=1e-12)


def test_conv2d_dtypes():
    x = RNG.standard_normal((2, 9, 9)).astype(np.float32)
    w = RNG.standard_normal((3, 2, 3, 3))  # float64 weight: output still float32
    assert imfilt.conv2d(x, w).dtype == np.float32
    assert imfilt.conv2d(x.astype(np.float64), w).dtype == np.float64
    xi = (RNG.integers(0, 255, (2, 9, 9))).astype(np.uint8)
    got = imfilt.conv2d(xi, w)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref_conv2d(xi[None], w, None, (1, 1), ((0, 0), (0, 0)),
                                               (1, 1), 1)[0], rtol=1e-5, atol=1e-3)
    assert imfilt.conv2d(xi.astype(np.int64), w).dtype == np.float64


def test_conv2d_noncontiguous_and_readonly():
    base = RNG.standard_normal((3, 20, 30))
    x = base[:, ::2, ::3]
    x.flags.writeable = False
    w = RNG.standard_normal((2, 3, 3, 3))
    want = ref_conv2d(np.ascontiguousarray(x)[None], w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    np.testing.assert_allclose(imfilt.conv2d(x, w, padding=1), want[0], rtol=1e-12, atol=1e-12)
    big_endian = np.ascontiguousarray(x).astype(">f8")
    np.testing.assert_allclose(imfilt.conv2d(big_endian, w, padding=1), want[0], rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_threads_bit_identical(dtype):
    x = RNG.standard_normal((2, 6, 97, 101)).astype(dtype)
    w = RNG.standard_normal((10, 3, 3, 5)).astype(dtype)
    a = imfilt.conv2d(x, w, padding=2, groups=2, workers=1)
    b = imfilt.conv2d(x, w, padding=2, groups=2, workers=2)
    assert np.array_equal(a, b)
    wt = RNG.standard_normal((6, 8, 4, 4)).astype(dtype)
    for groups in (1, 2):
        a = imfilt.conv_transpose2d(x, wt[:, :8 // groups], stride=2, padding=1, groups=groups,
                                    workers=1)
        b = imfilt.conv_transpose2d(x, wt[:, :8 // groups], stride=2, padding=1, groups=groups,
                                    workers=2)
        assert np.array_equal(a, b)
    a = imfilt.conv_transpose2d(x[0, 0], wt[0, 0], stride=3, workers=1)
    b = imfilt.conv_transpose2d(x[0, 0], wt[0, 0], stride=3, workers=2)
    assert np.array_equal(a, b)


# The kernel's task shapes: several output rows per task (stored in place, or
# back to back when narrow rows would leave vectors part-empty), one row per
# task, or rows cut into column tiles (deep inputs): each against the
# reference and bit-identical for any thread count.
TASK_BUDGETS = {"default": None, "one row": (1 << 19, 1), "column tiles": (1 << 12, 1 << 18)}


@pytest.mark.parametrize("budgets", list(TASK_BUDGETS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("width", [53, 64, 200])
def test_conv_task_shapes(monkeypatch, budgets, dtype, width):
    if TASK_BUDGETS[budgets] is not None:
        monkeypatch.setattr(imfilt.layers, "_ROWS_BYTES", TASK_BUDGETS[budgets][0])
        monkeypatch.setattr(imfilt.layers, "_PRODUCT_BYTES", TASK_BUDGETS[budgets][1])
    rng = np.random.default_rng(width)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    x = rng.standard_normal((2, 6, 70, width)).astype(dtype)
    w = rng.standard_normal((10, 3, 3, 5)).astype(dtype)
    b = rng.standard_normal(10).astype(dtype)
    for boundary, stride, dil in (("fill", (1, 1), (1, 1)), ("reflect", (1, 1), (2, 1)),
                                  ("wrap", (2, 2), (1, 2)), ("edge", (1, 3), (1, 1))):
        got = imfilt.conv2d(x, w, b, stride, (2, 3), dil, 2, boundary=boundary, workers=2)
        want = ref_conv2d(x, w, b, stride, ((2, 2), (3, 3)), dil, 2, boundary)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
        one = imfilt.conv2d(x, w, b, stride, (2, 3), dil, 2, boundary=boundary, workers=1)
        assert np.array_equal(got, one)
    wt = rng.standard_normal((6, 6, 4, 3)).astype(dtype)   # 18 channel pairs: the GEMM path
    b = rng.standard_normal(12).astype(dtype)
    for stride in ((2, 2), (1, 1)):
        got = imfilt.conv_transpose2d(x, wt, b, stride, 1, groups=2, workers=2)
        want = ref_transpose(x, wt, b, stride, (1, 1), (0, 0), 2, (1, 1))
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
        assert np.array_equal(got, imfilt.conv_transpose2d(x, wt, b, stride, 1, groups=2,
                                                           workers=1))


# --------------------------------------------------------------------------
# conv_transpose2d
# --------------------------------------------------------------------------

def test_seed_example_2x2_kernel_4x4_stride_3():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    w = np.arange(16, dtype=np.float64).reshape(4, 4)
    out = imfilt.conv_transpose2d(x, w, stride=3)
    assert out.shape == (7, 7)
    # Each input pixel stamps x[i, j] * w at (3i, 3j); the stamps overlap in
    # row and column 3.
    want = np.zeros((7, 7))
    for i in range(2):
        for j in range(2):
            want[3 * i:3 * i + 4, 3 * j:3 * j + 4] += x[i, j] * w
    assert np.array_equal(out, want)
    np.testing.assert_allclose(out, ref_transpose_1ch(x, w, (3, 3), (0, 0), (0, 0), (1, 1)))
    assert out[3, 3] == 1 * 15 + 2 * 12 + 3 * 3 + 4 * 0


def test_transpose_stride1_is_full_convolution():
    # Section 9: with s=1, p=0, d=1 the transposed convolution is convolve2d 'full'.
    x = RNG.standard_normal((9, 7))
    w = RNG.standard_normal((4, 5))
    np.testing.assert_allclose(imfilt.conv_transpose2d(x, w), signal.convolve2d(x, w, "full"),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(imfilt.conv_transpose2d(x, w), imfilt.convolve(x, w, "full"),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(25))
def test_conv_transpose2d_matches_zero_stuffing(seed):
    rng = np.random.default_rng(100 + seed)
    c = random_case(rng, max_hw=9)
    oph = int(rng.integers(0, max(c["s"][0], c["d"][0])))
    opw = int(rng.integers(0, max(c["s"][1], c["d"][1])))
    Ho = (c["H"] - 1) * c["s"][0] - 2 * c["p"][0] + c["d"][0] * (c["k"][0] - 1) + oph + 1
    Wo = (c["W"] - 1) * c["s"][1] - 2 * c["p"][1] + c["d"][1] * (c["k"][1] - 1) + opw + 1
    if Ho < 1 or Wo < 1:  # padding crops everything: use no padding instead
        c["p"] = (0, 0)
    x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"]))
    w = rng.standard_normal((c["C"], c["Kg"]) + c["k"])
    b = rng.standard_normal(c["K"])
    want = ref_transpose(x, w, b, c["s"], c["p"], (oph, opw), c["groups"], c["d"])
    got = imfilt.conv_transpose2d(x, w, b, c["s"], c["p"], (oph, opw), c["groups"], c["d"])
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("direct_pairs", [0, 10 ** 9])
def test_conv_transpose2d_both_paths(monkeypatch, direct_pairs):
    # The GEMM-phase path and the direct row path must agree with the reference.
    monkeypatch.setattr(imfilt.layers, "_DIRECT_PAIRS", direct_pairs)
    rng = np.random.default_rng(7)
    for _ in range(6):
        c = random_case(rng, max_hw=8)
        x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"]))
        w = rng.standard_normal((c["C"], c["Kg"]) + c["k"])
        want = ref_transpose(x, w, None, c["s"], (0, 0), (0, 0), c["groups"], c["d"])
        got = imfilt.conv_transpose2d(x, w, None, c["s"], 0, 0, c["groups"], c["d"])
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


def scatter_transpose(x, w, stride, padding, dilation):
    """The definition, term by term: out[i*s + m*d - p] += x[i] * w[m] for
    every input sample and tap (no term where no input sample is)."""
    N, C, H, W = x.shape
    _, K, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    Ho, Wo = (H - 1) * sh - 2 * ph + dh * (kh - 1) + 1, (W - 1) * sw - 2 * pw + dw * (kw - 1) + 1
    out = np.zeros((N, K, Ho, Wo))
    with np.errstate(invalid="ignore"):
        for n, c, i, j, k, a, b in itertools.product(range(N), range(C), range(H), range(W),
                                                     range(K), range(kh), range(kw)):
            oy, ox = i * sh + a * dh - ph, j * sw + b * dw - pw
            if 0 <= oy < Ho and 0 <= ox < Wo:
                out[n, k, oy, ox] += x[n, c, i, j] * w[c, k, a, b]
    return out


@pytest.mark.parametrize("direct_pairs", [0, 10 ** 9])
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_conv_transpose2d_nonfinite_weight_reaches_only_its_stamps(monkeypatch, direct_pairs,
                                                                    bad):
    # Outputs the bad tap never stamps stay finite on either path (the GEMM
    # phases read zeros beyond the input, where the scatter has no term).
    monkeypatch.setattr(imfilt.layers, "_DIRECT_PAIRS", direct_pairs)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 3, 4))
    w = rng.standard_normal((2, 3, 2, 3))
    w[0, 0, 0, 1] = bad
    for stride, padding, dilation in (((1, 1), (0, 0), (1, 1)), ((2, 1), (1, 1), (1, 2))):
        want = scatter_transpose(x, w, stride, padding, dilation)
        got = imfilt.conv_transpose2d(x, w, stride=stride, padding=padding, dilation=dilation)
        assert np.array_equal(np.isfinite(got), np.isfinite(want))
        np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_adjoint_identity(seed):
    # <conv2d(x, w), y> == <x, conv_transpose2d(y, w)> (section 9).
    rng = np.random.default_rng(200 + seed)
    c = random_case(rng)
    x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"]))
    w = rng.standard_normal((c["K"], c["Cg"]) + c["k"])
    y_shape = imfilt.conv2d(x, w, None, c["s"], c["p"], c["d"], c["groups"]).shape
    y = rng.standard_normal(y_shape)
    # conv2d's weight (K, C/g, kh, kw) is conv_transpose2d's (C_in=K, C_out/g=C/g, ...).
    xt = imfilt.conv_transpose2d(y, w, None, c["s"], c["p"], 0, c["groups"], c["d"],
                                 output_size=x.shape)
    lhs = np.vdot(imfilt.conv2d(x, w, None, c["s"], c["p"], c["d"], c["groups"]), y)
    rhs = np.vdot(x, xt)
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10)


def test_output_size_and_output_padding():
    x = RNG.standard_normal((1, 2, 5, 6))
    w = RNG.standard_normal((2, 3, 3, 3))
    a = imfilt.conv_transpose2d(x, w, stride=2, padding=1, output_size=(10, 12))
    b = imfilt.conv_transpose2d(x, w, stride=2, padding=1, output_padding=(1, 1))
    assert a.shape == (1, 3, 10, 12)
    assert np.array_equal(a, b)
    c = imfilt.conv_transpose2d(x, w, stride=2, padding=1, output_size=(1, 3, 9, 11))
    assert c.shape == (1, 3, 9, 11)
    with pytest.raises(ValueError, match=r"output_size=\(12, 12\).*\[9, 10\]"):
        imfilt.conv_transpose2d(x, w, stride=2, padding=1, output_size=(12, 12))
    with pytest.raises(ValueError, match="output_padding=2 .*max\\(stride, dilation\\)"):
        imfilt.conv_transpose2d(x, w, stride=2, output_padding=2)


def test_conv_transpose2d_single_channel_benchmark_shape():
    x = RNG.standard_normal((64, 48)).astype(np.float32)
    w = RNG.standard_normal((4, 4)).astype(np.float32)
    out = imfilt.conv_transpose2d(x, w, stride=2, padding=1)
    assert out.shape == (128, 96) and out.dtype == np.float32
    np.testing.assert_allclose(out, ref_transpose_1ch(x, w, (2, 2), (1, 1), (0, 0), (1, 1)),
                               rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------
# PyTorch parity (skipped without torch)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(40))
def test_torch_parity(seed):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(1000 + seed)
    c = random_case(rng, max_hw=30)
    dtype = np.float32 if seed % 2 else np.float64
    tol = 2e-5 if dtype == np.float32 else 1e-12
    x = rng.standard_normal((c["N"], c["C"], c["H"], c["W"])).astype(dtype)
    w = rng.standard_normal((c["K"], c["Cg"]) + c["k"]).astype(dtype)
    b = rng.standard_normal(c["K"]).astype(dtype)
    got = imfilt.conv2d(x, w, b, c["s"], c["p"], c["d"], c["groups"])
    want = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), c["s"],
                    c["p"], c["d"], c["groups"]).numpy()
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1, np.abs(want).max()))

    wt = rng.standard_normal((c["C"], c["Kg"]) + c["k"]).astype(dtype)
    op = (int(rng.integers(0, max(c["s"][0], c["d"][0]))),
          int(rng.integers(0, max(c["s"][1], c["d"][1]))))
    try:
        want = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(wt), torch.from_numpy(b),
                                  c["s"], c["p"], op, c["groups"], c["d"]).numpy()
    except RuntimeError:
        pytest.skip("torch rejects this random configuration")
    got = imfilt.conv_transpose2d(x, wt, b, c["s"], c["p"], op, c["groups"], c["d"])
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1, np.abs(want).max(initial=0)))


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("k,d", [(3, 1), (4, 1), (4, 2), (5, 3), (2, 2)])
def test_torch_padding_same(k, d):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((1, 2, 13, 10))
    w = RNG.standard_normal((3, 2, k, k - 1 if k > 1 else 1))
    want = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding="same",
                                      dilation=d).numpy()
    got = imfilt.conv2d(x, w, padding="same", dilation=d)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# Validation: every error names the parameter, echoes the value, lists choices
# --------------------------------------------------------------------------

X4 = np.zeros((1, 4, 8, 8))
W4 = np.zeros((2, 4, 3, 3))


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: imfilt.conv2d(X4, W4, padding="full"), ValueError,
     r"padding='full' is not valid; choose 'same', 'valid'"),
    (lambda: imfilt.conv2d(X4, W4, stride=0), ValueError, r"stride=0 is not valid; .*>= 1"),
    (lambda: imfilt.conv2d(X4, W4, stride=1.5), TypeError, r"stride=1.5 is not valid; use an int"),
    (lambda: imfilt.conv2d(X4, W4, dilation=(1, 2, 3)), TypeError, r"dilation=\(1, 2, 3\)"),
    (lambda: imfilt.conv2d(X4, W4, padding=-1), ValueError, r"padding=-1 is not valid; .*>= 0"),
    (lambda: imfilt.conv2d(X4, W4, groups=3), ValueError, r"groups=3 must divide .*\(4\)"),
    (lambda: imfilt.conv2d(X4, W4, groups=0), ValueError, r"groups=0 is not valid"),
    (lambda: imfilt.conv2d(X4, np.zeros((2, 3, 3, 3))), ValueError,
     r"weight has shape \(2, 3, 3, 3\).*x has 4 channels"),
    (lambda: imfilt.conv2d(X4, W4, boundary="mirror"), ValueError,
     r"boundary='mirror' is not valid; choose one of 'fill'.*Did you mean 'reflect'"),
    (lambda: imfilt.conv2d(X4, W4, bias=np.zeros(3)), ValueError,
     r"bias has shape \(3,\); .*shape \(2,\)"),
    (lambda: imfilt.conv2d(X4, np.zeros((2, 4, 9, 9))), ValueError, r"output would\s+be empty"),
    (lambda: imfilt.conv2d(np.zeros((8, 8)), W4), ValueError, r"x must have shape"),
    (lambda: imfilt.conv2d(X4, np.zeros((3, 3))), ValueError, r"a 2-D weight \(kh, kw\)"),
    (lambda: imfilt.conv2d(np.array([["a"]]), np.ones((1, 1))), TypeError, r"x has dtype <U1"),
    (lambda: imfilt.conv2d(X4, W4, workers=0), ValueError, r"workers=0 is not valid"),
    (lambda: imfilt.conv_transpose2d(X4, np.zeros((3, 2, 3, 3))), ValueError,
     r"weight.shape\[0\] must equal C_in = 4"),
    (lambda: imfilt.conv_transpose2d(X4, np.zeros((4, 2, 3, 3)), groups=3), ValueError,
     r"groups=3 must divide the input channels \(4\)"),
    (lambda: imfilt.conv_transpose2d(X4, np.zeros((4, 2, 3, 3)), output_size="big"), TypeError,
     r"output_size='big' is not valid"),
    (lambda: imfilt.conv_transpose2d(X4, np.zeros((4, 2, 3, 3)), output_size=(8, 8),
                                     output_padding=1), ValueError, r"not both"),
    (lambda: imfilt.conv_transpose2d(X4, np.zeros((4, 2, 3, 3)), padding=9), ValueError,
     r"output size would be -8x-8, empty or negative"),
    (lambda: imfilt.conv_transpose2d(X4, np.zeros((4, 2, 3, 3)), dilation=10 ** 10),
     ValueError, r"dilation=10000000000 asks for an output .* use a smaller dilation"),
    (lambda: imfilt.conv_transpose2d(X4, np.zeros((4, 2, 3, 3)), stride=10 ** 10),
     ValueError, r"stride=10000000000 asks for an output .* use a smaller stride"),
])
def test_validation_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_kernels_built_with_openmp():
    # House rule: a serial build must not pass silently (IMFILT_OPENMP=0 opts out).
    import os

    from imfilt._kernels import _layers, _pool

    if os.environ.get("IMFILT_OPENMP", "auto").strip() == "0":
        pytest.skip("built serial on purpose (IMFILT_OPENMP=0)")
    assert _layers._openmp_compiled() and _pool._openmp_compiled()
    assert imfilt.openmp_enabled()


# --------------------------------------------------------------------------
# Winograd F(2x2, 3x3): 3 x 3, stride 1, undilated, >= 64 channels per group
# --------------------------------------------------------------------------

def _direct_conv2d(monkeypatch, *args, **kwargs):
    """conv2d on the direct implicit-GEMM path (the Winograd path disabled)."""
    with monkeypatch.context() as m:
        m.setattr(imfilt.layers, "WINOGRAD_MIN_CHANNELS", 10**9)
        return imfilt.conv2d(*args, **kwargs)


@pytest.fixture
def small_winograd(monkeypatch):
    """The Winograd path on images of a single task too (the tests' images
    are small; the task-count rule has its own test)."""
    monkeypatch.setattr(imfilt.layers, "WINOGRAD_MIN_TASKS", 1)


def _winograd_calls(monkeypatch, *args, **kwargs):
    """conv2d's result and what each call of the Winograd path returned."""
    calls = []
    real = imfilt.layers._winograd

    def spy(*a):
        calls.append(real(*a))
        return calls[-1]

    with monkeypatch.context() as m:
        m.setattr(imfilt.layers, "_winograd", spy)
        got = imfilt.conv2d(*args, **kwargs)
    return got, calls


def _winograd_used(monkeypatch, *args, **kwargs):
    """conv2d's result and whether it came from the Winograd path."""
    got, calls = _winograd_calls(monkeypatch, *args, **kwargs)
    return got, calls == [True]


def _winograd_tol(x, w, dtype):
    """A reordered sum's rounding: a few eps of max|x| * sum|w| per output."""
    eps = np.finfo(dtype).eps
    return 16 * eps * float(np.abs(x).max()) * float(np.abs(w).sum(axis=(1, 2, 3)).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, padding, boundary", [
    ((2, 64, 17, 23), 1, "fill"),          # odd sizes: tiles past the output
    ((1, 64, 16, 16), 0, "fill"),          # 'valid'
    ((1, 64, 9, 30), 2, "reflect"),
    ((1, 64, 12, 5), "same", "wrap"),
    ((3, 64, 4, 4), 1, "edge"),
    ((1, 64, 2, 9), 1, "symm"),            # fewer rows than a tile
    ((4, 64, 1, 1), 1, "fill"),            # one pixel
    ((1, 64, 40, 3), 0, "fill"),           # one output column
])
def test_winograd_matches_the_independent_reference(monkeypatch, small_winograd, dtype, shape,
                                                    padding, boundary):
    rng = np.random.default_rng(30)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((64, shape[1], 3, 3)).astype(dtype)
    b = rng.standard_normal(64).astype(dtype)
    got, used = _winograd_used(monkeypatch, x, w, b, padding=padding, boundary=boundary)
    p = 1 if padding == "same" else padding
    want = ref_conv2d(x, w, b, (1, 1), ((p, p), (p, p)), (1, 1), 1, boundary)
    assert used and got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=_winograd_tol(x, w, dtype))
    direct = _direct_conv2d(monkeypatch, x, w, b, padding=padding, boundary=boundary)
    np.testing.assert_allclose(got, direct, rtol=0, atol=_winograd_tol(x, w, dtype))


def test_winograd_groups_batches_and_bias(monkeypatch, small_winograd):
    rng = np.random.default_rng(31)
    x = rng.standard_normal((3, 256, 14, 10)).astype(np.float32)
    w = rng.standard_normal((256, 64, 3, 3)).astype(np.float32)
    b = rng.standard_normal(256).astype(np.float32)
    got, used = _winograd_used(monkeypatch, x, w, b, padding=1, groups=4)
    want = ref_conv2d(x, w, b, (1, 1), ((1, 1), (1, 1)), (1, 1), 4)
    assert used
    np.testing.assert_allclose(got, want, rtol=0, atol=_winograd_tol(x, w, np.float32))


def test_winograd_is_bit_identical_for_any_thread_count(monkeypatch):
    rng = np.random.default_rng(32)
    x = rng.standard_normal((2, 64, 45, 37)).astype(np.float32)
    w = rng.standard_normal((96, 64, 3, 3)).astype(np.float32)
    one, used = _winograd_used(monkeypatch, x, w, padding=1, workers=1)
    assert used
    for workers in (2, 3, 8):
        assert imfilt.conv2d(x, w, padding=1, workers=workers).tobytes() == one.tobytes()


def test_winograd_only_where_it_pays(monkeypatch):
    """The rule depends on the shapes only: 3 x 3, stride 1, no dilation,
    >= 32 channels in and out per group and >= 2048 in x out, >= 4 tasks;
    otherwise direct."""
    rng = np.random.default_rng(33)
    x = rng.standard_normal((1, 64, 64, 64)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    assert _winograd_used(monkeypatch, x, w, padding=1)[1]
    assert _winograd_used(monkeypatch, x, w[:32], padding=1)[1]               # 64 -> 32
    assert _winograd_used(monkeypatch, x[:, :32], w[:, :32], padding=1)[1]    # 32 -> 64
    assert not _winograd_used(monkeypatch, x[:, :32], w[:32, :32], padding=1)[1]  # 32 -> 32
    assert not _winograd_used(monkeypatch, x, w[:16], padding=1)[1]           # 64 -> 16
    for kwargs in (dict(stride=2), dict(dilation=2), dict(groups=2)):
        wk = w[:, :32] if "groups" in kwargs else w
        assert not _winograd_used(monkeypatch, x, wk, padding=1, **kwargs)[1]
    assert not _winograd_used(monkeypatch, x, w[:, :, :2, :2], padding=1)[1]  # 2 x 2
    assert not _winograd_used(monkeypatch, x[:, :, :4, :4], w, padding=1)[1]  # one task
    wide = rng.standard_normal((1, 64, 16, 1100)).astype(np.float32)
    assert not _winograd_used(monkeypatch, wide, w, padding=1)[1]    # rows of 551 tiles


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_winograd_inf_nan_give_the_direct_pattern(monkeypatch, small_winograd, bad):
    """The transforms would mix a tile's four outputs (inf - inf): such
    inputs are computed directly, bit for bit."""
    rng = np.random.default_rng(34)
    x = rng.standard_normal((1, 64, 20, 20))
    x[0, 5, 3, 7] = bad
    x[0, 9, 19, 0] = bad
    w = rng.standard_normal((64, 64, 3, 3))
    got, calls = _winograd_calls(monkeypatch, x, w, padding=1)
    assert calls == [False]            # tried, found a non-finite output
    want = _direct_conv2d(monkeypatch, x, w, padding=1)
    np.testing.assert_array_equal(got, want)
    wn = w.copy()
    wn[3, 2, 1, 1] = bad
    ones = np.ones_like(x)
    np.testing.assert_array_equal(imfilt.conv2d(ones, wn, padding=1),
                                  _direct_conv2d(monkeypatch, ones, wn, padding=1))


def test_winograd_overflowing_sums_fall_back_to_direct(monkeypatch, small_winograd):
    """Values whose transformed sums leave float32's range (the direct sum
    may not) are computed directly."""
    x = np.full((1, 64, 12, 12), 5e37, dtype=np.float32)
    x[0, :, 2::4] = -5e37               # rows + + - -: B^T d B doubles twice
    x[0, :, 3::4] = -5e37
    w = np.ones((64, 64, 3, 3), dtype=np.float32) / 64
    got, calls = _winograd_calls(monkeypatch, x, w, padding=1)
    assert calls == [False]
    want = _direct_conv2d(monkeypatch, x, w, padding=1)
    np.testing.assert_array_equal(got, want)
    assert np.isfinite(want).all()


def test_winograd_odd_inputs(monkeypatch, small_winograd):
    """Non-contiguous, read-only, big-endian and integer inputs."""
    rng = np.random.default_rng(35)
    base = rng.standard_normal((1, 128, 24, 30))
    w = rng.standard_normal((64, 64, 3, 3))
    want = ref_conv2d(base[:, ::2], w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    tol = _winograd_tol(base, w, np.float64)
    np.testing.assert_allclose(imfilt.conv2d(base[:, ::2], w, padding=1), want, rtol=0, atol=tol)
    ro = np.ascontiguousarray(base[:, ::2])
    ro.setflags(write=False)
    np.testing.assert_allclose(imfilt.conv2d(ro, w, padding=1), want, rtol=0, atol=tol)
    np.testing.assert_allclose(imfilt.conv2d(ro.astype(">f8"), w.astype(">f8"), padding=1), want,
                               rtol=0, atol=tol)
    xi = rng.integers(-5, 6, (1, 64, 10, 10))
    wi = rng.integers(-2, 3, (64, 64, 3, 3))
    got = imfilt.conv2d(xi, wi, padding=1)
    np.testing.assert_allclose(got, ref_conv2d(xi, wi, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
                               rtol=0, atol=1e-9)


def test_winograd_matches_torch(monkeypatch, small_winograd):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(36)
    x = rng.standard_normal((2, 64, 30, 33)).astype(np.float32)
    w = rng.standard_normal((80, 64, 3, 3)).astype(np.float32)
    b = rng.standard_normal(80).astype(np.float32)
    want = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                                      torch.from_numpy(b), padding=1).numpy()
    got, used = _winograd_used(monkeypatch, x, w, b, padding=1)
    assert used
    np.testing.assert_allclose(got, want, rtol=0,
                               atol=_winograd_tol(x, w, np.float32))


@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm", "reflect", "edge"])
@pytest.mark.parametrize("seed", range(6))
def test_conv2d_tap_maps_give_the_same_bits(monkeypatch, boundary, seed):
    """A huge stride or dilation maps only the taps it reads (memory that
    follows the output, not the stride); that path gives the bits of the
    map of every padded position, on every boundary, stride and dilation."""
    rng = np.random.default_rng(seed)
    C, K, groups = (2, 4, 2) if seed % 2 else (3, 2, 1)
    x = rng.standard_normal((2, C, int(rng.integers(1, 13)), int(rng.integers(1, 13))))
    w = rng.standard_normal((K, C // groups, int(rng.integers(1, 5)), int(rng.integers(1, 5))))
    kwargs = dict(stride=tuple(int(v) for v in rng.integers(1, 5, 2)),
                  dilation=tuple(int(v) for v in rng.integers(1, 4, 2)),
                  padding="same" if seed % 3 == 0 else tuple(int(v) for v in rng.integers(0, 6, 2)),
                  groups=groups, boundary=boundary)
    try:
        want = imfilt.conv2d(x, w, **kwargs)
    except ValueError:
        return   # the dilated kernel is larger than the padded input
    monkeypatch.setattr(imfilt.layers, "_sparse_taps", lambda *args: True)
    got = imfilt.conv2d(x, w, **kwargs)
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("boundary", ["fill", "reflect"])
def test_conv2d_huge_stride_or_dilation_costs_memory_of_the_output(boundary):
    """A column stride of 10**12 (PyTorch: a (1, 1, 4, 1) output) or a
    'same' dilation of 10**12 runs in the memory of its tiny output; they
    used to ask for terabytes."""
    x, w = RNG.standard_normal((1, 1, 6, 6)), RNG.standard_normal((1, 1, 3, 3))
    got = imfilt.conv2d(x, w, stride=(1, 10 ** 12), boundary=boundary)
    want = imfilt.conv2d(x[..., :3], w, boundary=boundary)[..., :1]
    assert got.shape == (1, 1, 4, 1) and got.tobytes() == want.tobytes()
    got = imfilt.conv2d(x, w, stride=(10 ** 12, 1), boundary=boundary)
    assert got.tobytes() == imfilt.conv2d(x[..., :3, :], w, boundary=boundary)[..., :1, :].tobytes()
    # 'same' with a dilation far beyond the image: only the centre tap (and
    # what the boundary folds back) lands in it.
    x5 = RNG.standard_normal((1, 1, 5, 5))
    got = imfilt.conv2d(x5, w, dilation=(1, 10 ** 12), padding="same", boundary=boundary)
    if boundary == "fill":
        want = imfilt.conv2d(x5, w[..., 1:2], padding=(1, 0))
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    else:
        # reflect folds 10**12 back to the column 10**12 mod 8 positions away
        far = 10 ** 12
        cols = [np.arange(5) + (j - 1) * far for j in range(3)]
        src = [np.where(np.mod(c, 8) >= 5, 8 - np.mod(c, 8), np.mod(c, 8)) for c in cols]
        xp = np.pad(x5[0, 0], ((1, 1), (0, 0)), mode="reflect")
        want = sum(w[0, 0, a, j] * xp[a:a + 5][:, src[j]] for a in range(3) for j in range(3))
        np.testing.assert_allclose(got[0, 0], want, rtol=1e-13, atol=1e-13)
    torch = pytest.importorskip("torch")
    if boundary == "fill":
        ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                                         stride=(1, 10 ** 12)).numpy()
        np.testing.assert_allclose(imfilt.conv2d(x, w, stride=(1, 10 ** 12)), ref,
                                   rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("direct_pairs", [0, 10 ** 9])
def test_conv_transpose2d_huge_stride_costs_memory_of_the_output(monkeypatch, direct_pairs):
    """conv_transpose2d with stride 10**12 on a 1x1 input is the kernel
    itself (a 3x3 output); its column phases no longer take a row per
    stride, on the direct path and the GEMM path."""
    monkeypatch.setattr(imfilt.layers, "_DIRECT_PAIRS", direct_pairs)
    w = RNG.standard_normal((1, 1, 3, 3))
    got = imfilt.conv_transpose2d(np.full((1, 1, 1, 1), 2.0), w, stride=10 ** 12)
    np.testing.assert_array_equal(got[0, 0], 2 * w[0, 0])
    x = RNG.standard_normal((1, 1, 2, 2))
    got = imfilt.conv_transpose2d(x, w, stride=(1, 10 ** 6))
    assert got.shape == (1, 1, 4, 10 ** 6 + 3)
    want = imfilt.conv_transpose2d(x, w, stride=(1, 5))
    np.testing.assert_array_equal(got[..., :3], want[..., :3])
    np.testing.assert_array_equal(got[..., -3:], want[..., -3:])
    assert not got[..., 3:-3].any()
