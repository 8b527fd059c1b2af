"""True 2-D convolution and correlation with SciPy's exact semantics.

Each front parses its arguments once (:func:`imfilt._linear.parse`) and
hands them to the linear filter pipeline (:func:`imfilt._linear.apply`).
"""

from imfilt import _linear
from imfilt._docs import SNIPPETS, docfiller

__all__ = ["convolve", "correlate"]

_DOCS = dict(
    image_kernel="""\
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
    ``channel_axis``: without them that call means N-D.""",
    stride_dilation="""\
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
    extent ``d * (k - 1) + 1``.""",
    axes2="""\
axes : (int, int), optional
    The two spatial axes of an image with extra axes, for a 2-D (or
    per-slice) kernel; default: the last two.  A stack ``(N, H, W)``, a colour image ``(H, W, 3)`` with
    ``axes=(0, 1)`` or ``(N, C, H, W)`` is filtered slice by slice in one
    parallel call.  A 2-D kernel is shared by every slice; a kernel whose
    leading dimensions equal the image's non-spatial dimensions (in order)
    gives each slice its own.""",
    channel_axis_linear="""\
channel_axis : int, optional
    The axis that holds colour channels (scikit-image's convention): it is
    not filtered, the result keeps it, and the result equals filtering each
    channel on its own and stacking along that axis.  With a 2-D kernel the
    spatial axes are the last two other axes (one parallel call); a kernel
    with the image's number of dimensions gives each channel its own 2-D
    kernel.  Without ``axes`` or ``channel_axis``, a 3-D image whose last
    axis has length 3 or 4 and a 2-D kernel raise ``ValueError``: it looks
    like a colour image (pass ``channel_axis=-1``) but would be read as a
    stack of narrow images (pass ``axes=(1, 2)`` if it is one).""",
    out_banded="""\
out : ndarray, optional
    Destination of the result's exact shape and dtype, not overlapping the
    inputs; returned.  A C-contiguous real ``out`` is written in place by
    the direct kernel, with no temporary.  A :class:`numpy.memmap` ``out``
    (or ``image``) is processed in row bands, see Notes.""",
    nan_policy_linear="""\
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
    here, where ``'propagate'`` would spread it); windows where every
    non-zero weight meets a non-finite sample, or where the weights on
    finite samples sum to zero (for weights of both signs: within
    ``2**-40 * sum|w|``, ``2**-14`` for float32 -- the FFT's rounding), give
    NaN; a NaN ``fillvalue``
    makes the outside count as missing.  Zero-sum kernels (derivatives, for
    which astropy raises) are rescaled by the absolute weight,
    ``sum|w| / sum_finite|w|``.  ``'omit'`` costs three filter passes when
    the image holds non-finite values, one when it does not.""",
    returns="""\
out : ndarray
    The result, of the dtype described under ``dtype``; the spatial axes
    have the size of ``mode`` (and ``stride``), other axes are kept.""",
    raises="""\
ValueError
    Unknown ``mode``, ``boundary`` or ``method``, mismatched or unsupported
    dimensions, an empty kernel, a non-scalar ``fillvalue``, a bad
    ``workers``, ``stride``, ``dilation``, ``axes`` or ``out``, shapes that
    have no ``'valid'`` output, or ``method='separable'`` with a full-rank
    kernel.
TypeError
    Non-numeric input (object, string, datetime ...), an unsupported
    ``dtype``, or an ``out`` that is not an ndarray.""",
)
_DOCS["linear_sections"] = "\n".join([
    "Parameters", "----------", _DOCS["image_kernel"], SNIPPETS["mode"],
    SNIPPETS["boundary_fill"], SNIPPETS["fillvalue"], SNIPPETS["dtype"], SNIPPETS["workers"],
    SNIPPETS["method"], _DOCS["stride_dilation"], _DOCS["axes2"], _DOCS["channel_axis_linear"], _DOCS["out_banded"],
    _DOCS["nan_policy_linear"], "", "Returns", "-------", _DOCS["returns"], "",
    "Raises", "------", _DOCS["raises"]])
