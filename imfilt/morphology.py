"""Minimum and maximum filters and grey morphology with flat footprints.

Every function here selects values, so the result has the image's dtype
exactly (bool stays bool, 64-bit integers keep every bit) and equals its
``scipy.ndimage`` namesake: ``minimum_filter``/``maximum_filter``,
``grey_erosion``/``grey_dilation``/``grey_opening``/``grey_closing``,
``white_tophat``, ``black_tophat`` and ``morphological_gradient``, with
imfilt's boundary names mapped to ndimage modes (``'symm'``, the default, is
ndimage's default ``'reflect'``).

Geometry, per filtered axis, for a footprint of length ``s`` and
``c = s // 2``::

    minimum_filter(x, f)[i] = erosion(x, f)[i] = min over f[j] of x[i + j - c]
    maximum_filter(x, f)[i]                    = max over f[j] of x[i + j - c]
    dilation(x, f)[i]                          = max over f[j] of x[i + c - j]

so an even ``size`` makes ``minimum_filter`` see ``i - s//2 .. i + (s-1)//2``
and ``dilation`` (whose footprint is reflected) ``i - (s-1)//2 .. i + s//2``.
Opening is dilation of the erosion, closing erosion of the dilation; the
top-hats and the gradient subtract in the image dtype (unsigned integers
wrap exactly as NumPy's subtraction, as SciPy's do); for bool images they
use exclusive-or (top-hats, as SciPy) and ``dilation & ~erosion``
(gradient, where SciPy raises).
"""

import numpy as np

from imfilt._docs import SNIPPETS, docfiller
from imfilt._geometry import (as_axes, as_tuple, axes_order, check_colour_ambiguity, check_out,
                              filter_axes)
from imfilt._minmax import as_footprint, dilation_geometry, erosion_geometry, minmax
from imfilt._modes import canonical_boundary
from imfilt._threads import check_fits_in_memory, resolve_workers
from imfilt._validation import ParameterTypeError, as_array, as_fillvalue, check_choice, order_fill

__all__ = ["minimum_filter", "maximum_filter", "erosion", "dilation", "opening",
           "closing", "white_tophat", "black_tophat", "morphological_gradient"]

_NAN_POLICIES = ("propagate", "omit", "raise")


class _Parsed:
    """Arguments of one morphology call, validated once."""

    __slots__ = ("image", "footprint", "axes", "boundary", "fill", "nthreads", "nan_policy",
                 "shift_to")


def _as_footprint(size, footprint, nd, lengths=None):
    """The flat footprint (bool array with ``nd`` axes) from ``size`` or ``footprint``.

    ``lengths`` (the image's length on each axis of ``size``): a window
    longer than ``2 n + 1`` on an axis of length ``n`` holds, wherever it
    sits, the whole axis and one boundary sample beyond each end (for every
    boundary rule: periodic ones repeat within ``2 n``), so its minimum and
    maximum equal those of a window of ``2 n + 1``; sizes are cut to that.
    """
    if footprint is not None:
        if size is not None:
            raise ValueError(f"size={size!r} and a footprint were both given; give one of them "
                             "(size=k for a k x k ... box, footprint= for any flat shape)")
        return as_footprint(footprint, nd, flat=True)
    if size is None:
        raise ParameterTypeError("give size= (an int or one int per filtered axis) or "
                                 "footprint= (a bool array); both are None")
    sizes = as_tuple("size", size, nd, minimum=1)
    if lengths is not None:
        sizes = tuple(min(s, 2 * n + 1) for s, n in zip(sizes, lengths))
    check_fits_in_memory("size", size, "a footprint", sizes, 1)
    return np.ones(sizes, dtype=bool)


