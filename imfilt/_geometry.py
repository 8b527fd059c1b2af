"""Geometry of a filtering call: sizes, axes, padding and output shapes.

Everything here is plain Python on shapes and small tuples, run once per
call before a kernel starts: integer (or float) tuples from scalars or
sequences, the axes a filter works on and the channel axis, the padding a
mode implies, output lengths, SciPy's 'valid' swap and the ``out=`` check.
Errors follow the policy written in :mod:`imfilt._validation` (wrong type
-> ``TypeError``, wrong value -> ``ValueError``, the message names the
argument, echoes the value and says what is accepted).
"""

import math
import numbers

import numpy as np

from imfilt._validation import ParameterTypeError, as_array, is_integer_like

__all__ = [
    "as_tuple", "as_axes", "spatial_axes", "channel_axis_index", "filter_axes", "axes_order",
    "check_colour_ambiguity", "colour_error", "looks_like_colour", "STACK_HINT",
    "PLANES_HINT", "VOLUME_HINT", "check_out", "mode_pads", "dilated_span", "output_length",
    "same_padding", "valid_swap", "output_hw", "as_planes", "restore_planes",
    "over_channels",
]


# --------------------------------------------------------------------------
# scalars and tuples


def _is_real_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


#: Largest integer parameter (sizes, strides, paddings, dilations): index
#: arithmetic is done in 64-bit integers.
INT_PARAM_MAX = 2**62


def as_tuple(name, value, n, *, minimum=None, kind=int):
    """A scalar or a length-``n`` sequence -> a tuple of ``n`` Python numbers.

    Parameters
    ----------
    name : str
        The argument's name, for error messages.
    value : scalar or sequence
        One value for every axis, or one per axis.
    n : int
        Number of values wanted.
    minimum : number, optional
        Smallest accepted value (inclusive).
    kind : {int, float}
        ``int`` accepts integers only (not bool, not 1.5); ``float`` accepts
        any finite real number and returns floats.

    Raises
    ------
    TypeError
        A value of the wrong type (a string, a float where integers are
        needed, None, bool).
    ValueError
        A sequence of the wrong length, a value below ``minimum``, an int
        above ``INT_PARAM_MAX`` (2**62), or a non-finite float.

    Examples
    --------
    >>> as_tuple("stride", 2, 2)
    (2, 2)
    >>> as_tuple("sigma", [1, 0.5], 2, minimum=0, kind=float)
    (1.0, 0.5)
    """
    if (kind is int and type(value) is int and (minimum is None or value >= minimum)
            and value <= INT_PARAM_MAX):
        return (value,) * n                     # the common case, fast
    if kind is float and type(value) is float and math.isfinite(value) and (
            minimum is None or value >= minimum):
        return (value,) * n                     # the common case for floats
    what = "an int" if kind is int else "a real number"
    accepted = f"{what} or a sequence of {n} of them"
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (tuple, list, np.ndarray)):
        items = list(value)
        if len(items) != n:
            raise ParameterTypeError(f"{name}={value!r} is not valid; use {accepted} "
                                     f"(got {len(items)} values)")
    else:
        items = [value] * n
    check = is_integer_like if kind is int else _is_real_number
    if not all(check(v) for v in items):
        raise ParameterTypeError(f"{name}={value!r} is not valid; use {accepted}")
    if kind is int:
        items = [int(v) for v in items]
    else:
        try:
            items = [float(v) for v in items]
        except OverflowError:       # an int beyond float64's range: not finite
            items = [float("inf")]
        if not all(np.isfinite(v) for v in items):
            raise ValueError(f"{name}={value!r} is not valid; every value must be finite")
    if minimum is not None and any(v < minimum for v in items):
        raise ValueError(f"{name}={value!r} is not valid; every value must be >= {minimum}")
    if kind is int and any(v > INT_PARAM_MAX for v in items):
        raise ValueError(f"{name}={value!r} is not valid; every value must be <= 2**62 "
                         "(imfilt indexes with 64-bit integers)")
    return tuple(items)


# --------------------------------------------------------------------------
# axes


