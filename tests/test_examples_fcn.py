"""The FCN walk-through example runs, asserts its equivalences and writes its maps."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fcn_walkthrough.py"


def load_example():
    spec = importlib.util.spec_from_file_location("fcn_walkthrough", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fcn_walkthrough_runs_and_writes_pngs(tmp_path, capsys):
    pytest.importorskip("PIL")
    module = load_example()
    assert module.main([str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "FC-as-conv: 10x10 score map == the classifier slid over every 7x7 window" in text
    assert "(512, 512)" in text
    from PIL import Image

    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert "00_input.png" in pngs and "08_segmentation_full.png" in pngs
    assert len(pngs) >= 12
    seg = np.asarray(Image.open(tmp_path / "08_segmentation_full.png"))
    assert seg.shape == (512, 512, 3)
    small = np.asarray(Image.open(tmp_path / "01_pool5_1-32.png"))
    assert small.shape == (16, 16)


def test_fcn_walkthrough_is_deterministic(tmp_path):
    module = load_example()
    module.main([str(tmp_path / "a")])
    module.main([str(tmp_path / "b")])
    a = np.asarray(__import__("PIL.Image").Image.open(tmp_path / "a" / "09_overlay.png"))
    b = np.asarray(__import__("PIL.Image").Image.open(tmp_path / "b" / "09_overlay.png"))
    assert np.array_equal(a, b)
