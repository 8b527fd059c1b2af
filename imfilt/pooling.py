"""Pooling and unpooling with PyTorch's exact semantics.

Every pooling variant is a thin wrapper over one generic function
(``_pool``) that differs only in the reduction code passed to the kernel.
Window geometry, output sizes, ``ceil_mode``, padding limits, the divisor of
average pooling and the layout of the returned indices are those of
``torch.nn.functional``.
"""

import math

import numpy as np

from imfilt._kernels import _pool as _kpool
from imfilt._kernels import _reuse
from imfilt._docs import docfiller
from imfilt._geometry import (PLANES_HINT, as_planes, as_torch_pair, channel_axis_index,
                              check_colour_ambiguity, output_hw, restore_planes)
from imfilt._threads import (check_fits_in_memory, interruptible_slices, min_parallel_work,
                              ran_parallel, resolve_workers)
from imfilt._validation import as_array, as_int, is_integer_like, result_dtypes

__all__ = ["max_pool2d", "avg_pool2d", "min_pool2d", "max_unpool2d", "stochastic_pool2d"]

_OP_MAX, _OP_MIN, _OP_AVG, _OP_STOCHASTIC, _OP_STOCHASTIC_MEAN = (
    _kpool.OP_CODES[name] for name in ("max", "min", "avg", "stochastic", "stochastic_mean"))

_fill_docs = docfiller(pool_input="""\
x : array_like, shape (H, W), (C, H, W) or (N, C, H, W)
    The input; every (H, W) plane is pooled independently.  Any layout and
    byte order; never modified.
kernel_size : int or (int, int)
    Window height and width.
stride : int or (int, int), optional
    Step between windows; defaults to ``kernel_size`` (PyTorch), also when
    given as an empty sequence ``()``.  Every size parameter also accepts a
    one-element sequence, applied to both axes.""", pool_channel_axis="""\
channel_axis : int, optional
    The axis of ``x`` that holds channels, e.g. ``-1`` for an
    ``(H, W, C)`` image: it is not pooled and the result keeps it there;
    the spatial axes are the last two other axes.  The result equals
    pooling each channel on its own and stacking along that axis.  Without
    it, a 3-D ``x`` whose last axis has length 3 or 4 raises
    ``ValueError`` (it looks like a colour image, but would be read as
    3 or 4 planes); pass ``channel_axis=-1`` for colour or
    ``channel_axis=0`` for a stack of planes.""", pool_raises="""\
Raises
------
ValueError
    An ``x`` that is not 2-D, 3-D or 4-D, a 3-D ``x`` whose last axis has
    length 3 or 4 given without ``channel_axis`` (or a ``channel_axis`` out
    of range, or with a 2-D ``x``), a ``kernel_size``, ``stride`` or
    ``dilation`` below 1, a negative ``padding`` or one above
    ``kernel_size // 2``, an empty plane or one smaller than a window
    (the output would be empty), ``workers=0`` (or a negative count beyond
    the available cores), and for average pooling a ``divisor_override``
    below 1.
TypeError
    A non-numeric or complex ``x``, a True/False flag (``ceil_mode``,
    ``return_indices``, ``count_include_pad``) given anything else, or a
    size, axis or ``workers`` of the wrong type (a float, a string, a
    sequence of the wrong length: ``ParameterTypeError``, which is also a
    ``ValueError``).""")


def _output_size(n, k, s, p, d, ceil_mode, axis):
    """PyTorch's ``pooling_output_shape`` for one axis (validated)."""
    num = n + 2 * p - d * (k - 1) - 1
    if ceil_mode:
        out = (num + s - 1) // s + 1
        # The last window must start inside the input or the left padding.
        if (out - 1) * s >= n + p:
            out -= 1
    else:
        out = num // s + 1
    if out < 1:
        raise ValueError(
            f"the {axis} of the input ({n}) is too small for kernel_size={k}, "
            f"dilation={d}, padding={p}: the output would be empty; use a smaller "
            "kernel_size or dilation, more padding, or ceil_mode=True"
        )
    return out


