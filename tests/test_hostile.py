"""Hostile input catalogue: one row per case, for every public function and the CLI.

Every row must end in a ``ValueError`` or ``TypeError`` whose message names
the problem (the regular expression of the row), or for the CLI in the
expected exit status with one line on stderr and no traceback.  Nothing may
crash or hang, and inputs are never modified.

The cases run in a child process (one for the whole module, restarted after
a failure) that executes one row per request: a segmentation fault or an
abort fails that row instead of killing pytest, and a row that does not
answer within ``TIMEOUT`` seconds fails as a hang.
"""

import contextlib
import inspect
import io
import json
import os
import re
import resource
import select
import subprocess
import sys
import traceback

import numpy as np
import pytest

import imfilt

TIMEOUT = 60.0
HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------
# the catalogue


class Row:
    """One hostile call: ``func(*args, **kwargs)`` must raise ``exc`` matching ``match``."""

    def __init__(self, id, func, args=(), kwargs=None, exc=(ValueError,), match=""):
        self.id, self.func, self.args, self.kwargs = id, func, args, kwargs or {}
        self.exc = exc if isinstance(exc, tuple) else (exc,)
        self.match = match


def img(shape=(6, 7), dtype=np.float64):
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape).astype(dtype)


K3 = np.ones((3, 3))
RAGGED = [[1.0, 2.0], [3.0]]
DEEP_RAGGED = [[[1.0]], [2.0, 3.0]]
OBJ = np.array([[1, None], [2, 3]], dtype=object)
DATETIME = np.array([["2024-01-01", "2024-01-02"]] * 2, dtype="datetime64[D]")
TIMEDELTA = np.ones((3, 3), dtype="timedelta64[s]")
STRS = np.array([["a", "b"], ["c", "d"]])
BYTES = np.array([[b"a", b"b"], [b"c", b"d"]])
VOID = np.zeros((3, 3), dtype="V8")
STRUCT = np.zeros((3, 3), dtype=[("r", "f4"), ("g", "f4")])
LONGDOUBLE = np.ones((3, 3), dtype=np.longdouble)

#: Bad arrays every function taking an image must reject: (name, value, exc, match)
BAD_IMAGES = [
    ("None", None, TypeError, "image must be an array, got None"),
    ("string", "an image", TypeError, "image has dtype <U"),
    ("bytes", b"\x00\x01", TypeError, "image has dtype |S"),
    ("dict", {"a": 1}, TypeError, "image has dtype object"),
    ("ragged", RAGGED, ValueError, "image could not be converted"),
    ("deep-ragged", DEEP_RAGGED, ValueError, "image could not be converted"),
    ("object", OBJ, TypeError, "image has dtype object"),
    ("datetime", DATETIME, TypeError, "image has dtype datetime64"),
    ("timedelta", TIMEDELTA, TypeError, "image has dtype timedelta64"),
    ("str-array", STRS, TypeError, "image has dtype <U1"),
    ("bytes-array", BYTES, TypeError, "image has dtype |S1"),
    ("void", VOID, TypeError, "image has dtype |V8"),
    ("structured", STRUCT, TypeError, r"image has dtype \[\('r'"),
    ("longdouble", LONGDOUBLE, TypeError, "extended precision"),
    ("generator", (i for i in range(3)), TypeError, "image has dtype object"),
]

CONV = {"convolve": imfilt.convolve, "correlate": imfilt.correlate}
EDGE = {"sobel": imfilt.sobel, "scharr": imfilt.scharr, "prewitt": imfilt.prewitt,
        "roberts": imfilt.roberts, "laplace": imfilt.laplace, "gradient": imfilt.gradient,
        "canny": imfilt.canny}


def _conv_rows():
    rows = []
    x = img()
    for fname, f in CONV.items():
        R = lambda id, *a, **k: rows.append(Row(f"{fname}-{id}", f, *a, **k))  # noqa: E731
        for name, bad, exc, match in BAD_IMAGES:
            R(f"image-{name}", (bad, K3), exc=exc, match=match)
            R(f"kernel-{name}", (x, bad), exc=exc, match=match.replace("image", "kernel"))
        # dimensions
        R("image-0d", (np.float64(3.0), K3), match=r"image.ndim=0")
        R("kernel-0d", (x, 2.0), match=r"kernel.ndim=0")
        R("image-1d-kernel-2d", (np.ones(5), K3), match=r"image.ndim=1")
        R("image-3d-kernel-1d", (np.ones((2, 3, 4)), np.ones(3)), match=r"kernel.ndim=1")
        R("image-5d-kernel-3d", (np.ones((2, 2, 2, 3, 4)), np.ones((2, 3, 3))),
          match=r"kernel.ndim=3 does not fit image.ndim=5")
        # per-slice kernels are asked for with axes= (a 3-D kernel alone means N-D)
        R("image-3d-kernel-3d-mismatch", (np.ones((2, 5, 5)), np.ones((3, 3, 3))),
          {"axes": (1, 2)}, match=r"kernel has leading shape \(3,\)")
        R("image-3d-colour", (np.ones((5, 6, 3)), K3), match=r"looks like a colour image")
        R("kernel-empty-rows", (x, np.ones((0, 3))), match="kernel must not be empty")
        R("kernel-empty-cols", (x, np.ones((3, 0))), match="kernel must not be empty")
        R("kernel-empty-1d", (np.ones(4), np.ones(0)), match="kernel must not be empty")
        R("image-zero-rows-symm", (np.ones((0, 5)), K3, "same", "symm"),
          match="image is empty")
        R("image-zero-cols-wrap", (np.ones((5, 0)), K3, "full", "wrap"), match="image is empty")
        R("image-empty-valid-swap", (np.ones((0, 0)), K3, "valid"), match="image is empty")
        R("valid-mixed-shapes", (np.ones((3, 6)), np.ones((5, 2)), "valid"),
          match="one of image and kernel must be at least as large")
        R("huge-kernel-valid-mixed", (np.ones((3, 6)),
                                      np.broadcast_to(1.0, (2**40, 2)), "valid"),
          match="one of image and kernel must be at least as large")
        R("huge-dilation-overflow", (x, K3), {"dilation": 2**62},
          exc=(ValueError, MemoryError), match="dilation|allocate")
        R("huge-dilation-pair-overflow", (x, K3), {"dilation": (1, 2**63 - 1)},
          exc=(ValueError, MemoryError), match="dilation|allocate")
        # vocabulary
        for mode in ("FULL", "", None, 3, "sam"):
            R(f"mode-{mode!r}", (x, K3, mode), match=re.escape(f"mode={mode!r} is not valid; choose one"))
        for b in ("mirror", "replicate", "", None, 0, "Symm "):
            R(f"boundary-{b!r}", (x, K3, "same", b),
              match=re.escape(f"boundary={b!r} is not valid; choose one of 'fill'"))
        R("method-magic", (x, K3), {"method": "magic"}, match="method='magic' is not valid")
        R("method-None", (x, K3), {"method": None}, match="method=None is not valid")
        # fillvalue
        R("fill-str", (x, K3, "same", "fill", "zero"), exc=TypeError, match="fillvalue must be a number")
        R("fill-None", (x, K3, "same", "fill", None), exc=TypeError, match="fillvalue must be a number")
        R("fill-array", (x, K3, "same", "fill", [1, 2]), match="fillvalue must be a scalar")
        R("fill-complex-real", (x, K3, "same", "fill", 1j), match="fillvalue=1j is complex")
        # dtype=
        for dt in ("foo", object, "M8[s]", bool, "V8", np.longdouble, str):
            R(f"dtype-{dt!r}", (x, K3), {"dtype": dt}, exc=TypeError, match="dtype=")
        R("dtype-int-complex", (x + 1j, K3), {"dtype": np.int16}, exc=TypeError,
          match="imaginary part")
        # stride / dilation
        for p in ("stride", "dilation"):
            for v in (0, -1, 1.5, 2.0, True, False, "2", None, (1, 2, 3), (), (0, 1),
                      (1, -2), [1.0, 1], np.float64(2), (np.True_, 1)):
                R(f"{p}-{v!r}", (x, K3), {p: v}, match=rf"{p}=")
        # workers
        for v in (0, 1.5, "2", True, -10**6, [2]):
            R(f"workers-{v!r}", (x, K3), {"workers": v}, match="workers=")
        # axes
        st = np.ones((2, 5, 6))
        for v in ((0, 0), (0, 5), (-4, 1), "ab", (0, 1, 2), 1, (0.0, 1), (None, 1)):
            R(f"axes-{v!r}", (st, K3), {"axes": v}, match=r"axes=")
        R("axes-1d", (np.ones(5), np.ones(3)), {"axes": (0, 1)}, match=r"axes=\(0, 1\) is only")
        # out=
        xs = img((5, 5))
        R("out-aliases-image", (xs, K3, "same"), {"out": xs}, match="out overlaps image")
        big = img((5, 10))
        R("out-view-of-image", (big, K3, "same"), {"out": big[:, :]}, match="out overlaps image")
        k5 = np.ones((5, 5))
        R("out-aliases-kernel", (np.ones((5, 5)), k5, "same"), {"out": k5},
          match="out overlaps kernel")
        R("out-list", (xs, K3, "same"), {"out": [[0.0] * 5] * 5}, exc=TypeError,
          match="out must be a numpy.ndarray")
        R("out-shape", (xs, K3, "same"), {"out": np.zeros((5, 6))}, match="out has shape")
        R("out-dtype", (xs, K3, "same"), {"out": np.zeros((5, 5), np.float32)},
          match="out has dtype float32")
        ro = np.zeros((5, 5))
        ro.setflags(write=False)
        R("out-readonly", (xs, K3, "same"), {"out": ro}, match="out is read-only")
    return rows


