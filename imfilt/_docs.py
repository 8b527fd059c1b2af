"""The one docstring mechanism of imfilt: shared parameter paragraphs.

A public function writes its numpydoc docstring under its ``def`` and puts
``%(name)s`` alone on a line where a shared paragraph belongs;
:func:`docfiller` replaces the line by the paragraph, indented like the
placeholder.  Every filter thus documents ``boundary``, ``workers``,
``nan_policy`` ... with the same words, written once here.

>>> @docfiller
... def f(image, workers=None):
...     '''Example.
...
...     Parameters
...     ----------
...     %(workers)s
...     '''
>>> "Threads to use" in f.__doc__
True
"""

import re
import textwrap

__all__ = ["docfiller", "SNIPPETS"]

_BOUNDARY_RULES = """\
    How the image is extended beyond its edges (default ``'DEFAULT'``).
    Each rule is defined by :func:`numpy.pad` and folds repeatedly for
    windows larger than the image; the ``scipy.ndimage`` and OpenCV names
    of the same rule are given in brackets:

    ``'fill'`` (or ``'constant'``)
        ``fillvalue`` everywhere outside: ``0 0 | a b c d | 0 0``
        (ndimage ``'constant'`` with ``cval=fillvalue``; OpenCV
        ``BORDER_CONSTANT``).
    ``'wrap'`` (or ``'circular'``)
        Periodic: ``c d | a b c d | a b`` (ndimage ``'wrap'``).
    ``'symm'`` (or ``'symmetric'``)
        Mirror including the edge sample: ``b a | a b c d | d c``
        (ndimage ``'reflect'``; OpenCV ``BORDER_REFLECT``).
    ``'reflect'``
        Mirror about the edge sample: ``c b | a b c d | c b`` (ndimage
        ``'mirror'``; OpenCV ``BORDER_REFLECT_101``, its default).  On an
        axis of length 1 it repeats the sample, like ``'edge'``.
    ``'edge'`` (or ``'nearest'``)
        Repeat the edge sample: ``a a | a b c d | d d`` (ndimage
        ``'nearest'``; OpenCV ``BORDER_REPLICATE``)."""

