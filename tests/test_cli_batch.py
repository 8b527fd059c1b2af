"""Batches through the command line: output directories, recursion, name collisions,
never reading this run's own outputs, concurrency equal to a serial run, the
end-of-batch summary and the scales of edge maps.

Rules: ``-o DIR`` is a directory (created if needed) whenever several inputs
or a directory are given, or the name ends with ``/``; one input with ``-o
NAME`` and no suffix is written in ``--format`` or the input's format;
``--recursive`` mirrors subfolders; inputs whose names would collide get the
input's extension in the name (``photo.jpg`` -> ``photo_jpg_sobel.png``); a file
found in a directory that is the output of another input of the run is not an
input; files run concurrently with output bytes identical to ``--jobs 1``.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import skimage.data
from PIL import Image

import imfilt
from imfilt import _cli_verbs, _io
from imfilt.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(imfilt.__file__)))
ENV = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))


def run(argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def listing(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, files in os.walk(root) for f in files)


@pytest.fixture
def tree(tmp_path):
    cam = skimage.data.camera()[::8, ::8].copy()
    root = tmp_path / "photos"
    (root / "2024" / "summer").mkdir(parents=True)
    (root / ".cache").mkdir()
    Image.fromarray(cam).save(root / "photo.jpg")
    Image.fromarray(cam).save(root / "photo.png")
    Image.fromarray(cam[::-1]).save(root / "2024" / "a.png")
    Image.fromarray(cam[:, ::-1]).save(root / "2024" / "summer" / "b.tif")
    Image.fromarray(cam).save(root / ".cache" / "hidden.png")
    return root


def test_directory_output_rules(tree, tmp_path, capsys):
    a, b = tree / "photo.png", tree / "2024" / "a.png"
    status, _, err = run(["edges", a, b, "-o", tmp_path / "two.png"], capsys)
    assert status == 2 and "looks like a file name" in err
    assert not (tmp_path / "two.png").exists()
    status, _, err = run(["edges", a, b, "-o", f"{tmp_path / 'two.png'}/", "-q"], capsys)
    assert status == 0 and (tmp_path / "two.png").is_dir()
    status, _, err = run(["edges", a, "-o", f"{tmp_path / 'newdir'}/"], capsys)
    assert status == 0 and listing(tmp_path / "newdir") == ["photo_sobel.png"]
    status, _, err = run(["edges", a, "-o", tmp_path / "out"], capsys)   # one file, no suffix
    assert status == 0 and Image.open(tmp_path / "out").format == "PNG"
    status, _, err = run(["edges", tree / "photo.jpg", "-o", tmp_path / "outj"], capsys)
    assert status == 0 and Image.open(tmp_path / "outj").format == "JPEG"
    status, _, err = run(["edges", a, "-o", tmp_path / "outn", "--format", "npy"], capsys)
    assert status == 0 and np.load(tmp_path / "outn").dtype == np.float32


def test_collisions_get_distinct_names(tree, tmp_path, capsys):
    status, _, err = run(["edges", tree, "-o", tmp_path / "out"], capsys)
    assert status == 0, err
    assert listing(tmp_path / "out") == ["photo_jpg_sobel.png", "photo_png_sobel.png"]
    assert "1 subfolder skipped" in err and "--recursive" in err
    # Same names from different folders.
    other = tmp_path / "other"
    other.mkdir()
    Image.open(tree / "photo.png").save(other / "photo.png")
    status, _, err = run(["edges", tree / "photo.png", other / "photo.png", "-o",
                          tmp_path / "o2", "-q"], capsys)
    assert status == 0 and listing(tmp_path / "o2") == ["photo_png_sobel.png",
                                                        "photo_png_sobel_2.png"]


def test_recursive_mirrors_subfolders(tree, tmp_path, capsys):
    status, _, err = run(["edges", tree, "-o", tmp_path / "out", "--recursive"], capsys)
    assert status == 0, err
    assert listing(tmp_path / "out") == [
        "2024/a_sobel.png", "2024/summer/b_sobel.tiff", "photo_jpg_sobel.png",
        "photo_png_sobel.png"]
    assert "4 written, 0 failed" in err


def test_output_inside_the_input_tree_is_not_searched(tree, capsys):
    out = tree / "edges"
    status, _, err = run(["edges", tree, "-o", out, "-r", "-q"], capsys)
    assert status == 0, err
    first = listing(out)
    status, _, err = run(["edges", tree, "-o", out, "-r", "--overwrite", "-q"], capsys)
    assert status == 0, err
    assert listing(out) == first          # no edges_sobel of earlier edge maps


def test_rerun_into_the_input_folder_does_not_filter_earlier_results(tree, capsys):
    status, _, err = run(["edges", tree, "-o", tree, "-q"], capsys)
    assert status == 0, err
    before = sorted(os.listdir(tree))
    assert "photo_png_sobel.png" in before
    status, _, err = run(["edges", tree, "-o", tree, "--overwrite"], capsys)
    assert status == 0, err
    assert sorted(os.listdir(tree)) == before             # no photo_png_sobel_sobel.png
    assert "2 written, 0 failed" in err
    status, _, err = run(["edges", tree, "-o", tree, "-q"], capsys)
    assert status == 1 and err.count("already exists") == 2


def test_concurrent_run_writes_the_same_bytes_as_a_serial_run(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(7)
    for i in range(6):
        img = skimage.data.astronaut()[i * 20:i * 20 + 300, :400]
        noisy = np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(src / f"p{i}.jpg", quality=90)
    for jobs in (1, 3):
        for verb in (["edges"], ["convolve", "--kernel", "box:5"]):
            done = subprocess.run([sys.executable, "-m", "imfilt", verb[0], str(src), "-o",
                                   str(tmp_path / f"{verb[0]}{jobs}"), "--jobs", str(jobs),
                                   *verb[1:]], env=ENV, capture_output=True, text=True,
                                  timeout=300)
            assert done.returncode == 0, done.stderr
            assert "6 written, 0 failed" in done.stderr
    for verb in ("edges", "convolve"):
        names = sorted(os.listdir(tmp_path / f"{verb}1"))
        assert len(names) == 6
        for n in names:
            assert (tmp_path / f"{verb}1" / n).read_bytes() == \
                (tmp_path / f"{verb}3" / n).read_bytes()


def test_scale_of_edge_maps(tmp_path, capsys):
    step = np.zeros((32, 32), np.uint8)
    step[:, 16:] = 255
    Image.fromarray(step).save(tmp_path / "strong.png")
    Image.fromarray(step // 5).save(tmp_path / "weak.png")
    for scale in ("per-image", "fixed", "none"):
        status, _, err = run(["edges", tmp_path / "strong.png", tmp_path / "weak.png", "-o",
                              tmp_path / scale, "--scale", scale, "-q"], capsys)
        assert status == 0, err
    strong = np.array(Image.open(tmp_path / "per-image" / "strong_sobel.png"))
    weak = np.array(Image.open(tmp_path / "per-image" / "weak_sobel.png"))
    assert strong.max() == weak.max() == 255                 # each image stretched
    strong = np.array(Image.open(tmp_path / "fixed" / "strong_sobel.png")).astype(int)
    weak = np.array(Image.open(tmp_path / "fixed" / "weak_sobel.png")).astype(int)
    assert strong.max() == round(4 / (4 * 2 ** 0.5) * 255)    # a step gives 4 of 4*sqrt(2)
    assert abs(weak.max() - strong.max() * 51 / 255) <= 1     # comparable across the batch
    none = np.array(Image.open(tmp_path / "none" / "strong_sobel.png"))
    assert none.max() == 255                                  # 4 > 1: clipped


@pytest.mark.parametrize("operator", ["sobel", "scharr", "prewitt", "roberts", "laplace"])
def test_fixed_tops_bound_every_response(operator):
    """The 'fixed' scale's white is an upper bound of the operator on 0..1 images."""
    rng = np.random.default_rng(8)
    worst = 0.0
    for _ in range(40):
        img = (rng.random((12, 12)) > 0.5).astype(np.float32)
        worst = max(worst, float(np.abs(getattr(imfilt, operator)(img)).max()))
    top = _cli_verbs.EDGE_TOPS[operator]
    assert worst <= top + 1e-6
    assert worst >= top / 2             # and not a loose bound


