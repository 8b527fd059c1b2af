"""The verbs of the ``imfilt`` command line: one table row per public filter (private).

Each :class:`Verb` names a public imfilt function, its one-line summary,
the options that map onto its keyword parameters, and how its result is
stored (``kind``):

- ``'channels'``: filtered per channel; colour, alpha and bit depth are
  kept (smoothing, rank, morphology, convolve ...);
- ``'resample'``: like 'channels', but the image changes size (pooling,
  upsampling, pyramids), so alpha is resampled with the colours;
- ``'edges'``: a grey edge map (the ``edges`` verb).

A row whose function is missing from :mod:`imfilt` (an older build) is
left out, and an option whose parameter the function does not take is
dropped, so the command line always matches the installed library.
Named kernels for ``convolve``/``correlate`` are tables of numbers (or come
from :func:`imfilt.gaussian_kernel` when that exists); nothing here
computes a filter.
"""

import dataclasses
import fractions
import inspect
import re

import numpy as np

import imfilt
from imfilt._modes import BOUNDARIES, BOUNDARY_ALIASES
from imfilt._validation import MAX_TAPS, gaussian_radius
from imfilt.edges import EDGE_OPERATORS

__all__ = ["Opt", "Verb", "VERBS", "KernelError", "parse_kernel", "load_kernel_file",
           "named_kernel", "NAMED_KERNELS", "EDGE_TOPS", "BOUNDARY_METAVAR", "boundary_help"]

BOUNDARY_METAVAR = "{" + ",".join(BOUNDARIES) + "}"
#: What each boundary does, for the help of --boundary.
BOUNDARY_WORDS = {"symm": "mirror including the edge pixel, d c b a | a b c d",
                  "reflect": "mirror about the edge pixel, c b | a b c d",
                  "fill": "the --fillvalue, 0 unless given",
                  "wrap": "periodic", "edge": "repeat the edge pixel"}


def boundary_help(default="symm", note=""):
    """The help of --boundary for a verb whose default is ``default``."""
    return (f"how the image is extended at its borders (default {default} = "
            f"{BOUNDARY_WORDS[default]}; aliases: "
            + ", ".join(f"{a}={c}" for a, c in BOUNDARY_ALIASES.items() if a != c) + ")" + note)



@dataclasses.dataclass(frozen=True)
class Opt:
    """One command-line option mapped to the keyword ``param`` of the function.

    ``kind``: 'float', 'int', 'floats' / 'ints' (one value, or one per axis
    separated by commas), 'choice', 'str'.  ``minimum``: smallest value
    accepted (inclusive unless ``strict``).  ``default`` None leaves the
    function's own default.
    """

    flag: str
    param: str
    kind: str = "float"
    help: str = ""
    default: object = None
    choices: tuple = ()
    minimum: float | None = None
    strict: bool = False
    required: bool = False


@dataclasses.dataclass(frozen=True)
class Verb:
    """One command-line verb: a public function and its options."""

    name: str
    func: str
    summary: str
    options: tuple = ()
    kind: str = "channels"
    scale: str = "none"
    extra: dict = dataclasses.field(default_factory=dict)
    #: True when the filter commutes with scaling the values by a positive
    #: number (linear filters, order statistics, resampling): the command
    #: line may then filter the stored 8/16-bit values as they are and scale
    #: the result once, instead of making a 0..1 float copy first.  False for
    #: a filter with a parameter in intensity units (bilateral's sigma_color).
    scale_free: bool = True

    @property
    def function(self):
        return getattr(imfilt, self.func, None)

    @property
    def tag(self):
        return self.name.replace("-", "_")


def _sigma(help_text="standard deviation of the Gaussian in pixels (one value, or one "
                     "per axis: rows,cols)", flag="--sigma", param="sigma", required=True):
    return Opt(flag, param, "floats", help_text, minimum=0.0, required=required)


