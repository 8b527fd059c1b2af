"""Linear smoothing filters: Gaussian, box, unsharp mask, LoG, DoG, Gabor.

Each filter is a list of 1-D passes (``imfilt._separable.Pass``) run by the
separable N-D engine, so every filter works on 1-D signals, 2-D images,
stacks, colour images (``channel_axis``) and N-D volumes, with every
boundary rule of imfilt.  The results equal the functions of the same name
in ``scipy.ndimage`` and ``skimage.filters`` (boundary names mapped as in
:data:`imfilt._modes.NDIMAGE_MODE`: ``'symm'`` is ndimage's ``'reflect'``,
``'reflect'`` its ``'mirror'``, ``'edge'`` its ``'nearest'``, ``'fill'`` its
``'constant'``) to a few units in the last place of the compute dtype.
"""

import functools
import math

import numpy as np

from imfilt import _nanpolicy
from imfilt._docs import SNIPPETS, docfiller
from imfilt._geometry import (as_tuple, axes_order, check_channel_axis_type,
                              check_colour_ambiguity, check_out, filter_axes)
from imfilt._kernels import _reuse
from imfilt._modes import canonical_boundary
from imfilt._separable import Pass, run_passes
from imfilt._threads import check_fits_in_memory, resolve_workers
from imfilt._cast import cast_output
from imfilt._validation import (MAX_TAPS, ParameterTypeError, as_array, as_fillvalue, as_int,
                                as_real, result_dtypes)
from imfilt.convolution import convolve

__all__ = [
    "gaussian_kernel",
    "gaussian",
    "box",
    "unsharp_mask",
    "gaussian_laplace",
    "gaussian_gradient_magnitude",
    "difference_of_gaussians",
    "gabor_kernel",
    "gabor",
]

# --------------------------------------------------------------------------
# argument parsing


def _axes(image, axes, channel_axis, func):
    """The axes a filter works on (every axis but ``channel_axis`` by default)."""
    if image.ndim == 0:
        raise ValueError(f"{func} needs an image with at least one axis, got a 0-d array")
    check_colour_ambiguity(image, axes, channel_axis, func)
    return filter_axes(image.ndim, axes, channel_axis)


#: Sigmas at or below this leave their axis alone, whatever the derivative
#: order (scipy.ndimage's rule: its filters skip such axes).
SIGMA_ZERO = 1e-15


def _sigmas(name, value, n):
    """Standard deviations per axis: finite, >= 0 (up to ``SIGMA_ZERO``
    leaves an axis alone)."""
    return as_tuple(name, value, n, minimum=0, kind=float)


def _radii(sigmas, truncate, radius, n):
    """Kernel radius per axis: ``radius``, else ``int(truncate * sigma + 0.5)``
    (``MAX_TAPS`` where that product overflows to inf: too long either way)."""
    if radius is None:
        return tuple(int(r) if math.isfinite(r) else MAX_TAPS
                     for r in (truncate * s + 0.5 for s in sigmas))
    return as_tuple("radius", radius, n, minimum=0)


class _Setup:
    """Arguments every smoothing filter parses the same way."""

    def __init__(self, func, image, axes, channel_axis, boundary, fillvalue, dtype,
                 workers, nan_policy="propagate", out=None, complex_ok=True):
        self.image = as_array(image, "image")
        self.boundary = canonical_boundary(boundary)
        self.axes = _axes(self.image, axes, channel_axis, func)
        # The axes of one channel: what "every axis" means with channel_axis.
        self.channel_ndim = self.image.ndim - (channel_axis is not None)
        self.order = axes_order(self.image.ndim, axes, channel_axis)
        self.compute, self.out_dtype = result_dtypes(self.image.dtype, np.dtype(np.float64), dtype)
        self.real = self.compute
        if self.compute.kind == "c":
            if not complex_ok:
                raise TypeError(
                    f"{func} filters real images; the image has dtype {self.image.dtype}. "
                    "Filter image.real and image.imag separately"
                )
            self.real = np.dtype(np.float32 if self.compute == np.complex64 else np.float64)
        self.fill = as_fillvalue(fillvalue, self.compute)
        self.nthreads = resolve_workers(workers)
        self.nan_policy = _nanpolicy.canonical_nan_policy(nan_policy)
        self.out = out
        if out is not None:
            check_out(out, self.image.shape, self.out_dtype, [("image", self.image)])
        if self.nan_policy == "raise":
            _nanpolicy.check_finite(self.image, np.zeros(1), self.boundary, self.fill)
        if self.nan_policy == "omit" and self.compute.kind == "c":
            raise TypeError(f"nan_policy='omit' needs a real image; the image has dtype "
                            f"{self.image.dtype}")

    def per_axis(self, values):
        """Per-axis values given in the order of ``axes`` -> the order of
        ``self.axes`` (sorted), as scipy.ndimage pairs them."""
        return tuple(values[i] for i in self.order)

    def run(self, passes, x=None, dest=None):
        """The passes on ``x`` (default the image) in the compute dtype.

        A complex image is filtered as its real and imaginary parts (the
        weights are real).
        """
        x = self.image if x is None else x
        if self.compute.kind != "c":
            return run_passes(x, passes, self.boundary, self.fill, self.real, self.nthreads, dest)
        fill = complex(self.fill)
        result = _reuse.empty(x.shape, dtype=self.compute) if dest is None else dest
        result.real = run_passes(x.real, passes, self.boundary, fill.real, self.real,
                                 self.nthreads)
        result.imag = run_passes(np.imag(x), passes, self.boundary, fill.imag, self.real,
                                 self.nthreads)
        return result

    def dest(self, cast=True):
        """Where the engine writes: ``out`` when it can write there directly,
        else None (a new compute-dtype array).  With ``cast``, an integer
        result comes from the engine already cast (``run_passes``; the fused
        2-D kernels store 8- and 16-bit values as they go, with no float
        temporary): into ``out`` or a new array."""
        o = self.out
        if o is not None and o.dtype == self.compute and o.flags.c_contiguous:
            return o
        if cast and self.compute.kind == "f" and self.out_dtype.kind in "iu":
            if o is not None and o.flags.c_contiguous and o.dtype.isnative:
                return o
            return _reuse.empty(self.image.shape, dtype=self.out_dtype)
        return None

    def finish(self, result):
        """Cast to the output dtype and store in ``out`` when given."""
        if self.out is None:
            return cast_output(result, self.out_dtype, self.nthreads)
        if result is not self.out:
            cast_output(result, self.out_dtype, self.nthreads, dest=self.out)
        return self.out

    def run_omit(self, passes, final=True):
        """``nan_policy='omit'``: normalised convolution where needed.

        With ``final`` the result may be written straight into ``out`` (or
        cast to an integer output dtype); otherwise it is a new array of the
        compute dtype, for a result that is only a term of the filter's.

        Outputs whose window holds no non-finite sample keep the ordinary
        value; the others are ``filter(x with non-finite -> 0) / filter(mask)``
        with ``mask`` 1 on finite samples (and on a finite ``fillvalue``),
        NaN where no finite sample meets a weight.
        """
        x = self.image
        # A NaN or infinite fillvalue is left out like a non-finite sample.
        fill_out = self.boundary == "fill" and not math.isfinite(self.fill)
        real_image = x.dtype.kind in "fc"
        result = self.run(passes, dest=self.dest(cast=not (real_image or fill_out))
                          if final else None)
        if not fill_out and (not real_image or np.isfinite(x).all()):
            return result
        bad = ~np.isfinite(result)
        finite = np.isfinite(x) if real_image else np.ones(x.shape, dtype=bool)
        num = run_passes(np.where(finite, x, 0), passes, self.boundary,
                         self.fill if math.isfinite(self.fill) else 0.0,
                         self.compute, self.nthreads)
        den = run_passes(finite, passes, self.boundary,
                         1.0 if math.isfinite(self.fill) else 0.0, self.compute, self.nthreads)
        ok = den > 0
        if any(p.box is not None for p in passes):
            # Box passes are running sums, which can leave ``den`` a rounding
            # residue above 0 where every sample is missing: whether a finite
            # sample meets a non-zero weight is counted exactly (sums of 0/1
            # under unit weights).
            counting = [Pass(p.axis, np.ones(p.length) if p.box is not None
                             else (p.weights != 0).astype(np.float64), before=p.before)
                        for p in passes]
            ok &= run_passes(finite, counting, self.boundary,
                             1.0 if math.isfinite(self.fill) else 0.0, np.dtype(np.float64),
                             self.nthreads) > 0.5
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(ok, num / np.where(ok, den, 1), np.nan)
        result[bad] = ratio[bad]
        return result


