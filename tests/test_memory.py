"""Memory: repeated calls leave resident memory flat.

Each public function is called 10,000 times on small inputs after a warm-up;
the resident set size (``/proc/self/statm``) may not grow by more than 2 MiB.
A leak of a few hundred bytes per call (a lost reference to an array header,
an unreleased buffer, a traceback kept alive on the error path) shows up as
several MiB.  Allocator noise is handled by a warm-up that reaches the
steady state (caches, the OpenMP pool, glibc arenas of every thread) and by
taking the lowest of a few readings after ``gc.collect()`` and glibc's
``malloc_trim(0)`` (free heap pages do not count).
"""

import gc
import os

import numpy as np
import pytest

import imfilt

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"),
                                reason="needs /proc/self/statm (Linux)")

CALLS = 10_000
LIMIT = 2 * 2**20
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _malloc_trim():
    """glibc: hand free heap pages back to the OS, so RSS counts live memory only."""
    try:
        import ctypes
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda pad: 0


MALLOC_TRIM = _malloc_trim()


def settled_rss():
    gc.collect()
    MALLOC_TRIM(0)
    return min(rss() for _ in range(3))


RNG = np.random.default_rng(5)
X = RNG.standard_normal((16, 17)).astype(np.float32)
X64 = RNG.standard_normal((16, 17))
U8 = RNG.integers(0, 255, (16, 17), dtype=np.uint8)
K = RNG.standard_normal((3, 3))
N4 = RNG.standard_normal((1, 2, 8, 9)).astype(np.float32)
W4 = RNG.standard_normal((3, 2, 3, 3)).astype(np.float32)
WT = RNG.standard_normal((2, 3, 3, 3)).astype(np.float32)
POS = np.abs(N4)
POOLED, IDX = imfilt.max_pool2d(N4, 2, return_indices=True)
OUT = np.empty((16, 17), dtype=np.float32)


def _raises(call):
    def run():
        try:
            call()
        except (ValueError, TypeError):
            return
        raise AssertionError("expected an error")
    return run


def _in_set_workers():
    with imfilt.set_workers(1):
        return imfilt.get_workers()


#: name -> (call, number of calls).  Every call takes well under 1 ms except
#: canny (Gaussian, NMS and hysteresis: ~5 passes), which runs 3,000 times.
CASES = {
    "convolve": (lambda: imfilt.convolve(X, K, "same", "symm"), CALLS),
    "convolve-out": (lambda: imfilt.convolve(X, K, "same", out=OUT), CALLS),
    "convolve-fft": (lambda: imfilt.convolve(X64, K, "full", method="fft"), CALLS),
    "correlate-stride": (lambda: imfilt.correlate(U8, K, "valid", stride=2, dilation=2), CALLS),
    "convolve-complex": (lambda: imfilt.convolve(X64, K + 1j, "same"), CALLS),
    "sobel": (lambda: imfilt.sobel(X), CALLS),
    "scharr": (lambda: imfilt.scharr(U8, 0), CALLS),
    "prewitt": (lambda: imfilt.prewitt(X64, 1), CALLS),
    "roberts": (lambda: imfilt.roberts(X), CALLS),
    "laplace": (lambda: imfilt.laplace(U8, 8), CALLS),
    "gradient": (lambda: imfilt.gradient(X), CALLS),
    "canny": (lambda: imfilt.canny(X64, 1.0), 3_000),
    "conv2d": (lambda: imfilt.conv2d(N4, W4, padding=1), CALLS),
    "conv_transpose2d": (lambda: imfilt.conv_transpose2d(N4, WT, stride=2), CALLS),
    "max_pool2d": (lambda: imfilt.max_pool2d(N4, 2, return_indices=True), CALLS),
    "min_pool2d": (lambda: imfilt.min_pool2d(N4, 3, 2, 1), CALLS),
    "avg_pool2d": (lambda: imfilt.avg_pool2d(N4, 2, ceil_mode=True), CALLS),
    "stochastic_pool2d": (lambda: imfilt.stochastic_pool2d(POS, 2, rng=1), CALLS),
    "max_unpool2d": (lambda: imfilt.max_unpool2d(POOLED, IDX, 2, output_size=N4.shape), CALLS),
    "bilinear_kernel": (lambda: imfilt.bilinear_kernel(3), CALLS),
    "upsample": (lambda: imfilt.upsample(X, 2), CALLS),
    "pyramid_down": (lambda: imfilt.pyramid_down(X), CALLS),
    "pyramid_up": (lambda: imfilt.pyramid_up(X), CALLS),
    "set_workers": (lambda: _in_set_workers(), CALLS),
    # error paths: the exception and its traceback must not keep anything alive
    "convolve-error": (_raises(lambda: imfilt.convolve(X, K, boundary="mirror")), CALLS),
    "conv2d-error": (_raises(lambda: imfilt.conv2d(N4, W4, groups=3)), CALLS),
    "max_pool2d-error": (_raises(lambda: imfilt.max_pool2d(N4, 100)), CALLS),
}


def _check_flat(name, scale):
    call, n = CASES[name]
    n = max(400, int(n * scale))
    for _ in range(min(n, 500)):        # warm-up: reach the steady state
        call()
    base = settled_rss()
    growth = []
    for _ in range(4):                  # four chunks: a leak grows every time
        for _ in range(n // 4):
            call()
        growth.append(settled_rss() - base)
    assert growth[-1] <= LIMIT, (
        f"{name}: resident memory grew by {growth[-1] / 2**20:.2f} MiB over {n} calls "
        f"(per chunk: {[round(g / 2**20, 2) for g in growth]} MiB)")


@pytest.mark.parametrize("name", list(CASES))
def test_repeated_calls_leave_rss_flat(name):
    """Default run: a fifth of the calls (2,000; 600 for canny), about 10 s in all.

    Small calls cost 0.1-0.5 ms each, mostly Python-side validation, so the
    full 10,000 calls of every function take about a minute: that is the
    opt-in ``-m slow`` test below, which CI runs.  2,000 calls still catch a
    leak of 1 KiB per call.
    """
    _check_flat(name, 0.2)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_ten_thousand_calls_leave_rss_flat(name):
    """10,000 calls per function (3,000 for canny): run with ``-m slow``."""
    _check_flat(name, 1.0)


def test_the_measurement_sees_a_leak():
    """The method is sensitive: keeping 300 bytes per call alive is caught."""
    kept = []
    base = settled_rss()
    for _ in range(CALLS):
        kept.append(np.ones(300 // 8))   # ~300 bytes of data + the array header
    grown = settled_rss() - base
    assert grown > LIMIT, grown
    del kept
