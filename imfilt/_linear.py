"""The linear filter pipeline: arguments parsed once, then bands, NaN policy, method.

:func:`parse` turns the arguments of :func:`imfilt.convolve` /
:func:`imfilt.correlate` into a frozen :class:`LinearSpec` (canonical
``mode``, ``boundary`` and ``method``, the thread count, stride and
dilation pairs).  :func:`apply` then runs the strategies on it -- row bands
for memory-mapped images (``_banded``), the NaN policy (``_nanpolicy``) --
and finally ``_filter``, which reduces the call to a ``_methods.Problem``.
Strategies receive the filter as a callable bound to the spec, so nothing is
validated twice and no strategy imports a public front.  Other fronts
(edge filters, Canny) build a spec directly from values they already
parsed (:func:`correlate_spec`).
"""

from dataclasses import dataclass, replace

import numpy as np

from imfilt import _banded, _methods, _nanpolicy, _nd
from imfilt._geometry import (STACK_HINT, as_tuple, channel_axis_index, check_colour_ambiguity,
                              check_out, dilated_span, mode_pads, over_channels, spatial_axes,
                              valid_swap)
from imfilt._modes import canonical_boundary, canonical_mode
from imfilt._threads import check_fits_in_memory, resolve_workers
from imfilt._cast import cast_output
from imfilt._validation import ParsedCache, as_array, as_fillvalue, result_dtypes

__all__ = ["LinearSpec", "parse", "apply", "correlate_spec"]


@dataclass(frozen=True)
class LinearSpec:
    """Every parsed argument of a linear filter call except the arrays, fill and dtype."""

    mode: str                # canonical output mode
    boundary: str            # canonical boundary name
    method: str              # 'auto', 'direct', 'separable' or 'fft'
    nthreads: int            # resolved thread count
    stride: tuple            # (s0, s1), or None when only an N-D call can use it
    dilation: tuple          # (d0, d1), or None when only an N-D call can use it
    axes: object             # None or the caller's axes (checked against image.ndim later)
    flip: bool               # True: convolution, False: correlation
    nan_policy: str          # 'propagate', 'omit' or 'raise'
    stride_arg: object = 1   # the caller's stride (an N-D call has one per axis)
    dilation_arg: object = 1  # the caller's dilation
    channel_axis: object = None  # the caller's channel_axis (checked against image.ndim later)
    func: str = "correlate"  # the public function, for messages


def _pair(name, value):
    """``value`` as a pair when it can be one; None when it is a sequence
    of another length, which only a 1-D call (one value) or an N-D call
    (image and kernel of N >= 3 dimensions) accepts -- a 2-D call then
    reports it with the pair's message."""
    if np.ndim(value) == 1 and len(value) != 2:
        return None
    return as_tuple(name, value, 2, minimum=1)


#: Parsed arguments of recent calls (``parse``), by their raw values.
_PARSED = ParsedCache()


def parse(mode, boundary, method, workers, stride, dilation, axes, flip, nan_policy,
          channel_axis=None, func=None):
    """Validate the scalar arguments of a convolve/correlate call, once (once
    per distinct call: see ``ParsedCache``; the thread count is resolved on
    every call, as ``set_workers`` may have changed it)."""
    key = _PARSED.key(mode, boundary, method, stride, dilation, axes, bool(flip), nan_policy,
                      channel_axis, func)
    fields = _PARSED.get(key)
    if fields is not None:
        return LinearSpec(nthreads=resolve_workers(workers), **fields)
    fields = dict(
        mode=canonical_mode(mode),
        boundary=canonical_boundary(boundary),
        method=_methods.canonical_method(method),
        nthreads=resolve_workers(workers),
        stride=_pair("stride", stride),
        dilation=_pair("dilation", dilation),
        axes=axes,
        flip=bool(flip),
        nan_policy=_nanpolicy.canonical_nan_policy(nan_policy),
        stride_arg=stride,
        dilation_arg=dilation,
        channel_axis=channel_axis,
        func=func or ("convolve" if flip else "correlate"),
    )
    spec = LinearSpec(**fields)
    del fields["nthreads"]
    _PARSED.put(key, fields)
    return spec


def correlate_spec(boundary, nthreads, *, mode="same", method="auto", nan_policy="propagate"):
    """A spec for a 2-D correlation from values a caller has already validated."""
    return LinearSpec(mode=mode, boundary=boundary, method=method, nthreads=nthreads,
                      stride=(1, 1), dilation=(1, 1), axes=None, flip=False,
                      nan_policy=nan_policy)


