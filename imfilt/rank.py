"""Median, rank and percentile filters, exact and N-D.

``median``, ``rank_filter`` and ``percentile_filter`` select one value of
each window, so the result has the image's dtype exactly (bool, every
integer width including 64-bit, float16/32/64) and equals
``scipy.ndimage.median_filter`` / ``rank_filter`` / ``percentile_filter``
with the mapped boundary mode.  The engine is ``imfilt._ranking``.
"""

import functools
import math
import numbers

import numpy as np

from imfilt._docs import SNIPPETS, docfiller
from imfilt._geometry import as_tuple, check_colour_ambiguity, check_out, filter_axes
from imfilt._minmax import as_footprint
from imfilt._modes import canonical_boundary
from imfilt._nanpolicy import canonical_nan_policy
from imfilt._ranking import rank_engine
from imfilt._threads import check_fits_in_memory, resolve_workers
from imfilt._validation import (ParameterTypeError, ParsedCache, as_array, as_fillvalue,
                                is_integer_like)

__all__ = ["median", "rank_filter", "percentile_filter"]

#: Paragraphs that differ from the linear filters' (docfiller extras).
_RANK_DOCS = dict(
    fillvalue="""\
fillvalue : number, optional
    The value outside the image for ``boundary='fill'`` (default 0), taking
    part in the ranking like any window value.  For integer and bool images
    it is truncated toward zero and saturated at the dtype's range (a
    fractional fill value sorts among the integers as its truncation does;
    ``-1`` acts as 0 on uint8, where ``scipy.ndimage``'s N-D path wraps it
    around to 255 and its 1-D path saturates it).""",
    nan_policy="""\
nan_policy : {'propagate', 'omit', 'raise'}, optional
    ``'propagate'`` (default): a NaN anywhere in the window (a NaN fill
    value included) gives NaN (SciPy leaves this case unspecified).
    ``'omit'``: NaN values are left out of each window and the rank counts
    among the ``m`` remaining values (``+-inf`` count as values): the
    median is rank ``m // 2``, negative ranks count from the largest,
    percentiles convert with ``m``; a window without a value of that rank
    (e.g. all NaN) gives NaN.  ``'raise'``: ``ValueError`` when the image
    (or a used fill value) holds NaN.""",
    size="""\
size : int or sequence of int, optional
    Window extent on each filtered axis.  Ignored when ``footprint`` is
    given.""",
    axes="""\
axes : int or sequence of int, optional
    The axes to filter (default: every axis except ``channel_axis``).
    Other axes are kept and each slice along them is filtered on its own.
    ``size`` values and the footprint's axes go with the filtered axes in
    increasing order, however ``axes`` is listed (as scipy.ndimage's rank
    filters; its smoothing and minimum/maximum filters pair them with
    ``axes`` as listed).""",
    footprint="""\
footprint : array_like of bool, optional
    The window's shape, one axis per filtered axis: True marks the points
    used.  Index ``j`` on an axis of length ``n`` is offset ``j - n // 2``
    from the output pixel (SciPy's placement, also for even lengths).
    Points marked False are left out, whatever the number of axes.  For
    1-D images ``scipy.ndimage`` 1.11 and later take a fast path that
    differs in two corners: it uses a footprint's length as a full window
    (ignoring False points), and windows longer than the image under
    'reflect'/'mirror' do not fold as :func:`numpy.pad` does.  imfilt
    equals SciPy's N-D path there,
    ``median_filter(x[None], footprint=fp[None])[0]``.  With
    ``boundary='symm'`` and a window reaching about eight times the axis
    length beyond the image, SciPy's N-D path reads values that are not in
    the image; imfilt keeps folding as :func:`numpy.pad` does.""",
    returns="""\
result : ndarray
    The filtered image: the image's shape and dtype (native byte order);
    ``out`` when given.""",
)
# What the three fronts raise (``rank`` and ``percentile`` for the filters
# that take them).
_RANK_DOCS["rank_raises"] = """\
ValueError
    A 0-d image, a ``size`` below 1, a footprint with another number of
    axes than the filtered ones, with NaN or inf or without a True entry,
    a window too large for this machine's memory, a ``rank`` outside
    ``-n .. n - 1`` for a window of ``n`` points or a ``percentile``
    outside [-100, 100], an unknown ``boundary`` or ``nan_policy``, bad
    ``axes``/``channel_axis`` (out of range, repeated, or the channel axis
    among ``axes``) or a 3-D image whose last axis has length 3 or 4 given
    with neither, a ``fillvalue`` that is not a real scalar (or NaN for an
    integer or bool image with ``boundary='fill'``), ``workers=0`` (or a
    negative count beyond the available cores), NaN in the image (or a
    used NaN fill value) with ``nan_policy='raise'``, or an ``out`` of the
    wrong shape or dtype, read-only or overlapping the image.
TypeError
    A complex or non-numeric image, a non-numeric ``fillvalue``, a
    ``rank`` that is not an int or a ``percentile`` that is not a real
    number, a ``size``, footprint, axis or ``workers`` of the wrong type,
    or neither ``size`` nor ``footprint`` (``ParameterTypeError``, which is
    also a ``ValueError``), or an ``out`` that is not a plain ndarray (a
    list, ``np.matrix``, a masked array)."""
