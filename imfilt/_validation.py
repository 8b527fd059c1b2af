"""Input normalisation shared by every public function.

Validation happens here, in Python, before any kernel releases the GIL:
arrays are checked for a numeric dtype, the dtype policy of imfilt (see
``result_dtypes``) is applied, and parameters are turned into plain values.

Error policy (every public function follows it):

- an argument of the wrong *type* (a string where a number is expected, a
  number where a name is expected, a float where an integer is expected)
  raises ``TypeError``;
- an argument of the right type but a wrong *value* (an unknown name, a
  negative size, an axis out of range) raises ``ValueError``;
- the message names the argument, echoes the value with ``repr`` and says
  what is accepted (the list of choices, the valid range), with a hint when
  the value is a known spelling from another library.

Wrong types of parameters (names, sizes, axes, workers) raise
:class:`ParameterTypeError`, a ``TypeError`` that is also a ``ValueError``:
imfilt 0.1 raised ``ValueError`` for them, and code catching that keeps
working.
"""

import functools
import math
import numbers
import os
import sys
import warnings

import numpy as np

__all__ = ["as_array", "result_dtypes", "as_fillvalue", "order_fill", "order_fill_as",
           "check_choice",
           "choice_error", "is_integer_like", "ParameterTypeError", "ParsedCache"]


#: Longest 1-D kernel a filter builds from a scale (a Gaussian's sigma, a
#: box's size), in taps: beyond it the scale is surely a mistake (and the
#: weights alone would take gigabytes).
MAX_TAPS = 1 << 24


def gaussian_radius(name, sigma, truncate=4.0, ndim=1):
    """scipy.ndimage's Gaussian radius ``int(truncate * sigma + 0.5)``, or a
    ``ValueError`` naming ``name=sigma`` when the ``ndim``-D kernel would
    hold more than ``MAX_TAPS`` points."""
    radius = int(truncate * float(sigma) + 0.5)
    if (2 * radius + 1) ** ndim > MAX_TAPS:
        side = "x".join([str(2 * radius + 1)] * ndim)
        raise ValueError(f"{name}={sigma!r} gives a Gaussian of {side} taps (more than "
                         f"{MAX_TAPS}); use a smaller {name}")
    return radius


class ParameterTypeError(TypeError, ValueError):
    """A parameter of the wrong type (also a ``ValueError``, for compatibility)."""


def choice_error(name, value, choices, hint=None, exc=ValueError):
    """The error for ``name=value`` outside ``choices`` (a string listing them).

    The message names the argument, echoes the value and lists the choices;
    ``hint`` (e.g. ``"'reflect'"``) is appended as "Did you mean ...?".
    """
    msg = f"{name}={value!r} is not valid; choose one of {choices}"
    if hint:
        msg += f". Did you mean {hint}?"
    return exc(msg)


def _format_choices(choices, aliases):
    parts = []
    for c in choices:
        alts = [a for a, target in (aliases or {}).items() if target == c and a != c]
        parts.append(repr(c) + (f" (or {', '.join(repr(a) for a in alts)})" if alts else ""))
    return ", ".join(parts)


