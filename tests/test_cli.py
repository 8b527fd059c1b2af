"""The ``imfilt`` command line, through ``main(argv)`` and a real subprocess."""

import os
import subprocess
import sys
import tomllib

import numpy as np
import pytest
import skimage.data
from PIL import Image

import imfilt
from imfilt import _io
from imfilt.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(imfilt.__file__)))


@pytest.fixture(scope="module")
def camera():
    return skimage.data.camera()[::2, ::2].copy()    # 256x256 uint8


@pytest.fixture(scope="module")
def astronaut():
    return skimage.data.astronaut()[::2, ::2].copy()  # 256x256x3 uint8


@pytest.fixture
def photos(tmp_path, camera, astronaut):
    d = tmp_path / "in"
    d.mkdir()
    Image.fromarray(camera).save(d / "camera.png")
    Image.fromarray(astronaut).save(d / "astronaut.png")
    Image.fromarray(camera).save(d / "camera_copy.jpg", quality=95)
    return d


def png(path):
    return np.array(Image.open(path))


def run(argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def luminance(rgb):
    r, g, b = (rgb[..., c].astype(np.float32) for c in range(3))
    return np.float32(0.299) * r + np.float32(0.587) * g + np.float32(0.114) * b


def expected_png(values):
    return _io.to_uint8(values)


# ---------------------------------------------------------------------------
# edges: results


def test_sobel_png_is_the_scaled_magnitude(photos, tmp_path, camera, capsys):
    out = tmp_path / "edges.png"
    status, stdout, err = run(["edges", photos / "camera.png", "-o", out], capsys)
    assert status == 0 and err == "" and stdout == ""
    got = png(out)
    assert got.dtype == np.uint8 and got.shape == camera.shape
    expected = expected_png(imfilt.sobel(camera.astype(np.float32) / np.float32(255)))
    np.testing.assert_array_equal(got, expected)
    assert got.max() == 255


@pytest.mark.parametrize("operator", ["sobel", "scharr", "prewitt", "roberts", "laplace"])
def test_every_operator_npy_equals_the_library(operator, photos, tmp_path, camera, capsys):
    out = tmp_path / "r.npy"
    status, _, err = run(["edges", photos / "camera.png", "-o", out, "--operator", operator],
                         capsys)
    assert status == 0, err
    got = np.load(out)
    unit = camera.astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(got, getattr(imfilt, operator)(unit))


def test_canny_writes_a_binary_map(photos, tmp_path, camera, capsys):
    out = tmp_path / "c.png"
    status, _, err = run(["edges", photos / "camera.png", "-o", out, "--operator", "canny",
                          "--sigma", "2", "--low", "0.05", "--high", "0.15"], capsys)
    assert status == 0, err
    got = png(out)
    assert set(np.unique(got)) <= {0, 255}
    ref = imfilt.canny(camera, 2.0, 0.05 * 255, 0.15 * 255)
    assert np.mean((got == 255) == ref) > 0.999


def test_rgb_and_rgba_use_bt601_luminance(tmp_path, astronaut, capsys):
    Image.fromarray(astronaut).save(tmp_path / "rgb.png")
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 7, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    for name in ("rgb", "rgba"):
        status, _, err = run(["edges", tmp_path / f"{name}.png", "-o",
                              tmp_path / f"{name}_out.npy"], capsys)
        assert status == 0, err
    expected = imfilt.sobel(luminance(astronaut) / np.float32(255))
    np.testing.assert_allclose(np.load(tmp_path / "rgb_out.npy"), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(np.load(tmp_path / "rgba_out.npy"),
                                  np.load(tmp_path / "rgb_out.npy"))


def test_16_bit_grey_png_and_rgb_tiff(tmp_path, camera, astronaut, capsys):
    Image.fromarray(camera.astype(np.uint16) * 257).save(tmp_path / "grey16.png")
    assert Image.open(tmp_path / "grey16.png").mode.startswith("I")
    tifffile = pytest.importorskip("tifffile")
    tifffile.imwrite(tmp_path / "rgb16.tif", astronaut.astype(np.uint16) * 257)
    Image.fromarray(camera).save(tmp_path / "grey8.png")
    Image.fromarray(astronaut).save(tmp_path / "rgb8.png")
    for name in ("grey16.png", "rgb16.tif", "grey8.png", "rgb8.png"):
        status, _, err = run(["edges", tmp_path / name, "-o", tmp_path / f"{name}.npy"], capsys)
        assert status == 0, err
    # Scaling to 0..1 by the bit depth makes 16-bit and 8-bit results agree.
    np.testing.assert_allclose(np.load(tmp_path / "grey16.png.npy"),
                               np.load(tmp_path / "grey8.png.npy"), atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "rgb16.tif.npy"),
                               np.load(tmp_path / "rgb8.png.npy"), atol=1e-4)
    # A 16-bit image keeps its precision: values 1/65535 apart still differ.
    fine = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 3) % 65535
    Image.fromarray(fine).save(tmp_path / "fine.png")
    status, _, _ = run(["edges", tmp_path / "fine.png", "-o", tmp_path / "fine.npy"], capsys)
    assert status == 0
    np.testing.assert_allclose(np.load(tmp_path / "fine.npy"),
                               imfilt.sobel(fine.astype(np.float32) / np.float32(65535)))