def _channels(image, kernel, spec):
    """Resolve ``channel_axis`` and the colour-ambiguity rule.

    Returns ``(axes, c)``: the spatial axes to pass on (the last two axes
    other than the channel axis when only ``channel_axis`` is given) and
    the channel axis when the call must loop over channels (a 1-D or N-D
    kernel), else None.
    """
    axes, channel_axis = spec.axes, spec.channel_axis
    if channel_axis is None:
        if kernel.ndim == 2:
            check_colour_ambiguity(image, axes, None, spec.func, STACK_HINT)
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
    if kernel.ndim > len(rest):
        raise ValueError(
            f"channel_axis={channel_axis!r} leaves {len(rest)}-D channels of the "
            f"{image.ndim}-D image (shape {image.shape}), fewer dimensions than the "
            f"{kernel.ndim}-D kernel (shape {kernel.shape}); drop channel_axis for a "
            "grey image, or give a kernel with one dimension per non-channel axis")
    return axes, c


def apply(image, kernel, fillvalue, dtype, out, spec):
    """Filter ``image`` by ``kernel`` as ``spec`` says: channels, bands, NaN policy, method."""
    kernel = as_array(kernel, "kernel")
    if spec.channel_axis is not None or kernel.ndim == 2:
        arr = as_array(image, "image")
        axes, c = _channels(arr, kernel, spec)
        if axes is not spec.axes or spec.channel_axis is not None:
            spec = replace(spec, axes=axes, channel_axis=None)
        if c is not None:
            # One call per channel (a kernel with one dimension fewer than the image).
            result = over_channels(
                lambda plane: _apply(plane, kernel, fillvalue, dtype, None, spec), arr, c)
            if out is not None:
                check_out(out, result.shape, result.dtype, [("image", image), ("kernel", kernel)])
                np.copyto(out, result)
                return out
            return result
    return _apply(image, kernel, fillvalue, dtype, out, spec)


def _kernel_outgrows(image, kernel, spec):
    """'valid' with a kernel larger than the image along an axis: the roles
    are swapped or the call refused (by the in-memory path; either way the
    output is tiny), never banded."""
    if spec.mode != "valid":
        return False
    return any(dilated_span(k, d) > n for k, d, n in
               zip(np.shape(kernel), spec.dilation, np.shape(image)))


def _apply(image, kernel, fillvalue, dtype, out, spec):
    if _banded.wanted(image, kernel, out, spec.axes) and not _kernel_outgrows(image, kernel, spec):
        if spec.nan_policy == "raise" and spec.mode != "valid":
            # The fill value first: the bands pad with it, then check their
            # samples (the image) as they read them.
            _nanpolicy.check_fill_finite(spec.boundary, fillvalue)
        band_spec = replace(spec, mode="valid", boundary="fill", axes=None)
        return _banded.filter_in_bands(
            lambda patch, o: _apply(patch, kernel, 0, dtype, o, band_spec),
            image, kernel, spec.mode, spec.boundary, fillvalue, dtype, spec.flip,
            spec.stride, spec.dilation, out)
    if spec.nan_policy == "raise":
        # 'valid' pads nothing: the fill value is never used there.
        _nanpolicy.check_finite(image, kernel, "symm" if spec.mode == "valid" else spec.boundary,
                                fillvalue)
    elif spec.nan_policy == "omit":
        img, w = np.asarray(image), np.asarray(kernel)
        # N-D convolution (the kernel spans every axis): sums over all axes.
        nd = spec.axes is None and img.ndim == w.ndim >= 3
        if nd:
            dil = as_tuple("dilation", spec.dilation_arg, w.ndim, minimum=1)
            spans = [dilated_span(k, d) for d, k in zip(dil, w.shape)]
        else:
            dil = spec.dilation[-min(w.ndim, 2):] if w.ndim else ()
            spans = [dilated_span(k, d) for d, k in zip(dil, w.shape[-2:])]
        swapped = (spec.mode == "valid" and img.ndim >= 1 and w.ndim >= 1 and 0 not in w.shape
                   and all(k >= n for n, k in zip(img.shape[-len(spans):], spans)))
        return _nanpolicy.filter_omit(
            lambda img, w, fill, dt, o: _filter(img, w, fill, dt, o, spec),
            image, kernel, spec.boundary, fillvalue, dtype, spec.axes, out,
            swapped=swapped, nthreads=spec.nthreads, nd=nd, conjugate=not spec.flip)
    return _filter(image, kernel, fillvalue, dtype, out, spec)


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


