"""The ``imfilt`` command-line tool (``imfilt ...`` or ``python -m imfilt ...``).

A thin consumer of the public API: argument parsing, file handling and
messages live here, every computation in :mod:`imfilt`.  Exit status: 0 on
success, 1 when some input could not be read or written (the others are
still processed), 2 for usage errors (nothing is processed).  Errors are
one line each on stderr, naming the file, never a traceback.
"""

import argparse
import fractions
import os
import sys
import warnings

import numpy as np

import imfilt
from imfilt import _io
from imfilt._modes import BOUNDARIES, BOUNDARY_ALIASES, MODES
from imfilt._threads import resolve_workers
from imfilt.edges import EDGE_OPERATORS, GRADIENT_OPERATORS

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

_BOUNDARY_METAVAR = "{" + ",".join(BOUNDARIES) + "}"
_BOUNDARY_HELP = ("how the image is extended at its borders (default symm = mirror "
                  "including the edge pixel; aliases: "
                  + ", ".join(f"{a}={c}" for a, c in BOUNDARY_ALIASES.items() if a != c) + ")")

_SUFFIX_FORMAT = {".png": "png", ".npy": "npy", ".tif": "tiff", ".tiff": "tiff"}

_EPILOG = """\
examples:
  imfilt edges photo.jpg -o edges.png
  imfilt edges photo.jpg -o edges.png --operator canny --sigma 2
  imfilt edges scans/ -o out/ --operator scharr --threshold otsu --invert
  imfilt convolve photo.png -o blur.png --kernel "1 2 1; 2 4 2; 1 2 1" --normalize
  imfilt info

Intensities are scaled to 0..1 by the bit depth (255 for 8-bit, 65535 for
16-bit) before filtering, so thresholds and .npy/.tiff values do not depend
on it.  Colour images are converted to luminance (ITU-R BT.601).

exit status: 0 success, 1 some file could not be read or written, 2 usage error
"""


