"""True 2-D convolution and correlation with SciPy's exact semantics."""

import numpy as np

from imfilt import _banded, _methods, _nanpolicy, _nd
from imfilt._channels import check_colour_ambiguity
from imfilt._modes import canonical_boundary, canonical_mode
from imfilt._geometry import (as_tuple, channel_axis_index, check_out, dilated_span, mode_pads,
                              over_channels, spatial_axes,
                              valid_swap)
from imfilt._threads import resolve_workers
from imfilt._validation import as_array, as_fillvalue, cast_output, result_dtypes

__all__ = ["convolve", "correlate"]

_SHARED_PARAMS = """\
image : array_like, any number of dimensions
    The image (or signal, volume, or stack of images).  Any memory layout
    and byte order; it is never modified.
kernel : array_like
    The filter kernel, not empty.  With ``axes=None`` and as many
    dimensions as the image, the call is an N-D convolution over every axis
    (N >= 1), with :func:`scipy.signal.convolve`'s meaning; for N = 2 the
    rules of :func:`scipy.signal.convolve2d`/``correlate2d`` (which differ
    from ``scipy.signal.correlate`` for even kernels in ``'same'`` and for
    complex input after the ``'valid'`` swap).  A 2-D kernel with a
    higher-dimensional image filters ``axes`` (default the last two) of
    every slice.  Per-slice kernels (leading dimensions equal to the
    image's non-spatial dimensions) need an explicit ``axes`` or
    ``channel_axis``: without them that call means N-D.
mode : {'full', 'same', 'valid'}, optional
    Output size, exactly as :func:`scipy.signal.convolve2d`:

    ``'full'`` (default)
        Every position where kernel and image overlap:
        ``image.shape + kernel.shape - 1``.
    ``'same'``
        The part of ``'full'`` centred like SciPy, with the image's shape.
        For an even kernel length ``k`` the window is
        ``full[(k-1)//2 : (k-1)//2 + n]`` for convolution and
        ``full[k//2 : k//2 + n]`` for 2-D correlation.
    ``'valid'``
        Only positions that need no boundary values:
        ``image.shape - kernel.shape + 1``.  When the kernel is at least as
        large as the image in every axis the two are swapped (as SciPy does);
        when neither fits inside the other a ``ValueError`` is raised.
boundary : str, optional
    How the image is extended beyond its edges, defined by
    :func:`numpy.pad` and folded repeatedly for kernels larger than the
    image:

    ``'fill'`` (or ``'constant'``, default)
        ``fillvalue`` everywhere outside: ``0 0 | a b c d | 0 0``.
    ``'wrap'`` (or ``'circular'``)
        Periodic: ``c d | a b c d | a b``.
    ``'symm'`` (or ``'symmetric'``)
        Mirror including the edge sample: ``b a | a b c d | d c``
        (``scipy.ndimage``'s ``'reflect'``).
    ``'reflect'``
        Mirror about the edge sample: ``c b | a b c d | c b``
        (``scipy.ndimage``'s ``'mirror'``, OpenCV's default).
    ``'edge'`` (or ``'nearest'``)
        Repeat the edge sample: ``a a | a b c d | d d``.
fillvalue : scalar, optional
    Value outside the image for ``boundary='fill'`` (default 0).  Fill
    values are multiplied by the kernel like any other sample, so a NaN
    fill or an infinite weight propagates exactly as in SciPy.
dtype : dtype, optional
    Output dtype.  By default the output follows the image: float32 stays
    float32 (even with a float64 or Python-list kernel), float64 stays
    float64, complex if either input is complex (at the image's
    precision); bool, float16 and 8/16-bit integers give float32, 32/64-bit
    integers give float64, so integer results never wrap around.  A float
    ``dtype`` computes at that precision; an integer ``dtype`` rounds to
    nearest (ties to even) and saturates, NaN becoming 0.
workers : int, optional
    Threads to use.  ``None`` uses the :func:`imfilt.set_workers` default,
    else ``OMP_NUM_THREADS``, else all cores available to the process;
    ``-1`` means all available cores; counts above four times the
    available cores are capped there.  Results are bit-identical for any
    thread count; the GIL is released while the kernel runs.
method : {'auto', 'direct', 'separable', 'fft'}, optional
    How to compute.  ``'direct'`` sums the taps (exact IEEE semantics,
    fastest for small kernels).  ``'separable'`` applies a kernel of
    numerical rank ``r`` as ``r`` pairs of 1-D passes (the rank counts
    singular values above ``4 * max(kh, kw) * eps`` of the largest, eps of
    the compute dtype; exact integer factorisations such as Sobel are found
    first); a kernel whose rank is not below ``min(kh, kw)`` raises
    ``ValueError``.  ``'fft'`` uses real FFTs (:mod:`scipy.fft`, tiled by
    overlap-save for large images); it agrees with ``'direct'`` to about
    ``eps * log2(size) * max|image| * sum|kernel|`` and spreads any NaN or
    inf over the whole output (a ``RuntimeWarning`` says so).  ``'auto'``
    (default) picks the fastest by a cost model calibrated on measured
    timings (``benchmarks/calibrate_auto.py``), but never FFT or separable
    when the input holds NaN or inf, and never FFT for integer image and
    kernel, whose exact result it could not reproduce.
stride : int or tuple of int, optional
    Keep every ``s``-th output sample of the chosen mode, starting at index
    0 (one value per filtered axis, or one for all): ``'valid'`` with stride ``s`` gives ``(n - k) // s + 1`` samples.
    Computed directly (by the FFT method: at full resolution, then
    subsampled).
dilation : int or tuple of int, optional
    Space the kernel taps ``d`` apart (atrous convolution): a 3x3 kernel
    with ``d=2`` covers 5x5.  Equal to filtering with the zero-stuffed
    kernel; the holes are skipped, so a NaN under a hole does not
    propagate.  Modes, alignment and the 'valid' swap use the dilated
    extent ``d * (k - 1) + 1``.
axes : (int, int), optional
    The two spatial axes of an image with extra axes, for a 2-D (or
    per-slice) kernel; default: the last two.  A stack ``(N, H, W)``, a colour image ``(H, W, 3)`` with
    ``axes=(0, 1)`` or ``(N, C, H, W)`` is filtered slice by slice in one
    parallel call.  A 2-D kernel is shared by every slice; a kernel whose
    leading dimensions equal the image's non-spatial dimensions (in order)
    gives each slice its own.
channel_axis : int, optional
    The axis that holds colour channels (scikit-image's convention): it is
    not filtered, the result keeps it, and the result equals filtering each
    channel on its own and stacking along that axis.  With a 2-D kernel the
    spatial axes are the last two other axes (one parallel call); a kernel
    with the image's number of dimensions gives each channel its own 2-D
    kernel.  Without ``axes`` or ``channel_axis``, a 3-D image whose last
    axis has length 3 or 4 and a 2-D kernel raise ``ValueError``: it looks
    like a colour image (pass ``channel_axis=-1``) but would be read as a
    stack of narrow images (pass ``axes=(1, 2)`` if it is one).
out : ndarray, optional
    Destination of the result's exact shape and dtype, not overlapping the
    inputs; returned.  A C-contiguous real ``out`` is written in place by
    the direct kernel, with no temporary.  A :class:`numpy.memmap` ``out``
    (or ``image``) is processed in row bands, see Notes.
nan_policy : {'propagate', 'omit', 'raise'}, optional
    What NaN and inf in the image do.  ``'propagate'`` (default): IEEE
    arithmetic, as SciPy.  ``'raise'``: ``ValueError`` when the image, the
    kernel or a used ``fillvalue`` holds NaN or inf.  ``'omit'``: leave
    non-finite samples out and rescale by the weight that fell on finite
    ones, ``sum_finite(w * x) * sum(w) / sum_finite(w)`` -- equal to
    ``astropy.convolution.convolve(..., nan_treatment='interpolate')`` for
    normalised kernels (astropy omits NaN only; imfilt also omits inf, and
    allows even kernels).  Windows with no non-finite sample at all give
    exactly the ``'propagate'`` value (a NaN under a zero weight is omitted
    here, where ``'propagate'`` would spread it); windows where no
    finite sample meets a non-zero weight give NaN; a NaN ``fillvalue``
    makes the outside count as missing.  Zero-sum kernels (derivatives, for
    which astropy raises) are rescaled by the absolute weight,
    ``sum|w| / sum_finite|w|``.  ``'omit'`` costs three filter passes when
    the image holds non-finite values, one when it does not."""

