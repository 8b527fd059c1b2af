"""The bilateral filter: edge-preserving smoothing with OpenCV's definition.

For every pixel ``p`` the result is a weighted mean over a circular window
(offsets ``(dy, dx)`` with ``dy^2 + dx^2 <= radius^2``)::

    w(q) = exp(-(dy^2 + dx^2) / (2 sigma_space^2)) * exp(-D(p, q)^2 / (2 sigma_color^2))
    out(p) = sum_q w(q) image(q) / sum_q w(q)

with ``D`` the absolute difference for a grey image and the sum of the
absolute channel differences for a colour image (one weight for all its
channels), and ``radius = max(1, diameter // 2)``, or
``max(1, round(1.5 * sigma_space))`` when ``diameter <= 0``: the rules of
``cv2.bilateralFilter``, whose default border (``BORDER_REFLECT_101``) is
imfilt's ``boundary='reflect'``.
"""

import math

import numpy as np

from imfilt._kernels import _bilateral as _kb
from imfilt._kernels import _reuse
from imfilt._minmax import minmax
from imfilt._geometry import channel_axis_index, check_channel_axis_type
from imfilt._modes import boundary_index, canonical_boundary
from imfilt._threads import (interruptible_slices, min_parallel_work, ran_parallel,
                             resolve_workers)
from imfilt._cast import cast_output
from imfilt._validation import (as_array, as_fillvalue, as_real, check_choice, is_integer_like,
                                result_dtypes)

__all__ = ["bilateral"]

_NAN_POLICIES = ("propagate", "omit", "raise")

_LOG2E = 1.4426950408889634     # log2(e): exp(v) = 2^(v log2(e))


#: Largest window radius: a window of at most (2 * 2047 + 1)**2 = 2**24 offsets.
MAX_RADIUS = 2047