# The three fronts share everything from ``footprint`` to the Raises
# section: one composite paragraph, written once.
_RANK_DOCS["rank_tail"] = "\n".join(
    [_RANK_DOCS.get(name, SNIPPETS.get(name)) for name in (
        "footprint", "boundary", "fillvalue", "axes", "channel_axis", "workers",
        "nan_policy", "out")]
    + ["", "Returns", "-------", _RANK_DOCS["returns"],
       "", "Raises", "------", _RANK_DOCS["rank_raises"],
       "", "See Also", "--------", "median, rank_filter, percentile_filter"])
# rank_filter and percentile_filter have no default size.
_RANK_DOCS["size_required"] = _RANK_DOCS["size"] + "\n    ``size`` or ``footprint`` is required."


def _check_real_image(image):
    arr = as_array(image, "image")
    if arr.dtype.kind == "c":
        raise TypeError(
            f"image has dtype {arr.dtype}; rank filters need ordered (real) values. "
            "Filter the real and imaginary parts (or the magnitude) separately")
    if arr.ndim == 0:
        raise ValueError("image is a 0-d scalar; rank filters need an array with at least "
                         "one axis")
    return arr


def _footprint(size, footprint, fax, ndim):
    """The N-D boolean footprint (extent 1 on unfiltered axes)."""
    n = len(fax)
    if footprint is not None:
        fp = as_footprint(footprint, n)
    else:
        if size is None:
            raise ParameterTypeError("give size= (the window's extent) or footprint= (a "
                                     "boolean array); both are None")
        shape = as_tuple("size", size, n, minimum=1)
        check_fits_in_memory("size", size, "a footprint", shape, 1)
    full = [1] * ndim
    for a, s in zip(fax, fp.shape if footprint is not None else shape):
        full[a] = s
    if footprint is None:
        # small boxes come from a cache; a large one is not kept alive by it
        return _box(tuple(full)) if math.prod(full) <= _CACHED_POINTS_MAX else \
            np.ones(full, dtype=bool)
    return fp.reshape(full)


#: Largest footprint (points) that the caches (``_box``, ``_PARSED``) keep.
_CACHED_POINTS_MAX = 1 << 16


@functools.lru_cache(maxsize=64)
def _box(shape):
    """A full boolean footprint of ``shape``, read-only (reused call after call)."""
    fp = np.ones(shape, dtype=bool)
    fp.setflags(write=False)
    return fp


#: Parsed arguments of recent calls (``_parse``), by their raw values.
_PARSED = ParsedCache()


#: Bytes a rank window takes per point beyond the image (its table of
#: ranks, footprint, offsets and their sorted copies), measured: about 126.
RANK_BYTES_PER_POINT = 128


def check_rank_window(name, value, points):
    """ValueError naming ``name=value`` when a rank window of ``points``
    points would not fit in this machine's memory."""
    check_fits_in_memory(name, value, f"a window of {points} points (its tables take about "
                         f"{RANK_BYTES_PER_POINT} bytes a point)", (points + 1,),
                         RANK_BYTES_PER_POINT)


