"""Sphinx configuration of the imfilt documentation.

Build from the repository root with::

    sphinx-build -W -q -b html docs docs/_build/html

imfilt is imported from the source tree when it has been built there
(``python setup.py build_ext --inplace``), otherwise from the installed
package.  The API reference is generated from ``imfilt.__all__`` and
``imfilt.dask.__all__`` at build time, so new public functions appear
without editing these files.  Gallery scripts whose imfilt functions are
missing from this build are rendered without being run.
"""

import argparse
import importlib
import inspect
import os
import re
import sys
from pathlib import Path

from sphinx.util import logging as sphinx_logging

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

# -- imfilt: the source tree when it holds a build, else the installed package --
_kernels = ROOT / "imfilt" / "_kernels"
if any(_kernels.rglob("_conv*.so")) or any(_kernels.rglob("_conv*.pyd")):  # dispatch: _cpu_<level>/
    sys.path.insert(0, str(ROOT))
else:  # an unbuilt source tree on the path would shadow the installed package
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT]
import imfilt  # noqa: E402

# -- project -----------------------------------------------------------------
project = "imfilt"
author = "the imfilt developers"
copyright = "the imfilt developers"
release = imfilt.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints"]
templates_path = ["_templates"]
default_role = "literal"  # `x` in prose renders as code, never as a failed reference
pygments_style = "sphinx"

# -- autodoc / autosummary / numpydoc --------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False
# Checks every public docstring must pass (the build fails otherwise):
# GL08 it exists, PR01/PR02 every parameter is documented and nothing else,
# RT01 a Returns section, EX01 an Examples section.  The rest of numpydoc's
# style checks (line lengths, full stops, ...) are left to review.
numpydoc_validation_checks = {"GL08", "PR01", "PR02", "RT01", "EX01"}

# -- the API reference: generated from __all__ at build time ---------------------
#: Section titles for the modules that hold public functions; a module not
#: listed here gets the first line of its own docstring as its title.
SECTION_TITLES = {
    "imfilt.convolution": "Convolution and correlation",
    "imfilt.edges": "Edge filters",
    "imfilt.smoothing": "Smoothing",
    "imfilt.rank": "Median and rank filters",
    "imfilt.morphology": "Morphology",
    "imfilt.bilateral": "Bilateral filter",
    "imfilt.layers": "Network layers",
    "imfilt.pooling": "Pooling and unpooling",
    "imfilt.upsampling": "Upsampling and pyramids",
    "imfilt._threads": "Threads and build information",
}
SECTION_ORDER = list(SECTION_TITLES)


def _section_of(obj):
    module = getattr(obj, "__module__", None) or "imfilt"
    if module in SECTION_TITLES:
        return module, SECTION_TITLES[module]
    doc = inspect.getdoc(sys.modules.get(module)) or module
    return module, doc.splitlines()[0].rstrip(".")


