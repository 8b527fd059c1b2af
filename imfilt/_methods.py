"""The three ways imfilt computes a correlation, and the choice between them.

Every call of :func:`imfilt.convolve`/:func:`imfilt.correlate` is reduced to
a :class:`Problem`: a batch of images ``x`` (B, n0, n1), kernels ``w``
(1 or B, k0, k1) already in correlation form, the padding of each axis, the
boundary rule, stride and dilation.  The methods below all solve exactly
that problem:

direct
    The Cython kernel (``_kernels/_conv.pyx``): exact IEEE semantics.
separable
    A kernel of numerical rank r is applied as r pairs of 1-D passes, both
    run by the same Cython kernel with 1-wide kernels.
fft
    Real FFTs from :mod:`scipy.fft` on the explicitly padded image, with
    overlap-save tiling when the image is much larger than the kernel.

``choose`` implements ``method="auto"`` from a cost model whose constants
are measured by ``benchmarks/calibrate_auto.py`` (``_auto_constants.py``).
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np

from imfilt._lazy import LazyModule
from imfilt import _auto_constants as K
from imfilt._geometry import dilated_span, output_length
from imfilt import _separable as _sep_engine
from imfilt._kernels import _conv
from imfilt._modes import boundary_index
from imfilt import _threads
from imfilt._threads import (interruptible_pieces, interruptible_slices, min_parallel_work,
                             ran_parallel)
from imfilt._validation import check_choice

sfft = LazyModule("scipy.fft")  # only the FFT method needs it; see imfilt._lazy

METHODS = ("auto", "direct", "separable", "fft")

#: Singular values below ``SEPARABLE_RTOL_FACTOR * max(k0, k1) * eps`` times
#: the largest count as zero when the numerical rank is computed (eps of the
#: compute dtype).
SEPARABLE_RTOL_FACTOR = 4.0


def canonical_method(method):
    """Validate ``method`` (one of ``METHODS``) and return it."""
    return check_choice("method", method, METHODS)


@dataclass
class Problem:
    """A batch correlation of virtually padded images (see module docstring)."""

    x: np.ndarray            # (B, n0, n1), any numeric dtype and layout
    w: np.ndarray            # (1 or B, k0, k1), correlation form
    pads: tuple              # ((top, bottom), (left, right)) for the dilated extent
    stride: tuple            # (s0, s1)
    dilation: tuple          # (d0, d1)
    boundary: str
    fill: object             # scalar (complex only for complex compute)
    compute: np.dtype
    nthreads: int
    dest: object = None      # optional C-contiguous (B, o0, o1) compute-dtype output

    @property
    def span(self):
        return tuple(dilated_span(k, d) for d, k in zip(self.dilation, self.w.shape[-2:]))

    @property
    def out_shape(self):
        return tuple(output_length(n, before, after, span, s) for n, (before, after), span, s
                     in zip(self.x.shape[-2:], self.pads, self.span, self.stride))


# --------------------------------------------------------------------------
# running a method, with complex inputs split into real passes
# --------------------------------------------------------------------------

def _real_dtype(compute):
    return np.dtype(np.float32) if compute in (np.float32, np.complex64) else np.dtype(np.float64)


def run(problem, method):
    """Solve ``problem`` with ``method``; returns (B, o0, o1) in the compute dtype."""
    o0, o1 = problem.out_shape
    B = problem.x.shape[0]
    if B == 0 or o0 == 0 or o1 == 0:
        return np.zeros((B, o0, o1), dtype=problem.compute)
    solve = {"direct": _direct, "separable": _separable, "fft": _fft}[method]
    if problem.compute.kind != "c":
        real = problem.compute
        x = problem.x
        return solve(problem, x, problem.w, problem.fill, real)
    # (xr + i xi) (wr + i wi) = (xr wr - xi wi) + i (xr wi + xi wr): every
    # product term is formed, so NaN/inf propagate as in a per-tap product.
    real = _real_dtype(problem.compute)
    fill = complex(problem.fill)
    x, w = problem.x, problem.w
    xr, wr = x.real, w.real
    xi = x.imag if x.dtype.kind == "c" or fill.imag != 0 else None
    wi = w.imag if w.dtype.kind == "c" else None
    if xi is not None and x.dtype.kind != "c":
        xi = np.zeros(x.shape, dtype=real)
    re = solve(problem, xr, wr, fill.real, real)
    im = np.zeros(re.shape, dtype=real)
    if xi is not None:
        im = im + solve(problem, xi, wr, fill.imag, real)
        if wi is not None:
            re = re - solve(problem, xi, wi, fill.imag, real)
    if wi is not None:
        im = im + solve(problem, xr, wi, fill.real, real)
    out = np.empty(re.shape, dtype=problem.compute)
    out.real = re
    out.imag = im
    return out


# --------------------------------------------------------------------------
# direct
# --------------------------------------------------------------------------

def _axis_map(n, before, length, boundary):
    """Source index of ``length`` padded positions starting ``before`` ahead of 0."""
    return boundary_index(n, before, length - before - n, boundary)


# The fused Cython function dispatches on its arguments' types at every call
# (tens of microseconds); look the specialisations up once instead.
_CORRELATE = {np.dtype(np.float32): _conv.correlate_padded["float"],
              np.dtype(np.float64): _conv.correlate_padded["double"]}


def _direct_core(x, w, pads, stride, dilation, boundary, fill, real, nthreads, dest=None):
    """The Cython kernel on (B, n0, n1) real ``x`` and (Bw, k0, k1) ``w``.

    ``dest``, when given, is a C-contiguous output of the right shape and
    dtype that the kernel writes into directly.
    """
    x = np.ascontiguousarray(x, dtype=real)
    w = np.ascontiguousarray(w, dtype=real)
    B, n0, n1 = x.shape
    k0, k1 = w.shape[-2:]
    (pt, pb), (pl, pr) = pads
    (s0, s1), (d0, d1) = stride, dilation
    o0 = output_length(n0, pt, pb, dilated_span(k0, d0), s0)
    o1 = output_length(n1, pl, pr, dilated_span(k1, d1), s1)
    out = dest if dest is not None else np.empty((B, o0, o1), dtype=real)
    if out.size == 0:
        return out
    P0 = (o0 - 1) * s0 + (k0 - 1) * d0 + 1
    P1 = (o1 - 1) * s1 + (k1 - 1) * d1 + 1
    if n0 == 0 or n1 == 0:
        # Empty image, boundary='fill': every padded sample is the fill value,
        # multiplied through the kernel like any other sample.
        x = np.full((B, P0, P1), fill, dtype=real)
        n0, n1, pt, pl = P0, P1, 0, 0
    rowmap = _axis_map(n0, pt, P0, boundary)
    colmap = _axis_map(n1, pl, P1, boundary)
    nthreads = max(1, min(nthreads, B * o0))
    kernel = _CORRELATE[real]
    key = "f32" if real == np.float32 else "f64"
    per_row = o1 * (k0 * k1 * K.DIRECT_PER_TAP[key] + K.DIRECT_PER_OUTPUT[key]) / max(
        1, min(nthreads, K.MAX_USEFUL_THREADS))
    # Pieces of at least 4 rows per thread, so every thread gets work.
    for b0, b1, r0, r1 in interruptible_slices(B, o0, per_row, min_rows=4 * nthreads):
        # Between slices the interpreter runs its signal handlers: Ctrl-C
        # raises KeyboardInterrupt within about one slice.
        ran_parallel(kernel(x[b0:b1], w if w.shape[0] == 1 else w[b0:b1], out[b0:b1, r0:r1],
                            rowmap[r0 * s0:(r1 - 1) * s0 + (k0 - 1) * d0 + 1], colmap, pl,
                            s0, s1, d0, d1, real.type(fill), nthreads, min_parallel_work()))
    return out


def _direct(problem, x, w, fill, real):
    dest = problem.dest if problem.compute.kind != "c" else None
    return _direct_core(x, w, problem.pads, problem.stride, problem.dilation,
                        problem.boundary, fill, real, problem.nthreads, dest)


# --------------------------------------------------------------------------
# separable
# --------------------------------------------------------------------------

def _exact_rank1(w):
    """Exact factors ``col, row`` with ``outer(col, row) == w``, or None."""
    i, j = np.unravel_index(np.argmax(np.abs(w)), w.shape)
    pivot = w[i, j]
    if pivot == 0 or not np.isfinite(pivot):
        return None
    col = w[:, j].astype(np.float64)
    row = w[i, :].astype(np.float64) / float(pivot)
    if np.array_equal(np.outer(col, row), w.astype(np.float64)):
        return col, row
    return None


def factorize(w, real):
    """Separable factors of a 2-D real kernel: (rank, [(col, row), ...]).

    Rank 1 kernels with an exact factorisation (Sobel, box, binomial ...) use
    it, so integer kernels stay exact; otherwise the SVD gives ``r`` pairs,
    ``r`` the numerical rank at relative tolerance
    ``SEPARABLE_RTOL_FACTOR * max(k0, k1) * eps(real)``.
    """
    w64 = np.asarray(w, dtype=np.float64)
    if not np.all(np.isfinite(w64)):
        return min(w64.shape), None
    exact = _exact_rank1(w64)
    if exact is not None:
        return 1, [exact]
    u, s, vt = np.linalg.svd(w64, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return 0, [(np.zeros(w64.shape[0]), np.zeros(w64.shape[1]))]
    tol = SEPARABLE_RTOL_FACTOR * max(w64.shape) * np.finfo(real).eps * s[0]
    rank = int(np.count_nonzero(s > tol))
    pairs = [(u[:, i] * np.sqrt(s[i]), vt[i, :] * np.sqrt(s[i])) for i in range(rank)]
    return rank, pairs


def separable_rank(w, real):
    """Largest numerical rank over a batch of kernels (B, k0, k1)."""
    return max(factorize(wb, real)[0] for wb in w)


def _separable_ok(rank, k0, k1):
    return rank <= 1 or rank < min(k0, k1)


def _separable(problem, x, w, fill, real):
    factors = [factorize(wb, real) for wb in w]
    k0, k1 = w.shape[-2:]
    rank = max(r for r, _ in factors)
    if not _separable_ok(rank, k0, k1) or any(p is None for _, p in factors):
        raise ValueError(
            f"method='separable' needs a low-rank kernel, but the kernel has numerical "
            f"rank {rank} (shape {k0}x{k1}); use method='direct', 'fft' or 'auto'"
        )
    rank = max(rank, 1)
    # Pad every slice's factor list to the common rank with zero pairs.
    cols = np.zeros((rank, len(w), k0, 1))
    rows = np.zeros((rank, len(w), 1, k1))
    for b, (_, pairs) in enumerate(factors):
        for r, (c, rw) in enumerate(pairs):
            cols[r, b, :, 0] = c
            rows[r, b, 0, :] = rw
    (pt, pb), (pl, pr) = problem.pads
    (s0, s1), (d0, d1) = problem.stride, problem.dilation
    if (rank == 1 and len(w) == 1 and (s0, s1, d0, d1) == (1, 1, 1, 1)
            and problem.out_shape == x.shape[-2:] and x.shape[-1] * x.shape[-2] > 0):
        # Output the size of the image: the fused separable engine (row pass
        # into a per-thread ring, column pass from it, one sweep through cache).
        dest = problem.dest if problem.compute.kind != "c" else None
        return _sep_engine.run_passes(
            x, [_sep_engine.Pass(1, cols[0, 0, :, 0], pt), _sep_engine.Pass(2, rows[0, 0, 0, :], pl)],
            problem.boundary, fill, real, problem.nthreads, dest)
    total = None
    for r in range(rank):
        # Pass 1 along axis 0: rows padded, columns untouched.
        inter = _direct_core(x, cols[r], ((pt, pb), (0, 0)), (s0, 1), (d0, 1),
                             problem.boundary, fill, real, problem.nthreads)
        # Pass 2 along axis 1: a padded column of the 2-D image is `fill`
        # in every row, so after pass 1 it holds fill * sum(col).
        fill2 = fill * float(np.sum(cols[r, 0])) if problem.boundary == "fill" else 0.0
        if problem.boundary == "fill" and len(w) > 1 and fill != 0:
            parts = [
                _direct_core(inter[b:b + 1], rows[r, b:b + 1], ((0, 0), (pl, pr)), (1, s1), (1, d1),
                             "fill", fill * float(np.sum(cols[r, b])), real, problem.nthreads)
                for b in range(len(inter))
            ]
            res = np.concatenate(parts)
        else:
            res = _direct_core(inter, rows[r], ((0, 0), (pl, pr)), (1, s1), (1, d1),
                               problem.boundary, fill2, real, problem.nthreads)
        total = res if total is None else np.add(total, res, out=total)
    return total


# --------------------------------------------------------------------------
# fft
# --------------------------------------------------------------------------

#: Estimated seconds per element copied or checked, on a busy machine (the
#: first guess of how to cut a long pass into interruptible pieces).
_COPY_SECONDS = 2e-8


def _copy_rows(dst, src):
    """``dst[...] = src`` for (B, n0, n1) arrays, in interruptible pieces of
    rows (a copy of a large image takes a while); returns ``dst``."""
    B, n0, n1 = src.shape
    for b0, b1, r0, r1 in interruptible_slices(B, n0, n1 * _COPY_SECONDS):
        dst[b0:b1, r0:r1] = src[b0:b1, r0:r1]
    return dst


def _padded(problem, x, fill, real):
    """The explicitly padded images (B, P0, P1) for the FFT path.

    The interior is one block copy; only the border strips are gathered
    through the boundary index maps (-1 = fill).
    """
    B, n0, n1 = x.shape
    (pt, pb), (pl, pr) = problem.pads
    P0, P1 = n0 + pt + pb, n1 + pl + pr
    out = np.empty((B, P0, P1), dtype=real)
    if n0 == 0 or n1 == 0:
        out[...] = fill
        return out
    rowmap = boundary_index(n0, pt, pb, problem.boundary)
    colmap = boundary_index(n1, pl, pr, problem.boundary)
    _copy_rows(out[:, pt:pt + n0, pl:pl + n1], x)
    for cols in (np.arange(0, pl), np.arange(pl + n1, P1)):
        if cols.size:
            src = colmap[cols]
            strip = x[:, :, np.maximum(src, 0)].astype(real, copy=False)
            strip[:, :, src < 0] = fill
            out[:, pt:pt + n0, cols[0]:cols[-1] + 1] = strip
    for rows in (np.arange(0, pt), np.arange(pt + n0, P0)):
        if rows.size:
            src = rowmap[rows]
            block = out[:, np.maximum(src, 0) + pt, :]
            block[:, src < 0, :] = fill
            out[:, rows[0]:rows[-1] + 1, :] = block
    return out


#: Largest spectrum (bytes) the FFT method computes in one piece; larger
#: images are tiled by overlap-save so temporary memory stays bounded.
FFT_WHOLE_BYTES = 512 * 2**20


def _tile_lengths(P0, P1, K0, K1, itemsize=4):
    """FFT lengths (L0, L1) of overlap-save tiles, or None for one transform.

    Measured on the development machines, one transform of the whole padded
    image was never slower than tiling for images up to 4096^2, so tiles are
    used only to bound memory: when the whole spectrum would exceed
    ``FFT_WHOLE_BYTES``.  Tiles are then large (16x the kernel, at least
    512), where the cost per output sample is close to the minimum.
    """
    L0 = sfft.next_fast_len(P0, real=True)
    L1 = sfft.next_fast_len(P1, real=True)
    if L0 * (L1 // 2 + 1) * 2 * itemsize <= FFT_WHOLE_BYTES:
        return None
    T0 = sfft.next_fast_len(max(16 * K0, 512), real=True)
    T1 = sfft.next_fast_len(max(16 * K1, 512), real=True)
    return min(T0, L0), min(T1, L1)


def _kernel_spectrum(flipped, L0, L1, workers):
    """``rfft2(flipped, s=(L0, L1))`` without transforming the zero rows.

    A k0-row kernel padded to L0 rows needs the row transforms of its k0
    rows only; the column transforms then run on L1 // 2 + 1 columns.
    """
    rows = sfft.rfft(flipped, n=L1, axis=-1, workers=workers)
    return sfft.fft(rows, n=L0, axis=-2, workers=workers)


#: Upper bound on the complex spectra held at once by the tiled FFT (bytes).
FFT_GROUP_BYTES = 128 * 2**20


def _fft_seconds_per_point(real, workers):
    """Predicted seconds per ``n log2 n`` point of one transform (cost model)."""
    key = "f32" if real == np.float32 else "f64"
    return K.FFT_PER_POINT_LOG[key] / max(1, min(workers, K.MAX_USEFUL_THREADS))


def _fft_whole_sliced(xp, flipped, L0, L1, real, workers):
    """``_fft_valid`` in one transform of the whole padded images, as
    interruptible pieces: ``rfft2``/``irfft2`` taken apart into their 1-D
    passes (rows, then columns with the kernel product, then rows), each
    pass over groups of lines.  Every line is transformed by the same
    pocketfft plan as inside ``rfft2``/``irfft2`` and the inverse is scaled
    once at the end as they do, so the result equals the one-call path bit
    for bit."""
    B, P0, P1 = xp.shape
    K0, K1 = flipped.shape[-2:]
    V0, V1 = P0 - K0 + 1, P1 - K1 + 1
    F = L1 // 2 + 1
    c = _fft_seconds_per_point(real, workers)
    row_cost = L1 * math.log2(max(L1, 2)) * c
    spec = np.zeros((B, L0, F), dtype=np.result_type(real, np.complex64))
    for b0, b1, r0, r1 in interruptible_slices(B, P0, row_cost):
        spec[b0:b1, r0:r1] = sfft.rfft(xp[b0:b1, r0:r1], n=L1, axis=-1, workers=workers)
    # The kernel's spectrum column by column too (``_kernel_spectrum``).
    krows = sfft.rfft(flipped, n=L1, axis=-1, workers=workers)
    for b0, b1, c0, c1 in interruptible_slices(B, F, 5 * L0 * math.log2(max(L0, 2)) * c):
        cols = sfft.fft(spec[b0:b1, :, c0:c1], axis=-2, workers=workers)
        cols *= sfft.fft(krows[:, :, c0:c1] if len(krows) == 1 else krows[b0:b1, :, c0:c1],
                         n=L0, axis=-2, workers=workers)
        spec[b0:b1, :, c0:c1] = sfft.ifft(cols, axis=-2, norm="forward", workers=workers)
    out = np.empty((B, V0, V1), dtype=real)
    scale = real.type(1 / (L0 * L1))
    for b0, b1, r0, r1 in interruptible_slices(B, V0, 2 * row_cost):
        rows = sfft.irfft(spec[b0:b1, K0 - 1 + r0:K0 - 1 + r1], n=L1, axis=-1, norm="forward",
                          workers=workers)
        np.multiply(rows[..., K1 - 1:P1], scale, out=out[b0:b1, r0:r1])
    return out


def _fft_valid(xp, ws, real, workers):
    """'valid' correlation of (B, P0, P1) images with (Bw, K0, K1) kernels."""
    B, P0, P1 = xp.shape
    K0, K1 = ws.shape[-2:]
    V0, V1 = P0 - K0 + 1, P1 - K1 + 1
    flipped = np.ascontiguousarray(ws[:, ::-1, ::-1], dtype=real)
    lengths = _tile_lengths(P0, P1, K0, K1, np.dtype(real).itemsize)
    if lengths is None:
        L0 = sfft.next_fast_len(P0, real=True)
        L1 = sfft.next_fast_len(P1, real=True)
        if 3 * B * L0 * L1 * math.log2(max(L0 * L1, 2)) * _fft_seconds_per_point(real, workers) \
                > _threads.SLICE_SECONDS:
            # Long enough to be worth splitting so that Ctrl-C is handled.
            return _fft_whole_sliced(xp, flipped, L0, L1, real, workers)
        xf = sfft.rfft2(xp, s=(L0, L1), workers=workers)
        xf *= _kernel_spectrum(flipped, L0, L1, workers)
        res = sfft.irfft2(xf, s=(L0, L1), workers=workers)
        return np.ascontiguousarray(res[:, K0 - 1:P0, K1 - 1:P1], dtype=real)
    # Overlap-save: output tiles of T0 x T1 read input blocks of L0 x L1.
    L0, L1 = lengths
    T0, T1 = L0 - K0 + 1, L1 - K1 + 1
    nt0, nt1 = -(-V0 // T0), -(-V1 // T1)
    ext = np.zeros((B, nt0 * T0 + K0 - 1, nt1 * T1 + K1 - 1), dtype=real)
    _copy_rows(ext[:, :P0, :P1], xp)
    kf = _kernel_spectrum(flipped, L0, L1, workers)[:, None, None]
    windows = np.lib.stride_tricks.sliding_window_view(ext, (L0, L1), axis=(1, 2))
    out = np.empty((B, nt0 * T0, nt1 * T1), dtype=real)
    spectrum_bytes = B * L0 * (L1 // 2 + 1) * 2 * real.itemsize
    tiles_per_group = max(1, int(FFT_GROUP_BYTES // max(spectrum_bytes, 1)))
    per_tile = 2 * B * L0 * L1 * math.log2(max(L0 * L1, 2)) * _fft_seconds_per_point(real, workers)
    # Interruptible pieces of tile rows (or of the tiles of one row), each cut
    # into groups whose spectra stay under FFT_GROUP_BYTES.
    for index, lo, hi in interruptible_pieces((nt0, nt1), per_tile):
        (g0, g1), (c0, c1) = ((index[0], index[0] + 1), (lo, hi)) if index else ((lo, hi), (0, nt1))
        rows_per_group = max(1, tiles_per_group // (c1 - c0))
        for g in range(g0, g1, rows_per_group):
            h = min(rows_per_group, g1 - g)
            w = c1 - c0
            blocks = windows[:, g * T0:(g + h - 1) * T0 + 1:T0, c0 * T1:(c1 - 1) * T1 + 1:T1]
            spec = sfft.rfft2(blocks, s=(L0, L1), workers=workers)
            spec *= kf
            res = sfft.irfft2(spec, s=(L0, L1), workers=workers)[..., K0 - 1:, K1 - 1:]
            # (B, h, w, T0, T1) -> (B, h*T0, w*T1)
            out[:, g * T0:(g + h) * T0, c0 * T1:c1 * T1] = \
                res.transpose(0, 1, 3, 2, 4).reshape(B, h * T0, w * T1)
    if out.shape[1:] == (V0, V1):
        return out
    return _copy_rows(np.empty((B, V0, V1), dtype=real), out[:, :V0, :V1])


def _fft(problem, x, w, fill, real):
    xp = _padded(problem, x, fill, real)
    d0, d1 = problem.dilation
    ws = np.asarray(w, dtype=real)
    if d0 > 1 or d1 > 1:
        stuffed = np.zeros(ws.shape[:-2] + problem.span, dtype=real)
        stuffed[..., ::d0, ::d1] = ws
        ws = stuffed
    out = _fft_valid(xp, ws, real, problem.nthreads)
    s0, s1 = problem.stride
    if s0 > 1 or s1 > 1:
        out = np.ascontiguousarray(out[:, ::s0, ::s1])
    return out


# --------------------------------------------------------------------------
# method="auto"
# --------------------------------------------------------------------------

def _exact_integer_problem(problem):
    """Integer/bool image and kernel: direct sums are exact, FFT's are not."""
    return problem.x.dtype.kind in "biu" and problem.w.dtype.kind in "biu"