def _parse(func, arr, kind, value, size, footprint, boundary, fillvalue, axes, channel_axis,
           nan_policy):
    """Every argument but the image's values, ``workers`` and ``out``, checked
    and turned into what the engine takes: ``(footprint, K, boundary, fill,
    nan_policy, value)``."""
    fax = filter_axes(arr.ndim, axes, channel_axis)
    check_colour_ambiguity(arr, axes, channel_axis, func)
    ranks = kind in ("median", "rank", "percentile")
    if ranks and footprint is None and size is not None:
        # checked before the footprint is made
        check_rank_window("size", size, math.prod(as_tuple("size", size, len(fax), minimum=1)))
    fp = _footprint(size, footprint, fax, arr.ndim)
    K = int(np.count_nonzero(fp))
    if ranks and footprint is not None:
        check_rank_window("footprint", f"<array of shape {fp.shape}>", K)
    boundary = canonical_boundary(boundary)
    nan_policy = canonical_nan_policy(nan_policy)
    fill = as_fillvalue(fillvalue, np.dtype(np.float64))
    if kind == "rank":
        if not is_integer_like(value):
            raise TypeError(f"rank={value!r} is not valid; use an int (negative counts from the "
                            "largest)")
        value = int(value)
        if not -K <= value < K:
            raise ValueError(f"rank={value} is not valid for a footprint of {K} points; use "
                             f"{-K} <= rank <= {K - 1}")
    elif kind == "percentile":
        if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
            raise TypeError(f"percentile={value!r} is not valid; use a number in [-100, 100]")
        if not -100.0 <= float(value) <= 100.0:
            raise ValueError(f"percentile={value!r} is not valid; use a number in [-100, 100] "
                             "(negative values count from 100)")
        value = float(value)
    return fp, K, boundary, fill, nan_policy, value


def _run(func, image, kind, value, size, footprint, boundary, fillvalue, axes, channel_axis,
         workers, nan_policy, out):
    """Parse the arguments once (once per distinct call: see ``ParsedCache``)
    and call the engine."""
    arr = _check_real_image(image)
    key = None if footprint is not None else _PARSED.key(
        func, value, size, boundary, fillvalue, axes, channel_axis, nan_policy)
    if key is not None:
        key += (arr.shape, arr.dtype)
    parsed = _PARSED.get(key)
    if parsed is None:
        parsed = _parse(func, arr, kind, value, size, footprint, boundary, fillvalue, axes,
                        channel_axis, nan_policy)
        # a large box footprint is not kept alive by the cache
        _PARSED.put(key if parsed[0].size <= _CACHED_POINTS_MAX else None, parsed)
    fp, K, boundary, fill, nan_policy, value = parsed
    nthreads = resolve_workers(workers)
    dtype = arr.dtype.newbyteorder("=")
    if nan_policy == "raise" and dtype.kind == "f":
        if np.isnan(arr).any():
            raise ValueError(f"image holds {int(np.count_nonzero(np.isnan(arr)))} NaN values "
                             "and nan_policy='raise'; use nan_policy='omit' to leave them out "
                             "or 'propagate' to let them spread")
        if boundary == "fill" and fill != fill:
            raise ValueError(f"fillvalue={fillvalue!r} is NaN and nan_policy='raise'; use a "
                             "number or nan_policy='omit'")
    if out is not None:
        check_out(out, arr.shape, dtype, [("image", arr)], dtype_param=False)
        direct = out if out.flags.c_contiguous else None
        result = rank_engine(arr, fp, kind, value, boundary, fill, nthreads, nan_policy,
                             out=direct, K=K)
        if direct is None:
            out[...] = result
        return out
    return rank_engine(arr, fp, kind, value, boundary, fill, nthreads, nan_policy, K=K)


