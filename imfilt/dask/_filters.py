"""The front ends of :mod:`imfilt.dask`: each validates its arguments once,
plans the halos (``_graph``) and runs imfilt's in-memory kernels per block.

The neighbourhood filters -- the 2-D edge filters (fixed 'same'-size
windows) and the N-D smoothing, rank, morphology and bilateral filters --
are generated from one table, ``HALO_TABLE``: a row names the in-memory
function, its halo (fixed, or computed from the call's arguments) and its
number of outputs, and the wrapper -- signature, validation, graph,
docstring -- follows from that row.
"""

import functools
import inspect
import textwrap
from dataclasses import replace
from typing import NamedTuple

import dask.array as da
import numpy as np

from imfilt import _linear, edges, morphology, pooling, rank, smoothing
from imfilt._docs import docfiller
from imfilt.bilateral import bilateral as _bilateral
from imfilt.bilateral import bilateral_radius
from imfilt._geometry import (PLANES_HINT, STACK_HINT, as_tuple, channel_axis_index,
                              check_colour_ambiguity, dilated_span, filter_axes,
                              looks_like_colour, mode_pads, spatial_axes, valid_swap)
from imfilt._halo import plan_axis
from imfilt._kernels import _pool as _kpool
from imfilt._modes import canonical_boundary
from imfilt._validation import as_array, as_fillvalue, result_dtypes
from imfilt.dask._graph import (as_dask, avg_map, bounds, dask_workers, halo_map, halo_map_nd,
                                local_map)
from imfilt.upsampling import check_bilinear_tables
from imfilt.upsampling import upsample as _upsample

__all__ = ["convolve", "correlate", "sobel", "scharr", "prewitt", "roberts", "laplace",
           "gradient", "max_pool2d", "min_pool2d", "avg_pool2d", "upsample", "HALO_TABLE"]


# --------------------------------------------------------------------------
# convolution and correlation


def _valid_patch(patch, *, kernel, dtype, spec):
    """The in-memory pipeline on an explicitly padded patch, in 'valid' mode."""
    return _linear.apply(patch, kernel, 0, dtype, None, spec)


def _channel_axes(image, axes, channel_axis, func):
    """``axes`` for a 2-D filter given ``channel_axis`` (the colour rule applied)."""
    check_colour_ambiguity(image, axes, channel_axis, func, STACK_HINT)
    if channel_axis is None:
        return axes
    shape = image.shape
    c = channel_axis_index(channel_axis, len(shape))
    rest = [a for a in range(len(shape)) if a != c]
    if axes is None:
        if len(rest) < 2:
            raise ValueError(f"{func}: channel_axis={channel_axis!r} leaves fewer than two "
                             f"spatial axes in an image of shape {tuple(shape)}")
        return tuple(rest[-2:])
    if c in spatial_axes(axes, len(shape)):
        raise ValueError(f"axes={axes!r} contains the channel axis channel_axis={channel_axis!r}; "
                         "the channel axis is never filtered")
    return axes


def _dask_filter(image, kernel, mode, boundary, fillvalue, dtype, workers, flip, method,
                 stride, dilation, axes, nan_policy, name, channel_axis=None):
    image = as_dask(image)
    kernel = as_array(kernel, "kernel")
    if kernel.ndim == 2 or channel_axis is not None:
        axes = _channel_axes(image, axes, channel_axis,
                             name.replace("imfilt-", "imfilt.dask."))
    # Parsed once, here: every block reuses the spec (workers=None is imfilt's
    # default thread count, resolved when the graph is built).
    spec = _linear.parse(mode, boundary, method, workers, stride, dilation, None, flip,
                         nan_policy)
    compute, out_dtype = result_dtypes(np.dtype(image.dtype), kernel.dtype, dtype)
    fill = as_fillvalue(fillvalue, compute)
    if axes is None and channel_axis is None and image.ndim == kernel.ndim >= 3:
        return _dask_filter_nd(image, kernel, spec, fillvalue, fill, dtype, compute, out_dtype,
                               name)
    stride = spec.stride or as_tuple("stride", stride, 2, minimum=1)
    dilation = spec.dilation or as_tuple("dilation", dilation, 2, minimum=1)
    # Blocks hold the spatial axes last: the in-memory filter is told so
    # (never the colour rule's guess, never an N-D reading).
    spec = replace(spec, axes=(-2, -1))
    if kernel.size == 0:
        raise ValueError(f"kernel must not be empty; got shape {kernel.shape}")

    one_d = image.ndim == 1 and kernel.ndim == 1
    if one_d:
        if axes is not None:
            raise ValueError(f"axes={axes!r} is only for images with 2 or more dimensions")
        x, w = image[np.newaxis, :], kernel[np.newaxis, :]
        stride, dilation = (1, stride[1]), (1, dilation[1])
        perm = None
    elif image.ndim >= 2 and kernel.ndim == 2:
        ax = spatial_axes(axes, image.ndim)
        perm = [a for a in range(image.ndim) if a not in ax] + list(ax)
        x, w = image.transpose(perm), kernel
    else:
        raise ValueError(
            "imfilt.dask needs a 1-D image with a 1-D kernel, an image with at least 2 "
            "dimensions and a 2-D kernel, or (N-D convolution, axes=None) a kernel with as "
            f"many dimensions as the image; got image.ndim={image.ndim} (shape {image.shape}) "
            f"and kernel.ndim={kernel.ndim} (shape {kernel.shape}) with axes={axes!r}. "
            "Per-slice kernels are not supported here: use imfilt.convolve in memory, or "
            "filter each slice separately"
        )

    span = tuple(dilated_span(k, d) for d, k in zip(dilation, w.shape))
    if valid_swap(spec.mode, x.shape[-2:], span):
        # SciPy swaps image and kernel: the image is the smaller, so filter it
        # whole, in memory, as one block per leading index.
        whole = x.rechunk({x.ndim - 2: -1, x.ndim - 1: -1})
        probe = _linear.apply(np.zeros(x.shape[-2:], dtype=compute), w, fillvalue, dtype, None,
                              spec)
        result = whole.map_blocks(
            lambda b: _linear.apply(b, w, fillvalue, dtype, None, spec),
            chunks=whole.chunks[:-2] + ((probe.shape[0],), (probe.shape[1],)),
            dtype=out_dtype, meta=np.empty((0,) * x.ndim, dtype=out_dtype))
        if one_d and not flip and np.dtype(out_dtype).kind == "c":
            # As in memory: the swapped 1-D correlation is conjugated.
            result = result.conj()
    else:
        align = flip or one_d
        pads = tuple(mode_pads(spec.mode, k, align) for k in span)
        # Keep a real image real when only the kernel is complex (as in memory).
        patch_dtype = compute
        if compute.kind == "c" and np.dtype(x.dtype).kind != "c" and not isinstance(fill, complex):
            patch_dtype = np.dtype(np.float32 if compute == np.complex64 else np.float64)
        valid = replace(spec, mode="valid", boundary="fill", stride=stride, dilation=dilation)
        func = functools.partial(_valid_patch, kernel=w, dtype=dtype, spec=valid)
        result = halo_map(x, func, span, pads, stride, spec.boundary, fill, patch_dtype,
                          out_dtype, name)
    if one_d:
        return result[0]
    if perm is not None and perm != list(range(image.ndim)):
        result = result.transpose(np.argsort(perm).tolist())
    return result


