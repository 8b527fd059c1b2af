"""The separable N-D engine: 1-D weights applied along chosen axes.

A separable filter is a list of ``(axis, weights, before)`` passes.  Each
pass correlates every line of one axis with 1-D weights:

    y[..., i, ...] = sum_t w[t] * P[..., i - before + t, ...]

where ``P`` is the array padded by the boundary rule (``numpy.pad``
semantics, folding repeatedly for windows longer than the axis).  The image
is padded *once*: with ``boundary='fill'`` the samples outside the image
all hold ``fillvalue``, so after a pass along one axis the samples outside
the image along the other axes hold the pass applied to a constant line of
``fillvalue`` -- that value is the fill of the next pass.

Passes run from the last axis to the first; when the last two axes are
both filtered they run through the fused 2-D kernel (one sweep through
cache); other axes run as single passes.
Box (moving-average) passes use running sums in float64: O(1) per output
whatever the window length.  The sums restart every 256 outputs along the
axis in every code path, at multiples of 256 of the global position
``i + phase`` (a box ``Pass`` carries the ``phase``: the global index of
its first output, 0 for a whole image), so an output does not depend on
the layout, on fusion, on the thread count or on where a chunk of a larger
image starts; from where a band's sum meets NaN/inf to the band's end the
outputs are redone with each window's NaN/inf counted apart (finite terms
summed scaled by ``1/box``), still at a cost independent of the box.  For
uint8 images (float32 compute, an integer fill) every one of those sums is
exact, so the fused 2-D box forms them as integer row sums and float64
column running sums instead (``_k.box_u8``): the same values, wherever the
sums restart; a uint8 result of an odd box is the rounded integer mean,
from integer sums alone (``_k.box_u8_round``: the same bytes).

Arrays reach the kernels C-contiguous in the compute dtype (float32 or
float64; uint8 is read directly by the fused kernels); the caller chooses
the compute dtype.  The result is cast to an integer ``dest`` by
``imfilt._cast``'s rule; for an 8- or 16-bit ``dest`` written by a fused
2-D kernel the cast happens as each output row is stored (same values, no
float temporary), otherwise in a pass over a float result.
"""

import functools
import math

import numpy as np

from imfilt._cast import cast_output
from imfilt._kernels import _cast as _kcast
from imfilt._kernels import _separable as _k
from imfilt._kernels import _reuse
from imfilt._modes import boundary_index
from imfilt._threads import interruptible_slices, min_parallel_work, ran_parallel

__all__ = ["Pass", "run_passes", "weights_symmetry"]

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)

_AXIS = {_F32: _k.filter_axis["float"], _F64: _k.filter_axis["double"]}
_FUSED = {_F32: _k.correlate_2d["float"], _F64: _k.correlate_2d["double"]}
_BOX2 = {_F32: _k.box_2d["float"], _F64: _k.box_2d["double"]}

#: Integer dtypes the fused kernels store cast (``_kernels/_saturate.pxd``).
_STORE_CAST = {np.dtype(name): code for name, code in _kcast.CODES.items() if code <= 3}

#: Column chunk (elements) of the running sums of a box pass along a
#: non-last axis: the double accumulators of a chunk stay in L1.
_BOX_CHUNK = 512


class Pass:
    """One 1-D pass: ``weights`` (or a box of ``size``) along ``axis``.

    ``phase`` (box passes): global position of output 0 along ``axis``.
    """

    __slots__ = ("axis", "weights", "before", "box", "phase")

    def __init__(self, axis, weights=None, before=None, box=None, phase=0):
        self.axis = int(axis)
        self.box = None if box is None else int(box)
        self.phase = int(phase)
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        k = self.length
        self.before = k // 2 if before is None else int(before)

    @property
    def length(self):
        return self.box if self.box is not None else len(self.weights)


#: Weights up to this long are compared as Python lists in
#: ``weights_symmetry`` (long ones, up to millions of taps, by NumPy).
_SHORT_WEIGHTS = 64


def weights_symmetry(w):
    """1 for symmetric, -1 for antisymmetric odd-length weights, else 0."""
    if len(w) % 2 == 0 or len(w) < 3:
        return 0
    if len(w) > _SHORT_WEIGHTS:
        if np.array_equal(w, w[::-1]):
            return 1
        return -1 if np.array_equal(w, -w[::-1]) else 0
    # Short weights: Python floats compare as the array's values do
    # (-0.0 == 0.0) at a fraction of NumPy's per-call cost.
    v = w.tolist()
    r = v[::-1]
    if v == r:
        return 1
    if v == [-t for t in r]:
        return -1
    return 0


