"""Derivative edge filters: Sobel, Scharr, Prewitt, Roberts, Laplace, gradient.

Sobel, Scharr and Prewitt differ only in the smoothing weights ``[a, b, a]``
of one separable 3x3 derivative pair ``[-1, 0, 1]^T (x) [a, b, a]``, so they
are thin wrappers over :func:`_derivative_filter`, which runs one fused pass
of the private kernel ``imfilt._kernels._edges.sep3_gradient``: the image is
read once and each requested output written once, with no intermediate
arrays.  Every public function parses its arguments once, then loops over
channels (``channel_axis``) with the parsed values.  Roberts and Laplace run
the linear filter pipeline (:mod:`imfilt._linear`) on their small kernels.
"""

import math
from dataclasses import dataclass

import numpy as np

from imfilt import _linear
from imfilt._channels import colour_error, looks_like_colour
from imfilt._docs import SNIPPETS, docfiller
from imfilt._geometry import channel_axis_index, over_channels
from imfilt._kernels import _edges
from imfilt._modes import boundary_index, canonical_boundary
from imfilt._nanpolicy import canonical_nan_policy, omit_nonfinite, omit_wanted
from imfilt._threads import (interruptible_slices, min_parallel_work, ran_parallel,
                             resolve_workers)
from imfilt._validation import as_array, check_choice, choice_error, result_dtypes

__all__ = ["sobel", "scharr", "prewitt", "roberts", "laplace", "gradient",
           "EDGE_OPERATORS", "GRADIENT_OPERATORS"]

#: Smoothing weights ``(a, b)`` of the kernel ``[-1, 0, 1]^T (x) [a, b, a]``.
_SMOOTHING = {
    "sobel": (1.0, 2.0),
    "scharr": (3.0, 10.0),
    "prewitt": (1.0, 1.0),
}

#: Operators that give a gradient vector (and so a direction).
GRADIENT_OPERATORS = tuple(_SMOOTHING)

#: Every edge operator, as the CLI offers them.
EDGE_OPERATORS = GRADIENT_OPERATORS + ("roberts", "laplace", "canny")

#: Scaling conventions of the derivative filters.
SCALINGS = ("ndimage", "skimage")

_G0, _G1, _MAG = _edges.OUT_G0, _edges.OUT_G1, _edges.OUT_MAG

# dtypes the fused kernel reads directly; everything else is converted first.
_KERNEL_INPUTS = {np.dtype(t) for t in ("uint8", "uint16", "float32", "float64")}

_EDGE_DOCS = dict(
    edge_image="""\
image : array_like, 2-D (or 3-D with ``channel_axis``)
    Grey image of any real dtype (bool, integers, float16/32/64; any layout
    and byte order).""",
    axis="""\
axis : {None, 0, 1, -2, -1}, optional
    ``None`` (default) gives the gradient magnitude ``sqrt(g0**2 + g1**2)``;
    ``0`` the derivative along axis 0 (rows, "vertical": positive where the
    image gets brighter downwards); ``1`` along axis 1 (columns).""",
    convention="""\
convention : {'ndimage', 'skimage'}, optional
    ``'ndimage'`` (default): the unnormalised integer kernels, equal to
    ``scipy.ndimage`` and to OpenCV (whose ``dx`` is imfilt's ``axis=1``).
    ``'skimage'``: reproduce ``skimage.filters``: the kernel is divided by
    the sum of its smoothing weights, the magnitude by ``sqrt(2)``, and
    integer images are first scaled as ``skimage.img_as_float`` does
    (unsigned by their maximum to [0, 1], signed to [-1, 1]).""",
    edge_nan_policy="""\
nan_policy : {'propagate', 'omit', 'raise'}, optional
    ``'propagate'`` (default): NaN and inf spread as in ``scipy.ndimage``.
    ``'raise'``: ``ValueError`` when the image holds NaN or inf.
    ``'omit'``: outputs whose window holds a non-finite sample under a
    non-zero weight are recomputed with those samples left out, as
    :func:`imfilt.correlate` with ``nan_policy='omit'`` does: derivative
    kernels sum to zero, so the finite part is rescaled by the absolute
    weight ``sum|w| / sum_finite|w|``; NaN where no finite sample meets a
    weight.  Other outputs are unchanged (bit-identical to 'propagate').""",
    edge_channel_axis="""\
channel_axis : int, optional
    For a colour (or multi-channel) 3-D image, the axis that holds the
    channels; each channel is filtered on its own and the result keeps the
    image's shape.  ``None`` (default): the image must be 2-D.""",
    edge_returns="""\
out : ndarray, 2-D (3-D with ``channel_axis``)
    float32 for bool, 8/16-bit integer, float16 and float32 images; float64
    for float64 and 32/64-bit integer images (never wraps around).""",
    edge_raises="""\
ValueError
    A non-2-D image (without ``channel_axis``), or a parameter outside its
    choices (the message names the parameter and lists the choices).
TypeError
    A complex or non-numeric image, or a parameter of the wrong type.""",

)
_EDGE_DOCS["derivative_sections"] = "\n".join([
    "Parameters", "----------", _EDGE_DOCS["edge_image"], _EDGE_DOCS["axis"],
    SNIPPETS["boundary"], _EDGE_DOCS["convention"], SNIPPETS["workers"],
    _EDGE_DOCS["edge_nan_policy"], _EDGE_DOCS["edge_channel_axis"], "",
    "Returns", "-------", _EDGE_DOCS["edge_returns"], "",
    "Raises", "------", _EDGE_DOCS["edge_raises"]])
