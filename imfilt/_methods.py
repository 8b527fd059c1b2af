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
    Real FFTs from :mod:`scipy.fft` by overlap-save: cache-sized blocks of
    the virtually padded image, batches of blocks per transform call,
    batches shared by ``workers`` threads (one block covering the whole
    image when that is cheapest).

``choose`` implements ``method="auto"`` from a cost model whose constants
are measured by ``benchmarks/calibrate_auto.py`` (``_auto_constants.py``).
"""

import contextlib
import functools
import math
from dataclasses import dataclass

import numpy as np

from imfilt._lazy import LazyModule
from imfilt import _auto_constants as K
from imfilt import _kept
from imfilt._geometry import dilated_span, output_length
from imfilt import _separable as _sep_engine
from imfilt._kernels import _conv, _fftblocks, _nan, _reuse
from imfilt._modes import boundary_index
from imfilt import _threads
from imfilt._threads import (interruptible_slices, last_level_cache_bytes,
                             min_parallel_work, ran_parallel)
from imfilt._validation import check_choice, warn

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


def _solver(method):
    """The function that computes ``method`` (a name ``choose`` returns)."""
    return {"direct": _direct, "separable": _separable, "fft": _fft,
            SEPARABLE_CHECKED: _separable_checked, FFT_CHECKED: _fft_checked,
            FFT_WARNS: _fft_warns}[method]


def run(problem, method):
    """Solve ``problem`` with ``method``; returns (B, o0, o1) in the compute dtype."""
    o0, o1 = problem.out_shape
    B = problem.x.shape[0]
    if B == 0 or o0 == 0 or o1 == 0:
        return np.zeros((B, o0, o1), dtype=problem.compute)
    solve = _solver(method)
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
    out = _reuse.empty(re.shape, dtype=problem.compute)
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
    out = dest if dest is not None else _reuse.empty((B, o0, o1), dtype=real)
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
    # An output beyond the cache is written with streaming stores (same values).
    stream = out.nbytes >= last_level_cache_bytes()
    # Pieces of at least 4 rows per thread, so every thread gets work.
    for b0, b1, r0, r1 in interruptible_slices(B, o0, per_row, min_rows=4 * nthreads):
        # Between slices the interpreter runs its signal handlers: Ctrl-C
        # raises KeyboardInterrupt within about one slice.
        ran_parallel(kernel(x[b0:b1], w if w.shape[0] == 1 else w[b0:b1], out[b0:b1, r0:r1],
                            rowmap[r0 * s0:(r1 - 1) * s0 + (k0 - 1) * d0 + 1], colmap, pl,
                            s0, s1, d0, d1, real.type(fill), nthreads, min_parallel_work(),
                            stream))
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


#: Kernels of at least this many taps are factorised with BLAS on one
#: thread (``_threads.blas_on_one_thread``); smaller SVDs never start BLAS
#: threads.
_SVD_ONE_THREAD_SIZE = 32 * 32


#: Kernels of at most this many taps keep their factorisation, by value
#: (``_factors_of``): a script filters image after image with the same
#: kernel, and the SVD with its checks costs ~30 us a call, several hundred
#: when the caches are cold (a call after other work).
_FACTOR_CACHE_TAPS = 64 * 64


def factorize(w, real):
    """Separable factors of a 2-D real kernel: (rank, [(col, row), ...]).

    Rank 1 kernels with an exact factorisation (Sobel, box, binomial ...) use
    it, so integer kernels stay exact; otherwise the SVD gives ``r`` pairs,
    ``r`` the numerical rank at relative tolerance
    ``SEPARABLE_RTOL_FACTOR * max(k0, k1) * eps(real)``.  The factors are
    read-only arrays.
    """
    return _factors(w, real)[:2]


def _factors(w, real):
    """``(rank, pairs, exact)``: ``factorize``'s answer and whether it is
    the exact rank-1 factorisation; kept by value for small kernels."""
    w = np.asarray(w)
    if w.size <= _FACTOR_CACHE_TAPS:
        return _factors_of(w.dtype.str, w.shape, np.dtype(real).str, w.tobytes())
    return _factorize(w, real)


@functools.lru_cache(maxsize=64)
def _factors_of(dtype, shape, real, raw):
    return _factorize(np.frombuffer(raw, dtype=dtype).reshape(shape), np.dtype(real))


def _factorize(w, real):
    w64 = np.asarray(w, dtype=np.float64)
    if not np.all(np.isfinite(w64)):
        return min(w64.shape), None, False
    exact = _exact_rank1(w64)
    if exact is not None:
        return 1, _read_only([exact]), True
    with (_threads.blas_on_one_thread() if w64.size >= _SVD_ONE_THREAD_SIZE
          else contextlib.nullcontext()):
        u, s, vt = np.linalg.svd(w64, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return 0, _read_only([(np.zeros(w64.shape[0]), np.zeros(w64.shape[1]))]), False
    tol = SEPARABLE_RTOL_FACTOR * max(w64.shape) * np.finfo(real).eps * s[0]
    rank = int(np.count_nonzero(s > tol))
    pairs = [(u[:, i] * np.sqrt(s[i]), vt[i, :] * np.sqrt(s[i])) for i in range(rank)]
    return rank, _read_only(pairs), False


def _rank_exceeds(w, r, real):
    """True when the numerical rank of the 2-D kernel ``w`` (as
    ``factorize`` counts it) is certainly above ``r``; False when it may not
    be.  Without an SVD of the whole kernel: ``r + 1`` of its columns,
    picked greedily (pivoted Gram-Schmidt), already have an (r+1)-th
    singular value above twice the tolerance (taken with the Frobenius norm,
    an upper bound of the largest singular value), and the singular values
    of a subset of columns never exceed those of the whole matrix."""
    w64 = np.asarray(w, dtype=np.float64)
    if r + 1 > min(w64.shape) or not np.all(np.isfinite(w64)):
        return False
    rest = w64.copy()
    cols = []
    for _ in range(r + 1):
        norms = np.einsum("ij,ij->j", rest, rest)
        j = int(np.argmax(norms))
        if not norms[j] > 0:
            return False
        q = rest[:, j] / math.sqrt(norms[j])
        rest -= np.outer(q, q @ rest)
        cols.append(j)
    smallest = np.linalg.svd(w64[:, cols], compute_uv=False)[-1]
    tol = SEPARABLE_RTOL_FACTOR * max(w64.shape) * np.finfo(real).eps * math.sqrt(float(np.sum(w64 * w64)))
    return bool(smallest > 2 * tol)


def _read_only(pairs):
    for pair in pairs:
        for a in pair:
            a.setflags(write=False)
    return pairs


def _first_pass_scaled(first, second):
    """``first * 2**-e`` and ``second * 2**e`` with ``sum|first|`` in [0.5, 1).

    Powers of two scale every product and sum exactly, so the result keeps
    its bits, while the first pass's output stays within the image's
    largest magnitude: a kernel like ``ones((31, 31)) / 961`` (row factor
    of ones) no longer overflows float32 on values near its maximum.
    """
    total = float(np.sum(np.abs(first)))
    if not (0 < total < math.inf):
        return first, second
    e = math.frexp(total)[1]
    return np.ldexp(first, -e), np.ldexp(second, e)


def _separable_ok(rank, k0, k1):
    return rank <= 1 or rank < min(k0, k1)


#: ``method='auto'``'s separable choice made without a pass over the image:
#: the fused sweep reports inf/NaN outputs, and direct runs instead.
SEPARABLE_CHECKED = "separable, checked"


def _separable_checked(problem, x, w, fill, real):
    """The separable method, or direct when an output came out inf or NaN.

    Every input value (and a used fill value) lies in some output's window
    of a fused sweep, and inf or NaN in a sum makes it inf or NaN, so all
    outputs finite means that no non-finite value met the passes and none
    overflowed; otherwise direct gives IEEE's exact pattern, as it does
    when ``choose`` sees the non-finite input beforehand.
    """
    seen = np.zeros(max(1, problem.nthreads), dtype=np.intc)
    result = _separable(problem, x, w, fill, real, seen)
    if seen.any():
        return _direct(problem, x, w, fill, real)
    return result


def _fused_separable(problem, rank):
    """Whether ``_separable`` runs ``problem`` (kernel rank ``rank``) as one
    fused 2-D sweep: one rank-1 kernel, unit strides and dilations, an
    output the image's size."""
    (s0, s1), (d0, d1) = problem.stride, problem.dilation
    x = problem.x
    return (rank <= 1 and len(problem.w) == 1 and (s0, s1, d0, d1) == (1, 1, 1, 1)
            and problem.out_shape == x.shape[-2:] and x.shape[-1] * x.shape[-2] > 0)


