"""Runtime CPU dispatch: level choice, and bit-identical results on every level.

A dispatched build compiles every kernel module for several x86-64 levels
(``baseline`` = x86-64-v2, ``avx2`` = x86-64-v3, ``avx512`` = x86-64-v4) and
loads the best one the CPU runs; ``IMFILT_CPU_LEVEL`` forces a lower one.
The rule checked here: every public filter returns the same bytes on every
level this machine can run (each level fuses multiply-adds the same way),
so the CPU a user has never changes a result.
"""

import io
import json
import os
import subprocess
import sys
import warnings

import pytest

import imfilt
import imfilt._kernels as kernels
from imfilt._kernels import _build, _conv

DISPATCHED = bool(_build.cpu_levels())
needs_dispatch = pytest.mark.skipif(not DISPATCHED, reason="single-level build (IMFILT_MARCH set)")

#: Runs in a subprocess with IMFILT_CPU_LEVEL set; prints JSON: the chosen
#: level, where _conv was loaded from and a SHA-256 of every case's output.
PARITY_SCRIPT = r'''
import hashlib, json, sys, warnings
import numpy as np
import imfilt
import imfilt._kernels as kernels
from imfilt._kernels import _conv

rng = np.random.default_rng(20261202)
digests = {}

def record(name, value):
    h = hashlib.sha256()
    for part in (value if isinstance(value, tuple) else (value,)):
        part = np.ascontiguousarray(part)
        if part.dtype.kind in "fc":
            # NaN sign and payload are not part of the result (x86 returns
            # either operand's payload depending on operand order, which the
            # compiler may swap per target): compare NaNs as one value.
            part = np.where(np.isnan(part), np.array(np.nan, part.dtype), part)
        h.update(str((part.dtype.str, part.shape)).encode())
        h.update(part.tobytes())
    digests[name] = h.hexdigest()

def image(shape, dtype, specials=True):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    if specials and x.dtype.kind == "f" and x.size > 20:
        flat = x.reshape(-1)
        flat[5], flat[11], flat[17] = np.nan, np.inf, -np.inf
    return x

for dtype in (np.float32, np.float64):
    big = image((70, 157), dtype, specials=False)
    odd = image((33, 61), dtype)
    for kshape in ((3, 3), (5, 4), (1, 9), (9, 9)):
        w = rng.standard_normal(kshape).astype(dtype)
        for mode in ("full", "same", "valid"):
            for boundary in ("fill", "symm", "reflect", "wrap", "edge"):
                key = f"{np.dtype(dtype).name}-{kshape}-{mode}-{boundary}"
                record("convolve-direct-" + key,
                       imfilt.convolve(big, w, mode, boundary, method="direct", workers=2))
                record("correlate-direct-odd-" + key,
                       imfilt.correlate(odd, w, mode, boundary, method="direct", workers=1))
        record(f"convolve-dilated-{kshape}", imfilt.convolve(big, w, "same", "symm",
               method="direct", dilation=2, stride=(1, 2)))
        # the kernel's streaming stores (outputs beyond the cache), into a
        # result that starts off the vector alignment
        k0, k1 = kshape
        rowmap = np.clip(np.arange(70 + k0 - 1) - k0 // 2, 0, 69).astype(np.intp)
        colmap = np.clip(np.arange(157 + k1 - 1) - k1 // 2, 0, 156).astype(np.intp)
        buf = np.zeros(70 * 157 + 1, dtype)
        streamed = buf[1:].reshape(1, 70, 157)
        _conv.correlate_padded["float" if dtype == np.float32 else "double"](
            big[None], w[None], streamed, rowmap, colmap, k1 // 2, 1, 1, 1, 1, dtype(0), 2, 0,
            True)
        record(f"correlate-streamed-{np.dtype(dtype).name}-{kshape}", streamed)
    sep = np.outer([1.0, 4.0, 6.0, 4.0, 1.0], [0.5, -1.25, 2.0]).astype(dtype)
    record(f"convolve-separable-{dtype.__name__}",
           imfilt.convolve(big, sep, "same", "symm", method="separable"))
    record(f"convolve-omit-{dtype.__name__}",
           imfilt.convolve(odd, sep, "same", "symm", nan_policy="omit"))
    for name in ("sobel", "scharr", "prewitt", "laplace", "roberts", "gradient"):
        record(f"{name}-{dtype.__name__}", getattr(imfilt, name)(odd))
        record(f"{name}-big-{dtype.__name__}", getattr(imfilt, name)(big))
    record(f"canny-{dtype.__name__}", imfilt.canny(big, sigma=1.5))
    x4 = image((2, 12, 23, 37), dtype, specials=False)
    weight = rng.standard_normal((16, 12, 3, 3)).astype(dtype)
    bias = rng.standard_normal(16).astype(dtype)
    record(f"conv2d-{dtype.__name__}", imfilt.conv2d(x4, weight, bias, padding=1))
    record(f"conv2d-grouped-{dtype.__name__}",
           imfilt.conv2d(x4, weight[:, :3], None, stride=2, dilation=2, groups=4,
                         boundary="symm"))
    wt = rng.standard_normal((12, 5, 4, 4)).astype(dtype)
    record(f"conv_transpose2d-{dtype.__name__}",
           imfilt.conv_transpose2d(x4, wt, None, stride=2, padding=1))
    record(f"conv_transpose2d-few-{dtype.__name__}",
           imfilt.conv_transpose2d(x4[:, :1], wt[:1, :1], None, stride=3))
    record(f"max_pool2d-{dtype.__name__}", imfilt.max_pool2d(x4, 3, 2, 1, return_indices=True))
    record(f"avg_pool2d-{dtype.__name__}", imfilt.avg_pool2d(x4, 3, 2, 1))
    record(f"min_pool2d-{dtype.__name__}", imfilt.min_pool2d(x4, (2, 3)))
    record(f"upsample-{dtype.__name__}", imfilt.upsample(odd, 2))
    record(f"pyramid-{dtype.__name__}", (imfilt.pyramid_down(big), imfilt.pyramid_up(odd)))
# Filters other modules add: compared when this imfilt has them.  A call the
# function rejects records its error type (the same on every level).
def optional(name, *args, **kwargs):
    func = getattr(imfilt, name, None)
    if func is None:
        return
    try:
        value = func(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        digests[f"{name}{args[1:]}{kwargs}"] = type(exc).__name__
        return
    record(f"{name}{args[1:]}{kwargs}-{args[0].dtype}-{args[0].shape}", value)

for dtype in (np.float32, np.float64):
    for x in (image((33, 61), dtype), image((70, 157), dtype, specials=False),
              image((9, 20, 30), dtype, specials=False)):
        for size in (3, 5):
            for name in ("median", "minimum_filter", "maximum_filter", "erosion", "dilation",
                         "morphological_gradient", "box"):
                optional(name, x, size)
        optional("rank_filter", x, 2, 3)
        optional("percentile_filter", x, 30, 5)
        for name in ("gaussian", "gaussian_laplace", "gaussian_gradient_magnitude"):
            optional(name, x, 1.5)
        optional("gaussian", x, 2.0, order=1)
        optional("unsharp_mask", x, 2.0, 0.7)
        optional("difference_of_gaussians", x, 1.0, 2.5)
        optional("gabor", x, 0.2)
        optional("bilateral", x, 5, 0.5, 2.0)
u8 = (rng.random((64, 90)) * 255).astype(np.uint8)
for name in ("median", "gaussian", "box", "bilateral", "erosion"):
    optional(name, u8, *{"median": (3,), "gaussian": (1.5,), "box": (5,),
                         "bilateral": (5, 20.0, 2.0), "erosion": (3,)}[name])
record("sobel-uint8", imfilt.sobel(u8))
record("canny-uint8", imfilt.canny(u8, sigma=2.0))
record("convolve-uint8", imfilt.convolve(u8, np.ones((5, 5)) / 25, "same", dtype=np.uint8))

print(json.dumps({"level": kernels.CPU_LEVEL, "conv": _conv.__file__, "digests": digests}))
'''