class _UsageError(Exception):
    """A problem with the command line, reported with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors name the program and subcommand."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


# --------------------------------------------------------------------------
# argument types


def _workers(text):
    try:
        value = int(text)
        resolve_workers(value)
    except ValueError as exc:
        msg = str(exc) if "workers" in str(exc) else \
            f"workers={text!r} is not valid; use a positive number of threads or -1 for all cores"
        raise argparse.ArgumentTypeError(msg) from None
    return value


def _non_negative(name):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} {text!r} is not a number") from None
        if not (value >= 0 and np.isfinite(value)):
            raise argparse.ArgumentTypeError(f"{name} {text!r} must be a finite number >= 0")
        return value
    return parse


def _threshold(text):
    if text.strip().lower() == "otsu":
        return "otsu"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--threshold {text!r} is not valid; use a number >= 0 or 'otsu'") from None
    if not (value >= 0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(
            f"--threshold {text!r} is not valid; use a number >= 0 or 'otsu'")
    return value


def _parse_kernel(text):
    """``"1 2 1; 0 0 0; -1 -2 -1"`` -> 2-D float array (fractions allowed)."""
    rows = [r for r in text.replace("\n", ";").split(";") if r.strip()]
    if not rows:
        raise _UsageError("--kernel is empty; write rows separated by ';', "
                          "e.g. --kernel \"1 2 1; 0 0 0; -1 -2 -1\"")
    values = []
    for r in rows:
        try:
            values.append([float(fractions.Fraction(tok))
                           for tok in r.replace(",", " ").split()])
        except (ValueError, ZeroDivisionError):
            raise _UsageError(f"--kernel {text!r}: row {r.strip()!r} holds something that "
                              "is not a number; write rows of numbers separated by ';', "
                              "e.g. \"1 2 1; 0 0 0; -1 -2 -1\"") from None
    lengths = {len(v) for v in values}
    if len(lengths) != 1:
        raise _UsageError(f"--kernel {text!r}: rows have different lengths "
                          f"{[len(v) for v in values]}; every row needs the same number of values")
    return np.array(values, dtype=np.float64)


def _load_kernel_file(path):
    try:
        if path.lower().endswith(".npy"):
            kernel = np.load(path, allow_pickle=False)
        else:
            kernel = np.loadtxt(path, ndmin=2, delimiter=None)
    except (OSError, ValueError) as exc:
        raise _UsageError(f"--kernel-file {path!r} cannot be read: {exc}") from None
    kernel = np.asarray(kernel)
    if kernel.ndim == 1:
        kernel = kernel[np.newaxis, :]
    if kernel.ndim != 2 or kernel.size == 0 or kernel.dtype.kind not in "biuf":
        raise _UsageError(f"--kernel-file {path!r} must hold a non-empty 2-D array of "
                          f"real numbers; got shape {kernel.shape}, dtype {kernel.dtype}")
    return kernel.astype(np.float64)


# --------------------------------------------------------------------------
# parser


def _add_common(p, *, batch_tag):
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files (PNG, JPEG, TIFF, BMP, .npy ...) or directories "
                        "(every image directly inside)")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                   help="output file for one input, or a directory (created if "
                        f"needed) receiving NAME_{batch_tag}.FORMAT per input")
    p.add_argument("--format", choices=sorted(_io.OUTPUT_FORMATS),
                   help="output format (default: from the OUTPUT suffix, else png): "
                        "png = 8-bit picture, npy/tiff = the values themselves")
    p.add_argument("--workers", type=_workers, metavar="N",
                   help="threads per image (default: all available cores; -1 = all)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing output files (inputs are never overwritten)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar and no warnings (errors are still printed)")


def build_parser():
    """The argparse parser of the ``imfilt`` command."""
    parser = _Parser(
        prog="imfilt",
        description="Fast, SciPy-exact image filtering from the command line.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"imfilt {imfilt.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=_Parser)

    e = sub.add_parser(
        "edges", help="edge maps (Sobel, Scharr, Prewitt, Roberts, Laplace, Canny)",
        description="Write the edge map of each input image: a gradient magnitude "
                    "scaled to 0..255 in PNG output, or a binary 0/255 map for "
                    "--operator canny and with --threshold.")
    _add_common(e, batch_tag="OPERATOR")
    e.add_argument("--operator", choices=EDGE_OPERATORS, default="sobel",
                   help="edge filter (default sobel)")
    e.add_argument("--boundary", choices=list(BOUNDARY_ALIASES), default="symm",
                   metavar=_BOUNDARY_METAVAR, help=_BOUNDARY_HELP)
    e.add_argument("--sigma", type=_non_negative("--sigma"),
                   help="canny only: Gaussian smoothing in pixels (default 1.0)")
    e.add_argument("--low", type=_non_negative("--low"),
                   help="canny only: low hysteresis threshold on the gradient of the "
                        "0..1-scaled image (default 0.1)")
    e.add_argument("--high", type=_non_negative("--high"),
                   help="canny only: high hysteresis threshold (default 0.2)")
    e.add_argument("--threshold", type=_threshold, metavar="T|otsu",
                   help="binarise the response: keep |response| >= T (response of the "
                        "0..1-scaled image; Sobel gives 4 across a black-white step), "
                        "or choose T by Otsu's method")
    e.add_argument("--invert", action="store_true",
                   help="dark edges on white (PNG output only)")

    c = sub.add_parser(
        "convolve", help="convolve images with a kernel",
        description="Convolve each input image with a kernel (true convolution, "
                    "the kernel is flipped, as imfilt.convolve).")
    _add_common(c, batch_tag="convolved")
    k = c.add_mutually_exclusive_group(required=True)
    k.add_argument("--kernel", metavar='"R1; R2; ..."',
                   help='kernel rows separated by ";", e.g. "1 2 1; 0 0 0; -1 -2 -1" '
                        '(fractions such as 1/9 allowed; write --kernel="-1 0 1" when '
                        "the first value is negative)")
    k.add_argument("--kernel-file", metavar="FILE",
                   help="kernel from a .npy file or a whitespace-separated text file")
    c.add_argument("--normalize", action="store_true",
                   help="divide the kernel by the sum of its entries")
    c.add_argument("--mode", choices=MODES, default="same",
                   help="output size (default same: the image's shape)")
    c.add_argument("--boundary", choices=list(BOUNDARY_ALIASES), default="symm",
                   metavar=_BOUNDARY_METAVAR, help=_BOUNDARY_HELP)
    c.add_argument("--scale", choices=("clip", "stretch"), default="clip",
                   help="PNG output: clip 0..1 to 0..255 (default), or stretch the "
                        "largest |value| to 255")
    c.add_argument("--invert", action="store_true", help="invert the PNG output")

    sub.add_parser("info", help="show how imfilt was built (OpenMP, threads, versions)",
                   description="Print imfilt.show_config(): version, OpenMP, build "
                               "flags and thread settings.")
    return parser


# --------------------------------------------------------------------------
# files


class _Reporter:
    """Messages to stderr that do not break a progress bar."""

    def __init__(self, quiet):
        self.quiet = quiet
        self.bar = None
        self.failed = False

    def _write(self, text):
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def error(self, text):
        self.failed = True
        self._write(f"imfilt: error: {text}")

    def warning(self, text):
        if not self.quiet:
            self._write(f"imfilt: warning: {text}")


def _expand_inputs(inputs, report):
    """Files to process (directories expanded), reporting missing ones."""
    files = []
    for item in inputs:
        if os.path.isdir(item):
            found = sorted(
                os.path.join(item, name) for name in os.listdir(item)
                if not name.startswith(".")
                and os.path.splitext(name)[1].lower() in _io.IMAGE_SUFFIXES
                and os.path.isfile(os.path.join(item, name)))
            if not found:
                report.error(f"{item!r}: no image files in this directory "
                             f"(looked for {', '.join(_io.IMAGE_SUFFIXES)})")
            files.extend(found)
        elif os.path.exists(item):
            files.append(item)
        else:
            report.error(f"cannot read {item!r}: no such file or directory")
    return files


def _is_dir_mode(args, files):
    """True when OUTPUT is (to be) a directory rather than one file."""
    out = args.output
    return (len(files) > 1 or any(os.path.isdir(i) for i in args.inputs)
            or os.path.isdir(out) or out.endswith(("/", os.sep)))


def _plan_outputs(args, files, tag):
    """``[(input, output, format)]``; raises _UsageError for impossible plans."""
    out = args.output
    if _is_dir_mode(args, files):
        if os.path.exists(out) and not os.path.isdir(out):
            raise _UsageError(f"-o {out!r} is a file, but several images are processed; "
                              "give a directory")
        fmt = args.format or "png"
        suffix = _io.OUTPUT_FORMATS[fmt]
        plan, seen = [], {}
        for f in files:
            stem = os.path.splitext(os.path.basename(f))[0]
            target = os.path.join(out, f"{stem}_{tag}{suffix}")
            if target in seen:
                raise _UsageError(f"{seen[target]!r} and {f!r} would both be written to "
                                  f"{target!r}; process them separately")
            seen[target] = f
            plan.append((f, target, fmt))
        return plan
    suffix = os.path.splitext(out)[1].lower()
    if suffix not in _SUFFIX_FORMAT:
        raise _UsageError(f"-o {out!r}: unknown output suffix {suffix or '(none)'!r}; use "
                          f"{', '.join(sorted(_SUFFIX_FORMAT))}, or an existing directory")
    fmt = _SUFFIX_FORMAT[suffix]
    if args.format and args.format != fmt:
        raise _UsageError(f"--format {args.format} contradicts the output suffix of {out!r}")
    return [(files[0], out, fmt)] if files else []


def _unit_scale(grey, full_range):
    """Intensities scaled to 0..1 by the source's bit depth."""
    if grey.dtype.kind == "f":
        work = np.float64 if grey.dtype == np.float64 else np.float32
    else:
        work = np.float32 if grey.dtype.itemsize <= 2 else np.float64
    x = grey.astype(work, copy=False)
    return x / work(full_range) if full_range != 1.0 else x