def _all_finite(problem):
    x = problem.x
    if x.dtype.kind in "biu":
        ok = True
    else:
        # In interruptible pieces (a pass over a large image takes a while).
        B, n0, n1 = x.shape
        ok = all(np.isfinite(x[b0:b1, r0:r1]).all()
                 for b0, b1, r0, r1 in interruptible_slices(B, n0, n1 * _COPY_SECONDS))
    if problem.boundary == "fill":
        ok = ok and bool(np.isfinite(problem.fill))
    return ok and bool(np.isfinite(problem.w).all())


def _speedup(problem):
    threads = max(1, min(problem.nthreads, K.MAX_USEFUL_THREADS))
    return 1 + (threads - 1) * K.THREAD_EFFICIENCY


def direct_features(problem):
    """(tap-outputs, outputs) of the direct method: its cost is linear in them."""
    B = problem.x.shape[0]
    k0, k1 = problem.w.shape[-2:]
    o0, o1 = problem.out_shape
    return B * o0 * o1 * k0 * k1, B * o0 * o1


def separable_features(problem, rank):
    """Direct features of the ``2 * rank`` 1-D passes."""
    B = problem.x.shape[0]
    k0, k1 = problem.w.shape[-2:]
    o0, o1 = problem.out_shape
    n1 = problem.x.shape[-1]
    taps = B * o0 * (n1 * k0 + o1 * k1)
    outs = B * o0 * (n1 + o1)
    return rank * taps, rank * outs