_EDGE_DOCS["edge_tail"] = "\n".join([
    SNIPPETS["workers"], _EDGE_DOCS["edge_nan_policy"], _EDGE_DOCS["edge_channel_axis"], "",
    "Returns", "-------", "out : ndarray, 2-D (3-D with ``channel_axis``)",
    "    float32 or float64, as for :func:`sobel`.", "",
    "Raises", "------", _EDGE_DOCS["edge_raises"]])
_fill_docs = docfiller(**_EDGE_DOCS)


# --------------------------------------------------------------------------
# parsing, once per public call


@dataclass(frozen=True)
class _EdgeCall:
    """The parsed arguments every derivative filter shares."""

    boundary: str
    nthreads: int
    nan_policy: str
    convention: str = "ndimage"


def _parse(boundary, workers, nan_policy, convention="ndimage"):
    return _EdgeCall(boundary=canonical_boundary(boundary), nthreads=resolve_workers(workers),
                     nan_policy=canonical_nan_policy(nan_policy),
                     convention=check_choice("convention", convention, SCALINGS))


def _per_channel(func, image, channel_axis, *args):
    """``func(plane, *args)`` on a 2-D image, or on each channel of a 3-D one."""
    if channel_axis is None:
        return func(image, *args)
    arr = as_array(image, "image")
    if arr.ndim != 3:
        raise ValueError(
            f"channel_axis={channel_axis!r} needs a 3-D image (rows, columns, channels "
            f"in some order); got image.ndim={arr.ndim} (shape {arr.shape})"
        )
    return over_channels(func, arr, channel_axis_index(channel_axis, 3), *args)


def as_image(image):
    """A real 2-D array, or an error that says what to do instead."""
    arr = as_array(image, "image")
    if looks_like_colour(arr.shape):
        raise colour_error("edge filters", arr.shape, "channel_axis=0")
    if arr.ndim != 2:
        hint = ""
        if arr.ndim == 3:
            hint = (". For a colour image pass channel_axis= (e.g. channel_axis=-1) "
                    "to filter each channel, or convert to grey first (the ITU-R 601 "
                    "luminance 0.299 R + 0.587 G + 0.114 B, as `imfilt edges` does)")
        raise ValueError(
            f"image must be 2-D (rows, columns); got image.ndim={arr.ndim} "
            f"(shape {arr.shape}){hint}"
        )
    if arr.dtype.kind == "c":
        raise TypeError(
            f"image has dtype {arr.dtype}; edge filters need a real image. "
            "Filter image.real and image.imag separately"
        )
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def _check_axis(axis):
    if axis is None:
        return None
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, (bool, np.bool_)):
        if -2 <= int(axis) <= 1:
            return int(axis) % 2
    raise choice_error("axis", axis,
                       "None (the gradient magnitude), 0 (along rows), 1 (along "
                       "columns), or -2, -1")


def _kernel_input(arr):
    """``(x, out_dtype)``: a C-contiguous array the kernel reads directly."""
    native = arr.dtype.newbyteorder("=")
    out_dtype = result_dtypes(native, np.dtype(np.float32))[1]
    if native in _KERNEL_INPUTS:
        x = np.ascontiguousarray(arr, dtype=native)
    else:
        x = np.ascontiguousarray(arr, dtype=out_dtype)
    return x, out_dtype


