"""Chunked, parallel and distributed filtering of :mod:`dask.array` arrays.

Every function here takes a ``dask.array.Array`` (or anything
:func:`dask.array.asarray` accepts) and returns a lazy ``dask.array.Array``
whose blocks are computed by imfilt's in-memory kernels: :func:`convolve`,
:func:`correlate` and the edge filters :func:`sobel`, :func:`scharr`,
:func:`prewitt`, :func:`roberts`, :func:`laplace`, :func:`gradient`
(``canny`` has no chunked form: its hysteresis links edges across the
whole image), the pooling functions :func:`max_pool2d`, :func:`min_pool2d`,
:func:`avg_pool2d` and :func:`upsample`.  Results are
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
the local-window filters generated from one table (``HALO_TABLE``: a new
window filter is one row there).
"""

try:
    import dask.array  # noqa: F401 - the optional dependency, checked once here
except ImportError as exc:  # pragma: no cover - exercised without dask installed
    raise ImportError(
        "imfilt.dask needs Dask, which is not installed; install the optional extra with "
        "pip install \"imfilt[dask]\" (or pip install \"dask[array]\")"
    ) from exc

from imfilt.dask._filters import (avg_pool2d, convolve, correlate, gradient, laplace,  # noqa: E402
                                  max_pool2d, min_pool2d, prewitt, roberts, scharr, sobel,
                                  upsample)

__all__ = ["convolve", "correlate", "sobel", "scharr", "prewitt", "roberts", "laplace",
           "gradient", "max_pool2d", "min_pool2d", "avg_pool2d", "upsample"]
