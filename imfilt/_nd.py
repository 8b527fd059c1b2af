"""N-D correlation of a virtually padded image (N >= 3), built on the 2-D engine.

The problem is the one of :mod:`imfilt._methods`, in N dimensions:

    out[o] = sum_t P[o * s + t * d] * w[t]

with ``P`` the image padded by a boundary rule on every axis (``pads`` per
axis) and ``w`` the kernel in correlation form.  Three methods solve it:

direct
    One call of the 2-D direct kernel's row engine: the leading axes are
    flattened into rows, and each output row sums the input rows a table
    names for each leading kernel tap (``-1`` = a row of fill values), each
    correlated with its row of the kernel along the last axis; borders of
    the last axis are padded per row as in 2-D.  (Without the table kernel,
    and for empty images, a sum of batched 2-D passes over the leading
    axes does the same.)
separable
    A kernel with an exact rank-1 factorisation ``w = v0 x v1 x ...`` runs
    as N 1-D passes of the 2-D kernel, one per axis.
fft
    ``scipy.fft.rfftn`` over every axis of the explicitly padded image.
"""

import math

import numpy as np

from imfilt._lazy import LazyModule
from imfilt import _auto_constants as _K
from imfilt import _methods
from imfilt._geometry import as_tuple, check_out, mode_pads, valid_swap
from imfilt._kernels import _conv, _reuse
from imfilt._modes import boundary_index
from imfilt._threads import min_parallel_work, ran_parallel
from imfilt._cast import cast_output
from imfilt._validation import warn

sfft = LazyModule("scipy.fft")  # only the FFT method needs it; see imfilt._lazy

__all__ = ["filter_nd", "correlate_nd", "exact_rank1_factors", "choose_nd"]


# --------------------------------------------------------------------------
# helpers