# --------------------------------------------------------------------------
# Gaussian


#: Highest Gaussian derivative order (the weights' polynomial costs order**2).
MAX_ORDER = 1000


#: Longest weights kept by ``_gaussian_1d``'s cache (taps).
_CACHED_TAPS_MAX = 4097


def _gaussian_1d(sigma, order, radius):
    """Convolution-form Gaussian (derivative) weights of ``2*radius + 1`` taps.

    ``g(x) = exp(-x**2 / (2 sigma**2))`` normalised to sum 1 on the integer
    grid; the ``order``-th derivative is ``q(x) g(x)`` with the polynomial
    ``q`` built by ``q_0 = 1``, ``q_{m+1} = q_m' - x q_m / sigma**2``.
    Read-only.  Short ones are cached: a script filters with the same few
    sigmas call after call, and the half-dozen NumPy calls that build the
    weights cost more than filtering a small image.
    """
    if 2 * radius + 1 <= _CACHED_TAPS_MAX:
        return _gaussian_1d_cached(sigma, order, radius)
    return _gaussian_weights(sigma, order, radius)


@functools.lru_cache(maxsize=64)
def _gaussian_1d_cached(sigma, order, radius):
    return _gaussian_weights(sigma, order, radius)


def _gaussian_weights(sigma, order, radius):
    if 2 * radius + 1 > MAX_TAPS:
        raise ValueError(
            f"a Gaussian of radius {radius} would have {2 * radius + 1} taps (more than "
            f"{MAX_TAPS}); use a smaller sigma, truncate or radius"
        )
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    g /= g.sum()
    if order == 0:
        g.setflags(write=False)
        return g
    if order > MAX_ORDER:
        raise ValueError(f"order={order!r} is not valid; Gaussian derivatives of order up to "
                         f"{MAX_ORDER} are computed")
    q = np.array([1.0])
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(order):
            deriv = q[1:] * np.arange(1, len(q))
            q = np.concatenate(([0.0], -q / (sigma * sigma)))
            q[: len(deriv)] += deriv
        w = np.polynomial.polynomial.polyval(x, q) * g
    if not np.isfinite(w).all():
        raise ValueError(f"order={order!r} with sigma={sigma!r} overflows float64 (the "
                         "derivative's weights are not finite); use a lower order")
    w.setflags(write=False)
    return w


def _gaussian_passes(axes, sigmas, orders, radii):
    """Correlation-form passes; a sigma up to ``SIGMA_ZERO`` leaves its axis alone."""
    passes = []
    for a, s, o, r in zip(axes, sigmas, orders, radii):
        if s > SIGMA_ZERO:
            passes.append(Pass(a, _gaussian_1d(s, o, r)[::-1].copy(), r))
    return passes


def _gaussian_args(setup_or_n, sigma, order, truncate, radius, name="sigma"):
    """Sigmas, orders and radii per axis: in the order of ``axes`` as given
    (for an int ``n``), or of the setup's sorted axes.  ``name``: what the
    caller calls ``sigma`` (in errors)."""
    n = setup_or_n if isinstance(setup_or_n, int) else len(setup_or_n.axes)
    sigmas = _sigmas(name, sigma, n)
    orders = as_tuple("order", order, n, minimum=0)
    truncate = as_real("truncate", truncate, low=0)
    radii = _radii(sigmas, truncate, radius, n)
    for s, r in zip(sigmas, radii):
        if s > SIGMA_ZERO and 2 * r + 1 > MAX_TAPS:
            given = f" and radius={radius!r}" if radius is not None else ""
            count = 2 * r + 1
            shown = f"{count}" if count < 10 ** 15 else f"about {float(count):.3g}"
            taps = (f"{shown} taps" if radius is not None or math.isfinite(truncate * s)
                    else "infinitely many taps")
            raise ValueError(
                f"{name}={sigma!r} with truncate={truncate!r}{given} gives a kernel of "
                f"{taps} (more than {MAX_TAPS}); use a smaller "
                + ("radius" if radius is not None else f"{name} or truncate")
            )
    if not isinstance(setup_or_n, int):
        return tuple(map(setup_or_n.per_axis, (sigmas, orders, radii)))
    return sigmas, orders, radii


