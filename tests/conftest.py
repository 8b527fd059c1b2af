"""Shared references and tolerances for the imfilt test suite."""

import os

import numpy as np
import pytest
from scipy import signal

from imfilt import _threads
from imfilt._modes import NUMPY_PAD_MODE, canonical_boundary

#: Relative accuracy per compute dtype: results may differ from a float64
#: reference by rounding of a ``kernel.size``-term sum.
EPS = {
    np.dtype(np.float32): np.finfo(np.float32).eps,
    np.dtype(np.float64): np.finfo(np.float64).eps,
    np.dtype(np.complex64): np.finfo(np.float32).eps,
    np.dtype(np.complex128): np.finfo(np.float64).eps,
}


#: The dtype imfilt computes (and returns) for each image dtype (the dtype policy of imfilt._validation.result_dtypes).
COMPUTE = {
    "float32": np.float32, "float64": np.float64, "complex64": np.complex64,
    "complex128": np.complex128, "uint8": np.float32, "int8": np.float32,
    "int16": np.float32, "uint16": np.float32, "bool": np.float32,
    "float16": np.float32, "int32": np.float64, "int64": np.float64,
    "uint32": np.float64, "uint64": np.float64,
}


def pads_for(mode, k, convolution_alignment):
    """Padding (before, after) of one axis for a mode (SciPy's 'same' centring)."""
    if mode == "full":
        return (k - 1, k - 1)
    if mode == "valid":
        return (0, 0)
    before = k // 2 if convolution_alignment else (k - 1) // 2
    return (before, k - 1 - before)


def numpy_pad_reference(x, w, mode, boundary, fillvalue, convolve, align=None):
    """The definition: np.pad with the pads of ``pads_for``, then 'valid'.

    ``x`` and ``w`` are 2-D float64/complex128; 1-D inputs are passed as one
    row with ``convolution alignment`` on that row (1-D correlate follows
    scipy.signal.correlate).
    """
    boundary = canonical_boundary(boundary)
    conv_align = convolve if align is None else align
    pads = [pads_for(mode, k, conv_align) for k in w.shape]
    kw = {"constant_values": fillvalue} if boundary == "fill" else {}
    xp = np.pad(x, pads, mode=NUMPY_PAD_MODE[boundary], **kw)
    fn = signal.convolve2d if convolve else signal.correlate2d
    return fn(xp, w, "valid")


def tolerance(x, w, mode, boundary, fillvalue, convolve, compute_dtype, align=None):
    """Error bound: a few ulps of |x| (*) |w| per term of the sum."""
    ax = np.abs(x).astype(np.float64)
    aw = np.abs(w).astype(np.float64)
    fill = abs(complex(fillvalue))
    bound = np.abs(numpy_pad_reference(ax, aw, mode, boundary, fill, convolve, align))
    eps = EPS[np.dtype(compute_dtype)]
    return 4 * (w.size + 2) * eps * bound + np.finfo(np.float64).tiny


def assert_close_to_reference(got, ref, atol):
    """Finite entries within ``atol``; non-finite entries must match exactly."""
    got = np.asarray(got)
    ref = np.asarray(ref)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    g = got.astype(np.complex128 if got.dtype.kind == "c" or ref.dtype.kind == "c" else np.float64)
    for part in ((lambda a: a.real, lambda a: a.imag) if g.dtype.kind == "c" else (lambda a: a,)):
        gp, rp = part(g), part(ref.astype(g.dtype))
        np.testing.assert_array_equal(np.isnan(gp), np.isnan(rp))
        np.testing.assert_array_equal(np.isposinf(gp), np.isposinf(rp))
        np.testing.assert_array_equal(np.isneginf(gp), np.isneginf(rp))
        finite = np.isfinite(rp)
        err = np.abs(gp[finite] - rp[finite])
        lim = np.broadcast_to(atol, gp.shape)[finite]
        assert np.all(err <= lim), f"max error {err.max()} exceeds tolerance (worst ratio {np.max(err / lim)})"


@pytest.fixture(autouse=True)
def _threads_even_for_small_inputs(monkeypatch):
    """Run every kernel threaded even on the suite's small inputs.

    Production skips threads below ``imfilt._threads.min_parallel_work()``
    work items; the thread-count contract (bit-identical results) must be
    exercised on small, odd sizes.
    """
    monkeypatch.setattr(_threads, "PARALLEL_MIN_WORK", 0)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


# ---------------------------------------------------------------------------
# Hypothesis profiles (tests/test_properties.py).  "fast" is the default and
# what CI runs: few examples, derandomized so every run draws the same cases.
# IMFILT_HYPOTHESIS=thorough draws thousands of random examples per function.

try:
    from hypothesis import HealthCheck, settings as _hsettings
except ImportError:  # hypothesis is a test extra; only the property tests need it
    _hsettings = None

if _hsettings is not None:
    _common = dict(deadline=None, database=None, print_blob=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.filter_too_much])
    _hsettings.register_profile("fast", max_examples=100, derandomize=True, **_common)
    _hsettings.register_profile("thorough", max_examples=3000, derandomize=False, **_common)
    _hsettings.load_profile(os.environ.get("IMFILT_HYPOTHESIS", "fast"))


# ---------------------------------------------------------------------------
# Opt-in slow tests: skipped unless the -m expression selects them (-m slow).


def pytest_collection_modifyitems(config, items):
    markexpr = config.getoption("markexpr", default="") or ""
    if "slow" in markexpr and "not slow" not in markexpr:
        return
    skip = pytest.mark.skip(reason="slow test: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