def _size(required=False, help_text="window size in pixels (one value, or rows,cols)"):
    return Opt("--size", "size", "ints", help_text, minimum=1, required=required)


_TRUNCATE = Opt("--truncate", "truncate", "float",
                "window radius in sigmas (default 4.0)", minimum=0.0, strict=True)
_MORPH = "flat square structuring element (--size)"

#: The options every pooling verb (max, min, avg) takes, written once.
_POOL_OPTS = (
    Opt("--size", "kernel_size", "ints", "pooling window (one value or rows,cols)",
        minimum=1, required=True),
    Opt("--stride", "stride", "ints", "step (default: the window size)", minimum=1),
)

# The table: one row per public filter.  Rows whose function imfilt does not
# have are dropped at import (see VERBS below).
_TABLE = (
    Verb("edges", "sobel", "edge maps: Sobel, Scharr, Prewitt, Roberts, Laplace, Canny",
         kind="edges", scale="per-image"),
    Verb("convolve", "convolve",
         "convolve with a kernel (matrix, file or named: gaussian:2, box:5, sobel-x ...)",
         kind="channels", extra={"kernel": True}),
    Verb("correlate", "correlate", "correlate with a kernel (convolve without the flip)",
         kind="channels", extra={"kernel": True}),
    Verb("gaussian", "gaussian", "Gaussian blur",
         (_sigma(), Opt("--order", "order", "ints", "derivative order per axis (default 0)",
                        minimum=0), _TRUNCATE)),
    Verb("box", "box", "box (mean) filter", (_size(required=True),)),
    Verb("unsharp-mask", "unsharp_mask", "sharpen: image + amount * (image - blurred)",
         (Opt("--radius", "radius", "float", "Gaussian sigma of the blur (default 1)",
              minimum=0.0),
          Opt("--amount", "amount", "float", "strength of the sharpening (default 1)"))),
    Verb("gaussian-laplace", "gaussian_laplace", "Laplacian of Gaussian (blob and edge detector)",
         (_sigma(), _TRUNCATE), scale="per-image"),
    Verb("gaussian-gradient-magnitude", "gaussian_gradient_magnitude",
         "gradient magnitude of the Gaussian-smoothed image", (_sigma(), _TRUNCATE),
         scale="per-image"),
    Verb("difference-of-gaussians", "difference_of_gaussians",
         "band-pass: blur(low-sigma) - blur(high-sigma)",
         (_sigma("sigma of the smaller blur", "--low-sigma", "low_sigma"),
          _sigma("sigma of the larger blur (default 1.6 x --low-sigma)", "--high-sigma",
                 "high_sigma", required=False)), scale="per-image"),
    Verb("gabor", "gabor", "Gabor filter (oriented texture and edge response)",
         (Opt("--frequency", "frequency", "float", "spatial frequency in cycles per pixel",
              minimum=0.0, strict=True, required=True),
          Opt("--theta", "theta", "float", "orientation in radians (default 0)"),
          Opt("--bandwidth", "bandwidth", "float", "bandwidth in octaves (default 1)",
              minimum=0.0, strict=True),
          Opt("--part", None, "choice", "which response to write (default real)",
              default="real", choices=("real", "imag"))), scale="per-image"),
    Verb("median", "median", "median filter (removes salt-and-pepper noise)", (_size(),)),
    Verb("rank-filter", "rank_filter", "rank filter: the RANK-th smallest value in the window",
         (Opt("--rank", "rank", "int", "rank in the sorted window (negative counts from the "
              "top)", required=True), _size(required=True))),
    Verb("percentile-filter", "percentile_filter", "percentile of the window",
         (Opt("--percentile", "percentile", "float",
             "percentile 0..100 (-100..0 counts back from 100)", required=True),
          _size(required=True))),
    Verb("minimum-filter", "minimum_filter", "minimum of the window", (_size(required=True),)),
    Verb("maximum-filter", "maximum_filter", "maximum of the window", (_size(required=True),)),
    Verb("erosion", "erosion", f"grey erosion, {_MORPH}", (_size(required=True),)),
    Verb("dilation", "dilation", f"grey dilation, {_MORPH}", (_size(required=True),)),
    Verb("opening", "opening", f"grey opening (erosion then dilation), {_MORPH}",
         (_size(required=True),)),
    Verb("closing", "closing", f"grey closing (dilation then erosion), {_MORPH}",
         (_size(required=True),)),
    Verb("white-tophat", "white_tophat", "white top-hat: image - opening (bright details)",
         (_size(required=True),)),
    Verb("black-tophat", "black_tophat", "black top-hat: closing - image (dark details)",
         (_size(required=True),)),
    Verb("morphological-gradient", "morphological_gradient", "dilation - erosion (outlines)",
         (_size(required=True),)),
    Verb("bilateral", "bilateral", "edge-preserving bilateral smoothing (OpenCV's definition)",
         (Opt("--diameter", "diameter", "int", "window diameter in pixels (<= 0: from "
              "--sigma-space)", required=True),
          Opt("--sigma-color", "sigma_color", "float", "intensity sigma, in 0..1 image units",
              minimum=0.0, required=True),
          Opt("--sigma-space", "sigma_space", "float", "spatial sigma in pixels", minimum=0.0,
              required=True)), scale_free=False),
    Verb("max-pool", "max_pool2d", "max pooling (downsamples by --stride)",
         _POOL_OPTS, kind="resample"),
    Verb("avg-pool", "avg_pool2d", "average pooling (downsamples by --stride)",
         _POOL_OPTS, kind="resample"),
    Verb("min-pool", "min_pool2d", "minimum pooling (downsamples by --stride)",
         _POOL_OPTS, kind="resample"),
    Verb("upsample", "upsample", "enlarge by an integer factor (bilinear or nearest)",
         (Opt("--factor", "factor", "ints", "enlargement factor (one value or rows,cols)",
              minimum=1, required=True),
          Opt("--method", "method", "choice", "interpolation (default bilinear)",
              choices=("bilinear", "nearest"))), kind="resample"),
    Verb("pyramid-down", "pyramid_down", "blur and halve the size (one Gaussian pyramid level)",
         (Opt("--dstsize", "dstsize", "ints", "output size rows,cols (default: half, rounded "
              "up; OpenCV's rule |2*dst - src| <= 2 per axis)", minimum=1),), kind="resample"),
    Verb("pyramid-up", "pyramid_up", "double the size and smooth (one pyramid level up)",
         (Opt("--dstsize", "dstsize", "ints", "output size rows,cols (default: double; "
              "OpenCV's rule |dst - 2*src| == dst %% 2 per axis)", minimum=1),), kind="resample"),
)