def _dask_filter_nd(image, kernel, spec, fillvalue, fill, dtype, compute, out_dtype, name):
    """N-D convolution/correlation (the kernel spans every axis): exact halos on every axis."""
    strides = as_tuple("stride", spec.stride_arg, image.ndim, minimum=1)
    dilations = as_tuple("dilation", spec.dilation_arg, image.ndim, minimum=1)
    spans = tuple(dilated_span(k, d) for d, k in zip(dilations, kernel.shape))
    nd = replace(spec, axes=None, stride=None, dilation=None, stride_arg=strides,
                 dilation_arg=dilations)
    if 0 in kernel.shape or valid_swap(spec.mode, image.shape, spans):
        # The image is the smaller (SciPy swaps them) or the kernel is empty:
        # one block, in memory (which also raises what it raises).
        whole = image.rechunk(-1)
        probe = _linear.apply(np.zeros(image.shape, dtype=compute), kernel, fillvalue, dtype,
                              None, nd)
        return whole.map_blocks(lambda b: _linear.apply(b, kernel, fillvalue, dtype, None, nd),
                                chunks=tuple((n,) for n in probe.shape), dtype=out_dtype,
                                meta=np.empty((0,) * image.ndim, dtype=out_dtype))
    patch_dtype = compute
    if compute.kind == "c" and np.dtype(image.dtype).kind != "c" and not isinstance(fill, complex):
        patch_dtype = np.dtype(np.float32 if compute == np.complex64 else np.float64)
    valid = replace(nd, mode="valid", boundary="fill")
    func = functools.partial(_valid_patch, kernel=kernel, dtype=dtype, spec=valid)
    pads = tuple(mode_pads(spec.mode, k, True) for k in spans)
    return halo_map_nd(image, func, spans, pads, strides, spec.boundary, fill, patch_dtype,
                       out_dtype, name)


_PARAMS = """\
image : dask.array.Array or array_like
    The image: 1-D, 2-D, or a stack whose two spatial axes are given by
    ``axes`` (default the last two).  Any chunking; chunks may be smaller
    than the kernel's halo and of uneven sizes.  Non-Dask input is wrapped
    with :func:`dask.array.asarray`.
kernel : array_like
    The filter kernel, an in-memory array: 1-D for a 1-D image, 2-D (shared
    by every slice of a stack), or with as many dimensions as the image for
    N-D convolution over every axis (``axes=None``; halos on every axis).
mode, boundary, fillvalue, dtype, stride, dilation, axes, channel_axis
    As in :func:`imfilt.convolve`: every mode (SciPy's 'same' alignment for
    even kernels, the 'valid' swap), every boundary including ``'wrap'``.
workers : int or None, optional
    OpenMP threads per block (default 1: one per Dask thread, see the
    module's *Threads* section).  ``None`` uses imfilt's default.
method : {'direct', 'auto', 'separable', 'fft'}, optional
    Method used inside each block (default ``'direct'``, which makes the
    result bit-identical to the in-memory direct result).  The others agree
    with it to rounding.
nan_policy : {'propagate', 'omit', 'raise'}, optional
    As in :func:`imfilt.convolve`; ``'raise'`` raises when a block holding
    NaN or inf is computed."""

_RETURNS = """\
out : dask.array.Array
    Lazy result; its chunks follow the input's (the output block edges sit
    at the outputs centred on the input chunk edges)."""


#: The heading and imports of every example here.
_EXAMPLES = """\
Examples
--------
>>> import numpy as np, dask.array as da, imfilt, imfilt.dask"""

_EXAMPLES_INDENTED = textwrap.indent(_EXAMPLES, "    ").lstrip()

_fill_docs = docfiller(dask_examples=_EXAMPLES, dask_linear_sections="\n".join([
    "Parameters", "----------", _PARAMS, "", "Returns", "-------", _RETURNS, "",
    "Raises", "------", "ImportError",
    "    When Dask is not installed (install ``imfilt[dask]``)."]))


@_fill_docs
def convolve(image, kernel, mode="full", boundary="fill", fillvalue=0, *, dtype=None,
             workers=1, method="direct", stride=1, dilation=1, axes=None,
             channel_axis=None, nan_policy="propagate"):
    """Convolve a Dask array: :func:`imfilt.convolve`, block by block.

    Each output block reads exactly the image samples its windows need (its
    halo), from neighbouring chunks, from several chunks when the halo is
    wider than a chunk, and from the opposite side of the image for
    ``boundary='wrap'``; the result equals ``imfilt.convolve`` on the whole
    image for every chunking.

    %(dask_linear_sections)s
    ValueError, TypeError
        The errors of :func:`imfilt.convolve`, raised when the graph is
        built (``nan_policy='raise'`` raises at compute time).

    See Also
    --------
    imfilt.convolve : the in-memory function.
    correlate : without flipping the kernel.

    %(dask_examples)s
    >>> image = np.arange(36, dtype=np.float32).reshape(6, 6)
    >>> lazy = imfilt.dask.convolve(da.from_array(image, chunks=2), np.ones((3, 3)),
    ...                             mode="same", boundary="wrap")
    >>> lazy.chunks
    ((2, 2, 2), (2, 2, 2))
    >>> result = lazy.compute(scheduler="threads")
    >>> np.array_equal(result, imfilt.convolve(image, np.ones((3, 3)), mode="same",
    ...                                        boundary="wrap", method="direct"))
    True
    """
    return _dask_filter(image, kernel, mode, boundary, fillvalue, dtype, workers, True,
                        method, stride, dilation, axes, nan_policy, "imfilt-convolve",
                        channel_axis)