def _parse(image, size, footprint, boundary, fillvalue, axes, channel_axis, workers,
           nan_policy, func):
    p = _Parsed()
    x = as_array(image, "image")
    if x.dtype.kind == "c":
        raise TypeError(f"{func}: image is complex ({x.dtype}); minimum and maximum need "
                        "real values: filter the real and imaginary parts separately")
    if x.ndim == 0:
        raise ValueError(f"{func}: image must have at least one dimension, got a scalar")
    if footprint is None:
        check_colour_ambiguity(x, axes, channel_axis, func)
    p.axes = filter_axes(x.ndim, axes, channel_axis)
    given = p.axes if axes is None else as_axes("axes", axes, x.ndim)
    p.footprint = _as_footprint(size, footprint, len(p.axes), [x.shape[a] for a in given])
    if footprint is None or p.footprint.all():
        # A size, or a footprint with no hole (a rectangle), has one length
        # per axis of ``axes`` as given; other footprints' axes follow the
        # filtered axes in increasing order (both as scipy.ndimage).
        p.footprint = p.footprint.transpose(axes_order(x.ndim, axes, channel_axis))
        p.shift_to = None
    elif len(given) < x.ndim:
        # scipy.ndimage's dilation moves the centre of the footprint's
        # (sorted) axis k for the even length of its axis given[k]
        # (see dilation_geometry); the identity when axes are sorted.
        p.shift_to = [p.axes.index(a) for a in given]
    else:
        p.shift_to = None
    p.boundary = canonical_boundary(boundary)
    # A number whatever the boundary, parsed as in the rank filters
    fill = as_fillvalue(fillvalue, np.dtype(np.float64))
    p.fill = order_fill(fill, x.dtype) if p.boundary == "fill" else 0
    p.nthreads = resolve_workers(workers)
    p.nan_policy = check_choice("nan_policy", nan_policy, _NAN_POLICIES)
    p.image = x
    return p


def _run(p, x, ismax, reflect):
    if x.size == 0 or not p.axes:
        return np.array(x, dtype=x.dtype.newbyteorder("="), copy=True)
    fp, centre = (dilation_geometry(p.footprint, p.shift_to) if reflect
                  else erosion_geometry(p.footprint))
    return minmax(x, fp, centre, ismax, p.boundary, p.fill, p.axes, p.nthreads,
                  p.nan_policy)


def _deliver(result, out, image):
    if out is None:
        return result
    check_out(out, result.shape, result.dtype, [("image", image)], dtype_param=False)
    np.copyto(out, result)
    return out


def _difference(a, b):
    """``a - b`` in the dtype of ``a`` (bool: exclusive or)."""
    if a.dtype.kind == "b":
        return np.logical_xor(a, b)
    with np.errstate(invalid="ignore", over="ignore"):   # inf - inf is NaN, quietly
        return np.subtract(a, b, dtype=a.dtype)


_DOCS = {
    "size": """\
size : int or sequence of int, optional
    Window size, one value for every filtered axis or one per axis (a full
    box), in the order of ``axes`` as given.  Give ``size`` or
    ``footprint``.""",
    "footprint": """\
footprint : array_like of bool, optional
    Flat structuring element with one axis per filtered axis; True marks
    the samples in the window (0/1 integers are accepted).  Its entry
    ``s // 2`` (per axis) sits on the output sample.  With ``axes`` listed
    out of order, a footprint without a False entry has its axes in the
    order of ``axes`` (as a ``size``), any other footprint in increasing
    axis order: scipy.ndimage's rule.  Dilation (and what is built on it)
    reflects the footprint, so an even length ``s`` puts entry ``s // 2 - 1``
    of the reflected footprint on the output; for a footprint with holes,
    ``axes`` out of order and fewer axes than the image, scipy.ndimage
    applies that move to the axis listed at the even axis's place, and so
    does imfilt (``ValueError`` where that axis has length 1).""",
    "fillvalue": """\
fillvalue : scalar, optional
    Value outside the image for ``boundary='fill'`` (default 0).  It takes
    part in the minimum/maximum like any sample, as a value of the image's
    dtype: rounded to a float image's precision; on integer and bool images
    truncated toward zero (as ``scipy.ndimage`` casts ``cval``) and
    saturated at the dtype's range, so ``-1`` acts as 0 on uint8
    (``scipy.ndimage`` wraps it around to 255); NaN raises there.""",
    "nan_policy": """\
nan_policy : {'propagate', 'omit', 'raise'}, optional
    ``'propagate'`` (default): an output whose window holds a NaN is NaN.
    ``'omit'``: NaN samples are left out of each window; a window with no
    other value gives NaN.  ``'raise'``: ``ValueError`` if the image (or a
    used fill value) holds NaN.  Infinities are ordinary values.""",
    "tophat_dtype": """\
Exactly the top-hat of :mod:`scipy.ndimage` of the same name: the
subtraction happens in the image's dtype (for a bool image: exclusive or).""",
    "morph_out": """\
out : ndarray, optional
    Destination of the result's shape and dtype (the image's dtype, native
    byte order), not overlapping the image; returned.""",
    "morph_raises": """\
ValueError
    A 0-d image, both ``size`` and ``footprint``, a ``size`` below 1, a
    footprint with another number of axes than the filtered ones, with
    values other than 0 and 1 (NaN, inf) or without a True entry (or, for
    a dilation, no centre on an axis of length 1: see ``footprint``), a
    window larger than this machine's memory, an unknown ``boundary`` or
    ``nan_policy``, bad ``axes``/``channel_axis`` (out of range, repeated,
    or the channel axis among ``axes``) or a 3-D image whose last axis has
    length 3 or 4 given with neither ``axes``, ``channel_axis`` nor
    ``footprint``, a NaN ``fillvalue`` for an integer or bool image with
    ``boundary='fill'``, ``workers=0`` (or a negative count beyond the
    available cores), NaN in the image (or a used NaN fill value) with
    ``nan_policy='raise'``, or an ``out`` of the wrong shape or dtype,
    read-only or overlapping the image.
TypeError
    A complex or non-numeric image, a ``fillvalue`` that is not a real
    number (a string, an array, a complex number), a ``size``, footprint,
    axis or ``workers`` of the wrong type, or neither ``size`` nor
    ``footprint`` (``ParameterTypeError``, which is also a
    ``ValueError``), or an ``out`` that is not a plain ndarray (a list,
    ``np.matrix``, a masked array).""",
}

