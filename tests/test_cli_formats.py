"""Colour, bit depth, alpha and file formats through the command line.

Per-channel verbs keep colour, alpha (not filtered) and bit depth by default:
16-bit in gives 16-bit out where the format stores it, and an identity kernel
round-trips every format bit-exactly.  Edge maps are grey; transparent pixels
(alpha 0) give no edge response.  EXIF orientation is applied on reading;
multipage TIFF and animated GIF give numbered outputs (or --frame N);
``-`` reads standard input and writes standard output.
"""

import io
import os
import subprocess
import sys

import numpy as np
import pytest
import skimage.data
from PIL import Image

import imfilt
from imfilt import _io
from imfilt.cli import main

tifffile = pytest.importorskip("tifffile")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(imfilt.__file__)))
ENV = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))


@pytest.fixture(scope="module")
def rgb():
    return skimage.data.astronaut()[::8, ::8].copy()     # 64x64x3 uint8


def run(argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def load(path):
    with Image.open(path) as im:
        return im.mode, np.array(im)


def test_colour_in_colour_out(rgb, tmp_path, capsys):
    Image.fromarray(rgb).save(tmp_path / "c.png")
    status, _, err = run(["convolve", tmp_path / "c.png", "-o", tmp_path / "o.png",
                          "--kernel", "box:3"], capsys)
    assert status == 0, err
    mode, got = load(tmp_path / "o.png")
    assert mode == "RGB" and got.shape == rgb.shape
    unit = rgb.astype(np.float32) / np.float32(255)
    per_channel = np.stack([imfilt.convolve(unit[..., c], np.full((3, 3), 1 / 9), mode="same",
                                            boundary="symm") for c in range(3)], -1)
    np.testing.assert_array_equal(got, _io.to_depth(per_channel, "8"))
    status, _, err = run(["convolve", tmp_path / "c.png", "-o", tmp_path / "g.png",
                          "--kernel", "box:3", "--grey"], capsys)
    assert status == 0 and load(tmp_path / "g.png")[0] == "L"


@pytest.mark.parametrize("name,writer,data", [
    ("g16.png", "pil", "grey16"),
    ("c16.png", "cv2", "rgb16"),
    ("c16.tiff", "tiff", "rgb16"),
    ("g16.tiff", "tiff", "grey16"),
    ("c8.png", "pil", "rgb8"),
    ("g8.bmp", "pil", "grey8"),
    ("f32.tiff", "tiff", "float"),
    ("f32.npy", "npy", "float"),
])
def test_identity_round_trip_is_bit_exact(name, writer, data, rgb, tmp_path, capsys):
    rng = np.random.default_rng(4)
    arrays = {"grey16": rng.integers(0, 65536, (33, 47), dtype=np.uint16),
              "rgb16": rng.integers(0, 65536, (33, 47, 3), dtype=np.uint16),
              "rgb8": rgb, "grey8": rgb[..., 1].copy(),
              "float": rng.random((33, 47), dtype=np.float32)}
    a = arrays[data]
    src = tmp_path / name
    if writer == "pil":
        Image.fromarray(a).save(src)
    elif writer == "cv2":
        cv2 = pytest.importorskip("cv2")
        cv2.imwrite(str(src), a[..., ::-1])
    elif writer == "tiff":
        tifffile.imwrite(src, a)
    else:
        np.save(src, a)
    out = tmp_path / ("out" + os.path.splitext(name)[1])
    status, _, err = run(["convolve", src, "-o", out, "--kernel", "identity"], capsys)
    assert status == 0, err
    got = _io.read_frames(str(out))[0]
    back = got.pixels if got.alpha is None else None
    assert back.dtype == a.dtype
    np.testing.assert_array_equal(back, a)


def test_depth_option(tmp_path, capsys):
    a = (np.arange(40 * 50, dtype=np.uint16).reshape(40, 50) * 29) % 65535
    Image.fromarray(a).save(tmp_path / "a.png")
    status, _, err = run(["convolve", tmp_path / "a.png", "-o", tmp_path / "a8.png",
                          "--kernel", "identity", "--depth", "8"], capsys)
    assert status == 0, err
    got = load(tmp_path / "a8.png")[1]
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, np.rint(a / 65535 * 255).astype(np.uint8))
    status, _, err = run(["convolve", tmp_path / "a.png", "-o", tmp_path / "f.tiff",
                          "--kernel", "identity", "--depth", "float"], capsys)
    assert status == 0, err
    f = tifffile.imread(tmp_path / "f.tiff")
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f, a.astype(np.float32) / np.float32(65535))
    # An 8-bit image asked for 16 bits is scaled to the full 16-bit range.
    Image.fromarray(np.array([[0, 1, 255]], np.uint8)).save(tmp_path / "b.png")
    status, _, _ = run(["convolve", tmp_path / "b.png", "-o", tmp_path / "b16.png",
                        "--kernel", "identity", "--depth", "16"], capsys)
    np.testing.assert_array_equal(load(tmp_path / "b16.png")[1], [[0, 257, 65535]])