def _view3(shape, axis):
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return outer, shape[axis], inner


#: Estimated seconds per output value and tap, and per output value of a
#: box (running sums), on one thread: the first guess of how to slice a long
#: call (``_threads.interruptible_pieces`` then measures).
_SECONDS_PER_TAP = 0.15e-9
_SECONDS_PER_BOX = 3e-9

#: Output rows of one box work item (``BOX_BAND`` of the kernels): slices of
#: rows start at multiples of it so the running sums restart where they
#: would in one call.
_BOX_BAND = 256


def _slices(B, H, per_value, W, nthreads, min_rows=1, align=1):
    """Interruptible pieces ``(b0, b1, r0, r1)`` of a (B, H, W) sweep."""
    per_row = W * per_value / max(1, nthreads)
    return interruptible_slices(B, H, per_row, min_rows=min_rows, align=align)


def _band_source(a3, b0, b1, r0, r1):
    """The source of output rows ``r0:r1`` of images ``b0:b1`` for a kernel
    that reads its input rows through a boundary index table.

    Whole images are plain slices.  For a band of one image the kernels
    address source row ``s`` as ``row 0 + s`` of the image, whatever rows the
    band covers, and take the band's row count from this array: the view
    starts at the image's row 0 and has ``r1 - r0`` rows (every row stays
    readable through ``a3``, which the caller holds).
    """
    if r0 == 0 and r1 == a3.shape[1]:
        return a3[b0:b1]
    return a3[b0:b1, :r1 - r0]


def _one_pass(src, dst, p, boundary, fill, real, nthreads):
    """Run pass ``p`` from ``src`` into ``dst`` (same shape, C-contiguous)."""
    outer, n, inner = _view3(src.shape, p.axis)
    k = p.length
    idx = boundary_index(n, p.before, k - 1 - p.before, boundary)
    x3 = src.reshape(outer, n, inner)
    o3 = dst.reshape(outer, n, inner)
    nt = max(1, nthreads)
    fillrow = np.full(max(inner, 1), fill, dtype=real)
    box = p.box is not None
    if box:
        w = np.ascontiguousarray((), dtype=real)
        acc = np.empty((nt, _BOX_CHUNK if inner > 1 else 1), dtype=np.float64)
        per_value, min_rows, align = _SECONDS_PER_BOX, _BOX_BAND * nt, _BOX_BAND
    else:
        w = np.ascontiguousarray(p.weights, dtype=real)
        acc = np.empty((nt, 1), dtype=np.float64)
        per_value, min_rows, align = k * _SECONDS_PER_TAP, 4 * nt, 1
    scratch = np.empty((nt, n + k - 1 if inner == 1 else 1), dtype=real)
    pointers = np.empty((nt, k + 1), dtype=np.intp)
    sym = weights_symmetry(w) if not box else 0
    if inner == 1:
        # Lines along the contiguous axis: groups of whole lines.
        pieces = ((b0, b1, 0, n) for b0, b1, _, _ in _slices(outer, 1, per_value, n, nt))
    else:
        pieces = _slices(outer, n, per_value, inner, nt, min_rows, align)
    for b0, b1, r0, r1 in pieces:
        # Between two pieces the interpreter handles signals (Ctrl-C).  A box
        # piece starting at row r0 has its first output at phase + r0.
        ran_parallel(_AXIS[real](_band_source(x3, b0, b1, r0, r1), w, o3[b0:b1, r0:r1],
                                 idx[r0:r1 + k - 1], p.before, k if box else 0, real.type(fill),
                                 sym, nt, fillrow, scratch, acc, pointers, min_parallel_work(),
                                 p.phase + r0))


def _source(src, B, H, W, real):
    """``(x, x8)`` for a fused kernel: a uint8 source is read directly."""
    if src.dtype == np.uint8:
        return np.zeros((1, 1, 1), dtype=real), src.reshape(B, H, W)
    return src.reshape(B, H, W), None


def _fused_geometry(src, p0, p1, boundary):
    """What both fused 2-D sweeps need: ``src`` seen as ``(B, H, W)``, the
    two pass lengths and each axis's boundary index table."""
    H, W = src.shape[-2:]
    B = math.prod(src.shape[:-2])
    k0, k1 = p0.length, p1.length
    idx0 = boundary_index(H, p0.before, k0 - 1 - p0.before, boundary)
    idx1 = boundary_index(W, p1.before, k1 - 1 - p1.before, boundary)
    return B, H, W, k0, k1, idx0, idx1


