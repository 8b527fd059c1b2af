"""Image files in and out, for the command-line tool (private).

Reading gives a grey 2-D array and the full intensity range of its source
(255 for 8-bit, 65535 for 16-bit, 1.0 for float and bilevel data); colour is
converted to luminance with the ITU-R BT.601 weights and alpha is ignored.
Writing turns a filter result into an 8-bit PNG or stores the values
unchanged in ``.npy`` or TIFF.

Decoders: Pillow for PNG, JPEG, BMP, GIF, WebP; tifffile (a scikit-image
dependency) for TIFF, so 16-bit colour and float TIFFs keep their precision;
NumPy for ``.npy``.  Pillow decodes 16-bit *colour* PNGs at 8 bits; OpenCV
is used for those when it is installed.
"""

import os
import warnings

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "OUTPUT_FORMATS", "ImageReadError", "read_grey",
           "luminance", "to_uint8", "write_result"]

#: File suffixes read as images (lower case).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".npy")

#: Output formats and the suffix each one writes.
OUTPUT_FORMATS = {"png": ".png", "npy": ".npy", "tiff": ".tiff"}

#: ITU-R BT.601 luma weights for R, G, B.
BT601 = (0.299, 0.587, 0.114)


class ImageReadError(Exception):
    """An input file that cannot be decoded as an image."""


def _full_range(dtype):
    if dtype.kind == "u" or dtype.kind == "i":
        return float(np.iinfo(dtype).max)
    return 1.0


def luminance(rgb):
    """ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` of an (H, W, 3+) array.

    Computed in float32 for 8-bit data and float64 otherwise; channels after
    the third (alpha) are ignored.
    """
    work = np.float32 if rgb.dtype.itemsize == 1 else np.float64
    r, g, b = (rgb[..., c].astype(work) for c in range(3))
    return work(BT601[0]) * r + work(BT601[1]) * g + work(BT601[2]) * b


def _png_is_16bit_colour(path):
    try:
        with open(path, "rb") as f:
            head = f.read(26)
    except OSError:
        return False
    return (len(head) == 26 and head[:8] == b"\x89PNG\r\n\x1a\n"
            and head[24] == 16 and head[25] in (2, 6))


def _read_pillow(path):
    from PIL import Image, UnidentifiedImageError

    if _png_is_16bit_colour(path):
        try:
            import cv2
        except ImportError:
            warnings.warn(f"{path}: 16-bit colour PNG read at 8-bit precision "
                          "(Pillow limitation; install opencv-python-headless for "
                          "full precision)", stacklevel=3)
        else:
            arr = cv2.imread(os.fspath(path), cv2.IMREAD_UNCHANGED)
            if arr is not None and arr.ndim == 3:
                return arr[..., [2, 1, 0] + ([3] if arr.shape[2] == 4 else [])]
    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode == "1":
                im = im.convert("L")
            elif mode in ("P", "PA"):
                im = im.convert("RGBA" if "transparency" in im.info or mode == "PA" else "RGB")
            elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                im = im.convert("RGB")
            arr = np.array(im)
    except UnidentifiedImageError:
        raise ImageReadError("not an image file Pillow can decode") from None
    except Image.DecompressionBombError as exc:
        raise ImageReadError(str(exc)) from None
    except (SyntaxError, ValueError, EOFError) as exc:  # corrupt data in some plugins
        raise ImageReadError(f"corrupt image data ({exc})") from None
    if mode == "I" and arr.size and arr.min() >= 0 and arr.max() <= 65535:
        arr = arr.astype(np.uint16)  # 16-bit PNGs decoded as 32-bit "I"
    return arr


def _read_tiff(path):
    try:
        import tifffile
    except ImportError:
        return _read_pillow(path)
    try:
        arr = tifffile.imread(path)
    except OSError:
        raise
    except Exception as exc:  # tifffile raises many types for corrupt files
        raise ImageReadError(f"not a TIFF file tifffile can decode ({exc})") from None
    return np.asarray(arr)


def read_grey(path):
    """Read ``path`` as ``(grey, full_range)``.

    ``grey`` is 2-D: the stored values for grey images (uint8, uint16 ...),
    float luminance (same range) for colour.  Raises ``ImageReadError`` with
    a reason for anything that is not a readable image, and ``OSError`` when
    the file cannot be opened.
    """
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise ImageReadError(f"not a NumPy .npy array file ({exc})") from None
    elif suffix in (".tif", ".tiff"):
        arr = _read_tiff(path)
    else:
        arr = _read_pillow(path)

    if arr.dtype.kind == "b":
        arr = arr.astype(np.uint8) * np.uint8(255)
    if arr.dtype.kind not in "uif":
        raise ImageReadError(f"unsupported pixel type {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    elif arr.ndim == 3 and arr.shape[2] == 2:       # grey + alpha
        arr = arr[:, :, 0]
    elif arr.ndim == 3 and arr.shape[2] in (3, 4):  # RGB, RGBA
        full = _full_range(arr.dtype)
        return luminance(arr), full
    if arr.ndim != 2:
        raise ImageReadError(
            f"unsupported image shape {arr.shape}; expected grey (H, W) or colour "
            "(H, W, 3 or 4)"
        )
    if arr.size == 0:
        raise ImageReadError("the image is empty")
    return arr, _full_range(arr.dtype)


def to_uint8(values, *, binary=False, scale="stretch", full_range=255.0, invert=False):
    """8-bit rendering of a filter result.

    ``binary`` maps True/nonzero to 255.  ``scale='stretch'`` maps the
    largest absolute value to 255 (negative values by their magnitude);
    ``'clip'`` maps ``full_range`` to 255 and clips.  ``invert`` gives
    dark edges on white.
    """
    if binary:
        out = np.where(values, np.uint8(255), np.uint8(0))
    else:
        v = np.abs(values.astype(np.float64, copy=False)) if scale == "stretch" else \
            values.astype(np.float64, copy=False)
        finite = np.isfinite(v)
        if scale == "stretch":
            top = float(v[finite].max()) if finite.any() else 0.0
            factor = 255.0 / top if top > 0 else 0.0
        else:
            factor = 255.0 / full_range
        v = np.where(finite, v, 0.0) * factor
        out = np.clip(np.rint(v), 0, 255).astype(np.uint8)
    if invert:
        out = np.uint8(255) - out
    return out


def write_result(path, values, fmt, *, binary=False, scale="stretch", full_range=255.0,
                 invert=False):
    """Write a result as ``fmt`` ('png', 'npy' or 'tiff')."""
    if fmt == "png":
        from PIL import Image
        Image.fromarray(to_uint8(values, binary=binary, scale=scale,
                                 full_range=full_range, invert=invert)).save(path, format="PNG")
    elif fmt == "npy":
        with open(path, "wb") as f:
            np.save(f, values, allow_pickle=False)
    elif fmt == "tiff":
        data = np.where(values, np.uint8(255), np.uint8(0)) if binary else values
        try:
            import tifffile
        except ImportError:
            from PIL import Image
            Image.fromarray(np.asarray(data, dtype=np.float32) if not binary else data).save(
                path, format="TIFF")
        else:
            tifffile.imwrite(path, data)
    else:  # pragma: no cover - the CLI validates formats
        raise ValueError(f"format={fmt!r} is not valid; choose one of {', '.join(OUTPUT_FORMATS)}")
