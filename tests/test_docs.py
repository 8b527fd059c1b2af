"""The documentation sources: what CI builds, and gallery scripts Sphinx can render.

The site itself is built by ``.ci/run`` (``sphinx-build -W``, every gallery
script executed); these checks are the fast part that needs no Sphinx.
"""

import ast
import re
from pathlib import Path

import pytest

import imfilt

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GALLERY = sorted((DOCS / "examples").rglob("plot_*.py"))


def test_readme_docs_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text().splitlines()
    cmds = [line for line in readme if line.startswith('pip install ".[docs]" && sphinx-build ')]
    assert cmds == ['pip install ".[docs]" && sphinx-build -W -q -b html docs docs/_build/html']
    ci = (ROOT / ".ci" / "run").read_text()
    assert "grep -m1 -E '^pip install \"\\.\\[docs\\]\" && sphinx-build ' README.md" in ci
    assert 'eval "$docs_cmd"' in ci
    # The docs step comes after the README's test command.
    assert ci.index('eval "$test_cmd"') < ci.index('eval "$docs_cmd"')


def test_docs_extra_lists_the_build_tools():
    text = (ROOT / "pyproject.toml").read_text()
    extra = re.search(r"^docs = \[(.*?)\]", text, re.S | re.M).group(1)
    for package in ("sphinx", "numpydoc", "pydata-sphinx-theme", "sphinx-gallery",
                    "matplotlib"):
        assert f'"{package}' in extra, package


def test_gallery_exists():
    names = {p.name for p in GALLERY}
    assert {"plot_edge_filters.py", "plot_canny_thresholds.py", "plot_boundary_modes.py",
            "plot_pooling.py", "plot_fcn_walkthrough.py", "plot_upsampling_pyramids.py",
            "plot_convolution.py", "plot_dask_chunks.py",
            "plot_benchmarks.py"} <= names
    for folder in {p.parent for p in GALLERY} | {DOCS / "examples"}:
        assert (folder / "README.txt").is_file(), folder


@pytest.mark.parametrize("path", GALLERY, ids=lambda p: p.name)
def test_gallery_script_has_a_title_and_real_requirements(path):
    source = path.read_text()
    tree = ast.parse(source)  # a syntax error would fail the docs build late
    doc = ast.get_docstring(tree)
    assert doc, "sphinx-gallery needs a docstring with a title"
    title, underline = doc.splitlines()[:2]
    assert set(underline) == {"="} and len(underline) >= len(title)
    required = re.findall(r"^# requires imfilt: (.*)$", source, re.M)
    for line in required:
        for name in (n.strip() for n in line.split(",")):
            assert name.isidentifier(), name
            # The script guards itself too, so it can be run on its own.
            assert f'"{name}"' in source, f"{path.name} does not check for {name}"
    # Scripts without a requirement line may only use functions imfilt has now.
    if not required:
        used = set(re.findall(r"\bimfilt\.([a-z_][a-z0-9_]*)\(", source))
        missing = sorted(n for n in used if not hasattr(imfilt, n))
        assert not missing, f"{path.name} calls {missing}, not in imfilt"


def test_every_public_docstring_is_filled():
    # Docstrings built from shared paragraphs (``%(name)s``) must have had
    # them filled in: a function that lost its decorator shows the raw text.
    import imfilt.dask
    raw = [f"{m.__name__}.{n}" for m in (imfilt, imfilt.dask) for n in m.__all__
           if callable(getattr(m, n)) and re.search(r"%\(\w+\)s", getattr(m, n).__doc__ or "")]
    assert raw == []