#: Paragraphs of this module's docstrings that differ from the shared ones.
_SNIPPETS = {
    "fillvalue": """\
fillvalue : float, optional
    Value outside the image for ``boundary='fill'`` (default 0).  The image
    is padded once (the :func:`numpy.pad` definition): a filter made of
    several passes (Gaussian derivatives, Laplacian and gradient magnitude of
    Gaussian) sees ``fillvalue`` beyond the image in every pass, whereas
    ``scipy.ndimage`` pads each intermediate pass with ``cval``.  The two
    agree for ``fillvalue=0`` and differ near the border otherwise.""",
    "smooth_image": """\
image : array_like
    Image of any real dtype, 1-D to N-D.""",
    "truncate_radius": """\
truncate : float, optional
    Kernel radius in standard deviations (default 4).
radius : int or sequence of int, optional
    Kernel radius per axis; overrides ``truncate``.""",
}
# The shared paragraphs speak of a kernel; these filters make their own.
_SNIPPETS["dtype"] = SNIPPETS["dtype"].replace(
    " (even with a float64 or Python-list kernel)", "")
_SNIPPETS["nan_policy"] = SNIPPETS["nan_policy"].replace(
    "(or a used fill value, or the kernel)", "(or the fill value of ``boundary='fill'``)")
_SNIPPETS["out_result"] = SNIPPETS["out"] + """

Returns
-------
ndarray
    The filtered image (as the summary says), the shape of ``image``, in
    the dtype ``dtype`` describes."""
# The paragraphs every linear smoothing front documents in the same order,
# written once (this module's fillvalue overrides the shared one).
_SNIPPETS["linear_common"] = "\n".join(
    _SNIPPETS.get(name, SNIPPETS.get(name))
    for name in ("boundary", "fillvalue", "axes", "channel_axis", "dtype", "workers"))
# ... followed by nan_policy, out and the result (box, difference_of_gaussians),
# or preceded by truncate/radius and without nan_policy (the Gaussian derivatives).
_SNIPPETS["linear_tail"] = "\n".join(
    (_SNIPPETS["linear_common"], _SNIPPETS["nan_policy"], _SNIPPETS["out_result"]))
_SNIPPETS["derivative_tail"] = "\n".join(
    (_SNIPPETS["truncate_radius"], _SNIPPETS["linear_common"], _SNIPPETS["out_result"]))
# What the image filters' Raises sections share: the checks of ``_Setup``
# (image, boundary, axes, channel_axis, fillvalue, dtype, workers, out).
# ``smooth_value_errors`` continues a sentence that names the function's
# own ValueErrors first.
_SNIPPETS["smooth_value_errors"] = """\
an unknown ``boundary``, ``axes`` or ``channel_axis`` out of range or
repeated (or ``axes`` naming the channel axis), a 3-D image whose last
axis has length 3 or 4 given with neither, a 0-d image, a ``fillvalue``
that is not a scalar (or complex for a real image), ``workers=0`` (or a
negative count beyond the available cores), or an ``out`` of the wrong
shape or dtype, read-only or overlapping the image."""
_SNIPPETS["smooth_type_errors"] = """\
A non-numeric image (None, strings, objects), an unsupported ``dtype``
(or a real one for a complex image), a non-numeric ``fillvalue``, a
parameter of the wrong type (a string for a number, a float for an int:
``ParameterTypeError``, which is also a ``ValueError``), or an ``out``
that is not a plain ndarray (a list, ``np.matrix``, a masked array)."""
# ... and for the filters with ``nan_policy``.
_SNIPPETS["nan_value_errors"] = """\
an unknown ``nan_policy``, NaN or inf in the image (or in the fill value
of ``boundary='fill'``) with ``nan_policy='raise'``,
""" + _SNIPPETS["smooth_value_errors"]
_SNIPPETS["nan_type_errors"] = _SNIPPETS["smooth_type_errors"] + """
``nan_policy='omit'`` with a complex image raises it too."""
_SNIPPETS["nan_type_section"] = "\n".join(
    ["TypeError"] + ["    " + line for line in _SNIPPETS["nan_type_errors"].splitlines()])
# ... and the whole section of the two Gaussian derivative filters.
_SNIPPETS["derivative_raises"] = "\n".join(
    ["Raises", "------", "ValueError",
     "    A negative or non-finite ``sigma`` or ``truncate``, a negative",
     "    ``radius``, a kernel of more than 2**24 taps,"]
    + ["    " + line for line in _SNIPPETS["smooth_value_errors"].splitlines()]
    + ["TypeError"] + ["    " + line for line in _SNIPPETS["smooth_type_errors"].splitlines()])


@docfiller(**_SNIPPETS)
def gaussian_kernel(sigma, *, order=0, truncate=4.0, radius=None, ndim=1, dtype=np.float64):
    """Weights of the Gaussian filter (convolution form).

    Parameters
    ----------
    sigma : float or sequence of float
        Standard deviation per axis (>= 0; 0, or anything up to 1e-15 as
        in scipy.ndimage, gives the one-tap kernel ``[1]``, which leaves
        that axis alone, whatever the order).
    order : int or sequence of int, optional
        Derivative order per axis (0 = smoothing).
    truncate : float, optional
        Radius in standard deviations: ``radius = int(truncate * sigma + 0.5)``
        (default 4).
    radius : int or sequence of int, optional
        Radius per axis; overrides ``truncate``.
    ndim : int, optional
        1 (default) for the 1-D weights, ``n`` for their outer product over
        ``n`` axes.
    dtype : {float64, float32}, optional
        dtype of the result.

    Returns
    -------
    kernel : ndarray, shape ``(2*radius + 1,) * ndim``
        ``exp(-x**2 / (2 sigma**2))`` normalised to sum 1 (its ``order``-th
        derivative for ``order > 0``), equal to the weights of
        ``scipy.ndimage.gaussian_filter``.  ``imfilt.convolve(image, kernel,
        mode='same', boundary=b)`` equals ``gaussian(image, sigma, boundary=b)``.

    Raises
    ------
    ValueError
        A negative or non-finite ``sigma``, a negative ``order`` or
        ``radius``, a negative or non-finite ``truncate``, ``ndim`` outside
        1 .. 64, an ``order`` above 1000 (or one whose weights overflow
        float64), more than 2**24 taps on an axis, or a kernel larger than
        this machine's memory.
    TypeError
        A ``dtype`` other than float32 and float64, or a parameter of the
        wrong type (a string for a number, a float for an int, a sequence
        of the wrong length: ``ParameterTypeError``, which is also a
        ``ValueError``).

    Examples
    --------
    >>> import numpy as np
    >>> from imfilt import gaussian_kernel
    >>> k = gaussian_kernel(1.0, truncate=2.0)
    >>> k.shape, round(float(k.sum()), 12)
    ((5,), 1.0)
    >>> gaussian_kernel((1.0, 2.0), ndim=2).shape
    (9, 17)
    """
    return _gaussian_kernel(sigma, order, truncate, radius, ndim, dtype)


