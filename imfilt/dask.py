"""Chunked, parallel and distributed filtering of :mod:`dask.array` arrays.

Every function here takes a ``dask.array.Array`` (or anything
:func:`dask.array.asarray` accepts) and returns a lazy ``dask.array.Array``
whose blocks are computed by imfilt's in-memory kernels: :func:`convolve`,
:func:`correlate` and the edge filters :func:`sobel`, :func:`scharr`,
:func:`prewitt`, :func:`roberts`, :func:`laplace`, :func:`gradient`
(``canny`` has no chunked form: its hysteresis links edges across the
whole image), the pooling functions :func:`max_pool2d`, :func:`min_pool2d`,
:func:`avg_pool2d` and :func:`upsample`.  Results are
**exactly** those of the in-memory function for every chunking: each output
block gathers its own halo (the image samples its windows read, derived
from the kernel size, dilation, stride, mode and boundary), including halos
wider than a chunk and, for ``boundary='wrap'``, samples from the opposite
side of the image.  With ``method='direct'`` (the default here) the blocks
are bit-identical to ``imfilt.convolve(..., method='direct')`` on the whole
image.

Threads
-------
Dask already runs one task per worker thread, so by default each block is
filtered with ``workers=1`` OpenMP thread: ``threads x workers`` never
exceeds the cores Dask was given and nothing is oversubscribed.  Raise
``workers`` only when Dask runs fewer threads than there are cores (for
example ``workers=4`` on a ``LocalCluster(threads_per_worker=1)`` of
processes that each own four cores); ``workers=None`` uses imfilt's own
default (:func:`imfilt.set_workers`, ``OMP_NUM_THREADS``, else all cores),
which suits Dask's single-threaded scheduler.

This module needs Dask: ``pip install "imfilt[dask]"``.  ``import imfilt``
itself never imports Dask.
"""

try:
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
except ImportError as exc:  # pragma: no cover - exercised without dask installed
    raise ImportError(
        "imfilt.dask needs Dask, which is not installed; install the optional extra with "
        "pip install \"imfilt[dask]\" (or pip install \"dask[array]\")"
    ) from exc

import functools
import itertools

import numpy as np

from imfilt import _methods
from imfilt._halo import block_reads, gather_patch, plan_axis
from imfilt._modes import canonical_boundary, canonical_mode
from imfilt._nanpolicy import canonical_nan_policy
from imfilt._threads import resolve_workers
from imfilt._validation import as_array, as_fillvalue, result_dtypes
from imfilt._channels import check_colour_ambiguity
from imfilt._geometry import (as_tuple, channel_axis_index, dilated_span, mode_pads,
                              spatial_axes, valid_swap)

__all__ = ["convolve", "correlate", "sobel", "scharr", "prewitt", "roberts", "laplace",
           "gradient", "max_pool2d", "min_pool2d", "avg_pool2d", "upsample"]


def _as_dask(image):
    if not isinstance(image, da.Array):
        # Validate in NumPy first: dask cannot even chunk an object array
        # (NotImplementedError) and would hide the message that names the dtype.
        image = da.asarray(as_array(image, "image"))
    if np.dtype(image.dtype).kind not in "biufc":
        as_array(np.empty(0, dtype=image.dtype), "image")  # raises the TypeError
    return image


def _dask_workers(workers):
    if workers is None:
        return None
    resolve_workers(workers)  # validate now, with the usual message
    return workers


def _bounds(chunks):
    return np.concatenate([[0], np.cumsum(chunks)]).astype(np.intp)


def _run_block(blocks, *, ids, rows, cols, shape, fill, patch_dtype, func, kwargs):
    """One output block: gather its padded patch, filter it in 'valid' mode."""
    lookup = dict(zip(ids, blocks))
    patch = gather_patch(lambda a, b: lookup[(a, b)], rows, cols, shape, fill, patch_dtype)
    return func(patch, **kwargs)