def test_16_bit_rgb_png_keeps_its_precision(tmp_path, astronaut):
    """Pillow reads 16-bit colour PNGs at 8 bits; imfilt reads them through OpenCV."""
    cv2 = pytest.importorskip("cv2")
    rgb16 = astronaut.astype(np.uint16) * 257 + np.uint16(100)
    cv2.imwrite(str(tmp_path / "rgb16.png"), rgb16[..., ::-1])
    grey, full = _io.read_grey(tmp_path / "rgb16.png")
    assert full == 65535
    np.testing.assert_allclose(grey, _io.luminance(rgb16), rtol=1e-12)


def test_tiff_output_holds_float_values(photos, tmp_path, camera, capsys):
    tifffile = pytest.importorskip("tifffile")
    out = tmp_path / "mag.tiff"
    status, _, err = run(["edges", photos / "camera.png", "-o", out], capsys)
    assert status == 0, err
    got = tifffile.imread(out)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, imfilt.sobel(camera.astype(np.float32) / np.float32(255)))


def test_threshold_value_otsu_and_invert(photos, tmp_path, camera, capsys):
    unit = camera.astype(np.float32) / np.float32(255)
    mag = imfilt.sobel(unit)
    status, _, _ = run(["edges", photos / "camera.png", "-o", tmp_path / "t.png",
                        "--threshold", "0.5"], capsys)
    assert status == 0
    np.testing.assert_array_equal(png(tmp_path / "t.png"), np.where(mag >= 0.5, 255, 0))
    status, _, _ = run(["edges", photos / "camera.png", "-o", tmp_path / "o.png",
                        "--threshold", "otsu", "--invert"], capsys)
    assert status == 0
    from skimage.filters import threshold_otsu
    np.testing.assert_array_equal(png(tmp_path / "o.png"),
                                  np.where(mag >= threshold_otsu(mag), 0, 255))
    status, _, _ = run(["edges", photos / "camera.png", "-o", tmp_path / "i.png",
                        "--invert"], capsys)
    np.testing.assert_array_equal(png(tmp_path / "i.png"), 255 - expected_png(mag))


# ---------------------------------------------------------------------------
# edges: batches and files


def test_batch_directory(photos, tmp_path, capsys):
    (photos / "notes.txt").write_text("not an image")
    (photos / ".hidden.png").write_bytes(b"")
    out = tmp_path / "out"
    status, _, err = run(["edges", photos, "-o", out, "--operator", "scharr", "-q"], capsys)
    assert status == 0, err
    assert sorted(os.listdir(out)) == ["astronaut_scharr.png", "camera_copy_scharr.png",
                                       "camera_scharr.png"]


def test_batch_with_unreadable_file_processes_the_others(photos, tmp_path, capsys):
    (photos / "broken.png").write_bytes(b"this is not a PNG")
    out = tmp_path / "out"
    status, _, err = run(["edges", photos, tmp_path / "missing.jpg", "-o", out,
                          "--format", "npy"], capsys)
    assert status == 1
    assert "broken.png" in err and "cannot read" in err
    assert "missing.jpg" in err and "no such file" in err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 3 and "3 written, 1 failed" in lines[-1]   # errors, then the summary
    assert sorted(os.listdir(out)) == ["astronaut_sobel.npy", "camera_copy_sobel.npy",
                                       "camera_sobel.npy"]


