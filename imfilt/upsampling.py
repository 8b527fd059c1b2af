"""Upsampling (bilinear transposed convolution, pixel repeat) and Gaussian pyramids.

Bilinear upsampling is built from :func:`imfilt.conv_transpose2d` with the
FCN kernel of :func:`bilinear_kernel` (size ``2f - f % 2``, stride ``f``).  On its own
that transposed convolution darkens the outer ~f/2 pixels (implicit zero
padding); here the input is first extended by one edge-replicated sample on
each side and the result cropped, which makes it equal to
``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)``
everywhere, borders included.  The pyramids reproduce OpenCV's
``pyrDown``/``pyrUp`` (5x5 Gaussian ``[1 4 6 4 1] / 16``, reflect-101 border).
"""

import numpy as np

from imfilt._kernels import _pyramid, _reuse
from imfilt._modes import boundary_index
from imfilt._docs import SNIPPETS, docfiller
from imfilt._geometry import (STACK_HINT, as_tuple, channel_axis_index, check_colour_ambiguity,
                              spatial_axes)
from imfilt._threads import check_fits_in_memory, min_parallel_work, ran_parallel, resolve_workers
from imfilt._validation import ParameterTypeError, as_array, is_integer_like, result_dtypes
from imfilt.layers import conv_transpose2d

__all__ = ["bilinear_kernel", "upsample", "pyramid_down", "pyramid_up"]

_METHODS = ("bilinear", "nearest")

_AXES2D = """\
axes : (int, int), optional
    The two spatial axes (height, width); default the last two other
    than ``channel_axis``, as ``(N, C, H, W)``.  Every other axis is a
    stack of independent planes."""
_CHANNEL_AXIS = """\
channel_axis : int, optional
    The axis that holds colour channels, e.g. ``-1`` for ``(H, W, 3)``:
    it is not resampled and the result keeps it; the result equals
    processing each channel on its own and stacking along that axis.
    A 3-D image whose last axis has length 3 or 4, given with neither
    ``axes`` nor ``channel_axis``, raises ``ValueError``: it looks like
    a colour image, but would be read as a stack of narrow images."""
_DSTSIZE = """\
dstsize : (int, int), optional
    Output size along ``axes`` as ``(rows, columns)`` (NumPy order; OpenCV's
    ``dstsize`` is ``(width, height)``).  Default: RULE_DEFAULT.  Allowed
    sizes follow OpenCV's rule, RULE; others raise ``ValueError``."""
_fill_docs = docfiller(axes2d=_AXES2D + "\n" + _CHANNEL_AXIS,
                       dstsize_down=_DSTSIZE.replace("RULE_DEFAULT", "``((H + 1) // 2, (W + 1) // 2)``")
                       .replace("RULE", "``|2 * dst - src| <= 2`` per axis (and ``dst >= 1``)"),
                       dstsize_up=_DSTSIZE.replace("RULE_DEFAULT", "``(2 H, 2 W)``")
                       .replace("RULE", "``|dst - 2 * src| == dst % 2`` per axis (``2 src``, or "
                                "``2 src - 1`` and ``2 src + 1``: the last row or column dropped, "
                                "or one more: a row equal to the row two before it, a column "
                                "equal to the last column, as OpenCV computes them)"),
                       pyramid_params="Parameters\n----------\n"
                       "image : array_like, at least 2-D\n    The image or stack of images.\n"
                       + _AXES2D + "\n" + _CHANNEL_AXIS + "\n" + SNIPPETS["workers"],
                       pyramid_raises="""\
Raises
------
ValueError
    An image with fewer than 2 dimensions (for :func:`pyramid_down`, or an
    empty spatial axis), ``axes`` or ``channel_axis`` out of range,
    repeated or overlapping (or a ``channel_axis`` that leaves fewer than
    two spatial axes), a 3-D image whose last axis has length 3 or 4 given
    with neither, a ``dstsize`` that breaks OpenCV's rule, or ``workers=0``
    (or a negative count beyond the available cores).
TypeError
    A complex or non-numeric image, a ``dstsize`` that is not two
    integers, or ``axes``, ``channel_axis`` or ``workers`` of the wrong
    type (``ParameterTypeError``, which is also a ``ValueError``).""")


