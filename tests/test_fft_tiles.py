"""The FFT method's overlap-save blocks: every geometry agrees with the direct
method within the documented bound, and the result never depends on the
thread count, the batching or the in-place reading of interior blocks."""

import math
import threading
import time

import numpy as np
import pytest

import imfilt
from imfilt import _kept, _methods, _threads
from imfilt._modes import BOUNDARIES

MODES = ("full", "same", "valid")


def _tol(x, w, dtype):
    """``method='fft'`` agrees with ``'direct'`` to about
    ``eps * log2(size) * max|image| * sum|kernel|`` (docs/user_guide/dtypes.rst),
    with the margin test_engine.py uses."""
    eps = np.finfo(np.dtype(dtype).type(0).real.dtype).eps
    return 64 * eps * float(np.abs(x).max()) * float(np.abs(w).sum()) \
        * np.log2(x.size + w.size + 2) + 1e-30


def _force_blocks(monkeypatch, L0, L1):
    """Make every FFT call use blocks of L0 x L1 (at least the kernel)."""
    real_plan = _methods.block_plan

    def plan(V0, V1, K0, K1, key):
        l0, l1 = max(L0, K0), max(L1, K1)
        n0, n1 = -(-V0 // (l0 - K0 + 1)), -(-V1 // (l1 - K1 + 1))
        return l0, l1, n0, n1, _methods._block_seconds(l0, l1, key)

    monkeypatch.setattr(_methods, "block_plan", plan)
    return real_plan


# --- the plan ---------------------------------------------------------------

@pytest.mark.parametrize("key", ["f32", "f64"])
def test_block_plan_covers_the_output_with_fast_lengths(key):
    smooth = set(_methods._smooth_lengths(1 << 16))
    for V0, V1, K0, K1 in [(1, 1, 1, 1), (2048, 2048, 31, 31), (4096, 100, 127, 3),
                           (10, 3000, 9, 900), (5000, 5000, 3, 3), (7, 9, 40, 50)]:
        L0, L1, n0, n1, seconds = _methods.block_plan(V0, V1, K0, K1, key)
        assert L0 >= K0 and L1 >= K1
        assert L0 in smooth and L1 in smooth
        assert n0 * (L0 - K0 + 1) >= V0 and n1 * (L1 - K1 + 1) >= V1
        assert (n0 - 1) * (L0 - K0 + 1) < V0 and (n1 - 1) * (L1 - K1 + 1) < V1
        assert seconds > 0


def test_block_plan_prefers_cache_sized_blocks_on_large_images():
    L0, L1, n0, n1, _ = _methods.block_plan(4096, 4096, 31, 31, "f32")
    assert n0 * n1 > 1 and L0 * L1 * 4 <= 4 * _methods.FFT_BATCH_BYTES


def test_length_factor_counts_factors_3_and_5():
    c = _methods.FFT_ODD_FACTOR_COST
    assert _methods._length_factor(512) == 1
    assert _methods._length_factor(384) == pytest.approx(1 + c)
    assert _methods._length_factor(810) == pytest.approx(1 + 5 * c)


def test_block_plan_prefers_lengths_with_fewer_odd_factors():
    """At the same block count a slightly longer length of fewer factors 3
    and 5 wins (2048^2 with a 127x127 kernel: 640 = 2^7 * 5, not 810)."""
    L0, L1, _, _, _ = _methods.block_plan(2048, 2048, 127, 127, "f64")
    assert _methods._length_factor(L0) <= 1 + 2 * _methods.FFT_ODD_FACTOR_COST
    assert _methods._length_factor(L1) <= 1 + 2 * _methods.FFT_ODD_FACTOR_COST


# --- agreement with direct: geometry ------------------------------------------

@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("blocks", [(16, 16), (12, 40), (64, 24)])
def test_forced_blocks_match_direct(monkeypatch, boundary, blocks):
    """Small forced blocks: many blocks, border blocks on every side, the last
    block overhanging the output, interior blocks read in place."""
    _force_blocks(monkeypatch, *blocks)
    rng = np.random.default_rng(1)
    for xs, ws in [((97, 83), (5, 7)), ((40, 41), (11, 3)), ((33, 70), (1, 9))]:
        x = rng.standard_normal(xs)
        w = rng.standard_normal(ws)
        for mode in MODES:
            for func in (imfilt.convolve, imfilt.correlate):
                a = func(x, w, mode, boundary, 0.75, method="direct")
                b = func(x, w, mode, boundary, 0.75, method="fft")
                np.testing.assert_allclose(b, a, rtol=0, atol=_tol(x, w, np.float64))


@pytest.mark.parametrize("case", [
    # (image shape, kernel shape, forced block lengths or None for the plan's)
    ((5, 6), (3, 3), (64, 64)),         # image smaller than one block
    ((30, 20), (5, 5), (34, 24)),       # 'same' output exactly one block
    ((30, 20), (5, 5), (17, 12)),       # exactly two blocks each way
    ((50, 60), (9, 13), (10, 14)),      # kernel larger than a block's output (2 x 2)
    ((40, 44), (7, 5), (7, 5)),         # blocks of the kernel's size: one output each
    ((6, 5), (15, 13), None),           # kernel larger than the image
    ((1, 200), (1, 31), None),          # one row
    ((300, 1), (17, 1), None),          # one column
])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_block_edge_cases_match_direct(monkeypatch, case, boundary):
    xs, ws, blocks = case
    if blocks is not None:
        _force_blocks(monkeypatch, *blocks)
    rng = np.random.default_rng(2)
    x = rng.standard_normal(xs)
    w = rng.standard_normal(ws)
    for mode in MODES:
        if mode == "valid" and not (xs[0] >= ws[0] and xs[1] >= ws[1]) \
                and not (ws[0] >= xs[0] and ws[1] >= xs[1]):
            continue
        a = imfilt.convolve(x, w, mode, boundary, -2.0, method="direct")
        b = imfilt.convolve(x, w, mode, boundary, -2.0, method="fft")
        np.testing.assert_allclose(b, a, rtol=0, atol=_tol(x, w, np.float64))


def test_empty_image_with_fill():
    w = np.arange(1.0, 13.0).reshape(3, 4)
    for shape in [(0, 5), (4, 0)]:
        a = imfilt.convolve(np.ones(shape), w, "full", "fill", 2.0, method="direct")
        b = imfilt.convolve(np.ones(shape), w, "full", "fill", 2.0, method="fft")
        np.testing.assert_allclose(b, a, atol=_tol(np.ones((1, 1)) * 2, w, np.float64))


# --- agreement with direct: dtypes, stacks, stride and dilation ---------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128", "uint8",
                                   "int16", "int64", "bool", "float16"])
