"""The Canny edge detector, matching ``skimage.feature.canny``.

Gaussian smoothing (the linear filter pipeline), the fused Sobel kernel of
:mod:`imfilt.edges`, then non-maximum suppression and hysteresis in the
private kernels of ``imfilt._kernels._edges``.
"""

import math

import numpy as np

from imfilt import _linear
from imfilt._docs import docfiller
from imfilt._geometry import channel_axis_index, check_channel_axis_type, over_channels
from imfilt._kernels import _edges
from imfilt._modes import canonical_boundary
from imfilt._nanpolicy import canonical_nan_policy, omit_wanted
from imfilt._threads import (interruptible_slices, min_parallel_work, ran_parallel,
                             resolve_workers)
from imfilt._validation import as_array, as_fillvalue, as_real, gaussian_radius
from imfilt.edges import as_image, eroded_mask, sep3, skimage_prescale

__all__ = ["canny"]


def _gaussian_weights(sigma, truncate=4.0):
    """``scipy.ndimage``'s 1-D Gaussian: radius ``int(truncate*sigma + 0.5)``."""
    radius = gaussian_radius("sigma", sigma, truncate)
    if radius == 0:     # (sigma below 1/8: one tap; sigma**2 may underflow to 0)
        return np.ones(1)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 / (sigma * sigma) * x * x)
    return w / w.sum()


#: Estimated seconds per pixel of a NumPy pass on a busy machine (the first
#: guess when a long pass is cut into interruptible pieces).
_SECONDS_PER_VALUE = 2e-8


def _inside_weight(n, w):
    """Sum of the weights that fall inside an axis of length ``n``, per sample."""
    r = len(w) // 2
    c = np.concatenate([[0.0], np.cumsum(w)])
    i = np.arange(n)
    lo = np.maximum(0, r - i)
    hi = np.minimum(len(w) - 1, r - i + n - 1)
    return c[hi + 1] - c[lo]


