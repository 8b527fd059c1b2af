"""Edge filters: Sobel, Scharr, Prewitt, Roberts, Laplace, gradient, Canny.

Sobel, Scharr and Prewitt differ only in the smoothing weights ``[a, b, a]``
of one separable 3x3 derivative pair (CONVENTIONS section 7), so they are
thin wrappers over :func:`_derivative3`, which runs one fused pass of the
private kernel ``imfilt._kernels._edges.sep3_gradient``: the image is read
once and each requested output written once, with no intermediate arrays.
"""

import math

import numpy as np

from imfilt._channels import colour_error, looks_like_colour
from imfilt._geometry import channel_axis_index, over_channels
from imfilt._kernels import _edges
from imfilt._modes import boundary_index, canonical_boundary, choice_error
from imfilt._nanpolicy import omit_nonfinite, omit_wanted
from imfilt._threads import ran_parallel, resolve_workers
from imfilt._validation import as_array, is_integer_like, result_dtypes
from imfilt.convolution import correlate

__all__ = ["sobel", "scharr", "prewitt", "roberts", "laplace", "gradient", "canny",
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
CONVENTIONS = ("ndimage", "skimage")

# Output bit flags of the kernel, and its column block (COL_BLOCK in _edges.pyx).
_G0, _G1, _MAG = 1, 2, 4
_COL_BLOCK = 1024

# dtypes the fused kernel reads directly; everything else is converted first.
_KERNEL_INPUTS = {np.dtype(t) for t in ("uint8", "uint16", "float32", "float64")}


# --------------------------------------------------------------------------
# validation


def _as_image(image):
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


def _over_channels(func, image, channel_axis, *args, **kwargs):
    """Apply a 2-D filter to each channel of a colour image.

    ``channel_axis=None`` passes the image through unchanged (2-D only).
    Results are stacked back along ``channel_axis``; a filter returning a
    tuple (``gradient``) gives a tuple of stacked arrays.
    """
    if channel_axis is None:
        return func(image, *args, **kwargs)
    arr = as_array(image, "image")
    if arr.ndim != 3:
        raise ValueError(
            f"channel_axis={channel_axis!r} needs a 3-D image (rows, columns, channels "
            f"in some order); got image.ndim={arr.ndim} (shape {arr.shape})"
        )
    return over_channels(func, arr, channel_axis_index(channel_axis, 3), *args, **kwargs)


def _check_axis(axis):
    if axis is None:
        return None
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, (bool, np.bool_)):
        if -2 <= int(axis) <= 1:
            return int(axis) % 2
    raise choice_error("axis", axis,
                       "None (the gradient magnitude), 0 (along rows), 1 (along "
                       "columns), or -2, -1")


def _check_convention(convention):
    if isinstance(convention, str) and convention in CONVENTIONS:
        return convention
    raise choice_error("convention", convention, ", ".join(repr(c) for c in CONVENTIONS))


def _check_operator(operator, choices):
    if isinstance(operator, str) and operator in choices:
        return operator
    hint = None
    if isinstance(operator, str) and operator.strip().lower() in choices:
        hint = repr(operator.strip().lower())
    raise choice_error("operator", operator, ", ".join(repr(c) for c in choices), hint)


def _kernel_input(arr):
    """``(x, out_dtype)``: a C-contiguous array the kernel reads directly."""
    native = arr.dtype.newbyteorder("=")
    out_dtype = result_dtypes(native, np.dtype(np.float32))[1]
    if native in _KERNEL_INPUTS:
        x = np.ascontiguousarray(arr, dtype=native)
    else:
        x = np.ascontiguousarray(arr, dtype=out_dtype)
    return x, out_dtype


def _skimage_prescale(arr):
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


# --------------------------------------------------------------------------
# the generic fused derivative pair