def _filter(image, kernel, fillvalue, dtype, out, spec, nan_check=True):
    """The in-memory filter: shapes, the 'valid' swap, then one method of ``_methods``."""
    image = as_array(image, "image")
    kernel = as_array(kernel, "kernel")
    mode, boundary, flip, axes = spec.mode, spec.boundary, spec.flip, spec.axes
    compute, out_dtype = result_dtypes(image.dtype, kernel.dtype, dtype)
    fill = as_fillvalue(fillvalue, compute)
    if axes is None and image.ndim == kernel.ndim >= 3:
        # N-D convolution over every axis, scipy.signal.convolve's meaning.
        return _nd.filter_nd(image, kernel, mode, boundary, fill, compute, out_dtype,
                             spec.nthreads, flip, spec.method, spec.stride_arg,
                             spec.dilation_arg, out, nan_check)
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
        # one filtered axis: an int or a sequence of one value
        stride = (1,) + as_tuple("stride", spec.stride_arg, 1, minimum=1)
        dilation = (1,) + as_tuple("dilation", spec.dilation_arg, 1, minimum=1)
    elif image.ndim >= 2 and kernel.ndim >= 2:
        stride = spec.stride or as_tuple("stride", spec.stride_arg, 2, minimum=1)
        dilation = spec.dilation or as_tuple("dilation", spec.dilation_arg, 2, minimum=1)
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
    if max(dilation) > 1:
        # The boundary index maps run over the padded axes, about 4 int64
        # arrays of that length at their peak: a dilation that makes them
        # larger than memory is refused at once.
        check_fits_in_memory("dilation", dilation if not one_d else dilation[1],
                             "boundary index maps (with their temporaries)",
                             (sum(spatial) + sum(span), 4), np.dtype(np.intp).itemsize)
    swapped = valid_swap(mode, spatial, span)
    if swapped:
        if x.shape[-2] * x.shape[-1] == 0:
            raise ValueError(
                f"image is empty (shape {image.shape}) and mode='valid' would "
                "swap it with the larger kernel; no valid output exists"
            )
        # The kernel becomes the image: materialise its holes, then swap.
        check_fits_in_memory("dilation", dilation if not one_d else dilation[1],
                             "a dilated kernel", (w.shape[0],) + span, np.dtype(compute).itemsize)
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
                               nthreads=spec.nthreads)

    # --- the result's shape, and out= ---------------------------------------------
    o0, o1 = problem.out_shape
    if swapped:
        # SciPy's swapped result, then every s-th sample of it.
        o0, o1 = len(range(0, o0, swap_stride[0])), len(range(0, o1, swap_stride[1]))
    if one_d:
        final_shape = (o1,)
    elif perm is None:
        final_shape = (o0, o1)
    else:
        final_shape = _unpermuted_shape(image.ndim, perm, lead_shape, (o0, o1))
    # A result larger than memory (mode='full' with a wide dilation, or a huge
    # image) is refused at once, naming what makes it large.
    wide = max(dilation) > 1 and mode == "full" and not swapped
    check_fits_in_memory("dilation" if wide else "image", dilation if wide else None,
                         "a result", final_shape, np.dtype(compute).itemsize,
                         given=(f"dilation={dilation if not one_d else dilation[1]} "
                                f"(mode={mode!r})" if wide else
                                f"an image of shape {image.shape} (mode={mode!r})"))
    if out is not None:
        check_out(out, final_shape, out_dtype, [("image", image), ("kernel", kernel)])

    # After SciPy's 'valid' swap the image is the filter: the kernel's
    # separability says nothing about it, and the output is no larger than
    # the kernel, so method='separable' runs direct there.
    method = "direct" if swapped and spec.method == "separable" else spec.method
    chosen = _methods.choose(problem, method)
    # Write straight into out= when its memory is exactly the kernel's output.
    in_place = (out is not None and chosen == "direct" and not swapped
                and out.dtype == compute and compute.kind != "c" and out.flags.c_contiguous
                and (one_d or list(perm) == list(range(image.ndim))))
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
    result = cast_output(result, out_dtype, spec.nthreads)
    if one_d:
        result = result.reshape(final_shape)
    else:   # axes=(1, 0) on a 2-D image too: the axes go back in place
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