def _bilinear_1d(f):
    size = 2 * f - f % 2
    c = f - 1 if size % 2 == 1 else f - 0.5
    return 1 - np.abs(np.arange(size) - c) / f


def bilinear_kernel(factor):
    """The FCN bilinear upsampling kernel for an integer ``factor``.

    ``size = 2 f - f % 2``, centre ``c = f - 1`` (odd size) or ``f - 0.5``
    (even size), ``w[i, j] = (1 - |i - c| / f) (1 - |j - c| / f)``: the
    initial weights of FCN's deconvolution layers.  Used with
    ``stride = f`` and ``padding = ceil((f - 1) / 2)`` in
    :func:`imfilt.conv_transpose2d` it interpolates bilinearly
    (``align_corners=False``) in the interior.

    Parameters
    ----------
    factor : int or (int, int)
        Upsampling factor (per axis); >= 1.

    Returns
    -------
    kernel : ndarray of float64, shape (2 fy - fy % 2, 2 fx - fx % 2)

    Raises
    ------
    ValueError
        A ``factor`` below 1, or a kernel larger than this machine's memory.
    TypeError
        A ``factor`` that is not an int or a pair of ints
        (``ParameterTypeError``, which is also a ``ValueError``).

    Examples
    --------
    >>> import imfilt
    >>> imfilt.bilinear_kernel(2)
    array([[0.0625, 0.1875, 0.1875, 0.0625],
           [0.1875, 0.5625, 0.5625, 0.1875],
           [0.1875, 0.5625, 0.5625, 0.1875],
           [0.0625, 0.1875, 0.1875, 0.0625]])
    """
    fy, fx = as_tuple("factor", factor, 2, minimum=1)
    check_fits_in_memory("factor", factor, "a kernel", (2 * fy, 2 * fx), 8)
    return np.outer(_bilinear_1d(fy), _bilinear_1d(fx))


def _as_stack(image, axes, func, min_ndim=2, channel_axis=None):
    """Move the spatial axes last and flatten the rest: (P, H, W), undo info.

    The spatial axes are ``axes``, else the last two axes other than
    ``channel_axis``; an ``(H, W, 3 or 4)`` image with neither is refused.
    """
    arr = as_array(image, "image")
    if arr.ndim < min_ndim:
        raise ValueError(
            f"{func}: image must have at least 2 dimensions (height, width); got shape "
            f"{arr.shape}"
        )
    check_colour_ambiguity(arr, axes, channel_axis, func, STACK_HINT)
    c = channel_axis_index(channel_axis, arr.ndim)
    if c is not None and axes is None:
        rest = [a for a in range(arr.ndim) if a != c]
        if len(rest) < 2:
            raise ValueError(
                f"{func}: channel_axis={channel_axis!r} leaves fewer than two spatial axes "
                f"in an image of shape {arr.shape}"
            )
        axes = tuple(rest[-2:])
    ax = list(spatial_axes(axes, arr.ndim))
    if c is not None and c in ax:
        raise ValueError(f"axes={axes!r} contains the channel axis channel_axis={channel_axis!r}; "
                         "the channel axis is never filtered")
    moved = np.moveaxis(arr, ax, (-2, -1))
    lead = moved.shape[:-2]
    return moved.reshape((int(np.prod(lead)),) + moved.shape[-2:]), (lead, ax)


def _from_stack(planes, info):
    lead, ax = info
    out = planes.reshape(tuple(lead) + planes.shape[-2:])
    return np.moveaxis(out, (-2, -1), ax)


def _float_planes(planes, func):
    if planes.dtype.kind == "c":
        raise TypeError(f"{func} supports real images only (dtype {planes.dtype})")
    compute, _ = result_dtypes(planes.dtype, planes.dtype)
    return np.ascontiguousarray(planes, dtype=compute)


def _depthwise_transpose(planes, kernel, stride, padding, workers):
    """conv_transpose2d of every plane of (P, H, W) with one 2-D kernel."""
    P = planes.shape[0]
    w = np.broadcast_to(kernel.astype(planes.dtype), (P, 1) + kernel.shape)
    return conv_transpose2d(planes[None], w, stride=stride, padding=padding, groups=P,
                            workers=workers)[0]