@_fill_docs
def correlate(image, kernel, mode="full", boundary="fill", fillvalue=0, *, dtype=None,
              workers=1, method="direct", stride=1, dilation=1, axes=None,
              channel_axis=None, nan_policy="propagate"):
    """Correlate a Dask array: :func:`imfilt.correlate`, block by block.

    Same halo rules as :func:`convolve`; the kernel is not flipped, and
    'same' mode with even kernels follows ``scipy.signal.correlate2d``.

    %(dask_linear_sections)s
    ValueError, TypeError
        The errors of :func:`imfilt.correlate`, raised when the graph is
        built.

    See Also
    --------
    imfilt.correlate : the in-memory function.
    convolve : true convolution.

    Examples
    --------
    >>> import numpy as np, dask.array as da, imfilt.dask
    >>> image = da.ones((5, 7), chunks=(2, 3), dtype=np.float32)
    >>> out = imfilt.dask.correlate(image, np.ones((2, 2)), mode="valid", stride=2)
    >>> out.shape
    (2, 3)
    >>> out.compute()
    array([[4., 4., 4.],
           [4., 4., 4.]], dtype=float32)
    """
    return _dask_filter(image, kernel, mode, boundary, fillvalue, dtype, workers, False,
                        method, stride, dilation, axes, nan_policy, "imfilt-correlate",
                        channel_axis)





# --------------------------------------------------------------------------
# local-window filters, generated from one table


_EDGE_COMMON = """    Each block gathers its one-pixel halo (from the opposite side for
    ``boundary='wrap'``) and runs the in-memory filter; the result is
    bit-identical to it for every chunking.  ``workers`` defaults to 1
    thread per block (see the module's *Threads* section).  ``canny`` has
    no chunked version: its hysteresis joins edges across the whole image."""


_PARAM_DOCS = {
    "image": "image : dask.array.Array or array_like, 2-D (3-D with ``channel_axis``)\n"
             "    Image of any real dtype, any chunking.",
    "axis": "axis : {None, 0, 1, -2, -1}, optional\n"
            "    ``None`` (default): gradient magnitude; 0 or 1: one derivative.",
    "operator": "operator : {'sobel', 'scharr', 'prewitt'}, optional\n"
                "    The derivative pair (default ``'sobel'``).",
    "neighbors": "neighbors : {4, 8}, optional\n"
                 "    The 4- (default) or 8-neighbour Laplacian kernel.",
    "boundary": "boundary : str, optional\n"
                "    Boundary rule (default ``'symm'``), every name of :func:`imfilt.convolve`.",
    "size": "size : {3, 5, 7}, optional\n"
            "    Sobel aperture (default 3); the halo grows to ``size // 2``.",
    "fillvalue": "fillvalue : scalar, optional\n"
                 "    Value outside the image for ``boundary='fill'`` (default 0).",
    "mask": "mask : array_like or dask.array.Array of bool, 2-D, optional\n"
            "    As for the in-memory filter: 0 outside the mask eroded by 3x3 (a Dask\n"
            "    mask is eroded lazily, chunk by chunk).",
    "convention": "convention : {'ndimage', 'skimage'}, optional\n"
                  "    Kernel scaling, as for the in-memory filter.",
    "channel_axis": "channel_axis : int, optional\n"
                    "    Channel axis of a 3-D colour image (default ``None``: 2-D image).",
    "workers": "workers : int or None, optional\n"
               "    OpenMP threads per block (default 1); ``None``: imfilt's default.",
    "nan_policy": "nan_policy : {'propagate', 'omit', 'raise'}, optional\n"
                  "    As for the in-memory filter; ``'raise'`` raises at compute time.",
}




#: The Raises section of every generated (``HALO_TABLE``) docstring.
_TABLE_RAISES = """\
    Raises
    ------
    ValueError, TypeError
        The in-memory function's errors, when the graph is built
        (``nan_policy='raise'`` raises when a block is computed)."""


def _local_doc(name, func, params, n_out, example):
    summary = func.__doc__.strip().splitlines()[0].replace("of a 2-D image", "of a Dask array")
    listed = "\n".join("    " + line for key in params if key in _PARAM_DOCS
                       for line in _PARAM_DOCS[key].splitlines())
    returns = ("Lazy ``(magnitude, direction)``, with the input's chunks." if n_out > 1
               else "Lazy result with the input's chunks.")
    return f"""{summary}

    Chunked :func:`imfilt.{name}`: same parameters and results, taking and
    returning a ``dask.array.Array``.
{_EDGE_COMMON}

    Parameters
    ----------
{listed}

    Returns
    -------
    out : dask.array.Array
        {returns}

{_TABLE_RAISES}

    See Also
    --------
    imfilt.{name} : the in-memory filter.

    Examples
    --------
{example}
    """


# --------------------------------------------------------------------------
# pooling (PyTorch semantics) and upsampling


_POOL_COMMON = """\
Each output block gathers exactly the input its windows read, with the
implicit padding (and ``ceil_mode``'s overhang) made explicit, and runs
the in-memory kernel with ``padding=0``, so the result is bit-identical
to the in-memory function for every chunking; windows may straddle
chunk edges (and a chunk may be smaller than a window).  Average
pooling passes each run of outputs with the same divisor to the kernel
as ``divisor_override``, which reproduces the in-memory count exactly.
``workers`` defaults to 1 thread per block (module *Threads* section)."""