def _halo_map(x, patch_func, kernel_span, pads, stride, boundary, fill, patch_dtype,
              out_dtype, name, n_out=None, out_scale=(1, 1), plans=None):
    """Apply ``patch_func`` to every output block's explicitly padded patch.

    ``x`` has its two spatial axes last; ``patch_func(patch)`` must return
    the ``'valid'`` result of the patch at the given stride.  With ``n_out``
    it returns ``n_out`` results stacked on a new first axis.
    """
    lead = x.ndim - 2
    if plans is None:
        plans = []
        for axis in (lead, lead + 1):
            n = x.shape[axis]
            before, after = pads[axis - lead]
            plans.append(plan_axis(n, before, after, kernel_span[axis - lead],
                                   stride[axis - lead], boundary,
                                   in_bounds=_bounds(x.chunks[axis])))
    rplan, cplan = plans
    prefix = ((n_out,),) if n_out else ()
    out_chunks = prefix + x.chunks[:lead] + (
        tuple(c * out_scale[0] for c in rplan.out_chunks),
        tuple(c * out_scale[1] for c in cplan.out_chunks))
    meta = np.empty((0,) * len(out_chunks), dtype=out_dtype)
    if rplan.out_len == 0 or cplan.out_len == 0:
        return da.zeros(tuple(sum(c) for c in out_chunks), dtype=out_dtype,
                        chunks=out_chunks)
    rbounds, cbounds = _bounds(x.chunks[lead]), _bounds(x.chunks[lead + 1])
    row_reads = [block_reads(rplan.reads(i), rbounds) for i in range(len(rplan.out_chunks))]
    col_reads = [block_reads(cplan.reads(j), cbounds) for j in range(len(cplan.out_chunks))]
    token = tokenize(x.name, name, kernel_span, pads, stride, boundary, fill,
                     str(patch_dtype), str(out_dtype), patch_func, out_scale,
                     rplan.out_bounds, cplan.out_bounds)
    out_name = f"{name}-{token}"
    dsk = {}
    lead_ranges = [range(len(c)) for c in x.chunks[:lead]]
    for lead_idx in itertools.product(*lead_ranges):
        lead_shape = tuple(x.chunks[ax][i] for ax, i in enumerate(lead_idx))
        for i, (rfill, rparts) in enumerate(row_reads):
            R = rplan.reads(i).size
            for j, (cfill, cparts) in enumerate(col_reads):
                C = cplan.reads(j).size
                ids = [(a, b) for a in sorted({p[0] for p in rparts})
                       for b in sorted({p[0] for p in cparts})]
                keys = [(x.name, *lead_idx, a, b) for a, b in ids]
                task = functools.partial(
                    _run_block, ids=ids, rows=(rfill, rparts), cols=(cfill, cparts),
                    shape=lead_shape + (R, C), fill=fill, patch_dtype=patch_dtype,
                    func=patch_func, kwargs={})
                dsk[(out_name, *((0,) if n_out else ()), *lead_idx, i, j)] = (task, keys)
    graph = HighLevelGraph.from_collections(out_name, dsk, dependencies=[x])
    return da.Array(graph, out_name, chunks=out_chunks, meta=meta)


def _valid_filter(patch, *, kernel, flip, dtype, workers, method, stride, dilation, nan_policy):
    """The in-memory filter on an explicitly padded patch (stack of 2-D)."""
    from imfilt.convolution import convolve as _conv, correlate as _corr
    fn = _conv if flip else _corr
    return fn(patch, kernel, mode="valid", dtype=dtype, workers=workers, method=method,
              stride=stride, dilation=dilation, nan_policy=nan_policy, axes=(-2, -1))


def _channel_axes(shape, axes, channel_axis, func):
    """``axes`` for a 2-D filter given ``channel_axis`` (the colour rule applied)."""
    check_colour_ambiguity(shape, axes, channel_axis, func)
    if channel_axis is None:
        return axes
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
    from imfilt.convolution import convolve as _conv, correlate as _corr
    image = _as_dask(image)
    kernel = as_array(kernel, "kernel")
    if kernel.ndim == 2 or channel_axis is not None:
        axes = _channel_axes(image.shape, axes, channel_axis, name.replace("imfilt-", "imfilt.dask."))
    mode = canonical_mode(mode)
    boundary = canonical_boundary(boundary)
    method = _methods.canonical_method(method)
    nan_policy = canonical_nan_policy(nan_policy)
    workers = _dask_workers(workers)
    compute, out_dtype = result_dtypes(np.dtype(image.dtype), kernel.dtype, dtype)
    fill = as_fillvalue(fillvalue, compute)
    stride = as_tuple("stride", stride, 2, minimum=1)
    dilation = as_tuple("dilation", dilation, 2, minimum=1)
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
            "imfilt.dask needs a 1-D image with a 1-D kernel, or an image with at least 2 "
            f"dimensions and a 2-D kernel; got image.ndim={image.ndim} (shape {image.shape}) "
            f"and kernel.ndim={kernel.ndim} (shape {kernel.shape}). Per-slice kernels and "
            "N-D kernels are not supported here: use imfilt.convolve in memory, or "
            "filter each slice separately"
        )

    span = tuple(dilated_span(k, d) for d, k in zip(dilation, w.shape))
    common = dict(dtype=dtype, workers=workers, method=method, nan_policy=nan_policy)
    if valid_swap(mode, x.shape[-2:], span):
        # SciPy swaps image and kernel: the image is the smaller, so filter it
        # whole, in memory, as one block per leading index.
        fn = _conv if flip else _corr
        whole = x.rechunk({x.ndim - 2: -1, x.ndim - 1: -1})
        probe = fn(np.zeros(x.shape[-2:], dtype=compute), w, mode=mode, boundary=boundary,
                   fillvalue=fillvalue, stride=stride, dilation=dilation, dtype=dtype)
        result = whole.map_blocks(
            lambda b: fn(b, w, mode=mode, boundary=boundary, fillvalue=fillvalue,
                         stride=stride, dilation=dilation, axes=(-2, -1), **common),
            chunks=whole.chunks[:-2] + ((probe.shape[0],), (probe.shape[1],)),
            dtype=out_dtype, meta=np.empty((0,) * x.ndim, dtype=out_dtype))
        if one_d and not flip and np.dtype(out_dtype).kind == "c":
            # As in memory: the swapped 1-D correlation is conjugated.
            result = da.conj(result)
    else:
        align = flip or one_d
        pads = tuple(mode_pads(mode, k, align) for k in span)
        # Keep a real image real when only the kernel is complex (as in memory).
        patch_dtype = compute
        if compute.kind == "c" and np.dtype(x.dtype).kind != "c" and not isinstance(fill, complex):
            patch_dtype = np.dtype(np.float32 if compute == np.complex64 else np.float64)
        func = functools.partial(_valid_filter, kernel=w, flip=flip, stride=stride,
                                 dilation=dilation, **common)
        result = _halo_map(x, func, span, pads, stride, boundary, fill, patch_dtype,
                           out_dtype, name)
    if one_d:
        return result[0]
    if perm is not None and perm != list(range(image.ndim)):
        result = result.transpose(np.argsort(perm).tolist())
    return result