def check_bilinear_tables(factor, fx):
    """Refuse a ``factor`` whose bilinear column tables (the transposed
    convolution's per-phase tables, 5 x fx x 2 fx doubles, needed by every
    call whatever the image's size) exceed this machine's memory."""
    check_fits_in_memory("factor", factor, "column tables", (5, fx, 2 * fx), 8)


@_fill_docs
def upsample(image, factor, method="bilinear", *, axes=None, channel_axis=None,
             workers=None):
    """Enlarge an image by an integer factor.

    Parameters
    ----------
    image : array_like, at least 2-D
        The image or stack of images.
    factor : int or (int, int)
        Upsampling factor for (height, width); >= 1.
    method : {'bilinear', 'nearest'}, optional
        ``'bilinear'`` (default): the transposed convolution with
        :func:`bilinear_kernel` on the edge-extended image, equal to
        ``torch.nn.functional.interpolate(x, scale_factor=factor,
        mode='bilinear', align_corners=False)`` everywhere (the plain FCN
        deconvolution differs from it in the outer ~f/2 pixels).  A NaN or
        inf reaches only the outputs it has a non-zero weight for; PyTorch
        also multiplies some samples by a zero weight, so its NaNs spread
        about one pixel further (``0 * inf`` is NaN).
        ``'nearest'``: every pixel repeated ``factor`` times (PyTorch's
        ``'nearest'`` for integer factors), dtype kept.
    %(axes2d)s
    %(workers)s

    Returns
    -------
    out : ndarray
        ``factor`` times larger along ``axes``.  Bilinear results follow
        imfilt's dtype policy (float32 stays float32, float64 stays float64,
        integers give float32/float64).

    Raises
    ------
    ValueError
        A ``factor`` below 1, an unknown ``method``, an image with fewer
        than 2 dimensions, ``axes`` or ``channel_axis`` out of range,
        repeated or overlapping (or a ``channel_axis`` that leaves fewer
        than two spatial axes), a 3-D image whose last axis has length 3 or
        4 given with neither, ``workers=0`` (or a negative count beyond the
        available cores), or an output larger than this machine's memory.
    TypeError
        A non-numeric image, a complex one with ``method='bilinear'``, or a
        ``factor``, ``method``, axis or ``workers`` of the wrong type
        (``ParameterTypeError``, which is also a ``ValueError``).

    Examples
    --------
    >>> import numpy as np, imfilt
    >>> x = np.array([[0., 4.], [8., 12.]])
    >>> imfilt.upsample(x, 2)
    array([[ 0.,  1.,  3.,  4.],
           [ 2.,  3.,  5.,  6.],
           [ 6.,  7.,  9., 10.],
           [ 8.,  9., 11., 12.]])
    >>> imfilt.upsample(np.array([[1, 2]], dtype=np.uint8), 2, method="nearest")
    array([[1, 1, 2, 2],
           [1, 1, 2, 2]], dtype=uint8)
    """
    fy, fx = as_tuple("factor", factor, 2, minimum=1)
    if method not in _METHODS:
        hint = ""
        if isinstance(method, str) and method.strip().lower() in _METHODS:
            hint = f". Did you mean {method.strip().lower()!r}?"
        raise (ValueError if isinstance(method, str) else ParameterTypeError)(
            f"method={method!r} is not valid; choose one of "
            + ", ".join(repr(m) for m in _METHODS) + hint
        )
    planes, info = _as_stack(image, axes, "upsample", channel_axis=channel_axis)
    P, H, W = planes.shape
    check_fits_in_memory("factor", factor, "an output", (P, H * fy, W * fx),
                         planes.dtype.itemsize if method == "nearest" else 8)
    if method != "nearest":
        check_bilinear_tables(factor, fx)
    if method == "nearest":
        # dtype kept, but in native byte order like every other result
        planes = planes.astype(planes.dtype.newbyteorder("="), copy=False)
        out = np.repeat(np.repeat(planes, fy, axis=1), fx, axis=2)
        return _from_stack(out, info)
    planes = _float_planes(planes, "upsample")
    P, H, W = planes.shape
    if P == 0 or H == 0 or W == 0:
        return _from_stack(np.zeros((P, H * fy, W * fx), dtype=planes.dtype), info)
    # One edge-replicated sample on each side: beyond the image the bilinear
    # weights then fall on copies of the edge, exactly like PyTorch's clamp.
    ext = np.pad(planes, ((0, 0), (1, 1), (1, 1)), mode="edge")
    # FCN's padding ceil((f - 1) / 2) = f // 2, plus f for the extra sample:
    # the output is then exactly f times the original size, nothing to crop.
    out = _depthwise_transpose(ext, bilinear_kernel((fy, fx)), (fy, fx),
                               (fy + fy // 2, fx + fx // 2), workers)
    return _from_stack(out, info)


@_fill_docs
def _dstsize(dstsize, src, default, ok, rule, func):
    """``dstsize`` validated against OpenCV's ``rule`` (``ok(dst, src)`` per axis)."""
    if dstsize is None:
        return default
    if isinstance(dstsize, (str, bytes)) or np.ndim(dstsize) != 1 or len(dstsize) != 2 or \
            not all(is_integer_like(d) for d in dstsize):
        raise TypeError(f"dstsize must be two integers (rows, columns), got {dstsize!r}")
    dst = tuple(int(d) for d in dstsize)
    if not all(ok(d, n) for d, n in zip(dst, src)):
        raise ValueError(f"dstsize={dstsize!r} is not valid for {func} of an image of "
                         f"(rows, columns) {tuple(src)}: OpenCV's rule {rule} must hold on "
                         f"each axis")
    return dst


@_fill_docs
def pyramid_down(image, *, dstsize=None, axes=None, channel_axis=None, workers=None):
    """Blur with the 5x5 Gaussian ``[1 4 6 4 1] / 16`` and keep every other pixel.

    Equal to OpenCV's ``cv2.pyrDown`` with its default border
    (``BORDER_REFLECT_101``, imfilt's ``'reflect'``): output size
    ``((H + 1) // 2, (W + 1) // 2)`` unless ``dstsize`` says otherwise
    (output ``i`` is always centred on input ``2 i``).  Computed
    separably, only at the kept pixels.

    %(pyramid_params)s
    %(dstsize_down)s

    Returns
    -------
    out : ndarray
        Half size (rounded up) along ``axes``; dtype by imfilt's policy
        (OpenCV keeps uint8 and rounds halves up; here uint8 gives float32:
        ``np.floor(out + 0.5).astype(np.uint8)`` gives OpenCV's bytes, where
        ``np.rint`` would round exact halves to even).

    %(pyramid_raises)s

    Examples
    --------
    >>> import numpy as np, imfilt
    >>> imfilt.pyramid_down(np.ones((5, 6), dtype=np.float32)).shape
    (3, 3)
    >>> float(imfilt.pyramid_down(np.full((4, 4), 2.0))[1, 1])
    2.0
    >>> imfilt.pyramid_down(np.ones((6, 6)), dstsize=(2, 4)).shape
    (2, 4)
    """
    nthreads, planes, info, (Ho, Wo) = _pyramid_setup(
        "pyramid_down", image, axes, channel_axis, workers, dstsize,
        lambda n: (n + 1) // 2, lambda d, n: d >= 1 and abs(2 * d - n) <= 2,
        "|2*dst - src| <= 2")
    P, H, W = planes.shape
    out = _reuse.empty((P, Ho, Wo), dtype=planes.dtype)
    rowmap = boundary_index(H, 2, 2 * Ho + 1 - H, "reflect")
    if 2 * (Wo - 1) < W:
        colmap = boundary_index(W, 2, 2 * Wo + 1 - W, "reflect")
        return _from_stack(_run_pyramid(planes, out, rowmap, colmap, nthreads, True), info)
    # A column past the image (dstsize only): OpenCV centres it on the last
    # column, reflected (a row past the image follows the plain rule).
    head = _run_pyramid(planes, _reuse.empty((P, Ho, Wo - 1), dtype=planes.dtype), rowmap,
                        boundary_index(W, 2, 2 * Wo - 1 - W, "reflect"), nthreads, True)
    last = _run_pyramid(planes, _reuse.empty((P, Ho, 1), dtype=planes.dtype), rowmap,
                        boundary_index(W, 2, 2, "reflect")[W - 1:W + 4], nthreads, True)
    out[...] = np.concatenate([head, last], axis=2)
    return _from_stack(out, info)


def _pyramid_setup(func, image, axes, channel_axis, workers, dstsize, default, valid, rule):
    """``(threads, float planes, stack info, (rows, cols))`` of one pyramid call.

    ``default(n)`` is the output length of an input axis of length ``n``;
    ``valid(dst, n)`` and its text ``rule`` decide which ``dstsize`` is
    accepted.  ``pyramid_down`` needs a non-empty image.
    """
    nthreads = resolve_workers(workers)
    planes, info = _as_stack(image, axes, func, channel_axis=channel_axis)
    planes = _float_planes(planes, func)
    H, W = planes.shape[1:]
    if func == "pyramid_down" and (H == 0 or W == 0):
        raise ValueError(f"pyramid_down: image has an empty spatial axis, shape {planes.shape[1:]}")
    size = _dstsize(dstsize, (H, W), (default(H), default(W)), valid, rule, func)
    return nthreads, planes, info, size


def _run_pyramid(planes, out, rowmap, colmap, nthreads, down):
    """The pyramid kernel on (P, H, W) planes into ``out``; returns ``out``."""
    if out.size:
        scratch = np.empty((nthreads, planes.shape[-1]), dtype=planes.dtype)
        ran_parallel(_pyramid.pyramid(planes, out, rowmap, colmap, scratch, nthreads,
                                      min_parallel_work(), down))
    return out


@_fill_docs
def pyramid_up(image, *, dstsize=None, axes=None, channel_axis=None, workers=None):
    """Double the size: insert zeros, then smooth with 4 x the 5x5 Gaussian.

    Equal to OpenCV's ``cv2.pyrUp`` with its default border: the
    zero-stuffed ``(2H, 2W)`` image is extended by reflection about its edge
    samples (``BORDER_REFLECT_101``) and correlated with
    ``4 * outer(g, g)``, ``g = [1 4 6 4 1] / 16``.  Computed separably
    without the inserted zeros: per axis, even outputs are
    ``(x[i-1] + 6 x[i] + x[i+1]) / 8`` and odd ones ``(x[i] + x[i+1]) / 2``,
    with ``x[-1] = x[1]`` and ``x[n] = x[n-1]`` at the borders.

    %(pyramid_params)s
    %(dstsize_up)s

    Returns
    -------
    out : ndarray
        Size ``(2 H, 2 W)`` (or ``dstsize``) along ``axes``; dtype by
        imfilt's policy.

    %(pyramid_raises)s

    Examples
    --------
    >>> import numpy as np, imfilt
    >>> out = imfilt.pyramid_up(np.full((3, 4), 5.0))
    >>> out.shape, float(out.min()), float(out.max())
    ((6, 8), 5.0, 5.0)
    >>> imfilt.pyramid_up(np.ones((3, 4)), dstsize=(7, 7)).shape
    (7, 7)
    """
    nthreads, planes, info, (Ho, Wo) = _pyramid_setup(
        "pyramid_up", image, axes, channel_axis, workers, dstsize,
        lambda n: 2 * n, lambda d, n: d >= 0 and abs(d - 2 * n) == d % 2,
        "|dst - 2*src| == dst % 2")
    P, H, W = planes.shape
    out = (np.empty if H and W else np.zeros)((P, 2 * H, 2 * W), dtype=planes.dtype)
    unused = np.zeros(1, dtype=np.intp)
    out = _run_pyramid(planes, out, unused, unused, nthreads, False)
    if (Ho, Wo) != (2 * H, 2 * W):
        # As OpenCV: one row more is the reflection of the row two before it
        # (about the last row), one column more repeats the last column;
        # one fewer drops the last.
        rows = np.minimum(np.arange(Ho), 2 * H - 2 + (np.arange(Ho) < 2 * H))
        cols = np.minimum(np.arange(Wo), 2 * W - 1)
        out = out[:, rows[:, None], cols[None, :]] if out.size else np.zeros((P, Ho, Wo), out.dtype)
    return _from_stack(out, info)