def test_every_dtype_matches_direct(monkeypatch, dtype):
    _force_blocks(monkeypatch, 20, 24)
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((70, 61)) * 10)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(x.shape)
    x = x.astype(dtype)
    w = rng.standard_normal((6, 5)).astype(np.float32 if dtype in ("float32", "complex64") else np.float64)
    a = imfilt.convolve(x, w, "same", "reflect", method="direct")
    b = imfilt.convolve(x, w, "same", "reflect", method="fft")
    assert b.dtype == a.dtype
    np.testing.assert_allclose(b, a, rtol=0, atol=_tol(x.astype(a.dtype), w, a.dtype))


def test_complex_kernel_matches_direct():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((130, 120)).astype(np.float32)
    w = (rng.standard_normal((9, 9)) + 1j * rng.standard_normal((9, 9))).astype(np.complex64)
    a = imfilt.correlate(x, w, "same", "wrap", method="direct")
    b = imfilt.correlate(x, w, "same", "wrap", method="fft")
    np.testing.assert_allclose(b, a, rtol=0, atol=2 * _tol(x, w, np.complex64))


@pytest.mark.parametrize("per_slice", [False, True])
def test_stacks_match_direct(monkeypatch, per_slice):
    _force_blocks(monkeypatch, 24, 20)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 57, 49))
    w = rng.standard_normal((4, 5, 7) if per_slice else (5, 7))
    a = imfilt.correlate(x, w, "same", "symm", method="direct", axes=(1, 2))
    b = imfilt.correlate(x, w, "same", "symm", method="fft", axes=(1, 2))
    np.testing.assert_allclose(b, a, rtol=0, atol=_tol(x, w, np.float64))
    # the same stack as colour channels (non-contiguous slices)
    xc = np.moveaxis(x, 0, -1)
    c = imfilt.correlate(xc, w, "same", "symm", method="fft", channel_axis=-1)
    np.testing.assert_allclose(np.moveaxis(c, -1, 0), a, rtol=0, atol=_tol(x, w, np.float64))


