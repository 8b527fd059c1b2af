"""Command-line options for the edge filters' and pyramids' newer parameters:
``edges --fillvalue`` and ``--size`` (Sobel aperture), ``pyramid-down/up
--dstsize``; each equals the library on 0..1 values, and options that do not
apply are refused with exit status 2."""

import numpy as np
import pytest
import skimage.data
from PIL import Image

import imfilt
from imfilt import cli
from imfilt.cli import main


def run(argv, capsys):
    """``(status, stdout, stderr)`` of one command line."""
    return (main(list(map(str, argv))), *capsys.readouterr())


def unit(a):
    """8-bit pixels as the command line reads them (0..1 float32)."""
    return np.divide(a, 255, dtype=np.float32)


@pytest.fixture
def rgb(tmp_path):
    image = skimage.data.astronaut()[::8, ::8].copy()           # 64x64x3
    Image.fromarray(image).save(tmp_path / "rgb.png")
    return image


@pytest.mark.parametrize("verb,func,dstsize", [
    ("pyramid-down", imfilt.pyramid_down, (31, 33)),
    ("pyramid-up", imfilt.pyramid_up, (129, 127)),
])
def test_pyramid_dstsize_equals_the_library(verb, func, dstsize, rgb, tmp_path, capsys):
    out = tmp_path / "p.npy"
    status, _, err = run([verb, tmp_path / "rgb.png", "-o", out, "--dstsize",
                          f"{dstsize[0]},{dstsize[1]}"], capsys)
    assert status == 0, err
    expected = np.stack([func(unit(rgb[..., c]), dstsize=dstsize) for c in range(3)], -1)
    np.testing.assert_array_equal(np.load(out), expected)


def test_pyramid_dstsize_outside_the_rule_fails_with_the_rule(rgb, tmp_path, capsys):
    status, _, err = run(["pyramid-down", tmp_path / "rgb.png", "-o", tmp_path / "p.png",
                          "--dstsize", "10,32"], capsys)
    assert status == 1 and "|2*dst - src| <= 2" in err and "Traceback" not in err


@pytest.mark.parametrize("extra,kwargs", [
    (["--boundary", "fill", "--fillvalue", "0.5"], dict(boundary="fill", fillvalue=0.5)),
    (["--size", "5"], dict(size=5)),
    (["--size", "7", "--boundary", "fill", "--fillvalue", "1"],
     dict(size=7, boundary="fill", fillvalue=1.0)),
])
def test_edges_options_equal_the_library(extra, kwargs, tmp_path, capsys):
    grey = skimage.data.camera()[::4, ::4].copy()
    Image.fromarray(grey).save(tmp_path / "g.png")
    status, _, err = run(["edges", tmp_path / "g.png", "-o", tmp_path / "e.npy", *extra],
                         capsys)
    assert status == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "e.npy"), imfilt.sobel(unit(grey), **kwargs))


@pytest.mark.parametrize("size", ["5", "7"])
def test_wide_sobel_bands_equal_one_piece(size, tmp_path, monkeypatch, capsys):
    Image.fromarray(skimage.data.camera()[:203, :150].copy()).save(tmp_path / "a.png")
    outs = {}
    for band_pixels in (10 ** 9, 150 * 9):            # one piece; bands of 9 rows
        monkeypatch.setattr(cli, "_EDGE_BAND_PIXELS", band_pixels)
        out = tmp_path / f"e{band_pixels}.png"
        status, _, err = run(["edges", tmp_path / "a.png", "-o", out, "--size", size,
                              "--boundary", "fill", "--fillvalue", "0.25"], capsys)
        assert status == 0, err
        outs[band_pixels] = np.array(Image.open(out))
    np.testing.assert_array_equal(outs[150 * 9], outs[10 ** 9])


@pytest.mark.parametrize("argv,message", [
    (["edges", "--fillvalue", "1"], "--fillvalue applies only to --boundary fill"),
    (["edges", "--operator", "scharr", "--size", "5"], "--size does not apply to --operator"),
    (["edges", "--size", "4"], "invalid choice: 4"),
    (["edges", "--operator", "canny", "--fillvalue", "1"],
     "--fillvalue does not apply to --operator canny"),
    (["pyramid-down", "--dstsize", "0,3"], "--dstsize"),
])
def test_refused(argv, message, tmp_path, capsys):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "g.png")
    status, _, err = run([argv[0], tmp_path / "g.png", "-o", tmp_path / "o.png", *argv[1:]],
                         capsys)
    assert status == 2, err
    assert message in err and "Traceback" not in err