def check_choice(name, value, choices, *, aliases=None, hints=None):
    """Validate a string choice and return its canonical spelling.

    Parameters
    ----------
    name : str
        The argument's name, used in the error message.
    value : object
        What the caller passed.
    choices : sequence of str
        The canonical names, in documentation order.
    aliases : dict, optional
        Other accepted spellings -> canonical name.
    hints : dict, optional
        Known wrong spellings (lower case) -> a suggestion shown in the
        error (e.g. another library's name for the same thing).

    Returns
    -------
    str
        The canonical name.

    Raises
    ------
    TypeError
        ``value`` is not a string.
    ValueError
        ``value`` is not one of ``choices`` or ``aliases``.

    Examples
    --------
    >>> check_choice("mode", "same", ("full", "same", "valid"))
    'same'
    >>> check_choice("boundary", "nearest", ("edge",), aliases={"nearest": "edge"})
    'edge'
    >>> check_choice("mode", "Same", ("full", "same", "valid"))
    Traceback (most recent call last):
    ...
    ValueError: mode='Same' is not valid; choose one of 'full', 'same', 'valid'. Did you mean 'same'?
    """
    if isinstance(value, str):
        if value in choices:
            return value
        if aliases and value in aliases:
            return aliases[value]
    listed = _format_choices(choices, aliases)
    if not isinstance(value, str):
        raise choice_error(name, value, listed, exc=ParameterTypeError)
    key = value.strip().lower()
    hint = None
    if key in choices or (aliases and key in aliases):
        hint = repr(key)
    elif hints and key in hints:
        hint = hints[key]
    raise choice_error(name, value, listed, hint)

_FLOAT32_KINDS = {"b"}  # bool computes in float32
_SMALL_INTS = {np.dtype(t) for t in ("int8", "uint8", "int16", "uint16")}
_LARGE_INTS = {np.dtype(t) for t in ("int32", "uint32", "int64", "uint64")}
_SUPPORTED_OUT = [
    np.dtype(t)
    for t in ("float16", "float32", "float64", "complex64", "complex128",
              "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")
]


def _dtype_error(name, dtype):
    return TypeError(
        f"{name} has dtype {dtype} ({dtype.str}), which imfilt cannot filter; "
        "use a boolean, integer, float32/float64 or complex64/complex128 array"
    )


def as_array(value, name):
    """``np.asarray(value)`` with a numeric-dtype check that names ``name``."""
    if value is None:
        raise TypeError(f"{name} must be an array, got None")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    dt = arr.dtype
    if dt.kind not in "biufc":
        raise _dtype_error(name, dt)
    if dt.kind in "fc" and dt.itemsize > (8 if dt.kind == "f" else 16):
        raise TypeError(
            f"{name} has dtype {dt}; extended precision is not supported. "
            f"Cast it first, e.g. {name}.astype(np.float64)"
        )
    return arr


def _policy(dtype):
    """Compute dtype for an image dtype (the policy of ``result_dtypes``)."""
    dtype = dtype.newbyteorder("=")
    if dtype.kind == "b" or dtype in _SMALL_INTS or dtype == np.float16:
        return np.dtype(np.float32)
    if dtype in _LARGE_INTS:
        return np.dtype(np.float64)
    return dtype


def _complexify(dtype):
    """complex64 for float32, complex128 for float64."""
    return np.dtype(np.complex64) if dtype == np.float32 else np.dtype(np.complex128)


def result_dtypes(image_dtype, kernel_dtype, dtype=None):
    """Return ``(compute_dtype, output_dtype)`` for a filtering call.

    Rules: the output follows the image.  float32 stays float32 whatever the
    kernel; float64 stays float64; complex if either input is complex, at the
    image's precision; bool, float16 and 8/16-bit integers compute and return
    float32; 32/64-bit integers compute and return float64.  ``dtype``
    overrides the output: floats compute at their own precision, integers
    compute in float32 (8/16-bit) or float64 (wider) and are then rounded to
    nearest and saturated.
    """
    compute = _policy(image_dtype)
    if kernel_dtype.kind == "c" and compute.kind != "c":
        compute = _complexify(compute)
    if dtype is None:
        return compute, compute
    try:
        out = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype={dtype!r} is not a NumPy dtype") from None
    out = out.newbyteorder("=")
    if out not in _SUPPORTED_OUT:
        raise TypeError(
            f"dtype={out} is not supported; choose one of "
            + ", ".join(str(d) for d in _SUPPORTED_OUT)
        )
    if out.kind in "iu" or out == np.float16:
        if compute.kind == "c":
            raise TypeError(
                f"dtype={out} would discard the imaginary part of a complex result; "
                "use a complex dtype, or filter the real part yourself"
            )
        if out.kind in "iu" and out.itemsize >= 4:
            compute = np.dtype(np.float64)
        return compute, out
    if out.kind == "f":
        if compute.kind == "c":
            raise TypeError(
                f"dtype={out} would discard the imaginary part of a complex result; "
                "use a complex dtype, or filter the real part yourself"
            )
        return out, out
    return out, out  # complex output: compute at that precision


