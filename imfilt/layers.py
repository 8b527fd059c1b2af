"""Multi-channel convolution layers with PyTorch's semantics, on NumPy arrays.

:func:`conv2d` is the deep-learning "convolution": a **cross-correlation**
(no kernel flip), summed over the input channels of each group, plus a bias.
It is :func:`imfilt.correlate`, not :func:`imfilt.convolve`, that it
generalises.  :func:`conv_transpose2d` is its adjoint (the "deconvolution"
or fractionally strided convolution of FCNs): with stride ``s`` it inserts
``s - 1`` zeros between input samples, convolves fully with the kernel and
crops ``padding`` from each side, so ``<conv2d(x, w), y> == <x,
conv_transpose2d(y, w)>`` for matching stride, padding and dilation.
"""

import numpy as np

from imfilt._kernels import _layers, _reuse
from imfilt._modes import boundary_index, boundary_source, canonical_boundary
from imfilt._geometry import colour_error, looks_like_colour
from imfilt._docs import docfiller
from imfilt._geometry import (as_torch_pair, channel_axis_index, dilated_span, output_hw,
                              output_length, same_padding)
from imfilt._threads import (check_fits_in_memory, interruptible_slices, min_parallel_work,
                             ran_parallel, resolve_workers)
from imfilt._validation import as_array, as_int, is_integer_like, result_dtypes

__all__ = ["conv2d", "conv_transpose2d"]

# conv_transpose2d uses the direct kernel below this many channel pairs per
# group (1 thread, k4 s2: direct 2x faster at 1 pair, even at 8, the implicit
# GEMM 1.4x faster at 15 and 3x at 64).
_DIRECT_PAIRS = 6

def _compute_dtype(x, weight, func):
    compute, _ = result_dtypes(x.dtype, weight.dtype)
    return compute


def _complex_layer(func, x, weight, bias, kwargs):
    """``func`` on complex input or weights, from real passes.

    ``(xr + i xi) * (wr + i wi) = (xr wr - xi wi) + i (xr wi + xi wr)``,
    each term one real call of ``func`` (no conjugation, as in PyTorch);
    every product is formed, so NaN and inf propagate as per-tap products.
    """
    compute = _compute_dtype(x, weight, func.__name__)
    parts_x = [(x.real, 1)] + ([(x.imag, 1j)] if x.dtype.kind == "c" else [])
    parts_w = [(weight.real, 1)] + ([(weight.imag, 1j)] if weight.dtype.kind == "c" else [])
    out = None
    for xp, cx in parts_x:
        for wp, cw in parts_w:
            term = func(xp, wp, None, **kwargs).astype(compute) * (cx * cw)
            out = term if out is None else out + term
    b = _bias(bias, out.shape[-3] if out.ndim >= 3 else 1, compute)
    if out.ndim >= 3:
        out += b[:, None, None]
    else:
        out += b[0]
    return out


def _as_batch(x, weight, func, weight_layout):
    """Bring x to (N, C, H, W) and weight to 4-D; return how to undo it."""
    if x.ndim == 2 and weight.ndim == 2:
        return x[None, None], weight[None, None], 2
    if weight.ndim == 2:
        raise ValueError(
            f"{func}: a 2-D weight (kh, kw) needs a 2-D image; x has shape {x.shape}. Use "
            f"a 4-D weight {weight_layout} for channel images"
        )
    if weight.ndim != 4:
        raise ValueError(
            f"{func}: weight must have shape {weight_layout} (or (kh, kw) with a 2-D "
            f"image); got shape {weight.shape}"
        )
    if x.ndim == 3:
        return x[None], weight, 3
    if x.ndim == 4:
        return x, weight, 4
    raise ValueError(
        f"{func}: x must have shape (N, C, H, W) or (C, H, W) (or (H, W) with a 2-D "
        f"weight); got shape {x.shape}"
    )


def _check_groups(groups, func, c_in, k_out=None):
    """Validate ``groups``: a positive int dividing the channel counts."""
    groups = as_int("groups", groups, low=1, use="a positive int")
    if c_in % groups or (k_out is not None and k_out % groups):
        what = (f"both the input channels ({c_in}) and the output channels ({k_out})"
                if k_out is not None else f"the input channels ({c_in})")
        raise ValueError(f"{func}: groups={groups} must divide {what}")
    return groups


def _bias(bias, k_out, compute):
    if bias is None:
        return np.zeros(k_out, dtype=compute)
    b = as_array(bias, "bias")
    if b.dtype.kind == "c" and compute.kind != "c":
        raise TypeError(f"bias has dtype {b.dtype}; a complex bias needs complex x or weight")
    if b.shape != (k_out,):
        raise ValueError(
            f"bias has shape {b.shape}; it must be one value per output channel, shape ({k_out},)"
        )
    return np.ascontiguousarray(b, dtype=compute)


# Budgets of one task's buffers (bytes, per thread): its source rows and the
# products it computes before they are stored (together meant to stay in a
# 1 MiB L2; 512 KiB of products measured 7% faster than 256 KiB on
# (8,256,56^2) -> 256, the narrow rows that go through the product buffer).
_ROWS_BYTES = 1 << 19
_PRODUCT_BYTES = 1 << 19