def _separable(problem, x, w, fill, real, seen=None):
    """The separable method; ``seen`` as ``_separable_engine.run_passes``
    (set when not run as one fused sweep)."""
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
    (pt, pb), (pl, pr) = problem.pads
    (s0, s1), (d0, d1) = problem.stride, problem.dilation
    fused = _fused_separable(problem, rank)
    if seen is not None and not fused:
        seen[0] = 1
    cols = np.zeros((rank, len(w), k0, 1))
    rows = np.zeros((rank, len(w), 1, k1))
    for b, (_, pairs) in enumerate(factors):
        for r, (c, rw) in enumerate(pairs):
            # The fused engine runs the row pass first, the others the column pass.
            if fused:
                rw, c = _first_pass_scaled(rw, c)
            else:
                c, rw = _first_pass_scaled(c, rw)
            cols[r, b, :, 0] = c
            rows[r, b, 0, :] = rw
    if fused:
        # Output the size of the image: the fused separable engine (row pass
        # into a per-thread ring, column pass from it, one sweep through cache).
        dest = problem.dest if problem.compute.kind != "c" else None
        return _sep_engine.run_passes(
            x, [_sep_engine.Pass(1, cols[0, 0, :, 0], pt), _sep_engine.Pass(2, rows[0, 0, 0, :], pl)],
            problem.boundary, fill, real, problem.nthreads, dest, seen)
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
#
# Overlap-save: the virtually padded image is cut into blocks of L0 x L1
# samples overlapping by the kernel's extent less one; each block's
# circular correlation with the kernel (product of spectra) holds
# T0 x T1 = (L0 - K0 + 1) x (L1 - K1 + 1) valid outputs.  Blocks of a few
# hundred samples stay in the core's cache through the row and column
# passes of the transform, which a transform of the whole image does not;
# the block size is chosen per problem by the cost model below (one block
# covering the whole image is one of the candidates; lengths with factors 3
# and 5 count a little more per point than powers of two,
# ``FFT_ODD_FACTOR_COST``).  A batch of blocks
# (about FFT_BATCH_BYTES) goes through one ``scipy.fft.rfft2`` call and its
# inverse, so whatever ``scipy.fft.set_backend`` installs is used; the
# ``workers`` threads take whole batches (``_threads.share_items``) and meet
# once per call, not at every pass of every transform.  Runs of interior
# blocks are read in place as strided views of the image; the other blocks
# are gathered through the boundary maps, and every block's valid part is
# scattered into the output, by ``_kernels/_fftblocks.pyx``.
#
# Every block is transformed by the same plan, and the batches are the same
# for any thread count, so the result does not depend on ``workers``.

