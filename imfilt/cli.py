"""The ``imfilt`` command-line tool (``imfilt ...`` or ``python -m imfilt ...``).

A thin consumer of the public API: argument parsing, file handling and
messages live here, every computation in :mod:`imfilt`.  One verb per
public filter (``imfilt gaussian --sigma 2 ...``), built from the table in
:mod:`imfilt._cli_verbs`.

Exit status: 0 on success; 1 when some input could not be read or some
output not written (the others are still processed); 2 for usage errors
(nothing is processed); 130 when interrupted (Ctrl-C), 143 on SIGTERM; 141
when the standard output is a closed pipe (``imfilt info | head -1``), with
no message.  Errors are one line each on stderr, naming the file, never a
traceback.

Files are safe: every output is written to a hidden temporary file in its
directory and renamed over the destination only when complete, so an
error, Ctrl-C or SIGTERM never leaves a partial output, and an output that
is the same file as an input (hard link, symbolic link, another spelling of
the path) is refused even with ``--overwrite``.
"""

import argparse
import concurrent.futures
import dataclasses
import inspect
import io
import math
import os
import re
import signal
import sys
import threading
import time
import warnings
from collections import deque

import numpy as np

import imfilt
from imfilt import _cli_verbs, _io
from imfilt._cli_verbs import VERBS, KernelError
from imfilt._modes import BOUNDARY_ALIASES, MODES
from imfilt._geometry import INT_PARAM_MAX
from imfilt._threads import resolve_workers
from imfilt._validation import gaussian_radius
from imfilt.edges import EDGE_OPERATORS
from imfilt.rank import check_rank_window

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED, EXIT_PIPE, EXIT_TERMINATED = 130, 141, 143

_EPILOG = """\
examples:
  imfilt edges photo.jpg -o edges.png
  imfilt edges photos/ -o out/ --operator canny --sigma 2 --recursive
  imfilt convolve photo.png -o blur.png --kernel "1 2 1; 2 4 2; 1 2 1" --normalize
  imfilt convolve photo.png -o dx.png --kernel sobel-x --scale per-image
  imfilt info

Colour, alpha and bit depth are kept by the per-channel verbs (a 16-bit
colour PNG gives a 16-bit colour PNG); --grey converts to luminance (ITU-R
BT.601) first and --depth 8|16|float chooses the stored depth.  Edge maps
are grey.  Intensities count in 0..1 units of the bit depth (255 for 8-bit,
65535 for 16-bit), so thresholds, sigmas of intensity, --fillvalue and
.npy/.tiff float values do not depend on it.  bilateral filters a colour
image as one (its colour weight is joint over the channels, as OpenCV's).

Outputs are written atomically (a temporary file renamed when complete);
inputs are never overwritten, even with --overwrite.  A file in an input
directory named as the output of another input (NAME_TAG next to NAME) is
taken for an earlier result: it is not filtered, and only --overwrite
replaces it.

exit status: 0 success, 1 some file could not be read or written, 2 usage
error, 130 interrupted (143 on SIGTERM), 141 standard output closed early
"""


class _UsageError(Exception):
    """A problem with the command line, reported with exit status 2."""


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (exit status 143)."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors name the program and verb."""

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


def _number_parser(flag, convert, kind, valid, requirement):
    """An argparse type: ``convert(text)``, then ``valid(value)`` or an error
    naming ``flag``, echoing the text and saying what is required."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {text!r} is not {kind}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"{flag} {text!r} must be {requirement}")
        return value
    return parse


def _positive_int(flag):
    return _number_parser(flag, int, "a whole number", lambda v: v >= 1, "at least 1")


def _non_negative_int(flag):
    return _number_parser(flag, int, "a whole number", lambda v: v >= 0, "at least 0")


def _non_negative(name):
    return _number_parser(name, float, "a number", lambda v: v >= 0 and np.isfinite(v),
                          "a finite number >= 0")


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


def _finite_float(flag):
    """argparse ``type=``: a finite number (NaN, inf and overflowing text refused)."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {text!r} is not a number") from None
        if not np.isfinite(value):
            raise argparse.ArgumentTypeError(f"{flag} {text!r} must be finite")
        return value
    return parse


def _option_type(opt):
    """argparse ``type=`` for a table option."""
    integer = opt.kind in ("int", "ints")
    several = opt.kind in ("floats", "ints")
    what = "whole number" if integer else "number"

    def one(tok, text):
        try:
            value = int(tok) if integer else float(tok)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{opt.flag} {text!r} is not a {what}"
                + (" (or one per axis: rows,cols)" if several else "")) from None
        if not integer and not np.isfinite(value):
            raise argparse.ArgumentTypeError(f"{opt.flag} {text!r} must be finite")
        if integer and abs(value) > INT_PARAM_MAX:
            raise argparse.ArgumentTypeError(
                f"{opt.flag} {text!r} is not valid; it must be at most 2**62")
        if opt.minimum is not None and (value < opt.minimum
                                        or (opt.strict and value == opt.minimum)):
            cmp = ">" if opt.strict else ">="
            raise argparse.ArgumentTypeError(
                f"{opt.flag} {text!r} is not valid; it must be {cmp} {opt.minimum:g}")
        return value

    def parse(text):
        if several:
            toks = re.split(r"\s*,\s*|\s+", text.strip())
            if not 1 <= len(toks) <= 2 or not all(toks):   # "3," and ",3" too
                raise argparse.ArgumentTypeError(
                    f"{opt.flag} {text!r}: give one value or two (rows,cols)")
            values = tuple(one(t, text) for t in toks)
            return values[0] if len(values) == 1 else values
        return one(text, text)
    return parse


# --------------------------------------------------------------------------
# parser