@pytest.mark.parametrize("stride,dilation", [(1, 2), (2, 1), ((3, 2), (2, 3))])
@pytest.mark.parametrize("boundary", ["fill", "reflect"])
def test_stride_and_dilation_match_direct(monkeypatch, stride, dilation, boundary):
    _force_blocks(monkeypatch, 30, 28)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((81, 77)).astype(np.float32)
    w = rng.standard_normal((5, 4)).astype(np.float32)
    for mode in MODES:
        a = imfilt.convolve(x, w, mode, boundary, 1.0, stride=stride, dilation=dilation,
                            method="direct")
        b = imfilt.convolve(x, w, mode, boundary, 1.0, stride=stride, dilation=dilation,
                            method="fft")
        np.testing.assert_allclose(b, a, rtol=0, atol=_tol(x, w, np.float32))


def test_non_contiguous_image_matches_direct():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((400, 300))[::2, ::-3]          # negative, non-unit strides
    w = rng.standard_normal((7, 7))
    a = imfilt.convolve(x, w, "same", method="direct")
    b = imfilt.convolve(x, w, "same", method="fft")
    np.testing.assert_allclose(b, a, rtol=0, atol=_tol(x, w, np.float64))


# --- results independent of threads, batches and in-place reading -------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bit_identical_for_any_workers(dtype):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 700, 650)).astype(dtype)
    for k in (5, 31):
        w = rng.standard_normal((k, k)).astype(dtype)
        one = imfilt.correlate(x, w, "same", "reflect", method="fft", axes=(1, 2), workers=1)
        assert math.prod(_methods.block_plan(700, 650, k, k, "f32" if dtype == np.float32 else "f64")[2:4]) > 1
        for workers in (2, 3, 5):
            other = imfilt.correlate(x, w, "same", "reflect", method="fft", axes=(1, 2),
                                     workers=workers)
            assert other.tobytes() == one.tobytes()


def test_bit_identical_for_any_batch_and_gathered_interior(monkeypatch):
    """A block gives the same bits whether it is read in place (interior) or
    gathered, and whatever batch it is transformed in."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((300, 280)).astype(np.float32)
    w = rng.standard_normal((9, 9)).astype(np.float32)
    _force_blocks(monkeypatch, 40, 36)
    ref = imfilt.correlate(x, w, "same", method="fft", workers=2)
    real_batches = _methods._batches
    monkeypatch.setattr(_methods, "_batches",
                        lambda B, n0, n1, i0, i1, per: real_batches(B, n0, n1, i0 & False, i1, per))
    gathered = imfilt.correlate(x, w, "same", method="fft", workers=2)
    assert gathered.tobytes() == ref.tobytes()
    for batch_bytes in (1, 40 * 36 * 4 * 3, 2**30):
        monkeypatch.setattr(_methods, "FFT_BATCH_BYTES", batch_bytes)
        assert imfilt.correlate(x, w, "same", method="fft", workers=3).tobytes() == ref.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bit_identical_for_any_split_of_the_kernel_spectrum(monkeypatch, dtype):
    """The kernel's spectrum is transformed in column ranges shared by the
    threads: any range width (one column, an odd width, all at once) gives
    the same bits, for one kernel and for a kernel per image."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 150, 170)).astype(dtype)
    monkeypatch.setattr(_kept, "LIMIT_BYTES", 0)   # computed every call
    for w in (rng.standard_normal((13, 10)), rng.standard_normal((2, 13, 10))):
        w = w.astype(dtype)
        ref = imfilt.correlate(x, w, "same", "symm", method="fft", axes=(1, 2), workers=1)
        for columns in (1, 7, 10**6):
            monkeypatch.setattr(_methods, "_SPECTRUM_COLUMNS", columns)
            for workers in (1, 3):
                got = imfilt.correlate(x, w, "same", "symm", method="fft", axes=(1, 2),
                                       workers=workers)
                assert got.tobytes() == ref.tobytes(), (w.ndim, columns, workers)