def _gaussian_kernel(sigma, order, truncate, radius, ndim, dtype):
    ndim = as_int("ndim", ndim, low=1, high=64,
                  use="an integer from 1 to 64 (NumPy's most dimensions)")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype={dtype!r} is not a NumPy dtype") from None
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype={dtype} is not supported; choose float32 or float64")
    sigmas, orders, radii = _gaussian_args(int(ndim), sigma, order, truncate, radius)
    check_fits_in_memory("ndim", ndim, "a kernel",
                         [2 * r + 1 if s > SIGMA_ZERO else 1 for s, r in zip(sigmas, radii)],
                         np.dtype(dtype).itemsize)
    kernel = np.ones((1,) * 0)
    for s, o, r in zip(sigmas, orders, radii):
        k1 = _gaussian_1d(s, o, r) if s > SIGMA_ZERO else np.ones(1)
        kernel = np.multiply.outer(kernel, k1)
    return kernel.astype(dtype)



@docfiller(**_SNIPPETS)
def gaussian(image, sigma, *, order=0, truncate=4.0, radius=None, boundary="symm",
             fillvalue=0, axes=None, channel_axis=None, dtype=None, workers=None,
             nan_policy="propagate", out=None):
    """Gaussian filter (or Gaussian derivative) in N dimensions.

    Equal to ``scipy.ndimage.gaussian_filter(image.astype(compute), sigma,
    order, mode=..., cval=fillvalue, truncate=truncate, radius=radius,
    axes=axes)`` to a few units in the last place of the compute dtype,
    with the boundary names mapped to ndimage modes (``'symm'`` ->
    ``'reflect'``, ``'reflect'`` -> ``'mirror'``, ``'edge'`` -> ``'nearest'``,
    ``'fill'`` -> ``'constant'``, ``'wrap'`` -> ``'wrap'``).
    Each axis is one 1-D pass; the last two axes run fused in one sweep
    through cache.

    Parameters
    ----------
    %(smooth_image)s
    sigma : float or sequence of float
        Standard deviation per filtered axis (>= 0; 0, or anything up to
        1e-15 as in scipy.ndimage, leaves an axis alone whatever the order).
    order : int or sequence of int, optional
        Derivative order per axis (default 0: smoothing).
    truncate : float, optional
        Kernel radius in standard deviations (default 4):
        ``radius = int(truncate * sigma + 0.5)``.
    radius : int or sequence of int, optional
        Kernel radius per axis; overrides ``truncate``.
    %(linear_common)s
    %(nan_policy)s
        ``'omit'`` needs ``order=0``.
    %(out_result)s

    Raises
    ------
    ValueError
        Negative or non-finite ``sigma``, negative ``order`` or ``radius``,
        a kernel of more than 2**24 taps, an unknown ``boundary``, bad
        ``axes``/``channel_axis`` or a colour-looking image without them.
    TypeError
        A non-numeric image (complex images are filtered as their real and
        imaginary parts), non-numeric parameters, or ``nan_policy='omit'``
        with a complex image.

    Examples
    --------
    >>> import numpy as np
    >>> from imfilt import gaussian
    >>> x = np.zeros((5, 5), dtype=np.float32); x[2, 2] = 1
    >>> y = gaussian(x, 1.0)
    >>> y.dtype, round(float(y.sum()), 5), bool(y[2, 2] == y.max())
    (dtype('float32'), 1.0, True)
    >>> gaussian(np.ones((4, 6, 8)), (1, 0, 2))[0, 0, :3]
    array([1., 1., 1.])
    """
    st = _Setup("gaussian", image, axes, channel_axis, boundary, fillvalue, dtype, workers,
                nan_policy, out)
    sigmas, orders, radii = _gaussian_args(st, sigma, order, truncate, radius)
    passes = _gaussian_passes(st.axes, sigmas, orders, radii)
    if st.nan_policy == "omit":
        if any(o > 0 for s, o in zip(sigmas, orders) if s > SIGMA_ZERO):
            raise ValueError(
                f"nan_policy='omit' needs order=0 (got order={order!r}): the weights of a "
                "Gaussian derivative sum to zero, so they cannot be renormalised; use "
                "nan_policy='propagate' or 'raise'"
            )
        return st.finish(st.run_omit(passes))
    return st.finish(st.run(passes, dest=st.dest()))



# --------------------------------------------------------------------------
# box


