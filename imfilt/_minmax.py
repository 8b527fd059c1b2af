"""Engine of the windowed minimum / maximum (grey morphology).

``minmax(image, footprint, centre, ismax, ...)`` computes, for every
output position ``i`` of the filtered axes::

    out[i] = min (or max) over footprint[j] of image[i + j - centre]

with image positions outside the array supplied by the boundary rule.  It
is exact for every real dtype (values are selected, never computed): bool
runs as uint8, float16 as float32 (both lossless), non-native byte orders
are swapped, and the result has the image's dtype.

Strategy:

* the footprint is trimmed to the bounding box of its True entries (the
  centre moves with it); a full box is *rectangular* and runs as one 1-D
  pass per axis (``_morph.minmax_pass``: van Herk / Gil-Werman along strided
  axes, doubling windows along the contiguous axis, the last two passes
  fused);
* any other footprint pads the image once and takes the extremum over the
  footprint's offsets (``_morph.minmax_offsets``);
* NaN never reaches a kernel comparison that matters: with
  ``nan_policy='propagate'`` the filter runs on the raw values and a
  maximum filter of the NaN mask marks the outputs whose window holds a
  NaN; with ``'omit'`` NaN is replaced by the neutral value (+inf for a
  minimum, -inf for a maximum) and a minimum filter of the mask marks the
  all-NaN windows, which become NaN.

Public fronts (``imfilt.morphology``) validate arguments and call
``minmax``; chunked wrappers can call it too (its halo is the footprint's
extent around ``centre``).
"""

import math

import numpy as np

from imfilt._kernels import _morph, _reuse
from imfilt._modes import boundary_index
from imfilt._threads import (check_fits_in_memory, interruptible_pieces, interruptible_slices,
                             min_parallel_work, ran_parallel)
from imfilt._validation import ParameterTypeError, order_fill_as

__all__ = ["minmax", "erosion_geometry", "dilation_geometry", "halo", "as_footprint"]

#: Estimated seconds per output value (and footprint run) of a pass on one
#: thread: the first guess when a long call is cut into interruptible pieces.
_SECONDS_PER_VALUE = 2e-9

#: Estimated seconds per element of a NumPy gather or extremum pass on a
#: busy machine (first touch of new memory included).
_SECONDS_PER_COPY = 2e-8

_KERNEL_DTYPES = {np.dtype(t) for t in ("uint8", "int8", "uint16", "int16", "uint32",
                                        "int32", "uint64", "int64", "float32", "float64")}