_fill_pool_docs = docfiller(
    dask_examples=_EXAMPLES,
    dask_pool_common=_POOL_COMMON,
    dask_pool_x="x : dask.array.Array or array_like\n    The input, any chunking.",
    dask_select_params="""\
kernel_size, stride, padding, dilation, ceil_mode
    As for the in-memory function (``stride`` defaults to ``kernel_size``).
return_indices : False
    Not supported here (flat indices need the whole plane): only ``False``
    is accepted; use the in-memory function for indices.""",
    dask_pool_tail="""\
channel_axis : int, optional
    As for the in-memory function: the axis of ``x`` that holds channels,
    not pooled.  A 3-D ``x`` whose last axis has length 3 or 4 needs it
    (it looks like a colour image).
workers : int or None, optional
    OpenMP threads per block (default 1); ``None``: imfilt's default.

Returns
-------
out : dask.array.Array
    Lazy result, the shape of the in-memory result.

Raises
------
ValueError, TypeError
    The in-memory function's errors, when the graph is built.""")


def _pool_patch(patch, *, func, kernel_size, stride, dilation, workers):
    """Max/min pooling of an explicitly padded patch (padding 0, the patch sized
    so that it holds exactly the block's windows)."""
    return func(patch, kernel_size, stride, 0, dilation, workers=workers)


def _planes_call(func, patch, *args, **kwargs):
    """An in-memory pooling ``func`` on a patch read as planes (never as colour)."""
    if patch.ndim == 3:
        return func(patch[None], *args, **kwargs)[0]
    return func(patch, *args, **kwargs)


def _pool(x, func, op, kernel_size, stride, padding, dilation, ceil_mode, workers, name,
          count_include_pad=True, divisor_override=None, channel_axis=None, planes=False):
    x = as_dask(x)
    if planes:
        pass                      # channels already moved before (H, W)
    elif channel_axis is None:
        check_colour_ambiguity(x, None, None, name.replace("imfilt-", "imfilt.dask."),
                               PLANES_HINT, "x")
    else:
        c = channel_axis_index(channel_axis, x.ndim)
        if x.ndim < 3:
            raise ValueError(f"channel_axis={channel_axis!r} needs an input with a channel axis "
                             f"and two spatial axes; x has shape {x.shape}")
        out = _pool(x.transpose(_move_to(x.ndim, c, x.ndim - 3)), func, op, kernel_size,
                    stride, padding, dilation, ceil_mode, workers, name, count_include_pad,
                    divisor_override, planes=True)
        return out.transpose(_move_to(x.ndim, x.ndim - 3, c))
    func = functools.partial(_planes_call, func)
    workers = dask_workers(workers)
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"x must have shape (H, W), (C, H, W) or (N, C, H, W); got "
                         f"{x.ndim} dimension(s), shape {x.shape}")
    # The in-memory geometry check: every message and the output size.
    ksz, strd, pad, dil, (Ho, Wo) = pooling._geometry(x.shape, kernel_size, stride, padding,
                                                      dilation, ceil_mode)
    meta = np.zeros((1, 1), dtype=x.dtype)
    if op == "avg":
        probe = func(meta, 1, 1, 0, False, bool(count_include_pad), divisor_override,
                     workers=1)
        compute, init = probe.dtype, 0
    else:
        probe = func(meta, 1, workers=1)
        # Selection keeps the dtype: the patches stay in it (a cast to the
        # kernels' int64 here would change the blocks' dtype and wrap uint64),
        # padded with the dtype's least (max) or greatest (min) value.
        compute = probe.dtype
        init = pooling._init_value(pooling._OP_MAX if op == "max" else pooling._OP_MIN, compute,
                                   compute)
    spans = [dilated_span(k, d) for k, d in zip(ksz, dil)]
    lead = x.ndim - 2
    plans = []
    for axis, n, K, s, p, o in zip((0, 1), x.shape[-2:], spans, strd, pad, (Ho, Wo)):
        after = max(0, (o - 1) * s + K - n - p)         # ceil_mode's overhang, if any
        plan = plan_axis(n, p, after, K, s, "fill", in_bounds=bounds(x.chunks[lead + axis]))
        assert plan.out_len == o
        plans.append(plan)
    if op != "avg" or divisor_override is not None:
        if op == "avg":
            patch_func = functools.partial(_avg_override_patch, func=func, kernel_size=ksz,
                                           stride=strd, divisor=divisor_override,
                                           workers=workers)
        else:
            patch_func = functools.partial(_pool_patch, func=func, kernel_size=ksz,
                                           stride=strd, dilation=dil, workers=workers)
        return halo_map(x, patch_func, spans, None, strd, "fill", init, compute,
                         probe.dtype, name, plans=plans)
    # Average pooling: one call per run of equal divisors (few at the borders).
    counts = [_kpool.avg_axis_counts(n, k, s, p, o, bool(count_include_pad))
              for n, k, s, p, o in zip(x.shape[-2:], ksz, strd, pad, (Ho, Wo))]
    return avg_map(x, plans, counts, ksz, strd, compute, probe.dtype, name, func, workers)


def _move_to(ndim, source, destination):
    """The permutation that moves axis ``source`` to ``destination``."""
    order = [a for a in range(ndim) if a != source]
    order.insert(destination, source)
    return order


def _select_pool(func, op, x, kernel_size, stride, padding, dilation, ceil_mode,
                 return_indices, workers, channel_axis=None):
    """Max or min pooling (``op``) of a Dask array with ``func``'s semantics."""
    if return_indices is not False:
        raise ValueError(
            f"return_indices={return_indices!r} is not supported by imfilt.dask: flat "
            "indices into the whole plane need the whole plane; use "
            f"imfilt.{func.__name__} in memory"
        )
    return _pool(x, func, op, kernel_size, stride, padding, dilation, ceil_mode, workers,
                 f"imfilt-{func.__name__}", channel_axis=channel_axis)


def _avg_override_patch(patch, *, func, kernel_size, stride, divisor, workers):
    return func(patch, kernel_size, stride, 0, False, True, divisor, workers=workers)