# --------------------------------------------------------------------------
# subcommands


def _edges_result(args, image):
    """``(values, binary)`` for one 0..1-scaled grey image."""
    op = args.operator
    if op == "canny":
        return imfilt.canny(image, 1.0 if args.sigma is None else args.sigma,
                            args.low, args.high, workers=args.workers), True
    if op in GRADIENT_OPERATORS:
        values = getattr(imfilt, op)(image, boundary=args.boundary, workers=args.workers)
    elif op == "roberts":
        values = imfilt.roberts(image, boundary=args.boundary, workers=args.workers)
    else:
        values = imfilt.laplace(image, boundary=args.boundary, workers=args.workers)
    if args.threshold is None:
        return values, False
    strength = np.abs(values)
    t = args.threshold
    if t == "otsu":
        from skimage.filters import threshold_otsu
        t = threshold_otsu(strength) if np.ptp(strength) > 0 else np.inf
    return strength >= t, True


def _check_edges_args(args):
    if args.operator != "canny":
        for flag in ("sigma", "low", "high"):
            if getattr(args, flag) is not None:
                raise _UsageError(f"--{flag} applies only to --operator canny "
                                  f"(got --operator {args.operator})")
    else:
        if args.threshold is not None:
            raise _UsageError("--threshold does not apply to --operator canny, whose output "
                              "is already binary; use --low and --high")
        low = 0.1 if args.low is None else args.low
        high = 0.2 if args.high is None else args.high
        if low > high:
            raise _UsageError(f"--low {low} is above --high {high}")