def _sep3(x, out_dtype, a, b, boundary, what, axis_scale, mag_scale, nthreads):
    """Run the fused kernel; return ``(g0, g1, mag)`` with None where unwanted."""
    n0, n1 = x.shape
    outs = [np.empty((n0, n1), dtype=out_dtype) if what & flag else None
            for flag in (_G0, _G1, _MAG)]
    if n0 == 0 or n1 == 0:
        return tuple(outs)
    dummy = np.empty((1, 1), dtype=out_dtype)
    nthreads = max(1, min(nthreads, n0))
    scratch = np.empty((nthreads, 2 * (min(n1, _COL_BLOCK) + 2)), dtype=out_dtype)
    ran_parallel(nthreads)
    _edges.sep3_gradient(
        x, np.zeros(n1, dtype=x.dtype),
        boundary_index(n0, 1, 1, boundary), boundary_index(n1, 1, 1, boundary),
        a, b, axis_scale, mag_scale, what,
        *(o if o is not None else dummy for o in outs),
        scratch, nthreads,
    )
    return tuple(outs)


def _derivative3(image, axis, boundary, convention, workers, operator, what=None):
    """Derivative along ``axis`` or gradient magnitude for one operator."""
    arr = _as_image(image)
    axis = _check_axis(axis)
    boundary = canonical_boundary(boundary)
    convention = _check_convention(convention)
    nthreads = resolve_workers(workers)
    a, b = _SMOOTHING[operator]
    axis_scale = 1.0
    if convention == "skimage":
        arr, axis_scale = _skimage_prescale(arr)
        axis_scale /= (2 * a + b)
    mag_scale = axis_scale / math.sqrt(2.0) if convention == "skimage" else axis_scale
    x, out_dtype = _kernel_input(arr)
    if what is None:
        what = _MAG if axis is None else (_G0 if axis == 0 else _G1)
    return _sep3(x, out_dtype, a, b, boundary, what, axis_scale, mag_scale, nthreads)


def _single(image, axis, boundary, convention, workers, operator, nan_policy="propagate"):
    omit = omit_wanted(image, nan_policy)
    g0, g1, mag = _derivative3(image, axis, boundary, convention, workers, operator)
    out = mag if mag is not None else (g0 if g0 is not None else g1)
    if omit:
        kernels, combine = _omit_derivative(operator, _check_axis(axis), convention)
        out, = omit_nonfinite((out,), image, kernels, combine, boundary, workers)
    return out


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


def _omit_derivative(operator, axis, convention):
    """Kernels and combination giving one derivative output, for 'omit'."""
    k0, k1, scale, mag_scale = _omit_kernels(operator, convention)
    if axis == 0:
        return [k0], lambda g0: (g0 * scale,)
    if axis == 1:
        return [k1], lambda g1: (g1 * scale,)
    return [k0, k1], lambda g0, g1: (np.hypot(g0, g1) * mag_scale,)


# --------------------------------------------------------------------------
# shared documentation