_FLOAT64_MAX = int(np.finfo(np.float64).max)


def as_fillvalue(fillvalue, compute_dtype):
    """A scalar fill value of the compute dtype (complex allowed only then)."""
    if type(fillvalue) is float:          # the common cases, as they are
        return fillvalue
    if type(fillvalue) is int:
        if compute_dtype.kind in "fc" and not -_FLOAT64_MAX <= fillvalue <= _FLOAT64_MAX:
            raise ValueError(f"fillvalue={fillvalue!r} is beyond the range of float64 "
                             f"(+-{_FLOAT64_MAX:.4g}); use a smaller number or +-inf")
        return fillvalue
    if isinstance(fillvalue, (bool, np.bool_)):
        fillvalue = int(fillvalue)
    try:
        arr = np.asarray(fillvalue)
    except (ValueError, TypeError):
        arr = np.asarray(fillvalue, dtype=object)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"fillvalue must be a number, got {fillvalue!r}")
    if arr.size != 1:
        raise ValueError(
            f"fillvalue must be a scalar (or a one-element array), got an array of shape {arr.shape}"
        )
    value = arr.reshape(()).item()
    if isinstance(value, complex) and compute_dtype.kind != "c":
        if value.imag != 0:
            raise ValueError(
                f"fillvalue={value!r} is complex but the result is real ({compute_dtype}); "
                "use a real fillvalue or a complex image/kernel"
            )
        value = value.real
    return value


def order_fill(fillvalue, dtype):
    """The fill value of a filter that selects values (rank, min/max, morphology).

    Returns a Python number that orders among the values of an image of
    ``dtype`` as ``fillvalue`` does, and is what the filter outputs where it
    selects the fill.  Floats: the value (the kernel rounds it to the
    image's precision, which keeps its order).  Integers and bool: truncated
    toward zero (a fractional value sorts between the same integers as its
    truncation; ``scipy.ndimage`` truncates ``cval`` too) and saturated at
    the dtype's range (``scipy.ndimage`` wraps an out-of-range ``cval``
    around instead, so that -1 acts as 255 on uint8); NaN raises.
    """
    value = fillvalue.item() if isinstance(fillvalue, np.generic) else fillvalue
    if isinstance(value, np.floating):      # longdouble's item() stays a NumPy scalar
        value = float(value)
    if isinstance(value, complex):
        if value.imag != 0:
            raise TypeError(f"fillvalue={fillvalue!r} is complex; a filter that selects "
                            "values needs a real fillvalue")
        value = value.real
    if not isinstance(value, (int, float)):  # bool is an int
        raise TypeError(f"fillvalue must be a real number, got {fillvalue!r}")
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return float(value)
    if isinstance(value, float):
        if value != value:
            raise ValueError(f"fillvalue={fillvalue!r} is NaN, which a {dtype} image cannot "
                             "hold; use a finite fillvalue or a floating-point image")
        if abs(value) != float("inf"):
            value = int(value)   # toward zero
    lo, hi = _int_range(dtype)
    return int(min(max(value, lo), hi))


def order_fill_as(value, dtype):
    """``value`` (an ``order_fill`` result) as a scalar of the kernel dtype
    ``dtype``: a float beyond that dtype's range becomes +-inf, which orders
    as the number does, without NumPy's overflow warning."""
    with np.errstate(over="ignore"):
        return np.dtype(dtype).type(value)