_PARAMS = """\
image : dask.array.Array or array_like
    The image: 1-D, 2-D, or a stack whose two spatial axes are given by
    ``axes`` (default the last two).  Any chunking; chunks may be smaller
    than the kernel's halo and of uneven sizes.  Non-Dask input is wrapped
    with :func:`dask.array.asarray`.
kernel : array_like
    The filter kernel, an in-memory array: 1-D for a 1-D image, else 2-D
    (shared by every slice of a stack).
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


def convolve(image, kernel, mode="full", boundary="fill", fillvalue=0, *, dtype=None,
             workers=1, method="direct", stride=1, dilation=1, axes=None,
             channel_axis=None, nan_policy="propagate"):
    return _dask_filter(image, kernel, mode, boundary, fillvalue, dtype, workers, True,
                        method, stride, dilation, axes, nan_policy, "imfilt-convolve",
                        channel_axis)


def correlate(image, kernel, mode="full", boundary="fill", fillvalue=0, *, dtype=None,
              workers=1, method="direct", stride=1, dilation=1, axes=None,
              channel_axis=None, nan_policy="propagate"):
    return _dask_filter(image, kernel, mode, boundary, fillvalue, dtype, workers, False,
                        method, stride, dilation, axes, nan_policy, "imfilt-correlate",
                        channel_axis)


convolve.__doc__ = f"""Convolve a Dask array: :func:`imfilt.convolve`, block by block.

    Each output block reads exactly the image samples its windows need (its
    halo), from neighbouring chunks, from several chunks when the halo is
    wider than a chunk, and from the opposite side of the image for
    ``boundary='wrap'``; the result equals ``imfilt.convolve`` on the whole
    image for every chunking.

    Parameters
    ----------
{_PARAMS}

    Returns
    -------
{_RETURNS}

    Raises
    ------
    ImportError
        When Dask is not installed (install ``imfilt[dask]``).
    ValueError, TypeError
        The errors of :func:`imfilt.convolve`, raised when the graph is
        built (``nan_policy='raise'`` raises at compute time).

    See Also
    --------
    imfilt.convolve : the in-memory function.
    correlate : without flipping the kernel.

    Examples
    --------
    >>> import numpy as np, dask.array as da, imfilt, imfilt.dask
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