_RETURNS = """\
out : ndarray
    The result, of the dtype described under ``dtype``; the spatial axes
    have the size of ``mode`` (and ``stride``), other axes are kept."""

_RAISES = """\
ValueError
    Unknown ``mode``, ``boundary`` or ``method``, mismatched or unsupported
    dimensions, an empty kernel, a non-scalar ``fillvalue``, a bad
    ``workers``, ``stride``, ``dilation``, ``axes`` or ``out``, shapes that
    have no ``'valid'`` output, or ``method='separable'`` with a full-rank
    kernel.
TypeError
    Non-numeric input (object, string, datetime ...), an unsupported
    ``dtype``, or an ``out`` that is not an ndarray."""


def _doc(template):
    def indent(text):
        return "\n".join(("    " + line) if line else line for line in text.splitlines())
    return (template.replace("%(params)s", indent(_SHARED_PARAMS))
                    .replace("%(returns)s", indent(_RETURNS))
                    .replace("%(raises)s", indent(_RAISES)))


#: Largest dilated kernel extent per axis: padded axes of this length still
#: leave room for index arithmetic in 64-bit ``Py_ssize_t``.
_MAX_SPAN = 2**40


def _zero_stuff(w, dilation):
    """The kernel with ``d - 1`` zeros between taps (the atrous definition)."""
    d0, d1 = dilation
    if d0 == d1 == 1:
        return w
    lead = w.shape[:-2]
    k0, k1 = w.shape[-2:]
    out = np.zeros(lead + (d0 * (k0 - 1) + 1, d1 * (k1 - 1) + 1), dtype=w.dtype)
    out[..., ::d0, ::d1] = w
    return out