def test_several_files_need_a_directory(photos, tmp_path, capsys):
    existing = tmp_path / "file.png"
    existing.write_bytes(b"x")
    status, _, err = run(["edges", photos / "camera.png", photos / "astronaut.png",
                          "-o", existing], capsys)
    assert status == 2 and "file.png" in err and "directory" in err


def test_two_inputs_with_the_same_stem_get_distinct_outputs(photos, tmp_path, camera, capsys):
    """photo.png and photo.jpg are not a reason to abort: photo_png_TAG, photo_jpg_TAG
    (both PNG); a TIFF input keeps its format, so its name does not collide."""
    Image.fromarray(camera).save(photos / "camera.jpg")
    Image.fromarray(camera).save(photos / "camera.tif")
    status, _, err = run(["edges", photos / "camera.png", photos / "camera.jpg",
                          photos / "camera.tif", "-o", tmp_path / "out"], capsys)
    assert status == 0, err
    assert sorted(os.listdir(tmp_path / "out")) == ["camera_jpg_sobel.png",
                                                    "camera_png_sobel.png",
                                                    "camera_sobel.tiff"]


def test_existing_output_is_refused_without_overwrite(photos, tmp_path, capsys):
    out = tmp_path / "e.png"
    out.write_bytes(b"precious")
    status, _, err = run(["edges", photos / "camera.png", "-o", out], capsys)
    assert status == 1 and "e.png" in err and "--overwrite" in err
    assert out.read_bytes() == b"precious"
    status, _, err = run(["edges", photos / "camera.png", "-o", out, "--overwrite"], capsys)
    assert status == 0 and png(out).shape == (256, 256)


def test_an_input_is_never_overwritten(photos, tmp_path, capsys):
    src = photos / "camera.png"
    before = src.read_bytes()
    status, _, err = run(["edges", src, "-o", src, "--overwrite"], capsys)
    assert status == 1 and "camera.png" in err and "input" in err
    assert src.read_bytes() == before
    # Writing into the input directory with a name that is an input named on the command
    # line is refused too.
    Image.open(src).save(photos / "camera_sobel.png")
    kept = (photos / "camera_sobel.png").read_bytes()
    status, _, err = run(["edges", src, photos / "camera_sobel.png", photos / "astronaut.png",
                          "-o", photos, "--overwrite", "-q"], capsys)
    assert status == 1 and "camera_sobel.png" in err and "input" in err
    assert (photos / "camera_sobel.png").read_bytes() == kept
    assert (photos / "astronaut_sobel.png").exists()     # the others were processed
    # Found in a directory, camera_sobel.png is the output of camera.png (a result of an
    # earlier run): it is replaced with --overwrite, not filtered into camera_sobel_sobel.
    os.remove(photos / "camera_sobel_sobel.png")       # written by the explicit run above
    status, _, err = run(["edges", photos, "-o", photos, "--overwrite", "-q"], capsys)
    assert status == 0, err
    assert not (photos / "camera_sobel_sobel.png").exists()
    assert (photos / "camera_sobel.png").read_bytes() != kept


def test_no_progress_bar_when_stderr_is_not_a_terminal(photos, tmp_path, capsys):
    status, _, err = run(["edges", photos, "-o", tmp_path / "o"], capsys)
    assert status == 0
    assert err.startswith("imfilt edges: 3 written, 0 failed in ") and err.count("\n") == 1
    status, _, err = run(["edges", photos, "-o", tmp_path / "q", "-q"], capsys)
    assert status == 0 and err == ""