def _select_front(func, op, example):
    """The chunked front of the max or min pooling ``func`` (``op``): the two
    differ only in that function and their docstring example."""
    def front(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
              return_indices=False, *, channel_axis=None, workers=1):
        return _select_pool(func, op, x, kernel_size, stride, padding, dilation, ceil_mode,
                            return_indices, workers, channel_axis)

    name = func.__name__
    front.__name__ = front.__qualname__ = name
    front.__doc__ = f"""{op.capitalize()} pooling of a Dask array.

    Chunked :func:`imfilt.{name}`, PyTorch semantics.
    %(dask_pool_common)s

    Parameters
    ----------
    %(dask_pool_x)s
    %(dask_select_params)s
    %(dask_pool_tail)s

    See Also
    --------
    imfilt.{name} : the in-memory function.

    %(dask_examples)s
{example}
    """
    return _fill_pool_docs(front)


max_pool2d = _select_front(pooling.max_pool2d, "max", """\
    >>> x = np.arange(36, dtype=np.float32).reshape(6, 6)
    >>> lazy = imfilt.dask.max_pool2d(da.from_array(x, chunks=(3, 4)), 3, stride=2, padding=1)
    >>> lazy.compute()
    array([[ 7.,  9., 11.],
           [19., 21., 23.],
           [31., 33., 35.]], dtype=float32)
    >>> np.array_equal(lazy.compute(), imfilt.max_pool2d(x, 3, stride=2, padding=1))
    True""")
min_pool2d = _select_front(pooling.min_pool2d, "min", """\
    >>> x = da.from_array(np.arange(16.0).reshape(4, 4), chunks=3)
    >>> imfilt.dask.min_pool2d(x, 2).compute()
    array([[ 0.,  2.],
           [ 8., 10.]])""")


@_fill_pool_docs
def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, *, channel_axis=None,
               workers=1):
    """Average pooling of a Dask array.

    Chunked :func:`imfilt.avg_pool2d`, PyTorch semantics.
    %(dask_pool_common)s

    Parameters
    ----------
    %(dask_pool_x)s
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As for :func:`imfilt.avg_pool2d`.
    %(dask_pool_tail)s

    See Also
    --------
    imfilt.avg_pool2d : the in-memory function.

    %(dask_examples)s
    >>> x = np.arange(25, dtype=np.float32).reshape(5, 5)
    >>> lazy = imfilt.dask.avg_pool2d(da.from_array(x, chunks=2), 2, ceil_mode=True,
    ...                               count_include_pad=False)
    >>> lazy.compute()
    array([[ 3. ,  5. ,  6.5],
           [13. , 15. , 16.5],
           [20.5, 22.5, 24. ]], dtype=float32)
    >>> np.array_equal(lazy.compute(), imfilt.avg_pool2d(x, 2, ceil_mode=True,
    ...                                                  count_include_pad=False))
    True
    """
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise TypeError(f"count_include_pad={count_include_pad!r} is not valid; use True or "
                        "False")
    if divisor_override is not None:
        pooling.avg_pool2d(np.zeros((1, 1)), 1, divisor_override=divisor_override)  # validate
    return _pool(x, pooling.avg_pool2d, "avg", kernel_size, stride, padding, 1, ceil_mode,
                 workers, "imfilt-avg_pool2d", count_include_pad, divisor_override,
                 channel_axis)


def _upsample_patch(patch, *, factor, method, workers):
    fy, fx = factor
    out = _upsample(patch, factor, method, workers=workers, axes=(-2, -1))
    return out[..., fy:out.shape[-2] - fy, fx:out.shape[-1] - fx] if method == "bilinear" else out


@_fill_pool_docs
def upsample(image, factor, method="bilinear", *, axes=None, channel_axis=None, workers=1):
    """Enlarge a Dask array by an integer factor: chunked :func:`imfilt.upsample`.

    Every block is enlarged with a one-sample halo (edge-replicated at the
    image border, as the in-memory bilinear method does) and cropped, so
    the result is bit-identical to the in-memory one for every chunking;
    output chunks are the input chunks times ``factor``.

    Parameters
    ----------
    image : dask.array.Array or array_like, at least 2-D
        The image or stack of images, any chunking.
    factor : int or (int, int)
        Upsampling factor for (height, width); >= 1.
    method : {'bilinear', 'nearest'}, optional
        As for :func:`imfilt.upsample` (default ``'bilinear'``).
    axes : (int, int), optional
        The spatial axes (default: the last two other than ``channel_axis``).
    channel_axis : int, optional
        As for :func:`imfilt.upsample`: the colour axis, not resampled.  A
        3-D image whose last axis has length 3 or 4 needs ``axes`` or
        ``channel_axis``.
    workers : int or None, optional
        OpenMP threads per block (default 1); ``None``: imfilt's default.

    Returns
    -------
    out : dask.array.Array
        ``factor`` times larger along ``axes``.

    Raises
    ------
    ValueError, TypeError
        The in-memory function's errors, when the graph is built.

    See Also
    --------
    imfilt.upsample : the in-memory function.

    %(dask_examples)s
    >>> image = np.array([[0., 4.], [8., 12.]])
    >>> lazy = imfilt.dask.upsample(da.from_array(image, chunks=1), 2)
    >>> lazy.chunks
    ((2, 2), (2, 2))
    >>> lazy.compute()
    array([[ 0.,  1.,  3.,  4.],
           [ 2.,  3.,  5.,  6.],
           [ 6.,  7.,  9., 10.],
           [ 8.,  9., 11., 12.]])
    """
    x = as_dask(image)
    axes = _channel_axes(x, axes, channel_axis, "imfilt.dask.upsample")
    workers = dask_workers(workers)
    # Validate factor, method and axes like the in-memory function (the
    # probe upsamples by 1: a lazy result need not fit in memory, only each
    # of its blocks, which the in-memory function checks when it runs).
    fy, fx = as_tuple("factor", factor, 2, minimum=1)
    probe = _upsample(np.zeros((1,) * max(x.ndim - 2, 0) + (1, 1), dtype=x.dtype), 1,
                      method, axes=axes, workers=1)
    if method == "bilinear":     # every block needs the factor's tables
        check_bilinear_tables(factor, fx)
    ax = spatial_axes(axes, x.ndim)
    perm = [a for a in range(x.ndim) if a not in ax] + list(ax)
    xt = x.transpose(perm)
    halo = 1 if method == "bilinear" else 0
    pads = ((halo, halo), (halo, halo))
    span = (2 * halo + 1, 2 * halo + 1)
    func = functools.partial(_upsample_patch, factor=(fy, fx), method=method, workers=workers)
    out = halo_map(xt, func, span, pads, (1, 1), "edge", 0, np.dtype(x.dtype),
                   probe.dtype, "imfilt-upsample", out_scale=(fy, fx))
    if perm != list(range(x.ndim)):
        out = out.transpose(np.argsort(perm).tolist())
    return out


