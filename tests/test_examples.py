"""The example scripts are tested consumers of the public API."""

import runpy
import sys
from pathlib import Path

import numpy as np
from PIL import Image

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_convolve_photo_writes_an_edge_png(tmp_path, monkeypatch, capsys):
    out = tmp_path / "edges.png"
    monkeypatch.setattr(sys, "argv", ["convolve_photo.py", "-o", str(out)])
    try:
        runpy.run_path(str(EXAMPLES / "convolve_photo.py"), run_name="__main__")
    except SystemExit as exc:
        assert exc.code == 0
    img = np.asarray(Image.open(out))
    assert img.shape == (512, 512) and img.dtype == np.uint8
    assert img.max() == 255 and 0 < (img > 64).mean() < 0.25  # an edge map, not noise
    assert "wrote" in capsys.readouterr().out


def test_readme_commands_are_what_ci_runs():
    root = EXAMPLES.parent
    readme = (root / "README.md").read_text().splitlines()
    fence = readme.index("```bash")
    assert readme[fence + 1].startswith("pip install . && imfilt edges ")
    assert readme[fence + 2] == 'pip install -e ".[test]" && python -m pytest'
    ci = (root / ".ci" / "run").read_text()
    assert "README.md" in ci and "eval \"$test_cmd\"" in ci
