"""``nan_policy``: what a filter does with NaN and inf in the image.

``'propagate'``
    IEEE arithmetic, as SciPy: a non-finite sample under any tap (even a
    zero weight) makes the output non-finite.
``'raise'``
    ``ValueError`` when the image, the kernel or a used fill value holds
    NaN or inf.
``'omit'``
    Non-finite samples are left out and the sum is rescaled by the kernel
    weight that fell on finite samples::

        out = sum_finite(w * x) * sum(w) / sum_finite(w)

    This is ``astropy.convolution.convolve(..., nan_treatment='interpolate')``
    (``top / bot`` with the kernel normalised; multiplied by ``sum(w)`` when
    it is not).  Windows that hold no non-finite sample at all return
    exactly the ``'propagate'`` value (a NaN under a zero weight is omitted,
    where ``'propagate'`` would spread it); windows where every non-zero
    weight meets a non-finite sample return NaN (an all-zero kernel meets
    none and gives 0, as with no NaN at all), and so do windows where the
    weights that meet finite samples sum to zero (``[1, -1, 1]`` over
    ``[5, 2, nan]``: no rescaling exists; astropy returns the centre sample
    there) -- for a kernel with weights of both signs, to within
    ``DEN_ZERO_RTOL * sum|w|``, the rounding of the FFT's sums.  In
    'valid' mode with the kernel the larger input (swapped), an output's
    window is the part of the kernel under the image: its sums are that
    part's.  A kernel whose weights sum
    to (nearly) zero -- a derivative such as Sobel or Laplace -- makes the
    rescaling meaningless (astropy raises); imfilt then rescales by the
    absolute weight instead, ``sum|w| / sum_finite|w|``, the same rule for
    non-negative kernels.

The work is three passes of the ordinary filter (numerator on the image
with non-finite samples zeroed, finite weight, count of non-finite taps),
so ``'omit'`` keeps every method, dtype, stride, dilation and thread count
of the plain filter and costs about three filters when non-finite values
are present, one when none are.
"""

import numpy as np

from imfilt._kernels import _nan, _reuse
from imfilt._threads import interruptible_pieces, min_parallel_work, ran_parallel
from imfilt._cast import cast_output
from imfilt._validation import as_array, check_choice, as_fillvalue, result_dtypes

__all__ = ["NAN_POLICIES", "canonical_nan_policy", "check_finite", "filter_omit",
           "omit_wanted", "omit_nonfinite"]

NAN_POLICIES = ("propagate", "omit", "raise")

#: A kernel is "zero-sum" when ``|sum(w)| <= ZERO_SUM_RTOL * sum(|w|)``
#: (astropy uses an absolute 1e-8; a relative bound does not depend on scale).
ZERO_SUM_RTOL = 1e-8

#: A window's finite weights "sum to zero" when ``|sum_finite(w)|`` is at
#: most this fraction of ``sum|w|`` (float64 / float32 sums) for a kernel
#: with weights of both signs: the FFT computes that sum with an error of
#: a few eps * sum|w| where direct summation gives an exact 0, and a
#: rescaling by a sum that small would be rounding noise amplified.
#: Kernels of one sign cannot cancel: only an exact 0 counts there.
DEN_ZERO_RTOL = {np.dtype(np.float64): 2.0 ** -40, np.dtype(np.float32): 2.0 ** -14}


def canonical_nan_policy(nan_policy):
    """Validate ``nan_policy`` (one of ``NAN_POLICIES``) and return it."""
    return check_choice("nan_policy", nan_policy, NAN_POLICIES)


#: Estimated seconds per element of an elementwise pass on a busy machine
#: (the first guess when a long pass is cut into interruptible pieces).
_SECONDS_PER_VALUE = 1e-8


def _count_nonfinite(a):
    a = np.asarray(a)
    if a.dtype.kind not in "fc":
        return 0
    if a.ndim == 0:
        return int(not np.isfinite(a))
    # In interruptible pieces of the first axis (Ctrl-C is handled between them).
    row = a.size // max(a.shape[0], 1)
    return sum(int(a[lo:hi].size - np.count_nonzero(np.isfinite(a[lo:hi])))
               for _, lo, hi in interruptible_pieces(a.shape[:1], row * _SECONDS_PER_VALUE))


def _elementwise(kernel, arrays, *args):
    """``kernel(*arrays, *args)`` on flat arrays, in interruptible pieces."""
    for _, lo, hi in interruptible_pieces((arrays[0].size,), _SECONDS_PER_VALUE):
        ran_parallel(kernel(*(a[lo:hi] for a in arrays), *args))


def check_finite(image, kernel, boundary, fillvalue):
    """``nan_policy='raise'``: a ValueError naming what holds NaN or inf (canonical ``boundary``)."""
    for name, arr in (("image", image), ("kernel", kernel)):
        bad = _count_nonfinite(arr)
        if bad:
            raise ValueError(
                f"{name} holds {bad} NaN or inf value{'s' if bad > 1 else ''} and "
                "nan_policy='raise'; use nan_policy='omit' to leave them out or "
                "'propagate' to let them spread"
            )
    check_fill_finite(boundary, fillvalue)