def _store(out, real):
    """``(out, out8, code)`` of a fused kernel: a float ``out`` is written as
    is; an integer one (``_STORE_CAST``) as its raw bytes, stored cast."""
    if out.dtype == real:
        return out, None, 1
    return np.zeros((1, 1, 1), dtype=real), out.view(np.int8), _STORE_CAST[out.dtype]


def _fused_bands(src, dst, B, H, W, idx0, k0, real, per_value, nthreads, min_rows, align, call):
    """Run a fused 2-D sweep ``call(x, x8, out, idx0, r0)`` piece by piece
    (``_slices``; ``r0`` is the piece's first output row; ``out`` is ``dst``'s
    piece, float or stored cast); return the pieces' results."""
    x, x8 = _source(src, B, H, W, real)
    out = dst.reshape(B, H, W)
    results = []
    for b0, b1, r0, r1 in _slices(B, H, per_value, W, nthreads, min_rows, align):
        # Between two pieces the interpreter handles signals (Ctrl-C).
        results.append(call(x if x8 is not None else _band_source(x, b0, b1, r0, r1),
                            None if x8 is None else _band_source(x8, b0, b1, r0, r1),
                            out[b0:b1, r0:r1], idx0[r0:r1 + k0 - 1], r0))
    return results


def _folds_bounded(src, fill, w0, w1):
    """Whether every value of a fused 2-D pass over the uint8 ``src`` stays
    far below the float32 maximum: rows and fill at most ``top``, so row
    values at most ``top * sum|w1|``, outputs at most that times
    ``sum|w0|``, and each folded pair at most twice its pass's input."""
    if src.dtype != np.uint8:
        return False
    top = abs(float(fill))
    top = 255.0 if top <= 255.0 else top     # (a NaN fill stays NaN)
    s0, s1 = float(np.abs(w0).sum()), float(np.abs(w1).sum())
    return 4 * top * (1 + s0) * (1 + s1) < 1e36     # False for NaN or inf


def _fused(src, dst, p0, p1, boundary, fill, real, nthreads, seen=None):
    """Passes ``p1`` (last axis) then ``p0`` (second to last) in one sweep
    (``seen``: see ``run_passes``)."""
    B, H, W, k0, k1, idx0, idx1 = _fused_geometry(src, p0, p1, boundary)
    w0 = np.ascontiguousarray(p0.weights, dtype=real)
    w1 = np.ascontiguousarray(p1.weights, dtype=real)
    nt = max(1, nthreads)
    P1 = W + k1 - 1
    cast = dst.dtype != real
    scratch = np.empty((nt, (k0 + 3) * W + P1 + W + (4 * _k.CAST_CHUNK_COLUMNS if cast else 0)),
                       dtype=real)
    pointers = np.empty((nt, 3 * (k0 + 3) + k1 + 4), dtype=np.intp)

    # uint8 rows: no folded sum comes near the float maximum, so the line
    # kernels skip their float32 overflow check (symmetry +-2, _sepline.h).
    fold = 2 if _folds_bounded(src, fill, w0, w1) else 1
    sym0, sym1 = fold * weights_symmetry(w0), fold * weights_symmetry(w1)

    def call(x, x8, out, idx, r0):
        out, out8, code = _store(out, real)
        return ran_parallel(_FUSED[real](x, w0, w1, out, idx, idx1,
                                         p1.before, real.type(fill), sym0, sym1, nt, scratch,
                                         pointers, min_parallel_work(), x8, out8, code, seen))
    # A thread's band recomputes k0 - 1 rows of the row pass, so the kernel
    # makes bands of at least 4 * k0 rows: a piece has one per thread.
    _fused_bands(src, dst, B, H, W, idx0, k0, real, (k0 + k1) * _SECONDS_PER_TAP, nt,
                 4 * k0 * nt, 1, call)


#: Longest row box that runs through ``_k.box_u8``: its row sums cost one
#: add per tap, so beyond about 9 taps ``box_2d``'s running sums are faster.
_U8_ROW_MAX = 9