def test_kernel_spectrum_is_kept_by_value(monkeypatch):
    """A kernel's spectrum is kept for the next call with the same kernel
    values and blocks: the same bits as computing it, read-only, never
    reused for other values (a kernel changed in place included), for one
    kernel and for a kernel per image."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 200, 180))
    _kept.release()
    monkeypatch.setattr(_kept, "LIMIT_BYTES", 0)
    w = rng.standard_normal((15, 12))
    fresh = imfilt.convolve(x, w, "same", method="fft", axes=(1, 2))
    assert _kept.stats() == (0, 0)
    monkeypatch.setattr(_kept, "LIMIT_BYTES", 64 * 2**20)
    first = imfilt.convolve(x, w, "same", method="fft", axes=(1, 2))
    assert _kept.stats()[0] == 1
    again = imfilt.convolve(x, w, "same", method="fft", axes=(1, 2))
    assert _kept.stats()[0] == 1
    assert first.tobytes() == fresh.tobytes() == again.tobytes()
    assert not any(s.flags.writeable for s in _kept._values.values())
    w[3, 4] += 1.0                      # the caller's kernel, changed in place
    changed = imfilt.convolve(x, w, "same", method="fft", axes=(1, 2))
    ref = imfilt.convolve(x, w, "same", method="direct", axes=(1, 2))
    np.testing.assert_allclose(changed, ref, rtol=0, atol=_tol(x, w, np.float64))
    assert _kept.stats()[0] == 2
    per_image = rng.standard_normal((2, 15, 12))
    for _ in range(2):
        got = imfilt.convolve(x, per_image, "same", method="fft", axes=(1, 2))
        ref = imfilt.convolve(x, per_image, "same", method="direct", axes=(1, 2))
        np.testing.assert_allclose(got, ref, rtol=0, atol=_tol(x, per_image, np.float64))
    assert _kept.stats()[0] == 3
    _kept.release()
    assert _kept.stats() == (0, 0)


def test_kept_spectra_stay_within_their_budget(monkeypatch):
    """The least recently used spectrum goes first; one too large for a
    quarter of the budget is not kept."""
    rng = np.random.default_rng(13)
    x = rng.standard_normal((120, 120))
    _kept.release()
    imfilt.convolve(x, rng.standard_normal((9, 9)), method="fft")
    one = _kept.stats()[1]
    monkeypatch.setattr(_kept, "LIMIT_BYTES", 5 * one)
    kernels = [rng.standard_normal((9, 9)) for _ in range(8)]
    for w in kernels:
        imfilt.convolve(x, w, method="fft")
        count, kept = _kept.stats()
        assert kept <= 5 * one and count <= 5
    assert _kept.stats()[0] == 5
    # (convolve's kernel in convolution form is the key's kernel)
    keys = [key[-2] for key in _kept._values]   # (the last is the backend)
    assert kernels[-1].tobytes() in keys and kernels[0].tobytes() not in keys
    monkeypatch.setattr(_kept, "LIMIT_BYTES", 3 * one)
    _kept.release()
    imfilt.convolve(x, kernels[0], method="fft")
    assert _kept.stats() == (0, 0)
    _kept.release()


def test_kept_spectra_across_threads():
    """Calls from several threads at once, each with its own kernel, get
    their own kernel's result."""
    rng = np.random.default_rng(14)
    x = rng.standard_normal((160, 150))
    kernels = [rng.standard_normal((11, 11)) for _ in range(6)]
    refs = [imfilt.convolve(x, w, method="fft", workers=1) for w in kernels]
    errors = []

    def run(i):
        for _ in range(5):
            got = imfilt.convolve(x, kernels[i], method="fft", workers=2)
            if got.tobytes() != refs[i].tobytes():
                errors.append(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(kernels))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_large_blocks_in_passes_equal_batched(monkeypatch):
    """Blocks too long for one piece are transformed in 1-D passes, with the
    same bits as the batched path."""
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 90, 100))
    w = rng.standard_normal((2, 11, 7))
    ref = imfilt.convolve(x, w, "same", "wrap", method="fft", axes=(1, 2))
    monkeypatch.setattr(_threads, "SLICE_SECONDS", 1e-9)
    sliced = imfilt.convolve(x, w, "same", "wrap", method="fft", axes=(1, 2))
    assert sliced.tobytes() == ref.tobytes()