def _add_common(p, verb):
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files (PNG, JPEG, TIFF, BMP, GIF, WebP, .npy), directories "
                        "(every image inside), or - for standard input")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                   help="output file for one input (- = standard output), or a directory "
                        "(created if needed; always when several inputs or a directory are "
                        "given, or OUTPUT ends with /) receiving "
                        + (f"NAME_{verb.tag}.FORMAT" if verb.kind != "edges"
                           else "NAME_OPERATOR.FORMAT (NAME_sobel.png, ...)"))
    p.add_argument("--format", choices=sorted(_io.OUTPUT_FORMATS),
                   help="output format (default: from the OUTPUT suffix; else, for one "
                        "output file, the input file's format; for standard output or a "
                        "directory, the input's format when it is .npy or TIFF (values "
                        "kept); else png. Standard input's format is read from its first "
                        "bytes)")
    p.add_argument("--depth", choices=("8", "16", "float"),
                   help="stored depth: 8/16-bit integers or float32 values (default: the "
                        "input's depth where the format allows; float for .npy)")
    p.add_argument("--quality", type=_number_parser("--quality", int, "a whole number",
                                                     lambda v: 1 <= v <= 100, "from 1 to 100"),
                   default=95, metavar="Q",
                   help="JPEG/WebP quality 1..100 (default 95)")
    p.add_argument("--compress-level", type=int, choices=range(10), default=1, metavar="0-9",
                   help="PNG zlib level (default 1: fast; 9: smallest)")
    p.add_argument("--frame", type=_non_negative_int("--frame"), metavar="N",
                   help="only frame N (0-based) of multipage TIFF, GIF and WebP inputs "
                        "(default: every frame, to numbered outputs)")
    p.add_argument("--max-pixels", type=_non_negative_int("--max-pixels"),
                   default=_io.DEFAULT_MAX_PIXELS, metavar="N",
                   help="refuse images larger than N pixels, a safeguard against "
                        f"decompression bombs (default {_io.DEFAULT_MAX_PIXELS}; 0 = no limit)")
    p.add_argument("-r", "--recursive", action="store_true",
                   help="search directories recursively; the output mirrors the subfolders")
    p.add_argument("--jobs", type=_positive_int("--jobs"), metavar="N",
                   help="files processed at the same time (default: the number of cores)")
    p.add_argument("--workers", type=_workers, metavar="N",
                   help="threads per filter call (default: cores / jobs; -1 = all)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing output files (inputs are never overwritten)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar, summary or warnings (errors are still printed)")
    if verb.kind != "edges":
        p.add_argument("--grey", "--gray", action="store_true", dest="grey",
                       help="convert colour to luminance (ITU-R BT.601) before filtering")


def _add_scale(p, verb):
    if verb.kind == "edges":
        choices, text = ("per-image", "fixed", "none"), (
            "8/16-bit output: per-image maps each image's strongest response to white "
            "(default); fixed maps the operator's largest possible response to white, so "
            "a batch is comparable; none maps 1.0 to white and clips")
    else:
        choices, text = ("none", "per-image"), (
            "8/16-bit output: none keeps the image's intensity scale and clips"
            + (" (default)" if verb.scale == "none" else "")
            + "; per-image maps the largest |value| to white"
            + (" (default)" if verb.scale == "per-image" else ""))
    p.add_argument("--scale", choices=choices + ("clip", "stretch"), default=verb.scale,
                   metavar="{" + ",".join(choices) + "}",
                   help=text + " (clip = none, stretch = per-image)")
    p.add_argument("--invert", action="store_true", help="invert 8/16-bit output")


def _add_boundary(p, verb):
    accepted = verb.extra.get("accepted")
    if accepted is not None and "boundary" not in accepted:
        return
    default = "symm"
    try:
        param = inspect.signature(verb.function).parameters.get("boundary")
        # kernel verbs (convolve, correlate) run with symm unless told,
        # whatever the library function's own default ('fill')
        if param is not None and isinstance(param.default, str) and not verb.extra.get("kernel"):
            default = param.default
    except (TypeError, ValueError):  # pragma: no cover - no signature
        pass
    p.add_argument("--boundary", choices=list(BOUNDARY_ALIASES), default=None,
                   metavar=_cli_verbs.BOUNDARY_METAVAR,
                   help=_cli_verbs.boundary_help(default))
    if accepted is None or "fillvalue" in accepted:
        p.add_argument("--fillvalue", type=_finite_float("--fillvalue"), metavar="V",
                       help="value outside the image for --boundary fill (0..1 units)")


def _add_edges(p):
    p.add_argument("--operator", choices=EDGE_OPERATORS, default="sobel",
                   help="edge filter (default sobel)")
    p.add_argument("--boundary", choices=list(BOUNDARY_ALIASES), default=None,
                   metavar=_cli_verbs.BOUNDARY_METAVAR, help=_cli_verbs.boundary_help(
                       note=("; not for canny, which pads with zeros as scikit-image "
                             "does")))
    p.add_argument("--fillvalue", type=_finite_float("--fillvalue"), metavar="V",
                   help="value outside the image for --boundary fill (0..1 units)")
    p.add_argument("--size", type=int, choices=(3, 5, 7),
                   help="sobel only: aperture 3 (default), 5 or 7 (OpenCV's weights)")
    p.add_argument("--neighbors", type=int, choices=(4, 8),
                   help="laplace only: 4 or 8 neighbours (default 4)")
    p.add_argument("--sigma", type=_non_negative("--sigma"),
                   help="canny only: Gaussian smoothing in pixels (default 1.0)")
    p.add_argument("--low", type=_non_negative("--low"),
                   help="canny only: low hysteresis threshold on the gradient of the "
                        "0..1-scaled image (default 0.1)")
    p.add_argument("--high", type=_non_negative("--high"),
                   help="canny only: high hysteresis threshold (default 0.2)")
    p.add_argument("--threshold", type=_threshold, metavar="T|otsu",
                   help="binarise the response: keep |response| >= T (response of the "
                        "0..1-scaled image; Sobel gives 4 across a black-white step), "
                        "or choose T by Otsu's method")