correlate.__doc__ = f"""Correlate a Dask array: :func:`imfilt.correlate`, block by block.

    Same halo rules as :func:`convolve`; the kernel is not flipped, and
    'same' mode with even kernels follows ``scipy.signal.correlate2d``.

    Parameters
    ----------
{_PARAMS}

    Returns
    -------
{_RETURNS}

    Raises
    ------
    ImportError
        When Dask is not installed (install ``imfilt[dask]``).
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


# --------------------------------------------------------------------------
# edge filters: local 3x3 (Roberts 2x2) windows, 'same' output


def _crop_apply(patch, *, func, kwargs, pads, n_out):
    """``func`` on a padded patch, cropped to the block (the halo removed).

    A 3-D patch holds channels first (``kwargs`` then has ``channel_axis=0``).
    """
    (t, b), (l, r) = pads
    res = func(patch, **kwargs)
    parts = res if isinstance(res, tuple) else (res,)
    parts = [p[..., t:p.shape[-2] - b, l:p.shape[-1] - r] for p in parts]
    return np.stack(parts) if n_out else parts[0]


def _edge_map(image, func, pads, boundary, name, n_out=None, channel_axis=None, **kwargs):
    from imfilt.edges import _as_image
    x = _as_dask(image)
    if channel_axis is None:
        # 2-D and real, or its message -- naming the real shape: a zero-strided
        # stand-in of x's shape (native byte order, so nothing is copied).
        native_dtype = np.dtype(x.dtype).newbyteorder("=")
        try:
            stand_in = np.broadcast_to(np.zeros((), dtype=native_dtype), x.shape)
        except (TypeError, ValueError):                     # unknown (NaN) chunk sizes
            stand_in = np.zeros((0,) * x.ndim, dtype=native_dtype)
        _as_image(stand_in)
        sample = np.zeros((3, 3), dtype=x.dtype)
    else:
        # Validate like the in-memory filter, then put the channels first.
        func(np.zeros((3,) * x.ndim, dtype=x.dtype), channel_axis=channel_axis,
             boundary=boundary, **{**kwargs, "workers": 1})
        x = da.moveaxis(x, int(channel_axis) % 3, 0)
        kwargs["channel_axis"] = 0
        sample = np.zeros((1, 3, 3), dtype=x.dtype)
    canonical_boundary(boundary)
    kwargs["workers"] = _dask_workers(kwargs.get("workers"))
    kwargs["boundary"] = boundary
    # A tiny call validates every other argument now and gives the dtype.
    probe = func(sample, **kwargs)
    out_dtype = (probe[0] if isinstance(probe, tuple) else probe).dtype
    span = tuple(before + after + 1 for before, after in pads)
    patch_func = functools.partial(_crop_apply, func=func, kwargs=kwargs, pads=pads, n_out=n_out)
    native = np.dtype(x.dtype).newbyteorder("=")
    out = _halo_map(x, patch_func, span, pads, (1, 1), canonical_boundary(boundary), 0,
                    native, out_dtype, name, n_out=n_out)
    if channel_axis is not None:
        out = da.moveaxis(out, 1 if n_out else 0, (int(channel_axis) % 3) + (1 if n_out else 0))
    return out


_EDGE_COMMON = """    Each block gathers its one-pixel halo (from the opposite side for
    ``boundary='wrap'``) and runs the in-memory filter; the result is
    bit-identical to it for every chunking.  ``workers`` defaults to 1
    thread per block (see the module's *Threads* section).  ``canny`` has
    no chunked version: its hysteresis joins edges across the whole image."""


def sobel(image, axis=None, *, boundary="symm", convention="ndimage", workers=1,
          channel_axis=None, nan_policy="propagate"):
    from imfilt import edges
    return _edge_map(image, edges.sobel, ((1, 1), (1, 1)), boundary, "imfilt-sobel",
                     channel_axis=channel_axis, axis=axis, convention=convention,
                     workers=workers, nan_policy=nan_policy)


def scharr(image, axis=None, *, boundary="symm", convention="ndimage", workers=1,
           channel_axis=None, nan_policy="propagate"):
    from imfilt import edges
    return _edge_map(image, edges.scharr, ((1, 1), (1, 1)), boundary, "imfilt-scharr",
                     channel_axis=channel_axis, axis=axis, convention=convention,
                     workers=workers, nan_policy=nan_policy)


def prewitt(image, axis=None, *, boundary="symm", convention="ndimage", workers=1,
            channel_axis=None, nan_policy="propagate"):
    from imfilt import edges
    return _edge_map(image, edges.prewitt, ((1, 1), (1, 1)), boundary, "imfilt-prewitt",
                     channel_axis=channel_axis, axis=axis, convention=convention,
                     workers=workers, nan_policy=nan_policy)


def roberts(image, *, boundary="symm", convention="ndimage", workers=1, channel_axis=None,
            nan_policy="propagate"):
    from imfilt import edges
    return _edge_map(image, edges.roberts, ((0, 1), (0, 1)), boundary, "imfilt-roberts",
                     channel_axis=channel_axis, convention=convention, workers=workers,
                     nan_policy=nan_policy)


def laplace(image, neighbors=4, *, boundary="symm", workers=1, channel_axis=None,
            nan_policy="propagate"):
    from imfilt import edges
    return _edge_map(image, edges.laplace, ((1, 1), (1, 1)), boundary, "imfilt-laplace",
                     channel_axis=channel_axis, neighbors=neighbors, workers=workers,
                     nan_policy=nan_policy)


def gradient(image, operator="sobel", *, boundary="symm", convention="ndimage", workers=1,
             channel_axis=None, nan_policy="propagate"):
    from imfilt import edges
    both = _edge_map(image, edges.gradient, ((1, 1), (1, 1)), boundary, "imfilt-gradient",
                     n_out=2, channel_axis=channel_axis, operator=operator,
                     convention=convention, workers=workers, nan_policy=nan_policy)
    return both[0], both[1]


_EDGE_PARAM_DOCS = {
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
    "convention": "convention : {'ndimage', 'skimage'}, optional\n"
                  "    Kernel scaling, as for the in-memory filter.",
    "channel_axis": "channel_axis : int, optional\n"
                    "    Channel axis of a 3-D colour image (default ``None``: 2-D image).",
    "workers": "workers : int or None, optional\n"
               "    OpenMP threads per block (default 1); ``None``: imfilt's default.",
    "nan_policy": "nan_policy : {'propagate', 'omit', 'raise'}, optional\n"
                  "    As for the in-memory filter; ``'raise'`` raises at compute time.",
}


def _edge_doc(name, summary, example, params):
    listed = "\n".join("    " + line for key in params
                       for line in _EDGE_PARAM_DOCS[key].splitlines())
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
        Lazy result with the input's chunks.

    See Also
    --------
    imfilt.{name} : the in-memory filter.

    Examples
    --------
{example}
    """


_DERIV = ["image", "axis", "boundary", "convention", "workers", "channel_axis", "nan_policy"]

sobel.__doc__ = _edge_doc("sobel", "Sobel derivative or gradient magnitude of a Dask array.", """    >>> import numpy as np, dask.array as da, imfilt, imfilt.dask
    >>> image = np.add.outer(np.arange(6.0), np.zeros(6))       # brighter downwards
    >>> lazy = imfilt.dask.sobel(da.from_array(image, chunks=2), axis=0)
    >>> lazy.compute()[2]
    array([8., 8., 8., 8., 8., 8.])
    >>> np.array_equal(lazy.compute(), imfilt.sobel(image, axis=0))
    True""", _DERIV)
scharr.__doc__ = _edge_doc("scharr", "Scharr derivative or gradient magnitude of a Dask array.", """    >>> import numpy as np, dask.array as da, imfilt.dask
    >>> image = np.add.outer(np.zeros(5), np.arange(5.0))       # brighter to the right
    >>> imfilt.dask.scharr(da.from_array(image, chunks=3), axis=1).compute()[2, 2]
    np.float64(32.0)""", _DERIV)
prewitt.__doc__ = _edge_doc("prewitt", "Prewitt derivative or gradient magnitude of a Dask array.", """    >>> import numpy as np, dask.array as da, imfilt.dask
    >>> image = np.add.outer(np.zeros(5), np.arange(5.0))
    >>> imfilt.dask.prewitt(da.from_array(image, chunks=3), axis=1).compute()[2, 2]
    np.float64(6.0)""", _DERIV)
roberts.__doc__ = _edge_doc("roberts", "Roberts cross gradient magnitude of a Dask array.", """    >>> import numpy as np, dask.array as da, imfilt, imfilt.dask
    >>> image = np.zeros((6, 6), dtype=np.float32)
    >>> image[2:, 2:] = 1
    >>> out = imfilt.dask.roberts(da.from_array(image, chunks=(2, 3))).compute()
    >>> np.array_equal(out, imfilt.roberts(image))
    True""", ["image", "boundary", "convention", "workers", "channel_axis", "nan_policy"])
laplace.__doc__ = _edge_doc("laplace", "Discrete Laplacian of a Dask array.", """    >>> import numpy as np, dask.array as da, imfilt.dask
    >>> dot = np.zeros((5, 5), dtype=np.uint8)
    >>> dot[2, 2] = 1
    >>> imfilt.dask.laplace(da.from_array(dot, chunks=2)).compute()[1:4, 1:4]
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]], dtype=float32)""",
    ["image", "neighbors", "boundary", "workers", "channel_axis", "nan_policy"])
gradient.__doc__ = _edge_doc("gradient", "Gradient magnitude and direction of a Dask array.", """    >>> import numpy as np, dask.array as da, imfilt.dask
    >>> image = np.add.outer(np.arange(6.0), np.zeros(6))
    >>> magnitude, direction = imfilt.dask.gradient(da.from_array(image, chunks=4))
    >>> float(magnitude[3, 3].compute()), round(float(direction[3, 3].compute()), 4)
    (8.0, 1.5708)""", ["image", "operator", "boundary", "convention", "workers",
                       "channel_axis", "nan_policy"]
).replace("Lazy result with the input's chunks.",
                               "Lazy ``(magnitude, direction)``, with the input's chunks.")


# --------------------------------------------------------------------------
# pooling (PyTorch semantics) and upsampling


def _pool_patch(patch, *, func, kernel_size, stride, dilation, workers):
    """Max/min pooling of an explicitly padded patch (padding 0, the patch sized
    so that it holds exactly the block's windows)."""
    return func(patch, kernel_size, stride, 0, dilation, workers=workers)


def _avg_counts(n, k, s, p, n_out, count_include_pad):
    """Per output index, the divisor factor of one axis (imfilt.pooling's rule)."""
    i0 = np.arange(n_out) * s - p
    end = np.minimum(i0 + k, n + p)
    if count_include_pad:
        return end - i0
    return np.minimum(end, n) - np.maximum(i0, 0)


def _runs(values, lo, hi):
    """Maximal runs ``(start, stop, value)`` of equal ``values[lo:hi]`` (block-relative)."""
    out, start = [], lo
    for i in range(lo + 1, hi + 1):
        if i == hi or values[i] != values[start]:
            out.append((start - lo, i - lo, int(values[start])))
            start = i
    return out


def _planes_call(func, patch, *args, **kwargs):
    """An in-memory pooling ``func`` on a patch read as planes (never as colour)."""
    if patch.ndim == 3:
        return func(patch[None], *args, **kwargs)[0]
    return func(patch, *args, **kwargs)


def _pool(x, func, op, kernel_size, stride, padding, dilation, ceil_mode, workers, name,
          count_include_pad=True, divisor_override=None, channel_axis=None, planes=False):
    x = _as_dask(x)
    if planes:
        pass                      # channels already moved before (H, W)
    elif channel_axis is None:
        check_colour_ambiguity(x.shape, None, None, name.replace("imfilt-", "imfilt.dask."),
                               "channel_axis=0", "x")
    else:
        c = channel_axis_index(channel_axis, x.ndim)
        if x.ndim < 3:
            raise ValueError(f"channel_axis={channel_axis!r} needs an input with a channel axis "
                             f"and two spatial axes; x has shape {x.shape}")
        out = _pool(da.moveaxis(x, c, -3), func, op, kernel_size, stride, padding, dilation,
                    ceil_mode, workers, name, count_include_pad, divisor_override, planes=True)
        return da.moveaxis(out, -3, c)
    func = functools.partial(_planes_call, func)
    from imfilt import pooling
    workers = _dask_workers(workers)
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
        compute = pooling._selection_dtypes(np.dtype(x.dtype), name)[0]
        init = pooling._init_value(pooling._OP_MAX if op == "max" else pooling._OP_MIN,
                                   compute)
    spans = [d * (k - 1) + 1 for k, d in zip(ksz, dil)]
    lead = x.ndim - 2
    plans = []
    for axis, n, K, s, p, o in zip((0, 1), x.shape[-2:], spans, strd, pad, (Ho, Wo)):
        after = max(0, (o - 1) * s + K - n - p)         # ceil_mode's overhang, if any
        plan = plan_axis(n, p, after, K, s, "fill", in_bounds=_bounds(x.chunks[lead + axis]))
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
        return _halo_map(x, patch_func, spans, None, strd, "fill", init, compute,
                         probe.dtype, name, plans=plans)
    # Average pooling: one call per run of equal divisors (few at the borders).
    counts = [_avg_counts(n, k, s, p, o, count_include_pad)
              for n, k, s, p, o in zip(x.shape[-2:], ksz, strd, pad, (Ho, Wo))]
    return _avg_map(x, plans, counts, ksz, strd, compute, probe.dtype, name, func, workers)


def _avg_override_patch(patch, *, func, kernel_size, stride, divisor, workers):
    return func(patch, kernel_size, stride, 0, False, True, divisor, workers=workers)


def _avg_map(x, plans, counts, ksz, strd, compute, out_dtype, name, func, workers):
    """Average pooling blocks, each split into runs of equal divisor."""
    lead = x.ndim - 2
    rplan, cplan = plans
    rbounds, cbounds = _bounds(x.chunks[lead]), _bounds(x.chunks[lead + 1])
    out_name = f"{name}-" + tokenize(x.name, name, ksz, strd, str(out_dtype),
                                     rplan.out_bounds, cplan.out_bounds,
                                     [c.tolist() for c in counts])
    dsk = {}
    for lead_idx in itertools.product(*[range(len(c)) for c in x.chunks[:lead]]):
        lead_shape = tuple(x.chunks[ax][i] for ax, i in enumerate(lead_idx))
        for i in range(len(rplan.out_chunks)):
            rfill, rparts = block_reads(rplan.reads(i), rbounds)
            o0, o1 = int(rplan.out_bounds[i]), int(rplan.out_bounds[i + 1])
            rruns = _runs(counts[0], o0, o1)
            for j in range(len(cplan.out_chunks)):
                cfill, cparts = block_reads(cplan.reads(j), cbounds)
                c0, c1 = int(cplan.out_bounds[j]), int(cplan.out_bounds[j + 1])
                cruns = _runs(counts[1], c0, c1)
                # Output rows [a0, a1) read patch rows [a0*s, (a1-1)*s + k).
                runs = [((slice(a0, a1), slice(a0 * strd[0], (a1 - 1) * strd[0] + ksz[0])),
                         (slice(b0, b1), slice(b0 * strd[1], (b1 - 1) * strd[1] + ksz[1])),
                         int(ra * cb))
                        for a0, a1, ra in rruns for b0, b1, cb in cruns]
                ids = [(a, b) for a in sorted({p[0] for p in rparts})
                       for b in sorted({p[0] for p in cparts})]
                keys = [(x.name, *lead_idx, a, b) for a, b in ids]
                shape = lead_shape + (rplan.reads(i).size, cplan.reads(j).size)
                task = functools.partial(
                    _run_block, ids=ids, rows=(rfill, rparts), cols=(cfill, cparts),
                    shape=shape, fill=0, patch_dtype=compute,
                    func=functools.partial(_avg_runs, func=func, kernel_size=ksz, stride=strd,
                                           runs=runs, out_shape=(o1 - o0, c1 - c0),
                                           workers=workers),
                    kwargs={})
                dsk[(out_name, *lead_idx, i, j)] = (task, keys)
    graph = HighLevelGraph.from_collections(out_name, dsk, dependencies=[x])
    chunks = x.chunks[:lead] + (rplan.out_chunks, cplan.out_chunks)
    return da.Array(graph, out_name, chunks=chunks,
                    meta=np.empty((0,) * x.ndim, dtype=out_dtype))


def _avg_runs(patch, *, func, kernel_size, stride, runs, out_shape, workers):
    out = None
    for (orow, prow), (ocol, pcol), divisor in runs:
        part = func(patch[..., prow, pcol], kernel_size, stride, 0, False, True, divisor,
                    workers=workers)
        if out is None:
            out = np.empty(part.shape[:-2] + out_shape, dtype=part.dtype)
        out[..., orow, ocol] = part
    return out


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, channel_axis=None, workers=1):
    from imfilt import pooling
    if return_indices is not False:
        raise ValueError(
            f"return_indices={return_indices!r} is not supported by imfilt.dask: flat "
            "indices into the whole plane need the whole plane; use "
            "imfilt.max_pool2d in memory"
        )
    return _pool(x, pooling.max_pool2d, "max", kernel_size, stride, padding, dilation,
                 ceil_mode, workers, "imfilt-max_pool2d", channel_axis=channel_axis)