def _geometry(shape, kernel_size, stride, padding, dilation, ceil_mode):
    kh, kw = as_torch_pair("kernel_size", kernel_size, minimum=1)
    sh, sw = (kh, kw) if stride is None else as_torch_pair("stride", stride, minimum=1,
                                                             empty=(kh, kw))
    ph, pw = as_torch_pair("padding", padding, minimum=0)
    dh, dw = as_torch_pair("dilation", dilation, minimum=1)
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"ceil_mode={ceil_mode!r} is not valid; use True or False")
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(
            f"padding={padding!r} is not valid for kernel_size={kernel_size!r}: padding "
            f"must be at most half the kernel size, here <= ({kh // 2}, {kw // 2}) "
            "(PyTorch's rule)"
        )
    H, W = shape[-2:]
    if H == 0 or W == 0:
        raise ValueError(
            f"x has an empty plane (shape {tuple(shape)}); pooling needs at least one "
            "row and one column"
        )
    Ho = _output_size(H, kh, sh, ph, dh, bool(ceil_mode), "height")
    Wo = _output_size(W, kw, sw, pw, dw, bool(ceil_mode), "width")
    return (kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo)


def _selection_dtypes(dtype, func):
    """(compute, output) dtypes for max/min pooling and unpooling.

    Selection is exact, so the input dtype is kept (as PyTorch does), in
    native byte order: float32/float64 directly, float16 through float32,
    bool and integers through int64.
    """
    if dtype.kind == "c":
        raise TypeError(
            f"{func} has no order on complex numbers (x has dtype {dtype}); pool the "
            "real part, the imaginary part or the magnitude (np.abs) instead"
        )
    native = dtype.newbyteorder("=")
    if dtype.kind == "f":
        if dtype.itemsize <= 4:
            return np.dtype(np.float32), native
        return np.dtype(np.float64), native
    return np.dtype(np.int64), native


#: The top bit of a uint64: flipping it maps 0 .. 2**64 - 1 onto int64's
#: -2**63 .. 2**63 - 1 in the same order.
_TOP_BIT = np.uint64(1 << 63)


def _as_compute(arr, compute, order=True):
    """``arr`` C-contiguous in the kernels' dtype ``compute``.

    uint64 goes to the integer kernels' int64 with its top bit flipped when
    ``order`` (max and min, and their positions, are then those of the
    uint64 values: ``_from_compute`` flips the result back), else bit for
    bit (unpooling only moves values).
    """
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 8 and compute == np.int64:
        a = np.array(arr, dtype=np.uint64, order="C")
        if order:
            a ^= _TOP_BIT
        return a.view(np.int64)
    return np.ascontiguousarray(arr, dtype=compute)


def _from_compute(out, out_dtype):
    """The kernels' result in ``out_dtype`` (undoing ``_as_compute``'s flip)."""
    if out_dtype.kind == "u" and out_dtype.itemsize == 8 and out.dtype == np.int64:
        return (out.view(np.uint64) ^ _TOP_BIT).astype(out_dtype, copy=False)
    return out.astype(out_dtype, copy=False)


def _init_value(op, compute, dtype):
    """The padding a max (min) pool never selects, in the kernels' dtype ``compute``.

    The least (greatest) value of the input's ``dtype``, which a window made
    of padding only returns (as PyTorch does): -inf (inf) for floats, the
    integer type's own limit (not int64's, which would wrap when cast back),
    False (True) for booleans.
    """
    if compute.kind == "f":
        return -np.inf if op == _OP_MAX else np.inf
    if dtype.kind == "b":
        return int(op != _OP_MAX)
    # uint64 runs as int64 with its top bit flipped: its limits are int64's
    info = np.iinfo(compute if dtype.kind == "u" and dtype.itemsize == 8 else dtype)
    return info.min if op == _OP_MAX else info.max