def test_alpha_is_kept_and_not_filtered(rgb, tmp_path, capsys):
    alpha = np.zeros(rgb.shape[:2], np.uint8)
    alpha[16:48, 16:48] = 255
    alpha[20:24] = 100
    Image.fromarray(np.dstack([rgb, alpha])).save(tmp_path / "a.png")
    status, _, err = run(["convolve", tmp_path / "a.png", "-o", tmp_path / "o.png",
                          "--kernel", "box:5"], capsys)
    assert status == 0, err
    mode, got = load(tmp_path / "o.png")
    assert mode == "RGBA"
    np.testing.assert_array_equal(got[..., 3], alpha)
    status, _, err = run(["convolve", tmp_path / "a.png", "-o", tmp_path / "o.jpg",
                          "--kernel", "box:5"], capsys)
    assert status == 0 and "JPEG has no alpha" in err
    # Resampling verbs resample alpha with the colours.
    status, _, err = run(["max-pool", tmp_path / "a.png", "-o", tmp_path / "p.png",
                          "--size", "2"], capsys)
    assert status == 0, err
    np.testing.assert_array_equal(load(tmp_path / "p.png")[1][..., 3],
                                  imfilt.max_pool2d(alpha.astype(np.float32) / 255, 2) * 255)


def test_edges_exclude_transparent_pixels(tmp_path, capsys):
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)   # noise under transparency
    rgb[12:36, 12:36] = 200
    alpha = np.zeros((48, 48), np.uint8)
    alpha[8:40, 8:40] = 255
    Image.fromarray(np.dstack([rgb, alpha])).save(tmp_path / "a.png")
    for op in ("sobel", "canny"):
        status, _, err = run(["edges", tmp_path / "a.png", "-o", tmp_path / f"{op}.npy",
                              "--operator", op], capsys)
        assert status == 0, err
        got = np.load(tmp_path / f"{op}.npy")
        assert got.shape == (48, 48)
        assert not got[alpha == 0].any()          # nothing in the transparent area
        assert got[alpha > 0].any()               # the opaque square still has edges


def test_exif_orientation_is_applied(tmp_path, capsys):
    portrait = np.zeros((60, 40), np.uint8)       # tall image stored sideways
    portrait[:10] = 255                           # bright band at the top
    stored = np.rot90(portrait, 1)                # what a camera writes: 40x60 pixels
    im = Image.fromarray(np.ascontiguousarray(stored))
    exif = Image.Exif()
    exif[0x0112] = 6                              # rotate 90 degrees clockwise to view
    im.save(tmp_path / "p.jpg", exif=exif, quality=100)
    status, _, err = run(["convolve", tmp_path / "p.jpg", "-o", tmp_path / "o.png",
                          "--kernel", "identity"], capsys)
    assert status == 0, err
    got = load(tmp_path / "o.png")[1]
    assert got.shape == (60, 40)
    assert got[:8].mean() > 200 and got[12:].mean() < 30