def _edge_rows():
    rows = []
    x = img((8, 9))
    for fname, f in EDGE.items():
        R = lambda id, *a, **k: rows.append(Row(f"{fname}-{id}", f, *a, **k))  # noqa: E731
        for name, bad, exc, match in BAD_IMAGES:
            R(f"image-{name}", (bad,), exc=exc, match=match)
        R("image-0d", (np.float64(1.0),), match=r"image must be 2-D.*ndim=0")
        R("image-1d", (np.ones(9),), match=r"image must be 2-D.*ndim=1")
        R("image-3d-colour", (np.ones((5, 5, 3)),),
          match=r"looks like a colour image.*channel_axis=-1")
        if "channel_axis" in inspect.signature(f).parameters:
            rgb = np.ones((5, 6, 3))
            for ca in (5, -4, "x", 1.5, True, (0, 1)):
                R(f"channel_axis-{ca!r}", (rgb,), {"channel_axis": ca},
                  match=re.escape(f"channel_axis={ca!r} is not valid"))
            R("channel_axis-2d-image", (x,), {"channel_axis": -1},
              match=r"channel_axis=-1 needs a 3-D image")
            R("channel_axis-4d-image", (np.ones((2, 5, 5, 3)),), {"channel_axis": -1},
              match=r"channel_axis=-1 needs a 3-D image")
        R("image-5d", (np.ones((1, 1, 1, 5, 5)),), match=r"image must be 2-D.*ndim=5")
        R("image-complex", (x + 1j,), exc=TypeError, match="real image")
        R("workers-0", (x,), {"workers": 0}, match="workers=0")
        R("workers-float", (x,), {"workers": 2.5}, match="workers=2.5")
        if fname != "canny":
            R("boundary-mirror", (x,), {"boundary": "mirror"}, match="boundary='mirror'")
            R("boundary-None", (x,), {"boundary": None}, match="boundary=None")
        if fname in ("sobel", "scharr", "prewitt"):
            for axis in (2, -3, 1.0, True, "x", (0, 1)):
                R(f"axis-{axis!r}", (x, axis), match=re.escape(f"axis={axis!r} is not valid"))
        if fname in ("sobel", "scharr", "prewitt", "roberts", "gradient"):
            R("convention-bad", (x,), {"convention": "opencv"}, match="convention='opencv'")
        if fname != "canny":
            R("mask-shape", (x,), {"mask": np.ones((2, 2), bool)},
              match=r"mask must have the image's shape")
            R("mask-3d", (x,), {"mask": np.ones((2, 2, 2), bool)}, match="mask must be 2-D")
            R("mask-complex", (x,), {"mask": np.ones(x.shape, complex)}, exc=TypeError,
              match="mask has dtype complex")
            R("fillvalue-str", (x,), {"boundary": "fill", "fillvalue": "0"}, exc=TypeError,
              match="fillvalue must be a number")
            R("fillvalue-nan-raise", (x,), {"boundary": "fill", "fillvalue": np.nan,
                                            "nan_policy": "raise"}, match="fillvalue=nan")
        if fname == "sobel":
            for size in (4, 9, "5", True):
                R(f"size-{size!r}", (x,), {"size": size},
                  match=re.escape(f"size={size!r} is not valid"))
        if fname == "canny":
            R("boundary-mirror", (x,), {"boundary": "mirror"}, match="boundary='mirror'")
            R("fillvalue-list", (x,), {"fillvalue": [1, 2]}, match="fillvalue must be a scalar")
        if fname == "gradient":
            for op in ("roberts", "Sobel", None, 1):
                R(f"operator-{op!r}", (x, op), match=re.escape(f"operator={op!r} is not valid"))
        if fname == "laplace":
            for nb in (6, 0, True, "4", None, 4.5):
                R(f"neighbors-{nb!r}", (x, nb), match=re.escape(f"neighbors={nb!r} is not valid"))
    f = imfilt.canny
    R = lambda id, *a, **k: rows.append(Row(f"canny-{id}", f, *a, **k))  # noqa: E731
    for s, exc in ((-1.0, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
                   ("1", None), ("a", TypeError), (None, TypeError), (True, ValueError),
                   ([1.0], TypeError)):
        if exc is None:
            continue
        R(f"sigma-{s!r}", (x, s), exc=exc, match="sigma")
    R("low-above-high", (x, 1.0, 0.5, 0.2), match="low_threshold=0.5 is above high_threshold=0.2")
    R("low-negative", (x, 1.0, -0.1, 0.2), match="low_threshold=-0.1 is not valid")
    R("high-nan", (x, 1.0, 0.1, float("nan")), match="high_threshold=nan is not valid")
    R("threshold-str", (x, 1.0, "low", 0.2), exc=TypeError, match="low_threshold=.low. is not valid; use a real number")
    R("quantile-above-1", (x, 1.0, 0.1, 1.5), {"use_quantiles": True},
      match=r"high_threshold=1.5 is not valid; use a finite number between 0.0 and 1.0")
    R("use_quantiles-str", (x,), {"use_quantiles": "yes"}, exc=TypeError, match="use_quantiles")
    R("mask-shape", (x,), {"mask": np.ones((3, 3), bool)}, match="mask must have the image's shape")
    R("mask-ragged", (x,), {"mask": RAGGED}, match="mask")
    R("mask-str", (x,), {"mask": np.full(x.shape, "yes")}, exc=TypeError, match="mask has dtype")
    R("mask-object", (x,), {"mask": np.full(x.shape, None, dtype=object)}, exc=TypeError,
      match="mask has dtype object")
    R("sigma-huge", (x, 1e12), exc=(ValueError, MemoryError), match="sigma|allocate")
    return rows


class _NoWrite:
    pass


def _other_rows():
    rows = []
    for v in (0, 1.5, "2", True, -10**6, [1]):
        rows.append(Row(f"set_workers-{v!r}", lambda v=v: imfilt.set_workers(v).__enter__(),
                        match="workers="))
    rows.append(Row("show_config-file-str", imfilt.show_config, ("out.txt",), exc=TypeError,
                    match="file="))
    rows.append(Row("show_config-file-object", imfilt.show_config, (_NoWrite(),), exc=TypeError,
                    match="file="))
    return rows


def _net_rows():
    rows = []
    x4 = np.ones((1, 2, 6, 7))
    w4 = np.ones((3, 2, 3, 3))
    wt = np.ones((2, 3, 3, 3))
    p1 = np.ones((1, 1, 2, 2))
    i1 = np.zeros((1, 1, 2, 2), dtype=np.int64)

    def R(id, func, *a, **k):
        rows.append(Row(f"{func.__name__}-{id}", func, *a, **k))

    # bad arrays for the first argument of every network operator
    first = [(imfilt.conv2d, "x", (w4,)), (imfilt.conv_transpose2d, "x", (wt,)),
             (imfilt.max_pool2d, "x", (2,)), (imfilt.min_pool2d, "x", (2,)),
             (imfilt.avg_pool2d, "x", (2,)), (imfilt.stochastic_pool2d, "x", (2,)),
             (imfilt.max_unpool2d, "x", (i1, 2)), (imfilt.upsample, "image", (2,)),
             (imfilt.pyramid_down, "image", ()), (imfilt.pyramid_up, "image", ())]
    for func, name, rest in first:
        for bad_name, bad, exc, match in BAD_IMAGES:
            if bad_name in ("generator", "dict", "bytes"):
                continue
            R(f"{name}-{bad_name}", func, (bad,) + rest, exc=exc,
              match=match.replace("image", name, 1))
    for func, w in ((imfilt.conv2d, w4), (imfilt.conv_transpose2d, wt)):
        for bad_name, bad, exc, match in BAD_IMAGES[:8]:
            R(f"weight-{bad_name}", func, (x4, bad), exc=exc,
              match=match.replace("image", "weight", 1))
        R("x-5d", func, (np.ones((1, 1, 2, 6, 7)), w), match="must have shape")
        R("x-1d", func, (np.ones(7), w), match="must have shape")
        R("x-0d", func, (np.float64(1.0), w), match="must have shape")
        R("weight-3d", func, (x4, np.ones((2, 3, 3))), match="weight")
        R("weight-empty", func, (x4, np.ones((w.shape[0], w.shape[1], 0, 3))), match="empty")
        R("groups-0", func, (x4, w), {"groups": 0}, match="groups=0")
        R("groups-1.5", func, (x4, w), {"groups": 1.5}, match="groups=1.5")
        R("groups-True", func, (x4, w), {"groups": True}, match="groups=True")
        R("groups-not-dividing", func, (x4, w), {"groups": 3}, match="groups=3")
        R("bias-shape", func, (x4, w, np.ones(2)), match="bias has shape")
        R("bias-str", func, (x4, w, "bias"), exc=TypeError, match="bias has dtype")
        R("bias-complex-real-input", func, (x4, w, np.ones(3) * 1j), exc=TypeError,
          match="bias")
        for v in (0, -1, 1.5, True, "2", (1, 2, 3), None):
            R(f"stride-{v!r}", func, (x4, w), {"stride": v}, exc=(ValueError, TypeError),
              match=re.escape(f"stride={v!r}"))
        R("dilation-0", func, (x4, w), {"dilation": 0}, match="dilation=0")
        R("workers-0", func, (x4, w), {"workers": 0}, match="workers=0")
        R("padding-negative", func, (x4, w), {"padding": -1}, match="padding=-1")
    f = imfilt.conv2d
    R("channels-mismatch", f, (x4, np.ones((3, 5, 3, 3))), match="expects C / groups = 5")
    R("padding-full", f, (x4, w4), {"padding": "full"}, match="padding='full'")
    R("padding-float", f, (x4, w4), {"padding": 1.5}, exc=(ValueError, TypeError), match="padding=1.5")
    R("output-empty", f, (np.ones((1, 2, 2, 2)), w4), match="output would be empty")
    R("zero-height", f, (np.ones((1, 2, 0, 5)), w4), match="output would be empty")
    R("huge-dilation", f, (x4, w4), {"dilation": 2**62}, match="dilated kernel")
    R("huge-padding", f, (x4, w4), {"padding": 2**62}, exc=(ValueError, MemoryError),
      match="dimension|allocate|padding")
    R("boundary-mirror", f, (x4, w4), {"boundary": "mirror"}, match="boundary='mirror'")
    f = imfilt.conv_transpose2d
    R("weight-layout-of-conv2d", f, (x4, np.ones((3, 2, 3, 3))), match="weight.shape\\[0\\] must equal")
    R("output_padding-too-big", f, (x4, wt), {"stride": 2, "output_padding": 2},
      match="output_padding=2 is not valid")
    R("output_padding-negative", f, (x4, wt), {"output_padding": -1}, match="output_padding=-1")
    R("padding-crops-everything", f, (x4, wt), {"padding": 10}, match="empty or negative")
    R("output_size-out-of-range", f, (x4, wt), {"output_size": (100, 100)}, match="output_size=")
    R("output_size-str", f, (x4, wt), {"output_size": "ab"}, exc=TypeError, match="output_size=")
    R("output_size-and-padding", f, (x4, wt), {"stride": 2, "output_padding": 1,
                                               "output_size": (13, 15)}, match="not both")
    R("huge-stride", f, (x4, wt), {"stride": 2**40}, exc=(ValueError, MemoryError),
      match="too big|allocate|stride")
    for func in (imfilt.max_pool2d, imfilt.min_pool2d, imfilt.avg_pool2d, imfilt.stochastic_pool2d):
        for v in (0, -1, 1.5, True, None, (2, 2, 2)):
            R(f"kernel_size-{v!r}", func, (x4, v), exc=(ValueError, TypeError),
              match=re.escape(f"kernel_size={v!r}"))
        R("kernel-larger-than-input", func, (x4, 100), match="too small for kernel_size=100")
        R("kernel-2**62", func, (x4, 2**62), match="too small for kernel_size=")
        R("stride-0", func, (x4, 2, 0), match="stride=0")
        R("x-5d", func, (np.ones((1, 1, 1, 4, 4)), 2), match="5 dimension")
        R("x-1d", func, (np.ones(4), 2), match="1 dimension")
        R("x-empty-plane", func, (np.ones((1, 1, 0, 4)), 2), match="empty plane")
        R("complex", func, (x4 + 1j, 2), exc=TypeError, match="complex")
        R("workers-float", func, (x4, 2), {"workers": 1.5}, match="workers=1.5")
        if func is not imfilt.avg_pool2d:
            R("return_indices-str", func, (x4, 2), {"return_indices": "yes"}, exc=TypeError,
              match="return_indices='yes'")
    for func in (imfilt.max_pool2d, imfilt.min_pool2d, imfilt.avg_pool2d):
        R("padding-over-half", func, (x4, 2), {"padding": 2}, match="at most half the kernel")
        R("padding-negative", func, (x4, 2), {"padding": -1}, match="padding=-1")
        R("ceil_mode-str", func, (x4, 2), {"ceil_mode": "yes"}, exc=TypeError, match="ceil_mode='yes'")
    for func in (imfilt.max_pool2d, imfilt.min_pool2d):
        R("dilation-huge", func, (x4, 2), {"dilation": 2**62}, match="dilation=")
    f = imfilt.avg_pool2d
    for v in (0, -1, 1.5, "2"):
        R(f"divisor_override-{v!r}", f, (x4, 2), {"divisor_override": v}, exc=(ValueError, TypeError),
          match=re.escape(f"divisor_override={v!r}"))
    R("count_include_pad-str", f, (x4, 2), {"count_include_pad": "x"}, exc=TypeError,
      match="count_include_pad='x'")
    f = imfilt.stochastic_pool2d
    R("negative-activations", f, (-x4, 2), match="non-negative activations")
    R("nan-activations", f, (x4 * np.nan, 2), match="holds NaN values")
    R("rng-str", f, (x4, 2), {"rng": "seed"}, exc=TypeError, match="rng='seed'")
    R("rng-negative", f, (x4, 2), {"rng": -1}, match="rng=-1")
    R("training-str", f, (x4, 2), {"training": "no"}, exc=TypeError, match="training='no'")
    R("indices-at-inference", f, (x4, 2), {"training": False, "return_indices": True},
      match="return_indices=True needs training=True")
    f = imfilt.max_unpool2d
    R("indices-out-of-range", f, (p1, np.full((1, 1, 2, 2), 100), 2), match="indices holds 100")
    R("indices-negative", f, (p1, np.full((1, 1, 2, 2), -1), 2), match="indices holds -1")
    R("indices-huge", f, (p1, np.full((1, 1, 2, 2), 2**62), 2), match="indices holds")
    R("indices-float", f, (p1, np.zeros((1, 1, 2, 2)), 2), exc=TypeError, match="indices has dtype float64")
    R("indices-shape", f, (p1, np.zeros((1, 1, 2, 3), int), 2), match="indices has shape")
    R("indices-None", f, (p1, None, 2), exc=TypeError, match="indices must be an array")
    R("indices-str", f, (p1, np.full((1, 1, 2, 2), "a"), 2), exc=TypeError, match="indices has dtype")
    R("output_size-out-of-range", f, (p1, i1, 2), {"output_size": (9, 9)}, match="output_size height 9")
    R("output-negative", f, (np.ones((1, 1, 1, 1)), np.zeros((1, 1, 1, 1), int), (1, 3)),
      {"padding": (0, 2)}, match="is negative; pass output_size")
    R("kernel-2**40", f, (p1, i1, 2**40), exc=(ValueError, MemoryError),
      match="dimension|allocate|kernel_size")
    f = imfilt.bilinear_kernel
    for v in (0, -1, 1.5, None, "2", (2, 0)):
        R(f"factor-{v!r}", f, (v,), exc=(ValueError, TypeError), match=re.escape(f"factor={v!r}"))
    R("factor-huge", f, (2**40,), exc=(ValueError, MemoryError), match="allocate|factor")
    f = imfilt.upsample
    for v in (0, -2, 1.5, None, (2, 0)):
        R(f"factor-{v!r}", f, (x4, v), exc=(ValueError, TypeError), match=re.escape(f"factor={v!r}"))
    R("method-cubic", f, (x4, 2, "cubic"), match="method='cubic' is not valid")
    R("method-None", f, (x4, 2, None), match="method=None is not valid")
    for func in (imfilt.upsample, imfilt.pyramid_down, imfilt.pyramid_up):
        extra = (2,) if func is imfilt.upsample else ()
        R("image-1d", func, (np.ones(5),) + extra, match="at least 2 dimensions")
        R("complex", func, (x4 + 1j,) + extra, exc=TypeError, match="real images only")
        R("axes-same", func, (x4,) + extra, {"axes": (0, 0)}, match="axes=\\(0, 0\\)")
        R("axes-out-of-range", func, (x4,) + extra, {"axes": (0, 9)}, match="axes=\\(0, 9\\)")
        R("axes-str", func, (x4,) + extra, {"axes": "ab"}, exc=TypeError, match="axes='ab'")
        R("workers-0", func, (x4,) + extra, {"workers": 0}, match="workers=0")
    R("empty-axis", imfilt.pyramid_down, (np.ones((0, 5)),), match="empty spatial axis")
    for v, exc in (((1, 4), ValueError), ((9, 8), ValueError), (4, TypeError),
                   ((2.5, 4), TypeError), ("22", TypeError)):
        R(f"dstsize-{v!r}", imfilt.pyramid_down, (x4,), {"dstsize": v}, exc=exc,
          match=r"dstsize.*(OpenCV's rule \|2\*dst - src\| <= 2|two integers)")
        R(f"dstsize-{v!r}", imfilt.pyramid_up, (x4,), {"dstsize": v}, exc=exc,
          match=r"dstsize.*(OpenCV's rule \|dst - 2\*src\| == dst % 2|two integers)")
    return rows


def _nan_policy_rows():
    rows = []
    x = img()
    nan = img()
    nan[2, 3] = np.nan
    funcs = dict(CONV, **{k: v for k, v in EDGE.items() if k != "canny"})
    for fname, f in funcs.items():
        args = (x, K3) if fname in CONV else (x,)
        for v in ("ignore", None, "OMIT", 0):
            rows.append(Row(f"{fname}-nan_policy-{v!r}", f, args, {"nan_policy": v},
                            match=re.escape(f"nan_policy={v!r} is not valid")))
        bad = (nan, K3) if fname in CONV else (nan,)
        rows.append(Row(f"{fname}-nan_policy-raise-on-nan", f, bad, {"nan_policy": "raise"},
                        match="image holds 1 NaN or inf value and nan_policy='raise'"))
    rows.append(Row("convolve-nan_policy-raise-kernel-inf", imfilt.convolve, (x, K3 * np.inf),
                    {"nan_policy": "raise"}, match="kernel holds 9 NaN or inf"))
    rows.append(Row("convolve-nan_policy-raise-fill-nan", imfilt.convolve, (x, K3, "same", "fill",
                                                                           np.nan),
                    {"nan_policy": "raise"}, match="fillvalue=nan is not finite"))
    return rows


MORPH = {name: getattr(imfilt, name) for name in (
    "minimum_filter", "maximum_filter", "erosion", "dilation", "opening", "closing",
    "white_tophat", "black_tophat", "morphological_gradient")}


def _morph_rows():
    """Grey morphology and the bilateral filter."""
    rows = []
    x = img()
    u8 = img(dtype=np.uint8)
    funcs = dict(MORPH, bilateral=imfilt.bilateral)
    for fname, f in funcs.items():
        rest = (5, 10.0, 2.0) if fname == "bilateral" else (3,)
        R = lambda id, *a, **k: rows.append(Row(f"{fname}-{id}", f, *a, **k))  # noqa: E731
        for name, bad, exc, match in BAD_IMAGES:
            R(f"image-{name}", (bad,) + rest, exc=exc, match=match)
        R("complex", (x + 1j,) + rest, exc=TypeError, match="complex")
        R("boundary-mirror", (x,) + rest, {"boundary": "mirror"}, match="boundary='mirror'")
        R("nan_policy-skip", (x,) + rest, {"nan_policy": "skip"}, match="nan_policy='skip'")
        R("workers-0", (x,) + rest, {"workers": 0}, match="workers=0")
        R("colour-ambiguous", (np.ones((5, 6, 3)),) + rest, match="channel_axis")
        if fname == "bilateral":
            R("diameter-float", (x, 2.5, 10.0, 2.0), exc=TypeError, match="diameter=2.5")
            R("sigma_color-0", (x, 5, 0.0, 2.0), match="sigma_color=0.0")
            R("sigma_space-nan", (x, 5, 1.0, np.nan), match="sigma_space=nan")
            R("image-1d", (np.ones(5), 5, 1.0, 1.0), match="2-D")
            continue
        R("size-None", (x,), match="size=")
        R("size-0", (x, 0), match="size=0")
        R("size-float", (x, 2.5), exc=TypeError, match="size=2.5")
        R("size-wrong-length", (x, (3, 3, 3)), exc=(TypeError, ValueError), match="size=")
        R("size-and-footprint", (x, 3), {"footprint": K3}, match="both")
        R("footprint-empty", (x,), {"footprint": np.zeros((3, 3), bool)}, match="no True")
        R("footprint-weights", (x,), {"footprint": K3 * 2}, match="flat")
        R("footprint-ndim", (x,), {"footprint": np.ones(3, bool)}, match="dimension")
        R("fillvalue-nan-int", (u8, 3), {"boundary": "fill", "fillvalue": np.nan},
          match="fillvalue=nan")
        R("fillvalue-str", (x, 3), {"boundary": "fill", "fillvalue": "0"}, exc=TypeError,
          match="fillvalue")
        R("image-0d", (np.float64(1.0), 3), match="scalar")
        R("nan-raise", (np.array([1.0, np.nan, 2.0]), 3), {"nan_policy": "raise"},
          match="nan_policy='raise'")
        R("out-overlap", (x, 3), {"out": x}, match="overlaps")
        R("out-dtype", (x, 3), {"out": np.empty(x.shape, np.float32)}, match="dtype")
    return rows


def _dask_rows():
    try:
        import dask.array as da
        import imfilt.dask as idask
    except ImportError:
        return []
    rows = []
    x = da.from_array(img((8, 9)), chunks=4)
    k = K3
    first = {"convolve": (k,), "correlate": (k,), "sobel": (), "scharr": (), "prewitt": (),
             "roberts": (), "laplace": (), "gradient": (), "max_pool2d": (2,),
             "min_pool2d": (2,), "avg_pool2d": (2,), "upsample": (2,)}
    for fname, rest in first.items():
        f = getattr(idask, fname)
        for name, bad, exc, match in BAD_IMAGES:
            if name in ("generator", "dict", "bytes"):
                continue
            rows.append(Row(f"dask.{fname}-image-{name}", f, (bad,) + rest, exc=exc,
                            match=match if "pool" not in fname else match.replace("image", "(image|x)", 1)))
        rows.append(Row(f"dask.{fname}-workers-0", f, (x,) + rest, {"workers": 0}, match="workers=0"))
    for fname in ("sobel", "laplace", "roberts"):
        f = getattr(idask, fname)
        rows.append(Row(f"dask.{fname}-1d", f, (da.ones(7),), match=r"ndim=1 \(shape \(7,\)\)"))
        rows.append(Row(f"dask.{fname}-boundary", f, (x,), {"boundary": "mirror"},
                        match="boundary='mirror'"))
    for fname in ("convolve", "correlate"):
        f = getattr(idask, fname)
        rows.append(Row(f"dask.{fname}-mode", f, (x, k, "FULL"), match="mode='FULL'"))
        rows.append(Row(f"dask.{fname}-stride-0", f, (x, k), {"stride": 0}, match="stride=0"))
        rows.append(Row(f"dask.{fname}-valid-mixed", f, (da.ones((3, 6)), np.ones((5, 2)), "valid"),
                        match="one of image and kernel must be at least as large"))
        rows.append(Row(f"dask.{fname}-empty-symm", f, (da.ones((0, 5)), k, "same", "symm"),
                        match="empty"))
        rows.append(Row(f"dask.{fname}-nan_policy", f, (x, k), {"nan_policy": "skip"},
                        match="nan_policy='skip'"))
        rows.append(Row(f"dask.{fname}-kernel-None", f, (x, None), exc=TypeError, match="kernel"))
    rows.append(Row("dask.max_pool2d-padding", idask.max_pool2d, (x, 2), {"padding": 2},
                    match="at most half the kernel"))
    rows.append(Row("dask.upsample-factor-0", idask.upsample, (x, 0), match="factor=0"))
    # the N-D filters: arguments are checked when the graph is built
    nd = {"gaussian": (1.0,), "unsharp_mask": (), "gaussian_laplace": (1.0,),
          "gaussian_gradient_magnitude": (1.0,), "difference_of_gaussians": (1.0,),
          "median": (3,), "rank_filter": (0, 3), "percentile_filter": (50, 3),
          "minimum_filter": (3,), "maximum_filter": (3,), "erosion": (3,), "dilation": (3,),
          "opening": (3,), "closing": (3,), "white_tophat": (3,), "black_tophat": (3,),
          "morphological_gradient": (3,), "bilateral": (5, 10.0, 2.0), "box": (3,)}
    for fname in idask.__all__:
        if fname not in nd:
            continue
        f = getattr(idask, fname)
        rest = nd[fname]
        rows.append(Row(f"dask.{fname}-boundary", f, (x,) + rest, {"boundary": "mirror"},
                        match="boundary='mirror'"))
        rows.append(Row(f"dask.{fname}-workers-0", f, (x,) + rest, {"workers": 0},
                        match="workers=0"))
        rows.append(Row(f"dask.{fname}-colour", f, (da.ones((5, 6, 3)),) + rest,
                        match="channel_axis=-1"))
    return rows


def _smoothing_rows():
    rows = []
    x = img((8, 9))
    funcs = {"gaussian": (imfilt.gaussian, (1.0,)), "box": (imfilt.box, (3,)),
             "unsharp_mask": (imfilt.unsharp_mask, (1.0,)),
             "gaussian_laplace": (imfilt.gaussian_laplace, (1.0,)),
             "gaussian_gradient_magnitude": (imfilt.gaussian_gradient_magnitude, (1.0,)),
             "difference_of_gaussians": (imfilt.difference_of_gaussians, (1.0,)),
             "gabor": (imfilt.gabor, (0.2,))}
    for fname, (f, rest) in funcs.items():
        R = lambda id, *a, **k: rows.append(Row(f"{fname}-{id}", f, *a, **k))  # noqa: E731
        for name, bad, exc, match in BAD_IMAGES:
            R(f"image-{name}", (bad,) + rest, exc=exc, match=match)
        R("boundary-mirror", (x,) + rest, {"boundary": "mirror"}, match="boundary='mirror'")
        R("workers-0", (x,) + rest, {"workers": 0}, match="workers=0")
        R("channel_axis-5", (np.ones((5, 6, 3)),) + rest, {"channel_axis": 5},
          match="channel_axis=5")
        if fname != "gabor":
            R("image-0d", (np.float64(1.0),) + rest, match="0-d")
            R("colour-ambiguous", (np.ones((5, 6, 3)),) + rest, match="channel_axis=-1")
            R("axes-repeated", (x,) + rest, {"axes": (0, 0)}, match="axes=")
            R("out-shape", (x,) + rest, {"out": np.zeros((2, 2))}, match="out has shape")
        if fname in ("gaussian", "unsharp_mask", "gaussian_laplace",
                     "gaussian_gradient_magnitude", "difference_of_gaussians"):
            for v in (-1.0, float("nan"), float("inf")):
                R(f"sigma-{v!r}", (x, v), match="not valid")
            R("sigma-str", (x, "1"), exc=TypeError, match="not valid")
            R("sigma-huge", (x, 1e12), match="taps")
    f = imfilt.gaussian
    R = lambda id, *a, **k: rows.append(Row(f"gaussian-{id}", f, *a, **k))  # noqa: E731
    R("order-negative", (x, 1.0), {"order": -1}, match="order=-1")
    R("radius-huge", (x, 1.0), {"radius": 10**9}, match="taps")
    R("truncate-nan", (x, 1.0), {"truncate": float("nan")}, match="truncate=nan")
    R("nan_policy", (x, 1.0), {"nan_policy": "skip"}, match="nan_policy='skip'")
    R("omit-derivative", (x, 1.0), {"order": 1, "nan_policy": "omit"}, match="order=0")
    rows.append(Row("box-size-0", imfilt.box, (x, 0), match="size=0"))
    rows.append(Row("difference_of_gaussians-high-below-low", imfilt.difference_of_gaussians,
                    (x, 2.0, 1.0), match="high_sigma"))
    rows.append(Row("unsharp_mask-clip-reversed", imfilt.unsharp_mask, (x, 1.0),
                    {"clip": (5, 1)}, match="clip"))
    for v in (0, -1, float("nan")):
        rows.append(Row(f"gabor_kernel-frequency-{v!r}", imfilt.gabor_kernel, (v,),
                        match="frequency"))
    rows.append(Row("gabor_kernel-dtype", imfilt.gabor_kernel, (0.2,), {"dtype": np.float64},
                    match="complex"))
    rows.append(Row("gaussian_kernel-sigma-negative", imfilt.gaussian_kernel, (-1.0,),
                    match="sigma"))
    rows.append(Row("gaussian_kernel-ndim-0", imfilt.gaussian_kernel, (1.0,), {"ndim": 0},
                    match="ndim=0"))
    return rows


def _rank_rows():
    rows = []
    x = img()
    for f, rest in ((imfilt.median, ()), (imfilt.rank_filter, (1, 3)),
                    (imfilt.percentile_filter, (50, 3))):
        R = lambda id, *a, f=f, **k: rows.append(Row(f"{f.__name__}-{id}", f, *a, **k))  # noqa: E731
        for name, bad, exc, match in BAD_IMAGES:
            R(f"image-{name}", (bad,) + rest, exc=exc, match=match)
        R("image-complex", (x.astype(complex),) + rest, exc=TypeError, match="complex")
        R("image-0d", (np.float64(1.0),) + rest, match="0-d")
        R("boundary-mirror", (x,) + rest, {"boundary": "mirror"}, match="boundary='mirror'")
        R("nan_policy-bad", (x,) + rest, {"nan_policy": "ignore"}, match="nan_policy='ignore'")
        R("workers-0", (x,) + rest, {"workers": 0}, match="workers=0")
        R("footprint-empty", (x,) + rest[:1], {"footprint": np.zeros((3, 3), bool)},
          match="footprint")
        R("footprint-ndim", (x,) + rest[:1], {"footprint": np.ones(3, bool)}, match="footprint")
        R("axes-twice", (x,) + rest, {"axes": (0, 0)}, match="axes=")
        R("out-dtype", (x,) + rest, {"out": np.empty(x.shape, np.float32)}, match="out")
    R = lambda id, *a, **k: rows.append(Row(f"median-{id}", imfilt.median, *a, **k))  # noqa: E731
    R("size-0", (x, 0), match="size=0")
    R("size-float", (x, 2.5), exc=TypeError, match="size=2.5")
    R("fill-nan-int", (x.astype(np.int16),), {"boundary": "fill", "fillvalue": np.nan},
      match="fillvalue=nan")
    R("colour-ambiguous", (np.ones((5, 5, 3)),), match="channel_axis=-1")
    R = lambda id, *a, **k: rows.append(Row(f"rank_filter-{id}", imfilt.rank_filter, *a, **k))  # noqa: E731
    R("rank-too-large", (x, 9, 3), match="rank=9 is not valid")
    R("rank-too-small", (x, -10, 3), match="rank=-10 is not valid")
    R("rank-float", (x, 1.5, 3), exc=TypeError, match="rank=1.5")
    R("no-size", (x, 0), exc=TypeError, match="size=")
    R = lambda id, *a, **k: rows.append(Row(f"percentile_filter-{id}", imfilt.percentile_filter, *a, **k))  # noqa: E731
    R("above-100", (x, 101, 3), match="percentile=101")
    R("nan", (x, float("nan"), 3), match="percentile=nan")
    R("str", (x, "50", 3), exc=TypeError, match="percentile='50'")
    return rows


ROWS = {r.id: r for r in _conv_rows() + _edge_rows() + _other_rows() + _net_rows()
        + _nan_policy_rows() + _dask_rows() + _smoothing_rows() + _morph_rows()
        + _rank_rows()}


def _arrays(value, found):
    if isinstance(value, np.ndarray):
        found.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _arrays(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            _arrays(v, found)
    return found


def run_row(row_id):
    """Run one row in this process; return a JSON-able report."""
    row = ROWS[row_id]
    arrays = _arrays([row.args, row.kwargs], [])
    # Broadcast views of "huge" arrays are read-only and too big to copy.
    arrays = [a for a in arrays if a.nbytes <= 2**26]
    before = [(a.copy(), a.flags.writeable) for a in arrays]
    report = {"raised": None, "message": "", "unchanged": True}
    try:
        row.func(*row.args, **row.kwargs)
    except BaseException as exc:  # noqa: BLE001 - the report says what it was
        report["raised"] = type(exc).__name__
        report["bases"] = [c.__name__ for c in type(exc).__mro__]
        report["message"] = str(exc)
        report["traceback"] = traceback.format_exc(limit=4)
    for a, (copy, writeable) in zip(arrays, before):
        if a.flags.writeable != writeable or a.tobytes() != copy.tobytes():
            report["unchanged"] = False
    return report


# ---------------------------------------------------------------------------
# the CLI catalogue: (id, argv template, exit status, stderr regex)

PNG_SIG = b"\x89PNG\r\n\x1a\n"


def make_cli_files(d):
    """Hostile files for the CLI rows, written into directory ``d``."""
    from PIL import Image

    os.makedirs(d, exist_ok=True)
    good = (np.arange(64 * 64) % 251).astype(np.uint8).reshape(64, 64)
    Image.fromarray(good).save(os.path.join(d, "good.png"))
    data = open(os.path.join(d, "good.png"), "rb").read()
    files = {
        "garbage.png": bytes(range(256)) * 4,
        "empty.png": b"",
        "truncated.png": data[: len(data) // 2],
        "header-only.png": data[:33],
        "bad-crc.png": data[:40] + bytes(b ^ 0xFF for b in data[40:60]) + data[60:],
        "text.jpg": b"this is not a jpeg\n",
        "truncated.tif": b"II*\x00\x08\x00\x00\x00\x10\x00",
        "garbage.bmp": b"BM" + b"\x00" * 10,
        "garbage.gif": b"GIF89a" + b"\xff" * 20,
    }
    # A PNG whose header claims 100000 x 100000 pixels (decompression bomb).
    import struct
    import zlib
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    chunk = lambda t, b: struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))  # noqa: E731
    files["bomb.png"] = PNG_SIG + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")
    for name, content in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(content)
    np.save(os.path.join(d, "cube.npy"), np.ones((2, 3, 7)))
    np.save(os.path.join(d, "complex.npy"), np.ones((4, 4), dtype=complex))
    np.save(os.path.join(d, "strings.npy"), np.array([["a", "b"]]))
    np.save(os.path.join(d, "empty.npy"), np.ones((0, 5)))
    np.save(os.path.join(d, "scalar.npy"), np.float64(1.0))
    np.save(os.path.join(d, "datetime.npy"), DATETIME)
    np.save(os.path.join(d, "objects.npy"), OBJ, allow_pickle=True)
    with open(os.path.join(d, "good.npy"), "wb") as f:
        np.save(f, good.astype(np.float32))
    npy = open(os.path.join(d, "good.npy"), "rb").read()
    with open(os.path.join(d, "truncated.npy"), "wb") as f:
        f.write(npy[: len(npy) // 2])
    with open(os.path.join(d, "kernel-complex.txt"), "w") as f:
        f.write("1+2j 0\n0 1\n")
    with open(os.path.join(d, "kernel-empty.txt"), "w") as f:
        f.write("")
    np.save(os.path.join(d, "kernel-3d.npy"), np.ones((2, 2, 2)))
    np.save(os.path.join(d, "kernel-wide.npy"), np.ones((1, 100)))
    np.save(os.path.join(d, "kernel-str.npy"), np.array([["a"]]))
    os.makedirs(os.path.join(d, "no-images"), exist_ok=True)
    with open(os.path.join(d, "no-images", "notes.txt"), "w") as f:
        f.write("nothing here")
    os.makedirs(os.path.join(d, "only-bad"), exist_ok=True)
    with open(os.path.join(d, "only-bad", "x.png"), "wb") as f:
        f.write(b"junk")
    with open(os.path.join(d, "a-file"), "w") as f:
        f.write("not a directory")


CLI_ROWS = [
    # unreadable inputs: exit 1, one line naming the file
    ("garbage-png", ["edges", "{d}/garbage.png", "-o", "{o}/x.png"], 1, r"cannot read .*garbage.png"),
    ("empty-png", ["edges", "{d}/empty.png", "-o", "{o}/x.png"], 1, r"cannot read .*empty.png"),
    ("truncated-png", ["edges", "{d}/truncated.png", "-o", "{o}/x.png"], 1, r"truncated.png"),
    ("header-only-png", ["edges", "{d}/header-only.png", "-o", "{o}/x.png"], 1, r"header-only.png"),
    ("bad-crc-png", ["edges", "{d}/bad-crc.png", "-o", "{o}/x.png"], 1, r"bad-crc.png"),
    ("bomb-png", ["edges", "{d}/bomb.png", "-o", "{o}/x.png"], 1, r"bomb.png"),
    ("text-as-jpg", ["edges", "{d}/text.jpg", "-o", "{o}/x.png"], 1, r"cannot read .*text.jpg"),
    ("truncated-tif", ["edges", "{d}/truncated.tif", "-o", "{o}/x.png"], 1, r"truncated.tif"),
    ("garbage-bmp", ["edges", "{d}/garbage.bmp", "-o", "{o}/x.png"], 1, r"garbage.bmp"),
    ("garbage-gif", ["convolve", "{d}/garbage.gif", "-o", "{o}/x.png", "--kernel", "1"], 1, r"garbage.gif"),
    ("truncated-npy", ["edges", "{d}/truncated.npy", "-o", "{o}/x.npy"], 1, r"truncated.npy"),
    ("3d-npy", ["edges", "{d}/cube.npy", "-o", "{o}/x.npy"], 1, r"unsupported image shape"),
    ("complex-npy", ["edges", "{d}/complex.npy", "-o", "{o}/x.npy"], 1, r"unsupported pixel type complex"),
    ("strings-npy", ["edges", "{d}/strings.npy", "-o", "{o}/x.npy"], 1, r"unsupported pixel type"),
    ("datetime-npy", ["edges", "{d}/datetime.npy", "-o", "{o}/x.npy"], 1, r"unsupported pixel type"),
    ("object-npy", ["edges", "{d}/objects.npy", "-o", "{o}/x.npy"], 1, r"objects.npy"),
    ("empty-npy", ["edges", "{d}/empty.npy", "-o", "{o}/x.npy"], 1, r"empty"),
    ("scalar-npy", ["convolve", "{d}/scalar.npy", "-o", "{o}/x.npy", "--kernel", "1"], 1, r"scalar.npy"),
    ("missing-file", ["edges", "{d}/nope.png", "-o", "{o}/x.png"], 1, r"no such file"),
    ("directory-without-images", ["edges", "{d}/no-images", "-o", "{o}/outdir"], 1, r"no image files"),
    ("directory-of-junk", ["edges", "{d}/only-bad", "-o", "{o}/outdir"], 1, r"x.png"),
    # unwritable outputs
    ("output-in-missing-dir", ["edges", "{d}/good.png", "-o", "{o}/missing/sub/x.png"], 1, r"cannot write"),
    ("output-under-a-file", ["edges", "{d}/good.png", "-o", "{d}/a-file/x.png"], 1, r"cannot write"),
    ("output-in-proc", ["edges", "{d}/good.png", "-o", "/proc/imfilt-x.png"], 1, r"cannot write"),
    # an output directory that cannot be made is a failure of the run (1), not of usage
    ("output-dir-under-a-file", ["edges", "{d}/good.png", "{d}/good.npy", "-o", "{d}/a-file/out/"], 1,
     r"a-file"),
    # .jpeg is a valid output; a suffix no writer knows is a usage error
    ("output-suffix", ["edges", "{d}/good.png", "-o", "{o}/x.xyz"], 2, r"unknown output suffix"),
    # bad kernels and options
    ("kernel-ragged", ["convolve", "{d}/good.png", "-o", "{o}/x.png", "--kernel", "1 2; 3"], 2,
     r"rows have different lengths"),
    ("kernel-words", ["convolve", "{d}/good.png", "-o", "{o}/x.png", "--kernel", "a b"], 2,
     r"not a number"),
    ("kernel-empty", ["convolve", "{d}/good.png", "-o", "{o}/x.png", "--kernel", " ; "], 2,
     r"--kernel is empty"),
    ("kernel-div-zero", ["convolve", "{d}/good.png", "-o", "{o}/x.png", "--kernel", "1/0"], 2,
     r"not a number"),
    ("kernel-nan", ["convolve", "{d}/good.png", "-o", "{o}/x.png", "--kernel", "nan 1"], 2,
     r"kernel"),
    ("kernel-file-missing", ["convolve", "{d}/good.png", "-o", "{o}/x.png", "--kernel-file",
                             "{d}/nope.txt"], 2, r"cannot be read"),
    ("kernel-file-complex", ["convolve", "{d}/good.png", "-o", "{o}/x.png", "--kernel-file",
                             "{d}/kernel-complex.txt"], 2, r"kernel-complex.txt"),
    ("kernel-file-empty", ["convolve", "{d}/good.png", "-o", "{o}/x.png", "--kernel-file",
                           "{d}/kernel-empty.txt"], 2, r"kernel-empty.txt"),
    ("kernel-file-3d", ["convolve", "{d}/good.png", "-o", "{o}/x.png", "--kernel-file",
                        "{d}/kernel-3d.npy"], 2, r"2-D array"),
    ("kernel-file-str", ["convolve", "{d}/good.png", "-o", "{o}/x.png", "--kernel-file",
                         "{d}/kernel-str.npy"], 2, r"real numbers"),
    ("kernel-file-is-image", ["convolve", "{d}/good.png", "-o", "{o}/x.png", "--kernel-file",
                              "{d}/good.png"], 2, r"cannot be read"),
    ("normalize-zero-sum", ["convolve", "{d}/good.png", "-o", "{o}/x.png", "--kernel", "1 -1",
                            "--normalize"], 2, r"sums to 0"),
    ("valid-kernel-too-big", ["convolve", "{d}/good.png", "-o", "{o}/x.npy", "--mode", "valid",
                              "--kernel-file", "{d}/kernel-wide.npy"], 1,
     r"good.png.*one of image and kernel must be at least as large"),
    ("workers-huge-negative", ["edges", "{d}/good.png", "-o", "{o}/x.png", "--workers", "-100000"], 2,
     r"workers=-100000"),
    ("workers-float", ["edges", "{d}/good.png", "-o", "{o}/x.png", "--workers", "1.5"], 2, r"workers="),
    ("sigma-inf", ["edges", "{d}/good.png", "-o", "{o}/x.png", "--operator", "canny", "--sigma",
                   "inf"], 2, r"--sigma 'inf' must be a finite number"),
    ("low-nan", ["edges", "{d}/good.png", "-o", "{o}/x.png", "--operator", "canny", "--low", "nan"], 2,
     r"--low 'nan'"),
    ("no-command", [], 2, r"required: COMMAND|the following arguments are required"),
    ("unknown-command", ["blur", "{d}/good.png"], 2, r"invalid choice: 'blur'"),
    ("format-bad", ["edges", "{d}/good.png", "-o", "{o}/x.png", "--format", "jpg"], 2, r"invalid choice"),
]
CLI = {r[0]: r for r in CLI_ROWS}


def run_cli_row(row_id, d, o):
    from imfilt.cli import main

    _, argv, _, _ = CLI[row_id]
    argv = [a.format(d=d, o=o) for a in argv]
    err, out = io.StringIO(), io.StringIO()
    report = {"raised": None}
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            report["status"] = main(argv)
        except BaseException as exc:  # noqa: BLE001
            report["raised"] = f"{type(exc).__name__}: {exc}"
    report["stderr"] = err.getvalue()
    return report


# ---------------------------------------------------------------------------
# the child process


def _serve():
    """Child: read ``kind id`` lines, answer one JSON line each."""
    d, o = sys.argv[1], sys.argv[2]
    # A row that tries to allocate absurd memory must fail with MemoryError
    # here, not make the kernel's OOM killer pick a process on a shared machine.
    limit = 8 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    make_cli_files(d)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        kind, row_id = line.rstrip("\n").split(" ", 1)
        if kind == "cli":
            os.makedirs(o, exist_ok=True)
            report = run_cli_row(row_id, d, o)
        else:
            report = run_row(row_id)
        print(json.dumps(report), flush=True)


class Child:
    def __init__(self, d, o):
        self.d, self.o = d, o
        self.proc = None

    def start(self):
        code = ("import sys; sys.path.insert(0, %r); import test_hostile; test_hostile._serve()"
                % HERE)
        env = dict(os.environ, PYTHONFAULTHANDLER="1", OMP_NUM_THREADS="2")
        self.proc = subprocess.Popen([sys.executable, "-c", code, self.d, self.o],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env,
                                     cwd=os.path.dirname(HERE))
        ready = self._read(120)
        assert ready == {"ready": True}, ready

    def _read(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            self.kill()
            return {"hang": True}
        line = self.proc.stdout.readline()
        if not line:
            rc = self.proc.wait()
            err = self.proc.stderr.read()
            self.proc = None
            return {"died": rc, "stderr": err[-3000:]}
        return json.loads(line)

    def ask(self, kind, row_id, timeout=TIMEOUT):
        if self.proc is None:
            self.start()
        self.proc.stdin.write(f"{kind} {row_id}\n")
        self.proc.stdin.flush()
        return self._read(timeout)

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture(scope="module")
def child(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    c = Child(str(base / "in"), str(base / "out"))
    yield c
    c.kill()


def _check_alive(report, row_id):
    assert "hang" not in report, f"{row_id}: no answer within {TIMEOUT} s (hang)"
    assert "died" not in report, (f"{row_id}: the process died with status {report.get('died')} "
                                  f"(crash):\n{report.get('stderr')}")


@pytest.mark.parametrize("row_id", list(ROWS))
def test_hostile_call(child, row_id):
    row = ROWS[row_id]
    report = child.ask("call", row_id)
    _check_alive(report, row_id)
    expected = tuple(e.__name__ for e in row.exc)
    assert report["raised"] is not None, f"{row_id}: returned normally, expected {expected}"
    assert set(report.get("bases", [report["raised"]])) & set(expected), (
        f"{row_id}: raised {report['raised']}: {report['message']}, expected {expected}\n"
        f"{report.get('traceback')}")
    assert re.search(row.match, report["message"]), (
        f"{row_id}: message {report['message']!r} does not match {row.match!r}")
    assert "\n" not in report["message"].strip(), f"{row_id}: multi-line message"
    assert report["unchanged"], f"{row_id}: an input array was modified"


@pytest.mark.parametrize("row_id", list(CLI))
def test_hostile_cli(child, row_id):
    _, _, status, pattern = CLI[row_id]
    report = child.ask("cli", row_id)
    _check_alive(report, row_id)
    assert report["raised"] is None, f"{row_id}: main() raised {report['raised']}"
    err = report["stderr"]
    assert report["status"] == status, f"{row_id}: exit status {report['status']}, stderr {err!r}"
    assert "Traceback" not in err
    assert re.search(pattern, err), f"{row_id}: stderr {err!r} does not match {pattern!r}"
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("usage:")
             and not ln.startswith("       ")]
    assert len(lines) == 1, f"{row_id}: expected one message line, got {lines}"
    assert "unexpected" not in err, f"{row_id}: an unexpected exception reached the CLI: {err}"


def test_cli_inputs_are_never_modified(child, tmp_path):
    """Every hostile file is byte-for-byte the same after all the CLI rows ran."""
    d = child.d
    if not os.path.isdir(d):
        child.ask("cli", "missing-file")
    before = {n: open(os.path.join(d, n), "rb").read() for n in sorted(os.listdir(d))
              if os.path.isfile(os.path.join(d, n))}
    for row_id in ("garbage-png", "truncated-npy", "bomb-png", "output-under-a-file"):
        _check_alive(child.ask("cli", row_id), row_id)
    after = {n: open(os.path.join(d, n), "rb").read() for n in before}
    assert before == after


def test_real_subprocess_corrupt_file_exit_status(tmp_path):
    """The installed entry point, not main(): exit status and one stderr line."""
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    proc = subprocess.run([sys.executable, "-m", "imfilt", "edges", str(bad), "-o",
                           str(tmp_path / "o.png")], capture_output=True, text=True,
                          timeout=120, cwd=os.path.dirname(HERE))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "bad.png" in proc.stderr


def test_catalogue_covers_every_public_function():
    """Every callable in imfilt.__all__ has at least one row."""
    covered = {r.func for r in ROWS.values()}
    names = {r.id.split("-")[0] for r in ROWS.values()}
    missing = []
    for name in imfilt.__all__:
        obj = getattr(imfilt, name)
        if not callable(obj) or name in ("get_workers", "openmp_enabled"):
            continue  # no arguments to get wrong
        if obj not in covered and name not in names:
            missing.append(name)
    assert not missing, f"no hostile rows for {missing}"
    try:
        import imfilt.dask as idask
    except ImportError:
        return
    dask_missing = [n for n in idask.__all__ if f"dask.{n}" not in names]
    assert not dask_missing, f"no hostile rows for imfilt.dask.{dask_missing}"


if __name__ == "__main__":
    _serve()


def test_sizes_and_gabor_parameters_beyond_what_can_be_computed():
    # Refused with a ValueError naming the parameter, never a MemoryError,
    # an OverflowError or a kernel of NaN.  (Minimum/maximum filters cut
    # such sizes to what reaches the whole image: test_morphology.)
    x = np.ones((6, 6))
    for call, name in [(lambda: imfilt.median(x, 10 ** 9), "size"),
                       (lambda: imfilt.gabor_kernel(0.1, bandwidth=2000), "bandwidth"),
                       (lambda: imfilt.gabor_kernel(1e300), "frequency"),
                       (lambda: imfilt.gabor(x, 0.1, sigma_x=1e-200), "sigma_x"),
                       (lambda: imfilt.gaussian_kernel(1.0, ndim=10 ** 9), "ndim"),
                       (lambda: imfilt.gaussian_kernel(1.0, ndim=64), "ndim"),
                       (lambda: imfilt.gaussian_kernel(1.0, order=10 ** 9), "order"),
                       (lambda: imfilt.gaussian(x, 1.0, order=400), "order")]:
        with pytest.raises(ValueError, match=name):
            call()


def test_strides_paddings_and_dilations_beyond_what_can_be_computed():
    # Integers beyond 64-bit indexing, and outputs or index maps larger than
    # the machine's memory, are a ValueError naming the parameter (not an
    # OverflowError, a MemoryError or the kernel's out-of-memory kill).
    x4 = np.ones((1, 1, 8, 8))
    k4 = np.ones((1, 1, 3, 3))
    x = x4[0, 0]
    for call, name in [(lambda: imfilt.convolve(x, np.ones((3, 3)), "same", stride=10 ** 23),
                        "stride=100000000000000000000000 is not valid; every value must be <= 2"),
                       (lambda: imfilt.max_pool2d(x4, 2, stride=10 ** 23), "stride"),
                       (lambda: imfilt.avg_pool2d(x4, 2, stride=10 ** 23), "stride"),
                       (lambda: imfilt.conv2d(x4, k4, padding=10 ** 23), "padding"),
                       (lambda: imfilt.conv2d(x4, k4, padding=10 ** 6),
                        "padding=1000000 asks for an output"),
                       (lambda: imfilt.conv_transpose2d(x4, k4, stride=10 ** 7), "stride"),
                       (lambda: imfilt.convolve(x, np.ones((3, 3)), "same", dilation=10 ** 9),
                        "dilation=.* asks for boundary index maps"),
                       (lambda: imfilt.canny(x, sigma=1e9), "sigma")]:
        with pytest.raises(ValueError, match=name):
            call()


def test_wrong_types_are_type_errors_and_0d_axes_are_ints():
    # The same kind of mistake gets the same kind of error in every function:
    # a wrong type is a TypeError (still a ValueError for older callers),
    # a bad value of the right type a plain ValueError.
    image = np.random.default_rng(0).random((16, 17))
    x4 = np.ones((1, 2, 5, 5))
    calls = [lambda v: imfilt.avg_pool2d(image, 2, divisor_override=v),
             lambda v: imfilt.conv2d(x4, np.ones((2, 2, 3, 3)), groups=v),
             lambda v: imfilt.upsample(image, 2, method=v),
             lambda v: imfilt.gaussian_kernel(1.0, ndim=v)]
    for call in calls:
        for bad in ("abc", 2.0, True, None if call is not calls[0] else [1]):
            if call is calls[2] and bad == "abc":
                continue        # (a string is the right type for method)
            with pytest.raises(TypeError, match="is not valid"):
                call(bad)
    with pytest.raises(ValueError, match="is not valid") as info:
        imfilt.avg_pool2d(image, 2, divisor_override=0)
    assert not isinstance(info.value, TypeError)
    with pytest.raises(ValueError, match="is not valid") as info:
        imfilt.gaussian_kernel(1.0, ndim=65)
    assert not isinstance(info.value, TypeError)
    assert np.array_equal(imfilt.gaussian(image, 1.0, axes=np.array(0)),
                          imfilt.gaussian(image, 1.0, axes=0))
    assert np.array_equal(imfilt.median(image, 3, axes=np.array(1)),
                          imfilt.median(image, 3, axes=1))


@pytest.mark.parametrize("func", [imfilt.median, imfilt.gaussian, imfilt.erosion])
def test_masked_out_is_refused(func):
    image = np.random.default_rng(0).random((16, 17))
    out = np.ma.masked_array(np.zeros_like(image), mask=np.zeros(image.shape, bool))
    kw = {"sigma": 1.0} if func is imfilt.gaussian else {"size": 3}
    with pytest.raises(TypeError, match="out is a masked array"):
        func(image, out=out, **kw)


@pytest.mark.parametrize("call", [
    lambda a: imfilt.sobel(np.ones((6, 7)), channel_axis=a),
    lambda a: imfilt.canny(np.ones((6, 7)), channel_axis=a),
    lambda a: imfilt.gabor(np.ones((6, 7)), 0.2, channel_axis=a),
    lambda a: imfilt.bilateral(np.ones((6, 7)), 5, 0.1, 2.0, channel_axis=a),
    lambda a: imfilt.gaussian(np.ones((6, 7)), 1.0, channel_axis=a)])
def test_channel_axis_type_is_named_before_the_image_shape(call):
    # A wrong type is a TypeError whatever the image's dimensions (on a 2-D
    # image it was reported as a dimension problem).
    for bad in ("abc", 1.5, True):
        with pytest.raises(TypeError, match=rf"channel_axis={re.escape(repr(bad))} is not valid"):
            call(bad)


def test_results_and_masks_larger_than_memory_fail_at_once():
    image = np.random.default_rng(0).random((16, 17))
    with pytest.raises(ValueError, match=r"dilation=.*mode='full'.* asks for a result of shape "
                                         r"\(200016, 200017\).*use a smaller dilation"):
        imfilt.convolve(image, np.ones((3, 3)), dilation=10**5)
    with pytest.raises(ValueError, match=r"an image of shape \(0, 1099511627776\) \(mode='full'"
                                         r"\) asks for a result"):
        imfilt.convolve(np.empty((0, 2**40)), np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"dilation=.* asks for a dilated kernel"):
        imfilt.convolve(np.ones((50, 60)), np.ones((2, 2)), mode="valid", dilation=10**5)
    # 'same' and 'valid' results do not grow with the dilation: the image is named
    with pytest.raises(ValueError, match=r"an image of shape \(200000, 200000\) \(mode='same'\)"):
        imfilt.convolve(np.broadcast_to(1.0, (200000, 200000)), np.ones((3, 3)), mode="same",
                        dilation=2)
    huge = np.broadcast_to(True, (2**20, 2**20))
    for func in (imfilt.sobel, imfilt.laplace, imfilt.canny):
        with pytest.raises(ValueError, match="mask"):
            func(image, mask=huge)


def test_messages_suggest_only_what_the_function_has():
    image = np.random.default_rng(0).random((16, 17))
    for func in (imfilt.median, imfilt.erosion):
        with pytest.raises(ValueError) as info:
            func(image, 3, out=np.zeros(image.shape, np.float32))
        assert "allocate out with dtype=float64" in str(info.value)
        assert "pass dtype" not in str(info.value)
    with pytest.raises(ValueError, match="or pass dtype=float32"):
        imfilt.gaussian(image, 1.0, out=np.zeros(image.shape, np.float32))
    with pytest.raises(ValueError, match="Did you mean 'same'"):
        imfilt.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), padding="Same")
    with pytest.raises(ValueError, match="count back from all cores"):
        imfilt.gaussian(image, 1.0, workers=0)


def test_regression_corners_of_the_shared_validators():
    image = (np.random.default_rng(0).random((32, 32)) * 255).astype(np.uint8)
    # canny quotes a default threshold in the caller's units (uint8: 10 % of 255)
    with pytest.raises(ValueError, match=r"low_threshold \(default 25.5\) is above "
                                         r"high_threshold=20"):
        imfilt.canny(image, 1.0, None, 20)
    # axes echo what was passed, and 0-d array items are their values
    with pytest.raises(TypeError, match=r"axes=array\(1\.\) is not valid"):
        imfilt.gaussian(np.zeros((6, 7, 3)), 1, axes=np.array(1.0))
    assert np.array_equal(imfilt.gaussian(image, 1, axes=(np.array(0), np.array(1))),
                          imfilt.gaussian(image, 1, axes=(0, 1)))
    # a timedelta is not a number
    with pytest.raises(TypeError, match="sigma=.* is not valid; use a real number"):
        imfilt.canny(image, sigma=np.timedelta64(1, "s"))
