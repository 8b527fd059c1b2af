"""Casting a computed result to the output dtype.

Filters compute in float32, float64 or complex (the dtype policy in
``imfilt._validation.result_dtypes``); ``dtype=`` (or an ``out=`` array)
may ask for another output dtype.  Floats and complex convert as NumPy's
``astype``.  Integers round to nearest with ties to even (``np.rint``),
NaN becomes 0 and values at or beyond the integer range saturate to its
limits, as OpenCV's ``saturate_cast``: a uint8 result of -3.7 is 0, of
254.5 is 254 and of 1e9 is 255.

The integer cast of a C-contiguous float result runs in one threaded pass
(``_kernels/_cast.pyx``), in interruptible pieces; other layouts take the
NumPy path, which gives the same values.
"""

import numpy as np

from imfilt._kernels import _cast, _reuse
from imfilt._threads import interruptible_pieces, min_parallel_work, ran_parallel

__all__ = ["cast_output"]

#: Estimated seconds per element of the cast on a busy machine (the first
#: guess of how to cut a long cast into interruptible pieces).
_SECONDS_PER_VALUE = 2e-9


def cast_output(result, out_dtype, nthreads=1, dest=None):
    """``result`` converted to ``out_dtype`` by the rule above.

    ``dest``, when given, is an array of ``result``'s shape and of
    ``out_dtype`` (any layout; C-contiguous ones take the threaded kernel)
    that receives the values and is returned; otherwise ``result`` itself
    is returned when it already has ``out_dtype``.
    """
    out_dtype = np.dtype(out_dtype)
    if result.dtype == out_dtype and dest is None:
        return result
    out = dest if dest is not None else _reuse.empty(result.shape, dtype=out_dtype)
    if result.dtype == out_dtype:
        np.copyto(out, result)
    elif out_dtype.kind in "iu" and result.dtype.kind == "f":
        _saturate(result, out, nthreads)
    elif out_dtype.kind in "iu":
        # Complex or other computed dtypes: the same rule through NumPy.
        np.copyto(out, _saturate_numpy(result, out_dtype))
    else:
        np.copyto(out, result, casting="unsafe")
    return out


def _saturate(result, out, nthreads):
    """The integer cast into ``out``: the threaded kernel when both arrays
    are C-contiguous and the compute dtype is float32/float64."""
    if not (result.dtype in (np.float32, np.float64) and result.flags.c_contiguous
            and out.flags.c_contiguous and out.dtype.name in _cast.CODES):
        np.copyto(out, _saturate_numpy(result, out.dtype))
        return
    src = result.reshape(-1)
    dst = out.reshape(-1)
    code = _cast.CODES[out.dtype.name]
    for _, lo, hi in interruptible_pieces((src.size,), _SECONDS_PER_VALUE):
        ran_parallel(_cast.saturate(src[lo:hi], dst[lo:hi].view(np.int8), code, nthreads,
                                    min_parallel_work()))


def _saturate_numpy(result, out_dtype):
    """The integer cast in NumPy (any layout; the reference of the kernel)."""
    info = np.iinfo(out_dtype)
    r = np.rint(result)
    np.nan_to_num(r, copy=False, nan=0.0, posinf=np.inf, neginf=-np.inf)
    # Clip in float64 so the limits of 64-bit integers are representable
    # as closely as floats allow, then convert without wraparound.
    r = r.astype(np.float64, copy=False)
    lo, hi = float(info.min), float(info.max)
    over = r >= hi
    under = r <= lo
    out = np.clip(r, lo, hi)
    out = np.where(over | under, 0, out).astype(out_dtype)
    out[over] = info.max
    out[under] = info.min
    return out