def _output_lengths(shape, pads, spans, strides):
    out = []
    for n, (before, after), span, s in zip(shape, pads, spans, strides):
        full = n + before + after - span + 1
        out.append((full - 1) // s + 1 if full > 0 else 0)
    return tuple(out)


def _source_runs(src):
    """Split ``src`` (source slice per output, -1 = fill) into runs.

    Yields ``(start, stop, first)``: outputs ``[start, stop)`` read source
    slices ``first, first + 1, ...`` (``first`` = -1: all fill).
    """
    n = len(src)
    i = 0
    while i < n:
        j = i + 1
        if src[i] < 0:
            while j < n and src[j] < 0:
                j += 1
        else:
            while j < n and src[j] == src[j - 1] + 1:
                j += 1
        yield i, j, int(src[i])
        i = j


def _fill_response(w, fill, real, dilation):
    """The output of a window that sees the fill value only: ``sum(fill * w)``."""
    if fill == 0 and np.isfinite(w).all():
        return None
    return real.type(np.sum(real.type(fill) * w.astype(real)))


# --------------------------------------------------------------------------
# direct


def _direct_batched(x, w, pads, strides, dilations, boundary, fill, real, nthreads):
    """Correlate each ``x[b]`` (a (B, n1, ..., nM) array, M >= 2) with ``w``."""
    B = x.shape[0]
    M = x.ndim - 1
    if M == 2:
        return _methods._direct_core(x, w[None], pads, strides, dilations, boundary, fill,
                                     real, nthreads)
    n0 = x.shape[1]
    k0 = w.shape[0]
    (before, _), s0, d0 = pads[0], strides[0], dilations[0]
    spans = [d * (k - 1) + 1 for d, k in zip(dilations, w.shape)]
    o = _output_lengths(x.shape[1:], pads, spans, strides)
    out = _reuse.empty((B,) + o, dtype=real)
    if out.size == 0:
        return out
    P0 = (o[0] - 1) * s0 + spans[0]
    rowmap = boundary_index(n0, before, P0 - before - n0, boundary)
    for t0 in range(k0):
        src = rowmap[np.arange(o[0]) * s0 + t0 * d0]
        wt = np.ascontiguousarray(w[t0])
        for start, stop, first in _source_runs(src):
            if first < 0:
                value = _fill_response(wt, fill, real, dilations[1:])
                if t0 == 0:
                    out[:, start:stop] = 0 if value is None else value
                elif value is not None:
                    out[:, start:stop] += value
                continue
            part = x[:, first:first + (stop - start)]
            part = part.reshape((B * (stop - start),) + x.shape[2:])
            slab = out[:, start:stop]
            if t0 == 0 and M == 3 and slab.flags.c_contiguous:
                # The first tap writes its slices in place: no temporary.
                _methods._direct_core(part, wt[None], pads[1:], strides[1:], dilations[1:],
                                      boundary, fill, real, nthreads,
                                      dest=slab.reshape((-1,) + slab.shape[2:]))
                continue
            res = _direct_batched(part, wt, pads[1:], strides[1:], dilations[1:], boundary,
                                  fill, real, nthreads)
            res = res.reshape((B, stop - start) + res.shape[1:])
            if t0 == 0:
                out[:, start:stop] = res
            else:
                out[:, start:stop] += res
    return out


def _row_table(shape, pads, spans, strides, dilations, kshape, out_shape, boundary):
    """Source row (leading axes flattened, -1 = fill) per (output row, kernel row)."""
    L = len(shape)
    total = np.zeros((1,) * (2 * L), dtype=np.intp)
    bad = np.zeros((1,) * (2 * L), dtype=bool)
    step = 1
    for a in range(L - 1, -1, -1):
        n, (before, _), span, s, d, k, o = (shape[a], pads[a], spans[a], strides[a],
                                            dilations[a], kshape[a], out_shape[a])
        P = (o - 1) * s + span
        m = boundary_index(n, before, P - before - n, boundary)
        src = m[np.arange(o)[:, None] * s + np.arange(k)[None, :] * d]
        view = [1] * (2 * L)
        view[a], view[L + a] = o, k
        src = src.reshape(view)
        total = total + src * step
        bad = bad | (src < 0)
        step *= n
    total = np.where(bad, -1, total)
    O = int(np.prod(out_shape, dtype=np.int64))
    Ka = int(np.prod(kshape, dtype=np.int64))
    return np.ascontiguousarray(np.broadcast_to(total, tuple(out_shape) + tuple(kshape))
                                .reshape(O, Ka), dtype=np.intp)


def _direct_table(x, w, pads, strides, dilations, boundary, fill, real, nthreads):
    """The N-D direct method in one kernel call: leading axes flattened to rows."""
    spans = [d * (k - 1) + 1 for d, k in zip(dilations, w.shape)]
    o = _output_lengths(x.shape, pads, spans, strides)
    out = _reuse.empty(o, dtype=real)
    if out.size == 0:
        return out
    rowtab = _row_table(x.shape[:-1], pads[:-1], spans[:-1], strides[:-1], dilations[:-1],
                        w.shape[:-1], o[:-1], boundary)
    n1, (pl, _), s1, d1, k1 = x.shape[-1], pads[-1], strides[-1], dilations[-1], w.shape[-1]
    P1 = (o[-1] - 1) * s1 + spans[-1]
    colmap = boundary_index(n1, pl, P1 - pl - n1, boundary)
    Ka = rowtab.shape[1]
    x2 = x.reshape(1, -1, n1)
    w2 = np.ascontiguousarray(w.reshape(1, Ka, k1), dtype=real)
    out2 = out.reshape(1, -1, o[-1])
    nthreads = max(1, min(nthreads, out2.shape[1]))
    kernel = _conv.correlate_padded[_FUSED[real]]
    key = "f32" if real == np.float32 else "f64"
    per_row = o[-1] * (Ka * k1 * _K.DIRECT_PER_TAP[key] + _K.DIRECT_PER_OUTPUT[key]) / max(
        1, min(nthreads, _K.MAX_USEFUL_THREADS))
    for _, _, r0, r1 in _methods.interruptible_slices(1, out2.shape[1], per_row,
                                                      min_rows=4 * nthreads):
        # rows of a table: output row i reads rowtab[i, a] for kernel row a
        ran_parallel(kernel(x2, w2, out2[:, r0:r1], rowtab[r0:r1].reshape(-1), colmap, pl,
                            Ka, s1, 1, d1, real.type(fill), nthreads, min_parallel_work()))
    return out


_FUSED = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}