#: Estimated seconds per element copied or checked, on a busy machine (the
#: first guess of how to cut a long pass into interruptible pieces).
_COPY_SECONDS = 2e-8

_GATHER = {np.dtype(np.float32): _fftblocks.gather_blocks["float"],
           np.dtype(np.float64): _fftblocks.gather_blocks["double"]}
_SCATTER = {np.dtype(np.float32): _fftblocks.scatter_blocks["float"],
            np.dtype(np.float64): _fftblocks.scatter_blocks["double"]}
_BLOCK_MAGNITUDE = {np.dtype(np.float32): _fftblocks.block_magnitude["float"],
                    np.dtype(np.float64): _fftblocks.block_magnitude["double"]}
_MAGNITUDE = {np.dtype(np.float32): _nan.magnitude["float"],
              np.dtype(np.float64): _nan.magnitude["double"]}

#: Real bytes of the blocks of one batch (one ``rfft2``/``irfft2`` call):
#: the batch and its spectrum stay in the core's cache.
FFT_BATCH_BYTES = 2**20

#: Bytes of one block beyond which its transform passes leave the core's
#: cache (the cost model's penalty, ``_block_points``).
FFT_CACHE_BYTES = 2 * 2**20

#: Extra cost per ``n log2 n`` point of a transform length for each factor
#: 3 or 5 it has (``_length_factor``): scipy.fft's radix-3 and radix-5
#: passes cost more per point than its radix-2/4 ones.  Measured on AMD EPYC
#: (Zen 4), square blocks, CPU time of one thread: float64 lengths 256, 384,
#: 512, 1024 ~370-430 ps per point, 243, 405, 486, 729, 1215 ~430-580 ps
#: (about 4 % per odd factor, at equal size); float32 2-3 %.
FFT_ODD_FACTOR_COST = 0.03


@functools.lru_cache(maxsize=None)
def _smooth_lengths(limit):
    """Every 2^a 3^b 5^c <= ``limit`` (the fast real FFT lengths), sorted."""
    lengths = []
    p2 = 1
    while p2 <= limit:
        p3 = p2
        while p3 <= limit:
            p5 = p3
            while p5 <= limit:
                lengths.append(p5)
                p5 *= 5
            p3 *= 3
        p2 *= 2
    return tuple(sorted(lengths))


def _length_factor(L):
    """Relative cost per ``n log2 n`` point of a transform of length ``L``:
    ``1 + FFT_ODD_FACTOR_COST`` per factor 3 or 5 of ``L``."""
    odd = 0
    for p in (3, 5):
        while L % p == 0:
            L //= p
            odd += 1
    return 1 + FFT_ODD_FACTOR_COST * odd


def _block_points(L0, L1, key):
    """The cost-model size of one block: ``n log2 n`` in its samples, each
    axis's share weighted by ``_length_factor`` of its length, with a
    penalty for each doubling of its bytes beyond ``FFT_CACHE_BYTES`` (its
    transform passes no longer run in the core's cache)."""
    area = L0 * L1
    itemsize = 4 if key == "f32" else 8
    spill = max(0.0, math.log2(area * itemsize / FFT_CACHE_BYTES))
    logs = (math.log2(max(L0, 1)) * _length_factor(L0) + math.log2(max(L1, 1)) * _length_factor(L1))
    return area * max(logs, 1.0) * (1 + K.FFT_CACHE_PENALTY * spill)


def _block_seconds(L0, L1, key):
    """Predicted single-thread seconds of one block (cost model): its
    transforms (``_block_points``), with everything else the block costs
    (gather, product, scatter) in proportion, and a fixed cost per block."""
    return K.FFT_PER_BLOCK + _block_points(L0, L1, key) * K.FFT_PER_POINT_LOG[key]