@functools.lru_cache(maxsize=64)
def _int_range(dtype):
    """The least and greatest value of an integer or bool ``dtype``."""
    if dtype.kind == "b":
        return 0, 1
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def as_real(name, value, *, low=None, high=None, positive=False):
    """``value`` as a finite float, the one check of real scalar parameters.

    A Python or NumPy real number, or a 0-d array of one, is taken (bool is
    not a number here).  Any other type raises ``ParameterTypeError``; NaN,
    inf and values outside ``[low, high]`` (or not above 0 with
    ``positive``) raise ``ValueError``, each naming ``name=value``.
    """
    v = value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value
    if (isinstance(v, (bool, np.bool_, np.timedelta64)) or not isinstance(v, numbers.Real)):
        raise ParameterTypeError(f"{name}={value!r} is not valid; use a real number")
    try:
        v = float(v)
    except OverflowError:           # an int beyond float64's range
        v = math.inf
    if (not math.isfinite(v) or (low is not None and v < low) or (high is not None and v > high)
            or (positive and v <= 0)):
        bound = (f" between {low} and {high}" if high is not None else f" >= {low}"
                 if low is not None else " > 0" if positive else "")
        raise ValueError(f"{name}={value!r} is not valid; use a finite number{bound}")
    return v


def as_int(name, value, *, low, high=None, use):
    """``value`` as an int in ``[low, high]``: ``ParameterTypeError`` for
    another type (bool included), ``ValueError`` out of range, both saying
    ``name=value is not valid; use <use>``."""
    if not is_integer_like(value):
        raise ParameterTypeError(f"{name}={value!r} is not valid; use {use}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name}={value!r} is not valid; use {use}")
    return int(value)


def is_integer_like(value):
    """True for Python/NumPy integers, False for bool and everything else."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


class ParsedCache:
    """Arguments already parsed, by their raw values: repeated calls skip parsing.

    Parsing a public function's arguments (names to canonical names, sizes
    to tuples, footprints, fill values) is pure: the same raw arguments and
    the same image shape and dtype always give the same result or the same
    error.  On a call that starts from cold caches (a script that did other
    work since its last filter call) those few dozen small Python calls cost
    tens of microseconds each, more than a 3x3 median of a megapixel image.
    ``key(*args)`` is a key for arguments of plain types only (int, bool,
    float, str, None, tuples of int): the type is part of the key, so that
    ``3``, ``3.0`` and ``True`` stay apart, and a float keeps its sign, so
    that ``-0.0`` stays apart from ``0.0``.  Anything else (arrays, lists,
    NumPy scalars) gives ``None``: those calls are parsed every time.  The
    cache holds at most ``maxsize`` entries (cleared when full); errors are
    never stored, so a bad call raises every time.
    """

    _SCALARS = frozenset((int, bool, str, type(None)))

    def __init__(self, maxsize=64):
        self.maxsize = maxsize
        self._parsed = {}

    def key(self, *args):
        """A key for ``args``, or None when one of them is not of a plain type."""
        parts = []
        for value in args:
            kind = type(value)
            if kind in self._SCALARS:
                parts.append((kind, value))
            elif kind is float:
                parts.append((kind, value, math.copysign(1.0, value)))
            elif kind is tuple and all(type(v) is int for v in value):
                parts.append((kind, value))
            else:
                return None
        return tuple(parts)

    def get(self, key):
        """The parsed arguments stored under ``key`` (None: not stored)."""
        return None if key is None else self._parsed.get(key)

    def put(self, key, parsed):
        """Store ``parsed`` under ``key`` (nothing when ``key`` is None)."""
        if key is not None:
            if len(self._parsed) >= self.maxsize:
                self._parsed.clear()
            self._parsed[key] = parsed
        return parsed


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

def warn(message, category=RuntimeWarning):
    """``warnings.warn`` attributed to the caller's code: the first frame
    outside the imfilt package, wherever inside it the warning is raised,
    so that the warning shows the user's line (and a filter on the user's
    module applies)."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