def min_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, channel_axis=None, workers=1):
    from imfilt import pooling
    if return_indices is not False:
        raise ValueError(
            f"return_indices={return_indices!r} is not supported by imfilt.dask: flat "
            "indices into the whole plane need the whole plane; use "
            "imfilt.min_pool2d in memory"
        )
    return _pool(x, pooling.min_pool2d, "min", kernel_size, stride, padding, dilation,
                 ceil_mode, workers, "imfilt-min_pool2d", channel_axis=channel_axis)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, *, channel_axis=None,
               workers=1):
    from imfilt import pooling
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise TypeError(f"count_include_pad={count_include_pad!r} is not valid; use True or "
                        "False")
    if divisor_override is not None:
        pooling.avg_pool2d(np.zeros((1, 1)), 1, divisor_override=divisor_override)  # validate
    return _pool(x, pooling.avg_pool2d, "avg", kernel_size, stride, padding, 1, ceil_mode,
                 workers, "imfilt-avg_pool2d", count_include_pad, divisor_override,
                 channel_axis)


def _upsample_patch(patch, *, factor, method, workers):
    from imfilt.upsampling import upsample as _up
    fy, fx = factor
    out = _up(patch, factor, method, workers=workers, axes=(-2, -1))
    return out[..., fy:out.shape[-2] - fy, fx:out.shape[-1] - fx] if method == "bilinear" else out