# --------------------------------------------------------------------------
# separable


def exact_rank1_factors(w, rtol=0.0):
    """1-D factors ``[v0, v1, ...]`` with ``outer(v0, v1, ...) == w``, or None.

    With ``rtol=0`` the product must reproduce ``w`` exactly (integer
    kernels, box and binomial kernels); otherwise to ``rtol * max|w|``.
    """
    w64 = np.asarray(w, dtype=np.float64)
    if w64.size == 0 or not np.isfinite(w64).all():
        return None
    pivot_at = np.unravel_index(np.argmax(np.abs(w64)), w64.shape)
    pivot = w64[pivot_at]
    if pivot == 0:
        return [np.zeros(k) for k in w64.shape]
    factors = []
    for a in range(w64.ndim):
        index = list(pivot_at)
        index[a] = slice(None)
        v = w64[tuple(index)]
        factors.append(v if a == 0 else v / pivot)
    prod = factors[0]
    for v in factors[1:]:
        prod = np.multiply.outer(prod, v)
    if np.array_equal(prod, w64) or (
            rtol > 0 and np.max(np.abs(prod - w64)) <= rtol * abs(pivot)):
        return factors
    return None


def _separable(x, factors, pads, strides, dilations, boundary, fill, real, nthreads):
    """N 1-D passes: along each axis, the image seen as (B, n_a, rest)."""
    cur = x
    fill_now = fill
    for a, v in enumerate(factors):
        shape = cur.shape
        lead = int(np.prod(shape[:a], dtype=np.int64))
        rest = int(np.prod(shape[a + 1:], dtype=np.int64))
        if a == len(shape) - 1:
            # the last axis: one image of rows, the kernel along the rows
            view = cur.reshape(1, lead, shape[a])
            res = _methods._direct_core(view, v.reshape(1, 1, -1).astype(real),
                                        ((0, 0), pads[a]), (1, strides[a]), (1, dilations[a]),
                                        boundary, fill_now, real, nthreads)
            cur = res.reshape(shape[:a] + (res.shape[2],))
        else:
            view = cur.reshape(lead, shape[a], rest)
            res = _methods._direct_core(view, v.reshape(1, -1, 1).astype(real),
                                        (pads[a], (0, 0)), (strides[a], 1), (dilations[a], 1),
                                        boundary, fill_now, real, nthreads)
            cur = res.reshape(shape[:a] + (res.shape[1],) + shape[a + 1:])
        if boundary == "fill":
            # A padded sample of the next axis is fill in every earlier pass.
            fill_now = fill_now * float(np.sum(v))
    return cur


# --------------------------------------------------------------------------
# fft


def _padded_nd(x, pads, boundary, fill, real):
    """The explicitly padded image (numpy.pad semantics, folding repeatedly)."""
    xp = np.asarray(x, dtype=real)
    for a, (before, after) in enumerate(pads):
        n = xp.shape[a]
        if n == 0:
            shape = list(xp.shape)
            shape[a] = before + after
            xp = np.full(shape, fill, dtype=real)
            continue
        idx = boundary_index(n, before, after, boundary)
        taken = np.take(xp, np.maximum(idx, 0), axis=a)
        if (idx < 0).any():
            sel = [slice(None)] * xp.ndim
            sel[a] = idx < 0
            taken[tuple(sel)] = fill
        xp = taken
    return xp


