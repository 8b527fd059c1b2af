"""The one vocabulary of imfilt: output modes and boundary rules.

Every public function, the CLI and the error messages read the names from
here, so the accepted spellings and their meaning cannot drift apart.
Boundary rules are defined by :func:`numpy.pad` (see ``boundary_index``).
"""

import functools

import numpy as np

from imfilt._validation import check_choice, choice_error

__all__ = [
    "MODES",
    "BOUNDARIES",
    "BOUNDARY_ALIASES",
    "NUMPY_PAD_MODE",
    "NDIMAGE_MODE",
    "canonical_mode",
    "canonical_boundary",
    "boundary_index",
    "boundary_source",
    "choice_error",
]

#: Output size modes, as in ``scipy.signal.convolve2d``.
MODES = ("full", "same", "valid")

#: Canonical boundary names, in documentation order.
BOUNDARIES = ("fill", "wrap", "symm", "reflect", "edge")

#: Every accepted spelling -> canonical name.
BOUNDARY_ALIASES = {
    "fill": "fill",
    "constant": "fill",
    "wrap": "wrap",
    "circular": "wrap",
    "symm": "symm",
    "symmetric": "symm",
    "reflect": "reflect",
    "edge": "edge",
    "nearest": "edge",
}

#: Canonical boundary -> the numpy.pad mode that defines it.
NUMPY_PAD_MODE = {
    "fill": "constant",
    "wrap": "wrap",
    "symm": "symmetric",
    "reflect": "reflect",
    "edge": "edge",
}

#: Canonical boundary -> the ``scipy.ndimage`` mode of the same rule (used
#: with ``cval=fillvalue`` for ``'fill'``).
NDIMAGE_MODE = {
    "fill": "constant",
    "wrap": "wrap",
    "symm": "reflect",
    "reflect": "mirror",
    "edge": "nearest",
}

# Names users bring from other libraries that mean something else here, or
# that have a different name in imfilt: suggested in the error message.
_BOUNDARY_HINTS = {
    "mirror": "'reflect' (scipy.ndimage's 'mirror' is imfilt's 'reflect')",
    "replicate": "'edge' (OpenCV/PyTorch 'replicate' is imfilt's 'edge')",
    "reflect101": "'reflect'",
    "reflect_101": "'reflect'",
    "periodic": "'wrap'",
    "zero": "'fill' with fillvalue=0",
    "zeros": "'fill' with fillvalue=0",
}


def canonical_mode(mode, param="mode"):
    """Validate an output-size mode (``'full'``, ``'same'``, ``'valid'``) and return it."""
    return check_choice(param, mode, MODES)


def canonical_boundary(boundary, param="boundary"):
    """Validate a boundary name or alias and return the canonical name."""
    return check_choice(param, boundary, BOUNDARIES, aliases=BOUNDARY_ALIASES,
                        hints=_BOUNDARY_HINTS)


@functools.lru_cache(maxsize=512)
def _boundary_index_cached(n, before, after, boundary):
    index = _boundary_index(n, before, after, boundary)
    index.setflags(write=False)
    return index


def boundary_index(n, before, after, boundary):
    """Source index of every position of an axis padded by ``boundary``.

    Cached and read-only (the same maps recur call after call); see
    ``_boundary_index`` for the definition.
    """
    return _boundary_index_cached(int(n), int(before), int(after), boundary)


def _boundary_index(n, before, after, boundary):
    """Source index of every position of an axis padded by ``boundary``.

    Parameters
    ----------
    n : int
        Length of the axis (>= 1 unless ``boundary`` is ``'fill'``).
    before, after : int
        Padding before and after the axis (>= 0); may exceed ``n`` by any
        factor: the rule folds repeatedly, exactly as :func:`numpy.pad`.
    boundary : str
        Canonical boundary name.

    Returns
    -------
    index : ndarray of intp, shape (before + n + after,)
        ``index[c]`` is the image index that padded position ``c`` holds,
        or -1 where it holds the fill value.
    """
    return boundary_source(np.arange(-before, n + after, dtype=np.intp), n, boundary)


def boundary_source(i, n, boundary):
    """Image index that position ``i`` of an axis of length ``n`` holds under
    ``boundary`` (-1 for the fill value); ``i`` may be any integer array, so
    a caller that reads a few far-apart positions (a huge stride or
    dilation) need not build the whole padded axis."""
    i = np.asarray(i, dtype=np.intp)
    if boundary == "fill":
        return np.where((i >= 0) & (i < n), i, -1).astype(np.intp, copy=False)
    if n < 1:
        raise ValueError(f"boundary={boundary!r} cannot extend an empty axis")
    if boundary == "wrap":
        return np.mod(i, n)
    if boundary == "edge":
        return np.clip(i, 0, n - 1)
    if boundary == "symm":
        m = np.mod(i, 2 * n)
        return np.where(m >= n, 2 * n - 1 - m, m)
    if boundary == "reflect":
        if n == 1:
            return np.zeros_like(i)
        period = 2 * n - 2
        m = np.mod(i, period)
        return np.where(m >= n, period - m, m)
    raise AssertionError(boundary)  # unreachable: names are validated