def test_progress_bar_on_a_terminal(photos, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    status, _, err = run(["edges", photos, "-o", tmp_path / "o"], capsys)
    assert status == 0 and "imfilt edges" in err and "3/3" in err
    status, _, err = run(["edges", photos, "-o", tmp_path / "q", "--quiet"], capsys)
    assert status == 0 and err == ""


def test_unexpected_failure_is_one_line_not_a_traceback(photos, tmp_path, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")
    monkeypatch.setattr(imfilt, "sobel", broken)
    status, _, err = run(["edges", photos, "-o", tmp_path / "o", "-q"], capsys)
    assert status == 1 and "Traceback" not in err
    assert err.count("simulated bug") == 3 and "camera.png" in err


def test_empty_directory_is_reported(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    status, _, err = run(["edges", tmp_path / "empty", "-o", tmp_path / "o"], capsys)
    assert status == 1 and "empty" in err and "no image files" in err


# ---------------------------------------------------------------------------
# usage errors: exit status 2, nothing written


@pytest.mark.parametrize("extra,message", [
    (["--operator", "sobl"], "invalid choice: 'sobl'"),
    (["--sigma", "2"], "--sigma applies only to --operator canny"),
    (["--operator", "canny", "--low", "0.5", "--high", "0.2"], "--low 0.5 is above --high 0.2"),
    (["--operator", "canny", "--threshold", "0.3"], "--threshold does not apply"),
    (["--threshold", "lots"], "--threshold 'lots' is not valid"),
    (["--sigma", "-1", "--operator", "canny"], "--sigma '-1' must be"),
    (["--boundary", "mirror"], "invalid choice: 'mirror'"),
    (["--workers", "0"], "workers=0 is not valid"),
    (["--workers", "two"], "workers='two' is not valid"),
    (["--format", "npy"], "--format npy contradicts"),
])
def test_usage_errors(extra, message, photos, tmp_path, capsys):
    out = tmp_path / "out.png"
    status, _, err = run(["edges", photos / "camera.png", "-o", out, *extra], capsys)
    assert status == 2
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()


def test_usage_errors_about_outputs(photos, tmp_path, capsys):
    status, _, err = run(["edges", photos / "camera.png", "-o", tmp_path / "x.gif"], capsys)
    assert status == 2 and "x.gif" in err and ".png" in err and ".jpg" in err
    status, _, err = run(["edges", photos / "camera.png", "-o", tmp_path / "x.npy", "--invert"],
                         capsys)
    assert status == 2 and "--invert applies to 8/16-bit pictures" in err
    status, _, err = run(["edges", photos / "camera.png"], capsys)
    assert status == 2 and "-o/--output" in err
    status, _, err = run([], capsys)
    assert status == 2


# ---------------------------------------------------------------------------
# convolve and info


def test_convolve_kernel_string(photos, tmp_path, camera, capsys):
    out = tmp_path / "k.npy"
    status, _, err = run(["convolve", photos / "camera.png", "-o", out,
                          "--kernel", "1 2 1; 0 0 0; -1 -2 -1"], capsys)
    assert status == 0, err
    unit = camera.astype(np.float32) / np.float32(255)
    kernel = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=float)
    np.testing.assert_array_equal(np.load(out),
                                  imfilt.convolve(unit, kernel, mode="same", boundary="symm"))


def test_convolve_kernel_file_normalize_mode_boundary(photos, tmp_path, camera, capsys):
    kfile = tmp_path / "box.npy"
    np.save(kfile, np.ones((3, 5)))
    out = tmp_path / "blur.png"
    status, _, err = run(["convolve", photos / "camera.png", "-o", out, "--kernel-file", kfile,
                          "--normalize", "--mode", "valid", "--boundary", "wrap"], capsys)
    assert status == 0, err
    unit = camera.astype(np.float32) / np.float32(255)
    expected = imfilt.convolve(unit, np.ones((3, 5)) / 15, mode="valid")
    got = png(out)
    assert got.shape == (254, 252)
    np.testing.assert_array_equal(got, _io.to_uint8(expected, scale="clip", full_range=1.0))
    assert abs(int(got.mean()) - int(camera[1:-1, 2:-2].mean())) <= 1   # brightness kept


def test_convolve_fractions_and_negative_first_value(photos, tmp_path, camera, capsys):
    out = tmp_path / "d.npy"
    status, _, err = run(["convolve", photos / "camera.png", "-o", out, "--kernel=-1/2 0 1/2"],
                         capsys)
    assert status == 0, err
    unit = camera.astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(
        np.load(out), imfilt.convolve(unit, [[-0.5, 0, 0.5]], mode="same", boundary="symm"))


@pytest.mark.parametrize("args,message", [
    (["--kernel", "1 2; 3"], "rows have different lengths"),
    (["--kernel", "1 x 1"], "'1 x 1' holds something that is not a number"),
    (["--kernel", ";"], "--kernel is empty"),
    (["--kernel", "1 -1", "--normalize"], "sums to 0"),
    (["--kernel-file", "nope.npy"], "--kernel-file 'nope.npy' cannot be read"),
    (["--kernel", "1", "--mode", "middle"], "invalid choice: 'middle'"),
    ([], "one of the arguments --kernel --kernel-file is required"),
])
def test_convolve_usage_errors(args, message, photos, tmp_path, capsys):
    status, _, err = run(["convolve", photos / "camera.png", "-o", tmp_path / "c.png", *args],
                         capsys)
    assert status == 2 and message in err and "Traceback" not in err


def test_convolve_error_from_the_library_names_the_file(tmp_path, capsys):
    """A 2x5 image and a 3x3 kernel have no 'valid' output: exit 1, file named."""
    Image.fromarray(np.zeros((2, 5), np.uint8)).save(tmp_path / "tiny.png")
    status, _, err = run(["convolve", tmp_path / "tiny.png", "-o", tmp_path / "c.npy",
                          "--kernel", "1 1 1; 1 1 1; 1 1 1", "--mode", "valid"], capsys)
    assert status == 1 and "tiny.png" in err and "--mode valid" in err   # command-line words
    assert "mode='valid'" not in err
    assert not (tmp_path / "c.npy").exists()


def test_info_and_version(capsys):
    status, out, _ = run(["info"], capsys)
    assert status == 0 and "OpenMP" in out and imfilt.__version__ in out
    status, out, _ = run(["--version"], capsys)
    assert status == 0 and out.strip() == f"imfilt {imfilt.__version__}"
    status, out, _ = run(["--help"], capsys)
    assert status == 0 and "edges" in out and "exit status" in out


def test_console_script_is_declared():
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        meta = tomllib.load(f)
    assert meta["project"]["scripts"]["imfilt"] == "imfilt.cli:main"


# ---------------------------------------------------------------------------
# a real process


def _python_m(args, cwd):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "imfilt", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_readme_first_command(tmp_path):
    """The README's first command: edges of a photograph shipped with scikit-image."""
    photo = os.path.join(skimage.data.data_dir, "astronaut.png")
    done = _python_m(["edges", photo, "-o", tmp_path / "astronaut_edges.png"], tmp_path)
    assert done.returncode == 0, done.stderr
    edges = png(tmp_path / "astronaut_edges.png")
    assert edges.shape == (512, 512) and edges.dtype == np.uint8 and edges.max() == 255
    done = _python_m(["edges", photo, "-o", tmp_path / "astronaut_canny.png",
                      "--operator", "canny", "--sigma", "2"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert set(np.unique(png(tmp_path / "astronaut_canny.png"))) == {0, 255}


def test_subprocess_exit_statuses(photos, tmp_path):
    ok = _python_m(["edges", photos / "camera.png", "-o", tmp_path / "a.png"], tmp_path)
    assert ok.returncode == 0 and ok.stderr == "" and (tmp_path / "a.png").exists()
    again = _python_m(["edges", photos / "camera.png", "-o", tmp_path / "a.png"], tmp_path)
    assert again.returncode == 1 and "a.png" in again.stderr and "--overwrite" in again.stderr
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    bad = _python_m(["edges", photos, "-o", tmp_path / "dir", "--operator", "canny"], tmp_path)
    assert bad.returncode == 1
    assert "broken.jpg" in bad.stderr and "Traceback" not in bad.stderr
    assert len(os.listdir(tmp_path / "dir")) == 3
    usage = _python_m(["edges", photos / "camera.png", "-o", tmp_path / "b.png",
                       "--operator", "nope"], tmp_path)
    assert usage.returncode == 2 and "invalid choice" in usage.stderr
    assert "Traceback" not in usage.stderr
    info = _python_m(["info"], tmp_path)
    assert info.returncode == 0 and "OpenMP" in info.stdout