def upsample(image, factor, method="bilinear", *, axes=None, channel_axis=None, workers=1):
    from imfilt.upsampling import upsample as _up
    x = _as_dask(image)
    axes = _channel_axes(x.shape, axes, channel_axis, "imfilt.dask.upsample")
    workers = _dask_workers(workers)
    # Validate factor, method and axes like the in-memory function.
    probe = _up(np.zeros((1,) * max(x.ndim - 2, 0) + (1, 1), dtype=x.dtype), factor, method,
                axes=axes, workers=1)
    fy, fx = as_tuple("factor", factor, 2, minimum=1)
    ax = spatial_axes(axes, x.ndim)
    perm = [a for a in range(x.ndim) if a not in ax] + list(ax)
    xt = x.transpose(perm)
    halo = 1 if method == "bilinear" else 0
    pads = ((halo, halo), (halo, halo))
    span = (2 * halo + 1, 2 * halo + 1)
    func = functools.partial(_upsample_patch, factor=(fy, fx), method=method, workers=workers)
    out = _halo_map(xt, func, span, pads, (1, 1), "edge", 0, np.dtype(x.dtype),
                    probe.dtype, "imfilt-upsample", out_scale=(fy, fx))
    if perm != list(range(x.ndim)):
        out = out.transpose(np.argsort(perm).tolist())
    return out