def as_axes(name, axes, ndim, *, count=None):
    """Distinct axes of an ``ndim``-D array as a tuple of non-negative ints.

    ``axes`` is an int or a sequence of ints in ``[-ndim, ndim - 1]``;
    ``count`` (optional) is the exact number of axes required: then a lone
    int or a sequence of another length is a wrong type (``ParameterTypeError``).
    """
    given = axes
    if isinstance(axes, np.ndarray) and axes.ndim == 0:
        axes = axes[()]                  # a 0-d array is its one value
    if is_integer_like(axes):
        items = [axes]
    elif isinstance(axes, (tuple, list, np.ndarray)):
        items = [a[()] if isinstance(a, np.ndarray) and a.ndim == 0 else a for a in axes]
    else:
        items = None
    want = f"{count} distinct axes" if count else "distinct axes"
    if items is None or not all(is_integer_like(a) for a in items):
        raise ParameterTypeError(f"{name}={given!r} is not valid; give {want} of the image as "
                                 f"ints, e.g. {name}={tuple(range(ndim - (count or ndim), ndim))}")
    if count is not None and (len(items) != count or is_integer_like(axes)):
        raise ParameterTypeError(f"{name}={given!r} is not valid; give {want} of the image, "
                                 f"e.g. {name}={tuple(range(max(ndim - count, 0), ndim))}")
    out = []
    for a in items:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}={given!r} is not valid for an image with {ndim} "
                             f"dimensions; use axes in [{-ndim}, {ndim - 1}]")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}={given!r} is not valid; it names the same axis twice")
    return tuple(out)


def spatial_axes(axes, ndim):
    """The two spatial axes of a 2-D filter on an ``ndim``-D image (default: the last two)."""
    if axes is None:
        return (ndim - 2, ndim - 1)
    return as_axes("axes", axes, ndim, count=2)


def check_channel_axis_type(channel_axis, ndim=3):
    """``ParameterTypeError`` unless ``channel_axis`` is None or an int: checked
    before the image's dimensions, so a wrong type is named as such."""
    if channel_axis is not None and not is_integer_like(channel_axis):
        raise ParameterTypeError(f"channel_axis={channel_axis!r} is not valid; use None or an int "
                                 f"axis in [{-ndim}, {ndim - 1}]")


def channel_axis_index(channel_axis, ndim):
    """``channel_axis`` validated for an ``ndim``-D image, as a non-negative int (or None)."""
    check_channel_axis_type(channel_axis, ndim)
    if channel_axis is None:
        return None
    c = int(channel_axis)
    if not -ndim <= c < ndim:
        raise ValueError(f"channel_axis={channel_axis!r} is not valid; it is out of range for an "
                         f"image with {ndim} dimensions: use None or an axis in "
                         f"[{-ndim}, {ndim - 1}]")
    return c % ndim


def filter_axes(ndim, axes=None, channel_axis=None):
    """The axes an N-D filter works on, as a sorted tuple of non-negative ints.

    Default: every axis but ``channel_axis``.  Explicit ``axes`` must not
    contain the channel axis.

    Examples
    --------
    >>> filter_axes(3)
    (0, 1, 2)
    >>> filter_axes(3, channel_axis=-1)
    (0, 1)
    >>> filter_axes(4, axes=(-2, -1))
    (2, 3)
    """
    c = channel_axis_index(channel_axis, ndim)
    if axes is None:
        return tuple(a for a in range(ndim) if a != c)
    ax = as_axes("axes", axes, ndim)
    if c is not None and c in ax:
        raise ValueError(f"axes={axes!r} contains the channel axis channel_axis={channel_axis!r}; "
                         "the channel axis is never filtered")
    return tuple(sorted(ax))


def axes_order(ndim, axes=None, channel_axis=None):
    """How the user's ``axes`` map onto :func:`filter_axes`' sorted tuple.

    ``order[j]`` is the position in ``axes`` (as given) of the ``j``-th
    sorted axis, so a per-axis value ``v`` listed in the user's order (a
    sigma, a size) belongs to sorted axis ``j`` as ``v[order[j]]``, and an
    array with one axis per given axis is ``a.transpose(order)`` in sorted
    order.  scipy.ndimage pairs per-axis values with ``axes`` as given.
    Call after :func:`filter_axes` (which validates ``axes``).

    Examples
    --------
    >>> axes_order(3, axes=(2, 0))
    (1, 0)
    >>> axes_order(3, channel_axis=0)
    (0, 1)
    """
    if axes is None:
        return tuple(range(len(filter_axes(ndim, None, channel_axis))))
    given = as_axes("axes", axes, ndim)
    return tuple(sorted(range(len(given)), key=given.__getitem__))


