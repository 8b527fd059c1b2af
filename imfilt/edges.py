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
from imfilt._docs import SNIPPETS, docfiller
from imfilt._geometry import (PLANES_HINT, channel_axis_index, check_channel_axis_type,
                              colour_error, looks_like_colour, over_channels)
from imfilt._kernels import _edges, _reuse
from imfilt._modes import boundary_index, canonical_boundary
from imfilt._nanpolicy import canonical_nan_policy, check_finite, omit_nonfinite, omit_wanted
from imfilt._threads import (check_fits_in_memory, interruptible_slices, min_parallel_work,
                             ran_parallel, resolve_workers)
from imfilt._validation import (ParameterTypeError, as_array, as_fillvalue, check_choice,
                                choice_error, result_dtypes)

__all__ = ["sobel", "scharr", "prewitt", "roberts", "laplace", "gradient",
           "EDGE_OPERATORS", "GRADIENT_OPERATORS", "eroded_mask"]

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

_G0, _G1, _MAG, _LAP = _edges.OUT_G0, _edges.OUT_G1, _edges.OUT_MAG, _edges.OUT_LAP

# dtypes the fused kernel reads directly; everything else is converted first.
_KERNEL_INPUTS = {np.dtype(t) for t in ("uint8", "uint16", "float32", "float64")}

_EDGE_DOCS = dict(
    edge_image="""\
image : array_like, 2-D (or 3-D with ``channel_axis``)
    Grey image of any real dtype (bool, integers, float16/32/64; any layout
    and byte order).""",
    axis="""\
axis : {None, 0, 1, -2, -1}, optional
    ``None`` (default) gives the gradient magnitude ``sqrt(g0**2 + g1**2)``
    (computed in the result's precision, as scikit-image does: float32
    derivatives beyond about 1.8e19, float64 ones beyond 1e154, give inf;
    Sobel apertures 5 and 7 take the squares in double, as ``hypot``,
    which does not overflow);
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
    ``'propagate'`` (default): IEEE arithmetic on every weight of the
    filter, as ``scipy.ndimage.sobel``'s passes compute: a NaN or inf
    reaches every output whose window holds it, under a zero weight too
    (``0 * inf`` is NaN, and infinities of both signs meet as NaN).
    ``scipy.ndimage.correlate``, OpenCV and scikit-image skip zero weights
    of the 2-D kernel, so they can give 0 or inf there where imfilt gives
    NaN; the equalities with them stated above hold for finite images.
    ``'raise'``: ``ValueError`` when the image holds NaN or inf.
    ``'omit'``: outputs whose window holds a non-finite sample under a
    non-zero weight are recomputed with those samples left out, as
    :func:`imfilt.correlate` with ``nan_policy='omit'`` does: derivative
    kernels sum to zero, so the finite part is rescaled by the absolute
    weight ``sum|w| / sum_finite|w|``; NaN where no finite sample meets a
    weight.  Outputs whose window holds no non-finite sample are
    bit-identical to 'propagate' (except a 3x3 magnitude that 'propagate'
    overflows to inf: 'omit' computes it without overflow); one whose
    non-finite samples all lie under zero weights is the finite sum (where
    'propagate' gives NaN).""",
    edge_mask="""\
mask : array_like of bool, 2-D, optional
    Where the result is wanted, as in ``skimage.filters`` (``sobel``,
    ``scharr``, ``prewitt``, ``roberts``, ``laplace``, ``farid``): outside
    the mask eroded by a 3x3 square (8-connectivity, outside the image
    counted as False, so the one-pixel border is always outside) the
    result is 0, so no output is computed from a pixel outside the mask.
    Non-zero values count as True; it must have the image's 2-D shape
    (shared by every channel).  scikit-image multiplies by the eroded mask,
    which keeps NaN (and turns inf into NaN) there; imfilt writes 0.
    ``None`` (default): the whole image.""",
    edge_fillvalue="""\
fillvalue : scalar, optional
    Value outside the image for ``boundary='fill'`` (default 0), in the
    image's units (with ``convention='skimage'``, in those of the scaled
    image, as scikit-image's ``cval``).  The image is padded with it once
    (the :func:`numpy.pad` definition, as for :func:`imfilt.correlate`):
    equal to ``scipy.ndimage.correlate`` with the full 2-D kernel and
    ``mode='constant', cval=fillvalue``; ``scipy.ndimage.sobel`` and
    ``prewitt`` differ at the border for a non-zero ``cval``, because they
    pad each of their two 1-D passes with it.""",
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
    SNIPPETS["boundary"], _EDGE_DOCS["edge_fillvalue"], _EDGE_DOCS["edge_mask"],
    _EDGE_DOCS["convention"], SNIPPETS["workers"],
    _EDGE_DOCS["edge_nan_policy"], _EDGE_DOCS["edge_channel_axis"], "",
    "Returns", "-------", _EDGE_DOCS["edge_returns"], "",
    "Raises", "------", _EDGE_DOCS["edge_raises"], "",
    "See Also", "--------",
    "sobel, scharr, prewitt : the derivative filters (other smoothing weights).",
    "gradient : magnitude and direction together."])
