"""Out-of-core filtering of memory-mapped images in row bands.

When the image or ``out=`` is a :class:`numpy.memmap`, the 2-D filter runs
band by band: each band of output rows gathers exactly the image rows its
windows read (``_halo``: rows from the other end of the image for
``boundary='wrap'``), pads them explicitly, filters the patch in ``'valid'``
mode and writes the rows into ``out``.  With ``method='direct'`` the
result is identical to the in-memory call (other methods agree to
rounding).  A 'valid' call whose kernel outgrows the image along an axis
is not banded (its output is tiny or refused).  After each band, the pages of the mappings it touched are
handed back to the operating system (``madvise(MADV_DONTNEED)`` on shared
mappings; the data stay in the file and the page cache), so the process's
resident memory stays bounded by a few bands instead of growing to the
file sizes.
"""

import mmap

import numpy as np

from imfilt._geometry import check_out, dilated_span, mode_pads, output_length
from imfilt._halo import block_reads, gather_patch, plan_axis
from imfilt._kernels import _reuse
from imfilt._validation import as_fillvalue, result_dtypes

__all__ = ["BAND_BYTES", "wanted", "filter_in_bands"]

#: Target size in bytes of one band's padded input patch (compute dtype).
#: Peak memory added by a banded call is about 3 bands (patch, band result,
#: kernel scratch), about 8 with ``nan_policy='omit'``.
BAND_BYTES = 32 * 2**20


def wanted(image, kernel, out, axes):
    """True when the call should run in row bands."""
    if not (isinstance(image, np.memmap) or isinstance(out, np.memmap)):
        return False
    if np.ndim(image) != 2 or np.ndim(kernel) != 2 or axes not in (None, (0, 1), [0, 1], (-2, -1)):
        return False
    image = np.asarray(image) if not isinstance(image, np.ndarray) else image
    return image.nbytes > BAND_BYTES and 0 not in image.shape


class _Releaser:
    """Give the pages of rows of a shared memmap back to the OS (best effort)."""

    def __init__(self, arr):
        self.mm = None
        base = arr
        while base is not None and not isinstance(getattr(base, "_mmap", None), mmap.mmap):
            base = getattr(base, "base", None)
        mm = getattr(arr, "_mmap", None) or (getattr(base, "_mmap", None) if base is not None else None)
        if (not isinstance(mm, mmap.mmap) or getattr(arr, "mode", "c") == "c"
                or not hasattr(mm, "madvise") or not hasattr(mmap, "MADV_DONTNEED")):
            return
        try:
            self.start = np.frombuffer(mm, dtype=np.uint8).__array_interface__["data"][0]
        except (TypeError, ValueError, BufferError):
            return
        self.mm, self.arr, self.size = mm, arr, len(mm)

    def rows(self, r0, r1):
        if self.mm is None or r1 <= r0:
            return
        arr = self.arr
        first = arr.__array_interface__["data"][0] + r0 * arr.strides[0]
        last = first + (r1 - r0 - 1) * arr.strides[0] + arr.shape[1] * arr.itemsize
        page = mmap.PAGESIZE
        lo = max(0, (first - self.start) // page * page)
        hi = min(self.size, last - self.start)
        if hi > lo:
            try:
                self.mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
            except (OSError, ValueError):
                self.mm = None


def filter_in_bands(valid_call, image, kernel, mode, boundary, fillvalue, dtype, flip,
                    stride, dilation, out):
    """Run ``valid_call(patch, out_rows)`` (the filter in 'valid' mode) band by band.

    ``mode`` and ``boundary`` are canonical names and ``stride``, ``dilation``
    pairs of ints (the caller parsed them); ``valid_call`` is the caller's
    filter bound to its parsed arguments, so nothing is validated per band.
    """
    kernel = np.asarray(kernel)
    compute, out_dtype = result_dtypes(image.dtype, kernel.dtype, dtype)
    fill = as_fillvalue(fillvalue, compute)
    (s0, s1), (d0, d1) = stride, dilation
    n0, n1 = image.shape
    K0, K1 = dilated_span(kernel.shape[0], d0), dilated_span(kernel.shape[1], d1)
    (rb, ra), (cb, ca) = mode_pads(mode, K0, flip), mode_pads(mode, K1, flip)
    o0, o1 = output_length(n0, rb, ra, K0, s0), output_length(n1, cb, ca, K1, s1)
    if out is None:
        out = _reuse.empty((o0, o1), dtype=out_dtype)
    else:
        check_out(out, (o0, o1), out_dtype, [("image", image), ("kernel", kernel)])
    if o0 == 0 or o1 == 0:
        return out
    patch_dtype = compute
    if compute.kind == "c" and image.dtype.kind != "c" and not isinstance(fill, complex):
        patch_dtype = np.dtype(np.float32 if compute == np.complex64 else np.float64)
    P1 = (o1 - 1) * s1 + K1
    row_bytes = P1 * np.dtype(compute).itemsize
    rows_per_band = max(1, (BAND_BYTES // row_bytes - K0) // s0 + 1)
    # A kernel taller than a band: bands of about its height, so that the
    # rows every band reads again (K0 - s0 of them) cost at most as much
    # as the band's own (one-row bands re-read K0 rows per output row).
    rows_per_band = max(rows_per_band, -(-K0 // s0))
    edges = np.unique(np.r_[np.arange(0, o0, rows_per_band), o0])
    rplan = plan_axis(n0, rb, ra, K0, s0, boundary, out_bounds=edges)
    cplan = plan_axis(n1, cb, ca, K1, s1, boundary, out_bounds=np.array([0, o1]))
    cols = block_reads(cplan.reads(0), [0, n1])
    rel_in, rel_out = _Releaser(image), _Releaser(out)
    for i in range(len(edges) - 1):
        reads = rplan.reads(i)
        rows = block_reads(reads, [0, n0])
        patch = gather_patch(lambda a, b: image, rows, cols, (reads.size, P1), fill, patch_dtype)
        r0, r1 = int(edges[i]), int(edges[i + 1])
        # The band runs in memory: its rows of a memmap ``out`` go as a plain
        # array, so a band larger than BAND_BYTES (one very long row) is not
        # split into bands of itself again.
        valid_call(patch, np.asarray(out[r0:r1]))
        del patch
        used = reads[reads >= 0]
        if used.size:
            rel_in.rows(int(used.min()), int(used.max()) + 1)
        rel_out.rows(r0, r1)
    return out