#: The other reading of an ambiguous ``(H, W, 3 or 4)`` input, named in the
#: error with the argument that selects it: N-D filters read a volume, 2-D
#: filters a stack of ``n`` images of shape ``plane`` (``{n}``, ``{plane}``
#: are filled in from the shape).
VOLUME_HINT = "axes=(0, 1, 2) to filter it as a volume"
STACK_HINT = "axes=(1, 2) if it is a stack of {n} images of shape {plane}"
#: The same for functions that take a stack of planes along axis 0.
PLANES_HINT = "channel_axis=0 if it is a stack of {n} images of shape {plane}"


def looks_like_colour(shape):
    """True for the ambiguous shape: 3-D with a last axis of length 3 or 4."""
    return len(shape) == 3 and shape[-1] in (3, 4)


def colour_error(func, shape, hint=VOLUME_HINT, name="image"):
    """The ValueError for an ambiguous ``(H, W, 3 or 4)`` input.

    ``hint`` tells the caller how to ask for the other reading of the input
    (:data:`VOLUME_HINT`, :data:`STACK_HINT` or a text like it; None: the
    function has no other reading).
    """
    shape = tuple(shape)
    other = ", or " + hint.format(n=shape[0], plane=shape[1:]) if hint else ""
    return ValueError(
        f"{func}: {name} has shape {shape}, which looks like a colour image (last axis "
        f"of length {shape[-1]}); pass channel_axis=-1 to filter each channel{other}"
    )


def check_colour_ambiguity(image, axes, channel_axis, func, hint=VOLUME_HINT, name="image"):
    """Refuse a 3-D image that looks like colour when neither axes nor channel_axis say.

    A 3-D input whose last axis has length 3 or 4 may be an RGB(A) image
    (filter each channel: ``channel_axis=-1``) or something else - a small
    volume for N-D filters, a stack of narrow images for 2-D ones (``hint``,
    see :func:`colour_error`); guessing would silently give the wrong answer
    for one of them, so ``func`` raises ``ValueError`` saying both.
    ``image`` is anything with a shape (NumPy or dask array).
    """
    shape = np.shape(image)
    if axes is None and channel_axis is None and looks_like_colour(shape):
        raise colour_error(func, shape, hint, name)


def over_channels(func, arr, channel_axis, *args, **kwargs):
    """``func`` applied to each slice along ``channel_axis``, stacked back there.

    ``channel_axis`` must already be a valid non-negative axis of ``arr``.
    A ``func`` returning a tuple gives a tuple of stacked arrays.
    """
    planes = np.moveaxis(arr, channel_axis, 0)
    results = [func(plane, *args, **kwargs) for plane in planes]
    if isinstance(results[0], tuple):
        return tuple(np.stack(parts, axis=channel_axis) for parts in zip(*results))
    return np.stack(results, axis=channel_axis)


# --------------------------------------------------------------------------
# padding and output sizes


def dilated_span(k, d):
    """Samples covered by ``k`` taps spaced ``d`` apart: ``d (k - 1) + 1``."""
    return d * (k - 1) + 1


def mode_pads(mode, span, convolution_alignment):
    """Padding ``(before, after)`` of one axis that output ``mode`` implies.

    ``'full'`` pads ``span - 1`` on both sides, ``'valid'`` nothing and
    ``'same'`` ``span - 1`` in total, centred like SciPy: for convolution
    (and 1-D correlation) ``span // 2`` before, for 2-D correlation
    ``(span - 1) // 2`` before; they differ for even spans only.
    """
    if mode == "full":
        return span - 1, span - 1
    if mode == "valid":
        return 0, 0
    before = span // 2 if convolution_alignment else (span - 1) // 2
    return before, span - 1 - before


def output_length(n, before, after, span, stride=1):
    """Outputs of one axis: ``(n + before + after - span) // stride + 1``, or 0.

    The one output-size formula of imfilt (PyTorch's
    ``(n + 2p - d (k - 1) - 1) // s + 1`` with ``span = d (k - 1) + 1``).
    """
    full = n + before + after - span + 1
    return (full - 1) // stride + 1 if full > 0 else 0