@docfiller(**_SNIPPETS)
def box(image, size, *, boundary="symm", fillvalue=0, axes=None, channel_axis=None,
        dtype=None, workers=None, nan_policy="propagate", out=None):
    """Box (moving average, uniform) filter in N dimensions.

    Equal to ``scipy.ndimage.uniform_filter(image.astype(compute), size,
    mode=..., cval=fillvalue, axes=axes)``: output ``i`` is the mean of
    inputs ``i - size//2 .. i + (size-1)//2`` along each axis (so an even
    size reaches one sample further back than forward).  Running sums (in
    float64) make the cost independent of ``size``, accurate to a few
    ``eps * max|x|`` along the line as scipy.ndimage's are; where a line
    holds NaN or inf the windows' non-finite values are counted apart, so
    they only reach the outputs whose window holds them (NaN, or +-inf when
    the window's only non-finite values are infinities of one sign).  A
    window whose float64 sum overflows is summed again with each sample
    divided by ``size`` first, so its mean is finite where scipy.ndimage
    gives inf.

    Parameters
    ----------
    %(smooth_image)s
    size : int or sequence of int
        Window length per filtered axis (>= 1).
    %(linear_tail)s

    Raises
    ------
    %(nan_type_section)s
    ValueError
        A ``size`` below 1 or above 2**24,
        %(nan_value_errors)s

    Examples
    --------
    >>> import numpy as np
    >>> from imfilt import box
    >>> box(np.array([0., 0., 3., 0., 0.]), 3)
    array([0., 1., 1., 1., 0.])
    >>> box(np.arange(4.0), 2, boundary="edge")
    array([0. , 0.5, 1.5, 2.5])
    """
    return box_at(image, size, None, boundary=boundary, fillvalue=fillvalue, axes=axes,
                  channel_axis=channel_axis, dtype=dtype, workers=workers,
                  nan_policy=nan_policy, out=out)


