"""True 2-D convolution and correlation with SciPy's exact semantics."""

import numpy as np

from imfilt._kernels import _conv
from imfilt._modes import boundary_index, canonical_boundary, canonical_mode
from imfilt._threads import resolve_workers
from imfilt._validation import as_array, as_fillvalue, cast_output, result_dtypes

__all__ = ["convolve", "correlate"]

_SHARED_PARAMS = """\
image : array_like, 1-D or 2-D
    The image (or signal).  Any memory layout and byte order; it is never
    modified.
kernel : array_like, same number of dimensions as ``image``
    The filter kernel; must not be empty.
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
    ``-1`` means all available cores.  Results are bit-identical for any
    thread count; the GIL is released while the kernel runs."""

_RETURNS = """\
out : ndarray
    1-D or 2-D array of the result dtype described under ``dtype``."""


def _doc(template):
    return template.replace("%(params)s", _SHARED_PARAMS).replace("%(returns)s", _RETURNS)


def _as_2d_pair(image, kernel):
    """Validate dimensions; return 2-D views and whether the input was 1-D."""
    if image.ndim == kernel.ndim == 2:
        return image, kernel, False
    if image.ndim == kernel.ndim == 1:
        return image[np.newaxis, :], kernel[np.newaxis, :], True
    raise ValueError(
        "image and kernel must both be 1-D or both be 2-D; got "
        f"image.ndim={image.ndim} (shape {image.shape}) and "
        f"kernel.ndim={kernel.ndim} (shape {kernel.shape})"
    )


def _swap_needed(mode, image_shape, kernel_shape):
    """SciPy's rule: in 'valid' mode swap when the kernel is the larger."""
    if mode != "valid":
        return False
    ok1 = all(i >= k for i, k in zip(image_shape, kernel_shape))
    ok2 = all(k >= i for i, k in zip(image_shape, kernel_shape))
    if not (ok1 or ok2):
        raise ValueError(
            "in mode='valid' one of image and kernel must be at least as large as "
            f"the other in every axis; got image shape {image_shape} and kernel "
            f"shape {kernel_shape}. Use mode='same' or 'full', or crop one of them"
        )
    return not ok1


def _pads(mode, k, flip_alignment):
    """Padding (before, after) of one axis for a correlation-form kernel.

    ``flip_alignment`` is True for convolution (SciPy centres 'same' at
    ``(k-1)//2`` of the full result) and False for 2-D correlation
    (``k//2``).
    """
    if mode == "full":
        return k - 1, k - 1
    if mode == "valid":
        return 0, 0
    before = k // 2 if flip_alignment else (k - 1) // 2
    return before, k - 1 - before


def _correlate_real(x, w, pads, boundary, fill, nthreads):
    """Run the Cython kernel on contiguous real ``x`` and ``w`` of one dtype."""
    (pt, pb), (pl, pr) = pads
    n0, n1 = x.shape
    k0, k1 = w.shape
    o0 = n0 + pt + pb - k0 + 1
    o1 = n1 + pl + pr - k1 + 1
    out = np.empty((max(o0, 0), max(o1, 0)), dtype=x.dtype)
    if out.size == 0:
        return out
    if n0 == 0 or n1 == 0:
        # Empty image with boundary='fill': every padded sample is the fill
        # value; multiply it through the kernel like any other sample.
        padded = np.full((o0 + k0 - 1, o1 + k1 - 1), fill, dtype=x.dtype)
        x, pads = padded, ((0, 0), (0, 0))
        pt = pb = pl = pr = 0
        n0, n1 = padded.shape
    rowmap = boundary_index(n0, pt, pb, boundary)
    colmap = boundary_index(n1, pl, pr, boundary)
    nthreads = max(1, min(nthreads, o0))
    padded_cols = o1 + k1 - 1
    fillrow = np.full(padded_cols, fill, dtype=x.dtype)
    strips = np.empty((nthreads, k0 * padded_cols), dtype=x.dtype)
    pointers = np.empty((nthreads, 2 * k0), dtype=np.intp)
    _conv.correlate_padded(x, w, out, rowmap, colmap, pl, x.dtype.type(fill),
                           nthreads, fillrow, strips, pointers)
    return out


def _correlate_any(x, w, pads, boundary, fill, compute, nthreads):
    """Correlate in ``compute`` dtype; complex runs as real passes."""
    if compute.kind != "c":
        xc = np.ascontiguousarray(x, dtype=compute)
        wc = np.ascontiguousarray(w, dtype=compute)
        return _correlate_real(xc, wc, pads, boundary, fill, nthreads)
    real = np.dtype(np.float32 if compute == np.complex64 else np.float64)
    fill = complex(fill)
    xr = np.ascontiguousarray(x.real, dtype=real)
    wr = np.ascontiguousarray(w.real, dtype=real)
    rr = _correlate_real(xr, wr, pads, boundary, fill.real, nthreads)
    out = np.empty(rr.shape, dtype=compute)
    x_complex = x.dtype.kind == "c"
    w_complex = w.dtype.kind == "c"
    xi = np.ascontiguousarray(x.imag, dtype=real) if x_complex else None
    wi = np.ascontiguousarray(w.imag, dtype=real) if w_complex else None
    # (xr + i xi) * (wr + i wi) = (xr wr - xi wi) + i (xr wi + xi wr);
    # every product term appears, so NaN/inf propagate as a per-tap product.
    real_part = rr
    imag_part = np.zeros(rr.shape, dtype=real)
    if x_complex or fill.imag != 0:
        if xi is None:
            xi = np.zeros(xr.shape, dtype=real)
        imag_part = imag_part + _correlate_real(xi, wr, pads, boundary, fill.imag, nthreads)
        if w_complex:
            real_part = real_part - _correlate_real(xi, wi, pads, boundary, fill.imag, nthreads)
    if w_complex:
        imag_part = imag_part + _correlate_real(xr, wi, pads, boundary, fill.real, nthreads)
    out.real = real_part
    out.imag = imag_part
    return out