def skimage_prescale(arr):
    """``(array, factor)`` reproducing ``skimage.img_as_float`` on integers.

    Unsigned integers (and bool) are only divided by their maximum, which
    the kernel applies as a factor; signed integers are mapped to [-1, 1]
    with the minimum clipped to -1, which needs a converted copy.
    """
    if arr.dtype.kind == "u":
        return arr, 1.0 / np.iinfo(arr.dtype).max
    if arr.dtype.kind == "i":
        info = np.iinfo(arr.dtype)
        work = np.float32 if arr.dtype.itemsize <= 2 else np.float64
        scaled = np.maximum(arr.astype(work) / work(info.max), work(-1.0))
        return scaled, 1.0
    return arr, 1.0


def _omit_correlator(call):
    """'same' correlation with nan_policy='omit' bound to the parsed call."""
    spec = _linear.correlate_spec(call.boundary, call.nthreads, method="direct",
                                  nan_policy="omit")
    return lambda image, kernel: _linear.apply(image, kernel, 0, None, None, spec)


def _correlate_same(arr, kernel, call):
    """'same' correlation of ``arr`` with ``kernel`` under the parsed call."""
    spec = _linear.correlate_spec(call.boundary, call.nthreads)
    return _linear.apply(arr, kernel, 0, None, None, spec)


# --------------------------------------------------------------------------
# the generic fused derivative pair


#: Estimated seconds per pixel of the fused derivative kernel on one thread:
#: the first guess when a long call is cut into interruptible pieces.
_SECONDS_PER_PIXEL = 4e-9


def sep3(x, out_dtype, a, b, boundary, what, axis_scale, mag_scale, nthreads):
    """Run the fused kernel; return ``(g0, g1, mag)`` with None where unwanted."""
    n0, n1 = x.shape
    outs = [np.empty((n0, n1), dtype=out_dtype) if what & flag else None
            for flag in (_G0, _G1, _MAG)]
    if n0 == 0 or n1 == 0:
        return tuple(outs)
    dummy = np.empty((1, 1), dtype=out_dtype)
    nthreads = max(1, min(nthreads, n0))
    scratch = np.empty((nthreads, 2 * (min(n1, _edges.COLUMN_BLOCK) + 2)), dtype=out_dtype)
    zero_row = np.zeros(n1, dtype=x.dtype)
    rowmap = boundary_index(n0, 1, 1, boundary)
    colmap = boundary_index(n1, 1, 1, boundary)
    for _, _, r0, r1 in interruptible_slices(1, n0, n1 * _SECONDS_PER_PIXEL / nthreads,
                                             min_rows=16 * nthreads):
        # Between two bands of rows the interpreter handles signals (Ctrl-C).
        # The kernel reads source rows through ``rowmap`` from row 0 of ``x``
        # and takes the band's row count from the image it is given: a view
        # from row 0 with r1 - r0 rows (every row stays readable through x).
        ran_parallel(_edges.sep3_gradient(
            x[:r1 - r0], zero_row, rowmap[r0:r1 + 2], colmap,
            a, b, axis_scale, mag_scale, what,
            *(o[r0:r1] if o is not None else dummy for o in outs),
            scratch, nthreads, min_parallel_work(),
        ))
    return tuple(outs)


def _derivative3(arr, operator, what, call):
    """The outputs ``what`` of one operator on a validated 2-D image."""
    a, b = _SMOOTHING[operator]
    axis_scale = 1.0
    if call.convention == "skimage":
        arr, axis_scale = skimage_prescale(arr)
        axis_scale /= (2 * a + b)
    mag_scale = axis_scale / math.sqrt(2.0) if call.convention == "skimage" else axis_scale
    x, out_dtype = _kernel_input(arr)
    return sep3(x, out_dtype, a, b, call.boundary, what, axis_scale, mag_scale, call.nthreads)


def _omit_kernels(operator, convention):
    """``(k0, k1, scale, mag_scale)``: the operator's correlation kernels for 'omit'.

    Only float images reach 'omit' (integers hold no NaN), so the skimage
    convention is just the scaling of the derivatives and the magnitude.
    """
    a, b = _SMOOTHING[operator]
    k0 = np.outer([-1.0, 0.0, 1.0], [a, b, a])
    scale = 1.0 / (2 * a + b) if convention == "skimage" else 1.0
    mag_scale = scale / math.sqrt(2.0) if convention == "skimage" else 1.0
    return k0, k0.T, scale, mag_scale