def box_at(image, size, origin, *, boundary="symm", fillvalue=0, axes=None, channel_axis=None,
           dtype=None, workers=None, nan_policy="propagate", out=None):
    """:func:`box` of a block whose element 0 sits at ``origin`` (one index
    per axis) of a larger image: the running sums restart at the larger
    image's positions, so every output whose band start and window lie in
    the block equals the larger image's (``imfilt.dask.box``)."""
    st = _Setup("box", image, axes, channel_axis, boundary, fillvalue, dtype, workers,
                nan_policy, out)
    sizes = st.per_axis(as_tuple("size", size, len(st.axes), minimum=1))
    if max(sizes, default=1) > MAX_TAPS:
        raise ValueError(f"size={size!r} is not valid; every value must be <= {MAX_TAPS}")
    origin = (0,) * st.image.ndim if origin is None else tuple(int(o) for o in origin)
    passes = [Pass(a, before=s // 2, box=s, phase=origin[a])
              for a, s in zip(st.axes, sizes) if s > 1]
    if st.nan_policy == "omit":
        return st.finish(st.run_omit(passes))
    return st.finish(st.run(passes, dest=st.dest()))



# --------------------------------------------------------------------------
# filters built from Gaussians


@docfiller(**_SNIPPETS)
def unsharp_mask(image, radius=1.0, amount=1.0, *, boundary="symm", fillvalue=0,
                 axes=None, channel_axis=None, clip=None, truncate=4.0, dtype=None,
                 workers=None, nan_policy="propagate", out=None):
    """Sharpen by unsharp masking: ``image + amount * (image - blurred)``.

    ``blurred`` is :func:`gaussian` of the image with ``sigma=radius``.
    Equal to ``skimage.filters.unsharp_mask(image, radius, amount,
    preserve_range=True)`` (which does not clip; pass ``clip=`` to clip).

    Parameters
    ----------
    %(smooth_image)s
    radius : float or sequence of float, optional
        Standard deviation of the Gaussian blur per filtered axis (default 1).
    amount : float, optional
        Strength of the sharpening (default 1; negative values blur).
    %(linear_common)s
    clip : (float, float), optional
        Clip the result to ``[low, high]`` (default: no clipping).
    truncate : float, optional
        Radius of the blur in standard deviations (default 4).
    %(nan_policy)s
        It applies to the blur.
    %(out_result)s

    Raises
    ------
    ValueError
        A negative or non-finite ``radius`` or ``truncate``, a blur of more
        than 2**24 taps, a non-finite ``amount``, a ``clip`` with
        ``low > high``,
        %(nan_value_errors)s
    TypeError
        %(nan_type_errors)s
        So does a ``clip`` that is not a pair of numbers, or any ``clip``
        with a complex image.

    Examples
    --------
    >>> import numpy as np
    >>> from imfilt import unsharp_mask
    >>> x = np.array([0., 0., 0., 1., 1., 1.])
    >>> y = unsharp_mask(x, radius=1.0, amount=1.0)
    >>> bool(y[2] < 0 < 1 < y[3])
    True
    >>> float(unsharp_mask(x, 1.0, 2.0, clip=(0, 1)).max())
    1.0
    """
    # out is checked here and used only by finish: the blur is a temporary
    st = _Setup("unsharp_mask", image, axes, channel_axis, boundary, fillvalue, dtype,
                workers, nan_policy)
    out_dtype = st.out_dtype
    if out is not None:
        check_out(out, st.image.shape, out_dtype, [("image", st.image)])
    amount = as_real("amount", amount)
    sigmas, orders, radii = _gaussian_args(st, radius, 0, truncate, None, name="radius")
    if clip is not None:
        try:
            lo, hi = clip
            lo, hi = float(lo), float(hi)
        except (TypeError, ValueError):
            raise TypeError(f"clip={clip!r} must be None or a pair (low, high) of numbers") from None
        if not lo <= hi:
            raise ValueError(f"clip={clip!r} needs low <= high")
        if st.compute.kind == "c":
            raise TypeError(f"clip={clip!r} needs a real image; the image has dtype "
                            f"{st.image.dtype}")
    passes = _gaussian_passes(st.axes, sigmas, orders, radii)
    blurred = st.run_omit(passes, final=False) if st.nan_policy == "omit" else st.run(passes)
    x = np.asarray(st.image, dtype=st.compute)
    # In place on the blur: image + (image - blurred) * amount, the order
    # of operations of scikit-image.
    result = np.subtract(x, blurred, out=blurred)
    result *= st.compute.type(amount)
    result += x
    if clip is not None:
        np.clip(result, lo, hi, out=result)
    st.out_dtype, st.out = out_dtype, out
    return st.finish(result)



def _derivative_sum(st, sigmas, radii, order, combine):
    """Apply ``combine`` over the per-axis derivative filters (order on one axis)."""
    acc = None
    for i in range(len(st.axes)):
        orders = [0] * len(st.axes)
        orders[i] = order
        d = st.run(_gaussian_passes(st.axes, sigmas, orders, radii))
        acc = combine(acc, d)
    return acc


def _derivative_args(st, axes, sigma, truncate, radius):
    """``_gaussian_args`` of gaussian_laplace and gaussian_gradient_magnitude,
    paired as scipy.ndimage pairs them: with ``axes`` naming every axis (of
    a channel, with ``channel_axis``), a sigma (radius) per axis goes with
    axis 0, 1, ... whatever the order of ``axes``; otherwise with ``axes``
    in the order given."""
    if axes is not None and len(st.axes) == st.channel_ndim:
        return _gaussian_args(len(st.axes), sigma, 0, truncate, radius)
    return _gaussian_args(st, sigma, 0, truncate, radius)


@docfiller(**_SNIPPETS)
def gaussian_laplace(image, sigma, *, truncate=4.0, radius=None, boundary="symm",
                     fillvalue=0, axes=None, channel_axis=None, dtype=None, workers=None,
                     out=None):
    """Laplacian of Gaussian: the sum of second Gaussian derivatives.

    Equal to ``scipy.ndimage.gaussian_laplace(image.astype(compute), sigma,
    mode=..., cval=fillvalue, truncate=truncate, radius=radius, axes=axes)``:
    ``sum_a gaussian(image, sigma, order=2 on axis a, 0 on the others)``.
    Negative at bright blobs of radius about ``sigma * sqrt(ndim)``.

    Parameters
    ----------
    %(smooth_image)s
    sigma : float or sequence of float
        Standard deviation per filtered axis.  An axis with sigma 0 (or up
        to 1e-15, as in scipy.ndimage) is neither smoothed nor
        differentiated in any term, its own included, so that term is the
        image smoothed along the other axes: ``gaussian_laplace(x, 0)`` is
        ``x.ndim * x``, as in scipy.ndimage.  As in scipy.ndimage, when
        ``axes`` names every axis (of a channel, with ``channel_axis``) a
        sigma per axis goes with axis 0, 1, ... in turn, whatever the order
        of ``axes`` (:func:`gaussian` follows the order of ``axes``); when
        it names only some, with ``axes`` in the order given.
    %(derivative_tail)s

    %(derivative_raises)s

    Examples
    --------
    >>> import numpy as np
    >>> from imfilt import gaussian_laplace
    >>> x = np.zeros((9, 9)); x[4, 4] = 1
    >>> y = gaussian_laplace(x, 1.0)
    >>> bool(y[4, 4] < 0), bool(y[4, 4] == y.min())
    (True, True)
    """
    st = _Setup("gaussian_laplace", image, axes, channel_axis, boundary, fillvalue, dtype,
                workers, "propagate", out)
    sigmas, _, radii = _derivative_args(st, axes, sigma, truncate, radius)
    if not st.axes:
        return st.finish(np.zeros(st.image.shape, dtype=st.compute))

    def add(acc, d):
        if acc is None:
            return d
        acc += d
        return acc
    return st.finish(_derivative_sum(st, sigmas, radii, 2, add))



@docfiller(**_SNIPPETS)
def gaussian_gradient_magnitude(image, sigma, *, truncate=4.0, radius=None, boundary="symm",
                                fillvalue=0, axes=None, channel_axis=None, dtype=None,
                                workers=None, out=None):
    """Gradient magnitude of Gaussian derivatives.

    Equal to ``scipy.ndimage.gaussian_gradient_magnitude(image.astype(compute),
    sigma, mode=..., cval=fillvalue, truncate=truncate, radius=radius,
    axes=axes)``: ``sqrt(sum_a d_a**2)`` with ``d_a`` the first Gaussian
    derivative along axis ``a`` (smoothed along the others).  With ``axes``
    naming only some axes, scipy.ndimage (1.17) smooths each derivative
    along the unnamed axes too, and refuses a sigma per axis; imfilt leaves
    the unnamed axes alone, as its ``gaussian_laplace`` and SciPy's do:
    ``d_a = scipy.ndimage.gaussian_filter(image, sigma, order, axes=axes)``
    with order 1 on ``a``.

    Parameters
    ----------
    %(smooth_image)s
    sigma : float or sequence of float
        Standard deviation per filtered axis.  As in scipy.ndimage, when
        ``axes`` names every axis (of a channel, with ``channel_axis``) a
        sigma per axis goes with axis 0, 1, ... in turn, whatever the order
        of ``axes``; when it names only some, with ``axes`` in the order
        given.
    %(derivative_tail)s

    %(derivative_raises)s
        A complex image raises it too (filter its real and imaginary parts).

    Examples
    --------
    >>> import numpy as np
    >>> from imfilt import gaussian_gradient_magnitude
    >>> ramp = np.tile(np.arange(8.0), (8, 1))
    >>> round(float(gaussian_gradient_magnitude(ramp, 1.0)[4, 4]), 3)
    0.999
    """
    st = _Setup("gaussian_gradient_magnitude", image, axes, channel_axis, boundary, fillvalue,
                dtype, workers, "propagate", out, complex_ok=False)
    sigmas, _, radii = _derivative_args(st, axes, sigma, truncate, radius)
    if not st.axes:
        return st.finish(np.zeros(st.image.shape, dtype=st.compute))

    def add_square(acc, d):
        if acc is None:
            return np.multiply(d, d, out=d)
        acc += np.multiply(d, d, out=d)
        return acc
    acc = _derivative_sum(st, sigmas, radii, 1, add_square)
    return st.finish(np.sqrt(acc, out=acc))



@docfiller(**_SNIPPETS)
def difference_of_gaussians(image, low_sigma, high_sigma=None, *, truncate=4.0,
                            boundary="symm", fillvalue=0, axes=None, channel_axis=None,
                            dtype=None, workers=None, nan_policy="propagate", out=None):
    """Band-pass filter: the difference of two Gaussian blurs.

    ``gaussian(image, low_sigma) - gaussian(image, high_sigma)``, equal to
    ``skimage.filters.difference_of_gaussians(image, low_sigma, high_sigma,
    mode=..., cval=fillvalue, channel_axis=channel_axis, truncate=truncate)``
    for float images.  Two differences from scikit-image: imfilt's default
    boundary is ``'symm'`` (scikit-image's default here is ``'nearest'``,
    imfilt's ``'edge'``: pass ``boundary='edge'`` to match it), and integer
    images are filtered as their values (scikit-image first rescales them to
    [0, 1] or [-1, 1]).

    Parameters
    ----------
    %(smooth_image)s
    low_sigma : float or sequence of float
        Standard deviation of the narrower Gaussian per filtered axis.
    high_sigma : float or sequence of float, optional
        Standard deviation of the wider Gaussian (default ``1.6 * low_sigma``);
        must be >= ``low_sigma`` on every axis.
    truncate : float, optional
        Kernel radius in standard deviations (default 4).
    %(linear_tail)s

    Raises
    ------
    %(nan_type_section)s
    ValueError
        A negative or non-finite ``low_sigma``, ``high_sigma`` or
        ``truncate``, ``high_sigma`` below ``low_sigma`` on some axis, a
        kernel of more than 2**24 taps,
        %(nan_value_errors)s

    Examples
    --------
    >>> import numpy as np
    >>> from imfilt import difference_of_gaussians
    >>> y = difference_of_gaussians(np.ones((6, 6)), 1.0)
    >>> bool(np.allclose(y, 0))
    True
    """
    st = _Setup("difference_of_gaussians", image, axes, channel_axis, boundary, fillvalue,
                dtype, workers, nan_policy, out)
    n = len(st.axes)
    low = st.per_axis(_sigmas("low_sigma", low_sigma, n))
    high = (tuple(1.6 * s for s in low) if high_sigma is None
            else st.per_axis(_sigmas("high_sigma", high_sigma, n)))
    if any(h < lo for h, lo in zip(high, low)):
        raise ValueError(
            f"high_sigma={high_sigma!r} must be >= low_sigma={low_sigma!r} on every axis"
        )
    results = []
    for sig, name in ((low, "low_sigma"), (high, "high_sigma")):
        sigmas, orders, radii = _gaussian_args(n, sig, 0, truncate, None, name=name)
        passes = _gaussian_passes(st.axes, sigmas, orders, radii)
        # (both terms in the compute dtype: neither may be ``out``)
        results.append(st.run_omit(passes, final=False) if st.nan_policy == "omit"
                       else st.run(passes))
    result = results[0]
    result -= results[1]
    return st.finish(result)



# --------------------------------------------------------------------------
# Gabor


def _gabor_sigma(bandwidth, frequency):
    """scikit-image's envelope sigma for ``bandwidth`` octaves: ``sqrt(ln 2 / 2)
    / pi * (b + 1) / (b - 1) / frequency`` with ``b = 2**bandwidth``, in the
    same operations (the same bits); below 1/1024 octave ``b - 1`` is taken
    as ``expm1``, which does not cancel to 0."""
    try:
        b = 2.0 ** bandwidth
    except OverflowError:
        raise ValueError(f"bandwidth={bandwidth!r} is too large (2**bandwidth overflows); use "
                         "a smaller bandwidth (2**bandwidth must stay below 2**1024)") from None
    bm1 = b - 1 if bandwidth >= 2.0 ** -10 else math.expm1(bandwidth * math.log(2))
    sigma = math.sqrt(math.log(2) / 2.0) / math.pi * (b + 1) / bm1 / frequency \
        if bm1 > 0 else math.inf
    if not math.isfinite(sigma):
        raise ValueError(f"bandwidth={bandwidth!r} with frequency={frequency!r} gives an "
                         "infinitely wide envelope; use a larger bandwidth or frequency, or "
                         "give sigma_x and sigma_y")
    return sigma


@docfiller(**_SNIPPETS)
def gabor_kernel(frequency, theta=0, bandwidth=1, sigma_x=None, sigma_y=None, n_stds=3,
                 offset=0, dtype=np.complex128):
    """Complex 2-D Gabor kernel: a Gaussian envelope times a complex wave.

    ``g(x, y) = exp(-(u**2/sx**2 + v**2/sy**2)/2 + i (2 pi f u + offset)) /
    (2 pi sx sy)`` with ``u = x cos(theta) + y sin(theta)``, ``v = y
    cos(theta) - x sin(theta)``, rows ``y`` and columns ``x``; equal to
    ``skimage.filters.gabor_kernel`` with the same arguments, bit for bit
    for bandwidths of 1/1024 octave and more.  Below that, scikit-image's
    ``2**bandwidth - 1`` cancels (to 0 below about 1e-16, which divides by
    zero); imfilt takes it as ``expm1``, so the envelope there is the exact
    one and the kernel can be a pixel wider or narrower than scikit-image's.

    Parameters
    ----------
    frequency : float
        Spatial frequency of the wave (cycles per pixel, > 0).
    theta : float, optional
        Orientation in radians (0: the wave runs along the columns).
    bandwidth : float, optional
        Bandwidth in octaves, which sets ``sigma_x`` and ``sigma_y`` when
        they are not given: ``sqrt(ln 2 / 2) / pi * (2**b + 1) / (2**b - 1) / f``.
    sigma_x, sigma_y : float, optional
        Standard deviations of the envelope along and across the wave.
    n_stds : float, optional
        Half-size of the kernel in standard deviations (default 3; at least
        one pixel).
    offset : float, optional
        Phase offset in radians.
    dtype : {complex128, complex64}, optional
        dtype of the kernel.

    Returns
    -------
    kernel : ndarray, complex, 2-D with odd side lengths

    Raises
    ------
    ValueError
        A ``frequency``, ``bandwidth``, ``sigma_x`` or ``sigma_y`` that is
        not finite and positive, a negative or non-finite ``n_stds``, a
        non-finite ``theta`` or ``offset``, a ``bandwidth`` too large for
        ``2**bandwidth`` (or an envelope too wide or too narrow to compute
        with), or a kernel of more than 2**24 taps.
    TypeError
        A ``dtype`` other than complex64 and complex128, or a non-numeric
        parameter (``ParameterTypeError``, which is also a ``ValueError``).

    Examples
    --------
    >>> from imfilt import gabor_kernel
    >>> k = gabor_kernel(0.2)
    >>> k.shape, k.dtype
    ((19, 19), dtype('complex128'))
    """
    frequency = as_real("frequency", frequency, positive=True)
    theta = as_real("theta", theta)
    bandwidth = as_real("bandwidth", bandwidth, positive=True)
    n_stds = as_real("n_stds", n_stds, low=0)
    offset = as_real("offset", offset)
    sx = _gabor_sigma(bandwidth, frequency) if sigma_x is None else as_real(
        "sigma_x", sigma_x, positive=True)
    sy = _gabor_sigma(bandwidth, frequency) if sigma_y is None else as_real(
        "sigma_y", sigma_y, positive=True)
    if not all(s * s > 0 and math.isfinite(1.0 / (s * s)) for s in (sx, sy)):
        raise ValueError(
            f"the Gabor envelope's sigma_x={sx:.3g}, sigma_y={sy:.3g} (frequency="
            f"{frequency!r}) is too small to compute with; use a smaller frequency or "
            "larger sigma_x/sigma_y")
    given = dtype
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype={given!r} is not a NumPy dtype") from None
    if dtype.kind != "c":
        raise ParameterTypeError(f"dtype={given!r} is not supported; choose a complex dtype "
                                 "(complex64 or complex128)")
    c, s = math.cos(theta), math.sin(theta)
    half_x = math.ceil(max(abs(n_stds * sx * c), abs(n_stds * sy * s), 1))
    half_y = math.ceil(max(abs(n_stds * sy * c), abs(n_stds * sx * s), 1))
    if (2 * half_x + 1) * (2 * half_y + 1) > MAX_TAPS:
        given = [f"frequency={frequency!r}, bandwidth={bandwidth!r}"
                 ] if sigma_x is None or sigma_y is None else []
        given += [f"sigma_x={sx:.3g}, sigma_y={sy:.3g}, n_stds={n_stds!r}"]
        raise ValueError(
            f"{' with '.join(given)} give a Gabor kernel of {float(2 * half_y + 1):.4g}x"
            f"{float(2 * half_x + 1):.4g} taps (more than {MAX_TAPS}); use a larger frequency "
            "or bandwidth, smaller sigma_x/sigma_y or n_stds"
        )
    y = np.arange(-half_y, half_y + 1, dtype=np.float64)[:, None]
    x = np.arange(-half_x, half_x + 1, dtype=np.float64)[None, :]
    u = x * c + y * s
    v = y * c - x * s
    envelope = -0.5 * (u ** 2 / sx ** 2 + v ** 2 / sy ** 2)
    phase = 2 * np.pi * frequency * u + offset
    g = np.exp(envelope + 1j * phase) / (2 * np.pi * sx * sy)
    return g.astype(dtype)



@docfiller(**_SNIPPETS)
def gabor(image, frequency, theta=0, bandwidth=1, sigma_x=None, sigma_y=None, n_stds=3,
          offset=0, *, boundary="symm", fillvalue=0, channel_axis=None, dtype=None,
          workers=None):
    """Gabor filter: the real and imaginary responses of :func:`gabor_kernel`.

    Equal to ``skimage.filters.gabor(image, frequency, theta, bandwidth,
    sigma_x, sigma_y, n_stds, offset, mode=..., cval=fillvalue)``, whose
    default mode ``'reflect'`` is imfilt's default ``'symm'``: the image
    convolved (``mode='same'``) with the real and the imaginary part of the
    kernel, for float images.  Two differences from scikit-image: integer
    images give float responses by imfilt's dtype policy (scikit-image
    returns the image's integer dtype, the responses truncated and wrapped
    by ``scipy.ndimage.convolve``; pass ``dtype=`` for an integer output,
    rounded and saturated), and a kernel many times larger than the image
    folds the boundary repeatedly as :func:`numpy.pad` does
    (``scipy.ndimage.convolve`` reads past its buffer once the kernel is
    about eight times an image side, and its result there is not defined).

    NaN and inf follow IEEE arithmetic, as in :func:`imfilt.convolve`
    with ``nan_policy='propagate'``: a non-finite sample under any weight,
    even a zero one (the imaginary kernel's centre is exactly 0), makes
    the output non-finite, where ``scipy.ndimage`` (and so scikit-image)
    skips zero weights and can give a finite value or inf instead of NaN.

    Parameters
    ----------
    image : array_like, 2-D (3-D with ``channel_axis``)
        Image of any real dtype.
    frequency, theta, bandwidth, sigma_x, sigma_y, n_stds, offset
        As for :func:`gabor_kernel`.
    boundary : str, optional
        Boundary rule (default ``'symm'``, scikit-image's ``'reflect'``);
        see :func:`imfilt.convolve`.
    fillvalue : float, optional
        Value outside the image for ``boundary='fill'``.
    channel_axis : int, optional
        Axis of a 3-D image holding channels, each filtered on its own.
    dtype : dtype, optional
        Output dtype (default: float32 for float32 and small integer
        images, float64 otherwise).
    workers : int, optional
        Threads; results do not depend on the count.

    Returns
    -------
    real, imag : ndarray
        The two responses, each the shape of ``image``.

    Raises
    ------
    ValueError
        An image that is not 2-D (or 3-D with ``channel_axis``), a
        ``channel_axis`` out of range, an unknown ``boundary``, a
        ``fillvalue`` that is not a scalar, ``workers=0``, or a kernel
        parameter :func:`gabor_kernel` refuses.
    TypeError
        A complex or non-numeric image, an unsupported ``dtype``, a
        non-numeric ``fillvalue``, or a parameter of the wrong type
        (``ParameterTypeError``, which is also a ``ValueError``).

    Examples
    --------
    >>> import numpy as np
    >>> from imfilt import gabor
    >>> real, imag = gabor(np.ones((20, 20)), 0.25)
    >>> real.shape, imag.shape
    ((20, 20), (20, 20))
    """
    image = as_array(image, "image")
    kernel = gabor_kernel(frequency, theta, bandwidth, sigma_x, sigma_y, n_stds, offset)
    boundary = canonical_boundary(boundary)
    if image.dtype.kind == "c":
        raise TypeError(f"gabor filters real images; the image has dtype {image.dtype}")
    check_channel_axis_type(channel_axis)
    if image.ndim == 3 and channel_axis is not None:
        axes = filter_axes(3, None, channel_axis)
    elif image.ndim == 2 and channel_axis is None:
        axes = None
    else:
        raise ValueError(
            f"gabor needs a 2-D image (or 3-D with channel_axis), got shape {image.shape} "
            f"with channel_axis={channel_axis!r}"
        )
    results = []
    for part in (kernel.real, kernel.imag):
        results.append(convolve(image, part, mode="same", boundary=boundary,
                                fillvalue=fillvalue, dtype=dtype, workers=workers,
                                axes=axes, method="direct"))
    return tuple(results)