_POOL_COMMON = """\
    Each output block gathers exactly the input its windows read, with the
    implicit padding (and ``ceil_mode``'s overhang) made explicit, and runs
    the in-memory kernel with ``padding=0``, so the result is bit-identical
    to the in-memory function for every chunking; windows may straddle
    chunk edges (and a chunk may be smaller than a window).  Average
    pooling passes each run of outputs with the same divisor to the kernel
    as ``divisor_override``, which reproduces the in-memory count exactly.
    ``workers`` defaults to 1 thread per block (module *Threads* section)."""


def _pool_doc(name, summary, params, example):
    return f"""{summary}

    Chunked :func:`imfilt.{name}`, PyTorch semantics, taking and returning a
    ``dask.array.Array`` of shape (H, W), (C, H, W) or (N, C, H, W) (any
    chunking, also of the leading axes).
{_POOL_COMMON}

    Parameters
    ----------
    x : dask.array.Array or array_like
        The input.
{params}
    workers : int or None, optional
        OpenMP threads per block (default 1); ``None``: imfilt's default.

    Returns
    -------
    out : dask.array.Array
        Lazy result, the shape of the in-memory result.

    Raises
    ------
    ValueError, TypeError
        The in-memory function's errors, when the graph is built.

    See Also
    --------
    imfilt.{name} : the in-memory function.

    Examples
    --------
{example}
    """


