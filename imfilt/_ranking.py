"""Engine of the rank filters: padding, algorithm choice, NaN policy.

``rank_engine`` takes a validated image, a boolean footprint with one axis
per image axis, a rank rule and a boundary, and returns the filtered image
in the image's dtype.  Every algorithm selects an existing value, so the
result is exact whatever the path:

* the smallest or largest value of every window (rank 0 or n - 1,
  percentile 0 or 100; under 'omit' for every count of non-NaN values):
  the min/max engine ``_minmax`` (van Herk / Gil-Werman for rectangles),
  as scipy.ndimage does;

* the full 3x3 and 5x5 medians (any real dtype; float images with NaN
  too): read in place (no padded copy), two output rows at once sharing
  their common rows (3x3: each column's two shared values ordered once
  for both rows, the median taken from the column minima, middles and
  maxima in registers; 5x5: the 20 shared points reduced once to ranks
  6..12); with NaN, counted and sorted last as +inf, each window picking
  rank 3 or 4 of its 9 (11 or 12 of its 25) by its NaN count for 'omit',
  windows with 4 or more NaN gathered and selected (the 3x3 pair keeps
  its shared column sorts, which give rank 4, and redoes by rows only the
  chunks where a window holds 2 or more NaN);
* the full 3x3 median of rows too narrow for that (no NaN): the padded
  image's columns sorted once and shared by neighbouring windows;
* 9, 25 or 27 points with the median rank (3x3, 5x5, 3x3x3 and any
  footprint of that many points): networks compiled into the kernel, every
  wire in a SIMD register; with NaN present they count NaN in registers
  ('propagate') or sort it last and pick rank ``m // 2`` ('omit');
* other footprints of at most ``NETWORK_MAX`` points: a sorting network
  (Batcher's odd-even merge sort, pruned to the comparators the wanted
  ranks need) applied to a block of pixels at a time with SIMD min/max;
* 8-bit data with a full rectangle of more points: column histograms
  (Perreault-Hebert) with a coarse and a fine level, O(1) per pixel;
* 8- and 16-bit data with other larger footprints: a sliding histogram (Huang)
  that adds the points entering and removes those leaving the footprint as
  it moves along a row, tracking the answer between steps;
* everything else: gather the window and partition-select.

Positions: footprint index ``j`` (per axis) is offset ``j - size // 2``, so
output ``i`` sees inputs ``i - size//2 .. i + (size - 1)//2`` (SciPy's
placement, also for even sizes).  The image is padded once with the
boundary rule (windows larger than the image fold repeatedly).

Ranks: ``rank_table(kind, value, K)[m]`` is the rank (0 = smallest) that
a window of ``m`` values uses, -1 when there is none.  Plain filters use
``m = K``; ``nan_policy='omit'`` uses ``m`` = the number of non-NaN values.
"""

import functools
import math
import threading

import numpy as np

from imfilt import _minmax, _threads
from imfilt._kernels import _rank as _k
from imfilt._kernels import _reuse
from imfilt._modes import boundary_index
from imfilt._validation import order_fill, order_fill_as

__all__ = ["rank_engine", "rank_halo", "rank_table", "selection_network",
           "choose_algorithm", "NETWORK_MAX"]

_TCODE = {np.dtype(t): c for c, t in enumerate(
    ("uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64",
     "float32", "float64"))}

#: Largest footprint (points) that uses a sorting network, by element size.
#: Measured on a 2-core AVX-512 machine (benchmarks/bench_rank.py): the
#: network costs ~K log^2 K / 4 min/max per pixel spread over 64 / itemsize
#: SIMD lanes, selection ~3 K scalar comparisons with mispredicted branches.
NETWORK_MAX = {1: 49, 2: 49, 4: 49, 8: 25}

#: (points, rank) pairs compiled as fixed networks (tools/gen_rank_networks.py):
#: the 3x3, 5x5 and 3x3x3 medians.  Their wires live in SIMD registers.
FIXED_NETWORKS = ((9, 4), (25, 12), (27, 13))

#: Pixels per network block: the K wires of a block stay in L1.
_NETWORK_BLOCK_BYTES = 16384

