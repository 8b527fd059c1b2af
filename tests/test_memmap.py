"""Memory-mapped input and out=: row bands, identical results, bounded resident memory."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import imfilt
import imfilt._banded as banded


@pytest.fixture
def small_bands(monkeypatch):
    monkeypatch.setattr(banded, "BAND_BYTES", 1 << 14)   # 16 KiB: many bands on a small file


def _memmap(path, array, mode="r"):
    m = np.lib.format.open_memmap(str(path), mode="w+", dtype=array.dtype, shape=array.shape)
    m[...] = array
    m.flush()
    del m
    return np.load(str(path), mmap_mode=mode)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm", "reflect", "edge"])
@pytest.mark.parametrize("flip", [True, False])
def test_banded_equals_in_memory(small_bands, tmp_path, mode, boundary, flip, rng):
    image = rng.standard_normal((200, 61)).astype(np.float32)
    x = _memmap(tmp_path / "x.npy", image)
    assert banded.wanted(x, np.ones((4, 5)), None, None)
    kernel = rng.standard_normal((4, 5))
    fn = imfilt.convolve if flip else imfilt.correlate
    ref = fn(image, kernel, mode, boundary, fillvalue=-1, method="direct")
    got = fn(x, kernel, mode, boundary, fillvalue=-1, method="direct")
    np.testing.assert_array_equal(got, ref)
    out = np.lib.format.open_memmap(str(tmp_path / "o.npy"), mode="w+", dtype=ref.dtype,
                                    shape=ref.shape)
    assert fn(x, kernel, mode, boundary, fillvalue=-1, method="direct", out=out) is out
    out.flush()
    np.testing.assert_array_equal(np.load(str(tmp_path / "o.npy")), ref)


def test_banded_stride_dilation_dtype_and_nan_policy(small_bands, tmp_path, rng):
    image = (rng.random((150, 40)) * 1000).astype(np.uint16)
    x = _memmap(tmp_path / "x.npy", image)
    kernel = rng.random((3, 4))
    for kw in ({"stride": 3, "dilation": 2}, {"dtype": np.uint8}, {"stride": (2, 1)}):
        np.testing.assert_array_equal(
            imfilt.correlate(x, kernel, "same", "wrap", method="direct", **kw),
            imfilt.correlate(image, kernel, "same", "wrap", method="direct", **kw))
    f = rng.standard_normal((150, 40))
    f[rng.random(f.shape) < 0.1] = np.nan
    xf = _memmap(tmp_path / "f.npy", f)
    np.testing.assert_array_equal(
        imfilt.convolve(xf, kernel, "same", "symm", method="direct", nan_policy="omit"),
        imfilt.convolve(f, kernel, "same", "symm", method="direct", nan_policy="omit"))
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        imfilt.convolve(xf, kernel, nan_policy="raise")


def test_plain_array_into_memmap_out(small_bands, tmp_path, rng):
    image = rng.standard_normal((120, 33))
    out = np.lib.format.open_memmap(str(tmp_path / "o.npy"), mode="w+", dtype=np.float64,
                                    shape=(120, 33))
    imfilt.convolve(image, np.ones((3, 3)), "same", out=out)
    np.testing.assert_array_equal(out, imfilt.convolve(image, np.ones((3, 3)), "same"))
    with pytest.raises(ValueError, match="out has shape"):
        imfilt.convolve(image, np.ones((3, 3)), "full", out=out)


@pytest.mark.parametrize("shape", [(1, 9000), (2, 5000), (3, 4097)])
def test_rows_longer_than_a_band(small_bands, tmp_path, shape, rng):
    # One row is larger than BAND_BYTES: a band of one row runs in memory
    # (it once recursed without end into bands of itself).
    image = rng.standard_normal(shape).astype(np.float32)
    kernel = rng.standard_normal((3, 3)).astype(np.float32)
    ref = imfilt.correlate(image, kernel, "same", "symm", method="direct")
    out = np.lib.format.open_memmap(str(tmp_path / "o.npy"), mode="w+", dtype=ref.dtype,
                                    shape=ref.shape)
    x = _memmap(tmp_path / "x.npy", image)
    assert imfilt.correlate(x, kernel, "same", "symm", method="direct", out=out) is out
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(imfilt.correlate(image, kernel, "same", "symm", out=out), ref)


def test_copy_on_write_memmap_is_left_alone(small_bands, tmp_path, rng):
    image = rng.standard_normal((100, 20))
    x = _memmap(tmp_path / "x.npy", image, mode="c")
    x[0, 0] = 42.0                                       # a private change in the mapping
    got = imfilt.convolve(x, np.ones((1, 1)), "same")
    assert got[0, 0] == 42.0 and x[0, 0] == 42.0         # pages were not dropped


PEAK_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np

    def hwm():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024

    import scipy.fft  # imfilt imports it on first use (method='auto' asks it for sizes)
    import imfilt, imfilt._banded as banded
    banded.BAND_BYTES = 8 << 20
    src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    x = np.memmap(src, dtype=np.float32, mode="r", shape=(n, n))
    out = np.lib.format.open_memmap(dst, mode="w+", dtype=np.float32, shape=(n, n))
    kernel = np.ones((5, 5), dtype=np.float32)
    before = hwm()
    imfilt.convolve(x, kernel, mode="same", boundary="wrap", out=out, workers=2)
    after = hwm()
    # spot check three rows against the definition (wrap: rolled sums)
    rows = {}
    for i in (0, n // 2, n - 1):
        idx = [(i + a) % n for a in range(-2, 3)]
        block = np.asarray(x[idx], dtype=np.float64)
        col = block.sum(axis=0)
        ref = sum(np.roll(col, s) for s in range(-2, 3))
        rows[i] = float(np.max(np.abs(out[i] - ref)))
    print(json.dumps({"before": before, "after": after, "err": max(rows.values())}))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_peak_resident_memory_stays_bounded(tmp_path):
    n = 6144                                              # 144 MiB in, 144 MiB out
    src = tmp_path / "big.f32"
    rng = np.random.default_rng(7)
    with open(src, "wb") as f:                            # write without mapping it here
        for r in range(0, n, 512):
            f.write(rng.random((min(512, n - r), n), dtype=np.float32).tobytes())
    res = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(src), str(tmp_path / "o.npy"),
                          str(n)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout.strip().splitlines()[-1])
    file_bytes = n * n * 4
    grew = info["after"] - info["before"]
    assert info["err"] < 1e-3
    # Peak grew by a few 8 MiB bands, far less than either file (or both).
    assert grew < 64 * 2**20, f"peak RSS grew by {grew / 2**20:.0f} MiB"
    assert grew < file_bytes / 2


def test_valid_with_a_kernel_larger_than_the_image(small_bands, tmp_path, rng):
    # the in-memory rules: roles swapped when the kernel is larger in every
    # axis, ValueError when neither fits inside the other (the bands gave
    # an empty array for both)
    x = rng.standard_normal((40, 50))
    mm = _memmap(tmp_path / "a.dat", x)
    big = rng.standard_normal((42, 53))
    np.testing.assert_array_equal(imfilt.convolve(mm, big, "valid", method="direct"),
                                  imfilt.convolve(x, big, "valid", method="direct"))
    for k in (np.ones((41, 1)), np.ones((41, 2))):
        with pytest.raises(ValueError, match="valid"):
            imfilt.correlate(mm, k, "valid")


def test_raise_names_a_nan_fillvalue(small_bands, tmp_path, rng):
    mm = _memmap(tmp_path / "a.dat", rng.standard_normal((40, 50)))
    with pytest.raises(ValueError, match="fillvalue=nan is not finite"):
        imfilt.convolve(mm, np.ones((3, 3)), "same", boundary="fill", fillvalue=np.nan,
                        nan_policy="raise")


def test_kernel_taller_than_a_band_makes_bands_of_its_height(small_bands, tmp_path, rng,
                                                          monkeypatch):
    # one-row bands re-read the kernel's height of rows for every output row
    # (32 s for a 2900-row kernel on 3000^2); bands of about its height do not
    x = rng.standard_normal((400, 30))
    mm = _memmap(tmp_path / "a.dat", x)
    k = rng.standard_normal((150, 1))
    calls = []
    real = banded.gather_patch
    monkeypatch.setattr(banded, "gather_patch", lambda *a: calls.append(1) or real(*a))
    got = imfilt.convolve(mm, k, "same", boundary="wrap", method="direct")
    np.testing.assert_array_equal(got, imfilt.convolve(x, k, "same", boundary="wrap",
                                                       method="direct"))
    assert len(calls) <= 400 // 150 + 1