def _channels_first(x, channel_axis, func, name="x"):
    """``x`` with its channel axis moved just before (H, W), and that axis.

    Without ``channel_axis`` an ``(H, W, 3 or 4)`` input is refused: it looks
    like a colour image but would be read as 3 or 4 planes of width H.
    """
    arr = as_array(x, name)
    if channel_axis is None:
        check_colour_ambiguity(arr, None, None, func, PLANES_HINT, name)
        return arr, None
    c = channel_axis_index(channel_axis, arr.ndim)
    if arr.ndim < 3:
        raise ValueError(
            f"channel_axis={channel_axis!r} needs an input with a channel axis and two "
            f"spatial axes; {name} has shape {arr.shape}"
        )
    return np.moveaxis(arr, c, -3), c


def _channels_back(result, c):
    if c is None:
        return result
    if isinstance(result, tuple):
        return tuple(np.moveaxis(r, -3, c) for r in result)
    return np.moveaxis(result, -3, c)


def _pool(x, op, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
          count_include_pad, divisor_override, workers, func, rng=None, channel_axis=None):
    """The one generic pooling function behind every public variant."""
    x, c = _channels_first(x, channel_axis, func)
    return _channels_back(_pool_planes(
        x, op, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
        count_include_pad, divisor_override, workers, func, rng), c)


def _pool_planes(x, op, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                 count_include_pad, divisor_override, workers, func, rng=None):
    arr, lead = as_planes(x)
    if not isinstance(return_indices, (bool, np.bool_)):
        raise TypeError(f"return_indices={return_indices!r} is not valid; use True or False")
    ksz, strd, pad, dil, (Ho, Wo) = _geometry(arr.shape, kernel_size, stride, padding,
                                               dilation, ceil_mode)
    if op in (_OP_MAX, _OP_MIN):
        compute, out_dtype = _selection_dtypes(arr.dtype, func)
    else:
        if arr.dtype.kind == "c":
            raise TypeError(f"{func} does not support complex input (x has dtype {arr.dtype})")
        compute, out_dtype = result_dtypes(arr.dtype, arr.dtype)
    nthreads = resolve_workers(workers)
    H, W = arr.shape[-2:]
    planes = _as_compute(arr.reshape((-1, H, W)), compute)
    P = planes.shape[0]
    out = _reuse.empty((P, Ho, Wo), dtype=compute)
    indices = _reuse.empty((P, Ho, Wo), dtype=np.int64) if return_indices else None

    uniforms = None
    if op in (_OP_STOCHASTIC, _OP_STOCHASTIC_MEAN):
        if planes.size and not ((planes >= 0) & (planes < np.inf)).all():
            bad = ("NaN" if np.isnan(planes).any() else "negative" if (planes < 0).any()
                   else "infinite")
            raise ValueError(
                f"stochastic_pool2d needs finite, non-negative activations (e.g. after a "
                f"ReLU); x holds {bad} values. Apply np.maximum(x, 0) or shift the input "
                "first"
            )
        if op == _OP_STOCHASTIC:
            # Drawn here, in one fixed C order, so the same seed gives the same
            # result for any thread count.
            uniforms = rng.random((P, Ho, Wo))

    init = _init_value(op, compute, out_dtype) if op in (_OP_MAX, _OP_MIN) else 0
    divisor = 0.0 if divisor_override is None else float(divisor_override)
    tscratch = ascratch = rscratch = None
    if dil == (1, 1) and op in (_OP_MAX, _OP_MIN, _OP_AVG) and compute.kind == "f":
        # Row-first (separable) kernel: per-thread scratch rows.
        tscratch = np.empty((nthreads, max(W, 1)), dtype=compute)
        ascratch = np.empty((nthreads, max(W, 1)), dtype=np.float64)
        rscratch = np.empty((nthreads, max(W, 1)), dtype=np.intp)
    # Groups of planes of about SLICE_SECONDS each, so Ctrl-C is handled
    # between them (about 1 ns per window tap and thread).
    per_plane = Ho * Wo * ksz[0] * ksz[1] * 1e-9 / nthreads
    for p0, p1, _, _ in interruptible_slices(P, 1, per_plane):
        ran_parallel(_kpool.pool2d(
            planes[p0:p1], out[p0:p1], None if indices is None else indices[p0:p1],
            ksz[0], ksz[1], strd[0], strd[1], pad[0], pad[1], dil[0], dil[1], op,
            compute.type(init), bool(count_include_pad), divisor,
            None if uniforms is None else uniforms[p0:p1], nthreads, tscratch,
            ascratch, rscratch, min_parallel_work()))
    result = restore_planes(_from_compute(out, out_dtype), lead)
    if return_indices:
        return result, restore_planes(indices, lead)
    return result