# Every morphology front takes the same arguments, returns the same thing
# and raises the same errors: one "Parameters" + "Returns" + "Raises" block,
# written once, serves all nine.
_DOCS["morph_sections"] = "\n".join(
    ["Parameters", "----------"]
    + [_DOCS.get(name, SNIPPETS.get(name)) for name in (
        "image", "size", "footprint", "boundary", "fillvalue", "axes", "channel_axis",
        "workers", "nan_policy", "morph_out")]
    + ["", "Returns", "-------", "ndarray", "    Same shape and dtype as the image.",
       "", "Raises", "------", _DOCS["morph_raises"],
       "", "See Also", "--------",
       "minimum_filter, maximum_filter, erosion, dilation, opening, closing, white_tophat,",
       "black_tophat, morphological_gradient"])

# The two top-hats also share how they subtract (their examples follow).
_DOCS["tophat_sections_and_examples"] = "\n\n".join(
    (_DOCS["tophat_dtype"], _DOCS["morph_sections"], SNIPPETS["examples"]))

_doc = docfiller(**_DOCS)


def _minmax_front(func, ismax, reflect, image, size, footprint, boundary, fillvalue, axes,
                  channel_axis, workers, nan_policy, out):
    p = _parse(image, size, footprint, boundary, fillvalue, axes, channel_axis, workers,
               nan_policy, func)
    return _deliver(_run(p, p.image, ismax, reflect), out, p.image)


@_doc
def minimum_filter(image, size=None, *, footprint=None, boundary="symm", fillvalue=0,
                   axes=None, channel_axis=None, workers=None, nan_policy="propagate",
                   out=None):
    """Minimum over a sliding window (grey erosion with a flat footprint).

    ``out[i] = min over footprint[j] of image[i + j - s // 2]`` per axis,
    exactly :func:`scipy.ndimage.minimum_filter` (``mode`` = the ndimage
    name of ``boundary``, ``cval`` = ``fillvalue``): for an even size ``s``
    output ``i`` sees inputs ``i - s//2 .. i + (s-1)//2``.  Rectangular
    windows cost about the same for any size (one pass per axis, van Herk /
    Gil-Werman along strided axes).

    %(morph_sections)s


    %(examples)s
    >>> x = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.uint8)
    >>> imfilt.minimum_filter(x, 3)
    array([1, 1, 1, 1, 1, 2, 2, 2], dtype=uint8)
    >>> imfilt.minimum_filter(x, 2)          # even size: inputs i-1 .. i
    array([3, 1, 1, 1, 1, 5, 2, 2], dtype=uint8)
    """
    return _minmax_front("minimum_filter", False, False, image, size, footprint, boundary,
                         fillvalue, axes, channel_axis, workers, nan_policy, out)


