"""Halo planning and task graphs of :mod:`imfilt.dask`.

Each output block of a chunked filter reads exactly the image samples its
windows need (``imfilt._halo``: the halo, from neighbouring chunks, several
chunks when it is wider than one, the opposite side of the image for
``boundary='wrap'``).  ``halo_map`` builds the graph in which every output
block gathers its explicitly padded patch and runs a 'valid'-mode function
on it; ``local_map`` does that for filters with a fixed window ('same'
output, the halo cropped off); ``avg_map`` for average pooling, whose
divisor varies at the borders.
"""

import functools
import itertools
import math

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from imfilt._halo import block_reads, gather_patch, plan_axis
from imfilt._modes import canonical_boundary
from imfilt._threads import resolve_workers
from imfilt._validation import as_array
from imfilt.edges import as_image

__all__ = ["as_dask", "dask_workers", "bounds", "halo_map", "halo_map_nd", "avg_map",
           "local_map", "equal_runs", "avg_runs"]


def as_dask(image):
    if not isinstance(image, da.Array):
        # Validate in NumPy first: dask cannot even chunk an object array
        # (NotImplementedError) and would hide the message that names the dtype.
        image = da.asarray(as_array(image, "image"))
    if np.dtype(image.dtype).kind not in "biufc":
        as_array(np.empty(0, dtype=image.dtype), "image")  # raises the TypeError
    if image.ndim == 0:
        raise ValueError("image is a 0-d array; imfilt filters arrays with at least one axis")
    if any(math.isnan(c) for chunks in image.chunks for c in chunks):
        raise ValueError(f"image has unknown chunk sizes (shape {image.shape}), as after boolean "
                         "indexing; call image.compute_chunk_sizes() first")
    return image


def dask_workers(workers):
    if workers is None:
        return None
    resolve_workers(workers)  # validate now, with the usual message
    return workers


def bounds(chunks):
    return np.concatenate([[0], np.cumsum(chunks)]).astype(np.intp)


def run_block(blocks, *, ids, rows, cols, shape, fill, patch_dtype, func, kwargs):
    """One output block: gather its padded patch, filter it in 'valid' mode."""
    lookup = dict(zip(ids, blocks))
    patch = gather_patch(lambda a, b: lookup[(a, b)], rows, cols, shape, fill, patch_dtype)
    return func(patch, **kwargs)


def halo_map(x, patch_func, kernel_span, pads, stride, boundary, fill, patch_dtype,
              out_dtype, name, n_out=None, out_scale=(1, 1), plans=None, trim_fill=False):
    """Apply ``patch_func`` to every output block's explicitly padded patch.

    ``x`` has its two spatial axes last; ``patch_func(patch)`` must return
    the ``'valid'`` result of the patch at the given stride.  With ``n_out``
    it returns ``n_out`` results stacked on a new first axis.  With
    ``trim_fill`` it is called as ``patch_func(patch, trim=(top, bottom,
    left, right))``: how many of the patch's outer rows and columns lie
    outside the image (and hold ``fill``).
    """
    lead = x.ndim - 2
    if plans is None:
        plans = []
        for axis in (lead, lead + 1):
            n = x.shape[axis]
            before, after = pads[axis - lead]
            plans.append(plan_axis(n, before, after, kernel_span[axis - lead],
                                   stride[axis - lead], boundary,
                                   in_bounds=bounds(x.chunks[axis])))
    rplan, cplan = plans
    prefix = ((n_out,),) if n_out else ()
    out_chunks = prefix + x.chunks[:lead] + (
        tuple(c * out_scale[0] for c in rplan.out_chunks),
        tuple(c * out_scale[1] for c in cplan.out_chunks))
    meta = np.empty((0,) * len(out_chunks), dtype=out_dtype)
    if rplan.out_len == 0 or cplan.out_len == 0:
        return da.zeros(tuple(sum(c) for c in out_chunks), dtype=out_dtype,
                        chunks=out_chunks)
    rbounds, cbounds = bounds(x.chunks[lead]), bounds(x.chunks[lead + 1])
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
                kwargs = {"trim": _outside(rplan.reads(i)) + _outside(cplan.reads(j))} \
                    if trim_fill else {}
                ids = [(a, b) for a in sorted({p[0] for p in rparts})
                       for b in sorted({p[0] for p in cparts})]
                keys = [(x.name, *lead_idx, a, b) for a, b in ids]
                task = functools.partial(
                    run_block, ids=ids, rows=(rfill, rparts), cols=(cfill, cparts),
                    shape=lead_shape + (R, C), fill=fill, patch_dtype=patch_dtype,
                    func=patch_func, kwargs=kwargs)
                dsk[(out_name, *((0,) if n_out else ()), *lead_idx, i, j)] = (task, keys)
    graph = HighLevelGraph.from_collections(out_name, dsk, dependencies=[x])
    return da.Array(graph, out_name, chunks=out_chunks, meta=meta)