@_fill_docs
def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, channel_axis=None, workers=None):
    """Max pooling over (H, W) windows, exactly as ``torch.nn.functional.max_pool2d``.

    Parameters
    ----------
    %(pool_input)s
    padding : int or (int, int), optional
        Implicit ``-inf`` padding on both sides, at most ``kernel_size // 2``.
    dilation : int or (int, int), optional
        Spacing between window elements.
    ceil_mode : bool, optional
        Use ``ceil`` instead of ``floor`` for the output size; the last window
        must still start inside the input or the left padding.
    return_indices : bool, optional
        Also return where each maximum came from, as the flat index
        ``ih * W + iw`` into the unpadded input plane (the input of
        :func:`max_unpool2d`).
    %(pool_channel_axis)s
    %(workers)s

    Returns
    -------
    out : ndarray
        Shape ``(..., H_out, W_out)`` with
        ``H_out = (H + 2 p - d (k - 1) - 1) // s + 1`` (ceil with
        ``ceil_mode``).  The input dtype is kept (float16, bool and integers
        included, as PyTorch).
    indices : ndarray of int64, only with ``return_indices=True``

    %(pool_raises)s

    Notes
    -----
    A NaN in a window wins (the output is NaN, the index that of the last
    NaN); among equal maxima the first in row-major order is reported.

    Examples
    --------
    >>> import numpy as np, imfilt
    >>> x = np.array([[1., 2, 5, 3],
    ...               [4, 0, 1, 1],
    ...               [7, 8, 2, 2],
    ...               [1, 9, 3, 6]], dtype=np.float32)
    >>> out, idx = imfilt.max_pool2d(x, 2, return_indices=True)
    >>> out
    array([[4., 5.],
           [9., 6.]], dtype=float32)
    >>> idx
    array([[ 4,  2],
           [13, 15]])
    """
    return _pool(x, _OP_MAX, kernel_size, stride, padding, dilation, ceil_mode,
                 return_indices, True, None, workers, "max_pool2d",
                 channel_axis=channel_axis)


@_fill_docs
def min_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, channel_axis=None, workers=None):
    """Min pooling: :func:`max_pool2d` with the order reversed.

    Equal to ``-max_pool2d(-x, ...)`` for floats (padding is ``+inf``; a NaN
    wins; ties keep the first minimum), but exact for unsigned integers too.

    Parameters
    ----------
    %(pool_input)s
    padding, dilation, ceil_mode, return_indices
        As in :func:`max_pool2d`.
    %(pool_channel_axis)s
    %(workers)s

    Returns
    -------
    out : ndarray
        Same shape and dtype rules as :func:`max_pool2d`.
    indices : ndarray of int64, only with ``return_indices=True``

    %(pool_raises)s

    Examples
    --------
    >>> import numpy as np, imfilt
    >>> x = np.arange(16, dtype=np.uint8).reshape(4, 4)
    >>> imfilt.min_pool2d(x, 2)
    array([[ 0,  2],
           [ 8, 10]], dtype=uint8)
    """
    return _pool(x, _OP_MIN, kernel_size, stride, padding, dilation, ceil_mode,
                 return_indices, True, None, workers, "min_pool2d",
                 channel_axis=channel_axis)


