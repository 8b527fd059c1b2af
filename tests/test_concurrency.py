"""Concurrency: Python threads, thread-local settings and process pools.

- 16 Python threads calling different public functions at once on shared
  read-only inputs give bit-for-bit the results of serial calls;
- ``set_workers`` is local to each thread (and asyncio task);
- calls inside ``concurrent.futures.ProcessPoolExecutor`` work with the
  ``fork`` and ``spawn`` start methods, also after the parent process has
  already run parallel (OpenMP) kernels.
"""

import asyncio
import concurrent.futures as cf
import multiprocessing
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import imfilt

TIMEOUT = 120
REPO = os.path.dirname(os.path.dirname(os.path.abspath(imfilt.__file__)))


def _shared_inputs():
    rng = np.random.default_rng(2024)
    x32 = rng.standard_normal((97, 101)).astype(np.float32)
    x64 = rng.standard_normal((64, 75))
    u8 = rng.integers(0, 256, size=(80, 90), dtype=np.uint8)
    stack = rng.standard_normal((3, 40, 45))
    sig = rng.standard_normal(500)
    k5 = rng.standard_normal((5, 5))
    k4 = rng.standard_normal((4, 6)).astype(np.float32)
    gauss = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0
    for a in (x32, x64, u8, stack, sig, k5, k4, gauss):
        a.setflags(write=False)
    return x32, x64, u8, stack, sig, k5, k4, gauss


X32, X64, U8, STACK, SIG, K5, K4, GAUSS = _shared_inputs()

NCHW = np.ascontiguousarray(np.random.default_rng(9).standard_normal((2, 3, 33, 35)),
                            dtype=np.float32)
W4 = np.random.default_rng(10).standard_normal((4, 3, 3, 3)).astype(np.float32)
WT = np.random.default_rng(11).standard_normal((3, 2, 4, 4)).astype(np.float32)
XNAN = X64.copy()
XNAN[::7, ::5] = np.nan
for _a in (NCHW, W4, WT, XNAN):
    _a.setflags(write=False)

#: 16 different calls (different functions, methods, dtypes, workers).
CALLS = {
    "convolve-direct-f32": lambda: imfilt.convolve(X32, K4, "same", "symm", method="direct"),
    "convolve-fft": lambda: imfilt.convolve(X64, K5, "same", "reflect", method="fft"),
    "convolve-separable": lambda: imfilt.convolve(X32, GAUSS, "same", "edge",
                                                  method="separable"),
    "correlate-stack-stride": lambda: imfilt.correlate(STACK, K5, "same", "symm", axes=(1, 2),
                                                       stride=2, dilation=(1, 2)),
    "convolve-nan-omit": lambda: imfilt.convolve(XNAN, K5, "same", nan_policy="omit"),
    "convolve-1d-uint8": lambda: imfilt.convolve(U8[0], K5[0], "full", workers=1),
    "sobel": lambda: imfilt.sobel(X32),
    "roberts": lambda: imfilt.roberts(X64),
    "laplace-8": lambda: imfilt.laplace(U8, 8),
    "gradient": lambda: imfilt.gradient(X32, "scharr"),
    "canny": lambda: imfilt.canny(U8, 1.5),
    "conv2d": lambda: imfilt.conv2d(NCHW, W4, None, 1, "same", workers=2),
    "conv_transpose2d": lambda: imfilt.conv_transpose2d(NCHW, WT, stride=2, padding=1),
    "max_pool2d": lambda: imfilt.max_pool2d(NCHW, 3, 2, 1, return_indices=True),
    "stochastic_pool2d": lambda: imfilt.stochastic_pool2d(np.abs(NCHW), 2, rng=3),
    "upsample-pyramid": lambda: imfilt.pyramid_down(imfilt.upsample(X32, 3)),
}


def _as_bytes(result):
    if isinstance(result, tuple):
        return tuple(r.tobytes() for r in result)
    return result.tobytes()


def test_sixteen_threads_match_serial_calls():
    expected = {name: _as_bytes(call()) for name, call in CALLS.items()}
    names = list(CALLS)
    assert len(names) == 16
    barrier = threading.Barrier(16)
    results, errors = {}, []

    def worker(name):
        try:
            barrier.wait(timeout=TIMEOUT)
            for _ in range(20):           # repeat so the calls really overlap
                got = _as_bytes(CALLS[name]())
                if got != expected[name]:
                    results[name] = "different"
                    return
            results[name] = "same"
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append((name, repr(exc)))

    threads = [threading.Thread(target=worker, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    assert results == {n: "same" for n in names}


def test_shared_inputs_stay_unmodified_and_read_only():
    shared = (X32, X64, U8, STACK, SIG, K5, K4, GAUSS, NCHW, W4, WT, XNAN)
    before = [a.copy() for a in shared]
    with cf.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda c: c(), list(CALLS.values()) * 2))
    for a, b in zip(shared, before):
        assert not a.flags.writeable
        np.testing.assert_array_equal(a, b)