def test_multipage_tiff_and_gif(tmp_path, capsys):
    pages = np.stack([np.full((20, 30), v, np.uint16) for v in (1000, 30000, 60000)])
    pages[:, 5:15, 5:15] = 5
    with tifffile.TiffWriter(tmp_path / "m.tif") as tw:    # three pages
        for page in pages:
            tw.write(page)
    tifffile.imwrite(tmp_path / "stack.tif", pages, photometric="minisblack",
                     planarconfig="separate")                # one page holding a stack
    status, _, err = run(["convolve", tmp_path / "stack.tif", "-o", tmp_path / "s.png",
                          "--kernel", "identity", "--frame", "2"], capsys)
    assert status == 0, err
    np.testing.assert_array_equal(load(tmp_path / "s.png")[1], pages[2])
    status, _, err = run(["convolve", tmp_path / "m.tif", "-o", tmp_path / "m.png",
                          "--kernel", "identity"], capsys)
    assert status == 0, err
    for i in range(3):
        np.testing.assert_array_equal(load(tmp_path / f"m_{i}.png")[1], pages[i])
    status, _, err = run(["convolve", tmp_path / "m.tif", "-o", tmp_path / "one.png",
                          "--kernel", "identity", "--frame", "1"], capsys)
    assert status == 0, err
    np.testing.assert_array_equal(load(tmp_path / "one.png")[1], pages[1])
    status, _, err = run(["convolve", tmp_path / "m.tif", "-o", tmp_path / "x.png",
                          "--kernel", "identity", "--frame", "3"], capsys)
    assert status == 1 and "--frame 3 is out of range" in err and "3 frames" in err
    frames = [Image.fromarray(np.full((16, 16), v, np.uint8)).convert("P")
              for v in (10, 128, 250)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    status, _, err = run(["edges", tmp_path / "a.gif", "-o", f"{tmp_path / 'out'}/", "-q"],
                         capsys)
    assert status == 0, err
    assert sorted(os.listdir(tmp_path / "out")) == [f"a_sobel_{i}.png" for i in range(3)]


@pytest.mark.parametrize("fmt,mode", [("jpeg", "RGB"), ("webp", "RGB"), ("bmp", "RGB"),
                                      ("tiff", "RGB"), ("png", "RGB")])
def test_output_formats(fmt, mode, rgb, tmp_path, capsys):
    Image.fromarray(rgb).save(tmp_path / "c.png")
    out = tmp_path / "o"
    status, _, err = run(["convolve", tmp_path / "c.png", "-o", out, "--kernel", "box:3",
                          "--format", fmt, "--quality", "90"], capsys)
    assert status == 0, err
    with Image.open(out) as im:
        assert im.format == {"jpeg": "JPEG", "webp": "WEBP", "bmp": "BMP", "tiff": "TIFF",
                             "png": "PNG"}[fmt]
        assert im.mode == mode and im.size == (64, 64)


def test_single_output_without_suffix_takes_the_input_format(rgb, tmp_path, capsys):
    Image.fromarray(rgb).save(tmp_path / "c.jpg", quality=95)
    status, _, err = run(["convolve", tmp_path / "c.jpg", "-o", tmp_path / "out",
                          "--kernel", "box:3"], capsys)
    assert status == 0, err
    assert Image.open(tmp_path / "out").format == "JPEG"


def test_stdout_and_directory_outputs_take_the_input_format(rgb, tmp_path):
    # "from the OUTPUT suffix, else the input file's format, else png": a
    # .npy input gives .npy on standard output and in a directory (its float
    # values, not a 16-bit PNG of them); a .png input next to it stays PNG.
    values = rgb[..., 0].astype(np.float32) / 255
    np.save(tmp_path / "a.npy", values)
    Image.fromarray(rgb).save(tmp_path / "b.png")
    done = subprocess.run([sys.executable, "-m", "imfilt", "convolve", str(tmp_path / "a.npy"),
                           "-o", "-", "--kernel", "identity"], env=ENV, capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(io.BytesIO(done.stdout)), values)
    done = subprocess.run([sys.executable, "-m", "imfilt", "convolve", str(tmp_path / "a.npy"),
                           str(tmp_path / "b.png"), "-o", str(tmp_path / "out"), "--kernel",
                           "identity"], env=ENV, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(tmp_path / "out")) == ["a_convolve.npy", "b_convolve.png"]
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "a_convolve.npy"), values)