def _outside(reads):
    """``(leading, trailing)``: how many reads lie outside the image (index < 0)."""
    inside = np.flatnonzero(np.asarray(reads) >= 0)
    if inside.size == 0:
        return (len(reads), 0)
    return (int(inside[0]), int(len(reads) - 1 - inside[-1]))


def equal_runs(values, lo, hi):
    """Maximal runs ``(start, stop, value)`` of equal ``values[lo:hi]`` (block-relative)."""
    out, start = [], lo
    for i in range(lo + 1, hi + 1):
        if i == hi or values[i] != values[start]:
            out.append((start - lo, i - lo, int(values[start])))
            start = i
    return out


def avg_map(x, plans, counts, ksz, strd, compute, out_dtype, name, func, workers):
    """Average pooling blocks, each split into runs of equal divisor."""
    lead = x.ndim - 2
    rplan, cplan = plans
    rbounds, cbounds = bounds(x.chunks[lead]), bounds(x.chunks[lead + 1])
    out_name = f"{name}-" + tokenize(x.name, name, ksz, strd, str(out_dtype),
                                     rplan.out_bounds, cplan.out_bounds,
                                     [c.tolist() for c in counts])
    dsk = {}
    for lead_idx in itertools.product(*[range(len(c)) for c in x.chunks[:lead]]):
        lead_shape = tuple(x.chunks[ax][i] for ax, i in enumerate(lead_idx))
        for i in range(len(rplan.out_chunks)):
            rfill, rparts = block_reads(rplan.reads(i), rbounds)
            o0, o1 = int(rplan.out_bounds[i]), int(rplan.out_bounds[i + 1])
            rruns = equal_runs(counts[0], o0, o1)
            for j in range(len(cplan.out_chunks)):
                cfill, cparts = block_reads(cplan.reads(j), cbounds)
                c0, c1 = int(cplan.out_bounds[j]), int(cplan.out_bounds[j + 1])
                cruns = equal_runs(counts[1], c0, c1)
                # Output rows [a0, a1) read patch rows [a0*s, (a1-1)*s + k).
                runs = [((slice(a0, a1), slice(a0 * strd[0], (a1 - 1) * strd[0] + ksz[0])),
                         (slice(b0, b1), slice(b0 * strd[1], (b1 - 1) * strd[1] + ksz[1])),
                         int(ra) * int(cb))     # (Python ints: no int64 wrap)
                        for a0, a1, ra in rruns for b0, b1, cb in cruns]
                ids = [(a, b) for a in sorted({p[0] for p in rparts})
                       for b in sorted({p[0] for p in cparts})]
                keys = [(x.name, *lead_idx, a, b) for a, b in ids]
                shape = lead_shape + (rplan.reads(i).size, cplan.reads(j).size)
                task = functools.partial(
                    run_block, ids=ids, rows=(rfill, rparts), cols=(cfill, cparts),
                    shape=shape, fill=0, patch_dtype=compute,
                    func=functools.partial(avg_runs, func=func, kernel_size=ksz, stride=strd,
                                           runs=runs, out_shape=(o1 - o0, c1 - c0),
                                           workers=workers),
                    kwargs={})
                dsk[(out_name, *lead_idx, i, j)] = (task, keys)
    graph = HighLevelGraph.from_collections(out_name, dsk, dependencies=[x])
    chunks = x.chunks[:lead] + (rplan.out_chunks, cplan.out_chunks)
    return da.Array(graph, out_name, chunks=chunks,
                    meta=np.empty((0,) * x.ndim, dtype=out_dtype))