def fft_features(problem):
    """(sum of n log2 n over transforms, padded samples, transform calls)."""
    B = problem.x.shape[0]
    n0, n1 = problem.x.shape[-2:]
    (pt, pb), (pl, pr) = problem.pads
    P0, P1 = n0 + pt + pb, n1 + pl + pr
    K0, K1 = problem.span
    lengths = _tile_lengths(P0, P1, K0, K1, _real_dtype(problem.compute).itemsize)
    if lengths is None:
        L0 = sfft.next_fast_len(P0, real=True)
        L1 = sfft.next_fast_len(P1, real=True)
        tiles = 1
    else:
        L0, L1 = lengths
        tiles = math.ceil((P0 - K0 + 1) / (L0 - K0 + 1)) * math.ceil((P1 - K1 + 1) / (L1 - K1 + 1))
    area = L0 * L1
    return B * 2 * tiles * area * math.log2(max(area, 2)), B * P0 * P1, 2


def estimate_costs(problem, rank=None):
    """Predicted seconds of each method for ``problem`` (the cost model).

    ``rank`` adds the separable method for a kernel of that rank.
    """
    real = _real_dtype(problem.compute)
    key = "f32" if real == np.float32 else "f64"
    parts = 4 if problem.compute.kind == "c" else 1
    speed = _speedup(problem)
    taps, outs = direct_features(problem)
    costs = {"direct": parts * (K.DIRECT_OVERHEAD
                                + (taps * K.DIRECT_PER_TAP[key] + outs * K.DIRECT_PER_OUTPUT[key]) / speed)}
    nlogn, padded, calls = fft_features(problem)
    costs["fft"] = parts * (K.FFT_OVERHEAD + calls * K.FFT_PER_CALL
                            + (nlogn * K.FFT_PER_POINT_LOG[key] + padded * K.FFT_PER_PAD[key]) / speed)
    if rank is not None:
        taps, outs = separable_features(problem, max(rank, 1))
        costs["separable"] = parts * (2 * max(rank, 1) * K.DIRECT_OVERHEAD
                                      + (taps * K.DIRECT_PER_TAP[key] + outs * K.DIRECT_PER_OUTPUT[key]) / speed)
    return costs