@_fill_docs
def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, *, channel_axis=None,
               workers=None):
    """Average pooling, as ``torch.nn.functional.avg_pool2d``.

    The same windows and divisors as PyTorch.  Window sums are accumulated in
    float64 (float32 input too) and divided once, so a result can differ
    from PyTorch's by its rounding: it is the correctly rounded mean more
    often, and a float32 sum that overflows in PyTorch stays finite here.

    Parameters
    ----------
    %(pool_input)s
    padding : int or (int, int), optional
        Implicit zero padding on both sides, at most ``kernel_size // 2``.
    ceil_mode : bool, optional
        As in :func:`max_pool2d`.
    count_include_pad : bool, optional
        Divide by the window size including padded cells (default, PyTorch)
        or only by the cells inside the input.  The ceil-mode overhang beyond
        the padding is never counted.
    divisor_override : int, optional
        Divide every window sum by this positive number instead.
    %(pool_channel_axis)s
    %(workers)s

    Returns
    -------
    out : ndarray
        Shape as :func:`max_pool2d`.  float32 stays float32, float64 stays
        float64; bool, float16 and 8/16-bit integers give float32, wider
        integers float64 (imfilt's dtype policy; PyTorch refuses most integer
        dtypes here).

    %(pool_raises)s

    Examples
    --------
    >>> import numpy as np, imfilt
    >>> x = np.arange(9, dtype=np.float64).reshape(3, 3)
    >>> imfilt.avg_pool2d(x, 2, stride=1)
    array([[2., 3.],
           [5., 6.]])
    >>> imfilt.avg_pool2d(x, 2, padding=1, count_include_pad=False)
    array([[0. , 1.5],
           [4.5, 6. ]])
    """
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise TypeError(f"count_include_pad={count_include_pad!r} is not valid; use True or False")
    if divisor_override is not None:
        as_int("divisor_override", divisor_override, low=1, use="None or a positive int")
    return _pool(x, _OP_AVG, kernel_size, stride, padding, 1, ceil_mode, False,
                 count_include_pad, divisor_override, workers, "avg_pool2d",
                 channel_axis=channel_axis)


def _as_rng(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or is_integer_like(rng):
        if rng is not None and rng < 0:
            raise ValueError(f"rng={rng!r} is not valid; an integer seed must be >= 0")
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng={rng!r} is not valid; use None, a non-negative int seed or a "
        "numpy.random.Generator (np.random.default_rng(seed))"
    )