#: Estimated seconds per multiply-add of the convolution kernel on one thread
#: (the first guess when a long call is cut into interruptible pieces).
_SECONDS_PER_MAC = 2e-11


def _conv_rows(x, wt, bias, out, rows, orow, colmap, offs, cstep, Q, lin, ubase,
               ocol0, ostep, nthreads):
    """Run the implicit-GEMM kernel on every (image, group) of one phase.

    ``x`` (N, C, H, W), ``wt`` (groups, Kd, Kg) with ``kd = (c * Ty + jy) * Tx + jx``,
    ``out`` (N, K, Ho, Wo); output row ``r`` is ``orow[r]``.  Tap ``(jy, jx)``
    of output pixel ``(r, q)`` reads source row ``rows[1][r + rows[2][jy]]``
    when ``rows = ("shift", ext, roffs)`` (any output rows can share a task:
    each source row is copied once per task), or ``rows[1][r, jy]`` when
    ``rows = ("table", rowsrc)`` (one output row per task), and source column
    ``colmap[q * cstep + offs[jx]]``; -1 reads zero.  ``colmap[u] == u + ubase``
    on ``lin = (lo, hi)``.  The tasks depend on the shapes only, never on the
    thread count.
    """
    groups, Kd, Kg = wt.shape
    # Interruptible pieces of output rows (Ctrl-C is handled between them);
    # a piece is the same call on fewer output rows (each output's sum does
    # not depend on how the rows are grouped into tasks).
    per_row = x.shape[0] * groups * Q * Kg * Kd * _SECONDS_PER_MAC / max(1, nthreads)
    for _, _, r0, r1 in interruptible_slices(1, orow.size, per_row, min_rows=4 * nthreads):
        part = (("shift", rows[1][r0:], rows[2]) if rows[0] == "shift"
                else ("table", rows[1][r0:r1]))
        _conv_rows_once(x, wt, bias, out, part, orow[r0:r1], colmap, offs, cstep, Q, lin,
                        ubase, ocol0, ostep, nthreads)