@_doc
def maximum_filter(image, size=None, *, footprint=None, boundary="symm", fillvalue=0,
                   axes=None, channel_axis=None, workers=None, nan_policy="propagate",
                   out=None):
    """Maximum over a sliding window.

    ``out[i] = max over footprint[j] of image[i + j - s // 2]`` per axis,
    exactly :func:`scipy.ndimage.maximum_filter` (the footprint is *not*
    reflected; :func:`dilation` reflects it).

    %(morph_sections)s


    %(examples)s
    >>> x = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.int16)
    >>> imfilt.maximum_filter(x, 3)
    array([3, 4, 4, 5, 9, 9, 9, 6], dtype=int16)
    >>> imfilt.maximum_filter(x, footprint=[1, 0, 1], boundary="fill", fillvalue=-1)
    array([1, 4, 1, 5, 9, 5, 9, 2], dtype=int16)
    """
    return _minmax_front("maximum_filter", True, False, image, size, footprint, boundary,
                         fillvalue, axes, channel_axis, workers, nan_policy, out)


@_doc
def erosion(image, size=None, *, footprint=None, boundary="symm", fillvalue=0, axes=None,
            channel_axis=None, workers=None, nan_policy="propagate", out=None):
    """Grey erosion with a flat footprint: the windowed minimum.

    Identical to :func:`minimum_filter` and to
    :func:`scipy.ndimage.grey_erosion` with ``size``/``footprint``.  A bool
    image gives the binary erosion (True where the whole window is True).

    %(morph_sections)s


    %(examples)s
    >>> mask = np.zeros((5, 7), dtype=bool)
    >>> mask[1:4, 1:6] = True
    >>> imfilt.erosion(mask, 3).astype(int)
    array([[0, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0, 0],
           [0, 0, 1, 1, 1, 0, 0],
           [0, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0, 0]])
    """
    return _minmax_front("erosion", False, False, image, size, footprint, boundary,
                         fillvalue, axes, channel_axis, workers, nan_policy, out)


@_doc
def dilation(image, size=None, *, footprint=None, boundary="symm", fillvalue=0, axes=None,
             channel_axis=None, workers=None, nan_policy="propagate", out=None):
    """Grey dilation with a flat footprint: the maximum over the reflected footprint.

    ``out[i] = max over footprint[j] of image[i + s // 2 - j]`` per axis,
    exactly :func:`scipy.ndimage.grey_dilation`.  For a footprint symmetric
    about its centre with odd sizes this is :func:`maximum_filter`; for an
    even size ``s`` output ``i`` sees inputs ``i - (s-1)//2 .. i + s//2``.

    %(morph_sections)s


    %(examples)s
    >>> x = np.array([0, 0, 5, 0, 0, 0, 7, 0], dtype=np.uint8)
    >>> imfilt.dilation(x, 3)
    array([0, 5, 5, 5, 0, 7, 7, 7], dtype=uint8)
    >>> imfilt.dilation(x, footprint=[1, 1, 0])   # reflected: looks at i and i+1
    array([0, 5, 5, 0, 0, 7, 7, 0], dtype=uint8)
    """
    return _minmax_front("dilation", True, True, image, size, footprint, boundary,
                         fillvalue, axes, channel_axis, workers, nan_policy, out)


def _compose(func, steps, image, size, footprint, boundary, fillvalue, axes, channel_axis,
             workers, nan_policy, out):
    p = _parse(image, size, footprint, boundary, fillvalue, axes, channel_axis, workers,
               nan_policy, func)
    x = p.image
    if steps == "open":
        res = _run(p, _run(p, x, False, False), True, True)
    elif steps == "close":
        res = _run(p, _run(p, x, True, True), False, False)
    elif steps == "white":
        res = _difference(_native(x), _run(p, _run(p, x, False, False), True, True))
    elif steps == "black":
        res = _difference(_run(p, _run(p, x, True, True), False, False), _native(x))
    else:  # gradient
        d = _run(p, x, True, True)
        e = _run(p, x, False, False)
        res = d & ~e if d.dtype.kind == "b" else _difference(d, e)
    return _deliver(res, out, x)