def _filter2d(image, kernel, mode, boundary, fillvalue, dtype, workers, flip):
    image = as_array(image, "image")
    kernel = as_array(kernel, "kernel")
    mode = canonical_mode(mode)
    boundary = canonical_boundary(boundary)
    nthreads = resolve_workers(workers)
    compute, out_dtype = result_dtypes(image.dtype, kernel.dtype, dtype)
    fill = as_fillvalue(fillvalue, compute)

    x, w, one_d = _as_2d_pair(image, kernel)
    if w.size == 0:
        raise ValueError(f"kernel must not be empty; got shape {kernel.shape}")

    swapped = _swap_needed(mode, x.shape, w.shape)
    if swapped:
        x, w = w, x
        if w.size == 0:
            raise ValueError(
                f"image is empty (shape {image.shape}) and mode='valid' would "
                "swap it with the larger kernel; no valid output exists"
            )
    if x.size == 0 and boundary != "fill" and mode != "valid":
        raise ValueError(
            f"image is empty (shape {image.shape}); boundary={boundary!r} cannot "
            "extend it. Use boundary='fill' or a non-empty image"
        )

    # Reduce to correlation with a correlation-form kernel.
    if flip:
        w = w[::-1, ::-1]
    elif w.dtype.kind == "c":
        w = np.conj(w)
    # 1-D correlation follows scipy.signal.correlate / numpy.correlate, whose
    # 'same' window is centred like convolution's; 2-D follows correlate2d.
    align_like_convolution = flip or one_d
    pads = tuple(_pads(mode, k, align_like_convolution) for k in w.shape)
    if mode == "same":
        # 'same' keeps the image's shape (never swaps): pads sum to k - 1.
        pass
    out = _correlate_any(x, w, pads, boundary, fill, compute, nthreads)
    if swapped and not flip:
        out = out[::-1, ::-1]
    out = cast_output(out, out_dtype)
    if one_d:
        out = out[0]
    return np.ascontiguousarray(out)


def convolve(image, kernel, mode="full", boundary="fill", fillvalue=0, *,
             dtype=None, workers=None):
    return _filter2d(image, kernel, mode, boundary, fillvalue, dtype, workers, flip=True)


def correlate(image, kernel, mode="full", boundary="fill", fillvalue=0, *,
              dtype=None, workers=None):
    return _filter2d(image, kernel, mode, boundary, fillvalue, dtype, workers, flip=False)


convolve.__doc__ = _doc(
    """True 2-D (or 1-D) convolution: the kernel is flipped.

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
    ValueError
        Unknown ``mode`` or ``boundary``, mismatched or unsupported
        dimensions, an empty kernel, a non-scalar ``fillvalue``, a bad
        ``workers``, or shapes that have no ``'valid'`` output.
    TypeError
        Non-numeric input (object, string, datetime ...) or an unsupported
        ``dtype``.

    See Also
    --------
    correlate : the same without flipping the kernel.
    scipy.signal.convolve2d : the reference semantics.

    Notes
    -----
    Accuracy: the sum runs tap by tap in the compute dtype (float32 for
    float32 images), so results differ from SciPy's by rounding only,
    bounded by about ``kernel.size * eps * (|image| * |kernel|)``.  NaN and
    inf propagate exactly as in SciPy: every tap is multiplied, including
    zero weights and fill values.

    Examples
    --------
    >>> import numpy as np
    >>> import imfilt
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
    """
)

correlate.__doc__ = _doc(
    """2-D (or 1-D) cross-correlation: the kernel is not flipped.

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
    ValueError
        Unknown ``mode`` or ``boundary``, mismatched or unsupported
        dimensions, an empty kernel, a non-scalar ``fillvalue``, a bad
        ``workers``, or shapes that have no ``'valid'`` output.
    TypeError
        Non-numeric input (object, string, datetime ...) or an unsupported
        ``dtype``.

    See Also
    --------
    convolve : true convolution (kernel flipped).
    scipy.signal.correlate2d : the reference semantics.

    Notes
    -----
    Even-length kernels in ``'same'`` mode: 2-D correlation follows
    ``correlate2d`` (window ``full[k//2 : k//2 + n]``), while 1-D
    correlation follows ``scipy.signal.correlate``/``numpy.correlate``
    (window ``full[(k-1)//2 : (k-1)//2 + n]``); odd kernels agree
    everywhere.  In ``'valid'`` mode with a kernel larger than the image,
    the inputs are swapped and the result flipped, exactly as SciPy does;
    for complex inputs that makes SciPy (and imfilt) conjugate the image
    instead of the kernel.

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