def _run_at_level(level):
    env = dict(os.environ)
    env["IMFILT_CPU_LEVEL"] = level
    # the same imfilt as this process, whether a source tree or an installed wheel
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(imfilt.__file__)), env.get("PYTHONPATH", "")])
    result = subprocess.run([sys.executable, "-c", PARITY_SCRIPT], env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _runnable_levels():
    supported = _build.cpu_level()
    if supported == -2:
        supported = kernels._cpuinfo_level()
    return [name for i, name in enumerate(kernels.LEVELS)
            if name in _build.cpu_levels() and i <= supported]


@needs_dispatch
def test_every_level_this_cpu_runs_gives_identical_bytes():
    levels = _runnable_levels()
    if len(levels) < 2:
        pytest.skip(f"this CPU runs only {levels}: nothing to compare")
    runs = {level: _run_at_level(level) for level in levels}
    reference = runs[levels[-1]]
    for level, run in runs.items():
        assert run["level"] == level
        assert os.sep + f"_cpu_{level}" + os.sep in run["conv"], run["conv"]
        assert run["digests"].keys() == reference["digests"].keys()
        differ = [case for case, digest in run["digests"].items()
                  if digest != reference["digests"][case]]
        assert not differ, f"level {level} differs from {levels[-1]} in {differ}"


@needs_dispatch
def test_kernels_come_from_the_chosen_level():
    assert kernels.CPU_LEVEL in _build.cpu_levels()
    assert os.sep + f"_cpu_{kernels.CPU_LEVEL}" + os.sep in _conv.__file__
    assert _conv.__name__ == "imfilt._kernels._conv"
    assert "_cpu_" not in _build.__file__  # the probe itself is built once, portably
    buf = io.StringIO()
    imfilt.show_config(file=buf)
    line = next(ln for ln in buf.getvalue().splitlines() if "CPU dispatch:" in ln)
    assert f"chosen {kernels.CPU_LEVEL}" in line
    for level in _build.cpu_levels():
        assert level in line


@needs_dispatch
def test_every_kernel_module_is_dispatched():
    # setup.py builds every imfilt/_kernels/*.pyx per level, except the probe
    import importlib
    import pathlib

    stems = sorted(p.stem for p in pathlib.Path(kernels.__file__).parent.glob("*.pyx"))
    assert "_conv" in stems
    for stem in stems:
        mod = importlib.import_module(f"imfilt._kernels.{stem}")
        where = os.path.basename(os.path.dirname(mod.__file__))
        assert where == ("_kernels" if stem == "_build" else f"_cpu_{kernels.CPU_LEVEL}"), \
            (stem, mod.__file__)


def test_show_config_reports_dispatch():
    buf = io.StringIO()
    imfilt.show_config(file=buf)
    assert "CPU dispatch: " in buf.getvalue()
    assert kernels.dispatch_summary() in buf.getvalue()


def test_cpu_probe_agrees_with_proc_cpuinfo():
    probe = _build.cpu_level()
    cpuinfo = kernels._cpuinfo_level()
    if probe == -2 or cpuinfo is None:
        pytest.skip("no cpuid probe or no /proc/cpuinfo on this platform")
    assert probe == cpuinfo


ALL = {"baseline": "", "avx2": "", "avx512": ""}


@pytest.mark.parametrize("supported, requested, expected", [
    (1, None, "avx2"),
    (2, None, "avx512"),
    (0, None, "baseline"),
    (2, "baseline", "baseline"),
    (2, " AVX2 ", "avx2"),
    (1, "", "avx2"),
])
def test_choice_of_level(supported, requested, expected):
    assert kernels._choose(ALL, supported, requested)[0] == expected


def test_choice_never_exceeds_the_cpu_or_the_build():
    with pytest.warns(RuntimeWarning, match="IMFILT_CPU_LEVEL='avx512'.*using 'avx2'"):
        assert kernels._choose(ALL, 1, "avx512")[0] == "avx2"
    two = {"baseline": "", "avx2": ""}
    with pytest.warns(RuntimeWarning, match="using 'avx2'"):
        assert kernels._choose(two, 2, "avx512")[0] == "avx2"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kernels._choose(two, 2, None)[0] == "avx2"


def test_unknown_level_is_a_value_error_naming_the_variable_and_choices():
    with pytest.raises(ValueError, match=r"IMFILT_CPU_LEVEL='sse9'.*baseline, avx2, avx512"):
        kernels._choose(ALL, 1, "sse9")


def test_cpu_below_baseline_refuses_to_load():
    with pytest.raises(ImportError, match="x86-64-v2"):
        kernels._choose(ALL, -1, None)


@needs_dispatch
def test_bad_environment_value_fails_the_import_clearly():
    env = dict(os.environ, IMFILT_CPU_LEVEL="fast")
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(imfilt.__file__))
    result = subprocess.run([sys.executable, "-c", "import imfilt"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "IMFILT_CPU_LEVEL='fast' is not a CPU level" in result.stderr