# --------------------------------------------------------------------------
# N-D neighbourhood filters (smoothing, rank, morphology), from one table
#
# Every block is extended by the filter's reach along each filtered axis
# (from its neighbours; from the opposite side for boundary='wrap') and
# filtered in memory with the caller's boundary rule; the extension is then
# cropped.  Where a block touches the image border the in-memory call sees
# that very border and applies the same rule, so the result is bit for bit
# the in-memory one; where the reach is not smaller than the axis, that
# axis is kept whole.  (``box`` is left out: its running sums start at
# the line's first sample, so a block's rounding differs from the whole
# image's in the last bit.)  Multi-pass filters (opening, top-hats) need the sum
# of their passes' reaches; a larger halo than needed is never wrong.


def _gauss_reach(sigma, truncate, radius, n):
    """Per-axis Gaussian radius: ``int(truncate*sigma + 0.5)`` unless ``radius`` is given."""
    sigmas = as_tuple("sigma", sigma, n, minimum=0, kind=float)
    if radius is not None:
        return as_tuple("radius", radius, n, minimum=0)
    return tuple(int(truncate * s + 0.5) for s in sigmas)


def _window_reach(size, footprint, n, passes=1):
    """Per-axis reach of a window (``size`` or ``footprint``) applied ``passes`` times."""
    shape = np.shape(footprint) if footprint is not None else as_tuple("size", size, n, minimum=1)
    return tuple(passes * int(s) for s in shape)


def _dog_reach(low_sigma, high_sigma, truncate, n):
    low = as_tuple("low_sigma", low_sigma, n, minimum=0, kind=float)
    high = (tuple(1.6 * s for s in low) if high_sigma is None
            else as_tuple("high_sigma", high_sigma, n, minimum=0, kind=float))
    return tuple(max(a, b) for a, b in zip(_gauss_reach(low, truncate, None, n),
                                           _gauss_reach(high, truncate, None, n)))