def _accepted(func):
    """Keyword parameters of ``func`` (None: it takes **kwargs)."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without signature
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    return set(params)


def _available(verb):
    func = verb.function
    if func is None:
        return None
    accepted = _accepted(func)
    if accepted is None:
        return verb
    kept = tuple(o for o in verb.options if o.param is None or o.param in accepted)
    if any(o.required and o not in kept for o in verb.options):
        return None  # a required parameter under another name: not wired safely
    extra = dict(verb.extra, accepted=frozenset(accepted))
    return dataclasses.replace(verb, options=kept, extra=extra)


#: Verb name -> Verb, for the functions this imfilt build has.
VERBS = {v.name: v for v in (_available(row) for row in _TABLE) if v is not None}

#: Largest possible edge response on an image with values in 0..1 (the
#: 'fixed' scale maps it to white): the sum of the positive weights of each
#: derivative kernel, combined over the two axes for the magnitudes.
EDGE_TOPS = {"sobel": 4.0 * 2 ** 0.5, "scharr": 16.0 * 2 ** 0.5, "prewitt": 3.0 * 2 ** 0.5,
             "laplace": 4.0, "laplace8": 8.0, "roberts": 2 ** 0.5,
             "sobel5": 48.0 * 2 ** 0.5, "sobel7": 640.0 * 2 ** 0.5}

EDGE_OPTIONS = {  # edge option -> operators it applies to
    "boundary": ("sobel", "scharr", "prewitt", "roberts", "laplace"),
    "fillvalue": ("sobel", "scharr", "prewitt", "roberts", "laplace"),
    "size": ("sobel",),
    "neighbors": ("laplace",),
    "sigma": ("canny",),
    "low": ("canny",),
    "high": ("canny",),
    "threshold": ("sobel", "scharr", "prewitt", "roberts", "laplace"),
}
assert set(EDGE_OPTIONS["boundary"]) | {"canny"} == set(EDGE_OPERATORS)


# --------------------------------------------------------------------------
# kernels


class KernelError(ValueError):
    """A kernel that cannot be read; the message is in command-line words."""


_EXAMPLE = 'e.g. "1 2 1; 0 0 0; -1 -2 -1", "1,2,1;0,0,0;-1,-2,-1" or "[[1,2,1],[0,0,0]]"'


def _number(tok, where):
    try:
        return float(fractions.Fraction(tok))
    except OverflowError:   # beyond float64, e.g. 1e400
        raise KernelError(f"{where} holds {tok!r}, beyond float64's range; kernel values "
                          "must be finite") from None
    except (ValueError, ZeroDivisionError):
        try:
            value = float(tok)          # 1e-3, inf ...
        except ValueError:
            raise KernelError(f"{where} holds something that is not a number ({tok!r}); "
                              f"write rows of numbers, {_EXAMPLE}") from None
    if not np.isfinite(value):
        raise KernelError(f"{where} holds {tok!r}; kernel values must be finite")
    return value


def parse_kernel(text, what="--kernel"):
    """A kernel written as text -> 2-D float64 array.

    Rows are separated by ';' or new lines, values by spaces or commas;
    ``[[1, 2], [3, 4]]`` (NumPy's printed form) works too; fractions such as
    ``1/9`` and ``#`` comments are allowed.
    """
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    body = "\n".join(lines).strip()
    if "[" in body:
        rows = re.findall(r"\[([^\[\]]*)\]", body)
        if (not rows or body.count("[") != body.count("]")
                or re.sub(r"\[[^\[\]]*\]", "", body).strip(" ,\n[]\t")):
            raise KernelError(f"{what} {text!r}: unbalanced brackets; {_EXAMPLE}")
    else:
        rows = re.split(r"[;\n]", body)
    rows = [r for r in rows if r.strip(" ,\t")]
    if not rows:
        raise KernelError(f"{what} is empty; write rows separated by ';', {_EXAMPLE}")
    values = [[_number(tok, f"{what} {text!r}: row {r.strip()!r}")
               for tok in re.split(r"[,\s]+", r.strip(" ,\t")) if tok] for r in rows]
    lengths = [len(v) for v in values]
    if len(set(lengths)) != 1:
        raise KernelError(f"{what} {text!r}: rows have different lengths {lengths}; every "
                          "row needs the same number of values")
    return np.array(values, dtype=np.float64)


def load_kernel_file(path):
    """A kernel from a ``.npy`` file or a text file in the ``--kernel`` syntax."""
    where = f"--kernel-file {path!r}"
    try:
        if path.lower().endswith(".npy"):
            kernel = np.load(path, allow_pickle=False)
        else:
            with open(path, encoding="utf-8") as f:
                return parse_kernel(f.read(), where)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, KernelError):
            raise
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise KernelError(f"{where} cannot be read: {reason}") from None
    kernel = np.asarray(kernel)
    if kernel.ndim == 1:
        kernel = kernel[np.newaxis, :]
    if kernel.ndim != 2 or kernel.size == 0 or kernel.dtype.kind not in "biuf":
        raise KernelError(f"{where} must hold a non-empty 2-D array of real numbers; got "
                          f"shape {kernel.shape}, dtype {kernel.dtype}")
    if not np.isfinite(kernel).all():
        raise KernelError(f"{where} holds NaN or infinite values")
    return kernel.astype(np.float64)


#: Named kernels written as convolution kernels: ``convolve`` with
#: ``sobel-x`` gives the derivative along x (columns) with the positive sign
#: where brightness grows to the right; ``-y`` grows downwards.
NAMED_KERNELS = {
    "identity": [[1.0]],
    "sobel-x": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "sobel-y": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "scharr-x": [[3, 0, -3], [10, 0, -10], [3, 0, -3]],
    "scharr-y": [[3, 10, 3], [0, 0, 0], [-3, -10, -3]],
    "prewitt-x": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "prewitt-y": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "laplace": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "laplace8": [[1, 1, 1], [1, -8, 1], [1, 1, 1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
}
_PARAMETRIC = ("box:N or box:ROWSxCOLS (mean of an N x N window)",
               "gaussian:SIGMA (needs imfilt.gaussian_kernel)")


def named_kernel(text):
    """The kernel called ``text`` (``box:5``, ``gaussian:2``, ``sobel-x`` ...) or None."""
    name, _, arg = text.strip().lower().partition(":")
    if name in NAMED_KERNELS and not arg:
        return np.array(NAMED_KERNELS[name], dtype=np.float64)
    if name == "box" and arg:
        m = re.fullmatch(r"(\d+)(?:x(\d+))?", arg)
        if not m or int(m.group(1)) < 1 or (m.group(2) and int(m.group(2)) < 1):
            raise KernelError(f"--kernel {text!r}: write box:N or box:ROWSxCOLS with "
                              "positive whole numbers, e.g. box:5 or box:3x7")
        rows = int(m.group(1))
        cols = int(m.group(2)) if m.group(2) else rows
        if rows * cols > MAX_TAPS:
            raise KernelError(f"--kernel {text!r}: a box of {rows * cols} points is more than "
                              f"{MAX_TAPS}; use a smaller box (the 'box' verb filters any "
                              "size in O(1) per pixel)")
        return np.full((rows, cols), 1.0 / (rows * cols))
    if name == "gaussian" and arg:
        make = getattr(imfilt, "gaussian_kernel", None)
        if make is None:
            raise KernelError("--kernel gaussian:SIGMA needs imfilt.gaussian_kernel, which "
                              "this imfilt build does not have; write the weights instead")
        try:
            sigma = float(arg)
        except ValueError:
            raise KernelError(f"--kernel {text!r}: write gaussian:SIGMA with a number, "
                              "e.g. gaussian:2") from None
        if not (sigma > 0 and np.isfinite(sigma)):
            raise KernelError(f"--kernel {text!r}: SIGMA must be a finite number > 0")
        try:
            gaussian_radius("SIGMA", sigma, ndim=2)
        except ValueError as exc:
            raise KernelError(f"--kernel {text!r}: {exc} (the 'gaussian' verb filters any "
                              "sigma, one axis at a time)") from None
        return np.asarray(make(sigma, ndim=2), dtype=np.float64)
    if re.fullmatch(r"[a-z][a-z0-9-]*(:.*)?", text.strip().lower()) and not re.search(
            r"\d\s*[,;\s]", text):
        known = ", ".join(list(NAMED_KERNELS) + list(_PARAMETRIC))
        raise KernelError(f"--kernel {text!r} is not a known kernel name; the names are: "
                          f"{known}")
    return None


def kernel_from_text(text):
    """A named kernel or a matrix written as text; a path to a file is read."""
    named = named_kernel(text)
    if named is not None:
        return named
    return parse_kernel(text)

