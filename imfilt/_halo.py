"""Exact halos: which image samples an output block reads, and gathering them.

The in-memory filters read, for output index ``i`` of an axis, the padded
positions ``i*s .. i*s + K - 1`` (``K`` the dilated kernel span, ``s`` the
stride) of the image extended by ``boundary`` (``boundary_index``: numpy.pad
source indices, -1 = fill).  A block of outputs ``[o0, o1)`` therefore reads
padded positions ``[o0*s, (o1-1)*s + K)``; mapping those through
``boundary_index`` gives the image rows/columns to gather, wherever they are
(the opposite side of the image for ``wrap``, folded repeatedly for kernels
larger than the image).  The gathered *patch* is the explicitly padded
block, so running the filter on it in ``'valid'`` mode reproduces the
in-memory result sample for sample.

Both the Dask front end (:mod:`imfilt.dask`) and the banded memmap path use
this module: an axis plan is computed once per axis, and ``gather`` builds a
patch from whatever storage holds the image pieces.
"""

from dataclasses import dataclass

import numpy as np

from imfilt._geometry import output_length
from imfilt._modes import boundary_index

__all__ = ["AxisPlan", "plan_axis", "block_reads", "gather_patch"]


def _as_index(values):
    """A slice when ``values`` is an arithmetic run with step +-1, else the array."""
    values = np.asarray(values, dtype=np.intp)
    if values.size == 1:
        v = int(values[0])
        return slice(v, v + 1)
    step = int(values[1] - values[0])
    if step in (1, -1) and np.all(np.diff(values) == step):
        start, last = int(values[0]), int(values[-1])
        stop = last + step
        return slice(start, None if stop < 0 else stop, step)
    return values


@dataclass
class AxisPlan:
    """How one spatial axis of the output is computed from the image.

    ``out_bounds`` are the output block edges ``[0, ..., o]``; ``padmap`` is
    the source index (-1 = fill) of every padded position; ``K`` and ``s``
    the kernel span and stride.
    """

    n: int
    before: int
    after: int
    K: int
    s: int
    out_len: int
    padmap: np.ndarray
    out_bounds: np.ndarray

    def reads(self, b):
        """Source indices (-1 = fill) read by output block ``b``."""
        o0, o1 = int(self.out_bounds[b]), int(self.out_bounds[b + 1])
        return self.padmap[o0 * self.s:(o1 - 1) * self.s + self.K]

    @property
    def out_chunks(self):
        return tuple(int(c) for c in np.diff(self.out_bounds))


def plan_axis(n, before, after, K, s, boundary, in_bounds=None, out_bounds=None):
    """Plan one axis: output length, block edges and the padded index map.

    ``in_bounds`` (the image's chunk edges ``[0, ..., n]``) places each output
    block edge at the output whose window is centred on the input edge, so
    ``'same'`` with stride 1 keeps the input chunks.  ``out_bounds`` gives the
    output edges explicitly instead.
    """
    o = output_length(n, before, after, K, s)
    padmap = boundary_index(n, before, after, boundary)
    if out_bounds is None:
        inner = []
        if in_bounds is not None:
            centre = (K - 1) // 2 - before
            for b in np.asarray(in_bounds)[1:-1]:
                inner.append(-(-(int(b) - centre) // s))   # ceil((b - centre) / s)
        out_bounds = np.unique(np.clip(np.array([0, *inner, o], dtype=np.intp), 0, o))
        if out_bounds.size == 1:                           # o == 0: one empty block
            out_bounds = np.array([0, 0], dtype=np.intp)
    return AxisPlan(n, before, after, K, s, o, padmap, np.asarray(out_bounds, dtype=np.intp))


def block_reads(reads, in_bounds):
    """Split the source indices of one block over the image's chunks.

    Returns ``(fill, parts)``: ``fill`` indexes the patch positions holding
    the fill value (or None), and ``parts`` is a list of
    ``(chunk, patch_index, local_index)`` with slices where the run is
    contiguous (the common case: a plain copy).
    """
    reads = np.asarray(reads, dtype=np.intp)
    in_bounds = np.asarray(in_bounds, dtype=np.intp)
    positions = np.arange(reads.size, dtype=np.intp)
    fill_pos = positions[reads < 0]
    valid = reads >= 0
    chunk_of = np.searchsorted(in_bounds, reads, side="right") - 1
    parts = []
    for c in np.unique(chunk_of[valid]):
        sel = valid & (chunk_of == c)
        pos = positions[sel]
        local = reads[sel] - in_bounds[c]
        # Split into runs that are contiguous in the patch and step by +-1 in
        # the source, so each copy is a slice (wrap/symm give a few such runs).
        cuts = []
        if pos.size > 1:
            dp, dl = np.diff(pos), np.diff(local)
            brk = (dp != 1) | (np.abs(dl) != 1)
            brk[1:] |= dl[1:] != dl[:-1]
            cuts = np.nonzero(brk)[0] + 1
        for p, l in zip(np.split(pos, cuts), np.split(local, cuts)):
            parts.append((int(c), _as_index(p), _as_index(l)))
    return (_as_index(fill_pos) if fill_pos.size else None), parts


def _pair_index(r, c):
    """Index the last two axes by ``r`` and ``c`` (an outer product if both are arrays)."""
    if isinstance(r, slice) or isinstance(c, slice):
        return (Ellipsis, r, c)
    return (Ellipsis, r[:, None], c)


def gather_patch(get_block, rows, cols, shape, fill, dtype):
    """Assemble the explicitly padded patch of one output block.

    ``rows``/``cols`` are ``block_reads`` results for the two spatial axes,
    ``shape`` the patch shape (leading axes first), ``get_block(a, b)``
    returns image chunk ``(a, b)``, ``fill`` the value of fill positions.
    """
    (rfill, rparts), (cfill, cparts) = rows, cols
    patch = np.empty(shape, dtype=dtype)
    if rfill is not None:
        patch[_pair_index(rfill, slice(None))] = fill
    if cfill is not None:
        patch[_pair_index(slice(None), cfill)] = fill
    for a, rp, rl in rparts:
        for b, cp, cl in cparts:
            patch[_pair_index(rp, cp)] = get_block(a, b)[_pair_index(rl, cl)]
    return patch