def _box_reach(size, n):
    """``(before, after)`` per axis: back to the band start, forward to the window's end."""
    return tuple((255 + s // 2, s - 1 - s // 2) for s in as_tuple("size", size, n, minimum=1))


def _origin_block(block, *, func, kwargs, starts, depth, wrap, block_info=None):
    """``func(block, origin, ...)`` with the block's global origin (its halo included)."""
    origin = []
    for a, k in enumerate(block_info[0]["chunk-location"]):
        before, after = _pair(depth.get(a, 0))
        last = len(starts[a]) - 2
        left = before if wrap or k > 0 else 0
        right = after if wrap or k < last else 0
        if block.shape[a] != starts[a][k + 1] - starts[a][k] + left + right:
            raise AssertionError(f"unexpected overlap of block {k} along axis {a}")
        origin.append(int(starts[a][k]) - left)
    return func(block, origin=tuple(origin), **kwargs)


def _pair(h):
    return tuple(h) if isinstance(h, tuple) else (h, h)


def _nd_block(block, *, func, kwargs):
    return func(block, **kwargs)


def nd_map(func, name, reach, image, kwargs, at=None):
    """The chunked ``func``: every block extended by ``reach`` (per filtered axis).

    ``reach`` gives an int or a ``(before, after)`` pair per axis.  With
    ``at``, blocks run ``at(block, origin=..., **kwargs)`` with their global
    origin instead of ``func``.
    """
    x = as_dask(image)
    axes, channel_axis = kwargs.get("axes"), kwargs.get("channel_axis")
    kwargs = dict(kwargs, workers=dask_workers(kwargs.get("workers")))
    # A tiny in-memory call validates every argument now and gives the dtype;
    # its last axis is the image's where that makes the image look like
    # colour, so the in-memory rule (and its exceptions) decides here too.
    last = x.shape[-1] if looks_like_colour(x.shape) else 1
    try:
        probe = func(np.zeros((1,) * (x.ndim - 1) + (last,),
                              dtype=np.dtype(x.dtype).newbyteorder("=")), **kwargs)
    except ValueError:
        if last != 1:   # the same refusal, naming the image's own shape
            check_colour_ambiguity(x, axes, channel_axis, name)
        raise
    fax = filter_axes(x.ndim, axes, channel_axis)
    if "axes" in kwargs and axes is None and channel_axis is None:
        # Blocks name the filtered axes: a block whose last axis has length
        # 3 or 4 must not be refused as colour when the whole image was not.
        kwargs["axes"] = tuple(fax)
    halo = reach(len(fax), kwargs)
    if np.ndim(axes) == 1 and list(fax) != [int(a) % x.ndim for a in axes]:
        # Per-axis values pair with ``axes`` as listed for some filters and
        # with the sorted axes for others (footprints): with ``axes`` out of
        # order every filtered axis gets the largest reach, which is exact
        # either way.
        before = max(_pair(h)[0] for h in halo)
        after = max(_pair(h)[1] for h in halo)
        halo = [(before, after)] * len(fax)
    wrap = canonical_boundary(kwargs["boundary"]) == "wrap"
    depth, whole = {a: 0 for a in range(x.ndim)}, {}
    if channel_axis is not None:
        # Channels stay together (the bilateral range weight joins them).
        whole[int(channel_axis) % x.ndim] = -1
    for a, h in zip(fax, halo):
        if max(_pair(h)) == 0 or len(x.chunks[a]) == 1:
            continue
        if max(_pair(h)) >= x.shape[a] - 1:
            whole[a] = -1           # the reach covers the axis: keep it in one block
        else:
            # map_overlap takes (before, after) only without a boundary
            depth[a] = int(max(_pair(h))) if wrap or not isinstance(h, tuple) else h
    if whole:
        x = x.rechunk(whole)
    block = functools.partial(_nd_block, func=func, kwargs=kwargs)
    if at is not None:
        # Chunks at least as long as the halo (map_overlap would make them so
        # itself), so that every block's origin follows from the chunks here.
        x = x.rechunk({a: da.overlap.ensure_minimum_chunksize(max(_pair(d)), x.chunks[a])
                       for a, d in depth.items() if d})
        block = functools.partial(_origin_block, func=at, kwargs=kwargs, depth=depth, wrap=wrap,
                                  starts=[bounds(c) for c in x.chunks])
    if not any(depth.values()):
        return x.map_blocks(block, dtype=probe.dtype, meta=np.empty((0,) * x.ndim, probe.dtype))
    return da.map_overlap(block, x,
                          depth=depth, boundary="periodic" if wrap else "none", trim=True,
                          dtype=probe.dtype, meta=np.empty((0,) * x.ndim, probe.dtype))


#: name -> ``_Row(in-memory function, reach, outputs, doctest example, at,
#: local)``, one row per chunked filter.  ``local`` rows are 2-D window
#: filters (the edge filters: 'same'-size output, ``channel_axis`` for colour,
#: an optional ``mask``, run by ``local_map``) whose ``reach`` is the halo
#: ``((top, bottom), (left, right))`` or a function of the call's keyword
#: arguments returning it; the other rows are N-D neighbourhood filters whose
#: ``reach(n_filtered_axes, kwargs)`` gives the per-axis halo (an int or a
#: ``(before, after)`` pair; run by ``nd_map``, through ``at(block, origin=...)``
#: when the block's global origin matters).  ``outputs`` > 1 returns a tuple;
#: ``example`` is the 2-D rows' doctest (the N-D rows share one).  A new
#: neighbourhood filter of imfilt is one row here.
class _Row(NamedTuple):
    func: object
    reach: object
    outputs: int = 1
    example: str = ""
    at: object = None
    local: bool = False


def _window(passes=1):
    """The reach of a window filter given by ``size``/``footprint``, ``passes`` times."""
    return lambda n, kw: _window_reach(kw["size"], kw["footprint"], n, passes)


def _gauss(sigma, radius="radius"):
    """The reach of a Gaussian of the argument ``sigma`` (and ``radius``, if any)."""
    return lambda n, kw: _gauss_reach(kw[sigma], kw["truncate"], kw.get(radius), n)


_EDGE = ((1, 1), (1, 1))

HALO_TABLE = {
    "sobel": _Row(edges.sobel, lambda size=3, **kw: ((edges.check_sobel_size(size) // 2,) * 2,) * 2,
                  1, local=True, example="""\
    >>> import numpy as np, dask.array as da, imfilt, imfilt.dask
    >>> image = np.add.outer(np.arange(6.0), np.zeros(6))       # brighter downwards
    >>> lazy = imfilt.dask.sobel(da.from_array(image, chunks=2), axis=0)
    >>> lazy.compute()[2]
    array([8., 8., 8., 8., 8., 8.])
    >>> np.array_equal(lazy.compute(), imfilt.sobel(image, axis=0))
    True"""),
    "scharr": _Row(edges.scharr, _EDGE, 1, local=True, example="""\
    >>> import numpy as np, dask.array as da, imfilt.dask
    >>> image = np.add.outer(np.zeros(5), np.arange(5.0))       # brighter to the right
    >>> imfilt.dask.scharr(da.from_array(image, chunks=3), axis=1).compute()[2, 2]
    np.float64(32.0)"""),
    "prewitt": _Row(edges.prewitt, _EDGE, 1, local=True, example="""\
    >>> import numpy as np, dask.array as da, imfilt.dask
    >>> image = np.add.outer(np.zeros(5), np.arange(5.0))
    >>> imfilt.dask.prewitt(da.from_array(image, chunks=3), axis=1).compute()[2, 2]
    np.float64(6.0)"""),
    "roberts": _Row(edges.roberts, ((0, 1), (0, 1)), 1, local=True, example="""\
    >>> import numpy as np, dask.array as da, imfilt, imfilt.dask
    >>> image = np.zeros((6, 6), dtype=np.float32)
    >>> image[2:, 2:] = 1
    >>> out = imfilt.dask.roberts(da.from_array(image, chunks=(2, 3))).compute()
    >>> np.array_equal(out, imfilt.roberts(image))
    True"""),
    "laplace": _Row(edges.laplace, _EDGE, 1, local=True, example="""\
    >>> import numpy as np, dask.array as da, imfilt.dask
    >>> dot = np.zeros((5, 5), dtype=np.uint8)
    >>> dot[2, 2] = 1
    >>> imfilt.dask.laplace(da.from_array(dot, chunks=2)).compute()[1:4, 1:4]
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]], dtype=float32)"""),
    "gradient": _Row(edges.gradient, _EDGE, 2, local=True, example="""\
    >>> import numpy as np, dask.array as da, imfilt.dask
    >>> image = np.add.outer(np.arange(6.0), np.zeros(6))
    >>> magnitude, direction = imfilt.dask.gradient(da.from_array(image, chunks=4))
    >>> float(magnitude[3, 3].compute()), round(float(direction[3, 3].compute()), 4)
    (8.0, 1.5708)"""),
    "gaussian": _Row(smoothing.gaussian, _gauss("sigma")),
    "unsharp_mask": _Row(smoothing.unsharp_mask, _gauss("radius", None)),
    "gaussian_laplace": _Row(smoothing.gaussian_laplace, _gauss("sigma")),
    "gaussian_gradient_magnitude": _Row(smoothing.gaussian_gradient_magnitude, _gauss("sigma")),
    "difference_of_gaussians": _Row(
        smoothing.difference_of_gaussians,
        lambda n, kw: _dog_reach(kw["low_sigma"], kw["high_sigma"], kw["truncate"], n)),
    "median": _Row(rank.median, _window()),
    "rank_filter": _Row(rank.rank_filter, _window()),
    "percentile_filter": _Row(rank.percentile_filter, _window()),
    "minimum_filter": _Row(morphology.minimum_filter, _window()),
    "maximum_filter": _Row(morphology.maximum_filter, _window()),
    "erosion": _Row(morphology.erosion, _window()),
    "dilation": _Row(morphology.dilation, _window()),
    "morphological_gradient": _Row(morphology.morphological_gradient, _window()),
    # Two passes (erosion then dilation, or the reverse): twice the reach.
    "opening": _Row(morphology.opening, _window(2)),
    "closing": _Row(morphology.closing, _window(2)),
    "white_tophat": _Row(morphology.white_tophat, _window(2)),
    "black_tophat": _Row(morphology.black_tophat, _window(2)),
    "bilateral": _Row(_bilateral, lambda n, kw: (
        bilateral_radius(int(kw["diameter"]), kw["sigma_space"]),) * n),
    "box": _Row(smoothing.box, lambda n, kw: _box_reach(kw["size"], n), at=smoothing.box_at),
}


#: the arguments of each generated docstring's example
_EXAMPLE_ARGS = {"gaussian": "1.5", "unsharp_mask": "1.5", "gaussian_laplace": "1.0",
                 "gaussian_gradient_magnitude": "1.0", "difference_of_gaussians": "1.0",
                 "rank_filter": "2, size=3", "percentile_filter": "50, size=3",
                 "bilateral": "5, 0.3, 2.0"}


def _nd_doc(name, func, params):
    summary = func.__doc__.strip().splitlines()[0]
    arg = _EXAMPLE_ARGS.get(name, "size=3")
    return f"""{summary}

    The same as :func:`imfilt.{name}` on a chunked Dask array: same
    parameters (``workers`` defaults to 1 thread per block; no ``out``),
    returning a lazy ``dask.array.Array``.  Each block is extended by the
    filter's reach along every filtered axis and filtered in memory with the
    same boundary rule, so the result is bit-identical to the in-memory one
    for every chunking (chunks may be smaller than the reach).

    Parameters
    ----------
    image : dask.array.Array or array_like
        Any chunking; non-Dask input is wrapped with :func:`dask.array.asarray`.
    {", ".join(p for p in params if p not in ("image", "workers"))}
        As for :func:`imfilt.{name}`.
    workers : int or None, optional
        OpenMP threads per block (default 1); ``None``: imfilt's default.

    Returns
    -------
    out : dask.array.Array
        Lazy result, the shape and dtype of the in-memory result.

{_TABLE_RAISES}

    See Also
    --------
    imfilt.{name} : the in-memory filter.

    {_EXAMPLES_INDENTED}
    >>> image = np.random.default_rng(0).random((9, 10))
    >>> lazy = imfilt.dask.{name}(da.from_array(image, chunks=(2, 4)), {arg})
    >>> np.array_equal(lazy.compute(), imfilt.{name}(image, {arg}))
    True
    """


def _masked(out, mask, channel_axis):
    """``out`` set to 0 outside ``mask`` eroded by 3x3, as the in-memory filters do."""
    if isinstance(mask, da.Array):
        if mask.ndim != 2 or np.dtype(mask.dtype).kind not in "biuf":
            edges.eroded_mask(np.zeros((1,) * mask.ndim, dtype=mask.dtype))  # the message
        m = mask.astype(bool)
        padded = da.pad(m, 1, constant_values=False)
        n0, n1 = m.shape
        eroded = m
        for di in (0, 1, 2):
            for dj in (0, 1, 2):
                eroded = eroded & padded[di:di + n0, dj:dj + n1]
    else:
        eroded = edges.eroded_mask(mask)
    spatial = out.shape[-2:] if channel_axis is None else tuple(
        n for a, n in enumerate(out.shape[-3:]) if a != int(channel_axis) % 3)
    if tuple(eroded.shape) != tuple(spatial):
        raise ValueError(f"mask must have the image's shape {tuple(spatial)}; got shape "
                         f"{tuple(eroded.shape)}")
    if channel_axis is not None:
        eroded = eroded[(slice(None),) * (int(channel_axis) % 3) + (None,)]
    return da.where(eroded, out, out.dtype.type(0))


def _chunked_filter(name, row):
    """The chunked wrapper of one ``HALO_TABLE`` row: the in-memory function's
    signature with ``workers`` defaulting to 1 thread per block and no ``out``."""
    sig = inspect.signature(row.func)
    sig = sig.replace(parameters=[p.replace(default=1) if p.name == "workers" else p
                                  for p in sig.parameters.values() if p.name != "out"])
    window_2d = row.local

    def wrapper(*args, **kwargs):
        call = sig.bind(*args, **kwargs)
        call.apply_defaults()
        kw = dict(call.arguments)
        image = kw.pop("image")
        if not window_2d:
            return nd_map(row.func, name, row.reach, image, kw, row.at)
        boundary, channel_axis = kw.pop("boundary"), kw.pop("channel_axis")
        mask = kw.pop("mask", None)
        pads = row.reach(**kw) if callable(row.reach) else row.reach
        n_out = row.outputs if row.outputs > 1 else None
        out = local_map(image, row.func, pads, boundary, f"imfilt-{name}", n_out=n_out,
                        channel_axis=channel_axis, **kw)
        if mask is not None:
            out = _masked(out, mask, channel_axis)
        return tuple(out[i] for i in range(row.outputs)) if n_out else out

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__signature__ = sig
    params = list(sig.parameters)
    wrapper.__doc__ = (_local_doc(name, row.func, params, row.outputs, row.example) if window_2d
                       else _nd_doc(name, row.func, params))
    return wrapper


globals().update({name: _chunked_filter(name, row) for name, row in HALO_TABLE.items()})
#: The N-D neighbourhood filters (the rows with a reach function).
ND_FILTERS = tuple(name for name, row in HALO_TABLE.items() if not row.local)
__all__ += list(ND_FILTERS)