def test_set_workers_is_thread_local_under_contention():
    """16 threads, each inside its own set_workers block, interleaved by barriers."""
    barrier = threading.Barrier(16)
    seen, errors = {}, []
    base = imfilt.get_workers()

    def worker(i):
        try:
            want = 1 + i % 4
            with imfilt.set_workers(want):
                barrier.wait(TIMEOUT)        # everybody is inside a block now
                a = imfilt.get_workers()
                # a call inside the block uses the setting and still computes right
                r = imfilt.convolve(X32, K4, "same", "symm", method="direct")
                barrier.wait(TIMEOUT)
                b = imfilt.get_workers()
            barrier.wait(TIMEOUT)            # everybody has left
            seen[i] = (want, a, b, imfilt.get_workers(), r.tobytes())
        except BaseException as exc:  # noqa: BLE001
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    with imfilt.set_workers(3):              # the main thread's block is not inherited
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
        assert imfilt.get_workers() == 3
    assert not errors, errors
    ref = imfilt.convolve(X32, K4, "same", "symm", method="direct").tobytes()
    for i, (want, a, b, after, r) in seen.items():
        assert a == want and b == want, (i, want, a, b)
        assert after == base, (i, after, base)
        assert r == ref
    assert len(seen) == 16


def test_set_workers_is_local_to_asyncio_tasks():
    async def task(n, log):
        with imfilt.set_workers(n):
            for _ in range(5):
                await asyncio.sleep(0)        # let the other tasks run in between
                log.append((n, imfilt.get_workers()))

    async def main():
        log = []
        await asyncio.gather(*(task(n, log) for n in (1, 2, 3)))
        return log

    log = asyncio.run(main())
    assert len(log) == 15
    assert all(n == got for n, got in log)


POOL_SCRIPT = r"""
import concurrent.futures as cf, functools, multiprocessing, sys
import numpy as np
import imfilt

def jobs():
    rng = np.random.default_rng(7)
    k5 = rng.standard_normal((5, 5))
    out = []
    for i in range(4):
        x = rng.standard_normal((200 + i, 170)).astype(np.float32)
        out.append(functools.partial(imfilt.convolve, x, k5, "same", "symm", workers=2,
                                     method="direct"))
        out.append(functools.partial(imfilt.sobel, x, workers=2))
        out.append(functools.partial(imfilt.canny, x, 1.0, workers=2))
    return out

def workers_inside(n):
    with imfilt.set_workers(n):
        imfilt.convolve(np.ones((300, 300)), np.ones((3, 3)), "same")
        return imfilt.get_workers()

def call(job):
    return job()

if __name__ == "__main__":
    method = sys.argv[1]
    # Start the OpenMP thread pool in the parent first: the case that used to
    # hang forked children (GNU OpenMP is not fork-safe).
    x = np.ones((512, 512), dtype=np.float32)
    imfilt.convolve(x, np.ones((5, 5)), "same", workers=2, method="direct")
    imfilt.sobel(x, workers=2)
    js = jobs()
    expected = [j().tobytes() for j in js]
    ctx = multiprocessing.get_context(method)
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        got = [f.result().tobytes() for f in [pool.submit(call, j) for j in js]]
        inside = pool.submit(workers_inside, 1).result()
    assert got == expected, "results differ from the parent's"
    assert inside == 1
    print("OK", len(got))
"""


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_process_pool_executor(method, tmp_path):
    """Pool workers give the parent's results, also after the parent ran OpenMP.

    Runs in its own interpreter with a timeout, so a hung worker fails the
    test instead of blocking the suite (that is how the fork hang showed up).
    """
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"start method {method!r} not available on {sys.platform}")
    script = tmp_path / "pool_job.py"
    script.write_text(POOL_SCRIPT)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        proc = subprocess.run([sys.executable, str(script), method], capture_output=True,
                              text=True, timeout=TIMEOUT, env=env, cwd=str(tmp_path))
    except subprocess.TimeoutExpired:
        pytest.fail(f"ProcessPoolExecutor with {method!r} hung for {TIMEOUT} s")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("OK 12")


def test_regression_forked_child_after_parallel_kernels_does_not_hang():
    """Found by test_process_pool_executor[fork]: after the parent had run a
    parallel kernel, the first parallel kernel in a forked child waited forever
    for libgomp's thread pool.  Such a child now runs kernels on one thread.
    """
    if not hasattr(os, "fork"):
        pytest.skip("no os.fork on this platform")
    imfilt.convolve(np.ones((512, 512), np.float32), np.ones((5, 5)), "same", workers=2,
                    method="direct")
    x = np.arange(300 * 301, dtype=np.float64).reshape(300, 301) % 13
    expected = imfilt.convolve(x, K5, "same", "symm", workers=2, method="direct")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        try:
            import signal
            signal.alarm(60)
            from imfilt import _threads
            got = imfilt.convolve(x, K5, "same", "symm", workers=2, method="direct")
            ok = got.tobytes() == expected.tobytes() and _threads.forked_after_parallel() \
                and imfilt.get_workers() == 1
            os.write(w, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(w)
    deadline = time.monotonic() + TIMEOUT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("forked child hung in a parallel kernel")
        time.sleep(0.05)
    answer = os.read(r, 1)
    os.close(r)
    assert os.WIFEXITED(status), f"child died: status {status}"
    assert answer == b"1"


def test_show_config_documents_platforms_and_fork():
    import io
    buf = io.StringIO()
    imfilt.show_config(file=buf)
    text = buf.getvalue()
    assert "platforms:" in text and "serial kernels" in text
    assert "process pools:" in text and "'fork'" in text