def check_fill_finite(boundary, fillvalue):
    """``nan_policy='raise'``: a ValueError when ``boundary='fill'`` pads with
    a NaN or infinite ``fillvalue`` (canonical ``boundary``)."""
    if boundary == "fill" and _count_nonfinite(np.asarray(fillvalue)):
        raise ValueError(
            f"fillvalue={fillvalue!r} is not finite and nan_policy='raise'; use a finite "
            "fillvalue or nan_policy='omit'"
        )


def _spatial_sums(w, expand, nd=False):
    """Per-kernel ``sum(w)`` and ``sum|w|``, shaped to broadcast over the output
    (every axis of an N-D kernel, ``nd``)."""
    axes = tuple(range(w.ndim - 2, w.ndim)) if w.ndim >= 2 and not nd else tuple(range(w.ndim))
    s, a = w.sum(axis=axes), np.abs(w).sum(axis=axes)
    return expand(s), expand(a)


def filter_omit(run, image, kernel, boundary, fillvalue, dtype, axes, out, swapped=False,
                nthreads=None, nd=False, conjugate=False):
    """``nan_policy='omit'`` on top of ``run(image, kernel, fillvalue, dtype, out)``.

    ``run`` is the plain filter with every other argument bound; ``swapped``
    says that 'valid' mode swaps image and kernel (the number of taps that
    meet the image then varies from output to output).  With ``nthreads``,
    real images with one 2-D kernel take the threaded kernels of
    ``_kernels/_nan.pyx`` for the elementwise steps.  ``nd`` says that the
    kernel spans every axis of the image (N-D convolution): its sums are
    taken over all of its axes.  ``conjugate`` says that ``run`` correlates
    with the conjugated kernel (complex correlation), so ``sum(w)`` is
    conjugated too.
    """
    image = as_array(image, "image")
    kernel = as_array(kernel, "kernel")
    compute, out_dtype = result_dtypes(image.dtype, kernel.dtype, dtype)
    fill = as_fillvalue(fillvalue, compute)
    fill_used = boundary == "fill"
    fill_ok = (not fill_used) or bool(np.isfinite(fill))
    if fill_ok and (image.dtype.kind not in "fc" or not _count_nonfinite(image)):
        return run(image, kernel, fillvalue, dtype, out)   # nothing to omit
    if _count_nonfinite(kernel):
        raise ValueError(
            "kernel holds NaN or inf; nan_policy='omit' leaves out non-finite image "
            "samples, not weights. Use a finite kernel"
        )
    real = np.dtype(np.float32) if compute in (np.float32, np.complex64) else np.dtype(np.float64)
    fill0 = fill if fill_ok else 0
    fill_bad = 0 if fill_ok else 1

    # Per-kernel sums, broadcast against the output (leading axes of a stack).
    per_slice = kernel.ndim > 2 and not nd
    if per_slice:
        ax = sorted(a % image.ndim for a in (axes if axes is not None else (-2, -1)))
        expand = lambda v: np.expand_dims(v, axis=tuple(ax))   # noqa: E731
    else:
        expand = lambda v: v   # noqa: E731
    wsum, wabs = _spatial_sums(kernel, expand, nd)
    if conjugate:
        wsum = np.conj(wsum)
    zero_sum = np.abs(wsum) <= ZERO_SUM_RTOL * wabs
    mixed = kernel.dtype.kind == "c" or (np.any(kernel < 0) and np.any(kernel > 0))
    den_rtol = DEN_ZERO_RTOL[real] if mixed else 0.0
    den_tol = den_rtol * wabs
    if np.any(zero_sum):
        zs = np.squeeze(zero_sum, axis=tuple(ax)) if per_slice else zero_sum
        zs = np.reshape(zs, zs.shape + (1,) * min(kernel.ndim, 2))
        w_den = np.where(zs, np.abs(kernel), kernel)
        scale = np.where(zero_sum, wabs, wsum)
    else:
        w_den, scale = kernel, wsum
    taps = (kernel != 0).astype(real)

    if (nthreads is not None and compute.kind == "f" and not per_slice and not swapped
            and np.ndim(scale) == 0):
        # Fast path: one threaded split pass, three filter passes, one
        # threaded combine pass (no NumPy temporaries of the image's size).
        x = np.ascontiguousarray(image, dtype=compute)
        x0, bad, good = (_reuse.empty(x.shape, x.dtype) for _ in range(3))
        _elementwise(_nan.split_finite, [a.reshape(-1) for a in (x, x0, bad, good)],
                     nthreads, min_parallel_work())
        del x
        num = run(x0, kernel, fill0, compute, None)
        del x0
        hits = run(bad, taps, fill_bad, compute, None)
        del bad
        den = run(good, w_den, 1 - fill_bad, compute, None)
        del good
        _elementwise(_nan.combine_omit, [a.reshape(-1) for a in (num, den, hits)],
                     float(taps.sum()), float(scale), float(den_tol), nthreads,
                     min_parallel_work())
        result = cast_output(num, out_dtype, nthreads or 1)
        if out is not None:
            np.copyto(out, result)
            return out
        return result

    # General path (complex values, per-slice kernels, the 'valid' swap).
    finite = np.isfinite(image)
    x0 = np.where(finite, image, np.zeros((), dtype=image.dtype))
    bad = np.logical_not(finite, out=finite).view(np.uint8)   # reuse the mask's memory
    num = run(x0, kernel, fill0, compute, None)
    del x0
    hits = run(bad, taps, fill_bad, real, None)          # non-finite samples under a tap
    if swapped:
        # 'valid' with the kernel the larger input: an output's window is the
        # part of the kernel under the image, so its sums are taken through
        # the same filter (which also applies the conjugation the swap
        # implies), per output: sum(w), sum|w| and the zero-sum choice.
        ones = np.ones(image.shape, dtype=np.uint8)
        wide = compute if kernel.dtype.kind == "c" else real
        wsum = run(ones, kernel, 0, wide, None)
        wabs = run(ones, np.abs(kernel), 0, real, None)
        zero_sum = np.abs(wsum) <= ZERO_SUM_RTOL * wabs
        scale = np.where(zero_sum, wabs, wsum)
        den = np.where(zero_sum, run(1 - bad, np.abs(kernel), 0, real, None),
                       run(1 - bad, kernel, 0, wide, None))
        den_tol = den_rtol * wabs
        ntaps = run(ones, taps, 0, real, None)
    else:
        den = run(1 - bad, w_den, 1 - fill_bad, compute if w_den.dtype.kind == "c" else real,
                  None)
        ntaps = (taps.sum() if not per_slice
                 else expand(taps.sum(axis=tuple(range(taps.ndim - 2, taps.ndim)))))
    clean = hits < 0.5                                   # exact for integer counts
    # every non-zero weight meets a non-finite sample (and one at least:
    # an all-zero kernel, or taps off the image in the 'valid' swap, meet none)
    empty = (hits > ntaps - 0.5) & (hits >= 0.5)
    # ... or the weights on finite samples sum to zero: no rescaling exists
    empty = empty | ((np.abs(den) <= den_tol) & ~clean)
    with np.errstate(divide="ignore", invalid="ignore"):
        rescaled = num * (scale / den)
    result = np.where(clean, num, rescaled).astype(compute, copy=False)
    result[np.broadcast_to(empty, result.shape)] = np.nan
    result = cast_output(result, out_dtype)
    if out is not None:
        np.copyto(out, result)
        return out
    return result