def _run_batch(args, tag, compute, render):
    """Read, compute and write every input; return the exit status."""
    report = _Reporter(args.quiet)
    files = _expand_inputs(args.inputs, report)
    plan = _plan_outputs(args, files, tag)
    if args.invert and any(fmt != "png" for _, _, fmt in plan):
        raise _UsageError("--invert applies to PNG output only")
    inputs_real = {os.path.realpath(f) for f in files}

    show_bar = not args.quiet and len(plan) > 1 and sys.stderr.isatty()
    if plan and _is_dir_mode(args, files) and not os.path.isdir(args.output):
        try:
            os.makedirs(args.output, exist_ok=True)
        except OSError as exc:
            report.error(f"cannot create output directory {args.output!r}: "
                         f"{exc.strerror or exc}")
            return EXIT_FAILED

    from tqdm import tqdm
    with tqdm(total=len(plan), disable=not show_bar, file=sys.stderr, unit="img",
              desc=f"imfilt {args.command}") as bar:
        report.bar = bar if show_bar else None
        for src, dst, fmt in plan:
            try:
                _process_one(args, src, dst, fmt, inputs_real, compute, render, report)
            except (KeyboardInterrupt, _UsageError):
                raise
            except Exception as exc:  # a bug or an exotic failure: still no traceback
                report.error(f"{src!r}: unexpected {type(exc).__name__}: {exc} "
                             "(please report this as an imfilt bug)")
            finally:
                bar.update(1)
        report.bar = None
    return EXIT_FAILED if report.failed else EXIT_OK


def _process_one(args, src, dst, fmt, inputs_real, compute, render, report):
    if os.path.realpath(dst) in inputs_real:
        report.error(f"refusing to write {dst!r}: it is an input file (inputs are never "
                     "overwritten); choose another output")
        return
    if os.path.exists(dst) and not args.overwrite:
        report.error(f"{dst!r} already exists; use --overwrite to replace it")
        return
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            grey, full_range = _io.read_grey(src)
        for w in caught:
            report.warning(str(w.message))
    except _io.ImageReadError as exc:
        report.error(f"cannot read {src!r}: {exc}")
        return
    except OSError as exc:
        report.error(f"cannot read {src!r}: {exc.strerror or exc}")
        return
    try:
        values, binary = compute(_unit_scale(grey, full_range))
    except (ValueError, TypeError) as exc:
        report.error(f"{src!r}: {exc}")
        return
    try:
        render(dst, values, fmt, binary)
    except OSError as exc:
        report.error(f"cannot write {dst!r}: {exc.strerror or exc}")


def _cmd_edges(args):
    _check_edges_args(args)
    return _run_batch(
        args, args.operator,
        lambda image: _edges_result(args, image),
        lambda dst, values, fmt, binary: _io.write_result(
            dst, values, fmt, binary=binary, scale="stretch", invert=args.invert))


def _cmd_convolve(args):
    if args.kernel is not None:
        kernel = _parse_kernel(args.kernel)
    else:
        kernel = _load_kernel_file(args.kernel_file)
    if args.normalize:
        total = kernel.sum()
        if total == 0:
            raise _UsageError("--normalize: the kernel sums to 0 and cannot be normalised")
        kernel = kernel / total
    return _run_batch(
        args, "convolved",
        lambda image: (imfilt.convolve(image, kernel, mode=args.mode, boundary=args.boundary,
                                       workers=args.workers), False),
        lambda dst, values, fmt, binary: _io.write_result(
            dst, values, fmt, binary=binary, scale=args.scale, full_range=1.0,
            invert=args.invert))


def _cmd_info(args):
    imfilt.show_config()
    return EXIT_OK


_COMMANDS = {"edges": _cmd_edges, "convolve": _cmd_convolve, "info": _cmd_info}


def main(argv=None):
    """Run the ``imfilt`` command line; return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 when some file could not be read or written, 2 for
        a usage error.

    Examples
    --------
    >>> from imfilt.cli import main
    >>> main(["--version"])  # doctest: +ELLIPSIS
    imfilt ...
    0
    >>> main(["info"])  # doctest: +ELLIPSIS
    imfilt ...
      OpenMP: ...
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return _COMMANDS[args.command](args)
    except _UsageError as exc:
        print(f"imfilt {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("imfilt: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for the user
        print(f"imfilt {args.command}: error: unexpected {type(exc).__name__}: {exc} "
              "(please report this as an imfilt bug)", file=sys.stderr)
        return EXIT_FAILED
