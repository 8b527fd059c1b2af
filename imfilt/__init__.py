"""imfilt: fast, SciPy-exact 2-D image filtering.

Cython kernels with OpenMP behind a small NumPy API:

- :func:`convolve`, :func:`correlate`: true 2-D convolution and correlation
  in full/same/valid modes with every common boundary rule; direct,
  separable and FFT methods; stride, dilation, stacks.
- :func:`sobel`, :func:`scharr`, :func:`prewitt`, :func:`roberts`,
  :func:`laplace`, :func:`gradient`, :func:`canny`: edge filters.
- :func:`conv2d`, :func:`conv_transpose2d`: multi-channel, grouped and
  transposed convolution with PyTorch semantics.
- :func:`max_pool2d`, :func:`avg_pool2d`, :func:`min_pool2d`,
  :func:`max_unpool2d`, :func:`stochastic_pool2d`: pooling and unpooling.
- :func:`upsample`, :func:`bilinear_kernel`, :func:`pyramid_down`,
  :func:`pyramid_up`: resampling.
- :func:`set_workers`, :func:`get_workers`: thread control;
  :func:`show_config`: how this build was made.
- ``nan_policy='omit'`` for NaN-aware filtering; ``numpy.memmap`` images and
  ``out=`` are filtered in row bands with bounded memory.
- :mod:`imfilt.dask` (``pip install "imfilt[dask]"``, imported explicitly):
  the same filters on chunked ``dask.array`` arrays, exact for every chunking.
"""

from imfilt._version import __version__

from imfilt._modes import BOUNDARIES, MODES
from imfilt._threads import get_workers, openmp_enabled, set_workers, show_config
from imfilt.convolution import convolve, correlate
from imfilt.canny import canny
from imfilt.edges import gradient, laplace, prewitt, roberts, scharr, sobel
from imfilt.layers import conv2d, conv_transpose2d
from imfilt.pooling import avg_pool2d, max_pool2d, max_unpool2d, min_pool2d, stochastic_pool2d
from imfilt.upsampling import bilinear_kernel, pyramid_down, pyramid_up, upsample

__all__ = [
    "BOUNDARIES",
    "MODES",
    "canny",
    "convolve",
    "correlate",
    "gradient",
    "laplace",
    "prewitt",
    "roberts",
    "scharr",
    "sobel",
    "avg_pool2d",
    "bilinear_kernel",
    "conv2d",
    "conv_transpose2d",
    "max_pool2d",
    "max_unpool2d",
    "min_pool2d",
    "pyramid_down",
    "pyramid_up",
    "stochastic_pool2d",
    "upsample",
    "get_workers",
    "openmp_enabled",
    "set_workers",
    "show_config",
    "__version__",
]