_EDGE_DOCS["sobel_sections"] = _EDGE_DOCS["derivative_sections"].replace(
    _EDGE_DOCS["axis"], _EDGE_DOCS["axis"] + """
size : {3, 5, 7}, optional
    Aperture (default 3).  5 and 7 use OpenCV's ``cv2.getDerivKernels``
    weights, derivative ``[-1, -2, 0, 2, 1]`` and smoothing
    ``[1, 4, 6, 4, 1]`` (size 5), ``[-1, -4, -5, 0, 5, 4, 1]`` and
    ``[1, 6, 15, 20, 15, 6, 1]`` (size 7): with ``convention='ndimage'``
    the unnormalised integer kernels, equal to ``cv2.Sobel(ksize=size)``
    (same boundary), the magnitude ``sqrt(g0**2 + g1**2)`` as for size 3.
    ``convention='skimage'`` scales them as scikit-image scales size 3:
    the smoothing to sum 1 and the derivative to answer a unit ramp with 2
    (kernels divided by 64 and 1024), the magnitude by ``sqrt(2)``, so
    every size gives the same value on a linear ramp.  Wider apertures run
    as two 1-D passes, as OpenCV's, not the fused 3x3 kernel.""", 1)
_EDGE_DOCS["edge_tail"] = "\n".join([
    _EDGE_DOCS["edge_fillvalue"], _EDGE_DOCS["edge_mask"], SNIPPETS["workers"], _EDGE_DOCS["edge_nan_policy"], _EDGE_DOCS["edge_channel_axis"], "",
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
    fill: float = 0.0
    mask: object = None      # the eroded mask (2-D bool) or None


def _parse(boundary, workers, nan_policy, convention="ndimage", fillvalue=0, mask=None):
    boundary = canonical_boundary(boundary)
    policy = canonical_nan_policy(nan_policy)
    fill = float(as_fillvalue(fillvalue, np.dtype(np.float64)))
    if policy == "raise":
        check_finite(np.zeros(1), np.zeros(1), boundary, fill)
    return _EdgeCall(boundary=boundary, nthreads=resolve_workers(workers), nan_policy=policy,
                     convention=check_choice("convention", convention, SCALINGS),
                     fill=fill, mask=None if mask is None else eroded_mask(mask))


def eroded_mask(mask):
    """``mask`` (validated, non-zero = True) eroded by a 3x3 square, outside = False."""
    mask = as_array(mask, "mask")      # TypeError for str/object masks, not garbage
    if mask.dtype.kind == "c":
        raise TypeError(f"mask has dtype {mask.dtype}; use a boolean array")
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (the image's rows and columns); got shape "
                         f"{mask.shape}")
    check_fits_in_memory("mask", None, "a boolean copy", mask.shape, 3,   # (+ pad, erosion)
                         given=f"mask of shape {mask.shape}")
    mask = mask.astype(bool)
    n0, n1 = mask.shape
    eroded = mask.copy()
    padded = np.pad(mask, 1, constant_values=False)
    for di in (0, 1, 2):
        for dj in (0, 1, 2):
            eroded &= padded[di:di + n0, dj:dj + n1]
    return eroded


def _masked(call, *results):
    """Zero ``results`` outside the eroded mask (a ValueError for a mask of another shape)."""
    if call.mask is None:
        return results if len(results) > 1 else results[0]
    shape = results[0].shape
    if call.mask.shape != shape:
        raise ValueError(f"mask must have the image's shape {shape}; got shape "
                         f"{call.mask.shape}")
    out = []
    for r in results:
        r = r if r.flags.writeable else r.copy()
        r[~call.mask] = 0
        out.append(r)
    return tuple(out) if len(out) > 1 else out[0]


def _per_channel(func, image, channel_axis, *args):
    """``func(plane, *args)`` on a 2-D image, or on each channel of a 3-D one."""
    check_channel_axis_type(channel_axis)
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
        raise colour_error("edge filters", arr.shape, PLANES_HINT)
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


def _int_choice_error(name, value, choices):
    """``choice_error`` for an int parameter: a ``ParameterTypeError`` (also
    a ValueError) when ``value`` is not an int at all."""
    wrong_type = isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer))
    return choice_error(name, value, choices, exc=ParameterTypeError if wrong_type else ValueError)