@_fill_docs
def stochastic_pool2d(x, kernel_size, stride=None, *, training=True, rng=None,
                      return_indices=False, channel_axis=None, workers=None):
    """Stochastic pooling (Zeiler & Fergus, 2013).

    In training each window outputs one of its activations, chosen with
    probability ``a_i / sum(a)`` (an all-zero window gives 0); at inference
    it outputs the probability-weighted mean ``sum(a_i ** 2) / sum(a)``.

    Parameters
    ----------
    %(pool_input)s
    training : bool, optional
        Sample (True, default) or return the expectation (False).
    rng : None, int or numpy.random.Generator, optional
        Source of randomness.  The uniforms are drawn with NumPy in one fixed
        order before the kernel runs, so the same seed gives the same result
        for any thread count.  ``None`` draws fresh entropy.
    return_indices : bool, optional
        Also return the flat index ``ih * W + iw`` of each chosen activation
        (training only); :func:`max_unpool2d` accepts it.
    %(pool_channel_axis)s
    %(workers)s

    Returns
    -------
    out : ndarray
        Shape ``(..., (H - kh) // sh + 1, (W - kw) // sw + 1)`` (no padding),
        dtype as :func:`avg_pool2d`.
    indices : ndarray of int64, only with ``return_indices=True``

    Raises
    ------
    ValueError
        When ``x`` holds negative, NaN or infinite values: the activations
        define a probability distribution.  Also for ``return_indices=True``
        with ``training=False``, a negative ``rng`` seed, and the shape,
        size and ``workers`` errors of :func:`max_pool2d`.
    TypeError
        A non-numeric or complex ``x``, a ``training`` or
        ``return_indices`` that is not a bool, an ``rng`` that is not None,
        an int or a ``numpy.random.Generator``, or a size, axis or
        ``workers`` of the wrong type (``ParameterTypeError``, which is
        also a ``ValueError``).

    Notes
    -----
    Sums run in float64.  A window whose largest activation lies outside
    ``[2**-500, 2**500]`` is summed scaled by a power of two (exact), so
    float64 activations near the type's limits (``1e308``, subnormals) keep
    the probabilities and the mean of the window.

    Examples
    --------
    >>> import numpy as np, imfilt
    >>> x = np.array([[0., 3], [1, 0]])
    >>> imfilt.stochastic_pool2d(x, 2, training=False)
    array([[2.5]])
    >>> out = imfilt.stochastic_pool2d(x, 2, rng=0)
    >>> float(out[0, 0]) in (1.0, 3.0)
    True
    """
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"training={training!r} is not valid; use True or False")
    if return_indices and not training:
        raise ValueError(
            "return_indices=True needs training=True: at inference the output is a "
            "weighted mean, not one chosen position"
        )
    op = _OP_STOCHASTIC if training else _OP_STOCHASTIC_MEAN
    gen = _as_rng(rng) if training else None
    return _pool(x, op, kernel_size, stride, 0, 1, False, return_indices, True, None,
                 workers, "stochastic_pool2d", rng=gen, channel_axis=channel_axis)


def _unpool_size(n, k, s, p, requested, axis):
    default = (n - 1) * s - 2 * p + k
    if requested is None:
        if default < 0:
            raise ValueError(
                f"the default output {axis} (n - 1) * stride - 2 * padding + kernel_size = "
                f"{default} is negative; pass output_size"
            )
        return default    # 0: an empty output, as PyTorch returns
    if not (default - s < requested < default + s):
        raise ValueError(
            f"output_size {axis} {requested} is not valid: for input {axis} {n}, "
            f"kernel_size={k}, stride={s}, padding={p} it must lie strictly between "
            f"{default - s} and {default + s}"
        )
    return requested


@_fill_docs
def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None, *,
                 channel_axis=None, workers=None):
    """Inverse of :func:`max_pool2d`: zeros, then each value at its index.

    Exactly ``torch.nn.functional.max_unpool2d``: record the pooling index,
    enlarge, then put each value back at its index.

    Parameters
    ----------
    x : array_like, shape (H, W), (C, H, W) or (N, C, H, W)
        Pooled values.
    indices : array_like of integers, same shape as ``x``
        Flat indices ``ih * W_out + iw`` into each output plane, as returned
        by ``max_pool2d(..., return_indices=True)``.
    kernel_size, stride, padding : int or (int, int)
        The pooling parameters (``stride`` defaults to ``kernel_size``).
    output_size : (int, int) or longer sequence, optional
        Output height and width (only the last two entries are used, so
        ``original.shape`` works).  Needed when pooling dropped a row or
        column (540 -> 270 -> 135 -> 67 cannot be inverted without it); must
        lie strictly within ``stride`` of the default
        ``(n - 1) * stride - 2 * padding + kernel_size``.
    %(pool_channel_axis)s
    %(workers)s

    Returns
    -------
    out : ndarray
        Shape ``(..., H_out, W_out)``, dtype of ``x``.  Where indices repeat,
        the value that comes last in row-major order wins.

    Raises
    ------
    ValueError
        When an index lies outside ``[0, H_out * W_out)`` or shapes disagree
        (also an ``output_size`` outside the allowed range, an empty plane,
        a ``kernel_size`` or ``stride`` below 1, a negative ``padding``, an
        output larger than this machine's memory, and the ``x``,
        ``channel_axis`` and ``workers`` errors of :func:`max_pool2d`).
    TypeError
        A non-numeric or complex ``x``, ``indices`` of a non-integer dtype,
        an ``output_size`` that is not a sequence of at least two ints, or
        a size, axis or ``workers`` of the wrong type
        (``ParameterTypeError``, which is also a ``ValueError``).

    Examples
    --------
    >>> import numpy as np, imfilt
    >>> x = np.array([[1., 2, 5, 3],
    ...               [4, 0, 1, 1]])
    >>> pooled, idx = imfilt.max_pool2d(x, 2, return_indices=True)
    >>> imfilt.max_unpool2d(pooled, idx, 2)
    array([[0., 0., 5., 0.],
           [4., 0., 0., 0.]])
    """
    x, c = _channels_first(x, channel_axis, "max_unpool2d")
    if c is not None:
        indices, _ = _channels_first(indices, channel_axis, "max_unpool2d", "indices")
    return _channels_back(_unpool_planes(x, indices, kernel_size, stride, padding,
                                         output_size, workers), c)