#: Shared parameter paragraphs, unindented (the first line is the numpydoc
#: ``name : type`` line).
SNIPPETS = {
    "image": """\
image : array_like
    The image.  Any real numeric dtype (bool, integers, float16/32/64),
    memory layout and byte order; it is never modified.""",
    "boundary": "boundary : str, optional\n" + _BOUNDARY_RULES.replace("DEFAULT", "symm"),
    "boundary_fill": "boundary : str, optional\n" + _BOUNDARY_RULES.replace("DEFAULT", "fill"),
    "fillvalue": """\
fillvalue : scalar, optional
    Value outside the image for ``boundary='fill'`` (default 0).  Fill
    values are multiplied by the kernel like any other sample, so a NaN
    fill or an infinite weight propagates exactly as in SciPy.""",
    "axes": """\
axes : int or sequence of int, optional
    The axes to filter (default: every axis except ``channel_axis``).
    Other axes are kept and each slice along them is filtered on its own.
    Values given per axis (a sigma, a size) go with these axes in the order
    listed, as in scipy.ndimage.""",
    "channel_axis": """\
channel_axis : int, optional
    The axis that holds colour channels (scikit-image's convention): it is
    not filtered, the result keeps it, and the result equals filtering each
    channel on its own and stacking the results along that axis.  ``None``
    (default): no channel axis.  A 3-D image whose last axis has length 3
    or 4 needs ``channel_axis`` or ``axes``: it could be colour or a
    volume, and imfilt does not guess.""",
    "dtype": """\
dtype : dtype, optional
    Output dtype.  By default the output follows the image: float32 stays
    float32 (even with a float64 or Python-list kernel), float64 stays
    float64, complex if either input is complex (at the image's
    precision); bool, float16 and 8/16-bit integers give float32, 32/64-bit
    integers give float64, so integer results never wrap around.  A float
    ``dtype`` computes at that precision; an integer ``dtype`` rounds the
    result to nearest (ties to even) and saturates, NaN becoming 0, the
    result computed in float64 when the image or ``dtype`` is a 32/64-bit
    type and in float32 otherwise (so a value within float32's rounding
    of a half can round either way).""",
    "workers": """\
workers : int, optional
    Threads to use.  ``None`` (default) uses the :func:`imfilt.set_workers`
    default, else ``OMP_NUM_THREADS``, else all cores available to the
    process; ``-1`` means all available cores, ``-2`` all but one;
    counts above four times the available cores are capped there.  Small
    inputs run on one thread.  Results are bit-identical for any thread
    count (a NaN's sign bit aside); the GIL is released while the kernel
    runs.""",
    "nan_policy": """\
nan_policy : {'propagate', 'omit', 'raise'}, optional
    What NaN and inf in the image do.  ``'propagate'`` (default): IEEE
    arithmetic, as ``scipy.signal.convolve2d``: a non-finite sample under
    any weight, even a zero one, makes the output non-finite
    (``scipy.ndimage`` skips zero weights, so it can give a finite value
    there).  ``'raise'``: ``ValueError``
    when the image (or a used fill value, or the kernel) holds NaN or inf.
    ``'omit'``: non-finite samples (and a NaN or infinite fill value of
    ``boundary='fill'``) are left out and the finite part is
    rescaled by the weight that fell on finite samples,
    ``sum_finite(w * x) * sum(w) / sum_finite(w)`` (by the absolute weight
    ``sum|w| / sum_finite|w|`` for kernels summing to zero, such as
    derivatives); windows with no non-finite sample give exactly the
    ``'propagate'`` value, windows where every non-zero weight meets a
    non-finite sample, or where the weights on finite samples sum to zero,
    give NaN (an all-zero kernel meets none: 0).""",
    "examples": """\
Examples
--------
>>> import numpy as np, imfilt""",
    "out": """\
out : ndarray, optional
    Destination of the result's exact shape and dtype, not overlapping the
    inputs; returned.""",
    "mode": """\
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
        when neither fits inside the other a ``ValueError`` is raised.""",
    "method": """\
method : {'auto', 'direct', 'separable', 'fft'}, optional
    How to compute.  ``'direct'`` sums the taps (exact IEEE semantics,
    fastest for small kernels).  ``'separable'`` applies a kernel of
    numerical rank ``r`` as ``r`` pairs of 1-D passes (the rank counts
    singular values above ``4 * max(kh, kw) * eps`` of the largest, eps of
    the compute dtype; exact integer factorisations such as Sobel are found
    first); a kernel whose rank is not below ``min(kh, kw)`` raises
    ``ValueError``.  ``'fft'`` uses real FFTs (:mod:`scipy.fft`, tiled by
    overlap-save for large images; a backend that
    ``scipy.fft.set_backend`` installs in the calling thread is used by
    imfilt's worker threads too, while Dask's workers need
    ``scipy.fft.set_global_backend``); it agrees with ``'direct'`` to about
    ``eps * log2(size) * max|image| * sum|kernel|`` and spreads any NaN or
    inf over the whole output (a ``RuntimeWarning`` says so).  ``'auto'``
    (default) picks the fastest by a cost model calibrated on measured
    timings (for two threads whatever ``workers`` is, so that the choice,
    and with it the result, never depends on the thread count), but never
    FFT or separable when the input holds NaN or inf, never FFT for integer
    image and kernel, whose exact result it could not reproduce, and never
    FFT where values near the dtype's limit could overflow the transform's
    sums (``max|image| * sum|kernel| * N**2`` above a sixteenth of the
    largest number, ``N`` the padded size).  These checks run with the
    method instead of in a pass over the image first: a separable choice
    checks its outputs (any inf or NaN, from the input or from overflow,
    and the call returns ``'direct'``'s result instead), an FFT choice finds
    the image's largest magnitude as it reads the image and, when that
    rules FFT out, recomputes with the best other method.""",
}

_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)%\((?P<name>\w+)\)s[ \t]*$", re.M)


def _fill(doc, snippets):
    def repl(m):
        name = m.group("name")
        if name not in snippets:
            raise KeyError(f"docfiller: no shared paragraph named {name!r}")
        return textwrap.indent(snippets[name], m.group("indent"),
                               lambda line: bool(line.strip()))
    return _PLACEHOLDER.sub(repl, doc)


def docfiller(func=None, /, **extra):
    """Fill ``%(name)s`` placeholder lines of a docstring with shared paragraphs.

    Use as ``@docfiller`` (the paragraphs of :data:`SNIPPETS`) or as
    ``@docfiller(name=text, ...)`` to add or override paragraphs for one
    module (``text`` unindented, numpydoc style).  A placeholder must stand
    alone on its line; the paragraph takes that line's indentation.  An
    unknown name raises ``KeyError`` at import time, so a typo cannot ship.
    """
    snippets = {**SNIPPETS, **extra} if extra else SNIPPETS

    def decorate(f):
        if f.__doc__:
            f.__doc__ = _fill(f.__doc__, snippets)
        return f

    return decorate(func) if func is not None else decorate