def _filter(image, kernel, mode, boundary, fillvalue, dtype, workers, flip,
            method, stride, dilation, axes, out, nan_check=True):
    image = as_array(image, "image")
    kernel = as_array(kernel, "kernel")
    mode = canonical_mode(mode)
    boundary = canonical_boundary(boundary)
    method = _methods.canonical_method(method)
    nthreads = resolve_workers(workers)
    compute, out_dtype = result_dtypes(image.dtype, kernel.dtype, dtype)
    fill = as_fillvalue(fillvalue, compute)
    if axes is None and image.ndim == kernel.ndim >= 3:
        # N-D convolution over every axis, scipy.signal.convolve's meaning.
        return _nd.filter_nd(image, kernel, mode, boundary, fill, compute, out_dtype, nthreads,
                             flip, method, stride, dilation, out, nan_check)
    stride = as_tuple("stride", stride, 2, minimum=1)
    dilation = as_tuple("dilation", dilation, 2, minimum=1)

    if image.ndim == 0 and kernel.ndim == 0:
        return _scalar_product(image, kernel, flip, axes, compute, out_dtype, out)

    # --- dimensions: 1-D, 2-D, or a stack with two spatial axes ----------------
    one_d = image.ndim == 1 and kernel.ndim == 1
    if one_d:
        if axes is not None:
            raise ValueError(f"axes={axes!r} is only for images with 2 or more dimensions")
        x = image[np.newaxis, np.newaxis, :]
        w = kernel[np.newaxis, np.newaxis, :]
        lead_shape, perm = (), None
        stride, dilation = (1, stride[1]), (1, dilation[1])
    elif image.ndim >= 2 and kernel.ndim >= 2:
        ax = spatial_axes(axes, image.ndim)
        lead_axes = [a for a in range(image.ndim) if a not in ax]
        lead_shape = tuple(image.shape[a] for a in lead_axes)
        perm = lead_axes + list(ax)
        if kernel.ndim not in (2, image.ndim):
            raise ValueError(
                f"kernel.ndim={kernel.ndim} does not fit image.ndim={image.ndim}: use a 2-D "
                f"kernel for every slice, or a kernel of shape {lead_shape} + (kh, kw) "
                "to give each slice its own"
            )
        if kernel.ndim == image.ndim and kernel.shape[:-2] != lead_shape:
            raise ValueError(
                f"kernel has leading shape {kernel.shape[:-2]} but the image's non-spatial "
                f"axes have shape {lead_shape}; they must match to give each slice its own kernel"
            )
        batch = int(np.prod(lead_shape, dtype=np.int64))
        x = image.transpose(perm).reshape((batch,) + tuple(image.shape[a] for a in ax))
        w = kernel.reshape((int(np.prod(kernel.shape[:-2], dtype=np.int64)),) + kernel.shape[-2:])
    else:
        raise ValueError(
            "image and kernel must both be 1-D, or both have at least 2 dimensions; got "
            f"image.ndim={image.ndim} (shape {image.shape}) and "
            f"kernel.ndim={kernel.ndim} (shape {kernel.shape})"
        )
    if w.size == 0 or 0 in kernel.shape:
        raise ValueError(f"kernel must not be empty; got shape {kernel.shape}")

    # --- SciPy's 'valid' swap, on the dilated kernel's extent -------------------
    span = tuple(dilated_span(k, d) for d, k in zip(dilation, w.shape[-2:]))
    if max(span) > _MAX_SPAN:
        # Python ints would carry on, but the index maps and C loops cannot.
        raise ValueError(
            f"dilation={dilation if not one_d else dilation[1]} with a kernel of shape "
            f"{kernel.shape} spans {span if not one_d else span[1]} samples, more than "
            f"the {_MAX_SPAN} imfilt can index; use a smaller dilation"
        )
    spatial = x.shape[-2:]
    swapped = valid_swap(mode, spatial, span)
    if swapped:
        if x.shape[-2] * x.shape[-1] == 0:
            raise ValueError(
                f"image is empty (shape {image.shape}) and mode='valid' would "
                "swap it with the larger kernel; no valid output exists"
            )
        # The kernel becomes the image: materialise its holes, then swap.
        big = _zero_stuff(w, dilation)
        dilation = (1, 1)
        B = max(x.shape[0], big.shape[0])
        x, w = np.broadcast_to(big, (B,) + big.shape[1:]), x
        span = w.shape[-2:]
        swap_stride, stride = stride, (1, 1)
    if x.shape[-2] * x.shape[-1] == 0 and boundary != "fill" and mode != "valid":
        raise ValueError(
            f"image is empty (shape {image.shape}); boundary={boundary!r} cannot "
            "extend it. Use boundary='fill' or a non-empty image"
        )

    # --- correlation form ------------------------------------------------------
    if flip:
        w = w[:, ::-1, ::-1]
    elif w.dtype.kind == "c":
        w = np.conj(w)
    align = flip or one_d
    pads = tuple(mode_pads(mode, k, align) for k in span)
    problem = _methods.Problem(x=x, w=w, pads=pads, stride=stride, dilation=dilation,
                               boundary=boundary, fill=fill, compute=compute,
                               nthreads=nthreads)

    # --- the result's shape, and out= ---------------------------------------------
    o0, o1 = problem.out_shape
    if swapped:
        # SciPy's swapped result, then every s-th sample of it.
        o0, o1 = len(range(0, o0, swap_stride[0])), len(range(0, o1, swap_stride[1]))
    if one_d:
        final_shape = (o1,)
    elif perm is None or image.ndim == 2:
        final_shape = (o0, o1)
    else:
        final_shape = _unpermuted_shape(image.ndim, perm, lead_shape, (o0, o1))
    if out is not None:
        check_out(out, final_shape, out_dtype, [("image", image), ("kernel", kernel)])

    chosen = _methods.choose(problem, method, nan_check=nan_check)
    # Write straight into out= when its memory is exactly the kernel's output.
    in_place = (out is not None and chosen == "direct" and not swapped
                and out.dtype == compute and compute.kind != "c" and out.flags.c_contiguous
                and (one_d or image.ndim == 2 or list(perm) == list(range(image.ndim))))
    if in_place:
        problem.dest = out.reshape((x.shape[0], o0, o1))
        _methods.run(problem, chosen)
        return out
    result = _methods.run(problem, chosen)             # (B, o0', o1') compute dtype
    if swapped:
        if not flip:
            result = result[:, ::-1, ::-1]              # correlate2d flips after a swap
            if one_d and result.dtype.kind == "c":
                # 1-D correlation is conjugate-symmetric under the swap
                # (numpy.correlate, scipy.signal.correlate); correlate2d is not.
                result = np.conj(result)
        result = result[:, ::swap_stride[0], ::swap_stride[1]]
    result = cast_output(result, out_dtype)
    if one_d:
        result = result.reshape(final_shape)
    elif image.ndim == 2:
        result = result.reshape(final_shape)
    else:
        result = result.reshape(lead_shape + result.shape[-2:])
        result = result.transpose(np.argsort(perm))
    if out is not None:
        np.copyto(out, result)
        return out
    return np.ascontiguousarray(result)