def same_padding(n, k, s, d):
    """Padding ``(before, after)`` giving ``ceil(n / s)`` outputs, the extra one after."""
    out = -(-n // s)
    total = max((out - 1) * s + dilated_span(k, d) - n, 0)
    return total // 2, total - total // 2


def valid_swap(mode, image_shape, kernel_shape):
    """SciPy's rule: True when 'valid' mode swaps image and kernel.

    The swap happens when the kernel is at least as large as the image in
    every axis (and larger in one); neither fitting inside the other raises
    ``ValueError``.  Other modes never swap.
    """
    if mode != "valid":
        return False
    ok1 = all(i >= k for i, k in zip(image_shape, kernel_shape))
    ok2 = all(k >= i for i, k in zip(image_shape, kernel_shape))
    if not (ok1 or ok2):
        raise ValueError(
            "in mode='valid' one of image and kernel must be at least as large as "
            f"the other in every axis; got image shape {tuple(image_shape)} and kernel "
            f"shape {tuple(kernel_shape)}. Use mode='same' or 'full', or crop one of them"
        )
    return not ok1


def output_hw(output_size):
    """``(height, width)`` from an ``output_size`` argument.

    Accepts ``(height, width)`` or a longer shape (e.g. a full tensor shape)
    whose last two entries are the height and width, as PyTorch does.
    """
    try:
        size = [int(v) if is_integer_like(v) else None for v in output_size]
    except TypeError:
        size = [None]
    if len(size) < 2 or None in size:
        raise TypeError(
            f"output_size={output_size!r} is not valid; use (height, width) or a "
            "longer shape whose last two entries are the height and width"
        )
    return size[-2], size[-1]


# --------------------------------------------------------------------------
# stacks of planes and out=


def as_planes(x, name="x"):
    """Validate a (H, W), (C, H, W) or (N, C, H, W) array; return it and its leading shape."""
    arr = as_array(x, name)
    if arr.ndim not in (2, 3, 4):
        raise ValueError(
            f"{name} must have shape (H, W), (C, H, W) or (N, C, H, W); got "
            f"{arr.ndim} dimension(s), shape {arr.shape}"
        )
    return arr, arr.shape[:-2]


def restore_planes(planes, lead):
    """Reshape a (P, H, W) result back to ``lead + (H, W)``."""
    return planes.reshape(tuple(lead) + planes.shape[-2:])


def check_out(out, shape, dtype, inputs, *, dtype_param=True):
    """Validate ``out=``: an ndarray of the result's shape and dtype, writeable, no overlap.

    ``inputs`` is a list of ``(name, array)`` that ``out`` must not share
    memory with (filtering in place is not supported).  ``dtype_param``:
    the function has a ``dtype`` parameter, which the dtype error suggests.
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if isinstance(out, np.matrix):
        raise TypeError("out is a numpy.matrix, whose views stay 2-D; pass np.asarray(out), "
                        "a plain array on the same memory")
    if isinstance(out, np.ma.MaskedArray):
        raise TypeError("out is a masked array; imfilt writes values only, so its mask would "
                        "no longer describe them: pass out.data (a plain array on the same "
                        "memory)")
    if out.shape != tuple(shape):
        raise ValueError(f"out has shape {out.shape} but the result has shape {tuple(shape)}")
    if out.dtype != dtype:
        if out.dtype.newbyteorder("=") == np.dtype(dtype).newbyteorder("="):
            raise ValueError(
                f"out has dtype {out.dtype.str}, not in this machine's byte order; imfilt "
                f"writes native arrays: allocate out with dtype={dtype}"
            )
        other = f" or pass dtype={out.dtype}" if dtype_param and out.dtype.kind in "biuf" else ""
        raise ValueError(
            f"out has dtype {out.dtype} but the result has dtype {dtype}; "
            f"allocate out with dtype={dtype}{other}"
        )
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    for name, arr in inputs:
        if isinstance(arr, np.ndarray) and np.shares_memory(out, arr):
            raise ValueError(f"out overlaps {name}; filtering in place is not supported, "
                             "write to a separate array")


def as_torch_pair(name, value, *, minimum=None, empty=None):
    """Two ints for the (height, width) axes, reading sizes as PyTorch does.

    Like :func:`as_tuple` with ``n=2``, and also: a one-element sequence
    gives its value for both axes (``padding=(1,)``), and an empty sequence
    returns ``empty`` when it is not None (PyTorch's ``stride=()``, meaning
    the kernel size) and is refused otherwise.
    """
    if isinstance(value, (tuple, list, np.ndarray)) and np.ndim(value) == 1:
        if len(value) == 1:
            value = value[0]
        elif len(value) == 0 and empty is not None:
            return tuple(empty)
    return as_tuple(name, value, 2, minimum=minimum)
