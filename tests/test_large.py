"""64-bit sizes: images of more than 2**31 elements (opt-in: ``-m slow``).

Offsets such as ``row * n1`` pass 2**31 here, so any 32-bit index in a
kernel gives wrong values (or a crash) at the far end of the image.  Needs
about 10 GiB of free memory; skipped otherwise.
"""

import numpy as np
import pytest

import imfilt

pytestmark = pytest.mark.slow

GiB = 2**30


def available_bytes():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def patterned(shape, dtype):
    """``x[i, j] = (i * n1 + j) % 251`` filled in blocks (no 2**31-element temporaries)."""
    x = np.empty(shape, dtype=dtype)
    n0, n1 = shape
    step = max(1, 2**24 // n1)
    for r in range(0, n0, step):
        rows = np.arange(r, min(n0, r + step), dtype=np.int64)
        x[r:r + len(rows)] = ((rows[:, None] * n1 + np.arange(n1)) % 251).astype(dtype)
    return x


def expected_rows(x, rows, w):
    """Correlation of a column kernel at the given output rows, in float64."""
    x64 = [x[r:r + len(w)].astype(np.float64) for r in rows]
    return np.stack([(xr * np.asarray(w, np.float64)[:, None]).sum(axis=0) for xr in x64])


def test_correlate_beyond_2_31_elements():
    # (2**21 + 3) x 1024 float32: 2**31 + 3072 elements, 8 GiB.  A 3x1 kernel in
    # 'valid' mode with row stride 4096 keeps the output small and still reads
    # the last rows (offset (2**21 + 2) * 1024 > 2**31).
    shape = (2**21 + 3, 1024)
    need = shape[0] * shape[1] * 4 + 2 * GiB + shape[0] * shape[1]  # + isfinite scan
    if available_bytes() < need + GiB:
        pytest.skip(f"needs about {need / GiB:.0f} GiB of free memory")
    x = patterned(shape, np.float32)
    assert x.size > 2**31
    w = [[1.0], [2.0], [3.0]]
    out = imfilt.correlate(x, w, "valid", stride=(4096, 1))
    rows = list(range(0, shape[0] - 2, 4096))
    assert out.shape == (len(rows), shape[1])
    assert rows[-1] == shape[0] - 3                   # the very last valid row
    for pick in (slice(0, 2), slice(-3, None)):
        np.testing.assert_array_equal(out[pick], expected_rows(x, rows[pick], [1, 2, 3]))
    # The same far rows through convolve (kernel flipped) and a 1x3 kernel.
    tail = imfilt.convolve(x, w, "valid", stride=(4096, 1))[-1]
    np.testing.assert_array_equal(tail, expected_rows(x, rows[-1:], [3, 2, 1])[0])
    right = imfilt.correlate(x, [[1.0, -1.0, 2.0]], "valid", stride=(4096, 1))[-1]
    xr = x[rows[-1]].astype(np.float64)
    np.testing.assert_array_equal(right, xr[:-2] - xr[1:-1] + 2 * xr[2:])


def test_max_pool_and_sobel_rows_beyond_2_31_elements():
    shape = (2**21 + 3, 1024)
    need = shape[0] * shape[1] * 4 * 2 + GiB
    if available_bytes() < need + GiB:
        pytest.skip(f"needs about {need / GiB:.0f} GiB of free memory")
    x = patterned(shape, np.float32)
    # Max pooling with a tall stride: one window per 2**20 rows, the last one at the end.
    pooled, idx = imfilt.max_pool2d(x, (3, 1), stride=(2**20, 1), return_indices=True)
    last = pooled.shape[0] - 1
    r0 = last * 2**20
    np.testing.assert_array_equal(pooled[last], x[r0:r0 + 3].max(axis=0))
    assert idx.dtype == np.int64 and int(idx[last].max()) > 2**31
    del pooled, idx
    # Sobel writes a full-size output: its last rows must equal a small copy's.
    g = imfilt.sobel(x, 0)
    small = imfilt.sobel(np.ascontiguousarray(x[-8:]), 0)
    np.testing.assert_array_equal(g[-7:-1], small[-7:-1])