_DERIV_PARAMS = """\
image : array_like, 2-D (or 3-D with ``channel_axis``)
    Grey image of any real dtype (bool, integers, float16/32/64; any layout
    and byte order).
axis : {None, 0, 1, -2, -1}, optional
    ``None`` (default) gives the gradient magnitude ``sqrt(g0**2 + g1**2)``;
    ``0`` the derivative along axis 0 (rows, "vertical": positive where the
    image gets brighter downwards); ``1`` along axis 1 (columns).
boundary : str, optional
    How the image is extended beyond its edges (default ``'symm'``, which
    is ``scipy.ndimage``'s and scikit-image's ``'reflect'``): ``'fill'``
    (zeros), ``'wrap'``, ``'symm'``, ``'reflect'`` (OpenCV's default
    ``BORDER_REFLECT_101``) or ``'edge'``, with the aliases of
    :func:`imfilt.convolve`.
convention : {'ndimage', 'skimage'}, optional
    ``'ndimage'`` (default): the unnormalised integer kernels, equal to
    ``scipy.ndimage`` and to OpenCV (whose ``dx`` is imfilt's ``axis=1``).
    ``'skimage'``: reproduce ``skimage.filters``: the kernel is divided by
    the sum of its smoothing weights, the magnitude by ``sqrt(2)``, and
    integer images are first scaled as ``skimage.img_as_float`` does
    (unsigned by their maximum to [0, 1], signed to [-1, 1]).
workers : int, optional
    Threads to use (default: see :func:`imfilt.set_workers`).  Results are
    bit-identical for any thread count.
nan_policy : {'propagate', 'omit', 'raise'}, optional
    ``'propagate'`` (default): NaN and inf spread as in ``scipy.ndimage``.
    ``'raise'``: ``ValueError`` when the image holds NaN or inf.
    ``'omit'``: outputs whose window holds a non-finite sample under a
    non-zero weight are recomputed with those samples left out, as
    :func:`imfilt.correlate` with ``nan_policy='omit'`` does: derivative
    kernels sum to zero, so the finite part is rescaled by the absolute
    weight ``sum|w| / sum_finite|w|``; NaN where no finite sample meets a
    weight.  Other outputs are unchanged (bit-identical to 'propagate').
channel_axis : int, optional
    For a colour (or multi-channel) 3-D image, the axis that holds the
    channels; each channel is filtered on its own and the result keeps the
    image's shape.  ``None`` (default): the image must be 2-D."""

_DERIV_RETURNS = """\
out : ndarray, 2-D (3-D with ``channel_axis``)
    float32 for bool, 8/16-bit integer, float16 and float32 images; float64
    for float64 and 32/64-bit integer images (never wraps around)."""

_DERIV_RAISES = """\
ValueError
    A non-2-D image, or an unknown ``axis``, ``boundary``, ``convention``
    or ``workers`` (the message lists the choices).
TypeError
    A complex or non-numeric image."""


def _doc(text):
    return (text.replace("%(params)s", _indent(_DERIV_PARAMS))
                .replace("%(returns)s", _indent(_DERIV_RETURNS))
                .replace("%(raises)s", _indent(_DERIV_RAISES)))


def _indent(text):
    return "\n".join(("    " + line) if line else line for line in text.splitlines())


# --------------------------------------------------------------------------
# public filters


def sobel(image, axis=None, *, boundary="symm", convention="ndimage", workers=None,
          channel_axis=None, nan_policy="propagate"):
    return _over_channels(_single, image, channel_axis, axis, boundary, convention, workers,
                          "sobel", nan_policy)


def scharr(image, axis=None, *, boundary="symm", convention="ndimage", workers=None,
           channel_axis=None, nan_policy="propagate"):
    return _over_channels(_single, image, channel_axis, axis, boundary, convention, workers,
                          "scharr", nan_policy)


def prewitt(image, axis=None, *, boundary="symm", convention="ndimage", workers=None,
            channel_axis=None, nan_policy="propagate"):
    return _over_channels(_single, image, channel_axis, axis, boundary, convention, workers,
                          "prewitt", nan_policy)


sobel.__doc__ = _doc(
    """Sobel derivative or gradient magnitude of a 2-D image.

    Correlation kernel along axis 0: ``[-1, 0, 1]^T (x) [1, 2, 1]``, i.e.
    ``[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]``; along axis 1 its transpose.
    Equal to ``scipy.ndimage.sobel(image, axis, mode='reflect')`` and to
    OpenCV's 3x3 ``cv2.Sobel`` (with ``BORDER_REFLECT`` for the default
    boundary); ``convention='skimage'`` equals ``skimage.filters.sobel``.

    The magnitude is computed in one fused pass (the image is read once,
    the result written once) by a parallel compiled kernel.

    Parameters
    ----------
%(params)s

    Returns
    -------
%(returns)s

    Raises
    ------
%(raises)s

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
)

scharr.__doc__ = _doc(
    """Scharr derivative or gradient magnitude of a 2-D image.

    Correlation kernel along axis 0: ``[-1, 0, 1]^T (x) [3, 10, 3]``; along
    axis 1 its transpose.  Equal to OpenCV's ``cv2.Scharr`` and to
    ``scipy.ndimage.correlate`` with that kernel; ``convention='skimage'``
    (kernel divided by 16, magnitude by ``sqrt(2)``) equals
    ``skimage.filters.scharr``.  Scharr's weights make the gradient
    direction more rotation-invariant than Sobel's.

    Parameters
    ----------
%(params)s

    Returns
    -------
%(returns)s

    Raises
    ------
%(raises)s

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
)