#: Estimated seconds per output value and footprint point on one thread: the
#: first guess when a long call is cut into interruptible pieces (the time
#: measured on the first piece replaces it).
_SECONDS_PER_TAP = 2e-9


#: The same for the in-place 3x3 / 5x5 medians (measured at 2048^2, one
#: thread: 0.01-0.03 ns per point for 8-bit data, ~0.1 for float32).
_DIRECT_SECONDS_PER_TAP = 2e-10

#: The same for the 8-bit box histogram median, per output value whatever
#: the box (about 25 ns on one thread at 15x15).
_HIST8_SECONDS_PER_PIXEL = 3e-8

#: Padded copies up to this size are kept per thread and reused: touching
#: fresh memory costs page faults that, for a 3x3 median, take longer than
#: the filter itself.
_SCRATCH_MAX_BYTES = 64 << 20
_scratch = threading.local()


def _padded_buffer(shape, dtype):
    """An uninitialised C-contiguous array, from this thread's scratch when small."""
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > _SCRATCH_MAX_BYTES:
        return _reuse.empty(shape, dtype=dtype)
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.size < nbytes:
        buf = np.empty(max(nbytes, 1 << 16), dtype=np.uint8)
        _scratch.buf = buf
    return buf[:nbytes].view(dtype).reshape(shape)


def _batcher_pairs(n):
    """Comparators (i, j), i < j, of Batcher's odd-even merge sort of n wires."""
    pairs = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return pairs


@functools.lru_cache(maxsize=256)
def selection_network(K, wanted):
    """Comparator triples that leave wires ``wanted`` holding those ranks.

    Batcher's network for the next power of two, minus the comparators
    that touch wires ``>= K`` (they would hold +inf and never move), then
    pruned backwards: a comparator is kept only when one of its outputs is
    read later, and computes only the outputs that are (kind 1: minimum,
    2: maximum, 3: both).
    """
    n = 1
    while n < K:
        n *= 2
    pairs = [(i, j) for i, j in _batcher_pairs(n) if j < K]
    live = set(wanted)
    kept = []
    for i, j in reversed(pairs):
        need_min, need_max = i in live, j in live
        if not (need_min or need_max):
            continue
        kept.append((i, j, (1 if need_min else 0) | (2 if need_max else 0)))
        live.add(i)
        live.add(j)
    net = np.array(kept[::-1], dtype=np.intc).reshape(-1)
    net.setflags(write=False)
    return net


def rank_table(kind, value, K):
    """Rank used by a window of ``m`` values, for ``m = 0 .. K`` (-1: none).

    Read-only; tables of footprints up to 65536 points are kept (a call
    with the same rule reuses its table).

    ``kind`` is ``'median'`` (rank ``m // 2``, the upper median),
    ``'rank'`` (``value`` counted from the smallest, or from the largest
    when negative: rank ``m + value``) or ``'percentile'`` (``value`` in
    [-100, 100]; negative values add 100; rank ``int(m * value / 100)``,
    capped at ``m - 1``).
    """
    if K <= _TABLE_CACHED_MAX:
        return _rank_table_cached(kind, value, K)
    return _rank_table(kind, value, K)


#: Largest footprint (points) whose rank table ``rank_table`` keeps.
_TABLE_CACHED_MAX = 1 << 16


@functools.lru_cache(maxsize=64)
def _rank_table_cached(kind, value, K):
    return _rank_table(kind, value, K)


def _rank_table(kind, value, K):
    m = np.arange(K + 1, dtype=np.intp)
    if kind == "median":
        r = m // 2
    elif kind == "rank":
        r = m + value if value < 0 else np.full_like(m, value)
    else:
        p = value + 100.0 if value < 0 else float(value)
        r = np.array([int(float(mm) * p / 100.0) for mm in range(K + 1)], dtype=np.intp)
        r = np.minimum(r, m - 1)
    r = np.where((r >= 0) & (r < m), r, -1).astype(np.intp)
    r.setflags(write=False)
    return r


def choose_algorithm(dtype, K, omit):
    """The kernel algorithm for a footprint of K points (see _rank.pyx)."""
    itemsize = dtype.itemsize
    if K <= NETWORK_MAX[itemsize]:
        return _k.ALGO_NETWORK
    if dtype.kind in "iu" and itemsize == 1:
        return _k.ALGO_HIST8
    if dtype.kind in "iu" and itemsize == 2:
        return _k.ALGO_HIST16
    return _k.ALGO_SELECT