def _axis_candidates(V, Kx):
    """(L, blocks) pairs for one axis: for each block count the fast length
    of least weighted cost (``_length_factor``; usually the shortest, or a
    slightly longer one with fewer factors 3 and 5), the best few by an
    axis-only estimate of the cost."""
    whole = V + Kx - 1
    limit = 1 << max(whole, 2).bit_length()
    by_count = {}

    def cost(L):
        return L * (math.log2(max(L, 2)) * _length_factor(L) + 8)

    for L in _smooth_lengths(limit):
        if L < Kx:
            continue
        n = -(-V // (L - Kx + 1))
        if n not in by_count or cost(L) < cost(by_count[n]):
            by_count[n] = L
        if L >= whole:
            break
    ranked = sorted(by_count.items(), key=lambda nl: nl[0] * cost(nl[1]))
    return [(L, n) for n, L in ranked[:6]]


@functools.lru_cache(maxsize=512)
def block_plan(V0, V1, K0, K1, key):
    """Overlap-save blocks of a 'valid' output of V0 x V1 for a K0 x K1 kernel.

    Returns ``(L0, L1, n0, n1, seconds)``: the block lengths (fast FFT
    lengths), the number of blocks along each axis and the predicted
    single-thread seconds of one block.  Depends on the problem's shape and
    dtype only (never on the thread count), so the result does not either.
    """
    best = None
    for L0, n0 in _axis_candidates(V0, K0):
        for L1, n1 in _axis_candidates(V1, K1):
            t = _block_seconds(L0, L1, key)
            if best is None or n0 * n1 * t < best[0]:
                best = (n0 * n1 * t, (L0, L1, n0, n1, t))
    return best[1]


def _fft_seconds_per_point(real, workers):
    """Predicted seconds per ``n log2 n`` point of one transform (cost model)."""
    key = "f32" if real == np.float32 else "f64"
    return K.FFT_PER_POINT_LOG[key] / max(1, min(workers, K.MAX_USEFUL_THREADS))


def _fft_block_sliced(block, krows, K0, workers):
    """One block's inverse rows ``K0 - 1:`` as in ``_fft_blocks``, in
    interruptible pieces, for blocks too large to transform between two
    chances to handle Ctrl-C: ``rfft2``, the product and the inverse taken
    apart into their 1-D passes (rows; columns with the kernel's column
    transforms and the product; rows), each pass over groups of lines.
    Every line is transformed by the same pocketfft plan as in the batched
    path and the kernel's spectrum is scaled the same way, so the result
    equals that path's bit for bit.  ``krows`` is the (1, K0, F) scaled row
    transform of the kernel (``_spectrum_rows``)."""
    _, L0, L1 = block.shape
    F = L1 // 2 + 1
    c = _fft_seconds_per_point(block.dtype, workers)
    row_cost = L1 * math.log2(max(L1, 2)) * c
    spec = _reuse.empty((1, L0, F), dtype=np.result_type(block.dtype, np.complex64))
    for _, _, r0, r1 in interruptible_slices(1, L0, row_cost):
        spec[:, r0:r1] = sfft.rfft(block[:, r0:r1], axis=-1, workers=workers)
    for _, _, c0, c1 in interruptible_slices(1, F, 5 * L0 * math.log2(max(L0, 2)) * c):
        cols = sfft.fft(spec[:, :, c0:c1], axis=-2, workers=workers)
        with np.errstate(invalid="ignore", over="ignore"):   # (as in _fft_blocks)
            cols *= sfft.fft(krows[:, :, c0:c1], n=L0, axis=-2, workers=workers)
        spec[:, :, c0:c1] = sfft.ifft(cols, axis=-2, norm="forward", workers=workers)
    res = _reuse.empty((1, L0 - K0 + 1, L1), dtype=block.dtype)
    for _, _, r0, r1 in interruptible_slices(1, L0 - K0 + 1, row_cost):
        res[:, r0:r1] = sfft.irfft(spec[:, K0 - 1 + r0:K0 - 1 + r1], n=L1, axis=-1,
                                   norm="forward", workers=workers)
    return res


#: Columns of the kernel's spectrum per work item: its column transforms
#: are shared by the threads like the blocks (a multiple of 8: whole SIMD
#: groups of pocketfft's column passes).
_SPECTRUM_COLUMNS = 32


def _spectrum_rows(flipped, L1, scale):
    """The row transforms of the (Bw, K0, K1) kernels ``flipped`` padded to
    ``L1`` columns, scaled by ``scale`` (the inverse transforms' 1 / (L0 L1)):
    the first step of their ``rfft2`` padded to (L0, L1), whose other rows
    are zero."""
    rows = sfft.rfft(flipped, n=L1, axis=-1)
    rows *= scale
    return rows


def _spectrum_columns(spectra, krows, c0, c1):
    """Columns ``c0:c1`` of ``spectra`` (Bw, L0, F), in place: the column
    transforms of the row transforms ``krows`` (Bw, K0, F) padded with zero
    rows.  Each column is transformed on its own, so any split into column
    ranges gives the same values."""
    K0 = krows.shape[1]
    part = spectra[:, :, c0:c1]
    part[:, :K0] = krows[:, :, c0:c1]
    part[:, K0:] = 0
    sfft.fft(part, axis=-2, overwrite_x=True, workers=1)


#: Work items (``min_parallel_work``) of one block sample: below that many
#: the blocks are computed on one thread.
_FFT_WORK_PER_SAMPLE = 32


def _batches(B, n0, n1, interior0, interior1, per_batch):
    """The batches of the blocks of B images with n0 x n1 blocks each.

    ``interior0``/``interior1`` tell which block rows/columns lie inside the
    image (no padding).  Returns ``(views, gathered)``: ``views`` (m, 4)
    rows ``(image, block row, first block column, count)``, runs of at most
    ``per_batch`` interior blocks of one block row (read in place, as one
    strided view of the image); ``gathered``, the indices (image-major
    order) of every other block, to be taken ``per_batch`` at a time.
    """
    rows = np.flatnonzero(interior0)
    cols = np.flatnonzero(interior1)
    views = np.zeros((0, 4), dtype=np.intp)
    inside = np.zeros((B, n0, n1), dtype=bool)
    if rows.size and cols.size:
        # Interior blocks form one rectangle: block rows rows[0]..rows[-1],
        # block columns cols[0]..cols[-1].
        starts = np.arange(cols[0], cols[-1] + 1, per_batch)
        counts = np.minimum(per_batch, cols[-1] + 1 - starts)
        b, r, q = np.meshgrid(np.arange(B), rows, np.arange(starts.size), indexing="ij")
        views = np.stack([b.ravel(), r.ravel(), starts[q.ravel()], counts[q.ravel()]],
                         axis=1).astype(np.intp)
        inside[:, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = True
    return views, np.flatnonzero(~inside.ravel())


def _fft_blocks(x, rowmap, colmap, pads, fill, flipped, out, real, workers, measure=False):
    """Overlap-save 'valid' correlation of (B, n0, n1) images ``x``, padded
    virtually by ``pads`` ((top, bottom), (left, right)) through the maps
    (-1 fill, -2 zero), with (Bw, K0, K1) kernels ``flipped`` (convolution
    form), into ``out`` (B, V0, V1).

    Batches of blocks are shared by ``workers`` threads
    (``_threads.share_items``), each batch computed on one thread: the
    blocks (a strided view of the image for a run of interior blocks,
    gathered otherwise), ``rfft2``, product with the kernel's spectrum
    (scaled by the inverse's 1 / (L0 L1)), inverse column transforms,
    inverse row transforms of the rows that hold valid outputs only,
    scatter.  The batches do not depend on ``workers``, and a batch is
    computed the same way on any thread.  With ``measure``, returns the
    largest ``|value|`` of the padded images (NaN when one is NaN:
    ``_magnitude``'s answer, with the fill value where it is read), found by
    the gathers (at no cost) and by a pass over the blocks read in place:
    every padded sample lies in some block; otherwise None.
    """
    B, V0, V1 = out.shape
    K0, K1 = flipped.shape[-2:]
    (pt, _), (pl, _) = pads
    key = "f32" if real == np.float32 else "f64"
    L0, L1, n0, n1, seconds = block_plan(V0, V1, K0, K1, key)
    T0, T1 = L0 - K0 + 1, L1 - K1 + 1
    # Every block (image, first row, first column) in image/row/column order;
    # a block's first padded row and column are its first output's too.
    b, i, j = np.meshgrid(np.arange(B), np.arange(n0) * T0, np.arange(n1) * T1, indexing="ij")
    table = np.stack([b.ravel(), i.ravel(), j.ravel()], axis=1).astype(np.intp)
    gather, scatter = _GATHER[real], _SCATTER[real]
    fill = real.type(fill)
    # The inverse transforms are unscaled: the kernel's spectrum carries
    # their factor 1 / (L0 L1).
    scale = np.result_type(real, np.complex64).type(1 / (L0 * L1)).real
    if seconds > _threads.SLICE_SECONDS:
        # Blocks too large for one uninterruptible transform (kernels of
        # thousands of samples): one block at a time, in 1-D passes.
        krows = _spectrum_rows(flipped, L1, scale)
        block = _reuse.empty((1, L0, L1), dtype=real)
        top = 0.0
        for q in range(len(table)):
            top = _larger(top, gather(x, rowmap, colmap, pl, fill, table[q:q + 1], block))
            img = table[q, 0] if len(krows) > 1 else 0
            res = _fft_block_sliced(block, krows[img:img + 1], K0, workers)
            scatter(res, table[q:q + 1], 0, K1 - 1, T0, T1, out)
        return top if measure else None
    # The kernel's spectrum: kept from an earlier call with the same kernel
    # and blocks, or its column transforms are the first work items
    # (``_spectrum_columns``), finished before any block starts.  Either way
    # the same values.
    F = L1 // 2 + 1
    keep = len(flipped) * L0 * F * 2 * real.itemsize <= _kept.LIMIT_BYTES // 4
    key = (flipped.dtype.str, flipped.shape, L0, L1, flipped.tobytes(),
           _threads.fft_backend_key()) if keep else None
    spectra = _kept.get(key) if keep else None
    if spectra is None:
        krows = _spectrum_rows(flipped, L1, scale)
        spectra = _reuse.empty((len(krows), L0, F), dtype=krows.dtype)
        firsts = np.arange(0, F, _SPECTRUM_COLUMNS)
    else:
        firsts = np.arange(0)
    per_batch = max(1, min(len(table), FFT_BATCH_BYTES // (L0 * L1 * real.itemsize)))
    xn0, xn1 = x.shape[1:]
    views, gathered = _batches(B, n0, n1, (np.arange(n0) * T0 >= pt) & (np.arange(n0) * T0 + L0 <= pt + xn0),
                               (np.arange(n1) * T1 >= pl) & (np.arange(n1) * T1 + L1 <= pl + xn1), per_batch)
    batches = len(views) + -(-len(gathered) // per_batch)
    if len(table) * L0 * L1 * _FFT_WORK_PER_SAMPLE < min_parallel_work():
        workers = 1
    scratch = [None] * max(1, min(workers, batches))
    tops = [0.0] * len(scratch)
    s0, s1 = x.strides[1:]

    def work(k, slot):
        if k < len(firsts):
            _spectrum_columns(spectra, krows, firsts[k], firsts[k] + _SPECTRUM_COLUMNS)
            return
        k -= len(firsts)
        if k < len(views):
            img, r, c, count = views[k]
            rows = table[(img * n0 + r) * n1 + c:(img * n0 + r) * n1 + c + count]
            batch = np.lib.stride_tricks.as_strided(
                x[img, r * T0 - pt:, c * T1 - pl:], shape=(count, L0, L1), strides=(T1 * s1, s0, s1),
                writeable=False)
            if measure:
                tops[slot] = _larger(tops[slot], _BLOCK_MAGNITUDE[real](batch))
        else:
            rows = table[gathered[(k - len(views)) * per_batch:(k - len(views) + 1) * per_batch]]
            if scratch[slot] is None:
                scratch[slot] = _reuse.empty((per_batch, L0, L1), dtype=real)
            batch = scratch[slot][:len(rows)]
            tops[slot] = _larger(tops[slot], gather(x, rowmap, colmap, pl, fill, rows, batch))
        spec = sfft.rfft2(batch, workers=1)
        with np.errstate(invalid="ignore", over="ignore"):
            # (inf or NaN in the image: ``method='auto'`` recomputes
            # without FFT, explicit ``'fft'`` has warned)
            spec *= spectra if len(spectra) == 1 else spectra[rows[:, 0]]
        spec = sfft.ifft(spec, axis=-2, norm="forward", overwrite_x=True, workers=1)
        res = sfft.irfft(spec[:, K0 - 1:], n=L1, axis=-1, norm="forward", workers=1)
        scatter(res, rows, 0, K1 - 1, T0, T1, out)

    _threads.share_items(len(firsts) + batches, work, len(scratch), first=len(firsts))
    if keep and len(firsts):
        _kept.put(key, spectra)
    return functools.reduce(_larger, tops) if measure else None


def _larger(a, b):
    """max(a, b), NaN when either is NaN."""
    return a if a != a or a >= b else b


def _fft(problem, x, w, fill, real):
    return _fft_run(problem, x, w, fill, real)[0]


def _fft_run(problem, x, w, fill, real, measure=False):
    """The FFT method: ``(result, magnitude)``, ``magnitude`` the largest
    ``|value|`` of the padded images ``x`` (NaN when one is NaN) with
    ``measure``, else None (``_fft_blocks``)."""
    B, n0, n1 = x.shape
    (pt, pb), (pl, pr) = problem.pads
    d0, d1 = problem.dilation
    ws = np.asarray(w, dtype=real)
    if d0 > 1 or d1 > 1:
        stuffed = np.zeros(ws.shape[:-2] + problem.span, dtype=real)
        stuffed[..., ::d0, ::d1] = ws
        ws = stuffed
    K0, K1 = ws.shape[-2:]
    V0, V1 = n0 + pt + pb - K0 + 1, n1 + pl + pr - K1 + 1
    key = "f32" if real == np.float32 else "f64"
    L0, L1, nb0, nb1, _ = block_plan(V0, V1, K0, K1, key)
    # Padded rows/columns past the padded image (the last blocks overhang
    # it) are zero: they only feed outputs that are discarded.
    rowmap = np.full((nb0 - 1) * (L0 - K0 + 1) + L0, -2, dtype=np.intp)
    colmap = np.full((nb1 - 1) * (L1 - K1 + 1) + L1, -2, dtype=np.intp)
    rowmap[:n0 + pt + pb] = boundary_index(n0, pt, pb, problem.boundary)
    colmap[:n1 + pl + pr] = boundary_index(n1, pl, pr, problem.boundary)
    if n0 == 0 or n1 == 0:
        x = np.zeros((B, 0, 0), dtype=real)  # no block reads it: every map entry is -1 or -2
    x = np.asarray(x, dtype=real)
    s0, s1 = problem.stride
    dest = problem.dest if problem.compute.kind != "c" and (s0, s1) == (1, 1) else None
    out = dest if dest is not None else _reuse.empty((B, V0, V1), dtype=real)
    flipped = np.ascontiguousarray(ws[:, ::-1, ::-1])
    top = _fft_blocks(x, rowmap, colmap, problem.pads, fill, flipped, out, real,
                      problem.nthreads, measure)
    if s0 > 1 or s1 > 1:
        out = np.ascontiguousarray(out[:, ::s0, ::s1])
    return out, top


# --------------------------------------------------------------------------
# method="auto"
# --------------------------------------------------------------------------

FFT_CHECKED = "fft, checked"
FFT_WARNS = "fft, warns"

#: The warning of an explicit ``method='fft'`` that met inf or NaN.
FFT_NAN_WARNING = ("method='fft' on input with NaN or inf spreads them over the whole "
                   "output; use method='direct' for IEEE propagation")


def _fft_checked(problem, x, w, fill, real):
    """``method='auto'``'s FFT on a real problem: the image's magnitude is
    found by the blocks as they are read (``_fft_blocks``) instead of in a
    pass of its own first, and when it is inf or NaN, or the transform's
    sums could overflow (``_fft_may_overflow``), the result is recomputed
    by the best other method -- the decision ``choose`` makes for complex
    problems beforehand, made after the fact."""
    result, magnitude = _fft_run(problem, x, w, fill, real, measure=True)
    if _all_finite(problem, magnitude) and not _fft_may_overflow(problem, magnitude):
        return result
    return _solver(choose(problem, "auto", fft=False))(problem, x, w, fill, real)


def _fft_warns(problem, x, w, fill, real):
    """An explicit ``method='fft'`` on a real problem: it warns when the
    image (its magnitude found by the blocks as they are read), the kernel
    or a used fill value holds inf or NaN."""
    result, magnitude = _fft_run(problem, x, w, fill, real, measure=True)
    if not _all_finite(problem, magnitude):
        warn(FFT_NAN_WARNING)
    return result


def _exact_integer_problem(problem):
    """Integer/bool image and kernel: direct sums are exact, FFT's are not."""
    return problem.x.dtype.kind in "biu" and problem.w.dtype.kind in "biu"


def _magnitude(x, nthreads=1):
    """The largest ``|value|`` of ``x``: NaN when it holds NaN, inf with inf."""
    top = 0.0
    # In interruptible pieces (a pass over a large image takes a while).
    # Float images: one threaded pass (``_kernels/_nan.pyx``); otherwise max
    # and min, which propagate NaN and need no temporary array.
    B, n0, n1 = x.shape
    kernel = _MAGNITUDE.get(x.dtype) if x.flags.c_contiguous else None
    for b0, b1, r0, r1 in interruptible_slices(B, n0, n1 * _COPY_SECONDS):
        piece = x[b0:b1, r0:r1]
        if kernel is not None:
            hi = kernel(piece.reshape(-1), nthreads, min_parallel_work())
            if hi != hi:
                return math.nan
            top = max(top, hi)
        elif piece.size:
            if x.dtype.kind == "c":
                hi, lo = np.abs(piece).max(), 0.0
            else:
                hi, lo = piece.max(), piece.min()
            if hi != hi or lo != lo:
                return math.nan
            top = max(top, abs(float(hi)), abs(float(lo)))   # (ints, bools too)
    return top


def _all_finite(problem, magnitude=None):
    magnitude = _magnitude(problem.x, problem.nthreads) if magnitude is None else magnitude
    ok = math.isfinite(magnitude)
    if problem.boundary == "fill":
        ok = ok and bool(np.isfinite(problem.fill))
    return ok and bool(np.isfinite(problem.w).all())


def _fft_may_overflow(problem, magnitude):
    """True when FFT sums could leave the compute dtype's range: a forward
    transform adds up to N samples, the inverse N products (N the padded
    plane's size), where the direct sum stays below ``max|x| * sum|w|``."""
    real = _real_dtype(problem.compute)
    k0, k1 = problem.w.shape[-2:]
    n = float((problem.x.shape[-2] + k0) * (problem.x.shape[-1] + k1))
    fill = abs(complex(problem.fill)) if problem.boundary == "fill" else 0.0
    scale = max(magnitude, fill) * float(np.abs(problem.w).sum(axis=(-2, -1)).max())
    return scale * n * n > float(np.finfo(real).max) / 16


#: The thread count the cost model assumes, whatever ``workers`` is: the
#: methods round differently, so a choice that followed the thread count
#: would make ``method='auto'``'s result depend on it.
AUTO_THREADS = 2


def _speedup():
    threads = max(1, min(AUTO_THREADS, K.MAX_USEFUL_THREADS))
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
    """(block points, blocks) of the FFT method: the cost-model size
    (``_block_points``) of every overlap-save block of ``block_plan`` plus
    half a block per kernel (its spectrum), and the number of blocks."""
    B = problem.x.shape[0]
    n0, n1 = problem.x.shape[-2:]
    (pt, pb), (pl, pr) = problem.pads
    K0, K1 = problem.span
    key = "f32" if _real_dtype(problem.compute) == np.float32 else "f64"
    L0, L1, nb0, nb1, _ = block_plan(n0 + pt + pb - K0 + 1, n1 + pl + pr - K1 + 1, K0, K1, key)
    blocks = B * nb0 * nb1
    return (blocks + problem.w.shape[0] / 2) * _block_points(L0, L1, key), blocks


def _fft_speedup(problem):
    """Thread speed-up of the FFT method: its batches are what threads share."""
    B = problem.x.shape[0]
    n0, n1 = problem.x.shape[-2:]
    (pt, pb), (pl, pr) = problem.pads
    K0, K1 = problem.span
    real = _real_dtype(problem.compute)
    L0, L1, nb0, nb1, _ = block_plan(n0 + pt + pb - K0 + 1, n1 + pl + pr - K1 + 1, K0, K1,
                                     "f32" if real == np.float32 else "f64")
    batches = -(-B * nb0 * nb1 * L0 * L1 * real.itemsize // FFT_BATCH_BYTES)
    threads = max(1, min(AUTO_THREADS, batches, K.MAX_USEFUL_THREADS))
    return 1 + (threads - 1) * K.FFT_THREAD_EFFICIENCY


def estimate_costs(problem, rank=None):
    """Predicted seconds of each method for ``problem`` (the cost model).

    ``rank`` adds the separable method for a kernel of that rank.
    """
    real = _real_dtype(problem.compute)
    key = "f32" if real == np.float32 else "f64"
    parts = 4 if problem.compute.kind == "c" else 1
    speed = _speedup()
    taps, outs = direct_features(problem)
    costs = {"direct": parts * (K.DIRECT_OVERHEAD
                                + (taps * K.DIRECT_PER_TAP[key] + outs * K.DIRECT_PER_OUTPUT[key]) / speed)}
    points, blocks = fft_features(problem)
    costs["fft"] = parts * (K.FFT_OVERHEAD + (points * K.FFT_PER_POINT_LOG[key] + blocks * K.FFT_PER_BLOCK)
                            / _fft_speedup(problem))
    if rank is not None:
        taps, outs = separable_features(problem, max(rank, 1))
        costs["separable"] = parts * (2 * max(rank, 1) * K.DIRECT_OVERHEAD
                                      + (taps * K.DIRECT_PER_TAP[key] + outs * K.DIRECT_PER_OUTPUT[key]) / speed)
    return costs


#: ``method='auto'`` takes FFT only when it is predicted this much faster
#: than the best other method: in a near-tie the direct and separable sums
#: are the more accurate, and their time the more predictable (FFT's also
#: depends on the heap's state, through scipy.fft's output arrays, measured
#: up to 1.3x slower after other libraries' large arrays came and went).
AUTO_FFT_MARGIN = 0.10


def choose(problem, method, nan_check=True, fft=True):
    """Resolve ``method='auto'`` (among the methods other than FFT when
    ``fft`` is False); validate an explicit choice."""
    if method == "separable":
        return method
    if method == "fft":
        if nan_check and problem.compute.kind != "c":
            # The image's magnitude checked as FFT reads it (``_fft_warns``).
            return FFT_WARNS
        if nan_check and not _all_finite(problem):
            warn(FFT_NAN_WARNING)
        return method
    if method == "direct":
        return method
    real = _real_dtype(problem.compute)
    taps, outs = direct_features(problem)
    key = "f32" if real == np.float32 else "f64"
    if (taps * K.DIRECT_PER_TAP[key] + outs * K.DIRECT_PER_OUTPUT[key]) / _speedup() \
            < K.AUTO_DIRECT_SHORTCUT:
        # Direct is predicted to take well under a millisecond: any saving
        # another method could make is smaller than the cost of deciding.
        return "direct"
    # Direct and FFT (FFT with its margin; never for exact integer sums),
    # and the separable method per unit of its rank: its cost grows
    # linearly with the rank (``separable_features``).
    costs = estimate_costs(problem, 1)
    per_rank = costs.pop("separable")
    if _exact_integer_problem(problem) or not fft:
        costs.pop("fft")
    else:
        costs["fft"] *= 1 + AUTO_FFT_MARGIN
    candidates = dict(costs)
    rank = _separable_rank(problem, real, per_rank, min(costs.values()))
    if rank is not None:
        candidates["separable"] = max(rank, 1) * per_rank
    best = min(candidates, key=candidates.get)
    if best == "separable" and problem.compute.kind != "c" and _fused_separable(problem, rank):
        # Checked as it runs, instead of a pass over the image first.
        return SEPARABLE_CHECKED
    if best == "fft" and problem.compute.kind != "c":
        # The image's magnitude checked as FFT reads it (``_fft_checked``).
        return FFT_CHECKED
    if best != "direct":
        magnitude = _magnitude(problem.x, problem.nthreads)
        if not _all_finite(problem, magnitude):
            # FFT spreads NaN everywhere and separable passes can turn inf
            # into NaN differently: keep direct's exact IEEE pattern.
            best = "direct"
        elif best == "fft" and _fft_may_overflow(problem, magnitude):
            # Values near the dtype's limit: the transform's sums would
            # overflow where the direct sum does not.
            candidates.pop("fft")
            if rank is None:
                # The separable method may have been ruled out against FFT.
                rank = _separable_rank(problem, real, per_rank, candidates["direct"])
                if rank is not None:
                    candidates["separable"] = max(rank, 1) * per_rank
            best = min(candidates, key=candidates.get)
    return best


def _separable_rank(problem, real, per_rank, best_other):
    """The rank the separable method would run with for ``method='auto'``,
    or None when it cannot run or cannot be the fastest method.

    Its predicted cost is ``per_rank`` seconds per unit of rank: above
    ``useful`` (the rank at which it costs ``best_other``, the fastest
    other method's) it loses, so a large kernel whose rank is certainly
    higher (``_rank_exceeds``) skips the SVD, which would cost a sizeable
    part of the filter itself (~2 ms for 127 x 127).
    """
    k0, k1 = problem.w.shape[-2:]
    if not (min(k0, k1) > 1 and k0 * k1 >= K.SEPARABLE_MIN_TAPS and problem.w.dtype.kind != "c"):
        return None
    useful = int(best_other // per_rank)
    if useful < 1:
        return None
    if k0 * k1 > _FACTOR_CACHE_TAPS and any(_rank_exceeds(wb, useful, real) for wb in problem.w):
        return None
    factors = [_factors(wb, real) for wb in problem.w]
    r = max(rf for rf, _, _ in factors)
    exact = all(e for _, _, e in factors)
    if all(p is not None for _, p, _ in factors) and _separable_ok(r, k0, k1) and \
            (exact or not _exact_integer_problem(problem)):
        return r
    return None
