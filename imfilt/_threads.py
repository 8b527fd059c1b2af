"""The one place that decides how many threads a kernel uses.

``workers=None`` means the default: the value set by the innermost
:func:`set_workers` block of the calling thread, else ``OMP_NUM_THREADS``
when set, else every core available to the process (CPU affinity and cgroup
CPU quota respected).  ``workers=-1`` means every available core, ``-2`` all
but one, and so on; ``workers=0`` is an error.  imfilt never calls
``omp_set_num_threads``: each kernel call states its own thread count.
"""

import concurrent.futures
import contextlib
import contextvars
import functools
import importlib
import itertools
import math
import os
import pkgutil
import platform
import sys
import threading
import time
import warnings

import numpy
import scipy

try:
    import threadpoolctl
except ImportError:  # a dependency; without it BLAS just keeps its own thread count
    threadpoolctl = None

import imfilt._kernels as _kernel_package
from imfilt import _kept
from imfilt._kernels import _build, _reuse
from imfilt._validation import ParameterTypeError, is_integer_like
from imfilt._version import __version__

__all__ = ["available_cores", "resolve_workers", "set_workers", "get_workers",
           "openmp_enabled", "show_config", "forked_after_parallel", "min_parallel_work",
           "PARALLEL_MIN_WORK", "ran_parallel", "SLICE_SECONDS", "interruptible_pieces",
           "interruptible_slices", "share_items", "blas_on_one_thread", "last_level_cache_bytes",
           "fft_backend_key"]

_default_workers = contextvars.ContextVar("imfilt_default_workers", default=None)