def _unpool_planes(x, indices, kernel_size, stride, padding, output_size, workers):
    arr, lead = as_planes(x)
    ind = as_array(indices, "indices")
    if ind.dtype.kind not in "iu":
        raise TypeError(
            f"indices has dtype {ind.dtype}; use the integer indices from "
            "max_pool2d(..., return_indices=True)"
        )
    if ind.shape != arr.shape:
        raise ValueError(
            f"indices has shape {ind.shape} but x has shape {arr.shape}; they must match"
        )
    kh, kw = as_torch_pair("kernel_size", kernel_size, minimum=1)
    sh, sw = (kh, kw) if stride is None else as_torch_pair("stride", stride, minimum=1,
                                                             empty=(kh, kw))
    ph, pw = as_torch_pair("padding", padding, minimum=0)
    H, W = arr.shape[-2:]
    if H == 0 or W == 0:
        raise ValueError(
            f"x has an empty plane (shape {arr.shape}); unpooling needs at least one row "
            "and one column (PyTorch refuses it too)"
        )
    req = (None, None)
    if output_size is not None:
        size = output_hw(output_size)
        req = tuple(size[-2:])
    Ho = _unpool_size(H, kh, sh, ph, req[0], "height")
    Wo = _unpool_size(W, kw, sw, pw, req[1], "width")
    compute, out_dtype = _selection_dtypes(arr.dtype, "max_unpool2d")
    P = math.prod(lead)
    if output_size is not None:
        name, value = "output_size", output_size
    elif stride is not None and max((H - 1) * sh, (W - 1) * sw) > max(kh, kw):
        name, value = "stride", stride
    else:
        name, value = "kernel_size", kernel_size
    check_fits_in_memory(name, value, "an output", (P, Ho, Wo), compute.itemsize)
    if Ho * Wo == 0:
        # An empty output plane holds no position to check (PyTorch returns it).
        return np.zeros(tuple(lead) + (Ho, Wo), dtype=out_dtype)
    vals = _as_compute(arr.reshape((P, H * W)), compute, order=False)
    flat = ind.reshape((P, H * W))
    if flat.size:
        lo, hi = int(flat.min()), int(flat.max())
        if lo < 0 or hi >= Ho * Wo:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"indices holds {bad}, outside [0, {Ho * Wo}) for an output plane of "
                f"{Ho}x{Wo}; pass the indices of max_pool2d with the same kernel_size, "
                "stride and padding (and output_size if the input size was odd)"
            )
    flat = np.ascontiguousarray(flat, dtype=np.int64)
    out = np.zeros((vals.shape[0], Ho * Wo), dtype=compute)
    nthreads = resolve_workers(workers)
    ran_parallel(_kpool.unpool2d(vals, flat, out, nthreads, min_parallel_work()))
    return out.astype(out_dtype, copy=False).reshape(tuple(lead) + (Ho, Wo))