def _scalar_product(image, kernel, flip, axes, compute, out_dtype, out):
    """0-D image and kernel: the product (conjugated kernel for correlation),
    as :func:`scipy.signal.convolve`/``correlate`` return it, in every mode."""
    if axes is not None:
        raise ValueError(f"axes={axes!r} is only for images with 2 or more dimensions")
    w = kernel.astype(compute)
    product = image.astype(compute).reshape(1) * (w if flip else np.conj(w))
    result = cast_output(product, out_dtype).reshape(())
    if out is not None:
        check_out(out, (), out_dtype, [("image", image), ("kernel", kernel)])
        np.copyto(out, result)
        return out
    return np.asarray(result)


def _unpermuted_shape(ndim, perm, lead_shape, spatial):
    shape = [0] * ndim
    for pos, axis in enumerate(perm):
        shape[axis] = (lead_shape + tuple(spatial))[pos]
    return tuple(shape)


def _dispatch(image, kernel, mode, boundary, fillvalue, dtype, workers, flip,
              method, stride, dilation, axes, out, nan_policy):
    """The public entry: row bands for memmaps, then the NaN policy, then ``_filter``."""
    nan_policy = _nanpolicy.canonical_nan_policy(nan_policy)
    if _banded.wanted(image, kernel, out, axes):
        return _banded.filter_in_bands(
            lambda patch, o: _dispatch(patch, kernel, "valid", "fill", 0, dtype, workers,
                                       flip, method, stride, dilation, None, o, nan_policy),
            image, kernel, mode, boundary, fillvalue, dtype, flip, stride, dilation, out)
    if nan_policy == "raise":
        _nanpolicy.check_finite(image, kernel, boundary, fillvalue)
    elif nan_policy == "omit":
        if axes is None and np.ndim(image) == np.ndim(kernel) >= 3:
            raise ValueError(
                "nan_policy='omit' is not supported for N-D convolution (a kernel with "
                f"{np.ndim(kernel)} dimensions over every axis of the image) yet; use "
                "nan_policy='propagate' or 'raise', or 2-D kernels with axes="
            )
        def run(img, w, fill, dt, o):
            return _filter(img, w, mode, boundary, fill, dt, workers, flip, method, stride,
                           dilation, axes, o)
        img, w = np.asarray(image), np.asarray(kernel)
        dil = as_tuple("dilation", dilation, 2, minimum=1)[-min(w.ndim, 2):] if w.ndim else ()
        spans = [d * (k - 1) + 1 for d, k in zip(dil, w.shape[-2:])]
        swapped = (mode == "valid" and img.ndim >= 1 and w.ndim >= 1 and 0 not in w.shape
                   and all(k >= n for n, k in zip(img.shape[-len(spans):], spans)))
        return _nanpolicy.filter_omit(run, image, kernel, boundary, fillvalue, dtype, axes,
                                      out, swapped=swapped, nthreads=resolve_workers(workers))
    return _filter(image, kernel, mode, boundary, fillvalue, dtype, workers, flip,
                   method, stride, dilation, axes, out)