def choose(problem, method, nan_check=True):
    """Resolve ``method='auto'``; validate an explicit choice."""
    if method == "separable":
        return method
    if method == "fft":
        if nan_check and not _all_finite(problem):
            warnings.warn(
                "method='fft' on input with NaN or inf spreads them over the whole "
                "output; use method='direct' for IEEE propagation",
                RuntimeWarning, stacklevel=4)
        return method
    if method == "direct":
        return method
    k0, k1 = problem.w.shape[-2:]
    real = _real_dtype(problem.compute)
    taps, outs = direct_features(problem)
    key = "f32" if real == np.float32 else "f64"
    if (taps * K.DIRECT_PER_TAP[key] + outs * K.DIRECT_PER_OUTPUT[key]) / _speedup(problem) \
            < K.AUTO_DIRECT_SHORTCUT:
        # Direct is predicted to take well under a millisecond: any saving
        # another method could make is smaller than the cost of deciding.
        return "direct"
    rank = None
    if min(k0, k1) > 1 and k0 * k1 >= K.SEPARABLE_MIN_TAPS and problem.w.dtype.kind != "c":
        factors = [factorize(wb, real) for wb in problem.w]
        r = max(rf for rf, _ in factors)
        exact = all(rf == 1 and _exact_rank1(np.asarray(wb, dtype=np.float64)) is not None
                    for (rf, _), wb in zip(factors, problem.w))
        if all(p is not None for _, p in factors) and _separable_ok(r, k0, k1) and \
                (exact or not _exact_integer_problem(problem)):
            rank = r
    candidates = estimate_costs(problem, rank)
    if _exact_integer_problem(problem):
        candidates.pop("fft", None)
    best = min(candidates, key=candidates.get)
    if best != "direct" and not _all_finite(problem):
        # FFT spreads NaN everywhere and separable passes can turn inf into
        # NaN differently: keep direct's exact IEEE pattern.
        best = "direct"
    return best