@docfiller
def canny(image, sigma=1.0, low_threshold=None, high_threshold=None, *,
          mask=None, use_quantiles=False, boundary="fill", fillvalue=0, workers=None,
          channel_axis=None, nan_policy="propagate"):
    """Canny edge detector, matching ``skimage.feature.canny``.

    Steps: Gaussian smoothing (by default zero padding, renormalised by the
    weight inside the image), Sobel gradients (``'symm'`` boundary), non-maximum
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
    boundary : str, optional
        How the Gaussian smoothing extends the image, scikit-image's
        ``mode`` (imfilt's names: ``'fill'`` is its ``'constant'``,
        ``'symm'`` its ``'reflect'``, ``'reflect'`` its ``'mirror'``,
        ``'edge'`` its ``'nearest'``, ``'wrap'``).  Default ``'fill'``,
        scikit-image's default.  As there, each of the two 1-D Gaussian
        passes is padded (with ``fillvalue`` for ``'fill'``), and the
        smoothed image is divided by the smoothed ones image (the weight
        inside the image) only for ``'fill'`` or when a ``mask`` is given.
        The Sobel stage always uses ``'symm'``, as scikit-image.
    fillvalue : scalar, optional
        The value outside the image for ``boundary='fill'`` (default 0),
        scikit-image's ``cval``, in the units of the scaled image (0..1
        for unsigned integers).
    %(workers)s
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
    check_channel_axis_type(channel_axis)
    if channel_axis is not None:
        arr = as_array(image, "image")
        if arr.ndim != 3:
            raise ValueError(
                f"channel_axis={channel_axis!r} needs a 3-D image (rows, columns, channels "
                f"in some order); got image.ndim={arr.ndim} (shape {arr.shape})"
            )
        return over_channels(
            lambda plane: canny(plane, sigma, low_threshold, high_threshold, mask=mask,
                                use_quantiles=use_quantiles, boundary=boundary,
                                fillvalue=fillvalue, workers=workers, nan_policy=nan_policy),
            arr, channel_axis_index(channel_axis, 3))
    arr = as_image(image)
    sigma = as_real("sigma", sigma, low=0.0)
    gaussian_radius("sigma", sigma)    # refused now, before any work
    if not isinstance(use_quantiles, (bool, np.bool_)):
        raise TypeError(f"use_quantiles must be True or False, got {use_quantiles!r}")
    nthreads = resolve_workers(workers)
    policy = canonical_nan_policy(nan_policy)
    boundary = canonical_boundary(boundary)
    fill = float(as_fillvalue(fillvalue, np.dtype(np.float64)))
    if policy == "raise" and boundary == "fill" and not math.isfinite(fill):
        raise ValueError(f"fillvalue={fillvalue!r} is not finite and nan_policy='raise'; use "
                         "a finite fillvalue")

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
            thresholds.append(as_real(name, value, low=0.0, high=1.0))
        else:
            thresholds.append(as_real(name, value, low=0.0) / dtype_max)
    low, high = thresholds
    if high < low:
        # (a default in the caller's units: a share of the dtype's maximum)
        scale = 1.0 if use_quantiles else dtype_max
        said = [f"{name}={given!r}" if given is not None else
                f"{name} (default {default * scale:g})"
                for name, given, default in (("low_threshold", low_threshold, 0.1),
                                             ("high_threshold", high_threshold, 0.2))]
        raise ValueError(f"{said[0]} is above {said[1]}; the low threshold must not exceed "
                         "the high one")

    work = np.float32 if arr.dtype == np.float32 else np.float64
    if arr.dtype.kind in "iu":
        f, factor = skimage_prescale(arr)
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
    if omit_wanted(arr, policy):
        finite = np.isfinite(f)
        mask = finite if mask is None else mask & finite
    if f.size == 0:
        return np.zeros(f.shape, dtype=bool)

    # Gaussian (two 1-D passes, each padded by the boundary rule), divided
    # by the weight that fell inside the image (or mask) for 'fill' or a
    # mask: scikit-image's "bleed-over" correction.
    w = _gaussian_weights(sigma).astype(work)

    spec = _linear.correlate_spec(boundary, nthreads)

    def gaussian(a):
        a = _linear.apply(a, w[:, None], fill, None, None, spec)
        return _linear.apply(a, w[None, :], fill, None, None, spec)

    keep = np.zeros((n0, n1), dtype=np.uint8)
    inside = None
    if mask is None:
        smooth = gaussian(f)
        if boundary == "fill" and fill == 0:
            w0, w1 = _inside_weight(n0, w), _inside_weight(n1, w)
            # The weight inside the image is an outer product: divided out in
            # interruptible bands of rows (same arithmetic as one pass).
            for _, _, r0, r1 in interruptible_slices(1, n0, n1 * _SECONDS_PER_VALUE):
                smooth[r0:r1] /= (np.multiply.outer(w0[r0:r1], w1).astype(work)
                                  + np.finfo(work).eps)
        elif boundary == "fill":
            inside = gaussian(np.ones((n0, n1), dtype=work))
        keep[1:-1, 1:-1] = 1
    else:
        smooth = gaussian(np.where(mask, f, work(0)))
        inside = gaussian(mask.astype(work))
        keep[eroded_mask(mask)] = 1
    if inside is not None:
        smooth /= inside.astype(work) + np.finfo(work).eps

    g0, g1, mag = sep3(np.ascontiguousarray(smooth), np.dtype(work), 1.0, 2.0, "symm",
                       _edges.OUT_G0 | _edges.OUT_G1 | _edges.OUT_MAG, 1.0, 1.0, nthreads)
    if use_quantiles:
        low, high = np.percentile(mag, [100.0 * low, 100.0 * high])
    thinned = np.empty_like(mag)
    for _, _, r0, r1 in interruptible_slices(1, n0, n1 * _SECONDS_PER_VALUE / nthreads,
                                             min_rows=16 * nthreads):
        # Bands of rows, so that Ctrl-C is handled between them.
        ran_parallel(_edges.nms_interp(g0, g1, mag, keep, thinned, float(low), nthreads,
                                       min_parallel_work(), r0, r1))
    out = np.zeros((n0, n1), dtype=np.uint8)
    _edges.hysteresis(thinned, float(high), out, np.empty(n0 * n1, dtype=np.intp))
    return out.view(bool)