def _add_kernel(p):
    k = p.add_mutually_exclusive_group(required=True)
    names = ", ".join(list(_cli_verbs.NAMED_KERNELS) + ["box:N", "gaussian:SIGMA"])
    k.add_argument("--kernel", metavar="KERNEL",
                   help='rows separated by ";" or new lines, values by spaces or commas '
                        '("1 2 1; 0 0 0; -1 -2 -1", "[[1,2,1],[0,0,0]]", fractions such as '
                        f"1/9), or a name: {names}.  Write --kernel=\"-1 0 1\" when the "
                        "first value is negative")
    k.add_argument("--kernel-file", metavar="FILE",
                   help="kernel from a .npy file or a text file in the --kernel syntax")
    p.add_argument("--normalize", action="store_true",
                   help="divide the kernel by the sum of its entries")
    p.add_argument("--mode", choices=MODES, default="same",
                   help="output size (default same: the image's shape)")


def _add_table_options(p, verb):
    for opt in verb.options:
        kwargs = {"help": opt.help, "dest": "opt_" + opt.flag[2:].replace("-", "_")}
        if opt.kind == "choice":
            kwargs.update(choices=opt.choices, default=opt.default)
        else:
            kwargs.update(type=_option_type(opt), default=opt.default,
                          metavar="V" if opt.kind in ("float", "int") else "V[,V]")
        if opt.required:
            kwargs["required"] = True
        p.add_argument(opt.flag, **kwargs)


def build_parser():
    """The argparse parser of the ``imfilt`` command."""
    width = max(len(n) for n in VERBS) + 2
    listing = "\n".join(f"  {n:<{width}}{v.summary}" for n, v in VERBS.items())
    parser = _Parser(
        prog="imfilt", usage="imfilt [-h] [--version] VERB INPUT... -o OUTPUT [options]",
        description="Fast, SciPy-exact image filtering from the command line.\n\n"
                    "verbs (imfilt VERB --help for the options of each):\n" + listing
                    + f"\n  {'info':<{width}}how imfilt was built (OpenMP, threads, versions)",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"imfilt {imfilt.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="VERB", required=True, prog="imfilt",
                                parser_class=_Parser, help=argparse.SUPPRESS)
    for name, verb in VERBS.items():
        aliases = [verb.tag] if verb.tag != name else []
        p = sub.add_parser(name, aliases=aliases,
                           description=f"{verb.summary[:1].upper()}{verb.summary[1:]} "
                                       f"(imfilt.{verb.func}).")
        p.set_defaults(verb=name)
        _add_common(p, verb)
        if verb.kind == "edges":
            _add_edges(p)
        else:
            if verb.extra.get("kernel"):
                _add_kernel(p)
            _add_table_options(p, verb)
            _add_boundary(p, verb)
        _add_scale(p, verb)
    info = sub.add_parser("info", description="Print imfilt.show_config(): version, OpenMP, build "
                                      "flags and thread settings.")
    info.set_defaults(verb="info")
    return parser


# --------------------------------------------------------------------------
# messages


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

    def info(self, text):
        if not self.quiet:
            self._write(f"imfilt: {text}")


def _cli_words(message, flags):
    """Replace Python wording (``mode='valid'``) by command-line words (``--mode valid``)."""
    def repl(m):
        name = m.group(1)
        if name not in flags:
            return m.group(0)
        value = m.group(2).strip("'\"")
        return f"{flags[name]} {value}"
    return re.sub(r"\b([a-z_]+)=('[^']*'|\"[^\"]*\"|[^\s,;)]+)", repl, message)


# --------------------------------------------------------------------------
# inputs and outputs


@dataclasses.dataclass
class _Task:
    src: str           # path, or '-'
    dst: str           # path, or '-'
    fmt: str
    rel: str = ""      # label in messages


def _is_image_name(name):
    return (not name.startswith(".")
            and os.path.splitext(name)[1].lower() in _io.IMAGE_SUFFIXES)


def _expand_inputs(args, report, out_real):
    """``[(file, root)]`` to process: root is the directory the file was found in
    (for mirroring), None for files named on the command line."""
    files = []
    for item in args.inputs:
        if item == "-":
            files.append(("-", None))
        elif os.path.isdir(item):
            found = []
            if args.recursive:
                for dirpath, dirnames, filenames in os.walk(item):
                    dirnames[:] = sorted(
                        d for d in dirnames if not d.startswith(".")
                        and os.path.realpath(os.path.join(dirpath, d)) != out_real)
                    found.extend(os.path.join(dirpath, n) for n in sorted(filenames)
                                 if _is_image_name(n))
            else:
                names = sorted(os.listdir(item))
                found = [os.path.join(item, n) for n in names
                         if _is_image_name(n) and os.path.isfile(os.path.join(item, n))]
                subdirs = [n for n in names if not n.startswith(".")
                           and os.path.isdir(os.path.join(item, n))]
                if subdirs:
                    report.info(f"{item!r}: {len(subdirs)} subfolder"
                                f"{'s' if len(subdirs) > 1 else ''} skipped; give "
                                "--recursive to process them")
            if not found:
                report.error(f"{item!r}: no image files in this directory "
                             f"(looked for {', '.join(_io.IMAGE_SUFFIXES)})")
            files.extend((f, item) for f in found)
        elif os.path.exists(item):
            files.append((item, None))
        else:
            report.error(f"cannot read {item!r}: no such file or directory")
    return files