def _conv_rows_once(x, wt, bias, out, rows, orow, colmap, offs, cstep, Q, lin, ubase,
                    ocol0, ostep, nthreads):
    """One call of the kernel on the output rows ``orow`` (see :func:`_conv_rows`)."""
    groups, Kd, Kg = wt.shape
    Cg = x.shape[1] // groups
    R = orow.size
    isz = x.dtype.itemsize
    offs = np.asarray(offs, dtype=np.intp)
    offmax = int(offs.max())
    if rows[0] == "shift":
        roffs = np.asarray(rows[2], dtype=np.intp)
        maxroff = int(roffs.max())
    else:
        roffs = np.arange(rows[1].shape[1], dtype=np.intp)
        maxroff = roffs.size - 1
    # Columns per task: all of a row unless its source rows outgrow the budget.
    per_row = Cg * cstep * isz
    budget = max(32, (_ROWS_BYTES // max(1, per_row * (maxroff + 1)) - offmax // cstep) // 32 * 32)
    nch = -(-Q // budget)
    per = -(-Q // nch)
    tile = min(Q, -(-per // 32) * 32)
    Mp = -(-((tile - 1) * cstep + offmax + 1) // cstep)
    nr, flat = 1, False
    lanes = 64 // isz
    if rows[0] == "shift" and nch == 1 and Kg * Q * isz <= _PRODUCT_BYTES:
        # Several output rows per task: fewer copies of the source rows they
        # share.  Narrow rows (vectors less than 95% used) run back to back
        # ("flat") through a product buffer; others are stored in place.
        flat = Q < 0.95 * (-(-Q // lanes) * lanes)
        by_rows = _ROWS_BYTES // max(1, per_row * Mp) - maxroff
        by_product = (R if not (flat or ostep != 1) else
                      _PRODUCT_BYTES // max(1, Kg * (Mp if flat else Q) * isz))
        # At least ~32 tasks in all for balance (a count fixed by the shapes).
        by_tasks = -(-R * x.shape[0] * groups // 32)
        nr = int(max(1, min(R, 32, by_rows, by_product, by_tasks)))
        flat = flat and nr > 1
    if rows[0] == "shift":
        ext = rows[1]
        NI = -(-R // nr)
        NV = nr + maxroff
        v = np.arange(NI)[:, None] * nr + np.arange(NV)[None, :]
        rowtab = np.where(v < ext.size, ext[np.minimum(v, ext.size - 1)], -1).astype(np.intp)
    else:
        rowtab = np.ascontiguousarray(rows[1], dtype=np.intp)
        NV = rowtab.shape[1]
    koff = ((((np.arange(Cg)[:, None, None] * cstep + (offs % cstep)[None, None, :]) * NV
              + roffs[None, :, None]) * Mp) + (offs // cstep)[None, None, :]).astype(np.intp)
    ntasks = x.shape[0] * groups * rowtab.shape[0] * nch
    nthreads = int(max(1, min(nthreads, ntasks)))
    product = Kg * ((nr - 1) * Mp + tile) if flat else 0 if ostep == 1 else Kg * nr * tile
    scratch = np.empty((nthreads, Cg * cstep * NV * Mp + product), dtype=x.dtype)
    opitch = int(orow[1] - orow[0]) * out.shape[3] if R > 1 else 0
    ran_parallel(_layers.conv_rows(x, wt, bias, out, rowtab, orow, colmap, koff.ravel(), nr,
                                   flat, opitch, Q, cstep, offmax, lin[0], lin[1], ubase, ocol0, ostep,
                                   x.dtype.type(0), scratch, tile, Mp, nthreads,
                                   min_parallel_work()))


#: Winograd's F(2x2, 3x3) computes a 3 x 3, stride 1, undilated convolution
#: with 16 matrix products of the transformed tiles instead of 9 x 4 taps per
#: 2 x 2 outputs: 2.25x fewer multiplications, plus the transforms.  It is
#: used from this many input and output channels per group, and from
#: ``WINOGRAD_MIN_PRODUCT`` input x output channels.  Measured on AVX-512,
#: 2 threads, time against the direct method: 64 -> 32 channels at 256^2
#: 0.97, 32 -> 64 0.90, 64 -> 64 0.84, 128 -> 128 at 128^2 0.75, 256 -> 256
#: at 56^2 0.61; below, the transforms cost more than the products save
#: (32 -> 32 at 512^2 1.18, 16 -> 32 1.33, 16 -> 16 1.42).
WINOGRAD_MIN_CHANNELS = 32
WINOGRAD_MIN_PRODUCT = 64 * 32

#: ... and from this many tasks (an image's tile rows in blocks, per image
#: and group): fewer would leave threads idle.  A rule on the shapes only,
#: so that the method, hence the result, never depends on the thread count.
WINOGRAD_MIN_TASKS = 4

#: Fewest and most tiles (2 x 2 outputs) per Winograd task, and how many
#: times that one row of tiles may hold (``_winograd_blocks``; measured
#: against direct: 64 -> 64 channels 0.77 at 256 wide, 0.97 at 512, 1.05 at
#: 1024, 2.1 at 8192; 128 -> 128 0.74 at 512 wide, 0.81 at 1024).
_WINOGRAD_TASK_TILES = (64, 512)
_WINOGRAD_ROW_FACTOR = 4

# G of F(2x2, 3x3), [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]:
# the filters are transformed as G w G^T (``_winograd``).


def _winograd_blocks(Ho, Wo, Cg, Kg):
    """Tile rows per Winograd task for an Ho x Wo output: about
    ``2 Cg Kg / (Cg + Kg)`` tiles each (within ``_WINOGRAD_TASK_TILES``), in
    equal blocks; returns ``range(0, tile rows, step)`` (the tasks' first
    tile rows), empty when one row of tiles is more than
    ``_WINOGRAD_ROW_FACTOR`` times that (a task holds whole rows of tiles:
    on wider images its tiles leave the cache and the direct method is as
    fast).  Each of a task's 16 products reads a position's ``Cg x Kg``
    transformed weights once for all its tiles and its ``(Cg + Kg) x
    tiles`` transformed tiles and products: at that many tiles the tiles
    weigh as much as the weights, with few channels the task stays in the
    core's L2 cache, with many the weights are read seldom."""
    Ht, Wt = -(-Ho // 2), -(-Wo // 2)
    lo, hi = _WINOGRAD_TASK_TILES
    tiles = min(hi, max(lo, 2 * Cg * Kg // max(1, Cg + Kg)))
    if Wt > _WINOGRAD_ROW_FACTOR * tiles:
        return range(0)
    RT = int(min(Ht, -(-tiles // Wt)))
    RT = -(-Ht // -(-Ht // RT))
    return range(0, Ht, RT)


def _winograd(xc, wb, b, out, rowmap, colmap, pl, groups, RT, nthreads):
    """3 x 3 stride-1 conv2d by Winograd's F(2x2, 3x3) into ``out``, in
    tasks of ``RT`` tile rows (``_winograd_blocks``).

    Returns False, with ``out`` incomplete, when an output came out inf or
    NaN (the transforms mix the four outputs of a tile, so an inf or NaN in
    the input, or a sum past the dtype's range, would not give the direct
    sum's IEEE pattern): the caller then computes directly.  Each output is
    computed in one fixed order, whatever the thread count.
    """
    N, C, H, W = xc.shape
    K, Cg = wb.shape[:2]
    Kg = K // groups
    Ho, Wo = out.shape[2:]
    Ht, Wt = -(-Ho // 2), -(-Wo // 2)
    # vt[g * 16 + p * 4 + q, c, k] = (G w[g Kg + k, c] G^T)[p, q], in the compute
    # dtype, with G's rows written out (no BLAS: no threads of its own, and
    # the same operations on every machine).
    taps = np.ascontiguousarray(wb.reshape(groups, Kg, Cg, 3, 3).transpose(3, 4, 0, 2, 1),
                                dtype=xc.dtype)                      # [j, l, g, c, k]
    half = xc.dtype.type(0.5)

    def g_rows(t0, t1, t2):
        return (t0, (t0 + t1 + t2) * half, (t0 - t1 + t2) * half, t2)

    cols = g_rows(taps[0], taps[1], taps[2])                         # [p][l, g, c, k]
    vt = np.stack([q for col in cols for q in g_rows(col[0], col[1], col[2])],
                  axis=1).reshape(groups * 16, Cg, Kg)
    rowext = np.full(2 * Ht + 2, -1, dtype=np.intp)
    rowext[:min(rowmap.size, rowext.size)] = rowmap[:rowext.size]
    colext = np.full(2 * Wt + 2, -1, dtype=np.intp)
    colext[:min(colmap.size, colext.size)] = colmap[:colext.size]
    isz = xc.dtype.itemsize
    n2 = 2 * Wt + 2
    Mp = -(-(Wt + 1) // 16) * 16
    TBp = -(-(RT * Wt) // 16) * 16
    ntasks = N * groups * -(-Ht // RT)
    nthreads = int(max(1, min(nthreads, ntasks)))
    line = 64 // isz
    scratch = _reuse.empty((nthreads, 2 * Cg * (2 * RT + 2) * Mp + 16 * ((Cg + Kg) * TBp + 2 * line)
                            + 8 * (Wt + 1)), dtype=xc.dtype)
    checks = np.zeros(nthreads, dtype=np.intc)
    per_row = N * groups * Wt * 16 * Cg * Kg * 2 * _SECONDS_PER_MAC / nthreads
    for _, _, i0, i1 in interruptible_slices(1, Ht, per_row, min_rows=4 * nthreads * RT):
        ran_parallel(_layers.winograd3x3(xc, vt, b, out, rowext, colext, pl, min(pl + W, n2),
                                         -pl, i0, i1, RT, scratch, checks, nthreads,
                                         min_parallel_work()))
        if checks.any():
            return False
    return True


@docfiller
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           boundary="fill", channel_axis=None, workers=None):
    """2-D multi-channel cross-correlation, as ``torch.nn.functional.conv2d``.

    ``out[n, k] = bias[k] + sum_c correlate(x[n, c], weight[k, c])`` over the
    input channels ``c`` of output channel ``k``'s group, sampled with
    ``stride`` and ``dilation``.  Like every deep-learning framework this is
    correlation (the kernel is **not** flipped; :func:`imfilt.convolve`
    flips, :func:`imfilt.correlate` does not).

    Parameters
    ----------
    x : array_like, shape (N, C, H, W) or (C, H, W)
        Input images (a 2-D ``(H, W)`` image is accepted with a 2-D weight).
    weight : array_like, shape (K, C / groups, kh, kw)
        Filters (or ``(kh, kw)`` with a 2-D image).
    bias : array_like, shape (K,), optional
        Added to each output channel.
    stride, dilation : int or (int, int), optional
        Step between output samples and spacing of the kernel taps.
    padding : int, (int, int), 'valid' or 'same', optional
        Rows/columns added on both sides.  ``'valid'`` is 0; ``'same'`` pads
        ``d (k - 1)`` in total (the odd one after, as PyTorch) so that the
        output has ``ceil(n / stride)`` samples; unlike PyTorch it also works
        with ``stride > 1`` (then the total is
        ``(ceil(n / s) - 1) s + d (k - 1) + 1 - n``, as TensorFlow).
    groups : int, optional
        Split the channels into ``groups`` independent convolutions
        (``groups=C`` is a depthwise convolution).
    boundary : str, optional
        What the padding holds: ``'fill'`` (zeros, default, PyTorch),
        ``'wrap'``, ``'symm'``, ``'reflect'`` or ``'edge'`` (see
        :func:`imfilt.correlate`; defined by :func:`numpy.pad`).
    channel_axis : int, optional
        The axis of ``x`` that holds the input channels when it is not the
        one before (H, W), e.g. ``-1`` for an ``(H, W, C)`` image; the
        result has its output channels on that axis.  A 3-D ``x`` whose last
        axis (of length 3 or 4) matches the weight's input channels while
        its first does not raises ``ValueError``: it looks like a colour
        image given channels last.
    %(workers)s

    Returns
    -------
    out : ndarray, shape (N, K, H_out, W_out) (or without N / 2-D like x)
        ``H_out = (H + 2 p - d (kh - 1) - 1) // s + 1``.  float32 stays
        float32 (even with a float64 weight), float64 stays float64, integer
        and bool inputs give float32/float64 as in :func:`imfilt.convolve`.

    Raises
    ------
    ValueError
        Shapes of ``x``, ``weight`` or ``bias`` that do not fit together
        (dimensions, input channels per group, one bias per output
        channel), an empty kernel, ``groups`` below 1 or not dividing the
        channel counts, a ``stride`` or ``dilation`` below 1, a negative
        ``padding`` or a string other than ``'same'`` and ``'valid'``, an
        input smaller than the dilated kernel (empty output), an unknown
        ``boundary``, a ``channel_axis`` out of range (or with a 2-D
        ``x``), a 3-D ``x`` that looks like a colour image given channels
        last, ``workers=0`` (or a negative count beyond the available
        cores), or an output larger than this machine's memory.
    TypeError
        A non-numeric ``x``, ``weight`` or ``bias``, a complex ``bias`` with
        real ``x`` and ``weight``, or a size, ``groups``, ``boundary``,
        axis or ``workers`` of the wrong type (``ParameterTypeError``,
        which is also a ``ValueError``).

    Notes
    -----
    Complex ``x`` or ``weight`` (real or complex ``bias``) give a complex
    result at the image's precision, computed from real passes without
    conjugating the weight, as PyTorch does.  Sizes given as one-element
    sequences (``padding=(1,)``) apply to both axes, as in PyTorch.

    Computed as an implicit matrix product (no im2col buffer): a task is a
    run of output pixels of one output row of one image and group; its
    source rows are copied once (padded by ``boundary``, split by column
    phase when ``stride > 1``) into a per-thread buffer that fits in L2, and
    a register-blocked AVX-512/AVX2 kernel multiplies the filters with
    shifted views of it.  The tasks depend on the shapes only and each
    output sums its taps in one fixed order, so the result is bit-identical
    for any ``workers``.  ``workers`` is the only thread count: no BLAS is
    called (SciPy's OpenBLAS, at its AVX2 level, measured slower than this
    kernel and would start threads of its own inside imfilt's; its results
    also change with its thread count).

    A 3 x 3 kernel with stride 1, no dilation and many channels (at least
    32 input and 32 output channels per group, 2048 input x output) on an
    image of at least 4 blocks of tile rows, none too wide for the cache,
    uses Winograd's F(2x2, 3x3) instead (as
    cuDNN and oneDNN can): each 4 x 4 input tile and each filter is
    transformed, 16 matrix products of the same kernel replace the 9 taps
    of 4 outputs (2.25x fewer multiplications), and the result is
    transformed back.  The sums are taken in another order, so the result
    differs from the direct one by rounding: within a few units of
    ``eps * max|x| * sum|weight|`` per output, like any reordering (the
    transforms only add, subtract and halve).  It is as reproducible: the
    same for any ``workers``.  When an output of the transform comes out
    inf or NaN (inf or NaN in ``x``, or sums past the dtype's range), the
    direct method computes the whole result instead, so such values give
    exactly the direct method's IEEE pattern.

    Examples
    --------
    A 3-channel image, two 2x2 filters: the first sums every channel, the
    second picks channel 1's top-left sample.

    >>> import numpy as np, imfilt
    >>> x = np.arange(27, dtype=np.float32).reshape(3, 3, 3)
    >>> w = np.zeros((2, 3, 2, 2), dtype=np.float32)
    >>> w[0] = 1
    >>> w[1, 1, 0, 0] = 1
    >>> imfilt.conv2d(x, w, bias=[0.5, 0])
    array([[[132.5, 144.5],
            [168.5, 180.5]],
    <BLANKLINE>
           [[  9. ,  10. ],
            [ 12. ,  13. ]]], dtype=float32)
    """
    xa = as_array(x, "x")
    wa = as_array(weight, "weight")
    if channel_axis is not None:
        c = channel_axis_index(channel_axis, xa.ndim)
        if xa.ndim not in (3, 4):
            raise ValueError(
                f"conv2d: channel_axis={channel_axis!r} needs x with shape (H, W, C) or "
                f"(N, H, W, C) (channels on any axis); got shape {xa.shape}"
            )
        res = conv2d(np.moveaxis(xa, c, -3), wa, bias, stride, padding, dilation, groups,
                     boundary=boundary, workers=workers)
        return np.moveaxis(res, -3, c)
    if (looks_like_colour(xa.shape) and wa.ndim == 4 and is_integer_like(groups) and groups >= 1
            and wa.shape[1] * groups not in (xa.shape[0],) and wa.shape[1] * groups == xa.shape[-1]):
        raise colour_error("conv2d", xa.shape, None, "x")
    if xa.dtype.kind == "c" or wa.dtype.kind == "c":
        return _complex_layer(conv2d, xa, wa, bias, dict(
            stride=stride, padding=padding, dilation=dilation, groups=groups,
            boundary=boundary, workers=workers))
    boundary = canonical_boundary(boundary)
    compute = _compute_dtype(xa, wa, "conv2d")
    xb, wb, ndim = _as_batch(xa, wa, "conv2d", "(K, C / groups, kh, kw)")
    N, C, H, W = xb.shape
    K, Cg, kh, kw = wb.shape
    groups = _check_groups(groups, "conv2d", C, K)
    if Cg * groups != C:
        raise ValueError(
            f"conv2d: weight has shape {wb.shape}, so it expects C / groups = {Cg} input "
            f"channels per group, but x has {C} channels and groups={groups} "
            f"({C // groups} per group)"
        )
    if kh == 0 or kw == 0:
        raise ValueError(f"conv2d: weight has an empty kernel, shape {wb.shape}")
    sh, sw = as_torch_pair("stride", stride, minimum=1)
    dh, dw = as_torch_pair("dilation", dilation, minimum=1)
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0), (0, 0))
        elif padding == "same":
            pads = (same_padding(H, kh, sh, dh), same_padding(W, kw, sw, dw))
        else:
            hint = padding.strip().lower()
            raise ValueError(
                f"padding={padding!r} is not valid; choose 'same', 'valid', an int or a "
                "pair of ints" + (f". Did you mean {hint!r}?" if hint in ("same", "valid")
                                  else "")
            )
    else:
        ph, pw = as_torch_pair("padding", padding, minimum=0)
        pads = ((ph, ph), (pw, pw))
    (pt, pb), (pl, pr) = pads
    Ho = output_length(H, pt, pb, dilated_span(kh, dh), sh)
    Wo = output_length(W, pl, pr, dilated_span(kw, dw), sw)
    if Ho < 1 or Wo < 1:
        raise ValueError(
            f"conv2d: the input ({H}x{W}) with padding {pads} is smaller than the "
            f"dilated kernel ({dh * (kh - 1) + 1}x{dw * (kw - 1) + 1}); the output would "
            "be empty. Pad more or use a smaller kernel"
        )
    if boundary != "fill" and (H == 0 or W == 0):
        raise ValueError(f"boundary={boundary!r} cannot extend an empty image")
    b = _bias(bias, K, compute)
    nthreads = resolve_workers(workers)

    check_fits_in_memory("padding", padding, "an output", (N, K, Ho, Wo), compute.itemsize)
    xc = np.ascontiguousarray(xb, dtype=compute)
    out = _reuse.empty((N, K, Ho, Wo), dtype=compute)
    Kg = K // groups
    if out.size and C == 0:
        out[...] = b[None, :, None, None]
    elif out.size:
        if _sparse_taps(Ho, kh, sh, dh):
            taps = (np.arange(Ho) * sh)[:, None] + np.arange(kh) * dh - pt
            rows = ("table", boundary_source(taps, H, boundary))
        elif sh == 1:
            rows = ("shift", boundary_index(H, pt, pb, boundary), np.arange(kh) * dh)
        else:
            rowmap = boundary_index(H, pt, pb, boundary)
            rows = ("table", rowmap[(np.arange(Ho) * sh)[:, None] + np.arange(kh) * dh])
        if _sparse_taps(Wo, kw, sw, dw):
            # One map entry per (output column, tap), read as a stride-kw row.
            taps = (np.arange(Wo) * sw)[:, None] + np.arange(kw) * dw - pl
            columns = (boundary_source(taps.ravel(), W, boundary), np.arange(kw), kw, (0, 0), 0)
        else:
            colmap = np.ascontiguousarray(boundary_index(W, pl, pr, boundary), dtype=np.intp)
            columns = (colmap, np.arange(kw) * dw, sw, (pl, min(pl + W, colmap.size)), -pl)
        blocks = _winograd_blocks(Ho, Wo, Cg, Kg)
        if rows[0] == "shift" and (kh, kw, sh, sw, dh, dw) == (3, 3, 1, 1, 1, 1) \
                and min(Cg, Kg) >= WINOGRAD_MIN_CHANNELS \
                and Cg * Kg >= WINOGRAD_MIN_PRODUCT and N * groups * len(blocks) >= WINOGRAD_MIN_TASKS \
                and np.isfinite(wb).all() \
                and _winograd(xc, wb, b, out, np.asarray(rows[1], dtype=np.intp), columns[0], pl,
                              groups, blocks.step, nthreads):
            return _restore(out, ndim)
        # (groups, Kd, Kg) as a transposed view: the kernel packs it as it is.
        wt = (np.ascontiguousarray(wb, dtype=compute)
              .reshape(groups, Kg, Cg * kh * kw).transpose(0, 2, 1))
        colmap, offs, cstep, lin, ubase = columns
        _conv_rows(xc, wt, b, out, rows, np.arange(Ho, dtype=np.intp), colmap, offs, cstep, Wo,
                   lin, ubase, 0, 1, nthreads)
    return _restore(out, ndim)


def _sparse_taps(n_out, k, stride, dilation):
    """Whether ``n_out`` outputs of a ``k``-tap window read so few of the
    padded positions they span (a stride far above the kernel, a huge
    dilation) that a map of every padded position -- and the kernel's
    phase-split copy of the rows it covers -- would cost more than a map of
    the taps themselves (memory that grows with the stride, not the output)."""
    # the kernel's copy holds ``stride`` phases of every covered position
    covered = n_out * stride + (k - 1) * dilation
    return covered > 8 * n_out * k + 4096


def _restore(out, ndim):
    """The (N, C, H, W) result back in the caller's layout: 2-D (H, W), 3-D (C, H, W) or 4-D."""
    return out[0, 0] if ndim == 2 else out[0] if ndim == 3 else out


def _transpose_size(n, k, s, p, d, op):
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


@docfiller
def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, output_size=None, workers=None):
    """2-D transposed convolution, as ``torch.nn.functional.conv_transpose2d``.

    The adjoint of :func:`conv2d` ("deconvolution", fractionally strided
    convolution): every input sample stamps the kernel, scaled by its value,
    onto the output at ``stride`` spacing, overlapping stamps add up:
    ``out[i * s + m * d - p] += x[i] * w[m]`` per axis.  Equivalently: insert
    ``s - 1`` zeros between input samples, take the **full** true
    convolution with the kernel (:func:`imfilt.convolve`), crop ``p`` from
    each side and extend by ``output_padding`` at the end.

    Parameters
    ----------
    x : array_like, shape (N, C_in, H, W), (C_in, H, W) or (H, W)
        Input; a 2-D image goes with a 2-D kernel (single channel).
    weight : array_like, shape (C_in, C_out / groups, kh, kw) or (kh, kw)
        Note the layout: the transpose of :func:`conv2d`'s.
    bias : array_like, shape (C_out,), optional
    stride, padding, dilation : int or (int, int), optional
        As in :func:`conv2d` (the ``stride``/``padding`` of the forward
        convolution this one is the adjoint of).
    output_padding : int or (int, int), optional
        Extra rows/columns at the end, ``< max(stride, dilation)``: resolves
        which input size the forward convolution had.
    groups : int, optional
        Independent groups of channels.
    output_size : (int, int) or longer sequence, optional
        Desired output height and width (the last two entries are used);
        ``output_padding`` is derived from it (then leave ``output_padding``
        at 0).  Must lie in ``[default, default + stride - 1]``.
    %(workers)s

    Returns
    -------
    out : ndarray, shape (N, C_out, H_out, W_out) (or like x)
        ``H_out = (H - 1) s - 2 p + d (kh - 1) + output_padding + 1``; dtype
        as :func:`conv2d`.

    Raises
    ------
    ValueError
        Shapes of ``x``, ``weight`` or ``bias`` that do not fit together
        (dimensions, ``weight.shape[0]`` other than the input channels, one
        bias per output channel), an empty kernel, ``groups`` below 1 or
        not dividing the input channels, a ``stride`` or ``dilation`` below
        1, a negative ``padding`` or ``output_padding``, an
        ``output_padding`` not below ``max(stride, dilation)``, an
        ``output_size`` outside its range or given with ``output_padding``,
        an empty or negative output size, ``workers=0`` (or a negative
        count beyond the available cores), or an output larger than this
        machine's memory.
    TypeError
        A non-numeric ``x``, ``weight`` or ``bias``, a complex ``bias`` with
        real ``x`` and ``weight``, an ``output_size`` that is not a sequence
        of at least two ints, or a size, ``groups`` or ``workers`` of the
        wrong type (``ParameterTypeError``, which is also a
        ``ValueError``).

    Notes
    -----
    Complex input and weights are accepted as in :func:`conv2d`.  An
    output size of zero or less raises ``ValueError`` (as PyTorch).

    Computed as a gather per output pixel, never as a scatter: output pixels
    with the same ``(oy % s, ox % s)`` use the same kernel taps, so each of
    these ``s * s`` phases is a plain correlation (the implicit matrix
    product of :func:`conv2d` when there are many channels, a direct row
    kernel otherwise).  Threads write disjoint outputs: no races, and results
    are bit-identical for any thread count.

    Examples
    --------
    A 2x2 input, a 4x4 kernel of ones and stride 3 give ``(2 - 1) * 3 + 4 = 7``;
    the stamps overlap in the middle row and column.

    >>> import numpy as np, imfilt
    >>> out = imfilt.conv_transpose2d(np.array([[1., 2], [3, 4]]), np.ones((4, 4)), stride=3)
    >>> out.shape
    (7, 7)
    >>> out[3]
    array([ 4.,  4.,  4., 10.,  6.,  6.,  6.])
    """
    xa = as_array(x, "x")
    wa = as_array(weight, "weight")
    if xa.dtype.kind == "c" or wa.dtype.kind == "c":
        return _complex_layer(conv_transpose2d, xa, wa, bias, dict(
            stride=stride, padding=padding, output_padding=output_padding, groups=groups,
            dilation=dilation, output_size=output_size, workers=workers))
    compute = _compute_dtype(xa, wa, "conv_transpose2d")
    xb, wb, ndim = _as_batch(xa, wa, "conv_transpose2d", "(C_in, C_out / groups, kh, kw)")
    N, C, H, W = xb.shape
    Cw, Kg, kh, kw = wb.shape
    if Cw != C:
        raise ValueError(
            f"conv_transpose2d: weight has shape {wb.shape} (C_in, C_out / groups, kh, kw) "
            f"but x has {C} channels; weight.shape[0] must equal C_in = {C}"
        )
    groups = _check_groups(groups, "conv_transpose2d", C)
    if kh == 0 or kw == 0:
        raise ValueError(f"conv_transpose2d: weight has an empty kernel, shape {wb.shape}")
    K = Kg * groups
    Cg = C // groups
    sh, sw = as_torch_pair("stride", stride, minimum=1)
    ph, pw = as_torch_pair("padding", padding, minimum=0)
    dh, dw = as_torch_pair("dilation", dilation, minimum=1)
    oph, opw = as_torch_pair("output_padding", output_padding, minimum=0)
    if output_size is not None:
        if (oph, opw) != (0, 0):
            raise ValueError(
                f"give output_size={output_size!r} or output_padding={output_padding!r}, "
                "not both: output_padding is derived from output_size"
            )
        size = output_hw(output_size)
        ops = []
        for n, k, s, p, d, want, axis in ((H, kh, sh, ph, dh, size[-2], "height"),
                                          (W, kw, sw, pw, dw, size[-1], "width")):
            lo = _transpose_size(n, k, s, p, d, 0)
            if not lo <= want <= lo + s - 1:
                raise ValueError(
                    f"output_size={output_size!r} is not valid: the {axis} must lie in "
                    f"[{lo}, {lo + s - 1}] for an input {axis} of {n} with kernel {k}, "
                    f"stride {s}, padding {p}, dilation {d}"
                )
            ops.append(want - lo)
        oph, opw = ops
    elif oph >= max(sh, dh) or opw >= max(sw, dw):
        raise ValueError(
            f"output_padding={output_padding!r} is not valid: it must be smaller than "
            f"max(stride, dilation) = ({max(sh, dh)}, {max(sw, dw)}) in each axis"
        )
    Ho = _transpose_size(H, kh, sh, ph, dh, oph)
    Wo = _transpose_size(W, kw, sw, pw, dw, opw)
    if Ho < 1 or Wo < 1:
        raise ValueError(
            f"conv_transpose2d: the output size would be {Ho}x{Wo}, empty or negative; "
            f"padding={padding!r} crops as much as the full result or more. Use less "
            "padding (PyTorch refuses this too)"
        )
    b = _bias(bias, K, compute)
    nthreads = resolve_workers(workers)
    xc = np.ascontiguousarray(xb, dtype=compute)
    wc = np.ascontiguousarray(wb, dtype=compute)
    # name whichever term makes the output large: (n - 1) * stride or the dilated kernel
    name, value = (("stride", stride) if max((H - 1) * sh, (W - 1) * sw)
                   >= max(dh * (kh - 1), dw * (kw - 1)) else ("dilation", dilation))
    check_fits_in_memory(name, value, "an output", (N, K, Ho, Wo), compute.itemsize)
    out = _reuse.empty((N, K, Ho, Wo), dtype=compute)
    if out.size == 0:
        pass
    elif C == 0 or H == 0 or W == 0:
        out[...] = b[None, :, None, None]
    elif Cg * Kg < _DIRECT_PAIRS or not np.isfinite(wc).all():
        # (The implicit GEMM reads zeros outside the input, where the
        # scatter has no term: an inf or NaN weight times such a zero would
        # make NaN where the result is finite.)
        tables = _column_phases(W, Wo, kw, sw, pw, dw)
        scratch = np.empty((nthreads, Wo), dtype=compute)
        ran_parallel(_layers.transpose_direct(xc, wc, b, out, groups, sh, sw, ph, dh, *tables,
                                              scratch, nthreads, min_parallel_work()))
    else:
        _transpose_gemm(xc, wc, b, out, groups, (sh, sw), (ph, pw), (dh, dw), nthreads)
    return _restore(out, ndim)


def _column_phases(W, Wo, kw, sw, pw, dw):
    """Per output-column phase ``rx = ox % sw``: the kernel columns that reach
    it, the source offset ``base`` (source column ``q + base`` for the
    phase's q-th output) and the valid range of q.  Arrays of shape
    (min(sw, Wo), kw): a stride above the output width has one phase per
    output column."""
    nrx = min(sw, Wo)
    nph = np.zeros(nrx, dtype=np.intp)
    pkx, pbase, plo, phi = (np.zeros((nrx, kw), dtype=np.intp) for _ in range(4))
    for rx in range(nrx):
        Q = len(range(rx, Wo, sw))
        for kx in range(kw):
            num = rx + pw - kx * dw
            if num % sw:
                continue
            base = num // sw
            j = nph[rx]
            pkx[rx, j], pbase[rx, j] = kx, base
            plo[rx, j] = max(0, -base)
            phi[rx, j] = max(plo[rx, j], min(Q, W - base))
            nph[rx] += 1
    return nph, pkx, pbase, plo, phi


def _transpose_gemm(x, w, b, out, groups, stride, padding, dilation, nthreads):
    """Transposed convolution as ``s * s`` implicit-GEMM phases (see ``_conv_rows``)."""
    N, C, H, W = x.shape
    _, Kg, kh, kw = w.shape
    Ho, Wo = out.shape[-2:]
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    Cg = C // groups
    for ry in range(min(sh, Ho)):
        kys = [ky for ky in range(kh) if (ry + ph - ky * dh) % sh == 0]
        orow = np.arange(ry, Ho, sh, dtype=np.intp)
        # Phase output row r of tap ky reads input row r + rbase (as columns below).
        rbase = np.array([(ry + ph - ky * dh) // sh for ky in kys], dtype=np.intp)
        rmin = int(rbase.min()) if kys else 0
        rraw = np.arange(orow.size + (int(rbase.max()) - rmin if kys else 0), dtype=np.intp) + rmin
        rows = ("shift", np.where((rraw >= 0) & (rraw < H), rraw, -1), rbase - rmin)
        for rx in range(min(sw, Wo)):
            kxs = [kx for kx in range(kw) if (rx + pw - kx * dw) % sw == 0]
            if not kys or not kxs:
                out[:, :, ry::sh, rx::sw] = b[None, :, None, None]
                continue
            Q = len(range(rx, Wo, sw))
            # Phase output q of tap kx reads input column q + cbase.
            cbase = np.array([(rx + pw - kx * dw) // sw for kx in kxs], dtype=np.intp)
            cmin = int(cbase.min())
            raw = np.arange(Q + int(cbase.max()) - cmin, dtype=np.intp) + cmin
            colmap = np.where((raw >= 0) & (raw < W), raw, -1).astype(np.intp)
            wg = w[:, :, kys][:, :, :, kxs].reshape((groups, Cg, Kg, len(kys), len(kxs)))
            wt = np.ascontiguousarray(wg.transpose(0, 1, 3, 4, 2)).reshape(groups, -1, Kg)
            _conv_rows(x, wt, b, out, rows, orow, colmap, cbase - cmin, 1, Q,
                       (max(0, -cmin), max(0, min(colmap.size, W - cmin))), cmin, rx, sw,
                       nthreads)