def bilateral_radius(diameter, sigma_space):
    """Window radius: ``max(1, diameter // 2)``, or from ``sigma_space`` when
    ``diameter <= 0``; ``ValueError`` beyond ``MAX_RADIUS``."""
    if diameter > 0:
        r = max(1, diameter // 2)
    else:
        r = max(1, int(round(1.5 * sigma_space)))
    if r > MAX_RADIUS:
        shown = r if r < 10**15 else format(float(r), ".3g")
        raise ValueError(
            f"diameter={diameter} with sigma_space={sigma_space!r} gives a window of radius "
            f"{shown}; the largest radius is {MAX_RADIUS} (diameter <= {2 * MAX_RADIUS + 1}, "
            f"or sigma_space <= {MAX_RADIUS / 1.5:.0f} with diameter <= 0)")
    return r


def window_offsets(radius):
    """``(dy, dx)`` of the circular window, row by row."""
    dy, dx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    keep = dy * dy + dx * dx <= radius * radius
    return dy[keep], dx[keep]


def _pad_planes(planes, r, boundary, fill):
    """Planes ``(C, H, W)`` extended by ``r`` on every side (fill where -1)."""
    C, H, W = planes.shape
    iy = boundary_index(H, r, r, boundary)
    ix = boundary_index(W, r, r, boundary)
    out = _reuse.empty((C, H + 2 * r, W + 2 * r), dtype=planes.dtype)
    # Interior rows: the image block, then the few border columns by index
    # (a fancy index over the whole image costs more than the filter's setup).
    out[:, r:r + H, r:r + W] = planes
    for cols in (slice(0, r), slice(r + W, None)):
        idx = ix[cols]
        out[:, r:r + H, cols] = planes[:, :, np.maximum(idx, 0)]
        if boundary == "fill":
            out[:, r:r + H, cols][:, :, idx < 0] = fill
    # Border rows: copies of padded interior rows (or the fill value).
    for rows in (slice(0, r), slice(r + H, None)):
        idx = iy[rows]
        out[:, rows, :] = out[:, r + np.maximum(idx, 0), :]
        if boundary == "fill":
            out[:, rows, :][:, idx < 0, :] = fill
    return out


def _pad_plane(plane, r, boundary, fill, nthreads):
    """One plane ``(H, W)`` extended as by :func:`_pad_planes`, rows copied in parallel."""
    H, W = plane.shape
    out = _reuse.empty((H + 2 * r, W + 2 * r), dtype=plane.dtype)
    ran_parallel(_kb.pad_plane(np.ascontiguousarray(plane), out, boundary_index(H, r, r, boundary),
                               boundary_index(W, r, r, boundary), fill, nthreads,
                               min_parallel_work()))
    return out


#: Floats of weight ring per thread the column tiles aim at (stays in L2).
_SYM_RING_FLOATS = 1 << 16


def _bilateral_sym(xp, res, r, dy, dx, sw, nthreads, **kind):
    """Grey uint8 or float32 plane: each pair's weight evaluated once (``_bilateral_sym.h``).

    ``sw``: the window's spatial weights (uint8, with ``cw=``) or base-2
    log-weights (float32, with ``cc2=`` and, for nan_policy='omit', ``xq=``).
    The half window is ``dy > 0`` or ``dy == 0, dx > 0``; column tiles are
    sized from the image width and the radius only, so the result does not
    depend on the thread count.  The kernel needs rows of ``SYM_MIN_WIDTH``
    outputs: a narrower image (a Dask chunk, say) is widened with columns
    whose outputs are dropped.  Every output reads only its own window, so
    the kept ones are what a wider image gives there: the choice of kernel,
    and so the order of the sums, does not depend on the width.
    """
    H, W = res.shape
    extra = max(0, _kb.SYM_MIN_WIDTH - W)
    if extra:
        wide = _reuse.empty((H, W + extra), dtype=res.dtype)
        widen = lambda a: np.pad(a, ((0, 0), (0, extra)), mode="edge")  # noqa: E731
        if kind.get("xq") is not None:
            kind["xq"] = widen(kind["xq"])
        used = _bilateral_sym(widen(xp), wide, r, dy, dx, sw, nthreads, **kind)
        res[:] = wide[:, :W]
        return used
    half = (dy > 0) | ((dy == 0) & (dx > 0))
    nh = int(np.count_nonzero(half))
    width = max(_kb.SYM_MIN_WIDTH, _SYM_RING_FLOATS // ((r + 1) * nh) - 2 * r)
    ntiles = max(1, W // width)
    tiles = (np.arange(ntiles + 1, dtype=np.intp) * W) // ntiles
    args = (r, dy[half].astype(np.intc), dx[half].astype(np.intc),
            np.ascontiguousarray(sw[half], dtype=np.float32), tiles, nthreads,
            min_parallel_work())
    # Bands of rows between which the interpreter handles signals: a band
    # starts by evaluating the weights of the rows above it, the same numbers
    # its predecessor evaluated, so the result does not depend on the bands.
    xq, used = kind.pop("xq", None), 1
    for _, _, r0, r1 in interruptible_slices(1, H, W * dy.size * 2.5e-10 / nthreads,
                                             min_rows=4 * nthreads):
        if xq is not None:
            kind["xq"] = xq[r0:r1 + 2 * r]
        used = max(used, _kb.bilateral_sym(xp[r0:r1 + 2 * r], res[r0:r1], *args, **kind))
    return used


def bilateral(image, diameter, sigma_color, sigma_space, *, boundary="reflect", fillvalue=0,
              channel_axis=None, dtype=None, workers=None, nan_policy="propagate"):
    """Edge-preserving bilateral filter (``cv2.bilateralFilter``'s definition).

    Each output pixel is the mean of its circular neighbourhood weighted
    by a spatial Gaussian of the offset and a range Gaussian of the
    intensity difference::

        w = exp(-(dy^2 + dx^2) / (2 sigma_space^2)) * exp(-D^2 / (2 sigma_color^2))

    ``D`` is ``|image(q) - image(p)|`` for a grey image and the sum of the
    absolute channel differences for a colour image, whose channels then
    share one weight per neighbour (OpenCV's rule, not a per-channel loop).
    The window holds the offsets with ``dy^2 + dx^2 <= radius^2``.
    float64 results are the analytic value (C library ``exp``, float64
    sums); float32 computes ``exp`` with a polynomial of 1-2 ulp and float32
    sums; uint8 (and bool) images use exact tables of the spatial weights
    and of the ``255 * channels + 1`` colour weights.  Grey uint8 and
    float32 images evaluate the weight of each pair of pixels once, for both.  OpenCV tabulates
    ``exp`` for float32 and rounds uint8 results: imfilt agrees with it
    within 1 grey level (uint8) and about 1e-3 of the image range (float32).

    Parameters
    ----------
    image : array_like, shape (H, W), or (H, W, C) etc. with ``channel_axis``
        Grey image, or colour image whose channels lie along
        ``channel_axis``.  Real dtypes; never modified.
    diameter : int
        Window diameter: radius ``max(1, diameter // 2)``.  ``diameter <= 0``
        takes the radius from ``sigma_space``: ``max(1, round(1.5 * sigma_space))``.
    sigma_color : float
        Range (intensity) scale, > 0, in the image's units (e.g. grey levels).
    sigma_space : float
        Spatial scale in pixels, > 0.
    boundary : str, optional
        How the image is extended beyond its edges (default ``'reflect'``,
        OpenCV's ``BORDER_REFLECT_101``: ``c b | a b c d | c b``).
        ``'fill'`` (or ``'constant'``): ``fillvalue``, which then counts as a
        neighbour like any pixel; ``'wrap'``: periodic; ``'symm'`` (or
        ``'symmetric'``): ``b a | a b c d | d c``; ``'edge'`` (or
        ``'nearest'``): repeat the edge pixel.  Rules fold repeatedly for
        windows larger than the image.
    fillvalue : scalar, optional
        Value outside the image for ``boundary='fill'`` (default 0), rounded
        to the compute precision (float32 unless the result is float64): a
        value beyond float32's range becomes infinite there, and so counts
        as NaN (see ``nan_policy``).
    channel_axis : int, optional
        Axis of a 3-D image that holds the colour channels.  Required for
        3-D images; 2-D images are grey.
    dtype : dtype, optional
        Output dtype.  Default: float32 for bool, float16 and 8/16-bit
        integers (and float32) images, float64 for 32/64-bit integers and
        float64.  An integer ``dtype`` rounds to nearest and saturates
        (``dtype=np.uint8`` gives OpenCV's uint8 output).
    workers : int, optional
        Threads (``None``: the :func:`imfilt.set_workers` default, else
        ``OMP_NUM_THREADS``, else all available cores; ``-1``: all).
        Results are bit-identical for any thread count.
    nan_policy : {'propagate', 'omit', 'raise'}, optional
        ``'propagate'`` (default): an output whose window holds a NaN (in
        any channel) is NaN.  ``'omit'``: neighbours with a NaN channel are
        left out; a NaN centre gives NaN.  ``'raise'``: ``ValueError`` if the
        image (or a used fill value) holds NaN.  An infinite value counts as
        NaN (its weight would be 0 and ``0 * inf`` is NaN), for float32 and
        float64 alike.

    Returns
    -------
    ndarray
        The image's shape, dtype as described under ``dtype``.

    Raises
    ------
    ValueError
        An image that is not 2-D (or 3-D with ``channel_axis``; a 3-D image
        without it), a ``channel_axis`` out of range, a ``sigma_color`` or
        ``sigma_space`` that is not finite and positive, a window radius
        above 2047, an unknown ``boundary`` or ``nan_policy``, a
        ``fillvalue`` that is not a scalar, ``workers=0`` (or a negative
        count beyond the available cores), or NaN or inf in the image (or
        a used fill value) with ``nan_policy='raise'``.
    TypeError
        A complex or non-numeric image, a ``diameter`` that is not an int,
        an unsupported ``dtype``, a non-numeric ``fillvalue``, or a
        ``sigma_color``, ``sigma_space``, ``channel_axis``, ``boundary``
        or ``workers`` of the wrong type (``ParameterTypeError``, which is
        also a ``ValueError``).

    Examples
    --------
    >>> import numpy as np, imfilt
    >>> step = np.repeat([[10.0] * 4 + [200.0] * 4], 3, axis=0)
    >>> out = imfilt.bilateral(step, 5, sigma_color=20, sigma_space=2)
    >>> np.round(out[1], 3)                       # the edge stays sharp
    array([ 10.,  10.,  10.,  10., 200., 200., 200., 200.])
    >>> rgb = np.zeros((4, 4, 3), dtype=np.uint8)
    >>> imfilt.bilateral(rgb, 3, 10, 1, channel_axis=-1, dtype=np.uint8).shape
    (4, 4, 3)
    """
    x = as_array(image, "image")
    check_channel_axis_type(channel_axis)
    if x.dtype.kind == "c":
        raise TypeError(f"image is complex ({x.dtype}); the bilateral filter needs real values")
    if channel_axis is None and x.ndim == 3:
        raise ValueError(f"image has shape {x.shape}; a 3-D image needs channel_axis "
                         "(e.g. channel_axis=-1 for an (H, W, C) colour image)")
    if x.ndim != (2 if channel_axis is None else 3):
        raise ValueError(f"image must be 2-D (grey) or 3-D with channel_axis (colour); got "
                         f"shape {x.shape} with channel_axis={channel_axis!r}")
    c = channel_axis_index(channel_axis, x.ndim)
    if not is_integer_like(diameter):
        raise TypeError(f"diameter={diameter!r} is not valid; use an int (<= 0: from sigma_space)")
    sigma_color = as_real("sigma_color", sigma_color, positive=True)
    sigma_space = as_real("sigma_space", sigma_space, positive=True)
    boundary = canonical_boundary(boundary)
    nan_policy = check_choice("nan_policy", nan_policy, _NAN_POLICIES)
    nthreads = resolve_workers(workers)
    compute, out_dtype = result_dtypes(x.dtype.newbyteorder("="), np.dtype(np.float32), dtype)
    fill = as_fillvalue(fillvalue, compute)
    r = bilateral_radius(int(diameter), sigma_space)
    return _bilateral(x, c, r, sigma_color, sigma_space, boundary, fill, compute, out_dtype,
                      nthreads, nan_policy)


#: float64 sigma_color above this (2**500) is brought down by a power of two
#: first (``_bilateral``).
_HUGE_SIGMA_COLOR = 2.0 ** 500


def _bilateral(x, c, r, sigma_color, sigma_space, boundary, fill, compute, out_dtype,
               nthreads, nan_policy):
    """Engine: validated arguments -> result (callable by chunked wrappers; halo ``r``)."""
    planes = x[None] if c is None else np.moveaxis(x, c, 0)
    C, H, W = planes.shape
    res = _reuse.empty((C, H, W), dtype=compute)   # every pixel is written below
    # A weight is exp(-d**2 / (2 sigma_color**2)): with sigma_color past
    # ~1e154 the product 2 sigma_color**2, and with it d**2 for differences
    # that large, leave float64's range where the ratio does not.  Image,
    # fill value and sigma_color then go down by a power of two (exact), and
    # the result back up.
    shift = 0
    if compute == np.float64 and x.dtype.kind == "f" and sigma_color > _HUGE_SIGMA_COLOR:
        shift = math.frexp(sigma_color)[1]
        planes = np.ldexp(planes, -shift, dtype=np.float64)
        fill, sigma_color = math.ldexp(fill, -shift), math.ldexp(sigma_color, -shift)
    if planes.size:
        _fill_result(res, planes, planes.dtype, r, sigma_color, sigma_space, boundary, fill,
                     compute, nthreads, nan_policy)
    if shift:
        np.ldexp(res, shift, out=res)
    res = res[0] if c is None else np.moveaxis(res, 0, c)
    return cast_output(res, out_dtype, nthreads)


def _by_rows(res, xp, r, seconds_per_value, nthreads, kernel):
    """Run ``kernel(padded, out)`` on interruptible bands of output rows.

    Between two bands the interpreter handles signals (Ctrl-C).  A band of
    several planes is handed to the kernel as C-contiguous copies (the kernel
    takes the plane size from the shapes); a row's result does not depend
    on the band.
    """
    C, H, W = res.shape
    for _, _, r0, r1 in interruptible_slices(1, H, W * seconds_per_value,
                                             min_rows=4 * nthreads):
        if r0 == 0 and r1 == H:
            ran_parallel(kernel(xp, res))
            continue
        band = np.ascontiguousarray(xp[:, r0:r1 + 2 * r])
        out = res[:, r0:r1] if C == 1 else _reuse.empty((C, r1 - r0, W), dtype=res.dtype)
        ran_parallel(kernel(band, out))
        if C > 1:
            res[:, r0:r1] = out


def _log_weight_scales(r2, sigma_color, sigma_space, compute):
    """Spatial log-weights ``-r2 / (2 sigma_space**2)`` and the colour scale
    ``1 / (2 sigma_color**2)`` (a weight is ``exp(ls - d**2 * cc)``), kept
    free of 0 * inf for sigmas so small that their squares underflow: the
    limits, weight 1 at offset 0 or difference 0 and 0 elsewhere (``cc`` at
    most half the compute dtype's largest number, so ``0 * cc`` is 0)."""
    s2 = 2.0 * sigma_space * sigma_space      # (inf past float's range: weights 1)
    if s2 > 0:
        ls = -r2 / s2
    else:
        ls = np.where(r2 == 0, 0.0, -np.inf)
    s2 = 2.0 * sigma_color * sigma_color
    cc_max = float(np.finfo(compute).max) / 2
    cc = min(1.0 / s2, cc_max) if s2 > 0 else cc_max
    return ls, cc


def _fill_result(res, planes, in_dtype, r, sigma_color, sigma_space, boundary, fill, compute,
                 nthreads, nan_policy):
    C, H, W = planes.shape
    dy, dx = window_offsets(r)
    ls, cc = _log_weight_scales(dy * dy + dx * dx, sigma_color, sigma_space, compute)
    Wp = W + 2 * r
    doff = np.ascontiguousarray(dy * Wp + dx, dtype=np.intp)
    lut = (compute == np.float32 and in_dtype.kind in "bu" and in_dtype.itemsize == 1
           and np.isfinite(fill) and float(fill).is_integer() and 0 <= fill <= 255)
    has_nan = False
    if lut:
        sw = np.exp(ls).astype(np.float32)
        d = np.arange(255 * C + 1, dtype=np.float64)
        cw = np.exp(-d * d * cc).astype(np.float32)
        if C == 1 and 1 <= r <= _kb.SYM_MAX_RADIUS:
            # One call: its work units fix the order of the sums.
            xp = _pad_plane(planes[0].astype(np.uint8, copy=False), r, boundary, int(fill),
                            nthreads)
            ran_parallel(_bilateral_sym(xp, res[0], r, dy, dx, sw, nthreads, cw=cw))
        else:
            xp = _pad_planes(planes.astype(np.uint8), r, boundary, int(fill))
            _by_rows(res, xp, r, doff.size * (C + 1) * 2e-9 / nthreads, nthreads,
                     lambda xb, ob: _kb.bilateral_rows(xb, ob, r, doff, sw, cw,
                                                       nthreads=nthreads,
                                                       min_work=min_parallel_work()))
    else:
        xc = planes.astype(compute, copy=False)   # read only
        with np.errstate(invalid="ignore", over="ignore"):
            total = xc.sum()
        if not np.isfinite(total):
            # NaN or inf (or a sum too large): infinite values count as NaN.
            inf = np.isinf(xc)
            if inf.any():
                xc = np.where(inf, compute.type(np.nan), xc)
        with np.errstate(over="ignore"):
            fill = compute.type(fill)   # beyond float32's range: +-inf
        if np.isinf(fill):
            fill = compute.type(np.nan)
        fill_nan = boundary == "fill" and np.isnan(fill)
        sym = compute == np.float32 and C == 1 and 1 <= r <= _kb.SYM_MAX_RADIUS
        # The symmetric kernel propagates NaN by itself (a NaN sample enters
        # the sums of every window that holds it), so 'propagate' skips the scan.
        has_nan = not (sym and nan_policy == "propagate") and (bool(np.isnan(xc.min()))
                                                                or fill_nan)
        if has_nan and nan_policy == "raise":
            raise ValueError("image (or the fill value) holds NaN or inf and "
                             "nan_policy='raise'; use nan_policy='omit' to leave NaN "
                             "neighbours out or 'propagate'")
        omit = has_nan and nan_policy == "omit"
        if sym:
            # Weights 2^(ls2 - d^2 cc2): the log-weights in base 2.  'omit'
            # reads the neighbours' values from a copy with NaN -> 0.
            xp = _pad_plane(xc[0], r, boundary, fill, nthreads)
            xq = np.where(np.isnan(xp), np.float32(0), xp) if omit else None
            ran_parallel(_bilateral_sym(xp, res[0], r, dy, dx, ls * _LOG2E, nthreads,
                                        cc2=cc * _LOG2E, xq=xq))
        else:
            xp = _pad_planes(xc, r, boundary, fill)
            ls = ls.astype(compute)
            _by_rows(res, xp, r, doff.size * (C + 1) * 1e-8 / nthreads, nthreads,
                     lambda xb, ob: _kb.bilateral_rows(xb, ob, r, doff, ls, None, cc, omit,
                                                       nthreads, min_parallel_work()))
        if has_nan and nan_policy == "propagate":
            disk = np.zeros((2 * r + 1, 2 * r + 1), dtype=bool)
            disk[dy + r, dx + r] = True
            nan_any = np.isnan(xc).any(axis=0)
            marks = minmax(nan_any, disk, (r, r), True, boundary, bool(fill_nan), (0, 1),
                           nthreads, "propagate")
            res[:, marks] = np.nan