@functools.lru_cache(maxsize=1)
def _cgroup_cpu_limit():
    """CPU limit from a cgroup v2/v1 quota, or None when unlimited/unknown.

    Read once per process: the files cost tens of microseconds per read
    and a container's quota does not change while it runs.
    """
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as f:
            quota = int(f.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as f:
            period = int(f.read())
        if quota > 0 and period > 0:
            return max(1, math.ceil(quota / period))
    except (OSError, ValueError):
        pass
    return None


#: How long ``available_cores`` keeps the affinity it read, in seconds: the
#: system call costs microseconds on every filter call (tens of them in a
#: virtual machine after the process did other work), and a process's
#: affinity rarely changes; a change is seen within this time.
AFFINITY_REFRESH_SECONDS = 1.0
_affinity = {"cores": 0, "at": -float("inf")}


def available_cores():
    """Number of cores this process may run on (affinity and cgroup quota).

    The affinity is read again at most every ``AFFINITY_REFRESH_SECONDS``.
    """
    now = time.monotonic()
    if now - _affinity["at"] >= AFFINITY_REFRESH_SECONDS:
        try:
            n = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            n = os.cpu_count() or 1
        _affinity["cores"], _affinity["at"] = n, now
    n = _affinity["cores"]
    limit = _cgroup_cpu_limit()
    if limit is not None:
        n = min(n, limit)
    return max(1, n)


@functools.lru_cache(maxsize=1)
def _physical_memory():
    """This machine's memory in bytes (read once: it does not change)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 2 ** 48


#: Assumed last-level cache size where the system does not say (Linux
#: reports it under /sys; other systems keep this value).
DEFAULT_LAST_LEVEL_CACHE = 32 * 2**20


@functools.lru_cache(maxsize=1)
def last_level_cache_bytes():
    """Size of the largest CPU cache in bytes (read once).

    Kernels write outputs at least this large with streaming stores (see
    ``_kernels/_stream.h``): their next reader fetches them from memory
    anyway, and a streaming store saves the read of each output line.
    """
    sizes = []
    root = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for entry in os.listdir(root):
            if entry.startswith("index"):
                with open(os.path.join(root, entry, "size")) as f:
                    text = f.read().strip()
                scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:].upper(), 1)
                sizes.append(int(text.rstrip("KkMmGg")) * scale)
    except (OSError, ValueError):
        sizes = []
    return max(sizes) if sizes else DEFAULT_LAST_LEVEL_CACHE


def check_fits_in_memory(name, value, what, shape, itemsize, *, given=None):
    """``ValueError`` naming ``name=value`` when an array of ``shape`` and
    ``itemsize`` (the ``what`` a parameter asks for) exceeds this machine's
    memory: refused at once rather than after minutes of swapping.
    ``given`` replaces ``name=value`` in the message (for an array)."""
    nbytes = math.prod(int(n) for n in shape) * int(itemsize)
    memory = _physical_memory()
    if nbytes > memory:
        raise ValueError(
            f"{given or f'{name}={value!r}'} asks for {what} of shape "
            f"{tuple(int(n) for n in shape)} "
            f"({nbytes / 2 ** 30:.3g} GiB), more than this machine's memory "
            f"({memory / 2 ** 30:.3g} GiB); use a smaller {name}")


def _omp_num_threads():
    """The first level of ``OMP_NUM_THREADS`` as a positive int, or None."""
    value = os.environ.get("OMP_NUM_THREADS")
    if not value:     # unset: the common case, without raising and catching
        return None
    value = value.split(",")[0].strip()
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n > 0 else None


def _check_workers(workers, param="workers"):
    if not is_integer_like(workers):
        raise ParameterTypeError(
            f"{param}={workers!r} is not valid; use None (the default), a positive "
            "number of threads, or a negative number to count back from all cores "
            "(-1 = all cores)"
        )
    workers = int(workers)
    if workers == 0:
        raise ValueError(
            f"{param}=0 is not valid; use None (the default), a positive number of "
            "threads, or a negative number to count back from all cores (-1 = all cores)"
        )
    return workers


# GNU OpenMP (libgomp) cannot run a parallel region in a child forked from a
# process that has already run one: the child waits forever for the parent's
# thread pool, which fork did not copy.  So a forked child of a process in
# which a kernel really ran a parallel region runs every kernel on one thread
# (results are identical for any thread count); spawn/forkserver children,
# and children of a process that only *asked* for threads, are unaffected.
_fork_state = {"parallel_used": False, "forked_after_parallel": False}

#: Below this many work items (tap-outputs, outputs or samples, as each
#: kernel counts them) a kernel runs on one thread: waking a second thread
#: costs more than about 100 us of single-thread work.  Every kernel
#: receives the value of ``min_parallel_work()`` as an argument; the test
#: suite sets it to 0 so that small inputs exercise the threaded paths.
PARALLEL_MIN_WORK = 1 << 21


def min_parallel_work():
    """The minimum work (items) for which a kernel starts a parallel region."""
    return PARALLEL_MIN_WORK


#: Largest thread count a kernel reported since the last ``ran_parallel(reset=True)``
#: (tests use it to prove a kernel really ran threaded).
_last_threads = {"max": 0}


def ran_parallel(nthreads=None, *, reset=False):
    """Record that a kernel ran with ``nthreads`` threads; return the largest seen.

    Kernel wrappers call it with the count the kernel reports (the number of
    threads of its parallel region, 1 when it ran serially).  A count above
    one sets the fork guard.  ``reset=True`` clears the record (tests).
    """
    if reset:
        _last_threads["max"] = 0
    if nthreads is not None:
        nthreads = int(nthreads)
        if nthreads > 1:
            _fork_state["parallel_used"] = True
        _last_threads["max"] = max(_last_threads["max"], nthreads)
    return _last_threads["max"]


def _after_fork_in_child():
    _affinity["at"] = -float("inf")      # a child may be pinned elsewhere
    # fork copies no thread: the child starts a pool of its own when needed
    _helpers["pool"] = None
    _helpers["lock"] = threading.Lock()
    if _fork_state["parallel_used"]:
        _fork_state["forked_after_parallel"] = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def forked_after_parallel():
    """True in a forked child whose parent ran parallel kernels (kernels run serially)."""
    return _fork_state["forked_after_parallel"]


#: Thread counts above this multiple of the available cores are capped: more
#: threads than that only add scheduling cost, and a failure to create
#: thousands of OpenMP threads would abort the process.
MAX_WORKERS_PER_CORE = 4


def resolve_workers(workers=None):
    """Turn a ``workers`` argument into a positive thread count (no side effects).

    ``None`` is the default (``set_workers``, else ``OMP_NUM_THREADS``, else
    all available cores); negative counts count back from all cores.
    Counts above ``MAX_WORKERS_PER_CORE`` times the available cores are
    capped there (results do not depend on the thread count).  In a child
    forked from a process that already ran parallel kernels the count is 1
    (see ``forked_after_parallel``); invalid values still raise.
    """
    cores = available_cores()
    n = min(_resolve_workers(workers, cores), MAX_WORKERS_PER_CORE * cores)
    if n > 1 and _fork_state["forked_after_parallel"]:
        return 1
    return n


def _resolve_workers(workers, cores):
    if workers is None:
        workers = _default_workers.get()
        if workers is None:
            return _omp_num_threads() or cores
    workers = _check_workers(workers)
    if workers < 0:
        n = cores + 1 + workers
        if n < 1:
            raise ValueError(
                f"workers={workers} asks for fewer than one thread on a machine with "
                f"{cores} available cores; use -1 .. -{cores}"
            )
        return n
    return workers


def get_workers():
    """The thread count a call with ``workers=None`` uses right now.

    Returns
    -------
    int
        A positive thread count.

    Examples
    --------
    >>> import imfilt
    >>> with imfilt.set_workers(1):
    ...     imfilt.get_workers()
    1
    """
    return resolve_workers(None)


def set_workers(workers):
    """Context manager: the default ``workers`` for calls inside the block.

    The setting is local to the calling thread (and asyncio task), so
    concurrent code is not affected; blocks nest.  It takes effect only in
    a ``with`` block: a bare call changes nothing (and warns when the
    unused manager is dropped).  The value is checked when ``set_workers``
    is called.

    Parameters
    ----------
    workers : int or None
        Positive thread count, or negative to count back from all available
        cores (-1 = all).  0 is an error.  ``None``: the default outside any
        block (``OMP_NUM_THREADS`` when set, else every available core).

    Returns
    -------
    context manager
        Sets the default on entering its ``with`` block and restores the
        previous one on leaving it; one block at a time.

    Raises
    ------
    ValueError
        ``workers=0``, or a negative count beyond the available cores
        (fewer than one thread).
    TypeError
        ``workers`` that is neither None nor an int (a float, a string, a
        bool: ``ParameterTypeError``, which is also a ``ValueError``).
    RuntimeError
        When the returned manager is entered while its block is already in
        use (call ``set_workers`` again for another block).

    Examples
    --------
    >>> import numpy as np, imfilt
    >>> image = np.ones((64, 64), dtype=np.float32)
    >>> with imfilt.set_workers(1):
    ...     out = imfilt.convolve(image, np.ones((3, 3)), mode="same")
    >>> float(out[10, 10])
    9.0
    """
    if workers is not None:
        workers = _check_workers(workers)
        resolve_workers(workers)  # validate negative counts now, not at first use
    return _WorkersBlock(workers)


class _WorkersBlock:
    """The context manager ``set_workers`` returns: one ``with`` block at a
    time (it may be used again after that block)."""

    def __init__(self, workers):
        self.workers = workers
        self.token = None
        self.entered = False

    def __enter__(self):
        if self.token is not None:
            raise RuntimeError(f"this imfilt.set_workers({self.workers!r}) block is already "
                               "in use; call set_workers again for another block")
        self.entered = True
        self.token = _default_workers.set(self.workers)
        return self

    def __exit__(self, *exc):
        token, self.token = self.token, None
        _default_workers.reset(token)
        return False

    def __del__(self):
        if not self.entered:
            warnings.warn(f"imfilt.set_workers({self.workers!r}) was called outside a "
                          "'with' block and changed nothing; write "
                          f"'with imfilt.set_workers({self.workers!r}):'",
                          RuntimeWarning, stacklevel=2)


def openmp_enabled():
    """True when every kernel module of this build was compiled with OpenMP.

    Returns
    -------
    bool
        False for a serial build (kernels run on one thread per call).

    Examples
    --------
    >>> import imfilt
    >>> isinstance(imfilt.openmp_enabled(), bool)
    True
    """
    compiled = []
    for info in pkgutil.iter_modules(_kernel_package.__path__):
        mod = importlib.import_module(f"imfilt._kernels.{info.name}")
        probe = getattr(mod, "_openmp_compiled", None) or getattr(mod, "openmp_compiled", None)
        if probe is not None:
            compiled.append(bool(probe()))
    return bool(compiled) and all(compiled)


def show_config(file=None):
    """Print how imfilt was built and how many threads it will use.

    Parameters
    ----------
    file : file-like, optional
        Where to print (default ``sys.stdout``).

    Raises
    ------
    TypeError
        A ``file`` without a callable ``write`` method.

    Examples
    --------
    >>> import io, imfilt
    >>> buf = io.StringIO()
    >>> imfilt.show_config(file=buf)
    >>> "OpenMP" in buf.getvalue()
    True
    """
    if file is not None and not callable(getattr(file, "write", None)):
        raise TypeError(f"file={file!r} is not writable; pass a file-like object with a "
                        "write() method (e.g. sys.stdout or io.StringIO()), or None")
    build = _build
    omp = openmp_enabled()
    lines = [
        f"imfilt {__version__}",
        f"  OpenMP: {'yes (version ' + str(build.openmp_version()) + ')' if omp else 'NO - kernels run on one thread; rebuild with an OpenMP compiler'}",
        f"  build flags: {build.build_flags()} ({build.compiler()})",
        f"  CPU dispatch: {_kernel_package.dispatch_summary()}",
        "  idle OpenMP threads: " + (
            f"GOMP_SPINCOUNT={_kernel_package.SPIN_COUNT} (imfilt's default: they poll about "
            "0.5 ms, then sleep)" if _kernel_package.SPIN_SET_BY_IMFILT else
            "the OpenMP runtime's policy (its default, or OMP_WAIT_POLICY/GOMP_SPINCOUNT "
            "from the environment)"),
        "  memory reuse: " + (
            f"freed arrays of {_reuse.MIN_BYTES >> 20} MiB or more are kept for the next "
            f"call, up to {_reuse.limit() / 2**20:g} MiB (IMFILT_REUSE_MIB); "
            f"{_reuse.stats()[1] / 2**20:g} MiB kept now" if _reuse.limit() else
            "off (IMFILT_REUSE_MIB=0)"),
        "  FFT kernel spectra: kept by value for the next call with the same kernel, up to "
        f"{_kept.LIMIT_BYTES / 2**20:g} MiB; {_kept.stats()[0]} kept now "
        f"({_kept.stats()[1] / 2**20:.3g} MiB)",
        f"  threads: default {get_workers()}, available cores {available_cores()}"
        + (f", OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}" if "OMP_NUM_THREADS" in os.environ else ""),
        f"  python {platform.python_version()} ({platform.machine()}, {platform.system()})",
        f"  numpy {numpy.__version__}, scipy {scipy.__version__}",
        "  platforms: CI-tested on Linux x86-64 with GCC/libgomp and Clang/libomp; setup.py "
        "also drives MSVC (/openmp) and Apple Clang (needs libomp); a compiler "
        "without OpenMP builds serial kernels (same results, one thread)",
    ]
    if forked_after_parallel():
        lines.append("  process: forked after parallel kernels ran in the parent: kernels "
                     "run on ONE thread here (GNU OpenMP cannot run in such a child); "
                     "use the 'spawn' or 'forkserver' start method for parallel workers")
    else:
        lines.append("  process pools: 'spawn'/'forkserver' workers run kernels in parallel; "
                     "'fork' workers of a parent that ran parallel kernels run them on one "
                     "thread (GNU OpenMP is not fork-safe)")
    print("\n".join(lines), file=file if file is not None else sys.stdout)


# --------------------------------------------------------------------------
# slicing long kernel calls so that Ctrl-C is handled
# --------------------------------------------------------------------------

#: Seconds of kernel work (as the caller's cost model predicts it; the time
#: measured on the first piece replaces the prediction) per kernel call
#: between two chances for the interpreter to run its signal handlers: a
#: long call is split into pieces this long, so Ctrl-C raises
#: KeyboardInterrupt within about one piece.
SLICE_SECONDS = 0.1

#: A piece is never made longer than this many SLICE_SECONDS to honour a
#: caller's ``min_rows``.
_LONGEST_PIECE = 2


def interruptible_pieces(shape, seconds_per_row, min_rows=1, align=1):
    """Pieces of about ``SLICE_SECONDS`` of a job over independent rows.

    The job computes every row of an index space ``shape`` (e.g. (images,
    rows) or the leading axes of an N-D array); its rows can be computed in
    any grouping with the same result.  Yields ``(index, lo, hi)``: the rows
    ``index + (slice(lo, hi),)``, every later axis whole.  Whole items of the
    outer axes are grouped while one item takes at most ``SLICE_SECONDS``;
    otherwise the next axis is split.  A short job is one piece
    ``((), 0, shape[0])``.

    Pieces of the last axis hold at least ``min_rows`` rows (so that every
    thread of a kernel call gets work; capped so that a piece stays under
    ``2 * SLICE_SECONDS``) and start at multiples of ``align``.

    ``seconds_per_row`` is the cost model's estimate; the time the caller
    spends on each piece (between two ``next``) replaces it, so pieces stay
    short on a machine slower or busier than the calibration.  The first
    piece is a sixteenth of ``SLICE_SECONDS`` as estimated, and each piece
    at most four times as long as the last one took.  Between two
    pieces the caller returns to the interpreter, which runs the signal
    handlers (KeyboardInterrupt on Ctrl-C).
    """
    shape = tuple(map(int, shape)) or (1,)
    total = math.prod(shape)
    if total * seconds_per_row <= SLICE_SECONDS or total <= 1:
        # one piece, without a generator: most calls are short ones
        return (((), 0, shape[0]),)
    state = {"per_row": max(float(seconds_per_row), 1e-12), "budget": SLICE_SECONDS / 16}
    return _pieces(shape, (), state, max(1, int(min_rows)), max(1, int(align)))


def _pieces(shape, prefix, state, min_rows, align):
    d = len(prefix)
    inner = math.prod(shape[d + 1:])
    n = shape[d]
    last = d == len(shape) - 1
    lo = 0
    while lo < n:
        if not last and inner * state["per_row"] > SLICE_SECONDS:
            yield from _pieces(shape, prefix + (lo,), state, min_rows, align)
            lo += 1
            continue
        per_item = state["per_row"] * inner
        count = max(1, int(state["budget"] // per_item))
        if last:
            floor = min(min_rows, max(1, int(_LONGEST_PIECE * SLICE_SECONDS // per_item)))
            count = -(-max(count, floor) // align) * align
        count = min(count, n - lo)
        t0 = time.perf_counter()
        yield prefix, lo, lo + count
        took = time.perf_counter() - t0
        state["per_row"] = max(took / (count * inner), 1e-12)
        # Pieces grow at most 4x from one to the next: a cost estimate far
        # too low (first touch of new memory, a busy machine) costs one
        # short piece, not a long one.
        state["budget"] = min(SLICE_SECONDS, 4 * max(took, 1e-5))
        lo += count


def interruptible_slices(B, rows, seconds_per_row, min_rows=1, align=1):
    """``interruptible_pieces`` of a (B images x rows) job as ``(b0, b1, r0, r1)``:
    whole groups of images, or bands of rows of one image."""
    for index, lo, hi in interruptible_pieces((B, rows), seconds_per_row, min_rows, align):
        if index:
            yield index[0], index[0] + 1, lo, hi
        else:
            yield lo, hi, 0, rows


# --------------------------------------------------------------------------
# independent items of work shared by Python threads


#: The helper threads ``share_items`` hands items to: kept from one call to
#: the next (starting a thread costs about 60 us, a fair part of a
#: millisecond call), created as calls need them, up to this many; a call
#: that finds every helper busy does its items on its own thread.
MAX_HELPER_THREADS = 64
_helpers = {"pool": None, "lock": threading.Lock()}


def _helper_pool():
    with _helpers["lock"]:
        if _helpers["pool"] is None:
            _helpers["pool"] = concurrent.futures.ThreadPoolExecutor(
                MAX_HELPER_THREADS, thread_name_prefix="imfilt-helper")
        return _helpers["pool"]


def _calling_thread_state():
    """A context manager factory that gives a helper thread the calling
    thread's per-thread settings: its ``scipy.fft`` backends
    (``scipy.fft.set_backend`` and ``skip_backend`` hold for the thread
    that enters them, so without this the helpers would transform with
    SciPy's own FFT), with its context variables (``set_workers``,
    ``numpy.errstate``) carried separately by ``share_items``."""
    uarray = _uarray()
    if uarray is None:   # no backend set, or a SciPy without it: the global one
        return contextlib.nullcontext
    state = uarray.get_state()
    return lambda: uarray.set_state(state)


def _uarray():
    """SciPy's backend dispatcher (``scipy._lib._uarray``, which holds the
    per-thread state of ``scipy.fft.set_backend``), or None when
    ``scipy.fft`` is not imported yet (no backend can have been set) or
    this SciPy has none."""
    if "scipy.fft" not in sys.modules:
        return None
    try:
        return importlib.import_module("scipy._lib._uarray")
    except ImportError:
        return None


def _frozen(value):
    """A hashable stand-in for a backend state's nested lists (objects by id)."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return id(value)