def _is_dir_mode(args, files):
    out = args.output
    return (len(files) > 1 or any(os.path.isdir(i) for i in args.inputs if i != "-")
            or (out != "-" and os.path.isdir(out)) or out.endswith(("/", os.sep)))


def _stdin_bytes(args):
    """Standard input's bytes, read once: its content, having no suffix, is
    what names its format."""
    if getattr(args, "stdin_bytes", None) is None:
        args.stdin_bytes = sys.stdin.buffer.read()
    return args.stdin_bytes


def _input_format(src, args):
    """An output format named by the input: its suffix, or standard input's
    first bytes (None when neither names one)."""
    if src == "-":
        fmt = _io.content_format(_stdin_bytes(args)[:32])
    else:
        fmt = _io.SUFFIX_FORMAT.get(os.path.splitext(src)[1].lower())
    return fmt if fmt in _io.OUTPUT_FORMATS else None


def _value_format(src, args):
    """The input's format when it holds values (.npy, TIFF: floats and 16-bit
    kept), else None: standard output and directories of outputs default to
    PNG otherwise (a JPEG input is not compressed again with loss)."""
    fmt = _input_format(src, args)
    return fmt if fmt in ("npy", "tiff") else None


def _plan_dir(args, files, tag):
    out = args.output
    if os.path.exists(out) and not os.path.isdir(out):
        raise _UsageError(f"-o {out!r} is a file, but several images (or a directory) are "
                          "processed; give a directory (it is created if needed)")
    if (not os.path.isdir(out) and not out.endswith(("/", os.sep))
            and os.path.splitext(out)[1].lower() in _io.SUFFIX_FORMAT):
        raise _UsageError(f"-o {out!r} looks like a file name, but several images (or a "
                          "directory) are processed; give a directory, or end the name "
                          f"with / to create a directory called {os.path.basename(out)!r}")
    def fmt_of(f):
        return args.format or _value_format(f, args) or "png"

    def sub_dir(f, root):
        if root is None or not args.recursive:
            return ""
        return os.path.relpath(os.path.dirname(f), root)

    def base(f, root, with_ext):
        stem, ext = os.path.splitext(os.path.basename(f) if f != "-" else "stdin")
        if with_ext and ext:
            stem = f"{stem}_{ext[1:].lower()}"
        suffix = _io.OUTPUT_FORMATS[fmt_of(f)]
        return os.path.normpath(os.path.join(out, sub_dir(f, root), f"{stem}_{tag}{suffix}"))

    first = {}
    for f, root in files:
        first.setdefault(base(f, root, False), []).append(f)
    targets, used = [], set()
    for f, root in files:
        t = base(f, root, False)
        if len(first[t]) > 1:           # photo.jpg + photo.png -> photo_jpg_TAG, photo_png_TAG
            t = base(f, root, True)
        stem, sfx = os.path.splitext(t)
        n = 2
        while t in used:                # same names from different folders
            t = f"{stem}_{n}{sfx}"
            n += 1
        used.add(t)
        targets.append(t)
    return [_Task(f, t, fmt_of(f)) for (f, _), t in zip(files, targets)]


def _plan_outputs(args, files, tag, report):
    """``[_Task]``; raises _UsageError for impossible plans.

    Files found in a directory that are the output of another input of this
    run (results of an earlier run) are removed from ``files``, each with a
    message on ``report``.
    """
    if _is_dir_mode(args, files):
        if args.output == "-":
            raise _UsageError("-o - (standard output) takes one image; several were given")
        plan = _plan_dir(args, files, tag)
        # Never read this run's own outputs: a file found in a directory that is the
        # output of another input (a result of an earlier run) is not an input.
        targets = {os.path.realpath(t.dst) for t in plan}
        kept = [(f, root) for f, root in files
                if root is None or os.path.realpath(f) not in targets]
        if len(kept) != len(files):
            for item in files:
                if item not in kept:
                    report.info(f"{item[0]!r} is not filtered: it is named as the output of "
                                "another input, so it is taken for an earlier result"
                                + (" (and --overwrite replaces it)" if args.overwrite else ""))
            plan = _plan_dir(args, kept, tag)
            files[:] = kept
        return plan
    if not files:
        return []
    src = files[0][0]
    out = args.output
    if out == "-":
        return [_Task(src, "-", args.format or _value_format(src, args) or "png")]
    suffix = os.path.splitext(out)[1].lower()
    if suffix:
        if suffix not in _io.SUFFIX_FORMAT:
            raise _UsageError(
                f"-o {out!r}: unknown output suffix {suffix!r}; use "
                f"{', '.join(sorted(_io.SUFFIX_FORMAT))}, end the name with / for a "
                "directory, or give --format with a name without suffix")
        fmt = _io.SUFFIX_FORMAT[suffix]
        if args.format and args.format != fmt:
            raise _UsageError(f"--format {args.format} contradicts the output suffix of "
                              f"{out!r}")
    else:
        fmt = args.format or _input_format(src, args) or "png"
    return [_Task(src, out, fmt)]


def _numbered(dst, index, count):
    stem, suffix = os.path.splitext(dst)
    return f"{stem}_{index:0{max(1, len(str(count - 1)))}d}{suffix}"


def _check_depth(args, plan, verb):
    for task in plan:
        allowed = _io.FORMAT_DEPTHS[task.fmt]
        if args.depth and args.depth not in allowed:
            raise _UsageError(f"--depth {args.depth} cannot be stored in {task.fmt.upper()} "
                              f"({task.dst!r}); {task.fmt} stores "
                              f"{', '.join(allowed)}")
        if args.invert and task.fmt == "npy" or args.invert and args.depth == "float":
            raise _UsageError("--invert applies to 8/16-bit pictures only (not to .npy or "
                              "float output)")