prewitt.__doc__ = _doc(
    """Prewitt derivative or gradient magnitude of a 2-D image.

    Correlation kernel along axis 0: ``[-1, 0, 1]^T (x) [1, 1, 1]``; along
    axis 1 its transpose.  Equal to ``scipy.ndimage.prewitt(image, axis,
    mode='reflect')``; ``convention='skimage'`` (kernel divided by 3,
    magnitude by ``sqrt(2)``) equals ``skimage.filters.prewitt``.

    Parameters
    ----------
%(params)s

    Returns
    -------
%(returns)s

    Raises
    ------
%(raises)s

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
)


def gradient(image, operator="sobel", *, boundary="symm", convention="ndimage",
             workers=None, channel_axis=None, nan_policy="propagate"):
    """Gradient magnitude and direction of a 2-D image.

    Both derivatives and the magnitude come from one fused pass of the
    compiled kernel; the direction is ``arctan2(g0, g1)``.

    Parameters
    ----------
    image : array_like, 2-D
        Grey image of any real dtype.
    operator : {'sobel', 'scharr', 'prewitt'}, optional
        The derivative pair (default ``'sobel'``).
    boundary : str, optional
        Boundary rule, as for :func:`sobel` (default ``'symm'``).
    convention : {'ndimage', 'skimage'}, optional
        Scaling of the magnitude, as for :func:`sobel`; the direction does
        not depend on it.
    workers : int, optional
        Threads to use (default: see :func:`imfilt.set_workers`).
    nan_policy : {'propagate', 'omit', 'raise'}, optional
        ``'propagate'`` (default): NaN and inf spread as in ``scipy.ndimage``.
        ``'raise'``: ``ValueError`` when the image holds NaN or inf.
        ``'omit'``: outputs whose window holds a non-finite sample under a
        non-zero weight are recomputed with those samples left out, as
        :func:`imfilt.correlate` with ``nan_policy='omit'`` does: derivative
        kernels sum to zero, so the finite part is rescaled by the absolute
        weight ``sum|w| / sum_finite|w|``; NaN where no finite sample meets a
        weight.  Other outputs are unchanged (bit-identical to 'propagate').
    channel_axis : int, optional
        Channel axis of a 3-D colour image; each channel is filtered on its
        own (default ``None``: 2-D image).

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
    operator = _check_operator(operator, GRADIENT_OPERATORS)
    return _over_channels(_gradient2d, image, channel_axis, operator, boundary, convention,
                          workers, nan_policy)


def _gradient2d(image, operator, boundary, convention, workers, nan_policy="propagate"):
    omit = omit_wanted(image, nan_policy)
    g0, g1, mag = _derivative3(image, None, boundary, convention, workers, operator,
                               what=_G0 | _G1 | _MAG)
    if omit:
        k0, k1, scale, mag_scale = _omit_kernels(operator, convention)
        g0, g1, mag = omit_nonfinite(
            (g0, g1, mag), image, [k0, k1],
            lambda c0, c1: (c0 * scale, c1 * scale, np.hypot(c0, c1) * mag_scale),
            boundary, workers)
    return mag, np.arctan2(g0, g1)


def roberts(image, *, boundary="symm", convention="ndimage", workers=None, channel_axis=None,
            nan_policy="propagate"):
    """Roberts cross gradient magnitude of a 2-D image.

    The two diagonal differences ``p = image[i+1, j+1] - image[i, j]`` and
    ``q = image[i+1, j] - image[i, j+1]`` (the 2x2 kernels of
    CONVENTIONS section 7, aligned like ``skimage.filters.roberts``) give
    ``sqrt(p**2 + q**2)``.

    Parameters
    ----------
    image : array_like, 2-D
        Grey image of any real dtype.
    boundary : str, optional
        Rule for the last row and column (default ``'symm'``, where the
        differences vanish), as for :func:`sobel`.
    convention : {'ndimage', 'skimage'}, optional
        ``'skimage'`` divides by ``sqrt(2)`` and scales integer images like
        ``img_as_float``, giving ``skimage.filters.roberts``.
    workers : int, optional
        Threads to use (default: see :func:`imfilt.set_workers`).
    nan_policy : {'propagate', 'omit', 'raise'}, optional
        ``'propagate'`` (default): NaN and inf spread as in ``scipy.ndimage``.
        ``'raise'``: ``ValueError`` when the image holds NaN or inf.
        ``'omit'``: outputs whose window holds a non-finite sample under a
        non-zero weight are recomputed with those samples left out, as
        :func:`imfilt.correlate` with ``nan_policy='omit'`` does: derivative
        kernels sum to zero, so the finite part is rescaled by the absolute
        weight ``sum|w| / sum_finite|w|``; NaN where no finite sample meets a
        weight.  Other outputs are unchanged (bit-identical to 'propagate').
    channel_axis : int, optional
        Channel axis of a 3-D colour image; each channel is filtered on its
        own (default ``None``: 2-D image).

    Returns
    -------
    out : ndarray, 2-D
        float32 or float64, as for :func:`sobel`.

    Raises
    ------
    ValueError
        A non-2-D image, or an unknown ``boundary``, ``convention`` or
        ``workers``.
    TypeError
        A complex or non-numeric image.

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
    return _over_channels(_roberts2d, image, channel_axis, boundary, convention, workers,
                          nan_policy)


def _roberts2d(image, boundary, convention, workers, nan_policy="propagate"):
    arr = _as_image(image)
    boundary = canonical_boundary(boundary)
    convention = _check_convention(convention)
    scale = 1.0
    if convention == "skimage":
        arr, scale = _skimage_prescale(arr)
        scale /= math.sqrt(2.0)
    omit = omit_wanted(arr, nan_policy)
    kernels = [np.array([[-1.0, 0.0], [0.0, 1.0]]), np.array([[0.0, -1.0], [1.0, 0.0]])]
    pos = correlate(arr, kernels[0], mode="same", boundary=boundary, workers=workers)
    neg = correlate(arr, kernels[1], mode="same", boundary=boundary, workers=workers)
    out = np.hypot(pos, neg, out=pos)
    if scale != 1.0:
        out *= out.dtype.type(scale)
    if omit:
        out, = omit_nonfinite((out,), arr, kernels,
                              lambda p, q: (np.hypot(p, q) * scale,), boundary, workers)
    return out


_LAPLACE_KERNELS = {
    4: np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64),
    8: np.array([[1, 1, 1], [1, -8, 1], [1, 1, 1]], dtype=np.float64),
}


def laplace(image, neighbors=4, *, boundary="symm", workers=None, channel_axis=None,
            nan_policy="propagate"):
    """Discrete Laplacian of a 2-D image.

    Parameters
    ----------
    image : array_like, 2-D
        Grey image of any real dtype.
    neighbors : {4, 8}, optional
        ``4`` (default): ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``, equal to
        ``scipy.ndimage.laplace(image, mode='reflect')`` and OpenCV's
        ``cv2.Laplacian(ksize=1)``; scikit-image's ``laplace`` has the
        opposite sign.  ``8``: ``[[1, 1, 1], [1, -8, 1], [1, 1, 1]]``.
    boundary : str, optional
        Boundary rule, as for :func:`sobel` (default ``'symm'``).
    workers : int, optional
        Threads to use (default: see :func:`imfilt.set_workers`).
    nan_policy : {'propagate', 'omit', 'raise'}, optional
        ``'propagate'`` (default): NaN and inf spread as in ``scipy.ndimage``.
        ``'raise'``: ``ValueError`` when the image holds NaN or inf.
        ``'omit'``: outputs whose window holds a non-finite sample under a
        non-zero weight are recomputed with those samples left out, as
        :func:`imfilt.correlate` with ``nan_policy='omit'`` does: derivative
        kernels sum to zero, so the finite part is rescaled by the absolute
        weight ``sum|w| / sum_finite|w|``; NaN where no finite sample meets a
        weight.  Other outputs are unchanged (bit-identical to 'propagate').
    channel_axis : int, optional
        Channel axis of a 3-D colour image; each channel is filtered on its
        own (default ``None``: 2-D image).

    Returns
    -------
    out : ndarray, 2-D
        float32 or float64, as for :func:`sobel`.

    Raises
    ------
    ValueError
        A non-2-D image, or an unknown ``neighbors``, ``boundary`` or
        ``workers``.
    TypeError
        A complex or non-numeric image.

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
    return _over_channels(_laplace2d, image, channel_axis, neighbors, boundary, workers,
                          nan_policy)


def _laplace2d(image, neighbors, boundary, workers, nan_policy="propagate"):
    arr = _as_image(image)
    if omit_wanted(arr, nan_policy):
        out = _laplace2d(arr, neighbors, boundary, workers)
        out, = omit_nonfinite((out,), arr, [_LAPLACE_KERNELS[neighbors]], lambda c: (c,),
                              boundary, workers)
        return out
    if neighbors == 8:
        return correlate(arr, _LAPLACE_KERNELS[8], mode="same", boundary=boundary,
                         workers=workers)
    # Two 1-D second differences, summed, exactly as scipy.ndimage.laplace: the
    # 3x3 form would also multiply its zero corners, spreading a NaN or inf
    # diagonally where ndimage does not.
    out = correlate(arr, [[1], [-2], [1]], mode="same", boundary=boundary, workers=workers)
    out += correlate(arr, [[1, -2, 1]], mode="same", boundary=boundary, workers=workers)
    return out


# --------------------------------------------------------------------------
# Canny


def _gaussian_weights(sigma, truncate=4.0):
    """``scipy.ndimage``'s 1-D Gaussian: radius ``int(truncate*sigma + 0.5)``."""
    radius = int(truncate * float(sigma) + 0.5)
    if sigma == 0:
        return np.ones(1)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 / (sigma * sigma) * x * x)
    return w / w.sum()