def _write_if_changed(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _autosummary(names, toctree="generated"):
    lines = [".. autosummary::", f"   :toctree: {toctree}", "   :nosignatures:", ""]
    lines += [f"   {name}" for name in names]
    return "\n".join(lines) + "\n\n"


def generate_api_lists():
    """Write the pages ``api/imfilt.rst`` and ``api/imfilt.dask.rst``."""
    sections, constants = {}, []
    for name in imfilt.__all__:
        if name.startswith("__"):
            continue
        obj = getattr(imfilt, name)
        if callable(obj):
            module, title = _section_of(obj)
            sections.setdefault((module, title), []).append(f"imfilt.{name}")
        else:
            constants.append((name, obj))
    order = {m: i for i, m in enumerate(SECTION_ORDER)}
    parts = [_GENERATED, "``imfilt``\n==========\n\n",
             "Every public function of :mod:`imfilt` (the names in ``imfilt.__all__``), "
             "grouped by what it does.\n\n"]
    for (module, title), names in sorted(sections.items(),
                                         key=lambda kv: (order.get(kv[0][0], 50), kv[0][1])):
        parts.append(f"{title}\n{'-' * len(title)}\n\n")
        parts.append(_autosummary(names))
    if constants:
        parts.append("Constants\n---------\n\n")
        rows = [".. list-table::", "   :header-rows: 1", "   :widths: 25 75", "",
                "   * - name", "     - value"]
        for name, value in constants:
            rows += [f"   * - ``imfilt.{name}``", f"     - ``{value!r}``"]
        parts.append("\n".join(rows) + "\n")
    _write_if_changed(DOCS / "api" / "imfilt.rst", "".join(parts))

    text = [_GENERATED, "``imfilt.dask``\n===============\n\n"]
    try:
        dask_mod = importlib.import_module("imfilt.dask")
    except ImportError:
        text.append("Dask is not installed where this site was built, so the functions "
                    "of ``imfilt.dask`` are not listed.\n")
    else:
        text.append(".. automodule:: imfilt.dask\n   :no-members:\n\n"
                    "See also :doc:`../user_guide/large`.\n\n"
                    + _autosummary(list(dask_mod.__all__)))
    _write_if_changed(DOCS / "api" / "imfilt.dask.rst", "".join(text))


_GENERATED = ".. This page is generated by docs/conf.py at build time; do not edit.\n\n"


def generate_cli_help():
    """Write the ``--help`` text of the command-line tool and its subcommands."""
    from imfilt import cli

    os.environ["COLUMNS"] = "88"  # argparse wraps to this width
    parser = cli.build_parser()
    blocks = [("imfilt --help", parser.format_help())]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                blocks.append((f"imfilt {name} --help", sub.format_help()))
    text = []
    for title, body in blocks:
        text += [f"``{title}``", "", ".. code-block:: text", ""]
        text += ["   " + line if line else "" for line in body.rstrip().splitlines()]
        text.append("")
    _write_if_changed(DOCS / "user_guide" / "_cli_help.inc",
                      _GENERATED + "\n".join(text) + "\n")


generate_api_lists()
generate_cli_help()

# -- sphinx-gallery: run the scripts whose imfilt functions exist ----------------
GALLERY = DOCS / "examples"


def _required_functions(path):
    """Names listed on a ``# requires imfilt: a, b`` line of a gallery script."""
    for line in path.read_text().splitlines():
        m = re.match(r"#\s*requires imfilt:\s*(.*)$", line.strip())
        if m:
            return [n.strip() for n in m.group(1).split(",") if n.strip()]
    return []


def _runnable_scripts():
    runnable, skipped = [], []
    for path in sorted(GALLERY.rglob("plot_*.py")):
        missing = [n for n in _required_functions(path) if not hasattr(imfilt, n)]
        (skipped if missing else runnable).append(path.name)
        if missing:
            # sphinx-gallery skips unchanged scripts on the next build (by their
            # checksum): forget it, so the script runs once its functions exist.
            copy = DOCS / "auto_examples" / path.relative_to(GALLERY)
            Path(f"{copy}.md5").unlink(missing_ok=True)
    return runnable, skipped


RUNNABLE, SKIPPED = _runnable_scripts()
if SKIPPED:
    sphinx_logging.getLogger("imfilt.docs").info(
        "gallery: not running %s (the imfilt functions they need are not in this build)",
        ", ".join(SKIPPED))

sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": "/(" + "|".join(re.escape(n) for n in RUNNABLE) + ")$"
                        if RUNNABLE else r"^$",
    "within_subsection_order": "FileNameSortKey",
    "subsection_order": ["examples/convolution", "examples/edges", "examples/boundaries",
                         "examples/filters", "examples/networks", "*",
                         "examples/performance"],
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "show_signature": False,
    "min_reported_time": 1e9,  # no "Total running time" noise on each page
    "write_computation_times": False,
    "reset_modules": ("matplotlib",),
    "doc_module": ("imfilt",),
    "backreferences_dir": "api/backreferences",
    "exclude_implicit_doc": {r"imfilt\._.*"},
}

# -- HTML --------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"imfilt {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"index": []}
html_static_path = []
html_show_sourcelink = False
html_copy_source = False