_POOL_PARAMS = """\
    kernel_size, stride, padding, dilation, ceil_mode
        As for :func:`imfilt.max_pool2d` (``stride`` defaults to
        ``kernel_size``).
    return_indices : False
        Not supported here (flat indices need the whole plane): only
        ``False`` is accepted; use the in-memory function for indices."""

max_pool2d.__doc__ = _pool_doc("max_pool2d", "Max pooling of a Dask array.", _POOL_PARAMS, """\
    >>> import numpy as np, dask.array as da, imfilt, imfilt.dask
    >>> x = np.arange(36, dtype=np.float32).reshape(6, 6)
    >>> lazy = imfilt.dask.max_pool2d(da.from_array(x, chunks=(3, 4)), 3, stride=2, padding=1)
    >>> lazy.compute()
    array([[ 7.,  9., 11.],
           [19., 21., 23.],
           [31., 33., 35.]], dtype=float32)
    >>> np.array_equal(lazy.compute(), imfilt.max_pool2d(x, 3, stride=2, padding=1))
    True""")
min_pool2d.__doc__ = _pool_doc("min_pool2d", "Min pooling of a Dask array.",
                               _POOL_PARAMS.replace("max_pool2d", "min_pool2d"), """\
    >>> import numpy as np, dask.array as da, imfilt.dask
    >>> x = da.from_array(np.arange(16.0).reshape(4, 4), chunks=3)
    >>> imfilt.dask.min_pool2d(x, 2).compute()
    array([[ 0.,  2.],
           [ 8., 10.]])""")
avg_pool2d.__doc__ = _pool_doc("avg_pool2d", "Average pooling of a Dask array.", """\
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As for :func:`imfilt.avg_pool2d`.""", """\
    >>> import numpy as np, dask.array as da, imfilt, imfilt.dask
    >>> x = np.arange(25, dtype=np.float32).reshape(5, 5)
    >>> lazy = imfilt.dask.avg_pool2d(da.from_array(x, chunks=2), 2, ceil_mode=True,
    ...                               count_include_pad=False)
    >>> lazy.compute()
    array([[ 3. ,  5. ,  6.5],
           [13. , 15. , 16.5],
           [20.5, 22.5, 24. ]], dtype=float32)
    >>> np.array_equal(lazy.compute(), imfilt.avg_pool2d(x, 2, ceil_mode=True,
    ...                                                  count_include_pad=False))
    True""")

upsample.__doc__ = """Enlarge a Dask array by an integer factor: chunked :func:`imfilt.upsample`.

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
        The spatial axes (default: the last two).
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

    Examples
    --------
    >>> import numpy as np, dask.array as da, imfilt, imfilt.dask
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