def fft_backend_key():
    """Which ``scipy.fft`` backends the calling thread would use: part of
    the key of a kept kernel spectrum, so that a spectrum computed under
    one backend is never reused under another (or under none)."""
    if "scipy.fft" not in sys.modules:
        return None
    uarray = _uarray()
    try:
        globals_, locals_, _ = uarray.get_state()._pickle()
        domain = "numpy.scipy.fft"
        return _frozen((globals_.get(domain), locals_.get(domain)))
    except Exception:   # a SciPy that keeps its state otherwise: share nothing
        return object()


def _helper_loop(loop, slot, state):
    """``loop(slot)`` on a helper thread, in the calling thread's state."""
    with state():
        loop(slot)


def share_items(count, work, nthreads, first=0):
    """Call ``work(item, slot)`` for every ``item`` in ``range(count)``.

    For work whose calls release the GIL (``scipy.fft`` with one worker,
    kernels called ``nogil``) and are each short: ``nthreads`` threads --
    the calling one (``slot`` 0) and ``nthreads - 1`` helper threads (slots
    1, 2, ...; for per-thread scratch; kept between calls) -- take the next
    item as they become free, so a thread on a busy core holds up no other.  Threads meet only
    once, at the end, not at every parallel region of every item.

    Items ``0 .. first - 1`` are prerequisites: they are shared the same
    way, and no later item starts before every one of them has finished
    (the threads meet there a second time).

    The calling thread runs the interpreter between its items, so Ctrl-C
    raises KeyboardInterrupt there within about one item; the other threads
    then finish the item they hold and stop, and the exception propagates.
    An exception in any thread stops the others the same way; the first one
    is raised.  The result must not depend on which thread computes an item.

    The helpers run with the calling thread's context variables and its
    ``scipy.fft`` backends (``_calling_thread_state``), so a
    ``with scipy.fft.set_backend(...)`` block around the call holds for
    every item.
    """
    nthreads = max(1, min(int(nthreads), count))
    items = itertools.count()   # next() is atomic under the GIL
    stop = []
    ready = threading.Condition()
    finished = [0]              # prerequisites done

    def loop(slot):
        try:
            while not stop:
                item = next(items)
                if item >= count:
                    return
                if item >= first:
                    with ready:
                        # A timed wait: the calling thread can take Ctrl-C.
                        while finished[0] < first and not stop:
                            ready.wait(0.05)
                    if stop:
                        return
                work(item, slot)
                if item < first:
                    with ready:
                        finished[0] += 1
                        ready.notify_all()
        except BaseException:
            stop.append(True)
            with ready:
                ready.notify_all()
            raise

    if nthreads == 1:
        loop(0)
        return
    state = _calling_thread_state()
    futures = [_helper_pool().submit(contextvars.copy_context().run, _helper_loop, loop, slot, state)
               for slot in range(1, nthreads)]
    try:
        loop(0)
    finally:
        # A helper that has not started yet (other callers hold every
        # helper thread) is not waited for: the calling thread has already
        # taken every item, or is leaving with an exception.
        # (A cancelled future counts as done only once a helper has dequeued
        # it, so only the ones that could not be cancelled are waited for.)
        futures = [future for future in futures if not future.cancel()]
        concurrent.futures.wait(futures)
    for future in futures:
        future.result()


# --------------------------------------------------------------------------
# BLAS threads

_blas = []


@contextlib.contextmanager
def blas_on_one_thread():
    """Inside the block, the BLAS under ``numpy.linalg`` uses one thread.

    For the small dense factorisations imfilt runs itself (the SVD of a
    kernel): a 127 x 127 SVD took 113 ms on OpenBLAS's threads and 11 ms on
    one on a 2-core machine, and OpenBLAS's idle threads then spin for a
    while on the cores imfilt's own threads need.  Uses ``threadpoolctl``
    when it is installed (the limit is process-wide while the block runs);
    without it, a no-op.
    """
    if threadpoolctl is None:
        yield
        return
    if not _blas:
        _blas.append(threadpoolctl.ThreadpoolController())
    with _blas[0].limit(limits=1, user_api="blas"):
        yield
