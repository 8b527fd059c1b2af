"""Parameter helpers for the network-style operators (layers, pooling, upsampling).

Everything here runs in Python before a kernel releases the GIL: integer
pairs, image stacks and the PyTorch output-size formulas.
"""

import numpy as np

from imfilt._validation import as_array, is_integer_like

__all__ = ["as_pair", "as_planes", "restore_planes", "conv_output_size"]


def as_pair(value, name, *, minimum=1, allow_none=False):
    """An int, a one-element or a two-element sequence of ints -> tuple of two
    Python ints ``>= minimum`` (a one-element sequence applies to both axes,
    as PyTorch reads it).  With ``allow_none`` ``None`` and an empty sequence
    (PyTorch's "not given", e.g. ``stride=()``) return None.

    ``name`` is the parameter name used in error messages.
    """
    seq = isinstance(value, (tuple, list, np.ndarray))
    if allow_none and (value is None or (seq and len(value) == 0)):
        return None
    if is_integer_like(value):
        pair = (int(value), int(value))
    elif seq and len(value) in (1, 2) and all(is_integer_like(v) for v in value):
        pair = (int(value[0]), int(value[-1]))
    else:
        empty = " (an empty sequence is not)" if seq and len(value) == 0 else ""
        raise TypeError(
            f"{name}={value!r} is not valid{empty}; use an int, a one-element sequence "
            "(both axes) or a pair of ints (height, width)"
        )
    if min(pair) < minimum:
        raise ValueError(
            f"{name}={value!r} is not valid; every value must be >= {minimum}"
        )
    return pair


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


def as_planes(x, name="x"):
    """Validate a (H, W), (C, H, W) or (N, C, H, W) array.

    Returns the array and its leading shape (everything before H, W).
    """
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


def conv_output_size(n, k, s, p_before, p_after, d):
    """PyTorch's ``(n + p_before + p_after - d (k - 1) - 1) // s + 1``."""
    return (n + p_before + p_after - d * (k - 1) - 1) // s + 1