def test_stdin_and_stdout(rgb, tmp_path):
    Image.fromarray(rgb).save(tmp_path / "c.png")
    data = (tmp_path / "c.png").read_bytes()
    done = subprocess.run([sys.executable, "-m", "imfilt", "edges", "-", "-o", "-",
                           "--format", "png"], input=data, env=ENV, capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    subprocess.run([sys.executable, "-m", "imfilt", "edges", str(tmp_path / "c.png"), "-o",
                    str(tmp_path / "e.png")], env=ENV, check=True, timeout=120)
    assert done.stdout == (tmp_path / "e.png").read_bytes()
    np.save(tmp_path / "a.npy", rgb[..., 0])
    done = subprocess.run([sys.executable, "-m", "imfilt", "convolve", "-", "-o", "-",
                           "--kernel", "identity", "--format", "npy"],
                          input=(tmp_path / "a.npy").read_bytes(), env=ENV,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(io.BytesIO(done.stdout)),
                                  rgb[..., 0].astype(np.float32) / np.float32(255))


@pytest.mark.parametrize("suffix, fmt", [(".npy", "npy"), (".tiff", "tiff"), (".png", "png"),
                                         (".jpg", "png")])
def test_stdin_content_names_the_output_format(suffix, fmt, tmp_path):
    """Standard input has no suffix: its first bytes decide, as a file's
    suffix does (values formats are kept on standard output; a JPEG is not
    compressed again)."""
    from imfilt import _io
    values = np.random.default_rng(0).random((9, 11)).astype(np.float32)
    src = tmp_path / ("a" + suffix)
    if suffix in (".npy", ".tiff"):
        _io.write_result(str(src), values, _io.SUFFIX_FORMAT[suffix])
    else:
        Image.fromarray((values * 255).astype(np.uint8)).save(src)
    done = subprocess.run([sys.executable, "-m", "imfilt", "box", "-", "-o", "-", "--size", "1"],
                          input=src.read_bytes(), env=ENV, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _io.content_format(done.stdout[:32]) == fmt
    done = subprocess.run([sys.executable, "-m", "imfilt", "box", "-", "-o",
                           str(tmp_path / "out"), "--size", "1"],
                          input=src.read_bytes(), env=ENV, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    expected = {".npy": "npy", ".tiff": "tiff", ".png": "png", ".jpg": "jpeg"}[suffix]
    assert _io.content_format((tmp_path / "out").read_bytes()[:32]) == expected


MAX_PIXELS_SCRIPT = r"""
import sys, warnings
from PIL import Image
Image.MAX_IMAGE_PIXELS = 1000      # so that a 100x100 image counts as a 'bomb' for Pillow
warnings.simplefilter("error")     # any warning would fail
from imfilt.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_max_pixels(tmp_path):
    Image.fromarray(np.zeros((100, 100), np.uint8)).save(tmp_path / "a.png")

    def imfilt_run(*extra):
        return subprocess.run([sys.executable, "-c", MAX_PIXELS_SCRIPT, "edges",
                               str(tmp_path / "a.png"), "-o", str(tmp_path / "e.png"),
                               "--overwrite", *extra], env=ENV, capture_output=True,
                              text=True, timeout=120)
    done = imfilt_run()
    assert done.returncode == 0 and done.stderr == ""     # below --max-pixels: no warning
    done = imfilt_run("--max-pixels", "5000")
    assert done.returncode == 1 and "--max-pixels 5000" in done.stderr
    assert "a.png" in done.stderr
    done = imfilt_run("--max-pixels", "0")
    assert done.returncode == 0 and done.stderr == ""


@pytest.mark.parametrize("level", [0, 1, 6])
@pytest.mark.parametrize("shape,dtype", [((37, 53), np.uint8), ((37, 53, 2), np.uint8),
                                         ((37, 53, 3), np.uint8), ((37, 53, 4), np.uint16),
                                         ((37, 53), np.uint16), ((1, 1, 3), np.uint8)])
def test_png_writer_round_trip(shape, dtype, level, monkeypatch):
    """Our streaming PNG writer (every colour type, 8/16 bits, several IDAT bands)."""
    monkeypatch.setattr(_io, "_PNG_BAND_BYTES", 500)
    rng = np.random.default_rng(6)
    a = rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)
    buf = io.BytesIO()
    _io.encode(buf, a, "png", compress_level=level)
    back = _io.read_frames("-", stdin=io.BytesIO(buf.getvalue()))[0]
    stored = back.pixels if back.alpha is None else np.dstack([back.pixels, back.alpha])
    np.testing.assert_array_equal(stored.reshape(shape), a)
    assert stored.dtype == dtype
