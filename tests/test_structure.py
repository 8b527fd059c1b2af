"""The shape of the package: imports form a DAG, arguments are resolved once
per public call, and every kernel family really runs threaded when asked."""

import ast
import pathlib

import numpy as np
import pytest

import imfilt
from imfilt import _linear, _modes, _threads
from imfilt._validation import ParsedCache

PACKAGE = pathlib.Path(imfilt.__file__).parent


# --------------------------------------------------------------------------
# imports: a DAG, and none hidden in function bodies


def _module_name(path):
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _import_graph():
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph, hidden = {}, []
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        deps = set()
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".")
                    base = base[:len(base) - node.level + (1 if is_package else 0)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
            deps.update(t for t in targets if t in modules and t not in (name, "imfilt"))
        graph[name] = deps
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, ast.ImportFrom) and (
                            node.level or (node.module or "").startswith("imfilt")):
                        hidden.append(f"{name}:{node.lineno}")
                    elif isinstance(node, ast.Import) and any(
                            a.name.startswith("imfilt") for a in node.names):
                        hidden.append(f"{name}:{node.lineno}")
    return graph, hidden


def test_imports_form_a_dag():
    graph, _ = _import_graph()
    assert len(graph) > 20
    state = {}

    def visit(node, path):
        state[node] = "open"
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycle = path[path.index(dep):] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, path + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_no_imfilt_imports_inside_functions():
    _, hidden = _import_graph()
    assert hidden == []


def test_layers_import_only_downwards():
    """Vocabulary imports nothing above it; strategies never import a public front."""
    graph, _ = _import_graph()
    vocabulary = {"imfilt._validation", "imfilt._modes", "imfilt._geometry", "imfilt._docs"}
    fronts = {"imfilt.convolution", "imfilt.edges", "imfilt.canny", "imfilt.layers",
              "imfilt.pooling", "imfilt.upsampling", "imfilt.cli"}
    for mod in vocabulary:
        assert graph[mod] <= vocabulary, (mod, graph[mod] - vocabulary)
    for mod in ("imfilt._banded", "imfilt._nanpolicy", "imfilt._methods", "imfilt._halo",
                "imfilt._threads", "imfilt._linear"):
        assert not graph[mod] & fronts, (mod, graph[mod] & fronts)
        assert not any(d.startswith("imfilt.dask") for d in graph[mod])


# --------------------------------------------------------------------------
# boundary and workers: resolved exactly once per public call


@pytest.fixture
def counters(monkeypatch):
    """Count boundary canonicalisations and workers resolutions (with empty
    caches of parsed arguments, so that every call parses its own)."""
    monkeypatch.setattr(_linear, "_PARSED", ParsedCache())
    counts = {"boundary": 0, "workers": 0}
    check_choice = _modes.check_choice
    resolve = _threads._resolve_workers

    def counting_choice(name, *args, **kwargs):
        if name == "boundary":
            counts["boundary"] += 1
        return check_choice(name, *args, **kwargs)

    def counting_resolve(workers, cores):
        counts["workers"] += 1
        return resolve(workers, cores)

    monkeypatch.setattr(_modes, "check_choice", counting_choice)
    monkeypatch.setattr(_threads, "_resolve_workers", counting_resolve)
    return counts


def test_convolve_resolves_once(counters):
    imfilt.convolve(np.ones((9, 9)), np.ones((3, 3)), "same", "symm", workers=2)
    assert counters == {"boundary": 1, "workers": 1}


def test_convolve_omit_resolves_once(counters):
    x = np.ones((9, 9))
    x[4, 4] = np.nan
    imfilt.convolve(x, np.ones((3, 3)), "same", "symm", workers=2, nan_policy="omit")
    assert counters == {"boundary": 1, "workers": 1}


@pytest.mark.parametrize("func", [imfilt.sobel, imfilt.gradient, imfilt.roberts,
                                  imfilt.laplace])
def test_edge_filter_with_omit_resolves_once(counters, func):
    x = np.ones((9, 9))
    x[4, 4] = np.nan
    func(x, boundary="reflect", workers=2, nan_policy="omit")
    assert counters == {"boundary": 1, "workers": 1}


def test_colour_edge_filter_resolves_once(counters):
    imfilt.sobel(np.ones((9, 9, 3)), workers=2, channel_axis=-1, nan_policy="omit")
    assert counters == {"boundary": 1, "workers": 1}


def test_memmap_in_bands_resolves_once(counters, monkeypatch, tmp_path):
    from imfilt import _banded
    monkeypatch.setattr(_banded, "BAND_BYTES", 1 << 10)
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float64,
                                   shape=(40, 30))
    mm[:] = np.arange(1200.0).reshape(40, 30)
    out = imfilt.convolve(mm, np.ones((3, 3)), "same", "wrap", workers=2)
    assert counters == {"boundary": 1, "workers": 1}
    np.testing.assert_array_equal(out, imfilt.convolve(np.asarray(mm), np.ones((3, 3)),
                                                       "same", "wrap"))