def _native(x):
    return x.astype(x.dtype.newbyteorder("="), copy=False)


@_doc
def opening(image, size=None, *, footprint=None, boundary="symm", fillvalue=0, axes=None,
            channel_axis=None, workers=None, nan_policy="propagate", out=None):
    """Grey opening: dilation of the erosion (removes bright details smaller than the footprint).

    Exactly :func:`scipy.ndimage.grey_opening`: ``dilation(erosion(image))``
    with the same footprint, boundary and fill value in both steps.

    %(morph_sections)s

    %(examples)s
    >>> x = np.array([1, 1, 9, 1, 1, 4, 4, 4, 1], dtype=np.uint8)
    >>> imfilt.opening(x, 3)
    array([1, 1, 1, 1, 1, 4, 4, 4, 1], dtype=uint8)
    """
    return _compose("opening", "open", image, size, footprint, boundary, fillvalue, axes,
                    channel_axis, workers, nan_policy, out)


@_doc
def closing(image, size=None, *, footprint=None, boundary="symm", fillvalue=0, axes=None,
            channel_axis=None, workers=None, nan_policy="propagate", out=None):
    """Grey closing: erosion of the dilation (fills dark details smaller than the footprint).

    Exactly :func:`scipy.ndimage.grey_closing`: ``erosion(dilation(image))``.

    %(morph_sections)s

    %(examples)s
    >>> mask = np.ones((3, 5), dtype=bool)
    >>> mask[1, 2] = False                      # a one-pixel hole
    >>> bool(imfilt.closing(mask, 3)[1, 2])
    True
    """
    return _compose("closing", "close", image, size, footprint, boundary, fillvalue, axes,
                    channel_axis, workers, nan_policy, out)


@_doc
def white_tophat(image, size=None, *, footprint=None, boundary="symm", fillvalue=0,
                 axes=None, channel_axis=None, workers=None, nan_policy="propagate",
                 out=None):
    """White top-hat: the image minus its opening (bright details smaller than the footprint).

    %(tophat_sections_and_examples)s
    >>> x = np.array([1, 1, 9, 1, 1, 4, 4, 4, 1], dtype=np.uint8)
    >>> imfilt.white_tophat(x, 3)
    array([0, 0, 8, 0, 0, 0, 0, 0, 0], dtype=uint8)
    """
    return _compose("white_tophat", "white", image, size, footprint, boundary, fillvalue,
                    axes, channel_axis, workers, nan_policy, out)


@_doc
def black_tophat(image, size=None, *, footprint=None, boundary="symm", fillvalue=0,
                 axes=None, channel_axis=None, workers=None, nan_policy="propagate",
                 out=None):
    """Black top-hat: the closing minus the image (dark details smaller than the footprint).

    %(tophat_sections_and_examples)s
    >>> x = np.array([5.0, 5.0, 0.0, 5.0, 5.0, 2.0, 2.0, 2.0, 5.0])
    >>> imfilt.black_tophat(x, 3)
    array([0., 0., 5., 0., 0., 0., 0., 0., 0.])
    """
    return _compose("black_tophat", "black", image, size, footprint, boundary, fillvalue,
                    axes, channel_axis, workers, nan_policy, out)


@_doc
def morphological_gradient(image, size=None, *, footprint=None, boundary="symm",
                           fillvalue=0, axes=None, channel_axis=None, workers=None,
                           nan_policy="propagate", out=None):
    """Morphological gradient: dilation minus erosion (local contrast, edges).

    Exactly :func:`scipy.ndimage.morphological_gradient` (subtraction in
    the image's dtype).  For a bool image it is ``dilation & ~erosion``,
    the set of samples whose window holds both values (SciPy raises).

    %(morph_sections)s

    %(examples)s
    >>> x = np.array([0, 0, 0, 5, 5, 5, 5], dtype=np.int32)
    >>> imfilt.morphological_gradient(x, 3)
    array([0, 0, 5, 5, 0, 0, 0], dtype=int32)
    >>> imfilt.morphological_gradient(x > 2, 3)
    array([False, False,  True,  True, False, False, False])
    """
    return _compose("morphological_gradient", "gradient", image, size, footprint, boundary,
                    fillvalue, axes, channel_axis, workers, nan_policy, out)