_DOCS["out_of_core"] = """\
Out-of-core: when ``image`` or ``out`` is a 2-D :class:`numpy.memmap`
larger than 32 MiB, the call runs in bands of output rows: each band
gathers exactly the image rows its windows read, is filtered, written to
``out`` and its pages of both mappings are handed back to the OS.  Peak
memory beyond the output (if ``out`` is not itself a memmap) is then about
three bands (about eight with ``nan_policy='omit'``) plus the bytes of the
mapped pages of one band, whatever the file sizes.  The result is
identical with ``method='direct'``; the other methods (and ``'auto'``)
agree with it to rounding."""
_fill_docs = docfiller(**_DOCS)


@_fill_docs
def convolve(image, kernel, mode="full", boundary="fill", fillvalue=0, *,
             dtype=None, workers=None, method="auto", stride=1, dilation=1,
             axes=None, channel_axis=None, out=None, nan_policy="propagate"):
    """True 2-D, 1-D or N-D convolution: the kernel is flipped.

    ``out[i, j] = sum_{a, b} image[i - a, j - b] * kernel[a, b]`` over the
    image extended by ``boundary``.  Equal to
    :func:`scipy.signal.convolve2d` (and :func:`scipy.signal.convolve` for
    1-D inputs) in every mode, boundary and alignment rule, to floating
    point rounding, and to ``convolve2d(np.pad(image, pads, mode), kernel,
    'valid')`` for the boundaries SciPy lacks.

    %(linear_sections)s

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

    %(out_of_core)s

    N-D (image and kernel with N >= 3 dimensions, ``axes=None``): equal to
    ``scipy.signal.convolve(image, kernel, mode, method='direct')`` for
    ``boundary='fill'`` and to ``numpy.pad`` followed by a ``'valid'``
    convolution for the other boundaries, applied on every axis.  The
    direct method sums 2-D passes over the leading axes, ``'fft'`` uses
    :func:`scipy.fft.rfftn`, ``'separable'`` applies a kernel that is an
    outer product of 1-D kernels as one 1-D pass per axis.
    ``nan_policy='omit'`` applies the same definition over every axis (the
    kernel's sums taken over all of its axes).

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
    spec = _linear.parse(mode, boundary, method, workers, stride, dilation, axes, True,
                         nan_policy, channel_axis, "convolve")
    return _linear.apply(image, kernel, fillvalue, dtype, out, spec)


@_fill_docs
def correlate(image, kernel, mode="full", boundary="fill", fillvalue=0, *,
              dtype=None, workers=None, method="auto", stride=1, dilation=1,
              axes=None, channel_axis=None, out=None, nan_policy="propagate"):
    """2-D (or 1-D) cross-correlation: the kernel is not flipped.

    ``out[i, j] = sum_{a, b} image[i + a, j + b] * conj(kernel[a, b])`` over
    the image extended by ``boundary``.  Equal to
    :func:`scipy.signal.correlate2d` for 2-D inputs and to
    :func:`scipy.signal.correlate` for 1-D inputs, in every mode and
    alignment rule, to floating point rounding (also to
    :func:`numpy.correlate`, except that numpy's ``'same'`` returns
    ``max(M, N)`` samples when the kernel is the longer input).

    %(linear_sections)s

    See Also
    --------
    convolve : true convolution (kernel flipped).
    scipy.signal.correlate2d : the reference semantics.
    imfilt.dask.correlate : the same on chunked Dask arrays (optional extra).

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

    %(out_of_core)s

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
    spec = _linear.parse(mode, boundary, method, workers, stride, dilation, axes, False,
                         nan_policy, channel_axis, "correlate")
    return _linear.apply(image, kernel, fillvalue, dtype, out, spec)