def _single2d(image, operator, axis, call):
    """One derivative (``axis`` 0 or 1) or the magnitude (``axis`` None) of a plane."""
    arr = as_image(image)
    omit = omit_wanted(arr, call.nan_policy)
    what = _MAG if axis is None else (_G0 if axis == 0 else _G1)
    g0, g1, mag = _derivative3(arr, operator, what, call)
    out = mag if mag is not None else (g0 if g0 is not None else g1)
    if omit:
        k0, k1, scale, mag_scale = _omit_kernels(operator, call.convention)
        if axis is None:
            kernels, combine = [k0, k1], lambda c0, c1: (np.hypot(c0, c1) * mag_scale,)
        else:
            kernels, combine = [(k0, k1)[axis]], lambda c: (c * scale,)
        out, = omit_nonfinite((out,), arr, kernels, combine, _omit_correlator(call))
    return out


def _derivative_filter(operator, image, axis, boundary, convention, workers, channel_axis,
                       nan_policy):
    """Sobel, Scharr and Prewitt: parse once, then each channel."""
    axis = _check_axis(axis)
    call = _parse(boundary, workers, nan_policy, convention)
    return _per_channel(_single2d, image, channel_axis, operator, axis, call)


# --------------------------------------------------------------------------
# public filters
#
# sobel, scharr and prewitt are deliberately three thin fronts that differ in
# data only (their docstring and the operator name) over _derivative_filter.


@_fill_docs
def sobel(image, axis=None, *, boundary="symm", convention="ndimage", workers=None,
          channel_axis=None, nan_policy="propagate"):
    """Sobel derivative or gradient magnitude of a 2-D image.

    Correlation kernel along axis 0: ``[-1, 0, 1]^T (x) [1, 2, 1]``, i.e.
    ``[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]``; along axis 1 its transpose.
    Equal to ``scipy.ndimage.sobel(image, axis, mode='reflect')`` and to
    OpenCV's 3x3 ``cv2.Sobel`` (with ``BORDER_REFLECT`` for the default
    boundary); ``convention='skimage'`` equals ``skimage.filters.sobel``.

    The magnitude is computed in one fused pass (the image is read once,
    the result written once) by a parallel compiled kernel.

    %(derivative_sections)s

    See Also
    --------
    scharr, prewitt : the same with other smoothing weights.
    gradient : magnitude and direction together.

    Examples
    --------
    >>> import numpy as np
    >>> import imfilt
    >>> step = np.zeros((4, 6), dtype=np.uint8)
    >>> step[:, 3:] = 10
    >>> imfilt.sobel(step, axis=1)
    array([[ 0.,  0., 40., 40.,  0.,  0.],
           [ 0.,  0., 40., 40.,  0.,  0.],
           [ 0.,  0., 40., 40.,  0.,  0.],
           [ 0.,  0., 40., 40.,  0.,  0.]], dtype=float32)
    >>> float(imfilt.sobel(step)[0, 2])
    40.0
    >>> round(float(imfilt.sobel(step, convention="skimage")[0, 2]), 6)  # 40/4/255/sqrt(2)
    0.02773
    """
    return _derivative_filter("sobel", image, axis, boundary, convention, workers,
                              channel_axis, nan_policy)


@_fill_docs
def scharr(image, axis=None, *, boundary="symm", convention="ndimage", workers=None,
           channel_axis=None, nan_policy="propagate"):
    """Scharr derivative or gradient magnitude of a 2-D image.

    Correlation kernel along axis 0: ``[-1, 0, 1]^T (x) [3, 10, 3]``; along
    axis 1 its transpose.  Equal to OpenCV's ``cv2.Scharr`` and to
    ``scipy.ndimage.correlate`` with that kernel; ``convention='skimage'``
    (kernel divided by 16, magnitude by ``sqrt(2)``) equals
    ``skimage.filters.scharr``.  Scharr's weights make the gradient
    direction more rotation-invariant than Sobel's.

    %(derivative_sections)s

    See Also
    --------
    sobel, prewitt, gradient

    Examples
    --------
    >>> import numpy as np
    >>> import imfilt
    >>> ramp = np.tile(np.arange(5, dtype=np.float64), (3, 1))
    >>> imfilt.scharr(ramp, axis=1)
    array([[16., 32., 32., 32., 16.],
           [16., 32., 32., 32., 16.],
           [16., 32., 32., 32., 16.]])
    """
    return _derivative_filter("scharr", image, axis, boundary, convention, workers,
                              channel_axis, nan_policy)