def erosion_geometry(footprint):
    """``(footprint, centre)`` of minimum_filter, maximum_filter and erosion.

    Footprint entry ``j`` reads the input at ``i + j - s // 2`` (per axis).
    """
    return footprint, tuple(s // 2 for s in footprint.shape)


def dilation_geometry(footprint, shift_to=None):
    """``(footprint, centre)`` of the dilation: the footprint reflected.

    ``dilation(x, f)[i] = max over f[j] of x[i + s // 2 - j]``, i.e. the
    maximum over the reflected footprint with centre ``(s - 1) // 2``: an
    axis of even length ``s`` moves its centre from ``s // 2`` back by one.

    ``shift_to[a]`` (default: ``a``) is the footprint axis that takes the
    move of axis ``a``.  ``scipy.ndimage.grey_dilation`` with a footprint
    that has holes, ``axes`` out of increasing order and fewer axes than
    the image pairs them through ``axes`` as listed while the footprint's
    axes follow the sorted axes; ``shift_to`` reproduces that.  A move onto
    an axis of length 1 has no centre: ``ValueError``, as SciPy.
    """
    fp = footprint[(slice(None, None, -1),) * footprint.ndim]
    centre = [s // 2 for s in fp.shape]
    for a, s in enumerate(fp.shape):
        if s % 2 == 0:
            centre[a if shift_to is None else shift_to[a]] -= 1
    if min(centre, default=0) < 0:
        raise ValueError(
            f"a dilation with this footprint (shape {fp.shape}) and axes listed out of "
            "increasing order has no centre on an axis of length 1 (scipy.ndimage pairs "
            "an even length's centre shift with axes as listed, the footprint with the "
            "sorted axes); list axes in increasing order or transpose the footprint")
    return fp, tuple(centre)


def halo(footprint, centre):
    """Input samples an output reads before and after it, per filtered axis.

    Exact: only True entries count, so chunked wrappers can overlap chunks
    by exactly this much (opening/closing: the sum of both steps' halos).

    >>> import numpy as np
    >>> halo(np.array([[0, 1, 1]], bool), (0, 1))
    ((0, 0), (0, 1))
    """
    nz = np.nonzero(footprint)
    return tuple((max(c - int(a.min()), 0), max(int(a.max()) - c, 0))
                 for a, c in zip(nz, centre))


def _to_kernel(x):
    """A native array of a kernel dtype holding the same values, losslessly."""
    dt = x.dtype
    if dt.kind == "b":
        return np.ascontiguousarray(x).view(np.uint8)
    if dt.kind == "f" and dt.itemsize == 2:
        return x.astype(np.float32)
    native = dt.newbyteorder("=")
    if native != dt:
        return x.astype(native)
    return x


def _from_kernel(y, dtype):
    """Back to the image's (native) dtype."""
    dtype = dtype.newbyteorder("=")
    if dtype.kind == "b":
        return y.view(np.bool_)
    if y.dtype != dtype:
        # float16 images run in float32: a selected fill value beyond
        # float16's range becomes +-inf, which orders as it does.
        with np.errstate(over="ignore"):
            return y.astype(dtype)
    return y


def _pass_index(n, k, before, boundary):
    """Source row of each of the ``n + k - 1`` padded positions (-1 = fill)."""
    return boundary_index(n, before, k - 1 - before, boundary)


def _rect(x, windows, ismax, boundary, fill, nthreads):
    """Rectangular windows on the trailing axes of C-contiguous ``x``.

    ``windows[a]`` is ``(k, before)`` for trailing axis ``a``: output ``i``
    covers inputs ``i - before .. i - before + k - 1``.
    """
    lead = x.ndim - len(windows)
    passes = [(lead + a, k, b) for a, (k, b) in enumerate(windows) if not (k == 1 and b == 0)]
    if not passes:
        return x.copy()
    fill_arr = np.array([fill], dtype=x.dtype)
    dummy = np.zeros(1, dtype=np.intp)
    last = x.ndim - 1
    src = x
    bufs = [None, None]
    p = 0
    step = 0
    while p < len(passes):
        axis, k, before = passes[p]
        shape = x.shape
        outer = math.prod(shape[:axis])
        n = shape[axis]
        inner = math.prod(shape[axis + 1:])
        idx = _pass_index(n, k, before, boundary)
        rk, rb, ridx = 0, 0, dummy
        if (axis == last - 1 and p + 1 < len(passes) and passes[p + 1][0] == last
                and shape[last] > 1 and 0 <= passes[p + 1][2] < passes[p + 1][1]):
            # The kernel fuses the row pass only into rows of more than one
            # sample, and only a window that holds its output position (a
            # trimmed footprint can leave a pure shift, e.g. a line beside the
            # centre: that row pass runs on its own, which takes any offset).
            _, rk, rb = passes[p + 1]
            ridx = _pass_index(shape[last], rk, rb, boundary)
            p += 1
        if bufs[step % 2] is None:
            bufs[step % 2] = _reuse.empty(x.shape, dtype=x.dtype)
        dst = bufs[step % 2]
        sflat, dflat = src.reshape(-1), dst.reshape(-1)
        per_row = inner * (2 if rk else 1) * _SECONDS_PER_VALUE / max(1, nthreads)
        if inner == 1:
            # Lines along the contiguous axis: groups of whole lines.
            pieces = ((o0, o1, 0, n) for o0, o1, _, _ in
                      interruptible_slices(outer, 1, per_row * n))
        else:
            pieces = interruptible_slices(outer, n, per_row, min_rows=16 * nthreads)
        for o0, o1, r0, r1 in pieces:
            # Between two pieces the interpreter handles signals (Ctrl-C).  A
            # band of rows r0:r1 of one slab reads the slab's rows through its
            # part of ``idx``.
            slab = sflat[o0 * n * inner:o1 * n * inner]
            out = dflat[(o0 * n + r0) * inner:((o1 - 1) * n + r1) * inner]
            ran_parallel(_morph.minmax_pass(slab, out, o1 - o0, r1 - r0, inner, k, before,
                                            idx[r0:r1 + k - 1], fill_arr, ismax, rk, rb, ridx,
                                            nthreads, min_parallel_work()))
        src = dst
        step += 1
        p += 1
    return src


def _footprint(x, fp, centre, ismax, boundary, fill, nthreads):
    """Arbitrary footprint ``fp`` over the trailing axes of C-contiguous ``x``."""
    lead = x.ndim - fp.ndim
    fp = fp.reshape((1,) * lead + fp.shape)
    centre = (0,) * lead + tuple(centre)
    padded = x
    for axis in range(lead, x.ndim):
        before = centre[axis]
        after = fp.shape[axis] - 1 - before
        if before == 0 and after == 0:
            continue
        idx = boundary_index(x.shape[axis], before, after, boundary)
        valid = idx >= 0
        padded = _take(padded, np.where(valid, idx, 0), axis)
        if not valid.all():
            sel = [slice(None)] * x.ndim
            sel[axis] = ~valid
            padded[tuple(sel)] = fill
    padded = np.ascontiguousarray(padded)
    pstrides = [s // padded.itemsize for s in padded.strides]
    source, offsets = _runs(padded, fp, pstrides, ismax)
    base = np.zeros((), dtype=np.intp)
    for axis in range(x.ndim - 1):
        base = base[..., None] + np.arange(x.shape[axis], dtype=np.intp) * pstrides[axis]
    base = np.ascontiguousarray(base.reshape(-1), dtype=np.intp)
    out = _reuse.empty(x.shape, dtype=x.dtype)
    W = x.shape[-1]
    oflat = out.reshape(-1)
    per_row = W * len(offsets) * _SECONDS_PER_VALUE / max(1, nthreads)
    for _, _, r0, r1 in interruptible_slices(1, len(base), per_row, min_rows=4 * nthreads):
        # Between two pieces of output rows the interpreter handles signals.
        ran_parallel(_morph.minmax_offsets(source, oflat[r0 * W:r1 * W], base[r0:r1], W,
                                           offsets, ismax, nthreads, min_parallel_work()))
    return out


def _take(a, idx, axis):
    """``np.take(a, idx, axis)`` in interruptible pieces of the first axis."""
    shape = list(a.shape)
    shape[axis] = len(idx)
    out = _reuse.empty(shape, dtype=a.dtype)
    for _, lo, hi in interruptible_pieces((shape[0],), math.prod(shape[1:]) * _SECONDS_PER_COPY):
        out[lo:hi] = a[idx[lo:hi]] if axis == 0 else np.take(a[lo:hi], idx, axis=axis)
    return out


def _runs(padded, fp, pstrides, ismax):
    """Source array and flat offsets for the offset kernel.

    A footprint row with a run of ``L`` consecutive True entries along the
    contiguous axis needs ``L`` comparisons per output as single offsets,
    but only two as a pair of overlapping windows of length ``w`` (the
    largest power of two <= ``L``) read from a level array ``P_w`` (the
    extremum of ``w`` consecutive padded samples; ``P_2w`` is built from
    two shifted ``P_w``).  The levels are stacked after the padded image so
    that one flat offset list addresses them all; positions a window never
    reads (the ends of the padded rows) hold unused values.
    """
    flat = padded.reshape(-1)
    size = flat.size
    coords = np.argwhere(fp)
    single = [int(np.dot(c, pstrides)) for c in coords]
    runs = []                                      # (row start offset, run length)
    rows = {}
    for c in coords:
        rows.setdefault(tuple(c[:-1]), []).append(int(c[-1]))
    for key, cols in rows.items():
        row0 = int(np.dot(key, pstrides[:-1])) if key else 0
        start = prev = cols[0]
        for col in cols[1:] + [None]:
            if col is not None and col == prev + 1:
                prev = col
                continue
            runs.append((row0 + start * pstrides[-1], prev - start + 1))
            if col is not None:
                start = prev = col
    longest = max(length for _, length in runs)
    nlevels = longest.bit_length()                 # levels w = 1, 2, 4, ..., <= longest
    cost_runs = sum(1 if length == 1 else 2 for _, length in runs) + (nlevels - 1)
    if nlevels == 1 or cost_runs >= len(single):
        return flat, np.ascontiguousarray(single, dtype=np.intp)
    levels = _reuse.empty(nlevels * size, dtype=flat.dtype)
    levels[:size] = flat
    op = np.maximum if ismax else np.minimum
    for j in range(1, nlevels):
        w = 1 << (j - 1)
        prev, cur = levels[(j - 1) * size:j * size], levels[j * size:(j + 1) * size]
        for _, a, b in interruptible_pieces((size - w,), _SECONDS_PER_COPY):
            op(prev[a:b], prev[a + w:b + w], out=cur[a:b])
        cur[size - w:] = prev[size - w:]
    offsets = []
    for start, length in runs:
        j = length.bit_length() - 1                # w = 2**j <= length
        offsets.append(j * size + start)
        if length != 1 << j:
            offsets.append(j * size + start + length - (1 << j))
    return levels, np.ascontiguousarray(offsets, dtype=np.intp)


def _core(x, footprint, centre, ismax, boundary, fill, nthreads):
    """Dispatch a trimmed footprint to the rectangular or the offset path."""
    if footprint.all():
        return _rect(x, tuple(zip(footprint.shape, centre)), ismax, boundary, fill, nthreads)
    nz = np.nonzero(footprint)
    lo = [int(a.min()) for a in nz]
    hi = [int(a.max()) for a in nz]
    fp = footprint[tuple(slice(a, b + 1) for a, b in zip(lo, hi))]
    centre = tuple(c - a for c, a in zip(centre, lo))
    if fp.all():
        return _rect(x, tuple(zip(fp.shape, centre)), ismax, boundary, fill, nthreads)
    return _footprint(x, fp, centre, ismax, boundary, fill, nthreads)


def minmax(image, footprint, centre, ismax, boundary, fillvalue, axes, nthreads,
           nan_policy):
    """Windowed minimum (``ismax=False``) or maximum of ``image``.

    Parameters (all validated by the caller)
    ----------------------------------------
    image : ndarray of a real dtype (bool, integers, float16/32/64), size > 0
    footprint : ndarray of bool, one axis per filtered axis, at least one True
    centre : tuple of int, footprint index that sits on the output position
    ismax : bool
    boundary : canonical boundary name
    fillvalue : number as ``_validation.order_fill`` returns it for the image dtype
    axes : tuple of distinct non-negative ints, the filtered axes in footprint order
    nthreads : int >= 1
    nan_policy : 'propagate', 'omit' or 'raise'

    Returns
    -------
    ndarray of the image's (native) dtype and shape, C-contiguous.
    """
    dtype = image.dtype
    x = _to_kernel(image)
    rest = [a for a in range(x.ndim) if a not in axes]
    perm = rest + list(axes)
    identity = perm == list(range(x.ndim))
    xt = np.ascontiguousarray(x if identity else np.transpose(x, perm))
    fill = order_fill_as(fillvalue, xt.dtype).item()
    fill_nan = boundary == "fill" and xt.dtype.kind == "f" and np.isnan(fill)
    has_nan = xt.dtype.kind == "f" and (bool(np.isnan(xt.min())) or fill_nan)
    if has_nan and nan_policy == "raise":
        raise ValueError(
            "image (or the fill value) holds NaN and nan_policy='raise'; use "
            "nan_policy='omit' to leave NaN out of each window or 'propagate' to let it spread")
    if not has_nan:
        res = _core(xt, footprint, centre, ismax, boundary, fill, nthreads)
    else:
        mask = np.isnan(xt).view(np.uint8)
        if nan_policy == "omit":
            neutral = -np.inf if ismax else np.inf
            xr = np.where(mask.view(bool), xt.dtype.type(neutral), xt)
            res = _core(xr, footprint, centre, ismax, boundary,
                        neutral if fill_nan else fill, nthreads)
            # a window with no finite value: every sample (fill included) is NaN
            marks = _core(mask, footprint, centre, False, boundary, int(fill_nan), nthreads)
        else:
            res = _core(xt, footprint, centre, ismax, boundary, fill, nthreads)
            marks = _core(mask, footprint, centre, True, boundary, int(fill_nan), nthreads)
        res[marks.view(bool)] = np.nan
    if not identity:
        res = np.ascontiguousarray(np.transpose(res, np.argsort(perm)))
    return _from_kernel(res, dtype)


def as_footprint(footprint, n, *, flat=False):
    """The boolean window of ``n`` axes that ``footprint`` (array_like) marks.

    Nonzero entries are the window's points, as in scipy.ndimage; with
    ``flat`` (flat morphology) only 0 and 1 are taken, so that a weighted
    structuring element is not silently read as a flat one.  Refused, naming
    ``footprint``: what is not an array of numbers (TypeError), NaN or inf,
    another number of axes than ``n``, no point at all, and a footprint
    larger than this machine's memory (before its values are read, so a
    huge broadcast view fails at once).
    """
    try:
        fp = np.asarray(footprint)
    except (TypeError, ValueError) as exc:
        raise ParameterTypeError(f"footprint could not be converted to an array: {exc}") from None
    if fp.dtype.kind not in "biuf":
        raise ParameterTypeError(f"footprint has dtype {fp.dtype}; use a boolean array (True "
                                 "marks the window's points)")
    if fp.ndim != n:
        raise ValueError(f"footprint has {fp.ndim} dimension(s) but {n} axes are filtered; give "
                         "a footprint with one axis per filtered axis, or choose the axes with "
                         "axes= / channel_axis=")
    check_fits_in_memory("footprint", None, "a window", fp.shape, 1,
                         given=f"footprint of shape {fp.shape}")
    if fp.dtype.kind == "f" and not np.isfinite(fp).all():
        raise ValueError("footprint holds NaN or inf; use a boolean array (True marks the "
                         "window's points)")
    if flat and fp.dtype.kind != "b" and not np.isin(fp, (0, 1)).all():
        raise ValueError("footprint holds values other than 0 and 1; imfilt's morphology is "
                         "flat: use a bool array (True = in the window)")
    fp = fp != 0
    if fp.size == 0 or not fp.any():
        raise ValueError(f"footprint of shape {fp.shape} has no True entry; the window would "
                         "be empty")
    return fp