def _channels(image, kernel, axes, channel_axis, func):
    """Resolve ``channel_axis`` and the colour-ambiguity rule.

    Returns ``(axes, c)``: the spatial axes to pass on (the last two axes
    other than the channel axis when only ``channel_axis`` is given) and
    the channel axis when the call must loop over channels (a 1-D or N-D
    kernel), else None.
    """
    image = as_array(image, "image")
    kernel = as_array(kernel, "kernel")
    if channel_axis is None:
        if kernel.ndim == 2:
            check_colour_ambiguity(image.shape, axes, None, func)
        return axes, None
    c = channel_axis_index(channel_axis, image.ndim)
    rest = [a for a in range(image.ndim) if a != c]
    if kernel.ndim >= 2 and kernel.ndim in (2, image.ndim) and len(rest) >= 2:
        if axes is None:
            return (rest[-2], rest[-1]), None
        ax = spatial_axes(axes, image.ndim)
        if c in ax:
            raise ValueError(f"axes={axes!r} contains the channel axis "
                             f"channel_axis={channel_axis!r}; the channel axis is never filtered")
        return ax, None
    return axes, c


def _public(image, kernel, mode, boundary, fillvalue, dtype, workers, flip, method, stride,
            dilation, axes, out, nan_policy, channel_axis, func):
    axes, c = _channels(image, kernel, axes, channel_axis, func)
    if c is None:
        return _dispatch(image, kernel, mode, boundary, fillvalue, dtype, workers, flip,
                         method, stride, dilation, axes, out, nan_policy)
    # One call per channel (a kernel with one dimension fewer than the image).
    result = over_channels(
        lambda plane: _dispatch(plane, kernel, mode, boundary, fillvalue, dtype, workers, flip,
                                method, stride, dilation, axes, None, nan_policy),
        as_array(image, "image"), c)
    if out is not None:
        check_out(out, result.shape, result.dtype, [("image", image), ("kernel", kernel)])
        np.copyto(out, result)
        return out
    return result