# --------------------------------------------------------------------------
# computing one picture


def _unit(x, full_range):
    """Values scaled to 0..1 by the bit depth (float32, float64 kept).

    Signed integers scale to -1..1 as scikit-image's ``img_as_float``: the
    type's minimum (-128 for int8) is clipped to -1.
    """
    if x.dtype.kind == "f" and full_range == 1.0:
        return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)
    work = np.float64 if x.dtype == np.float64 else np.float32
    out = x.astype(work)
    out /= work(full_range)
    if x.dtype.kind == "i":
        np.maximum(out, -1, out=out)
    return out


def _default_depth(verb, fmt, pic):
    allowed = _io.FORMAT_DEPTHS[fmt]
    if fmt == "npy" or (verb.kind == "edges" and fmt == "tiff"):
        return "float"
    want = "8" if verb.kind == "edges" else pic.depth
    if want == "float" and want not in allowed:
        want = "16" if "16" in allowed else "8"
    return want if want in allowed else "8"


#: Pixels per row band of a large edge map (see _Job._banded_edges).
_EDGE_BAND_PIXELS = 1 << 21


class _Job:
    """Everything one verb needs to turn a Picture into stored pixels."""

    def __init__(self, args, verb, workers):
        self.args, self.verb, self.workers = args, verb, workers
        self.flags = {o.param: o.flag for o in verb.options if o.param}
        self.flags.update(mode="--mode", boundary="--boundary", fillvalue="--fillvalue",
                          workers="--workers")
        self.scale = {"clip": "none", "stretch": "per-image"}.get(args.scale, args.scale)
        if verb.kind == "edges":
            self._check_edges()
        else:
            self.kwargs = self._kwargs()
            self._probe()

    #: Filters whose arguments are valid or not whatever the image: one call
    #: on a small image checks them before any file, as a usage error.
    _PROBED = {"gaussian", "box", "unsharp_mask", "gaussian_laplace",
               "gaussian_gradient_magnitude", "difference_of_gaussians", "gabor", "bilateral"}

    def _probe(self):
        dstsize = self.kwargs.get("dstsize")
        if dstsize is not None and not isinstance(dstsize, tuple):
            raise _UsageError(f"--dstsize {dstsize}: give two values, rows,cols")
        size = self.kwargs.get("size")
        if self.verb.func in ("median", "rank_filter", "percentile_filter") and size is not None:
            sizes = size if isinstance(size, tuple) else (size, size)
            try:
                check_rank_window("size", size, math.prod(sizes))
            except ValueError as exc:
                raise _UsageError(_cli_words(str(exc), self.flags)) from None
        if self.verb.func in self._PROBED:
            try:
                self._call(np.zeros((8, 8), dtype=np.float32))
            except (ValueError, TypeError) as exc:
                raise _UsageError(_cli_words(str(exc), self.flags)) from None

    # -- edges
    def _check_edges(self):
        a = self.args
        op = a.operator
        for flag, ops in _cli_verbs.EDGE_OPTIONS.items():
            if getattr(a, flag) is not None and op not in ops:
                raise _UsageError(f"--{flag} does not apply to --operator {op}: --{flag} "
                                  f"applies only to --operator {', '.join(ops)}")
        if a.fillvalue is not None and (a.boundary or "symm") not in ("fill", "constant"):
            raise _UsageError("--fillvalue applies only to --boundary fill")
        if op == "canny":
            try:
                gaussian_radius("--sigma", 1.0 if a.sigma is None else a.sigma)
            except ValueError as exc:
                raise _UsageError(str(exc)) from None
            low = 0.1 if a.low is None else a.low
            high = 0.2 if a.high is None else a.high
            if low > high:
                raise _UsageError(f"--low {low} is above --high {high}")
            if self.scale == "fixed":
                raise _UsageError("--scale fixed does not apply to --operator canny, whose "
                                  "output is already binary")

    def _edges(self, grey, alpha):
        a = self.args
        op = a.operator
        mask = None if alpha is None else alpha > 0
        if op == "canny":
            kw = {"workers": self.workers}
            if mask is not None:
                kw["mask"] = mask
            return imfilt.canny(grey, 1.0 if a.sigma is None else a.sigma, a.low, a.high,
                                **kw), True
        values = self._edge_call(grey)
        if mask is not None:
            values = np.where(mask, values, values.dtype.type(0))
        if a.threshold is None:
            return values, False
        strength = np.abs(values)
        t = a.threshold
        if t == "otsu":
            from skimage.filters import threshold_otsu
            t = threshold_otsu(strength) if np.ptp(strength) > 0 else np.inf
        return strength >= t, True

    def _edge_call(self, grey):
        a = self.args
        kw = {"boundary": a.boundary or "symm", "workers": self.workers}
        if a.fillvalue is not None:
            kw["fillvalue"] = a.fillvalue
        if a.size is not None:
            kw["size"] = a.size
        if a.operator == "laplace":
            return imfilt.laplace(grey, a.neighbors or 4, **kw)
        return getattr(imfilt, a.operator)(grey, **kw)

    def _can_band(self, pixels, depth):
        a = self.args
        return (a.operator != "canny" and a.threshold != "otsu" and depth in ("8", "16")
                and (a.boundary or "symm") not in ("wrap",)
                and pixels.shape[0] > 3 * self._band_rows(pixels))

    @staticmethod
    def _band_rows(pixels):
        return max(8, _EDGE_BAND_PIXELS // max(1, pixels.shape[1]))

    def _banded_edges(self, pixels, full_range, alpha, depth, progress):
        """Edge map of a large image in row bands with a one-row halo.

        Every non-Canny operator is 3x3 (Roberts 2x2; Sobel ``--size`` 5 and
        7 reach two and three rows), so a band of rows computed with that
        many real rows above and below equals those rows of the whole-image
        result (the image's own border rule applies only at its
        first and last rows; 'wrap' is never banded).  Memory stays near the
        decoded image plus the output instead of a float32 copy of both, and
        the progress bar advances per band.  The per-image scale needs the
        maximum first: a first pass computes it band by band.
        """
        a = self.args
        rows = pixels.shape[0]
        step = self._band_rows(pixels)
        reach = (a.size or 3) // 2

        def band(r0):
            r1 = min(rows, r0 + step)
            lo, hi = max(0, r0 - reach), min(rows, r1 + reach)
            chunk = pixels[lo:hi]
            if chunk.ndim == 3:
                chunk = _io.luminance(chunk)
            v = self._edge_call(_unit(chunk, full_range))[r0 - lo:r1 - lo]
            if alpha is not None:
                v = np.where(alpha[r0:r1] > 0, v, v.dtype.type(0))
            return r1, v

        scale, top, binary = self.scale, None, a.threshold is not None
        if binary:
            scale = "none"
        elif scale == "fixed":
            top = self._edge_top()
        elif scale == "per-image":
            top = 0.0
            for r0 in range(0, rows, step):
                top = max(top, _io._finite_max_abs(band(r0)[1]))
            scale = "fixed"
        out = np.empty(pixels.shape[:2], np.uint8 if depth == "8" else np.uint16)
        for r0 in range(0, rows, step):
            r1, v = band(r0)
            if binary:
                v = np.abs(v) >= a.threshold
            out[r0:r1] = _io.to_depth(v, depth, scale=scale, top=top if top else None,
                                      binary=binary, invert=a.invert)
            if progress is not None:
                progress(r1 - r0)
        return out

    def _edge_top(self):
        op = self.args.operator
        if op == "laplace" and self.args.neighbors == 8:
            op = "laplace8"
        if op == "sobel" and self.args.size in (5, 7):
            op = f"sobel{self.args.size}"
        return _cli_verbs.EDGE_TOPS[op]

    # -- table verbs
    def _kwargs(self):
        a, verb = self.args, self.verb
        kw = {}
        for opt in verb.options:
            value = getattr(a, "opt_" + opt.flag[2:].replace("-", "_"))
            if opt.param is not None and value is not None:
                kw[opt.param] = value
        if verb.extra.get("kernel"):
            kernel = (_cli_verbs.kernel_from_text(a.kernel) if a.kernel is not None
                      else _cli_verbs.load_kernel_file(a.kernel_file))
            if a.normalize:
                with np.errstate(over="ignore"):
                    total = kernel.sum()
                if total == 0 or not np.isfinite(total):
                    raise _UsageError(f"--normalize: the kernel sums to {total} and cannot be "
                                      "normalised")
                kernel = kernel / total
            kw["kernel"] = kernel
            kw["mode"] = a.mode
            kw.setdefault("boundary", "symm")
        if getattr(a, "boundary", None) is not None:
            kw["boundary"] = a.boundary
        if getattr(a, "fillvalue", None) is not None:
            if (a.boundary or kw.get("boundary")) not in ("fill", "constant"):
                raise _UsageError("--fillvalue applies only to --boundary fill")
            kw["fillvalue"] = a.fillvalue
        accepted = verb.extra.get("accepted")
        if accepted is None or "workers" in accepted:
            kw["workers"] = self.workers
        return kw

    def _call(self, image, full_range=1.0, **more):
        """The verb's function on ``image``, whose white is ``full_range``."""
        func = self.verb.function
        kw = dict(self.kwargs, **more)
        if full_range != 1.0 and "fillvalue" in kw:
            kw["fillvalue"] = kw["fillvalue"] * full_range   # 0..1 units -> stored values
        if self.verb.kind == "resample" and self.verb.func.endswith("pool2d"):
            kernel_size = kw.pop("kernel_size")
            return func(image, kernel_size, **kw)
        if self.verb.extra.get("kernel"):
            kernel = kw.pop("kernel")
            return func(image, kernel, **kw)
        result = func(image, **kw)
        if isinstance(result, tuple):         # gabor: (real, imag)
            result = result[0 if self.args.opt_part == "real" else 1]
        return result

    def _channels(self, image, full_range):
        if image.ndim == 2:
            return self._call(image, full_range)
        accepted = self.verb.extra.get("accepted")
        if accepted is not None and "channel_axis" in accepted:
            # One call: the library filters each channel on its own, equal to
            # the loop below, without a copy per channel.
            return self._call(image, full_range, channel_axis=-1)
        return np.stack([self._call(np.ascontiguousarray(image[:, :, c]), full_range)
                         for c in range(image.shape[2])], axis=-1)

    # -- one picture
    def render(self, pic, fmt, warn, progress=None):
        """Stored pixels for ``pic`` in format ``fmt``."""
        a, verb = self.args, self.verb
        depth = a.depth or _default_depth(verb, fmt, pic)
        alpha = pic.alpha
        if verb.kind == "edges":
            if self._can_band(pic.pixels, depth):
                return self._banded_edges(pic.pixels, pic.full_range, alpha, depth, progress)
            pixels = pic.pixels if pic.pixels.ndim == 2 else _io.luminance(pic.pixels)
            grey = _unit(pixels, pic.full_range)
            values, binary = self._edges(grey, alpha)
            top = self._edge_top() if self.scale == "fixed" else None
            return _io.to_depth(values, depth, scale=self.scale, top=top, binary=binary,
                                invert=a.invert, progress=progress)
        pixels = pic.pixels
        if a.grey and pixels.ndim == 3:
            pixels = _io.luminance(pixels)
        if verb.scale_free and depth != "float" and pixels.dtype.kind in "ui":
            # Filter the stored values; to_depth scales the result once.
            image, full_range = pixels, float(pic.full_range)
        else:
            image, full_range = _unit(pixels, pic.full_range), 1.0
        result = self._channels(image, full_range)
        out = _io.to_depth(result, depth, scale=self.scale, full_range=full_range,
                           invert=a.invert, progress=progress)
        if alpha is None or fmt == "jpeg":
            if alpha is not None:
                warn("JPEG has no alpha channel; transparency dropped")
            return out
        unit_alpha = _unit(alpha, pic.full_range)
        if verb.kind == "resample":
            unit_alpha = self._call(unit_alpha)
        if unit_alpha.shape != out.shape[:2]:
            warn(f"alpha dropped: the result has shape {out.shape[:2]}, the image "
                 f"{alpha.shape}")
            return out
        stored_alpha = _io.to_depth(unit_alpha, depth, scale="none", full_range=1.0)
        if out.ndim == 2:
            return np.dstack([out, stored_alpha])
        return np.concatenate([out, stored_alpha[:, :, None]], axis=2)


# --------------------------------------------------------------------------
# running a batch


@dataclasses.dataclass
class _Outcome:
    written: int = 0
    errors: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)
    stop: bool = False      # no point in going on (disk full)
    pipe_closed: bool = False