def test_laplace_8_neighbours(tmp_path, capsys):
    img = skimage.data.camera()[::8, ::8].copy()
    Image.fromarray(img).save(tmp_path / "c.png")
    status, _, err = run(["edges", tmp_path / "c.png", "-o", tmp_path / "l.npy",
                          "--operator", "laplace", "--neighbors", "8"], capsys)
    assert status == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "l.npy"),
                                  imfilt.laplace(img.astype(np.float32) / np.float32(255), 8))


def test_compress_level(tmp_path, capsys):
    img = skimage.data.camera()
    Image.fromarray(img).save(tmp_path / "c.png")
    sizes = {}
    for level in (0, 9):
        out = tmp_path / f"l{level}.png"
        status, _, err = run(["convolve", tmp_path / "c.png", "-o", out, "--kernel",
                              "identity", "--compress-level", level], capsys)
        assert status == 0, err
        np.testing.assert_array_equal(np.array(Image.open(out)), img)
        sizes[level] = out.stat().st_size
    assert sizes[9] < sizes[0] * 0.8


def test_progress_per_band_for_one_large_image(tmp_path, monkeypatch, capsys):
    Image.fromarray(skimage.data.camera()).save(tmp_path / "c.png")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(_io, "_BAND_PIXELS", 512 * 16)
    status, _, err = run(["edges", tmp_path / "c.png", "-o", tmp_path / "e.png"], capsys)
    assert status == 0 and "imfilt edges" in err and "row" in err