def convolve(image, kernel, mode="full", boundary="fill", fillvalue=0, *,
             dtype=None, workers=None, method="auto", stride=1, dilation=1,
             axes=None, channel_axis=None, out=None, nan_policy="propagate"):
    return _public(image, kernel, mode, boundary, fillvalue, dtype, workers, True, method,
                   stride, dilation, axes, out, nan_policy, channel_axis, "convolve")


def correlate(image, kernel, mode="full", boundary="fill", fillvalue=0, *,
              dtype=None, workers=None, method="auto", stride=1, dilation=1,
              axes=None, channel_axis=None, out=None, nan_policy="propagate"):
    return _public(image, kernel, mode, boundary, fillvalue, dtype, workers, False, method,
                   stride, dilation, axes, out, nan_policy, channel_axis, "correlate")


convolve.__doc__ = _doc(
    """True 2-D, 1-D or N-D convolution: the kernel is flipped.

    ``out[i, j] = sum_{a, b} image[i - a, j - b] * kernel[a, b]`` over the
    image extended by ``boundary``.  Equal to
    :func:`scipy.signal.convolve2d` (and :func:`scipy.signal.convolve` for
    1-D inputs) in every mode, boundary and alignment rule, to floating
    point rounding, and to ``convolve2d(np.pad(image, pads, mode), kernel,
    'valid')`` for the boundaries SciPy lacks.

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
    correlate : the same without flipping the kernel.
    scipy.signal.convolve2d : the reference semantics.
    imfilt.dask.convolve : the same on chunked Dask arrays (optional extra).

    Notes
    -----
    Accuracy: the sum runs tap by tap in the compute dtype (float32 for
    float32 images), so results differ from SciPy's by rounding only,
    bounded by about ``kernel.size * eps * (|image| * |kernel|)``.  NaN and
    inf propagate exactly as in SciPy: every tap is multiplied, including
    zero weights and fill values.

    Out-of-core: when ``image`` or ``out`` is a 2-D :class:`numpy.memmap`
    larger than ``imfilt._banded.BAND_BYTES`` (32 MiB), the call runs in
    bands of output rows: each band gathers exactly the image rows its
    windows read, is filtered, written to ``out`` and its pages of both
    mappings are handed back to the OS.  Peak memory beyond the output (if
    ``out`` is not itself a memmap) is then about three bands (about eight
    with ``nan_policy='omit'``) plus the bytes of the mapped pages of one
    band, whatever the file sizes; the result is identical.

    N-D (image and kernel with N >= 3 dimensions, ``axes=None``): equal to
    ``scipy.signal.convolve(image, kernel, mode, method='direct')`` for
    ``boundary='fill'`` and to ``numpy.pad`` followed by a ``'valid'``
    convolution for the other boundaries, applied on every axis.  The
    direct method sums 2-D passes over the leading axes, ``'fft'`` uses
    :func:`scipy.fft.rfftn`, ``'separable'`` applies a kernel that is an
    outer product of 1-D kernels as one 1-D pass per axis.
    ``nan_policy='omit'`` is not available for N-D yet.

    Examples
    --------
    >>> import numpy as np
    >>> import imfilt
    >>> imfilt.convolve(np.ones((3, 32, 32)), np.ones((3, 3, 3))).shape   # N-D, as SciPy
    (5, 34, 34)
    >>> image = np.array([[1., 2.], [3., 4.]])
    >>> kernel = np.array([[1., 0., 0.], [0., 0., 0.], [0., 0., -1.]])
    >>> imfilt.convolve(image, kernel).shape
    (4, 4)
    >>> imfilt.convolve(image, kernel)
    array([[ 1.,  2.,  0.,  0.],
           [ 3.,  4.,  0.,  0.],
           [ 0.,  0., -1., -2.],
           [ 0.,  0., -3., -4.]])
    >>> imfilt.convolve(np.arange(25.).reshape(5, 5), np.ones((3, 3)), mode="valid")
    array([[ 54.,  63.,  72.],
           [ 99., 108., 117.],
           [144., 153., 162.]])
    >>> imfilt.convolve([1, 2, 3], [0, 1, 0.5], mode="same")  # 1-D, int64 -> float64
    array([1. , 2.5, 4. ])
    >>> imfilt.convolve(np.array([1, 2, 3], dtype=np.uint8), [0, 1, 0.5], mode="same")
    array([1. , 2.5, 4. ], dtype=float32)

    NaN-aware smoothing: ``nan_policy="omit"`` averages the finite neighbours.

    >>> row = np.array([[1., np.nan, 3.]])
    >>> imfilt.convolve(row, [[1/3, 1/3, 1/3]], mode="same", boundary="edge",
    ...                 nan_policy="omit")
    array([[1., 2., 3.]])

    Stride, dilation and a stack of colour images:

    >>> image = np.arange(36.0).reshape(6, 6)
    >>> imfilt.convolve(image, np.ones((2, 2)), mode="valid", stride=2)
    array([[ 14.,  22.,  30.],
           [ 62.,  70.,  78.],
           [110., 118., 126.]])
    >>> imfilt.convolve(image, np.ones((2, 2)), mode="valid", dilation=2).shape
    (4, 4)
    >>> rgb = np.ones((8, 8, 3), dtype=np.float32)
    >>> imfilt.convolve(rgb, np.ones((3, 3)) / 9, mode="same", boundary="edge",
    ...                 axes=(0, 1))[4, 4]
    array([1., 1., 1.], dtype=float32)
    >>> g = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0
    >>> smooth = imfilt.convolve(image, g, mode="same", method="separable")
    >>> bool(np.allclose(smooth, imfilt.convolve(image, g, mode="same", method="direct")))
    True
    """
)