def _check_axis(axis):
    if axis is None:
        return None
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, (bool, np.bool_)):
        if -2 <= int(axis) <= 1:
            return int(axis) % 2
    raise _int_choice_error("axis", axis,
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


def _skimage_input(arr, call):
    """``skimage_prescale`` for the correlation path: ``(array, factor)``.

    A non-zero fill value is in the scaled image's units, so the image is
    then scaled before it is padded (factor 1).
    """
    arr, scale = skimage_prescale(arr)
    if scale != 1.0 and call.boundary == "fill" and call.fill != 0:
        arr, scale = arr * result_dtypes(arr.dtype, np.dtype(np.float32))[1].type(scale), 1.0
    return arr, scale


def _magnitude(c0, c1, scale, call):
    """``sqrt(c0**2 + c1**2) * scale`` of two derivatives of one dtype (C
    contiguous, fresh: the result is written into ``c0``).  Like
    ``numpy.hypot`` (never overflows; inf with NaN gives inf), in one
    threaded pass (``_edges.magnitude_pair``)."""
    nthreads = call.nthreads
    c0, c1 = np.ascontiguousarray(c0), np.ascontiguousarray(c1)
    scratch = _reuse.empty((max(nthreads, 1), _edges.MAG_CHUNK), dtype=np.float64)
    ran_parallel(_edges.magnitude_pair(c0.reshape(-1), c1.reshape(-1), c0.reshape(-1),
                                       scale, scratch, nthreads, min_parallel_work()))
    return c0


def _omit_correlator(call):
    """'same' correlation with nan_policy='omit' bound to the parsed call."""
    spec = _linear.correlate_spec(call.boundary, call.nthreads, method="direct",
                                  nan_policy="omit")
    return lambda image, kernel: _linear.apply(image, kernel, call.fill, None, None, spec)


def _correlate_same(arr, kernel, call, method="auto"):
    """'same' correlation of ``arr`` with ``kernel`` under the parsed call
    (an empty image gives an empty result, as the fused derivatives do)."""
    if arr.size == 0:
        return np.zeros(arr.shape, dtype=_kernel_input(arr)[1])
    spec = _linear.correlate_spec(call.boundary, call.nthreads, method=method)
    return _linear.apply(arr, kernel, call.fill, None, None, spec)


# --------------------------------------------------------------------------
# the generic fused derivative pair


#: Estimated seconds per pixel of the fused derivative kernel on one thread:
#: the first guess when a long call is cut into interruptible pieces.
_SECONDS_PER_PIXEL = 4e-9


def sep3(x, out_dtype, a, b, boundary, what, axis_scale, mag_scale, nthreads):
    """Run the fused kernel; return ``(g0, g1, mag)`` with None where unwanted
    (the Laplacian, ``what=_LAP``, comes in the place of ``mag``)."""
    n0, n1 = x.shape
    outs = [_reuse.empty((n0, n1), dtype=out_dtype) if what & flag else None
            for flag in (_G0, _G1, _MAG | _LAP)]
    if n0 == 0 or n1 == 0:
        return tuple(outs)
    dummy = np.empty((1, 1), dtype=out_dtype)
    nthreads = max(1, min(nthreads, n0))
    scratch = np.empty((nthreads, 4 * (min(n1, _edges.COLUMN_BLOCK) + 2)), dtype=out_dtype)
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
    """The outputs ``what`` of one operator on a validated 2-D image
    (``operator`` None with ``what=_LAP``: the 4-neighbour Laplacian)."""
    a, b = _SMOOTHING[operator] if operator is not None else (0.0, 0.0)
    axis_scale = 1.0
    if call.convention == "skimage":
        arr, axis_scale = skimage_prescale(arr)
    x, out_dtype = _kernel_input(arr)
    padded = call.boundary == "fill" and call.fill != 0   # NaN too
    if padded:
        # The fused kernel pads with zeros: pad with the fill value here (in
        # the scaled image's units), filter, and crop.
        x = x.astype(out_dtype)
        if axis_scale != 1.0:
            x *= out_dtype.type(axis_scale)
            axis_scale = 1.0
        x = np.pad(x, 1, constant_values=call.fill)
    if call.convention == "skimage":
        axis_scale /= (2 * a + b)
    mag_scale = axis_scale / math.sqrt(2.0) if call.convention == "skimage" else axis_scale
    outs = sep3(x, out_dtype, a, b, call.boundary, what, axis_scale, mag_scale, call.nthreads)
    if padded:
        outs = tuple(None if o is None else np.ascontiguousarray(o[1:-1, 1:-1]) for o in outs)
    return outs


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
    omit = omit_wanted(arr, call.nan_policy, call.boundary, call.fill)
    what = _MAG if axis is None else (_G0 if axis == 0 else _G1)
    g0, g1, mag = _derivative3(arr, operator, what, call)
    out = mag if mag is not None else (g0 if g0 is not None else g1)
    if omit:
        k0, k1, scale, mag_scale = _omit_kernels(operator, call.convention)
        if axis is None:
            kernels, combine = [k0, k1], lambda c0, c1: (np.hypot(c0, c1) * mag_scale,)
        else:
            kernels, combine = [(k0, k1)[axis]], lambda c: (c * scale,)
        out, = omit_nonfinite((out,), _omit_source(arr, call), kernels, combine,
                              _omit_correlator(call))
    return _masked(call, out)


def _omit_source(arr, call):
    """The image the 'omit' correlations of the fused derivatives read:
    with ``convention='skimage'`` an integer image (here only with a NaN or
    inf fill value) is scaled first, as the fused path scaled it."""
    return _skimage_input(arr, call)[0] if call.convention == "skimage" else arr


def _derivative_filter(operator, image, axis, boundary, convention, workers, channel_axis,
                       nan_policy, fillvalue=0, mask=None, size=3):
    """Sobel, Scharr and Prewitt: parse once, then each channel."""
    axis = _check_axis(axis)
    size = check_sobel_size(size)
    call = _parse(boundary, workers, nan_policy, convention, fillvalue, mask)
    if size != 3:
        return _per_channel(_wide2d, image, channel_axis, size, axis, call)
    return _per_channel(_single2d, image, channel_axis, operator, axis, call)


#: OpenCV's ``getDerivKernels`` for the wider Sobel apertures: (derivative,
#: smoothing) weights, correlation form (the derivative rises along its axis).
_WIDE_SOBEL = {
    5: (np.array([-1.0, -2.0, 0.0, 2.0, 1.0]), np.array([1.0, 4.0, 6.0, 4.0, 1.0])),
    7: (np.array([-1.0, -4.0, -5.0, 0.0, 5.0, 4.0, 1.0]),
        np.array([1.0, 6.0, 15.0, 20.0, 15.0, 6.0, 1.0])),
}


def check_sobel_size(size):
    """The Sobel aperture: 3, 5 or 7 (a ValueError naming the choices)."""
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or \
            int(size) not in (3, 5, 7):
        raise _int_choice_error("size", size, "3, 5 or 7 (OpenCV's Sobel apertures)")
    return int(size)


def _wide2d(image, size, axis, call):
    """Sobel of aperture 5 or 7: the correlation with OpenCV's weights, as
    two 1-D passes."""
    arr = as_image(image)
    if arr.size == 0:
        return _masked(call, np.zeros(arr.shape, dtype=_kernel_input(arr)[1]))
    deriv, smooth = _WIDE_SOBEL[size]
    scale = 1.0
    if call.convention == "skimage":
        arr, scale = _skimage_input(arr, call)
        # Smoothing normalised to sum 1 and the derivative scaled to answer a
        # ramp as the 3-tap one does (2 per unit slope): skimage's size-3 scaling.
        scale /= smooth.sum() * (deriv @ np.arange(size) / 2.0)
    omit = omit_wanted(arr, call.nan_policy, call.boundary, call.fill)
    k0 = np.outer(deriv, smooth)
    kernels = [k0, k0.T] if axis is None else [(k0, k0.T)[axis]]
    mag_scale = scale / math.sqrt(2.0) if call.convention == "skimage" else scale
    # As OpenCV computes it: a pass of each 1-D factor (float32 sums of
    # 16-bit images stay exact through the smoothing pass, so a flat image
    # gives exactly 0, where the 49 products of one 2-D sum do not).
    parts = [_correlate_same(arr, k, call, method="separable") for k in kernels]
    if axis is None:
        out = _magnitude(*parts, mag_scale, call)
        combine = lambda c0, c1: (np.hypot(c0, c1) * mag_scale,)  # noqa: E731  ('omit')
    elif scale != 1.0:
        combine = lambda c: (c * scale,)  # noqa: E731
    else:
        combine = lambda c: (c,)  # noqa: E731
    if axis is not None:
        out, = combine(*parts)
        out = np.asarray(out, dtype=parts[0].dtype)
    if omit:
        out, = omit_nonfinite((out,), arr, kernels, combine, _omit_correlator(call))
    return _masked(call, out)


# --------------------------------------------------------------------------
# public filters
#
# sobel, scharr and prewitt are deliberately three thin fronts that differ in
# data only (their docstring and the operator name) over _derivative_filter.


@_fill_docs
def sobel(image, axis=None, *, size=3, boundary="symm", fillvalue=0, mask=None,
          convention="ndimage", workers=None, channel_axis=None, nan_policy="propagate"):
    """Sobel derivative or gradient magnitude of a 2-D image.

    Correlation kernel along axis 0: ``[-1, 0, 1]^T (x) [1, 2, 1]``, i.e.
    ``[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]``; along axis 1 its transpose.
    Equal to ``scipy.ndimage.sobel(image, axis, mode='reflect')`` and to
    OpenCV's 3x3 ``cv2.Sobel`` (with ``BORDER_REFLECT`` for the default
    boundary); ``convention='skimage'`` equals ``skimage.filters.sobel``.

    The magnitude is computed in one fused pass (the image is read once,
    the result written once) by a parallel compiled kernel.

    %(sobel_sections)s

    %(examples)s
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
    >>> ramp = np.tile(np.arange(9.0), (9, 1))
    >>> float(imfilt.sobel(ramp, axis=1, size=5)[4, 4]), float(imfilt.sobel(ramp, axis=1, size=7)[4, 4])
    (128.0, 2048.0)
    >>> imfilt.sobel(step, mask=np.ones((4, 6), bool))[:, 2]      # the border is outside
    array([ 0., 40., 40.,  0.], dtype=float32)
    """
    return _derivative_filter("sobel", image, axis, boundary, convention, workers,
                              channel_axis, nan_policy, fillvalue, mask, size)


@_fill_docs
def scharr(image, axis=None, *, boundary="symm", fillvalue=0, mask=None,
           convention="ndimage", workers=None, channel_axis=None, nan_policy="propagate"):
    """Scharr derivative or gradient magnitude of a 2-D image.

    Correlation kernel along axis 0: ``[-1, 0, 1]^T (x) [3, 10, 3]``; along
    axis 1 its transpose.  Equal to OpenCV's ``cv2.Scharr`` and to
    ``scipy.ndimage.correlate`` with that kernel; ``convention='skimage'``
    (kernel divided by 16, magnitude by ``sqrt(2)``) equals
    ``skimage.filters.scharr``.  Scharr's weights make the gradient
    direction more rotation-invariant than Sobel's.

    %(derivative_sections)s

    %(examples)s
    >>> ramp = np.tile(np.arange(5, dtype=np.float64), (3, 1))
    >>> imfilt.scharr(ramp, axis=1)
    array([[16., 32., 32., 32., 16.],
           [16., 32., 32., 32., 16.],
           [16., 32., 32., 32., 16.]])
    """
    return _derivative_filter("scharr", image, axis, boundary, convention, workers,
                              channel_axis, nan_policy, fillvalue, mask)


@_fill_docs
def prewitt(image, axis=None, *, boundary="symm", fillvalue=0, mask=None,
            convention="ndimage", workers=None, channel_axis=None, nan_policy="propagate"):
    """Prewitt derivative or gradient magnitude of a 2-D image.

    Equal to ``scipy.ndimage.prewitt(image, axis, mode='reflect')``: the
    correlation kernel along axis 0 is ``[-1, 0, 1]^T (x) [1, 1, 1]``, along
    axis 1 its transpose; ``convention='skimage'`` (kernel divided by 3,
    magnitude by ``sqrt(2)``) equals ``skimage.filters.prewitt``.

    %(derivative_sections)s

    %(examples)s
    >>> ramp = np.tile(np.arange(5, dtype=np.float32), (3, 1)).T   # rows 0..4
    >>> imfilt.prewitt(ramp, axis=0)[:, 0]
    array([3., 6., 6., 6., 3.], dtype=float32)
    """
    return _derivative_filter("prewitt", image, axis, boundary, convention, workers,
                              channel_axis, nan_policy, fillvalue, mask)


@_fill_docs
def gradient(image, operator="sobel", *, boundary="symm", fillvalue=0, mask=None,
             convention="ndimage", workers=None, channel_axis=None, nan_policy="propagate"):
    """Gradient magnitude and direction of a 2-D image.

    Both derivatives and the magnitude come from one fused pass of the
    compiled kernel; the direction is ``arctan2(g0, g1)``.

    Parameters
    ----------
    %(edge_image)s
    operator : {'sobel', 'scharr', 'prewitt'}, optional
        The derivative pair (default ``'sobel'``).
    %(boundary)s
    %(edge_fillvalue)s
    %(edge_mask)s
    convention : {'ndimage', 'skimage'}, optional
        Scaling of the magnitude, as for :func:`sobel`; the direction does
        not depend on it.
    %(workers)s
    %(edge_nan_policy)s
    %(edge_channel_axis)s

    Returns
    -------
    magnitude : ndarray, 2-D
        ``sqrt(g0**2 + g1**2)`` (float32 or float64 as for :func:`sobel`);
        with ``mask``, 0 outside the eroded mask, as the direction.
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

    %(examples)s
    >>> step = np.zeros((5, 5))
    >>> step[3:, :] = 1.0          # brighter below: gradient points down
    >>> magnitude, direction = imfilt.gradient(step)
    >>> float(magnitude[2, 2]), round(float(direction[2, 2]), 4)
    (4.0, 1.5708)
    """
    operator = check_choice("operator", operator, GRADIENT_OPERATORS)
    call = _parse(boundary, workers, nan_policy, convention, fillvalue, mask)
    return _per_channel(_gradient2d, image, channel_axis, operator, call)


def _gradient2d(image, operator, call):
    arr = as_image(image)
    omit = omit_wanted(arr, call.nan_policy, call.boundary, call.fill)
    g0, g1, mag = _derivative3(arr, operator, _G0 | _G1 | _MAG, call)
    if omit:
        k0, k1, scale, mag_scale = _omit_kernels(operator, call.convention)
        g0, g1, mag = omit_nonfinite(
            (g0, g1, mag), _omit_source(arr, call), [k0, k1],
            lambda c0, c1: (c0 * scale, c1 * scale, np.hypot(c0, c1) * mag_scale),
            _omit_correlator(call))
    return _masked(call, mag, np.arctan2(g0, g1))


_ROBERTS_KERNELS = (np.array([[-1.0, 0.0], [0.0, 1.0]]), np.array([[0.0, -1.0], [1.0, 0.0]]))


@_fill_docs
def roberts(image, *, boundary="symm", fillvalue=0, mask=None, convention="ndimage",
            workers=None, channel_axis=None, nan_policy="propagate"):
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

    %(examples)s
    >>> image = np.zeros((4, 4), dtype=np.float32)
    >>> image[2:, 2:] = 1
    >>> imfilt.roberts(image)
    array([[0.       , 0.       , 0.       , 0.       ],
           [0.       , 1.       , 1.4142135, 1.4142135],
           [0.       , 1.4142135, 0.       , 0.       ],
           [0.       , 1.4142135, 0.       , 0.       ]], dtype=float32)
    """
    call = _parse(boundary, workers, nan_policy, convention, fillvalue, mask)
    return _per_channel(_roberts2d, image, channel_axis, call)


def _roberts2d(image, call):
    arr = as_image(image)
    scale = 1.0
    if call.convention == "skimage":
        arr, scale = _skimage_input(arr, call)
        scale /= math.sqrt(2.0)
    omit = omit_wanted(arr, call.nan_policy, call.boundary, call.fill)
    pos = _correlate_same(arr, _ROBERTS_KERNELS[0], call)
    neg = _correlate_same(arr, _ROBERTS_KERNELS[1], call)
    out = _magnitude(pos, neg, scale, call)
    if omit:
        out, = omit_nonfinite((out,), arr, _ROBERTS_KERNELS,
                              lambda p, q: (np.hypot(p, q) * scale,), _omit_correlator(call))
    return _masked(call, out)


_LAPLACE_KERNELS = {
    4: np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64),
    8: np.array([[1, 1, 1], [1, -8, 1], [1, 1, 1]], dtype=np.float64),
}


@_fill_docs
def laplace(image, neighbors=4, *, boundary="symm", fillvalue=0, mask=None, workers=None,
            channel_axis=None, nan_policy="propagate"):
    """Discrete Laplacian of a 2-D image.

    Parameters
    ----------
    %(edge_image)s
    neighbors : {4, 8}, optional
        ``4`` (default): ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``, equal to
        ``scipy.ndimage.laplace(image, mode='reflect')`` and OpenCV's
        ``cv2.Laplacian(ksize=1)``; scikit-image's ``laplace`` has the
        opposite sign.  It is computed as ndimage computes it -- each axis'
        second difference in float64, rounded to the output type, the two
        then added -- so float32 and float64 results are ndimage's bits
        (NaN payloads aside).
        ``8``: ``[[1, 1, 1], [1, -8, 1], [1, 1, 1]]``, summed in the output
        type: for float32 within a factor 8 of its largest value
        (``|x| > 4e37``) ``-8 * x`` can overflow to inf; filter such images
        as float64.
    %(boundary)s
    %(edge_tail)s

    %(examples)s
    >>> dot = np.zeros((3, 3), dtype=np.uint8)
    >>> dot[1, 1] = 1
    >>> imfilt.laplace(dot)
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]], dtype=float32)
    >>> imfilt.laplace(dot, neighbors=8)[1, 1]
    np.float32(-8.0)
    """
    if isinstance(neighbors, (bool, np.bool_)) or not isinstance(neighbors, (int, np.integer)) \
            or int(neighbors) not in _LAPLACE_KERNELS:
        raise _int_choice_error("neighbors", neighbors, "4 or 8")
    call = _parse(boundary, workers, nan_policy, fillvalue=fillvalue, mask=mask)
    return _per_channel(_laplace2d, image, channel_axis, int(neighbors), call)


def _laplace2d(image, neighbors, call):
    arr = as_image(image)
    omit = omit_wanted(arr, call.nan_policy, call.boundary, call.fill)
    if neighbors == 8:
        out = _correlate_same(arr, _LAPLACE_KERNELS[8], call)
    else:
        # Two 1-D second differences, summed, exactly as scipy.ndimage.laplace
        # (its bits, in one pass of the fused kernel): the 3x3 form would also
        # multiply its zero corners, spreading a NaN or inf diagonally where
        # ndimage does not.
        _, _, out = _derivative3(arr, None, _LAP, call)
    if omit:
        out, = omit_nonfinite((out,), arr, [_LAPLACE_KERNELS[neighbors]], lambda c: (c,),
                              _omit_correlator(call))
    return _masked(call, out)