def crop_apply(patch, *, func, kwargs, pads, n_out, trim=None):
    """``func`` on a padded patch, cropped to the block (the halo removed).

    A 3-D patch holds channels first (``kwargs`` then has ``channel_axis=0``).
    ``trim``: rows and columns outside the image, cut off first so that
    ``func`` pads with its own ``fillvalue`` there (``boundary='fill'``).
    """
    (t, b), (l, r) = pads
    if trim is not None:
        t0, b0, l0, r0 = trim
        patch = patch[..., t0:patch.shape[-2] - b0, l0:patch.shape[-1] - r0]
        t, b, l, r = t - t0, b - b0, l - l0, r - r0
    res = func(patch, **kwargs)
    parts = res if isinstance(res, tuple) else (res,)
    parts = [p[..., t:p.shape[-2] - b, l:p.shape[-1] - r] for p in parts]
    return np.stack(parts) if n_out else parts[0]


def local_map(image, func, pads, boundary, name, n_out=None, channel_axis=None, **kwargs):
    x = as_dask(image)
    if channel_axis is None:
        # 2-D and real, or its message -- naming the real shape: a zero-strided
        # stand-in of x's shape (native byte order, so nothing is copied).
        native_dtype = np.dtype(x.dtype).newbyteorder("=")
        try:
            stand_in = np.broadcast_to(np.zeros((), dtype=native_dtype), x.shape)
        except (TypeError, ValueError):                     # unknown (NaN) chunk sizes
            stand_in = np.zeros((0,) * x.ndim, dtype=native_dtype)
        as_image(stand_in)
        sample = np.zeros((3, 3), dtype=x.dtype)
    else:
        # Validate like the in-memory filter, then put the channels first.
        func(np.zeros((3,) * x.ndim, dtype=x.dtype), channel_axis=channel_axis,
             boundary=boundary, **{**kwargs, "workers": 1})
        x = da.moveaxis(x, int(channel_axis) % 3, 0)
        kwargs["channel_axis"] = 0
        sample = np.zeros((1, 3, 3), dtype=x.dtype)
    canonical_boundary(boundary)
    kwargs["workers"] = dask_workers(kwargs.get("workers"))
    kwargs["boundary"] = boundary
    # A tiny call validates every other argument now and gives the dtype.
    probe = func(sample, **kwargs)
    out_dtype = (probe[0] if isinstance(probe, tuple) else probe).dtype
    span = tuple(before + after + 1 for before, after in pads)
    patch_func = functools.partial(crop_apply, func=func, kwargs=kwargs, pads=pads, n_out=n_out)
    native = np.dtype(x.dtype).newbyteorder("=")
    fill = canonical_boundary(boundary) == "fill"
    out = halo_map(x, patch_func, span, pads, (1, 1), canonical_boundary(boundary), 0,
                    native, out_dtype, name, n_out=n_out, trim_fill=fill)
    if channel_axis is not None:
        out = da.moveaxis(out, 1 if n_out else 0, (int(channel_axis) % 3) + (1 if n_out else 0))
    return out