@docfiller(**_RANK_DOCS)
def median(image, size=3, *, footprint=None, boundary="symm", fillvalue=0, axes=None,
           channel_axis=None, workers=None, nan_policy="propagate", out=None):
    """Median filter: the middle value of each window, exactly.

    Equal to ``scipy.ndimage.median_filter(image, size, footprint=footprint,
    mode=<boundary>, cval=fillvalue)``: every window of ``n`` values gives
    the value of rank ``n // 2`` (0 = smallest), the upper median when
    ``n`` is even.  Output ``i`` sees inputs ``i - size//2 .. i +
    (size - 1)//2`` on each filtered axis (footprint index ``j`` is offset
    ``j - size//2``), also for even sizes.

    Parameters
    ----------
    %(image)s
    %(size)s
    %(rank_tail)s


    Notes
    -----
    Small footprints use sorting networks on blocks of pixels (SIMD
    min/max), 8- and 16-bit images with large footprints a sliding
    histogram, the others a selection per pixel.  Exact in every case.

    %(examples)s
    >>> x = np.array([[1, 9, 2], [8, 3, 7], [4, 6, 5]], dtype=np.uint8)
    >>> imfilt.median(x)
    array([[3, 3, 3],
           [4, 5, 5],
           [4, 5, 5]], dtype=uint8)
    >>> imfilt.median(np.array([1.0, np.nan, 3.0, 4.0]), nan_policy="omit")
    array([1., 3., 4., 4.])
    """
    return _run("median", image, "median", 0, size, footprint, boundary, fillvalue, axes,
                channel_axis, workers, nan_policy, out)


@docfiller(**_RANK_DOCS)
def rank_filter(image, rank, size=None, *, footprint=None, boundary="symm", fillvalue=0,
                axes=None, channel_axis=None, workers=None, nan_policy="propagate", out=None):
    """Rank filter: the value of a given rank in each window, exactly.

    Equal to ``scipy.ndimage.rank_filter(image, rank, size, footprint=footprint,
    mode=<boundary>, cval=fillvalue)``.

    Parameters
    ----------
    %(image)s
    rank : int
        0 selects the smallest value of the window, ``n - 1`` the largest;
        negative ranks count from the largest (-1 = largest).  Valid:
        ``-n <= rank < n`` for a footprint of ``n`` points.
    %(size_required)s
    %(rank_tail)s


    Notes
    -----
    With ``nan_policy='omit'`` a window of ``m`` non-NaN values uses rank
    ``rank`` if ``rank < m`` (``m + rank`` if negative and ``>= 0``), and
    gives NaN when that rank does not exist.

    %(examples)s
    >>> x = np.array([5, 1, 4, 2, 3])
    >>> imfilt.rank_filter(x, 0, size=3)
    array([1, 1, 1, 2, 2])
    >>> imfilt.rank_filter(x, -1, size=3)
    array([5, 5, 4, 4, 3])
    """
    return _run("rank_filter", image, "rank", rank, size, footprint, boundary, fillvalue, axes,
                channel_axis, workers, nan_policy, out)


@docfiller(**_RANK_DOCS)
def percentile_filter(image, percentile, size=None, *, footprint=None, boundary="symm",
                      fillvalue=0, axes=None, channel_axis=None, workers=None,
                      nan_policy="propagate", out=None):
    """Percentile filter: the value at a percentile of each window, exactly.

    Equal to ``scipy.ndimage.percentile_filter(image, percentile, size,
    footprint=footprint, mode=<boundary>, cval=fillvalue)``: a window of
    ``n`` values gives rank ``int(n * p / 100)`` (capped at ``n - 1``),
    where ``p = percentile``, or ``percentile + 100`` when negative.  No
    interpolation: the result is a value of the window.

    Parameters
    ----------
    %(image)s
    percentile : float
        In [-100, 100]; 50 is the (upper) median, 0 the minimum, 100 the
        maximum.
    %(size_required)s
    %(rank_tail)s


    %(examples)s
    >>> x = np.array([5, 1, 4, 2, 3, 8, 7])
    >>> imfilt.percentile_filter(x, 20, size=5)
    array([1, 2, 2, 2, 3, 3, 7])
    """
    return _run("percentile_filter", image, "percentile", percentile, size, footprint,
                boundary, fillvalue, axes, channel_axis, workers, nan_policy, out)