class _Runner:
    def __init__(self, args, verb, plan, inputs_ids, report):
        self.args, self.verb, self.plan, self.report = args, verb, plan, report
        self.inputs_ids = inputs_ids
        self.guard = _io.OutputGuard()
        cores = imfilt.get_workers()
        self.jobs = min(args.jobs or cores, max(1, len(plan)))
        workers = args.workers or max(1, cores // self.jobs)
        self.job = _Job(args, verb, workers)
        self.band_bar = None

    def _same_input(self, dst):
        try:
            st = os.stat(dst)
        except OSError:
            return None
        return self.inputs_ids.get((st.st_dev, st.st_ino))

    def run_one(self, task):
        args, outcome = self.args, _Outcome()
        src_name = "standard input" if task.src == "-" else repr(task.src)
        if task.dst != "-":
            same = self._same_input(task.dst)
            if same is not None:
                outcome.errors.append(
                    f"refusing to write {task.dst!r}: it is the same file as the input "
                    f"{same!r} (inputs are never overwritten, even with --overwrite); "
                    "choose another output")
                return outcome
            if (os.path.lexists(task.dst) and not args.overwrite
                    and not _io.is_special_file(task.dst)):   # /dev/null is written into
                outcome.errors.append(f"{task.dst!r} already exists; use --overwrite to "
                                      "replace it")
                return outcome
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                pictures = _io.read_frames(task.src, frame=args.frame,
                                           max_pixels=args.max_pixels,
                                           grey=self.verb.kind == "edges"
                                           or getattr(args, "grey", False),
                                           stdin=io.BytesIO(_stdin_bytes(args))
                                           if task.src == "-" else None)
            outcome.warnings.extend(f"{src_name}: {w.message}" for w in caught)
        except _io.ImageReadError as exc:
            outcome.errors.append(f"cannot read {src_name}: {exc}")
            return outcome
        except OSError as exc:
            outcome.errors.append(f"cannot read {src_name}: {_io.describe_os_error(exc)}")
            return outcome
        if task.dst == "-" and len(pictures) > 1:
            outcome.errors.append(f"{src_name} has {len(pictures)} frames; standard output "
                                  "takes one: give --frame N")
            return outcome
        for index, pic in enumerate(pictures):
            dst = task.dst if len(pictures) == 1 else _numbered(task.dst, index, len(pictures))
            try:
                pixels = self.job.render(
                    pic, task.fmt, lambda text: outcome.warnings.append(f"{src_name}: {text}"),
                    progress=self.band_bar.update if self.band_bar is not None else None)
            except (ValueError, TypeError) as exc:
                outcome.errors.append(f"{src_name}: {_cli_words(str(exc), self.job.flags)}")
                return outcome
            except MemoryError as exc:
                outcome.errors.append(f"{src_name}: not enough memory for these options "
                                      f"({_cli_words(str(exc), self.job.flags)})")
                return outcome
            if dst == "-":
                buffer = io.BytesIO()
                _io.encode(buffer, pixels, task.fmt, quality=args.quality,
                           compress_level=args.compress_level)
                try:
                    view = memoryview(buffer.getbuffer())
                    while view:          # a pipe may take only part of a large write
                        view = view[sys.stdout.buffer.write(view):]
                    sys.stdout.buffer.flush()
                except BrokenPipeError:
                    outcome.pipe_closed = True
                    return outcome
                except OSError as exc:
                    outcome.errors.append("cannot write standard output: "
                                          f"{_io.describe_os_error(exc)}")
                    return outcome
                outcome.written += 1
                continue
            if dst != task.dst and os.path.lexists(dst) and not args.overwrite:
                outcome.errors.append(f"{dst!r} already exists; use --overwrite to replace it")
                continue
            try:
                self.guard.write(dst, lambda f: _io.encode(
                    f, pixels, task.fmt, quality=args.quality,
                    compress_level=args.compress_level))
            except _io.Cancelled:
                return outcome
            except OSError as exc:
                outcome.errors.append(f"cannot write {dst!r}: {_io.describe_os_error(exc)}")
                outcome.stop = exc.errno == 28   # ENOSPC: the next ones would fail too
                return outcome
            outcome.written += 1
        return outcome

    def _guarded(self, task):
        try:
            return self.run_one(task)
        except _io.Cancelled:
            return _Outcome()
        except Exception as exc:  # a bug or an exotic failure: still no traceback
            src = "standard input" if task.src == "-" else repr(task.src)
            return _Outcome(errors=[f"{src}: unexpected {type(exc).__name__}: {exc} "
                                    "(please report this as an imfilt bug)"])

    def run(self):
        """Process the plan; return the exit status (interruptions propagate)."""
        args, report = self.args, self.report
        from tqdm import tqdm
        tty = not args.quiet and sys.stderr.isatty()
        show_bar = tty and len(self.plan) > 1
        self.written = self.failed = self.done = 0
        self.start = time.perf_counter()
        with tqdm(total=len(self.plan), disable=not show_bar, file=sys.stderr, unit="img",
                  desc=f"imfilt {self.verb.name}") as bar:
            report.bar = bar if show_bar else None
            if tty and len(self.plan) == 1:
                self.band_bar = tqdm(disable=False, file=sys.stderr, unit="row", leave=False,
                                     desc=f"imfilt {self.verb.name}")
            pool = concurrent.futures.ThreadPoolExecutor(self.jobs,
                                                         thread_name_prefix="imfilt-cli")
            self.pending = deque()
            try:
                stopped = False
                for task in self.plan:
                    while len(self.pending) > self.jobs and not stopped:
                        stopped = self._collect(bar)
                    if stopped:
                        break
                    self.pending.append(pool.submit(self._guarded, task))
                while self.pending:
                    self._collect(bar)
            except BaseException:
                self.guard.cancel()
                for fut in self.pending:
                    fut.cancel()
                raise
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
                report.bar = None
                if self.band_bar is not None:
                    self.band_bar.close()
        return EXIT_FAILED if report.failed else EXIT_OK

    def _collect(self, bar):
        outcome = self.pending.popleft().result()
        if outcome.pipe_closed:
            raise BrokenPipeError()
        self.done += 1
        self.written += outcome.written
        for text in outcome.warnings:
            self.report.warning(text)
        for text in outcome.errors:
            self.report.error(text)
        if outcome.errors:
            self.failed += 1
        bar.update(1)
        if outcome.stop:
            self.guard.cancel()
            for fut in self.pending:
                fut.cancel()
            self.report.error("stopping: no space left on device")
            self.pending.clear()
            return True
        return False

    def summary(self, interrupted=False):
        elapsed = time.perf_counter() - self.start
        not_done = len(self.plan) - self.done
        text = (f"{self.written} written, {self.failed} failed"
                + (f", {not_done} not processed" if not_done else "")
                + f" in {elapsed:.1f} s")
        return ("interrupted: " + text) if interrupted else text


def _run(args, verb):
    report = _Reporter(args.quiet)
    # A warning from inside a computation (NumPy's "All-NaN slice", an
    # overflow in a cast) is one "imfilt: warning:" line, silenced by -q,
    # not Python's two lines with a source path.
    shown = warnings.showwarning
    warnings.showwarning = lambda message, *rest, **kw: report.warning(str(message))
    try:
        return _run_reported(args, verb, report)
    finally:
        warnings.showwarning = shown


def _run_reported(args, verb, report):
    job = _Job(args, verb, args.workers)          # validates options before any file
    del job
    out_real = os.path.realpath(args.output) if args.output != "-" else None
    files = _expand_inputs(args, report, out_real)
    if [f for f, _ in files].count("-") > 1:
        raise _UsageError("- (standard input) can be given once")
    plan = _plan_outputs(args, files, verb.tag if verb.kind != "edges" else args.operator,
                         report)
    _check_depth(args, plan, verb)
    if args.output != "-" and plan and _is_dir_mode(args, files):
        dirs = {os.path.dirname(t.dst) for t in plan}
        for d in sorted(dirs):
            try:
                os.makedirs(d, exist_ok=True)
            except OSError as exc:
                report.error(f"cannot create output directory {d!r}: "
                             f"{_io.describe_os_error(exc)}")
                return EXIT_FAILED
    inputs_ids = {}
    for f, _ in files:
        if f != "-":
            try:
                st = os.stat(f)
            except OSError:
                continue
            inputs_ids.setdefault((st.st_dev, st.st_ino), f)
    runner = _Runner(args, verb, plan, inputs_ids, report)
    try:
        status = runner.run()
    except KeyboardInterrupt as exc:
        print(f"imfilt {verb.name}: {runner.summary(interrupted=True)}", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(exc, _Terminated) else EXIT_INTERRUPTED
    if len(plan) > 1 and not args.quiet:
        print(f"imfilt {verb.name}: {runner.summary()}", file=sys.stderr)
    return status


def _cmd_info(args):
    imfilt.show_config()
    sys.stdout.flush()
    return EXIT_OK


def _on_sigterm(signum, frame):
    raise _Terminated()


def _quiet_stdout():
    """After a closed pipe: point stdout at /dev/null so the exit flush is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


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
        a usage error, 130 when interrupted (143 on SIGTERM), 141 when the
        standard output was closed early (``imfilt info | head -1``).

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
    status = _main(argv)
    if argv is None and status in (EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_PIPE):
        # The real command line: exit at once (worker threads may still be finishing a
        # filter call; they can no longer write anything).
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(status)
    return status


def _main(argv):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_PIPE
    name = args.verb
    old_term = None
    if threading.current_thread() is threading.main_thread():
        old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        if name == "info":
            return _cmd_info(args)
        return _run(args, VERBS[name])
    except (_UsageError, KernelError) as exc:
        print(f"imfilt {name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_PIPE
    except KeyboardInterrupt as exc:
        print(f"imfilt {name}: interrupted", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(exc, _Terminated) else EXIT_INTERRUPTED
    except Exception as exc:  # never a traceback for the user
        print(f"imfilt {name}: error: unexpected {type(exc).__name__}: {exc} "
              "(please report this as an imfilt bug)", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)