def _u8_rounds(dst, k0, k1):
    """Whether ``_k.box_u8_round`` makes the uint8 ``dst`` of a k0 x k1 box."""
    return (dst.dtype == np.uint8 and (k0 * k1) % 2 == 1 and k0 <= _k.U8_ROUND_MAX0
            and k1 <= _k.U8_ROUND_MAX1)


def _u8_exact(src, dst, p0, p1, boundary, fill, real):
    """The integer fill of a box that ``_k.box_u8`` or ``_k.box_u8_round``
    computes exactly (and fast), else None."""
    if src.dtype != np.uint8 or real != _F32:
        return None
    if not _u8_rounds(dst, p0.length, p1.length) and (
            p1.length > min(_U8_ROW_MAX, _k.U8_BOX_MAX1) or p0.length > _k.U8_BOX_MAX0):
        return None
    if boundary != "fill":
        return 0
    return int(fill) if fill in range(256) else None


@functools.lru_cache(maxsize=64)
def _u8_divisor(n):
    """``(mul, shift)`` with ``((t * mul) >> 16) >> shift == t // n`` for every
    ``t = S + (n - 1) // 2``, S a sum of n uint8 values, all in 16 bits; or
    ``(0, 0)`` when no such pair exists (the float form is used then).

    ``mul = ceil(2**(16 + shift) / n)`` overestimates 1 / n by less than one
    part in 2**(16 + shift), too little to move any quotient in range for
    moderate n; every t is checked all the same."""
    if not 1 <= n <= _k.U8_ROUND16_MAX:
        return 0, 0
    t = np.arange((n - 1) // 2, 255 * n + (n - 1) // 2 + 1, dtype=np.uint64)
    exact = t // n
    for shift in range(15, -1, -1):
        mul = -(-(1 << (16 + shift)) // n)
        if mul < 1 << 16 and np.array_equal(((t * mul) >> 16) >> shift, exact):
            return mul, shift
    return 0, 0


def _fused_box_u8(src, dst, p0, p1, boundary, fill8, nthreads):
    """``_fused_box`` of a uint8 image by exact sums (``_k.box_u8``, same values)."""
    B, H, W, k0, k1, idx0, idx1 = _fused_geometry(src, p0, p1, boundary)
    nt = max(1, nthreads)
    if _u8_rounds(dst, k0, k1):
        # uint8 out of an odd box: the rounded mean from integer sums, the
        # same bytes (see _k.box_u8_round) at a fraction of the work.
        cs = np.empty((nt, W + k1 - 1), dtype=np.uint16)
        acc = np.empty((nt, 3 * W + 2 * k1 - 2), dtype=np.uint32)
        frow = np.full(W, fill8, dtype=np.uint8)

        mul, shift = _u8_divisor(k0 * k1) if k1 <= _k.U8R_ADDS_MAX else (0, 0)

        def call_round(x, x8, out, idx, r0):
            return ran_parallel(_k.box_u8_round(x8, out, idx, idx1, p1.before, k0, k1, fill8,
                                                frow, nt, cs, acc, min_parallel_work(), mul,
                                                shift))
        _fused_bands(src, dst, B, H, W, idx0, k0, _F32, _SECONDS_PER_BOX / 2, nt,
                     _BOX_BAND * nt, _BOX_BAND, call_round)
        return True
    S = _k.u8_strip(W)
    seg = np.empty((nt, S + k1 - 1), dtype=np.uint8)
    s16 = np.empty((nt, S), dtype=np.uint16)
    ring = np.empty((nt, (k0 + 2 * _k.BOX_GROUP) * S), dtype=np.float32)
    acc = np.empty((nt, S), dtype=np.float64)
    pointers = np.empty((nt, k0 + 4 * _k.BOX_GROUP), dtype=np.intp)

    def call(x, x8, out, idx, r0):
        out, out8, code = _store(out, _F32)
        return ran_parallel(_k.box_u8(x8, out, idx, idx1, p1.before, k0, k1, fill8, nt,
                                      seg, s16, ring, acc, pointers, min_parallel_work(),
                                      out8, code))
    # Pieces of whole BOX_BAND row bands, one per thread at least.
    _fused_bands(src, dst, B, H, W, idx0, k0, _F32, _SECONDS_PER_BOX, nt, _BOX_BAND * nt,
                 _BOX_BAND, call)
    return True


def _fused_box(src, dst, p0, p1, boundary, fill, real, nthreads):
    """Box passes ``p1`` (last axis) then ``p0`` in one sweep; False if it must be redone."""
    fill8 = _u8_exact(src, dst, p0, p1, boundary, fill, real)
    if fill8 is not None:
        return _fused_box_u8(src, dst, p0, p1, boundary, fill8, nthreads)
    B, H, W, k0, k1, idx0, idx1 = _fused_geometry(src, p0, p1, boundary)
    nt = max(1, nthreads)
    g, S = _k.BOX_GROUP, _k.box_strip(W)
    # Per thread: a ring of k0 + g row-pass strip rows, the fill row's box, a
    # transposed output pair of bands and (thread 0) the padded fill row; the
    # column sums and a transposed input pair of bands (float64); the ring's
    # row tables.
    # With an integer dst: g strip rows before their cast.
    cast = g * S if dst.dtype != real else 0
    scratch = np.empty((nt, (k0 + g) * S + 2 * W + 2 * g * _BOX_BAND + k1 - 1 + cast), dtype=real)
    acc = np.empty((nt, S + g * (2 * _BOX_BAND + k1 - 1)), dtype=np.float64)
    pointers = np.empty((nt, 2 * (k0 + g) + 5 * g), dtype=np.intp)

    def call(x, x8, out, idx, r0):
        out, out8, code = _store(out, real)
        ok, used = _BOX2[real](x, out, idx, idx1, p1.before,
                               k0, k1, real.type(fill), nt, scratch, acc, pointers,
                               min_parallel_work(), x8, p0.phase + r0, p1.phase, out8, code)
        ran_parallel(used)
        return ok
    # Pieces of whole BOX_BAND row bands, one per thread at least.
    return all(_fused_bands(src, dst, B, H, W, idx0, k0, real, 2 * _SECONDS_PER_BOX, nt,
                            _BOX_BAND * nt, _BOX_BAND, call))


def _next_fill(p, fill, real):
    """The value a pass gives a constant line of ``fill`` (same arithmetic)."""
    one = np.full((1, 1, 1), fill, dtype=real)
    res = np.empty_like(one)
    _one_pass(one, res, Pass(0, p.weights, p.before, p.box), "fill", fill, real, 1)
    return res.item()


#: Largest number of unfiltered trailing elements per pixel (channels) that
#: :func:`run_passes` moves to the front instead of striding over them.
_MAX_TRAILING = 16


def _channels_first(src, passes):
    """``(copy, passes, perm)`` with unfiltered trailing axes moved first, or None."""
    filtered = {p.axis for p in passes}
    nd = src.ndim
    t = max(filtered) + 1
    if t == nd or src.size == 0 or int(np.prod(src.shape[t:])) > _MAX_TRAILING:
        return None
    perm = tuple(range(t, nd)) + tuple(range(t))
    shift = nd - t
    moved = [Pass(p.axis + shift, p.weights, p.before, p.box, p.phase) for p in passes]
    return np.ascontiguousarray(src.transpose(perm)), moved, perm


def run_passes(x, passes, boundary, fill, real, nthreads, dest=None, seen=None):
    """Apply ``passes`` to ``x`` in the float dtype ``real``.

    Parameters
    ----------
    x : ndarray
        Any layout and numeric dtype; cast (copied) to C-contiguous ``real``.
    passes : list of Pass
        At most one pass per axis; axes need length >= 1 unless
        ``boundary`` is 'fill'.
    boundary : str
        Canonical boundary name.
    fill : float
        Fill value for ``boundary='fill'``.
    real : dtype
        float32 or float64.
    nthreads : int
        Threads (results do not depend on it).
    dest : ndarray, optional
        C-contiguous array of ``x.shape`` to write into: of ``real``, or of
        an integer dtype of ``imfilt._cast`` (the result cast by its rule;
        8- and 16-bit types are stored cast by a fused last step).
    seen : ndarray of intc, optional
        At least ``max(1, nthreads)`` zeros: left all zero only when no
        output is inf or NaN.  The fused 2-D sweep checks its outputs as it
        forms them; every other plan sets ``seen[0]`` (not checked).

    Returns
    -------
    ``dest``, or a new C-contiguous ``real`` array of ``x.shape``.
    """
    real = np.dtype(real)
    orig = np.asarray(x)
    if orig.dtype == np.uint8:
        # The fused kernels read uint8 directly (no conversion pass).
        src = np.ascontiguousarray(orig)
    else:
        src = np.ascontiguousarray(orig, dtype=real)
        if src.dtype.byteorder not in "=|":
            src = src.astype(real.newbyteorder("="))
    passes = [p for p in passes if not (p.box is None and len(p.weights) == 1 and p.weights[0] == 1.0)]
    if dest is None:
        dest = _reuse.empty(src.shape, dtype=real)
    if src.size == 0:
        return dest
    if not passes:
        if seen is not None:
            seen[0] = 1
        if dest.dtype == real:
            np.copyto(dest, src, casting="unsafe")
        else:
            cast_output(src.astype(real), dest.dtype, nthreads, dest=dest)
        return dest
    moved = _channels_first(src, passes)
    if moved is not None:
        # Unfiltered trailing axes, e.g. the colour axis of an (H, W, 3)
        # photograph: every pass would stride over them.  Each channel is
        # filtered on its own either way, so filtering a channel-first copy
        # gives the same values, through the fused 2-D kernels.
        src, passes, perm = moved
        res = run_passes(src, passes, boundary, fill, real, nthreads,
                         None if dest.dtype == real else _reuse.empty(src.shape, dest.dtype), seen)
        np.copyto(dest, res.transpose(np.argsort(perm)))
        return dest
    nd = src.ndim
    # Passes run from the last axis to the first, so that a channel axis or
    # any unfiltered axis does not change the order of the arithmetic: the
    # result equals filtering each slice on its own, bit for bit.  When the
    # first two are the array's last two axes they run fused.
    order = sorted(passes, key=lambda p: -p.axis)
    steps = []
    # A fused sweep filters every padded row along the last axis; with a
    # column kernel longer than the image most padded rows repeat image rows
    # (every boundary but 'fill'), and two single passes, which filter each
    # row once, give the same values in time linear in the kernel's length.
    if (len(order) >= 2 and order[0].axis == nd - 1 and order[1].axis == nd - 2
            and (boundary == "fill" or order[1].length - 1 <= src.shape[-2])):
        if order[0].box is None and order[1].box is None:
            steps.append(("fused", (order[1], order[0])))
            order = order[2:]
        elif order[0].box is not None and order[1].box is not None:
            steps.append(("fused_box", (order[1], order[0])))
            order = order[2:]
    steps += [("one", p) for p in order]
    if seen is not None and [kind for kind, _ in steps] != ["fused"]:
        seen[0] = 1
    if src.dtype != real and steps[0][0] == "one":
        src = src.astype(real)
    # An integer dest: stored cast by the last step when it is fused, else
    # cast from a float result at the end.
    store_cast = dest.dtype in _STORE_CAST and steps[-1][0] != "one"
    final = dest
    if dest.dtype != real and not store_cast:
        dest = _reuse.empty(src.shape, dtype=real)
    temps = []
    cur = src
    fill = float(fill)
    for s, (kind, p) in enumerate(steps):
        last = s == len(steps) - 1
        if last:
            nxt = dest
        else:
            # Ping-pong between at most two temporaries; never write into x.
            spare = [t for t in temps if t is not cur and t is not src]
            if spare:
                nxt = spare[0]
            else:
                nxt = _reuse.empty(src.shape, dtype=real)
                temps.append(nxt)
        if kind == "one":
            _one_pass(cur, nxt, p, boundary, fill, real, nthreads)
            if boundary == "fill" and not last:
                fill = _next_fill(p, fill, real)
        else:
            if kind == "fused":
                _fused(cur, nxt, p[0], p[1], boundary, fill, real, nthreads,
                       seen if len(steps) == 1 else None)
            elif not _fused_box(cur, nxt, p[0], p[1], boundary, fill, real, nthreads):
                # A running sum met NaN/inf: the single passes recompute
                # those windows one by one (same values elsewhere).
                mid = _reuse.empty(src.shape, dtype=real)
                res = nxt if nxt.dtype == real else _reuse.empty(src.shape, dtype=real)
                _one_pass(np.ascontiguousarray(cur, dtype=real), mid, p[1], boundary, fill, real, nthreads)
                _one_pass(mid, res, p[0], boundary, _next_fill(p[1], fill, real), real,
                          nthreads)
                if res is not nxt:
                    cast_output(res, nxt.dtype, nthreads, dest=nxt)
            if boundary == "fill" and not last:
                fill = _next_fill(p[0], _next_fill(p[1], fill, real), real)
        cur = nxt
    if final is not dest:
        cast_output(dest, final.dtype, nthreads, dest=final)
    return final