def _fft(x, w, pads, strides, dilations, boundary, fill, real, nthreads):
    xp = _padded_nd(x, pads, boundary, fill, real)
    if any(d > 1 for d in dilations):
        stuffed = np.zeros(tuple(d * (k - 1) + 1 for d, k in zip(dilations, w.shape)), real)
        stuffed[tuple(slice(None, None, d) for d in dilations)] = w
        w = stuffed
    P = xp.shape
    K = w.shape
    valid = tuple(p - k + 1 for p, k in zip(P, K))
    if min(valid) <= 0:
        return np.zeros(tuple(max(v, 0) for v in valid), dtype=real)
    L = [sfft.next_fast_len(p, real=True) for p in P]
    spec = sfft.rfftn(xp, s=L, workers=nthreads)
    spec *= sfft.rfftn(np.ascontiguousarray(w[(slice(None, None, -1),) * w.ndim], dtype=real),
                       s=L, workers=nthreads)
    res = sfft.irfftn(spec, s=L, workers=nthreads)
    res = res[tuple(slice(k - 1, p) for k, p in zip(K, P))]
    res = res[tuple(slice(None, None, s) for s in strides)]
    return np.ascontiguousarray(res, dtype=real)


# --------------------------------------------------------------------------
# method choice and the entry point


def choose_nd(x, w, method, finite, exact_integer, out_shape):
    """Resolve ``method='auto'`` for an N-D problem (explicit methods pass through)."""
    if method != "auto":
        return method
    taps = w.size
    outputs = int(np.prod(out_shape, dtype=np.int64))
    if finite and taps > 4 * sum(w.shape) and exact_rank1_factors(w) is not None:
        return "separable"
    if finite and not exact_integer and outputs:
        padded = int(np.prod([o + k - 1 for o, k in zip(out_shape, w.shape)], dtype=np.int64))
        # Direct costs about one unit per tap-output; a transform about
        # 6 log2(size) units per padded sample (forward, inverse, product).
        if taps * outputs > 6 * padded * math.log2(max(padded, 2)):
            return "fft"
    return "direct"


def correlate_nd(x, w, pads, strides, dilations, boundary, fill, real, nthreads, method):
    """Solve the real N-D problem with ``method``; ``x`` and ``w`` real, any layout."""
    x = np.ascontiguousarray(x, dtype=real)
    w = np.ascontiguousarray(w, dtype=real)
    if method == "fft":
        return _fft(x, w, pads, strides, dilations, boundary, fill, real, nthreads)
    if method == "separable":
        factors = exact_rank1_factors(w, rtol=4 * w.ndim * np.finfo(real).eps)
        if factors is None:
            raise ValueError(
                "method='separable' for an N-D kernel needs an exact rank-1 kernel (an outer "
                f"product of 1-D kernels); the kernel of shape {w.shape} is not one. Use "
                "method='direct', 'fft' or 'auto'"
            )
        return _separable(x, factors, pads, strides, dilations, boundary, fill, real, nthreads)
    if x.size:
        return _direct_table(x, w, pads, strides, dilations, boundary, fill, real, nthreads)
    return _direct_batched(x[None], w, pads, strides, dilations, boundary, fill, real,
                           nthreads)[0]


def _tuple_n(name, value, n):
    return as_tuple(name, value, n, minimum=1)