def avg_runs(patch, *, func, kernel_size, stride, runs, out_shape, workers):
    out = None
    for (orow, prow), (ocol, pcol), divisor in runs:
        part = func(patch[..., prow, pcol], kernel_size, stride, 0, False, True, divisor,
                    workers=workers)
        if out is None:
            out = np.empty(part.shape[:-2] + out_shape, dtype=part.dtype)
        out[..., orow, ocol] = part
    return out


# --------------------------------------------------------------------------
# N-D: a halo on every axis


def _outer_index(parts, shape):
    """Index one array by per-axis slices or index arrays (an outer product)."""
    if all(isinstance(p, slice) for p in parts):
        return tuple(parts)
    return np.ix_(*[np.arange(n)[p] if isinstance(p, slice) else p
                    for p, n in zip(parts, shape)])


def gather_patch_nd(get_block, reads, shape, fill, dtype):
    """The explicitly padded N-D patch of one output block.

    ``reads[a]`` is the ``block_reads`` result of axis ``a``; ``get_block``
    returns the image chunk of a tuple of chunk indices.
    """
    patch = np.empty(shape, dtype=dtype)
    for a, (fill_pos, _) in enumerate(reads):
        if fill_pos is not None:
            index = [slice(None)] * len(shape)
            index[a] = fill_pos
            patch[_outer_index(index, shape)] = fill
    for combo in itertools.product(*[parts for _, parts in reads]):
        block = get_block(tuple(c for c, _, _ in combo))
        patch[_outer_index([p for _, p, _ in combo], shape)] = \
            block[_outer_index([l for _, _, l in combo], block.shape)]
    return patch


def run_block_nd(blocks, *, ids, reads, shape, fill, patch_dtype, func):
    """One N-D output block: gather its padded patch, filter it in 'valid' mode."""
    lookup = dict(zip(ids, blocks))
    return func(gather_patch_nd(lookup.__getitem__, reads, shape, fill, patch_dtype))


def halo_map_nd(x, patch_func, spans, pads, strides, boundary, fill, patch_dtype, out_dtype,
                name):
    """``halo_map`` with a halo on every axis of ``x``: each output block
    gathers the samples its windows read (neighbouring chunks, several when
    the halo is wider than a chunk, the opposite side for 'wrap') and
    ``patch_func(patch)`` returns its 'valid' result at ``strides``."""
    plans = [plan_axis(n, before, after, K, s, boundary, in_bounds=bounds(c))
             for n, (before, after), K, s, c in zip(x.shape, pads, spans, strides, x.chunks)]
    out_chunks = tuple(p.out_chunks for p in plans)
    meta = np.empty((0,) * x.ndim, dtype=out_dtype)
    if any(p.out_len == 0 for p in plans):
        return da.zeros(tuple(p.out_len for p in plans), dtype=out_dtype, chunks=out_chunks)
    reads = [[block_reads(p.reads(i), bounds(c)) for i in range(len(p.out_chunks))]
             for p, c in zip(plans, x.chunks)]
    token = tokenize(x.name, name, spans, pads, strides, boundary, fill, str(patch_dtype),
                     str(out_dtype), patch_func, [p.out_bounds for p in plans])
    out_name = f"{name}-{token}"
    dsk = {}
    for index in itertools.product(*[range(len(p.out_chunks)) for p in plans]):
        block = [reads[a][i] for a, i in enumerate(index)]
        ids = list(itertools.product(*[sorted({c for c, _, _ in parts}) for _, parts in block]))
        shape = tuple(plans[a].reads(i).size for a, i in enumerate(index))
        task = functools.partial(run_block_nd, ids=ids, reads=block, shape=shape, fill=fill,
                                 patch_dtype=patch_dtype, func=patch_func)
        dsk[(out_name, *index)] = (task, [(x.name, *i) for i in ids])
    graph = HighLevelGraph.from_collections(out_name, dsk, dependencies=[x])
    return da.Array(graph, out_name, chunks=out_chunks, meta=meta)