def _inside_weight(n, w):
    """Sum of the weights that fall inside an axis of length ``n``, per sample."""
    r = len(w) // 2
    c = np.concatenate([[0.0], np.cumsum(w)])
    i = np.arange(n)
    lo = np.maximum(0, r - i)
    hi = np.minimum(len(w) - 1, r - i + n - 1)
    return c[hi + 1] - c[lo]


def _check_number(name, value, low=None, high=None):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if isinstance(value, (bool, np.bool_)) or not math.isfinite(v) or \
            (low is not None and v < low) or (high is not None and v > high):
        rng = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValueError(f"{name}={value!r} is not valid; use a finite number {rng}")
    return v


def canny(image, sigma=1.0, low_threshold=None, high_threshold=None, *,
          mask=None, use_quantiles=False, workers=None, channel_axis=None,
          nan_policy="propagate"):
    """Canny edge detector, matching ``skimage.feature.canny``.

    Steps: Gaussian smoothing (zero padding, renormalised by the weight
    inside the image), Sobel gradients (``'symm'`` boundary), non-maximum
    suppression with linear interpolation between the two neighbours that
    bracket the gradient direction, and hysteresis: pixels above
    ``low_threshold`` are kept when 8-connected to a pixel above
    ``high_threshold``.  The one-pixel border is never an edge.

    Parameters
    ----------
    image : array_like, 2-D
        Grey image of any real dtype.  Integer images are scaled as
        ``skimage.img_as_float`` does (unsigned to [0, 1] by the dtype's
        maximum, signed to [-1, 1]); float images are used as they are.
    sigma : float, optional
        Standard deviation of the Gaussian (default 1.0; 0 skips
        smoothing).  The kernel is truncated at ``4 * sigma``.
    low_threshold, high_threshold : float, optional
        Hysteresis thresholds on the Sobel magnitude of the smoothed image.
        In the units of the image's dtype (e.g. 0..255 for uint8, as in
        scikit-image); by default 10% and 20% of the dtype's maximum (0.1
        and 0.2 for float images).  With ``use_quantiles=True`` they are
        quantiles in [0, 1] of the magnitude instead.
    mask : array_like of bool, optional
        Where to look for edges, as in scikit-image: pixels outside the mask
        do not contribute to the smoothing (it is renormalised by the mask's
        own smoothed weight), and edges are only reported where the mask,
        eroded by one pixel (8-connectivity, border counted as outside), is
        True.  Default: the whole image.
    use_quantiles : bool, optional
        Interpret the thresholds as quantiles (default False).
    workers : int, optional
        Threads to use (default: see :func:`imfilt.set_workers`).
    channel_axis : int, optional
        The colour axis of a 3-D image: each channel gets its own edge map
        (thresholds and quantiles per channel, ``mask`` shared), stacked
        along that axis.  A 3-D image whose last axis has length 3 or 4
        without it raises ``ValueError`` (it looks like a colour image).
    nan_policy : {'propagate', 'omit', 'raise'}, optional
        ``'propagate'`` (default): NaN and inf spread through the smoothing.
        ``'raise'``: ``ValueError`` when the image holds NaN or inf.
        ``'omit'``: non-finite pixels are treated as outside ``mask``: they
        do not contribute to the smoothing (renormalised by the finite
        weight, exactly ``nan_policy='omit'`` of the Gaussian) and are
        never edges, nor are their neighbours.

    Returns
    -------
    edges : ndarray of bool, 2-D
        True on edge pixels.

    Raises
    ------
    ValueError
        A non-2-D image, a ``mask`` of another shape, a negative ``sigma``,
        thresholds out of range or ``low_threshold > high_threshold``, or a
        bad ``workers``.
    TypeError
        A complex or non-numeric image, or non-numeric parameters.

    Notes
    -----
    Computation runs in float64 (float32 for float32 images), as in
    scikit-image; on its sample photographs the edge maps agree with
    ``skimage.feature.canny`` on well over 99% of edge pixels.

    Examples
    --------
    >>> import numpy as np
    >>> import imfilt
    >>> square = np.zeros((12, 12))
    >>> square[3:9, 3:9] = 1.0
    >>> edges = imfilt.canny(square, sigma=1.0)
    >>> edges.dtype, int(edges.sum())
    (dtype('bool'), 20)
    >>> edges[2:10, 2:10].astype(int)
    array([[0, 0, 0, 0, 0, 0, 0, 0],
           [0, 1, 1, 1, 1, 1, 1, 0],
           [0, 1, 0, 0, 0, 0, 1, 0],
           [0, 1, 0, 0, 0, 0, 1, 0],
           [0, 1, 0, 0, 0, 0, 1, 0],
           [0, 1, 0, 0, 0, 0, 1, 0],
           [0, 1, 1, 1, 1, 1, 1, 0],
           [0, 0, 0, 0, 0, 0, 0, 0]])
    """
    if channel_axis is not None:
        return _over_channels(canny, image, channel_axis, sigma, low_threshold,
                              high_threshold, mask=mask, use_quantiles=use_quantiles,
                              workers=workers, nan_policy=nan_policy)
    arr = _as_image(image)
    sigma = _check_number("sigma", sigma, low=0.0)
    if not isinstance(use_quantiles, (bool, np.bool_)):
        raise TypeError(f"use_quantiles must be True or False, got {use_quantiles!r}")
    nthreads = resolve_workers(workers)

    if arr.dtype.kind in "iu":
        dtype_max = float(np.iinfo(arr.dtype).max)
    else:
        dtype_max = 1.0
    thresholds = []
    for name, value, default in (("low_threshold", low_threshold, 0.1),
                                 ("high_threshold", high_threshold, 0.2)):
        if value is None:
            thresholds.append(default)
        elif use_quantiles:
            thresholds.append(_check_number(name, value, low=0.0, high=1.0))
        else:
            thresholds.append(_check_number(name, value, low=0.0) / dtype_max)
    low, high = thresholds
    if high < low:
        raise ValueError(
            f"low_threshold={low_threshold!r} is above high_threshold={high_threshold!r}; "
            "the low threshold must not exceed the high one"
        )

    work = np.float32 if arr.dtype == np.float32 else np.float64
    if arr.dtype.kind in "iu":
        f, factor = _skimage_prescale(arr)
        f = np.asarray(f, dtype=work) * work(factor) if factor != 1.0 else f.astype(work)
    else:
        f = np.ascontiguousarray(arr, dtype=work)
    n0, n1 = f.shape
    if mask is not None:
        mask = as_array(mask, "mask")  # TypeError for str/object masks, not garbage
        if mask.dtype.kind == "c":
            raise TypeError(f"mask has dtype {mask.dtype}; use a boolean array")
        if mask.shape != f.shape:
            raise ValueError(f"mask must have the image's shape {f.shape}; got shape "
                             f"{mask.shape}")
        mask = mask.astype(bool)
    if omit_wanted(arr, nan_policy):
        finite = np.isfinite(f)
        mask = finite if mask is None else mask & finite
    if f.size == 0:
        return np.zeros(f.shape, dtype=bool)

    # Gaussian with zero padding, divided by the weight that fell inside the
    # image (or mask): scikit-image's "bleed-over" correction.
    w = _gaussian_weights(sigma).astype(work)

    def gaussian(a):
        a = correlate(a, w[:, None], mode="same", boundary="fill", workers=nthreads)
        return correlate(a, w[None, :], mode="same", boundary="fill", workers=nthreads)

    keep = np.zeros((n0, n1), dtype=np.uint8)
    if mask is None:
        smooth = gaussian(f)
        inside = np.multiply.outer(_inside_weight(n0, w), _inside_weight(n1, w))
        keep[1:-1, 1:-1] = 1
    else:
        smooth = gaussian(np.where(mask, f, work(0)))
        inside = gaussian(mask.astype(work))
        # Erode by one pixel, 8-connected, outside the image counting as False.
        eroded = mask.copy()
        padded = np.pad(mask, 1, constant_values=False)
        for di in (0, 1, 2):
            for dj in (0, 1, 2):
                eroded &= padded[di:di + n0, dj:dj + n1]
        keep[eroded] = 1
    smooth /= inside.astype(work) + np.finfo(work).eps

    g0, g1, mag = _sep3(np.ascontiguousarray(smooth), np.dtype(work), 1.0, 2.0, "symm",
                        _G0 | _G1 | _MAG, 1.0, 1.0, nthreads)
    if use_quantiles:
        low, high = np.percentile(mag, [100.0 * low, 100.0 * high])
    thinned = np.empty_like(mag)
    ran_parallel(nthreads)
    _edges.nms_interp(g0, g1, mag, keep, thinned, float(low), nthreads)
    out = np.zeros((n0, n1), dtype=np.uint8)
    _edges.hysteresis(thinned, float(high), out, np.empty(n0 * n1, dtype=np.intp))
    return out.view(bool)