def _kernel_dtype(dtype):
    """The dtype the kernel works in: bool as uint8, float16 as float32."""
    if dtype.kind == "b":
        return np.dtype(np.uint8)
    if dtype == np.float16:
        return np.dtype(np.float32)
    return dtype.newbyteorder("=")


def fill_for(fill, dtype):
    """The fill value as the kernel dtype, ordered as the number ``fill``
    (the rule of ``_validation.order_fill``; float16 as float32)."""
    value = order_fill(fill, dtype)
    if dtype == np.float16:
        return np.float32(order_fill_as(value, np.float16))
    return order_fill_as(value, _kernel_dtype(dtype))


def rank_halo(footprint_shape):
    """Samples each output reads before and after it, per axis: ``(n // 2, n - 1 - n // 2)``.

    A chunked caller (``imfilt.dask``) that gives every block this halo
    from its neighbours (or from the boundary rule at the image's edges)
    gets results equal to the in-memory filter.

    >>> rank_halo((3, 4))
    ((1, 1), (2, 1))
    """
    return tuple((int(n) // 2, int(n) - 1 - int(n) // 2) for n in footprint_shape)


def _enter_leave(footprint, pstrides):
    """Flat offsets of the points entering / leaving as the window moves right."""
    f = footprint
    right = np.zeros_like(f)
    right[..., :-1] = f[..., 1:]
    left = np.zeros_like(f)
    left[..., 1:] = f[..., :-1]
    enter = np.argwhere(f & ~right)
    leave = np.argwhere(f & ~left)
    return (enter @ pstrides).astype(np.intp), (leave @ pstrides).astype(np.intp)


def rank_engine(image, footprint, kind, value, boundary, fill, nthreads, nan_policy="propagate",
                out=None, K=None):
    """Rank-filter ``image`` (validated ndarray) with a boolean ``footprint``.

    Parameters
    ----------
    image : ndarray
        Any real dtype, byte order and layout; ``image.ndim == footprint.ndim``.
    footprint : ndarray of bool
        At least one True; index ``j`` on each axis is offset ``j - size // 2``.
    kind, value : str, number
        The rank rule (see ``rank_table``); ``value`` is validated.
    boundary : str
        Canonical boundary name.
    fill : number
        Fill value for ``boundary='fill'``.
    nthreads : int
        Threads (resolved).
    nan_policy : {'propagate', 'omit', 'raise'}
        Validated; 'raise' has been handled by the caller.
    out : ndarray, optional
        C-contiguous, native, of the image's dtype and shape (else None).
    K : int, optional
        The footprint's number of points, when the caller knows it.

    Returns
    -------
    ndarray of ``image.dtype`` (native byte order) and ``image.shape``.
    """
    dtype = image.dtype.newbyteorder("=")
    result = out if out is not None else _reuse.empty(image.shape, dtype=dtype)
    if image.size == 0:
        return result
    if K is None:
        K = int(np.count_nonzero(footprint))
    # The rank a full window uses (the table for every m is built only on the
    # paths that need it).
    r = K // 2 if kind == "median" else int(rank_table(kind, value, K)[K])

    fshape = footprint.shape
    ismax = _extreme(kind, value, K, r, nan_policy)
    if ismax is not None:
        # The smallest or the largest value of every window: the min/max
        # engine, whose cost does not grow with a rectangular window (nor
        # with a window much larger than the image).
        axes = tuple(a for a in range(image.ndim) if fshape[a] > 1)
        fp = footprint.reshape([fshape[a] for a in axes])
        fill_value = order_fill(fill, dtype) if boundary == "fill" else 0
        result[...] = _minmax.minmax(image, fp, tuple(n // 2 for n in fp.shape), ismax,
                                     boundary, fill_value, axes, nthreads, nan_policy)
        return result

    # Work with the unfiltered axes first, so the rows run along a filtered
    # axis (a colour axis last would make rows of length 3).
    if 1 in fshape:
        moved = [a for a in range(image.ndim) if fshape[a] == 1 and image.shape[a] > 1]
        kept = [a for a in range(image.ndim) if a not in moved]
        perm = moved + kept
        if perm != list(range(image.ndim)) and kept and fshape[kept[-1]] > 1:
            x = np.transpose(image, perm)
            fp = np.transpose(footprint, perm)
            sub = rank_engine(x, fp, kind, value, boundary, fill, nthreads, nan_policy, K=K)
            result[...] = np.transpose(sub, np.argsort(perm))
            return result

    kdtype = _kernel_dtype(image.dtype)
    x = image
    if image.dtype.kind == "b":
        x = image.view(np.uint8) if image.dtype.itemsize == 1 else image.astype(np.uint8)
    x = np.ascontiguousarray(x, dtype=kdtype)
    # The fill value is read only for boundary='fill'.
    fill_value = fill_for(fill, dtype) if boundary == "fill" else kdtype.type(0)
    tcode = _TCODE[kdtype]
    itemsize = kdtype.itemsize

    # Threads for the kernels that do not decide it themselves.
    nt = nthreads if x.size * K >= _threads.min_parallel_work() else 1
    h = _direct_median(x, footprint, kdtype, K, r)
    direct_mode = 0
    if h and kdtype.kind == "f":
        # NaN (a NaN fill value too): the 3x3 and 5x5 read in place in a NaN
        # mode ('propagate', or 'omit' for the median); other ranks with
        # 'omit' need the padded path's NaN-aware networks.
        holds_nan = boundary == "fill" and fill_value != fill_value
        if not holds_nan:
            holds_nan, used = _k.has_nan(x.reshape(-1).view(np.uint8), tcode, itemsize,
                                         x.shape[-1], nthreads, _threads.min_parallel_work())
            _threads.ran_parallel(used)
        if holds_nan:
            if nan_policy != "omit":
                direct_mode = 1
            elif kind == "median":
                direct_mode = 2
            else:
                h = 0
    if h:
        kout = result if result.dtype == kdtype and result.flags.c_contiguous else \
            _reuse.empty(x.shape, dtype=kdtype)
        H, W = x.shape[-2:]
        rmap, cmap = _direct_maps(H, W, h, boundary)
        src, dst = x.reshape(-1).view(np.uint8), kout.reshape(-1).view(np.uint8)
        frow = _fill_row(W, fill_value.tobytes())
        nplanes = x.size // (H * W)
        # Interruptible pieces of row pairs (Ctrl-C is handled between them).
        pair_seconds = 2 * W * K * _DIRECT_SECONDS_PER_TAP / nt
        for _, j0, j1 in _threads.interruptible_pieces((nplanes * ((H + 1) // 2),),
                                                       pair_seconds, min_rows=8 * nt):
            _threads.ran_parallel(_k.median_direct(src, dst, frow, tcode, itemsize, nplanes,
                                                   H, W, rmap, cmap, h, j0, j1, nt,
                                                   direct_mode))
        return _finish(result, kout, image.dtype, dtype)
    rtab = rank_table(kind, value, K)

    # Pad once.
    before = [s // 2 for s in fshape]
    after = [s - 1 - s // 2 for s in fshape]
    pshape = [n + b + a for n, b, a in zip(x.shape, before, after)]
    maps = [boundary_index(n, b, a, boundary) for n, b, a in zip(x.shape, before, after)]
    mapoff = np.array([sum(len(m) for m in maps[:a]) for a in range(len(maps))], dtype=np.intp)
    padded = _padded_buffer(pshape, kdtype)
    sstride = np.array(x.strides[:-1] or (0,), dtype=np.intp)
    has_nan, used = _k.pad(x.reshape(-1).view(np.uint8), padded.reshape(-1).view(np.uint8),
                           np.array(pshape, dtype=np.intp), sstride,
                           np.concatenate(maps).astype(np.intp), mapoff, x.shape[-1],
                           before[-1], itemsize,
                           np.array([fill_value], dtype=kdtype).view(np.uint8), tcode, nthreads,
                           _threads.min_parallel_work())
    _threads.ran_parallel(used)
    has_nan = bool(has_nan) and kdtype.kind == "f"

    pstrides = np.array([math.prod(pshape[a + 1:]) for a in range(x.ndim)], dtype=np.intp)
    # each footprint point's offset in the padded array
    offs = sum(i * int(s) for i, s in zip(np.nonzero(footprint), pstrides)).astype(np.intp)
    mode = 0
    if has_nan:
        mode = 2 if nan_policy == "omit" else 1
    algo = choose_algorithm(kdtype, K, mode == 2)
    r = int(rtab[K])
    rs = 0
    if (algo == _k.ALGO_NETWORK and (K, r) in FIXED_NETWORKS
            and (mode == 1 or (mode == 2 and kind == "median"))):
        algo = _k.ALGO_FIXED_NAN
    if algo == _k.ALGO_NETWORK and mode == 0 and (K, r) in FIXED_NETWORKS:
        if footprint.shape[-2:] == (3, 3) and _full_box(footprint):
            algo = _k.ALGO_MED3X3
            rs = int(pstrides[-2])
        else:
            algo = _k.ALGO_FIXED
    if algo == _k.ALGO_NETWORK:
        wanted = (r,) if mode != 2 else tuple(sorted({int(v) for v in rtab if v >= 0}))
        net = selection_network(K, wanted)
        B = max(64, (_NETWORK_BLOCK_BYTES // (K * itemsize)) // 64 * 64)
    else:
        net = np.zeros(3, dtype=np.intc)
        B = max(64, (_NETWORK_BLOCK_BYTES // (4 * itemsize)) // 64 * 64)
    if algo == _k.ALGO_HIST8 and _full_box(footprint) and mode == 0 and K <= 65535:
        kh, kw = footprint.shape[-2:]
        H, W = x.shape[-2:]
        kout = result if result.dtype == kdtype and result.flags.c_contiguous else \
            _reuse.empty(x.shape, dtype=kdtype)
        Hp, Wp = pshape[-2:]
        pflat = padded.reshape(-1, Hp * Wp)
        oflat = kout.reshape(-1, H * W)
        flip = 0x80 if kdtype == np.int8 else 0
        # Interruptible pieces (Ctrl-C is handled between them): whole planes,
        # or bands of one plane's output rows with the padded rows they read.
        # Pieces start at multiples of the kernel's work-unit band, so the
        # units, and every result, are those of one call.
        band_seconds = W * _HIST8_SECONDS_PER_PIXEL / nt
        for index, lo, hi in _threads.interruptible_pieces(
                (oflat.shape[0], H), band_seconds, min_rows=_k.BOX8_BAND * nt,
                align=_k.BOX8_BAND):
            if index:     # rows lo..hi of plane index[0]
                src = pflat[index[0], lo * Wp:(hi + kh - 1) * Wp]
                dst = oflat[index[0], lo * W:hi * W]
                planes, rows = 1, hi - lo
            else:         # planes lo..hi, whole
                src, dst, planes, rows = pflat[lo:hi], oflat[lo:hi], hi - lo, H
            _threads.ran_parallel(_k.box_hist8(
                src.reshape(-1).view(np.uint8), dst.reshape(-1).view(np.uint8), planes,
                rows + kh - 1, Wp, rows, W, kh, kw, r, flip, nt))
        return _finish(result, kout, image.dtype, dtype)
    if algo in (_k.ALGO_HIST8, _k.ALGO_HIST16):
        enter, leave = _enter_leave(footprint, pstrides)
        flip = 0x80 if kdtype == np.int8 else (0x8000 if kdtype == np.int16 else 0)
    else:
        enter = leave = np.zeros(1, dtype=np.intp)
        flip = 0
    if r < 0:
        r = 0  # only 'omit' windows can lack the rank; rtab handles them
    W = x.shape[-1]
    lead = x.shape[:-1] or (1,)
    plead = pstrides[:-1] if x.ndim > 1 else np.zeros(1, dtype=np.intp)
    kout = result if result.dtype == kdtype and result.flags.c_contiguous else \
        _reuse.empty(x.shape, dtype=kdtype)
    pbytes = padded.reshape(-1).view(np.uint8)
    obytes = kout.reshape(-1).view(np.uint8)
    plead = np.ascontiguousarray(plead, np.intp)
    enter = np.ascontiguousarray(enter, np.intp)
    leave = np.ascontiguousarray(leave, np.intp)
    # Interruptible pieces of output rows (Ctrl-C is handled between them):
    # a piece starts at its first row's padded window, so the kernel sees a
    # smaller image with the same strides.
    row_seconds = W * K * _SECONDS_PER_TAP / nt
    for index, lo, hi in _threads.interruptible_pieces(lead, row_seconds, min_rows=4 * nt):
        d = len(index)
        first = index + (lo,) + (0,) * (len(lead) - d - 1)
        pstart = int(np.dot(first, plead[:len(lead)])) if x.ndim > 1 else 0
        ostart = int(np.ravel_multi_index(first, lead)) * W
        rows = (hi - lo) * math.prod(lead[d + 1:])
        _threads.ran_parallel(_k.rank_rows(
            pbytes[pstart * itemsize:], obytes[ostart * itemsize:(ostart + rows * W) * itemsize],
            tcode, itemsize, np.array((hi - lo,) + tuple(lead[d + 1:]), dtype=np.intp),
            plead[d:], W, offs, algo, net, r, mode, rtab, enter, leave, flip, B, rs, nt,
            _threads.min_parallel_work()))
    return _finish(result, kout, image.dtype, dtype)


def _extreme(kind, value, K, r, nan_policy):
    """True when the rank rule picks the largest value of every window, False
    the smallest, None otherwise.  Plain windows use rank ``r`` of ``K``;
    under 'omit' a window of ``m`` non-NaN values must use rank 0 (or
    ``m - 1``) for every ``m``, which ``rank_table`` decides (rank 8 of a
    3x3 window is its maximum, but under 'omit' it does not exist in a
    window with a NaN)."""
    if K < 2 or r not in (0, K - 1):    # (K >= 2: some axis has extent > 1)
        return None
    if nan_policy == "omit":
        table = rank_table(kind, value, K)[1:]
        m = np.arange(1, K + 1)
        if (table == 0).all():
            return False
        if (table == m - 1).all():
            return True
        return None
    return r == K - 1


def _finish(result, kout, image_dtype, dtype):
    """Copy the kernel's output ``kout`` into ``result`` unless it is ``result``."""
    if kout is not result:
        if image_dtype.kind == "b":
            result[...] = kout.view(np.bool_) if kout.dtype.itemsize == 1 else kout.astype(bool)
        else:
            result[...] = kout.astype(dtype, copy=False)
    return result


def _full_box(footprint):
    """True for a footprint that is a full rectangle on its last two axes (1 elsewhere)."""
    fs = footprint.shape
    return len(fs) >= 2 and all(n == 1 for n in fs[:-2]) and bool(footprint.all())


@functools.lru_cache(maxsize=64)
def _direct_maps(H, W, h, boundary):
    """Row map (H + 2h source rows) and edge-column map (h left, h right) of
    the in-place medians, read-only (the same maps recur call after call)."""
    rmap = boundary_index(H, h, h, boundary).astype(np.intp)
    cmap = boundary_index(W, h, h, boundary)
    cmap = np.concatenate([cmap[:h], cmap[-h:]]).astype(np.intp)
    rmap.setflags(write=False)
    cmap.setflags(write=False)
    return rmap, cmap


@functools.lru_cache(maxsize=16)
def _fill_row(W, raw):
    """W copies of one element's bytes ``raw`` (the fill value), read-only and
    reused call after call (bytes, so -0.0 and 0.0 stay apart)."""
    return np.frombuffer(raw * W, dtype=np.uint8)


def _direct_median(x, footprint, kdtype, K, r):
    """``h`` (1 or 2) when the full 3x3 / 5x5 median can be read in place,
    else 0.

    The footprint is 3x3 or 5x5 on the last two axes (1 elsewhere), the rank
    is the median's, and rows are wide enough for whole SIMD blocks.  Float
    images qualify here; the caller runs those holding NaN (or filled with
    NaN) in a NaN mode.
    """
    fs = footprint.shape
    if not (K in (9, 25) and r == K // 2 and x.ndim >= 2
            and fs[-2:] in ((3, 3), (5, 5)) and K == footprint.size):
        return 0
    h = fs[-1] // 2
    return h if x.shape[-1] >= _k.DIRECT_MIN_WIDTH[h, kdtype.itemsize] else 0