# --------------------------------------------------------------------------
# edge filters: fused kernels keep their result where it is finite


def omit_wanted(image, policy, boundary="symm", fillvalue=0):
    """Apply a canonical ``nan_policy`` for a filter with fixed finite kernels.

    Raises for ``'raise'`` when the image, or the fill value of
    ``boundary='fill'``, holds NaN or inf; returns True when ``'omit'`` has
    something to leave out (a float image with NaN or inf, or such a fill
    value: the outside of the image then counts as missing).
    """
    if policy == "propagate":
        return False
    arr = np.asarray(image)
    if policy == "raise":
        check_finite(arr, np.zeros(1), boundary, fillvalue)
        return False
    if boundary == "fill" and _count_nonfinite(np.asarray(fillvalue)):
        return True
    return arr.dtype.kind == "f" and bool(_count_nonfinite(arr))


def omit_nonfinite(results, image, kernels, combine, correlate_omit):
    """``nan_policy='omit'`` for filters built from fixed correlation kernels.

    ``results`` are the filter's ordinary outputs (a tuple of arrays); where
    one is finite no non-finite sample met a non-zero weight, so it already
    is the omit value.  Elsewhere the value comes from
    ``combine(*[correlate_omit(image, k) for k in kernels])`` (one array per
    result).  ``correlate_omit(image, k)`` is the caller's 'same'-mode
    correlation with ``nan_policy='omit'`` and the direct method, bound to
    its already parsed boundary and thread count, so every output depends on
    its own window only (chunked and in-memory results agree).
    """
    bad = [~np.isfinite(r) for r in results]
    if not any(b.any() for b in bad):
        return results
    parts = [correlate_omit(image, k) for k in kernels]
    fixed = combine(*parts)
    out = []
    for r, b, f in zip(results, bad, fixed):
        r = np.array(r, copy=True) if not r.flags.writeable else r
        r[b] = np.asarray(f, dtype=r.dtype)[b]
        out.append(r)
    return tuple(out)