def test_dask_call_resolves_once_for_all_chunks(counters):
    idask = pytest.importorskip("imfilt.dask")
    da = pytest.importorskip("dask.array")
    x = da.from_array(np.arange(144.0).reshape(12, 12), chunks=5)
    lazy = idask.convolve(x, np.ones((3, 3)), "same", "symm", workers=2)
    lazy.compute(scheduler="synchronous")
    assert counters == {"boundary": 1, "workers": 1}


# --------------------------------------------------------------------------
# threads: every kernel family runs a real parallel region when asked


def _threads_used(call):
    _threads.ran_parallel(reset=True)
    call()
    return _threads.ran_parallel()


needs_openmp = pytest.mark.skipif(not imfilt.openmp_enabled() or _threads.available_cores() < 2,
                                  reason="needs an OpenMP build and two cores")

RNG = np.random.default_rng(5)
X = RNG.random((37, 41))
XNAN = X.copy()
XNAN[3, 4] = np.nan
XTALL = RNG.random((520, 9))
LX, LW = RNG.random((1, 3, 19, 23)), RNG.random((4, 3, 3, 3))
TX, TW = RNG.random((1, 2, 9, 11)), RNG.random((2, 2, 3, 3))

FAMILIES = {
    "conv": lambda w: imfilt.convolve(X, np.ones((3, 3)), "same", workers=w, method="direct"),
    "nan": lambda w: imfilt.convolve(XNAN, np.ones((3, 3)), "same", workers=w,
                                     nan_policy="omit"),
    "edges": lambda w: imfilt.sobel(X, workers=w),
    "canny": lambda w: imfilt.canny(X, workers=w),
    "layers": lambda w: imfilt.conv2d(LX, LW, workers=w),
    "layers_transpose": lambda w: imfilt.conv_transpose2d(TX, TW, stride=2, workers=w),
    "pool": lambda w: imfilt.max_pool2d(X, 2, workers=w),
    "unpool": lambda w: imfilt.max_unpool2d(*imfilt.max_pool2d(X[None, None, :36, :40], 2,
                                                               return_indices=True, workers=1),
                                            2, workers=w),
    "pyramid_down": lambda w: imfilt.pyramid_down(X, workers=w),
    "pyramid_up": lambda w: imfilt.pyramid_up(X, workers=w),
    # the separable engine: the fused 2-D sweeps and the single passes (the
    # fused sweep's bands are at least 4 kernel lengths; a box's work items
    # are bands of 256 rows, where its running sums restart: a taller image)
    "separable": lambda w: imfilt.gaussian(XTALL, 1.5, workers=w),
    "separable_axis": lambda w: imfilt.gaussian(X, 1.5, axes=0, workers=w),
    "box": lambda w: imfilt.box(XTALL, 3, workers=w),
    "box_axis": lambda w: imfilt.box(XTALL, 3, axes=0, workers=w),
    "rank": lambda w: imfilt.median(X, 3, workers=w),
    "morph": lambda w: imfilt.minimum_filter(X, 3, workers=w),
    "morph_footprint": lambda w: imfilt.maximum_filter(X, footprint=[[0, 1, 0], [1, 1, 1],
                                                                     [0, 1, 0]], workers=w),
    "bilateral": lambda w: imfilt.bilateral(X, 5, 0.3, 2.0, workers=w),
    "bilateral_u8": lambda w: imfilt.bilateral((X * 255).astype(np.uint8), 5, 30.0, 2.0,
                                               workers=w),
}


@needs_openmp
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_kernel_family_runs_threaded_on_small_inputs(family):
    """The suite's fixture sets min_parallel_work() to 0: tiny inputs run threaded,
    and the kernel itself reports the size of its parallel region -- every
    time (a count copied out of a lastprivate variable was 1 in about half of
    the calls of a Clang/libomp build)."""
    assert _threads.min_parallel_work() == 0
    assert min(_threads_used(lambda: FAMILIES[family](2)) for _ in range(8)) >= 2


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_kernel_family_runs_serially_below_the_threshold(family, monkeypatch):
    monkeypatch.setattr(_threads, "PARALLEL_MIN_WORK", 1 << 40)
    assert _threads_used(lambda: FAMILIES[family](2)) == 1


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_kernel_family_is_identical_for_one_and_two_threads(family):
    one, two = FAMILIES[family](1), FAMILIES[family](2)
    one = one if isinstance(one, tuple) else (one,)
    two = two if isinstance(two, tuple) else (two,)
    for a, b in zip(one, two):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    assert _threads_used(lambda: FAMILIES[family](1)) == 1


def test_fork_guard_set_only_by_a_parallel_region(monkeypatch):
    monkeypatch.setitem(_threads._fork_state, "parallel_used", False)
    _threads.get_workers()
    _threads.resolve_workers(4)
    with imfilt.set_workers(4):
        pass
    assert _threads._fork_state["parallel_used"] is False
    imfilt.convolve(X, np.ones((3, 3)), workers=1)
    assert _threads._fork_state["parallel_used"] is False
    if imfilt.openmp_enabled() and _threads.available_cores() >= 2:
        imfilt.convolve(X, np.ones((3, 3)), workers=2, method="direct")
        assert _threads._fork_state["parallel_used"] is True