@pytest.mark.parametrize("operator,extra", [
    ("sobel", []), ("scharr", ["--boundary", "reflect"]), ("prewitt", ["--boundary", "fill"]),
    ("roberts", ["--boundary", "edge"]), ("laplace", ["--neighbors", "8"]),
    ("sobel", ["--scale", "fixed", "--depth", "16"]), ("laplace", ["--scale", "none"]),
    ("sobel", ["--threshold", "0.5", "--invert"]), ("sobel", ["--invert"]),
])
def test_large_images_are_filtered_in_bands_with_the_same_result(operator, extra, tmp_path,
                                                                 monkeypatch, capsys):
    """Big edge maps run in row bands with a one-row halo: same bytes as one piece."""
    from imfilt import cli
    rgb = skimage.data.astronaut()[:203, :150].copy()
    rgba = np.dstack([rgb, np.where(np.arange(150) % 37 < 5, 0, 255).astype(np.uint8)
                      * np.ones((203, 1), np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "a.png")
    outs, calls = {}, []
    banded = cli._Job._banded_edges
    monkeypatch.setattr(cli._Job, "_banded_edges",
                        lambda self, *a: calls.append(1) or banded(self, *a))
    for band_pixels in (10 ** 9, 150 * 9):            # one piece; bands of 9 rows
        monkeypatch.setattr(cli, "_EDGE_BAND_PIXELS", band_pixels)
        out = tmp_path / f"e{band_pixels}.png"
        status, _, err = run(["edges", tmp_path / "a.png", "-o", out, "--operator", operator,
                              *extra], capsys)
        assert status == 0, err
        outs[band_pixels] = np.array(Image.open(out))
    assert calls == [1]                                 # only the second run was banded
    np.testing.assert_array_equal(outs[150 * 9], outs[10 ** 9])
    assert outs[10 ** 9].any()