def filter_nd(image, kernel, mode, boundary, fill, compute, out_dtype, nthreads, flip,
              method, stride, dilation, out, nan_check=True):
    """N-D convolution (``flip``) or correlation with ``scipy.signal``'s meaning.

    ``image.ndim == kernel.ndim >= 3``.  'same' is centred like
    ``scipy.signal.convolve``/``correlate`` (output ``i`` is full output
    ``i + (k - 1) // 2``), 'valid' swaps the inputs when the kernel is the
    larger in every axis (and a swapped correlation is reversed and
    conjugated, as SciPy does), every boundary applies on every axis.
    """
    N = image.ndim
    if 0 in kernel.shape:
        raise ValueError(f"kernel must not be empty; got shape {kernel.shape}")
    strides = _tuple_n("stride", stride, N)
    dilations = _tuple_n("dilation", dilation, N)
    x, w = image, kernel
    spans = tuple(d * (k - 1) + 1 for d, k in zip(dilations, w.shape))
    swapped = valid_swap(mode, x.shape, spans)
    if swapped:
        if x.size == 0:
            raise ValueError(f"image is empty (shape {image.shape}) and mode='valid' would "
                             "swap it with the larger kernel; no valid output exists")
        if any(d > 1 for d in dilations):
            big = np.zeros(spans, dtype=w.dtype)
            big[tuple(slice(None, None, d) for d in dilations)] = w
            w = big
        x, w = w, x
        dilations = (1,) * N
        spans = w.shape
        swap_strides, strides = strides, (1,) * N
    if x.size == 0 and boundary != "fill" and mode != "valid":
        raise ValueError(f"image is empty (shape {image.shape}); boundary={boundary!r} cannot "
                         "extend it. Use boundary='fill' or a non-empty image")
    # correlation form
    w = w[(slice(None, None, -1),) * N] if flip else (np.conj(w) if w.dtype.kind == "c" else w)
    pads = tuple(mode_pads(mode, span, True) for span in spans)
    out_shape = _output_lengths(x.shape, pads, spans, strides)
    if swapped:
        out_shape = tuple(len(range(0, o, s)) for o, s in zip(out_shape, swap_strides))
    if out is not None:
        check_out(out, out_shape, out_dtype, [("image", image), ("kernel", kernel)])

    real = np.dtype(np.float32) if compute in (np.float32, np.complex64) else np.dtype(np.float64)
    finite = bool(np.isfinite(w).all()) and (x.dtype.kind in "biu" or bool(np.isfinite(x).all()))
    if boundary == "fill":
        finite = finite and bool(np.isfinite(fill))
    exact_integer = x.dtype.kind in "biu" and w.dtype.kind in "biu"
    chosen = choose_nd(x, w.real, method, finite, exact_integer, out_shape)
    if chosen == "separable" and method == "auto" and compute.kind == "c":
        chosen = "direct"
    if chosen == "fft" and method == "fft" and nan_check and not finite:
        warn(_methods.FFT_NAN_WARNING)

    def solve(xr, wr, f):
        return correlate_nd(xr, wr, pads, strides, dilations, boundary, f, real, nthreads,
                            chosen)

    if compute.kind != "c":
        result = solve(x, w, fill)
    else:
        # Every product term formed, as the 2-D engine does.
        fill_c = complex(fill)
        xi = x.imag if x.dtype.kind == "c" else None
        wi = w.imag if w.dtype.kind == "c" else None
        if xi is None and fill_c.imag != 0:
            xi = np.zeros(x.shape, dtype=real)
        re = solve(x.real, w.real, fill_c.real)
        im = np.zeros(re.shape, dtype=real)
        if xi is not None:
            im = im + solve(xi, w.real, fill_c.imag)
            if wi is not None:
                re = re - solve(xi, wi, fill_c.imag)
        if wi is not None:
            im = im + solve(x.real, wi, fill_c.real)
        result = _reuse.empty(re.shape, dtype=compute)
        result.real = re
        result.imag = im
    if swapped:
        if not flip:
            result = result[(slice(None, None, -1),) * N]
            if result.dtype.kind == "c":
                result = np.conj(result)
        result = result[tuple(slice(None, None, s) for s in swap_strides)]
    result = cast_output(np.ascontiguousarray(result), out_dtype, nthreads)
    if out is not None:
        np.copyto(out, result)
        return out
    return result