@_fill_docs
def prewitt(image, axis=None, *, boundary="symm", convention="ndimage", workers=None,
            channel_axis=None, nan_policy="propagate"):
    """Prewitt derivative or gradient magnitude of a 2-D image.

    Correlation kernel along axis 0: ``[-1, 0, 1]^T (x) [1, 1, 1]``; along
    axis 1 its transpose.  Equal to ``scipy.ndimage.prewitt(image, axis,
    mode='reflect')``; ``convention='skimage'`` (kernel divided by 3,
    magnitude by ``sqrt(2)``) equals ``skimage.filters.prewitt``.

    %(derivative_sections)s

    See Also
    --------
    sobel, scharr, gradient

    Examples
    --------
    >>> import numpy as np
    >>> import imfilt
    >>> ramp = np.tile(np.arange(5, dtype=np.float32), (3, 1)).T   # rows 0..4
    >>> imfilt.prewitt(ramp, axis=0)[:, 0]
    array([3., 6., 6., 6., 3.], dtype=float32)
    """
    return _derivative_filter("prewitt", image, axis, boundary, convention, workers,
                              channel_axis, nan_policy)


@_fill_docs
def gradient(image, operator="sobel", *, boundary="symm", convention="ndimage",
             workers=None, channel_axis=None, nan_policy="propagate"):
    """Gradient magnitude and direction of a 2-D image.

    Both derivatives and the magnitude come from one fused pass of the
    compiled kernel; the direction is ``arctan2(g0, g1)``.

    Parameters
    ----------
    %(edge_image)s
    operator : {'sobel', 'scharr', 'prewitt'}, optional
        The derivative pair (default ``'sobel'``).
    %(boundary)s
    convention : {'ndimage', 'skimage'}, optional
        Scaling of the magnitude, as for :func:`sobel`; the direction does
        not depend on it.
    %(workers)s
    %(edge_nan_policy)s
    %(edge_channel_axis)s

    Returns
    -------
    magnitude : ndarray, 2-D
        ``sqrt(g0**2 + g1**2)`` (float32 or float64 as for :func:`sobel`).
    direction : ndarray, 2-D, same dtype
        Angle of the gradient vector in radians, in ``[-pi, pi]``:
        ``arctan2(g0, g1)``, where ``g1`` is the derivative along axis 1
        (x, to the right) and ``g0`` along axis 0 (y, downwards, as image
        rows run).  0 points right, ``pi/2`` down; flat regions give 0.
        OpenCV's ``cv2.phase(dx, dy)`` is the same angle modulo ``2*pi``.

    Raises
    ------
    ValueError
        A non-2-D image, or an unknown ``operator``, ``boundary``,
        ``convention`` or ``workers``.
    TypeError
        A complex or non-numeric image.

    See Also
    --------
    sobel : magnitude or one derivative only (faster).

    Examples
    --------
    >>> import numpy as np
    >>> import imfilt
    >>> step = np.zeros((5, 5))
    >>> step[3:, :] = 1.0          # brighter below: gradient points down
    >>> magnitude, direction = imfilt.gradient(step)
    >>> float(magnitude[2, 2]), round(float(direction[2, 2]), 4)
    (4.0, 1.5708)
    """
    operator = check_choice("operator", operator, GRADIENT_OPERATORS)
    call = _parse(boundary, workers, nan_policy, convention)
    return _per_channel(_gradient2d, image, channel_axis, operator, call)


def _gradient2d(image, operator, call):
    arr = as_image(image)
    omit = omit_wanted(arr, call.nan_policy)
    g0, g1, mag = _derivative3(arr, operator, _G0 | _G1 | _MAG, call)
    if omit:
        k0, k1, scale, mag_scale = _omit_kernels(operator, call.convention)
        g0, g1, mag = omit_nonfinite(
            (g0, g1, mag), arr, [k0, k1],
            lambda c0, c1: (c0 * scale, c1 * scale, np.hypot(c0, c1) * mag_scale),
            _omit_correlator(call))
    return mag, np.arctan2(g0, g1)


_ROBERTS_KERNELS = (np.array([[-1.0, 0.0], [0.0, 1.0]]), np.array([[0.0, -1.0], [1.0, 0.0]]))


