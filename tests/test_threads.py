"""Thread-count contract, set_workers, OpenMP presence and show_config."""

import concurrent.futures
import io
import os
import threading
import time

import numpy as np
import pytest

import imfilt
from imfilt import _threads
from imfilt._modes import BOUNDARIES


def test_built_with_openmp():
    """Fails when the build came out serial (the scikit-image regret)."""
    if os.environ.get("IMFILT_ALLOW_SERIAL_BUILD") == "1":
        pytest.skip("serial build explicitly allowed by IMFILT_ALLOW_SERIAL_BUILD=1")
    from imfilt._kernels import _build
    assert _build.openmp_compiled(), "imfilt was built without OpenMP: every kernel is serial"
    assert imfilt.openmp_enabled()
    assert "-fopenmp" in _build.build_flags() or "/openmp" in _build.build_flags()


@pytest.mark.parametrize("func", [imfilt.convolve, imfilt.correlate])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64])
def test_bit_identical_for_any_thread_count(func, dtype):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((97, 101)).astype(dtype)
    w = rng.standard_normal((5, 4)).astype(dtype)
    for mode in ("full", "same", "valid"):
        for boundary in BOUNDARIES:
            ref = func(x, w, mode, boundary, workers=1)
            for n in (2, 3, 7, 64, 500):
                got = func(x, w, mode, boundary, workers=n)
                assert got.tobytes() == ref.tobytes(), (mode, boundary, n)


def test_workers_negative_counts_back():
    cores = _threads.available_cores()
    assert _threads.resolve_workers(-1) == cores
    if cores > 1:
        assert _threads.resolve_workers(-2) == cores - 1


def test_workers_none_respects_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3,2")
    assert _threads.resolve_workers(None) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "garbage")
    assert _threads.resolve_workers(None) == _threads.available_cores()
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert _threads.resolve_workers(None) == _threads.available_cores()


def test_available_cores_respects_affinity():
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    assert _threads.available_cores() <= len(os.sched_getaffinity(0))


def test_set_workers_nests_and_restores():
    base = imfilt.get_workers()
    with imfilt.set_workers(1):
        assert imfilt.get_workers() == 1
        with imfilt.set_workers(3):
            assert imfilt.get_workers() == 3
        assert imfilt.get_workers() == 1
    assert imfilt.get_workers() == base


def test_set_workers_is_thread_local():
    seen = {}
    inside = threading.Event()
    release = threading.Event()

    def other():
        inside.wait()
        seen["other"] = imfilt.get_workers()
        release.set()

    t = threading.Thread(target=other)
    t.start()
    with imfilt.set_workers(5):
        inside.set()
        release.wait(10)
        seen["main"] = imfilt.get_workers()
    t.join()
    assert seen["main"] == 5
    assert seen["other"] != 5 or _threads.available_cores() == 5


@pytest.mark.parametrize("bad", [0, 2.0, "4", True])
def test_set_workers_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="workers="):
        with imfilt.set_workers(bad):
            pass


@pytest.mark.parametrize("bad, error", [(0, ValueError), (1.5, TypeError), ("2", TypeError),
                                        (-10 ** 6, ValueError)])
def test_set_workers_checks_its_value_when_called(bad, error):
    # before any 'with': a bad value is reported where it is written
    with pytest.raises(error, match="workers"):
        imfilt.set_workers(bad)


def test_set_workers_none_restores_the_default_inside_a_block():
    default = imfilt.get_workers()
    with imfilt.set_workers(1):
        with imfilt.set_workers(None):
            assert imfilt.get_workers() == default
        assert imfilt.get_workers() == 1


def test_set_workers_outside_a_with_block_warns_and_changes_nothing():
    default = imfilt.get_workers()
    with pytest.warns(RuntimeWarning, match="outside a 'with' block"):
        imfilt.set_workers(1)
    assert imfilt.get_workers() == default