def test_helper_threads_stop_after_an_error(monkeypatch):
    """An exception in one batch propagates; no thread is left running."""
    calls = []

    def failing(*args):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("batch")
        return real_scatter(*args)

    real_scatter = _methods._SCATTER[np.dtype(np.float64)]
    monkeypatch.setitem(_methods._SCATTER, np.dtype(np.float64), failing)
    _force_blocks(monkeypatch, 16, 16)
    with pytest.raises(MemoryError, match="batch"):
        imfilt.convolve(np.ones((200, 200)), np.ones((5, 5)), method="fft", workers=2)
    # The helper threads are kept for the next call, but none goes on
    # working on this one after the exception reached the caller.
    settled = len(calls)
    time.sleep(0.05)
    assert len(calls) == settled


# --- scipy.fft backends -----------------------------------------------------

class _CountingBackend:
    """A ``scipy.fft`` backend that records each transform and the thread
    that asked for it, then declines it (``NotImplemented``), so SciPy's
    own FFT computes it."""
    __ua_domain__ = "numpy.scipy.fft"

    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()

    def __ua_function__(self, method, args, kwargs):
        with self.lock:
            self.calls.append((method.__name__, threading.current_thread().name))
        return NotImplemented


@pytest.mark.parametrize("workers", [1, 2])
def test_every_transform_goes_through_a_set_backend(workers):
    """``scipy.fft.set_backend`` holds for the calling thread only; the
    transforms imfilt's helper threads run must still go through it."""
    import scipy.fft
    rng = np.random.default_rng(0)
    x = rng.standard_normal((700, 700))
    w = rng.standard_normal((63, 63))
    _kept.release()
    backend = _CountingBackend()
    with scipy.fft.set_backend(backend):
        got = imfilt.convolve(x, w, method="fft", workers=workers)
    _kept.release()
    plain = _CountingBackend()
    with scipy.fft.set_backend(plain):
        imfilt.convolve(x, w, method="fft", workers=1)
    # The same transforms whatever the thread count, every one of them seen.
    names = sorted(name for name, _ in backend.calls)
    assert names == sorted(name for name, _ in plain.calls)
    assert names.count("rfft2") > 1
    if workers == 2:
        assert any(t.startswith("imfilt-helper") for _, t in backend.calls)
    np.testing.assert_array_equal(got, imfilt.convolve(x, w, method="fft", workers=1))


def test_helper_threads_leave_the_backend_behind():
    """A helper thread kept for later calls does not keep the backend of
    the call it worked for."""
    import scipy.fft
    rng = np.random.default_rng(1)
    x = rng.standard_normal((700, 700))
    w = rng.standard_normal((63, 63))
    backend = _CountingBackend()
    with scipy.fft.set_backend(backend):
        imfilt.convolve(x, w, method="fft", workers=2)
    seen = len(backend.calls)
    imfilt.convolve(x, w, method="fft", workers=2)
    assert len(backend.calls) == seen


def test_kept_spectra_are_not_shared_between_backends():
    # a kernel spectrum computed under one scipy.fft backend is reused only
    # under the same backends: another backend (or none) transforms the
    # kernel again, so results never depend on earlier calls
    import scipy.fft
    rng = np.random.default_rng(2)
    x = rng.standard_normal((600, 600))
    w = rng.standard_normal((41, 41))
    _kept.release()
    first, second = _CountingBackend(), _CountingBackend()
    with scipy.fft.set_backend(first):
        imfilt.correlate(x, w, "same", method="fft")
        seen = len(first.calls)
        imfilt.correlate(x, w, "same", method="fft")     # the kept spectrum
    kernel_transforms = seen - (len(first.calls) - seen)
    assert kernel_transforms > 0
    with scipy.fft.set_backend(second):
        imfilt.correlate(x, w, "same", method="fft")
    assert len(second.calls) == seen           # the kernel transformed again
    _kept.release()
