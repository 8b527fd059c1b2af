"""Chunked, parallel and distributed filtering of :mod:`dask.array` arrays.

Every function here takes a ``dask.array.Array`` (or anything
:func:`dask.array.asarray` accepts) and returns a lazy ``dask.array.Array``
whose blocks are computed by imfilt's in-memory kernels: :func:`convolve`,
:func:`correlate` and the edge filters :func:`sobel`, :func:`scharr`,
:func:`prewitt`, :func:`roberts`, :func:`laplace`, :func:`gradient`
(``canny`` has no chunked form: its hysteresis links edges across the
whole image), the pooling functions :func:`max_pool2d`, :func:`min_pool2d`,
:func:`avg_pool2d` and :func:`upsample`, and the N-D neighbourhood
filters: :func:`gaussian`,
:func:`unsharp_mask`, :func:`gaussian_laplace`,
:func:`gaussian_gradient_magnitude`, :func:`difference_of_gaussians`,
:func:`box`, :func:`median`, :func:`rank_filter`, :func:`percentile_filter`,
:func:`minimum_filter`, :func:`maximum_filter`, :func:`erosion`,
:func:`dilation`, :func:`opening`, :func:`closing`, :func:`white_tophat`,
:func:`black_tophat`, :func:`morphological_gradient` and
:func:`bilateral`.  Results are
**exactly** those of the in-memory function for every chunking: each output
block gathers its own halo (the image samples its windows read, derived
from the kernel size, dilation, stride, mode and boundary), including halos
wider than a chunk and, for ``boundary='wrap'``, samples from the opposite
side of the image.  With ``method='direct'`` (the default here) the blocks
are bit-identical to ``imfilt.convolve(..., method='direct')`` on the whole
image.

Threads
-------
Dask already runs one task per worker thread, so by default each block is
filtered with ``workers=1`` OpenMP thread: ``threads x workers`` never
exceeds the cores Dask was given and nothing is oversubscribed.  Raise
``workers`` only when Dask runs fewer threads than there are cores (for
example ``workers=4`` on a ``LocalCluster(threads_per_worker=1)`` of
processes that each own four cores); ``workers=None`` uses imfilt's own
default (:func:`imfilt.set_workers`, ``OMP_NUM_THREADS``, else all cores),
which suits Dask's single-threaded scheduler.

This package needs Dask: ``pip install "imfilt[dask]"``.  ``import imfilt``
itself never imports Dask.

Layout: ``_graph`` plans the halos and builds the task graphs;
``_filters`` holds the front ends -- convolution, pooling, upsampling, and
the neighbourhood filters (edge, smoothing, rank, morphology, bilateral)
generated from one table (``HALO_TABLE``: a new window filter is one row
there).
"""

try:
    import dask.array  # noqa: F401 - the optional dependency, checked once here
except ImportError as exc:  # pragma: no cover - exercised without dask installed
    raise ImportError(
        "imfilt.dask needs Dask, which is not installed; install the optional extra with "
        "pip install \"imfilt[dask]\" (or pip install \"dask[array]\")"
    ) from exc

from imfilt.dask._filters import (ND_FILTERS, avg_pool2d, bilateral, black_tophat, box,  # noqa: E402
                                  closing, convolve, correlate, difference_of_gaussians,
                                  dilation, erosion, gaussian, gaussian_gradient_magnitude,
                                  gaussian_laplace, gradient, laplace, max_pool2d,
                                  maximum_filter, median, min_pool2d, minimum_filter,
                                  morphological_gradient, opening, percentile_filter, prewitt,
                                  rank_filter, roberts, scharr, sobel, unsharp_mask, upsample,
                                  white_tophat)

__all__ = ["convolve", "correlate", "sobel", "scharr", "prewitt", "roberts", "laplace",
           "gradient", "max_pool2d", "min_pool2d", "avg_pool2d", "upsample", *ND_FILTERS]
