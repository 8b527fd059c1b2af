"""Large results reuse the memory of freed ones (imfilt._kernels._reuse).

A fresh 64 MiB array costs page faults on first touch, and the operating
system zeroes every page; the C library does not reliably keep freed
blocks for reuse, so imfilt keeps its own of ``MIN_BYTES`` (1 MiB) or more: at most ``SLOTS``
blocks and ``limit()`` bytes (``IMFILT_REUSE_MIB``, 256 MiB by default),
handed back only for an array of exactly the same number of bytes.
"""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import imfilt
from imfilt._kernels import _reuse

BIG = _reuse.MIN_BYTES  # bytes of the smallest array that is kept


def handler_name(a):
    return np.lib.get_handler_name(a) if hasattr(np.lib, "get_handler_name") else \
        np._core.multiarray.get_handler_name(a)


@pytest.fixture
def clean():
    _reuse.release()
    old = _reuse.set_limit(256 << 20)
    yield
    _reuse.set_limit(old)
    _reuse.release()


def test_small_arrays_come_from_numpy(clean):
    a = _reuse.empty((BIG // 4 - 1,), np.float32)
    assert handler_name(a) == handler_name(np.empty(3))
    b = _reuse.empty(7, "f8")
    assert b.shape == (7,) and b.dtype == np.float64


def test_a_freed_block_is_handed_back_for_the_same_size_only(clean):
    a = _reuse.empty((BIG // 4,), np.float32)
    assert handler_name(a) == "imfilt_reuse"
    assert a.flags.owndata and a.flags.writeable and a.flags.c_contiguous
    where = a.ctypes.data
    a[:] = 1.5
    del a
    assert _reuse.stats()[:2] == (1, BIG)
    hits = _reuse.stats()[2]
    # Another size does not take it ...
    b = _reuse.empty((BIG // 4 + 1,), np.float32)
    assert _reuse.stats()[2] == hits
    # ... the same number of bytes does, whatever the shape and dtype.
    c = _reuse.empty([2, BIG // 16], np.float64)
    assert c.ctypes.data == where and _reuse.stats()[2] == hits + 1
    assert c.shape == (2, BIG // 16) and c.dtype == np.float64
    c[:] = 2.0                               # writable, no stale view of it remains
    assert float(c[0, 0]) == 2.0
    del b, c


def test_at_most_slots_blocks_and_limit_bytes_are_kept(clean):
    arrays = [_reuse.empty((BIG + i,), np.uint8) for i in range(_reuse.SLOTS + 2)]
    for i in range(len(arrays)):             # freed in this order
        arrays[i] = None
    n, kept, _, _ = _reuse.stats()
    assert n == _reuse.SLOTS and kept == sum(BIG + i for i in range(2, _reuse.SLOTS + 2))
    # The oldest freed blocks went first: the newest are still kept.
    hits = _reuse.stats()[2]
    newest = _reuse.empty((BIG + _reuse.SLOTS + 1,), np.uint8)
    assert _reuse.stats()[0] == _reuse.SLOTS - 1 and _reuse.stats()[2] == hits + 1
    oldest = _reuse.empty((BIG,), np.uint8)
    assert _reuse.stats()[2] == hits + 1
    del newest, oldest
    _reuse.set_limit(BIG + 10)               # lowering the limit frees at once
    assert _reuse.stats()[1] <= BIG + 10
    _reuse.release()
    assert _reuse.stats()[:2] == (0, 0)


def test_limit_zero_turns_reuse_off(clean):
    _reuse.set_limit(0)
    a = _reuse.empty((BIG,), np.uint8)
    assert handler_name(a) == handler_name(np.empty(3))
    del a
    assert _reuse.stats()[:2] == (0, 0)


def test_resized_arrays_are_freed_with_their_new_size(clean):
    a = _reuse.empty((BIG,), np.uint8)
    a.resize((100,), refcheck=False)         # realloc to a small block
    a[:] = 7
    del a
    assert _reuse.stats()[:2] == (0, 0)       # a small block is never kept


def test_filters_return_reused_memory_with_correct_values(clean):
    rng = np.random.default_rng(0)
    x = rng.random((2048, 4096), dtype=np.float32)       # 32 MiB results
    first = imfilt.gaussian(x, 2.0)
    expected = first.copy()
    del first
    again = imfilt.gaussian(x, 2.0)          # written into the freed block
    assert handler_name(again) == "imfilt_reuse"
    np.testing.assert_array_equal(again, expected)
    box = imfilt.box(x, 5)                   # another filter on the same memory
    np.testing.assert_array_equal(box, imfilt.box(x.copy(), 5))


def test_threads_allocate_and_free_at_once(clean):
    errors = []

    def work(seed):
        try:
            for i in range(20):
                a = _reuse.empty((BIG + (seed + i) % 3,), np.uint8)
                a[:: 1 << 16] = seed
                assert int(a[0]) == seed
                del a
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _reuse.stats()[0] <= _reuse.SLOTS


@pytest.mark.parametrize("value, limit", [("0", 0), ("64", 64 << 20), ("0.5", 1 << 19),
                                           ("", 256 << 20)])
def test_limit_from_the_environment(value, limit):
    env = dict(os.environ, IMFILT_REUSE_MIB=value)
    code = "from imfilt._kernels import _reuse; print(_reuse.limit())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert int(out.stdout) == limit


@pytest.mark.parametrize("value", ["lots", "-1", "nan"])
def test_a_bad_environment_value_warns_and_keeps_the_default(value):
    env = dict(os.environ, IMFILT_REUSE_MIB=value)
    code = ("import warnings; warnings.simplefilter('always')\n"
            "from imfilt._kernels import _reuse; print(_reuse.limit())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert int(out.stdout) == 256 << 20
    assert "IMFILT_REUSE_MIB" in out.stderr and repr(value) in out.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_allocates_and_frees():
    code = ("import os, numpy as np\n"
            "from imfilt._kernels import _reuse\n"
            "a = _reuse.empty((_reuse.MIN_BYTES,), np.uint8); del a\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    b = _reuse.empty((_reuse.MIN_BYTES,), np.uint8); b[:] = 1; del b\n"
            "    os._exit(0 if _reuse.stats()[0] == 1 else 3)\n"
            "_, status = os.waitpid(pid, 0)\n"
            "print(os.waitstatus_to_exitcode(status))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "0"


def test_show_config_reports_the_limit():
    import io
    buf = io.StringIO()
    imfilt.show_config(file=buf)
    assert "memory reuse:" in buf.getvalue()