correlate.__doc__ = _doc(
    """2-D, 1-D or N-D cross-correlation: the kernel is not flipped.

    ``out[i, j] = sum_{a, b} image[i + a, j + b] * conj(kernel[a, b])`` over
    the image extended by ``boundary``.  Equal to
    :func:`scipy.signal.correlate2d` for 2-D inputs and to
    :func:`scipy.signal.correlate` (and :func:`numpy.correlate`) for 1-D
    inputs, in every mode and alignment rule, to floating point rounding.

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
    convolve : true convolution (kernel flipped).
    scipy.signal.correlate2d : the reference semantics.
    imfilt.dask.correlate : the same on chunked Dask arrays (optional extra).

    Notes
    -----
    Even-length kernels in ``'same'`` mode: 2-D correlation follows
    ``correlate2d`` (window ``full[k//2 : k//2 + n]``), while 1-D and N-D
    (N >= 3) correlation follow ``scipy.signal.correlate``/``numpy.correlate``
    (window ``full[(k-1)//2 : (k-1)//2 + n]``); odd kernels agree
    everywhere.  After the ``'valid'`` swap, 1-D and N-D complex results
    are conjugated as in ``scipy.signal.correlate``; 2-D ones are not, as
    in ``correlate2d``.  In ``'valid'`` mode with a kernel larger than the image,
    the inputs are swapped and the result flipped, exactly as SciPy does;
    for complex inputs that makes SciPy (and imfilt) conjugate the image
    instead of the kernel.

    Out-of-core: when ``image`` or ``out`` is a 2-D :class:`numpy.memmap`
    larger than ``imfilt._banded.BAND_BYTES`` (32 MiB), the call runs in
    bands of output rows: each band gathers exactly the image rows its
    windows read, is filtered, written to ``out`` and its pages of both
    mappings are handed back to the OS.  Peak memory beyond the output (if
    ``out`` is not itself a memmap) is then about three bands (about eight
    with ``nan_policy='omit'``) plus the bytes of the mapped pages of one
    band, whatever the file sizes; the result is identical.

    Examples
    --------
    >>> import numpy as np
    >>> import imfilt
    >>> image = np.arange(16, dtype=np.float32).reshape(4, 4)
    >>> kernel = np.array([[0, 0, 0], [0, 0, 1], [0, 0, 0]])
    >>> imfilt.correlate(image, kernel, mode="same")   # shift left by one
    array([[ 1.,  2.,  3.,  0.],
           [ 5.,  6.,  7.,  0.],
           [ 9., 10., 11.,  0.],
           [13., 14., 15.,  0.]], dtype=float32)
    >>> imfilt.correlate(image, kernel, mode="same", boundary="wrap")[0]
    array([1., 2., 3., 0.], dtype=float32)
    """
)