@_fill_docs
def roberts(image, *, boundary="symm", convention="ndimage", workers=None, channel_axis=None,
            nan_policy="propagate"):
    """Roberts cross gradient magnitude of a 2-D image.

    The two diagonal differences ``p = image[i+1, j+1] - image[i, j]`` and
    ``q = image[i+1, j] - image[i, j+1]`` (the 2x2 correlation
    kernels ``[[-1, 0], [0, 1]]`` and ``[[0, -1], [1, 0]]``, aligned like
    ``skimage.filters.roberts``) give ``sqrt(p**2 + q**2)``.

    Parameters
    ----------
    %(edge_image)s
    %(boundary)s
    convention : {'ndimage', 'skimage'}, optional
        ``'skimage'`` divides by ``sqrt(2)`` and scales integer images like
        ``img_as_float``, giving ``skimage.filters.roberts``.
    %(edge_tail)s

    Examples
    --------
    >>> import numpy as np
    >>> import imfilt
    >>> image = np.zeros((4, 4), dtype=np.float32)
    >>> image[2:, 2:] = 1
    >>> imfilt.roberts(image)
    array([[0.       , 0.       , 0.       , 0.       ],
           [0.       , 1.       , 1.4142135, 1.4142135],
           [0.       , 1.4142135, 0.       , 0.       ],
           [0.       , 1.4142135, 0.       , 0.       ]], dtype=float32)
    """
    call = _parse(boundary, workers, nan_policy, convention)
    return _per_channel(_roberts2d, image, channel_axis, call)


def _roberts2d(image, call):
    arr = as_image(image)
    scale = 1.0
    if call.convention == "skimage":
        arr, scale = skimage_prescale(arr)
        scale /= math.sqrt(2.0)
    omit = omit_wanted(arr, call.nan_policy)
    pos = _correlate_same(arr, _ROBERTS_KERNELS[0], call)
    neg = _correlate_same(arr, _ROBERTS_KERNELS[1], call)
    out = np.hypot(pos, neg, out=pos)
    if scale != 1.0:
        out *= out.dtype.type(scale)
    if omit:
        out, = omit_nonfinite((out,), arr, _ROBERTS_KERNELS,
                              lambda p, q: (np.hypot(p, q) * scale,), _omit_correlator(call))
    return out


_LAPLACE_KERNELS = {
    4: np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64),
    8: np.array([[1, 1, 1], [1, -8, 1], [1, 1, 1]], dtype=np.float64),
}


@_fill_docs
def laplace(image, neighbors=4, *, boundary="symm", workers=None, channel_axis=None,
            nan_policy="propagate"):
    """Discrete Laplacian of a 2-D image.

    Parameters
    ----------
    %(edge_image)s
    neighbors : {4, 8}, optional
        ``4`` (default): ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``, equal to
        ``scipy.ndimage.laplace(image, mode='reflect')`` and OpenCV's
        ``cv2.Laplacian(ksize=1)``; scikit-image's ``laplace`` has the
        opposite sign.  ``8``: ``[[1, 1, 1], [1, -8, 1], [1, 1, 1]]``.
    %(boundary)s
    %(edge_tail)s

    Examples
    --------
    >>> import numpy as np
    >>> import imfilt
    >>> dot = np.zeros((3, 3), dtype=np.uint8)
    >>> dot[1, 1] = 1
    >>> imfilt.laplace(dot)
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]], dtype=float32)
    >>> imfilt.laplace(dot, neighbors=8)[1, 1]
    np.float32(-8.0)
    """
    if isinstance(neighbors, (bool, np.bool_)) or neighbors not in _LAPLACE_KERNELS:
        raise choice_error("neighbors", neighbors, "4 or 8")
    call = _parse(boundary, workers, nan_policy)
    return _per_channel(_laplace2d, image, channel_axis, neighbors, call)


def _laplace2d(image, neighbors, call):
    arr = as_image(image)
    omit = omit_wanted(arr, call.nan_policy)
    if neighbors == 8:
        out = _correlate_same(arr, _LAPLACE_KERNELS[8], call)
    else:
        # Two 1-D second differences, summed, exactly as scipy.ndimage.laplace:
        # the 3x3 form would also multiply its zero corners, spreading a NaN or
        # inf diagonally where ndimage does not.
        out = _correlate_same(arr, np.array([[1], [-2], [1]]), call)
        out += _correlate_same(arr, np.array([[1, -2, 1]]), call)
    if omit:
        out, = omit_nonfinite((out,), arr, [_LAPLACE_KERNELS[neighbors]], lambda c: (c,),
                              _omit_correlator(call))
    return out