def test_set_workers_manager_can_be_reused_one_block_at_a_time():
    block = imfilt.set_workers(1)
    with block:
        assert imfilt.get_workers() == 1
        with pytest.raises(RuntimeError, match="already in use"):
            with block:
                pass
        assert imfilt.get_workers() == 1
    with block:
        assert imfilt.get_workers() == 1


def test_set_workers_changes_nothing_in_results():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 80)).astype(np.float32)
    w = rng.standard_normal((3, 3)).astype(np.float32)
    with imfilt.set_workers(1):
        a = imfilt.convolve(x, w, "same")
    with imfilt.set_workers(2):
        b = imfilt.convolve(x, w, "same")
    assert a.tobytes() == b.tobytes()


def test_gil_released_during_kernel():
    """A Python thread keeps running while a long kernel call is under way."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1536, 1536))
    w = rng.standard_normal((31, 31))
    done = threading.Event()
    ticks = []

    def work():
        # direct, one thread: about 2e9 multiply-adds, a few hundred ms
        imfilt.convolve(x, w, "same", workers=1, method="direct")
        done.set()

    t = threading.Thread(target=work)
    start = time.perf_counter()
    t.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    t.join()
    elapsed = time.perf_counter() - start
    if elapsed < 0.05:
        pytest.skip("kernel finished too quickly to observe")
    # With the GIL held for the whole call this loop could not run at all.
    assert len(ticks) >= 10


def test_concurrent_python_threads_give_serial_results():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((200, 150)).astype(np.float32)
    x.setflags(write=False)
    kernels = [rng.standard_normal((k, k)).astype(np.float32) for k in (3, 4, 5, 6)]
    expected = [imfilt.convolve(x, k, "same", "symm", workers=1) for k in kernels]
    results = [None] * 16

    def run(i):
        results[i] = imfilt.convolve(x, kernels[i % 4], "same", "symm", workers=2)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, r in enumerate(results):
        assert r.tobytes() == expected[i % 4].tobytes()


def test_show_config_reports_build_and_threads():
    buf = io.StringIO()
    imfilt.show_config(file=buf)
    text = buf.getvalue()
    assert f"imfilt {imfilt.__version__}" in text
    assert "OpenMP:" in text
    assert "threads: default" in text
    assert "build flags:" in text


def test_every_kernel_module_reports_openmp():
    import importlib
    import pkgutil

    import imfilt._kernels as kernels
    names = [m.name for m in pkgutil.iter_modules(kernels.__path__)]
    assert "_conv" in names
    for name in names:
        mod = importlib.import_module(f"imfilt._kernels.{name}")
        assert hasattr(mod, "_openmp_compiled") or hasattr(mod, "openmp_compiled"), name


def test_workers_capped_at_four_per_core():
    cap = _threads.MAX_WORKERS_PER_CORE * _threads.available_cores()
    assert _threads.resolve_workers(10**6) == cap
    assert _threads.resolve_workers(1) == 1


def test_short_openmp_spin_is_set_only_while_libgomp_loads():
    # imfilt asks libgomp for a short idle spin when the user has not chosen
    # one, and leaves the process environment as it found it.
    import subprocess
    import sys

    code = ("import os, io, imfilt, imfilt._kernels as k; buf = io.StringIO(); "
            "imfilt.show_config(file=buf); "
            "print(k.SPIN_SET_BY_IMFILT, os.environ.get('GOMP_SPINCOUNT'), "
            "'GOMP_SPINCOUNT=20000' in buf.getvalue())")
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    from imfilt._kernels import _build

    gnu = str(_build.compiler().startswith("GCC"))      # Clang builds use libomp
    assert out == [gnu, "None", gnu]
    for key, value in (("GOMP_SPINCOUNT", "300000"), ("OMP_WAIT_POLICY", "passive")):
        out = subprocess.run([sys.executable, "-c", code], env=dict(env, **{key: value}),
                             capture_output=True, text=True, check=True).stdout.split()
        assert out[0] == "False" and out[2] == "False"
        assert out[1] == (value if key == "GOMP_SPINCOUNT" else "None")


def test_available_cores_sees_a_new_affinity_within_the_refresh(monkeypatch):
    """The affinity is cached for AFFINITY_REFRESH_SECONDS, then read again."""
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    calls = []

    def one_core(pid):
        calls.append(pid)
        return {0}
    monkeypatch.setattr(_threads.os, "sched_getaffinity", one_core)
    monkeypatch.setitem(_threads._affinity, "at", -float("inf"))
    assert _threads.available_cores() == 1
    assert _threads.available_cores() == 1
    assert len(calls) == 1                    # cached
    monkeypatch.setitem(_threads._affinity, "at",
                        _threads._affinity["at"] - _threads.AFFINITY_REFRESH_SECONDS)
    _threads.available_cores()
    assert len(calls) == 2                    # read again once stale
    monkeypatch.undo()
    _threads._affinity["at"] = -float("inf")
    assert _threads.available_cores() <= len(os.sched_getaffinity(0))


@pytest.mark.parametrize("nthreads", [1, 2, 3, 8])
def test_share_items_finishes_the_first_items_before_any_other(nthreads):
    """``first`` prerequisite items (the FFT method's kernel spectrum) all
    finish before any later item starts, on any thread count."""
    lock = threading.Lock()
    done, seen = [], []

    def work(item, slot):
        if item < 5:
            time.sleep(0.002 * (5 - item))   # later prerequisites finish first
            with lock:
                done.append(item)
        else:
            with lock:
                seen.append((item, len(done)))

    _threads.share_items(20, work, nthreads, first=5)
    assert sorted(done) == list(range(5))
    assert sorted(item for item, _ in seen) == list(range(5, 20))
    assert all(count == 5 for _, count in seen)


@pytest.mark.parametrize("nthreads", [1, 2, 4])
def test_share_items_failing_prerequisite_stops_every_thread(nthreads):
    """A prerequisite that raises stops the threads waiting for it (no hang)
    and its exception reaches the caller; no later item runs."""
    later = []

    def work(item, slot):
        if item == 1:
            time.sleep(0.01)
            raise ValueError("prerequisite failed")
        if item >= 3:
            later.append(item)

    with pytest.raises(ValueError, match="prerequisite failed"):
        _threads.share_items(10, work, nthreads, first=3)
    assert later == []


def test_share_items_does_its_items_alone_when_every_helper_is_busy(monkeypatch):
    """A call that finds every helper thread busy (other callers hold them)
    does its items on its own thread and returns, without waiting for a
    helper to come free."""
    busy = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="imfilt-helper")
    release = threading.Event()
    busy.submit(release.wait)
    monkeypatch.setitem(_threads._helpers, "pool", busy)
    try:
        slots = []
        _threads.share_items(12, lambda item, slot: slots.append(slot), 4, first=2)
        assert sorted(slots) == [0] * 12
    finally:
        release.set()
        busy.shutdown()


def test_share_items_from_many_threads_at_once():
    """Concurrent callers share the kept helper threads; each gets all of
    its own items, each exactly once."""
    def caller(index):
        seen = []
        lock = threading.Lock()

        def work(item, slot):
            time.sleep(0.0005)
            with lock:
                seen.append(item)
        _threads.share_items(40, work, 3, first=index % 3)
        return sorted(seen)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(caller, range(16)))
    assert all(result == list(range(40)) for result in results)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_share_items_in_a_forked_child():
    """fork copies no helper thread: a child starts helpers of its own."""
    _threads.share_items(8, lambda item, slot: None, 2)     # the parent's helpers exist
    pid = os.fork()
    if pid == 0:   # pragma: no cover - the child reports by its exit status
        try:
            seen = []
            _threads.share_items(30, lambda item, slot: seen.append(item), 2)
            os._exit(0 if sorted(seen) == list(range(30)) else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
