"""The grammar of the command line: one verb per public filter, from one table.

Each verb is ``imfilt VERB INPUT... -o OUTPUT [options]``; its options map
onto the keyword parameters of the public function it names; options that do
not apply are refused with exit status 2; messages use command-line words.
Results are compared with the library called directly (the CLI holds no maths).
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import skimage.data
from PIL import Image

import imfilt
from imfilt import _cli_verbs, cli
from imfilt.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(imfilt.__file__)))


@pytest.fixture(scope="module")
def camera():
    return skimage.data.camera()[::4, ::4].copy()      # 128x128 uint8


@pytest.fixture
def grey(tmp_path, camera):
    path = tmp_path / "grey.png"
    Image.fromarray(camera).save(path)
    return path


def run(argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def unit(a):
    return a.astype(np.float32) / np.float32(255)


def test_help_lists_every_verb_with_one_line(capsys):
    status, out, _ = run(["--help"], capsys)
    assert status == 0
    for name, verb in _cli_verbs.VERBS.items():
        line = next(line for line in out.splitlines() if line.strip().startswith(name + " "))
        assert verb.summary in line
    assert "info" in out and "exit status" in out


def test_every_verb_has_help(capsys):
    for name in list(_cli_verbs.VERBS) + ["info"]:
        status, out, _ = run([name, "--help"], capsys)
        assert status == 0 and out.startswith("usage: imfilt " + name), name


def test_table_rows_exist_only_for_functions_imfilt_has():
    for verb in _cli_verbs.VERBS.values():
        assert callable(getattr(imfilt, verb.func))
    names = {v.func for v in _cli_verbs._TABLE}
    missing = {n for n in names if not hasattr(imfilt, n)}
    assert not missing & {v.func for v in _cli_verbs.VERBS.values()}
    for name in ("edges", "convolve", "correlate", "max-pool", "upsample", "pyramid-down"):
        assert name in _cli_verbs.VERBS


def test_a_new_public_filter_is_one_table_row(grey, tmp_path, camera, monkeypatch, capsys):
    """A filter that lands later (here a stand-in for imfilt.median) needs only its row."""
    calls = []

    def median(image, size=3, *, footprint=None, boundary="symm", fillvalue=0, axes=None,
               channel_axis=None, workers=None, nan_policy="propagate", out=None):
        calls.append(dict(size=size, boundary=boundary, workers=workers))
        return image[::-1].copy()
    monkeypatch.setattr(imfilt, "median", median, raising=False)
    row = next(v for v in _cli_verbs._TABLE if v.name == "median")
    verb = _cli_verbs._available(row)
    assert [o.flag for o in verb.options] == ["--size"]
    monkeypatch.setitem(_cli_verbs.VERBS, "median", verb)
    out = tmp_path / "m.png"
    status, _, err = run(["median", grey, "-o", out, "--size", "5,3", "--boundary", "wrap",
                          "--workers", "1"], capsys)
    assert status == 0, err
    assert calls == [dict(size=(5, 3), boundary="wrap", workers=1)]
    np.testing.assert_array_equal(np.array(Image.open(out)), camera[::-1])
    status, _, err = run(["median", grey, "-o", out, "--size", "0"], capsys)
    assert status == 2 and "--size '0'" in err
    # A row whose required parameter the function does not take is not offered.
    monkeypatch.setattr(imfilt, "rank_filter", lambda image, size=3: image, raising=False)
    assert _cli_verbs._available(
        next(v for v in _cli_verbs._TABLE if v.name == "rank-filter")) is None


# ---------------------------------------------------------------------------
# kernels


SOBEL = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=float)


@pytest.mark.parametrize("text", [
    "1 2 1; 0 0 0; -1 -2 -1",
    "1,2,1;0,0,0;-1,-2,-1",
    "[[1, 2, 1], [0, 0, 0], [-1, -2, -1]]",
    "1 2 1\n0 0 0\n-1 -2 -1\n",
    "  1, 2, 1 ;  0 0 0;-1 -2 -1 ;",
    "sobel-y",
])
def test_kernel_syntaxes_on_the_command_line_and_in_files(text, grey, tmp_path, camera,
                                                          capsys):
    expected = imfilt.convolve(unit(camera), SOBEL, mode="same", boundary="symm")
    status, _, err = run(["convolve", grey, "-o", tmp_path / "a.npy", f"--kernel={text}"],
                         capsys)
    assert status == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), expected)
    if text == "sobel-y":
        return
    (tmp_path / "k.txt").write_text(text)
    status, _, err = run(["convolve", grey, "-o", tmp_path / "b.npy", "--kernel-file",
                          tmp_path / "k.txt"], capsys)
    assert status == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "b.npy"), expected)


def test_kernel_file_npy_and_comments(grey, tmp_path, camera, capsys):
    np.save(tmp_path / "k.npy", SOBEL)
    (tmp_path / "k.txt").write_text("# a Sobel kernel\n1 2 1  # top\n0 0 0\n-1 -2 -1\n")
    expected = imfilt.convolve(unit(camera), SOBEL, mode="same", boundary="symm")
    for name in ("k.npy", "k.txt"):
        status, _, err = run(["convolve", grey, "-o", tmp_path / f"{name}.npy",
                              "--kernel-file", tmp_path / name], capsys)
        assert status == 0, err
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}.npy"), expected)


@pytest.mark.parametrize("name,matrix", [
    ("box:3", np.full((3, 3), 1 / 9)),
    ("box:2x5", np.full((2, 5), 1 / 10)),
    ("identity", np.ones((1, 1))),
    ("sobel-x", SOBEL.T),
    ("laplace", [[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    ("Scharr-Y", [[3, 10, 3], [0, 0, 0], [-3, -10, -3]]),
])
def test_named_kernels(name, matrix, grey, tmp_path, camera, capsys):
    status, _, err = run(["correlate", grey, "-o", tmp_path / "n.npy", "--kernel", name],
                         capsys)
    assert status == 0, err
    np.testing.assert_array_equal(
        np.load(tmp_path / "n.npy"),
        imfilt.correlate(unit(camera), np.asarray(matrix, float), mode="same",
                         boundary="symm"))


def test_sobel_x_named_kernel_gives_the_positive_derivative(tmp_path, capsys):
    ramp = np.tile(np.arange(0, 200, 10, dtype=np.uint8), (8, 1))     # brighter to the right
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    status, _, err = run(["convolve", tmp_path / "ramp.png", "-o", tmp_path / "d.npy",
                          "--kernel", "sobel-x"], capsys)
    assert status == 0, err
    assert (np.load(tmp_path / "d.npy")[:, 1:-1] > 0).all()


@pytest.mark.parametrize("kernel,message", [
    ("gausian:2", "not a known kernel name"),
    ("box:0", "box:N"),
    ("box:x", "box:N"),
    ("[[1, 2], [3]", "unbalanced brackets"),
    ("[[1, 2], [3]]", "rows have different lengths"),
    ("1 nan 1", "must be finite"),
])
def test_kernel_errors(kernel, message, grey, tmp_path, capsys):
    status, _, err = run(["convolve", grey, "-o", tmp_path / "x.png", f"--kernel={kernel}"],
                         capsys)
    assert status == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_gaussian_named_kernel(grey, tmp_path, camera, capsys):
    status, _, err = run(["convolve", grey, "-o", tmp_path / "g.npy", "--kernel",
                          "gaussian:1.5"], capsys)
    if not hasattr(imfilt, "gaussian_kernel"):
        assert status == 2 and "imfilt.gaussian_kernel" in err
        return
    assert status == 0, err
    np.testing.assert_array_equal(
        np.load(tmp_path / "g.npy"),
        imfilt.convolve(unit(camera), np.asarray(imfilt.gaussian_kernel(1.5, ndim=2), float),
                        mode="same", boundary="symm"))


# ---------------------------------------------------------------------------
# the other existing verbs equal the library


@pytest.mark.parametrize("argv,call", [
    (["max-pool", "--size", "2"], lambda x: imfilt.max_pool2d(x, 2)),
    (["avg-pool", "--size", "3", "--stride", "2"], lambda x: imfilt.avg_pool2d(x, 3, 2)),
    (["min-pool", "--size", "2,4"], lambda x: imfilt.min_pool2d(x, (2, 4))),
    (["upsample", "--factor", "2"], lambda x: imfilt.upsample(x, 2)),
    (["upsample", "--factor", "3", "--method", "nearest"],
     lambda x: imfilt.upsample(x, 3, method="nearest")),
    (["pyramid-down"], imfilt.pyramid_down),
    (["pyramid-up"], imfilt.pyramid_up),
    (["convolve", "--kernel", "1 1; 1 1", "--mode", "full", "--boundary", "fill",
      "--fillvalue", "0.5"],
     lambda x: imfilt.convolve(x, np.ones((2, 2)), mode="full", boundary="fill",
                               fillvalue=0.5)),
])
def test_verbs_equal_the_library(argv, call, grey, tmp_path, camera, capsys):
    status, _, err = run([argv[0], grey, "-o", tmp_path / "r.npy", *argv[1:]], capsys)
    assert status == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "r.npy"), call(unit(camera)))


def test_colour_verbs_work_per_channel(tmp_path, capsys):
    rgb = skimage.data.astronaut()[::8, ::8].copy()
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    status, _, err = run(["max-pool", tmp_path / "rgb.png", "-o", tmp_path / "p.npy",
                          "--size", "2"], capsys)
    assert status == 0, err
    got = np.load(tmp_path / "p.npy")
    expected = np.stack([imfilt.max_pool2d(unit(rgb[..., c]), 2) for c in range(3)], -1)
    np.testing.assert_array_equal(got, expected)


# ---------------------------------------------------------------------------
# options that do not apply, and command-line words


@pytest.mark.parametrize("argv,message", [
    (["edges", "--operator", "canny", "--boundary", "wrap"],
     "--boundary does not apply to --operator canny"),
    (["edges", "--neighbors", "8"], "--neighbors does not apply to --operator sobel"),
    (["edges", "--operator", "laplace", "--sigma", "1"],
     "--sigma does not apply to --operator laplace"),
    (["edges", "--operator", "canny", "--scale", "fixed"], "--scale fixed does not apply"),
    (["edges", "--grey"], "unrecognized arguments: --grey"),
    (["convolve", "--kernel", "1", "--fillvalue", "2"], "--fillvalue applies only to "
                                                        "--boundary fill"),
    (["convolve", "--kernel", "1", "--size", "3"], "unrecognized arguments: --size"),
    (["max-pool", "--size", "2", "--boundary", "wrap"], "unrecognized arguments: --boundary"),
    (["max-pool"], "the following arguments are required: --size"),
    (["upsample", "--factor", "1.5"], "--factor '1.5' is not a whole number"),
    (["upsample", "--factor", "2", "--method", "cubic"], "invalid choice: 'cubic'"),
    (["convolve", "--kernel", "1", "--depth", "16", "--format", "jpeg"],
     "--depth 16 cannot be stored in JPEG"),
    (["max-pool", "--size", "1,2,3"], "give one value or two"),
])
def test_refused_combinations(argv, message, grey, tmp_path, capsys):
    out = tmp_path / "out.png" if "--format" not in argv else tmp_path / "out"
    status, _, err = run([argv[0], grey, "-o", out, *argv[1:]], capsys)
    assert status == 2, err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_library_messages_use_command_line_words(tmp_path, capsys):
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "small.png")
    status, _, err = run(["avg-pool", tmp_path / "small.png", "-o", tmp_path / "p.png",
                          "--size", "9"], capsys)
    assert status == 1 and "small.png" in err
    assert "kernel_size=" not in err and "Traceback" not in err


def test_cli_words_translation():
    flags = {"mode": "--mode", "kernel_size": "--size"}
    assert cli._cli_words("use mode='same' or kernel_size=3", flags) == \
        "use --mode same or --size 3"
    assert cli._cli_words("got axis=3", flags) == "got axis=3"


def test_verbs_in_a_real_process(grey, tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def imfilt_run(*args):
        return subprocess.run([sys.executable, "-m", "imfilt", *map(str, args)], env=env,
                              capture_output=True, text=True, timeout=120)
    done = imfilt_run("edges", grey, "-o", tmp_path / "c.png", "--operator", "canny",
                      "--boundary", "wrap")
    assert done.returncode == 2 and "--boundary does not apply" in done.stderr
    done = imfilt_run("correlate", grey, "-o", tmp_path / "c.png", "--kernel", "box:3")
    assert done.returncode == 0 and done.stderr == ""
    done = imfilt_run("--help")
    assert done.returncode == 0 and "pyramid-down" in done.stdout


# Sample options of every table verb, and the keyword arguments they mean.
SAMPLES = {
    "gaussian": (["--sigma", "1.5"], dict(sigma=1.5)),
    "box": (["--size", "3,5"], dict(size=(3, 5))),
    "unsharp-mask": (["--radius", "2", "--amount", "1.5"], dict(radius=2.0, amount=1.5)),
    "gaussian-laplace": (["--sigma", "2"], dict(sigma=2.0)),
    "gaussian-gradient-magnitude": (["--sigma", "1.5"], dict(sigma=1.5)),
    "difference-of-gaussians": (["--low-sigma", "1", "--high-sigma", "3"],
                                dict(low_sigma=1.0, high_sigma=3.0)),
    "gabor": (["--frequency", "0.2", "--theta", "0.5"], dict(frequency=0.2, theta=0.5)),
    "median": (["--size", "5"], dict(size=5)),
    "rank-filter": (["--rank", "2", "--size", "3"], dict(rank=2, size=3)),
    "percentile-filter": (["--percentile", "90", "--size", "5"],
                          dict(percentile=90.0, size=5)),
    "minimum-filter": (["--size", "3"], dict(size=3)),
    "maximum-filter": (["--size", "3,5"], dict(size=(3, 5))),
    "erosion": (["--size", "3"], dict(size=3)),
    "dilation": (["--size", "3"], dict(size=3)),
    "opening": (["--size", "5"], dict(size=5)),
    "closing": (["--size", "5"], dict(size=5)),
    "white-tophat": (["--size", "7"], dict(size=7)),
    "black-tophat": (["--size", "7"], dict(size=7)),
    "morphological-gradient": (["--size", "3"], dict(size=3)),
    "bilateral": (["--diameter", "5", "--sigma-color", "0.1", "--sigma-space", "3"],
                  dict(diameter=5, sigma_color=0.1, sigma_space=3.0)),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_table_verbs_equal_the_library(name, tmp_path, capsys):
    """Each filter verb, on a grey and a colour image, equals the function on 0..1 values
    with ``channel_axis=-1`` for colour: per channel, except bilateral, whose colour
    weight is joint over the channels (OpenCV's colour rule).  Skipped for filters this
    imfilt does not have yet."""
    if name not in _cli_verbs.VERBS:
        pytest.skip(f"this imfilt has no function for the {name!r} verb yet")
    verb = _cli_verbs.VERBS[name]
    argv, kwargs = SAMPLES[name]
    rgb = skimage.data.astronaut()[::8, ::8].copy()
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    status, _, err = run([name, tmp_path / "rgb.png", "-o", tmp_path / "r.npy", *argv,
                          "--workers", "2"], capsys)
    assert status == 0, err
    func = getattr(imfilt, verb.func)

    def call(x):
        r = func(x, **kwargs)
        return r[0] if isinstance(r, tuple) else r
    if name == "bilateral":
        expected = call_colour = func(unit(rgb), channel_axis=-1, **kwargs)
        per_channel = np.stack([call(unit(rgb[..., c])) for c in range(3)], -1)
        assert not np.array_equal(call_colour, per_channel)   # the joint weight matters
    else:
        expected = np.stack([call(unit(rgb[..., c])) for c in range(3)], -1)
    np.testing.assert_array_equal(np.load(tmp_path / "r.npy"), expected)
    status, _, err = run([name, tmp_path / "rgb.png", "-o", tmp_path / "r.png", *argv],
                         capsys)
    assert status == 0 and Image.open(tmp_path / "r.png").mode == "RGB", err


@pytest.mark.parametrize("argv, message", [
    (["convolve", "--kernel", "1e400"], "beyond float64's range"),
    (["convolve", "--kernel", "[[1e400]]"], "beyond float64's range"),
    (["convolve", "--kernel", "gaussian:1e9"], "use a smaller SIGMA"),
    (["convolve", "--kernel", "box:100000"], "a box of 10000000000 points"),
    (["convolve", "--kernel", "1e308 1e308", "--normalize"], "sums to inf"),
    (["edges", "--operator", "canny", "--sigma", "1e9"], "use a smaller --sigma"),
    (["max-pool", "--size", "2", "--stride", "99999999999999999999999"], "at most 2\\*\\*62"),
    (["edges", "--quality", "500"], "--quality '500' must be from 1 to 100"),
    (["edges", "--max-pixels", "-5"], "--max-pixels '-5' must be at least 0"),
    (["edges", "--frame", "-1"], "--frame '-1' must be at least 0"),
])
def test_values_beyond_range_are_usage_errors(argv, message, grey, tmp_path, capsys):
    # Caught before any file is read: exit status 2 and one line naming the
    # option (never an 'unexpected' error, a traceback or a silent clamp).
    status, _, err = run([argv[0], grey, "-o", tmp_path / "o.jpg", *argv[1:]], capsys)
    assert status == 2, err
    assert re.search(message, err) and "unexpected" not in err and "Traceback" not in err
    assert not (tmp_path / "o.jpg").exists()


@pytest.mark.parametrize("verb, options", [
    ("convolve", ["--kernel=box:3"]), ("correlate", ["--kernel=1,2;3,4"]),
    ("gaussian", ["--sigma", "2"]), ("median", ["--size", "3"]),
    ("maximum-filter", ["--size", "3"]), ("box", ["--size", "4"])])
def test_boundary_help_states_the_default_the_verb_uses(grey, tmp_path, capsys, verb, options):
    """The --boundary help names the boundary a verb runs with when it is not
    given (convolve's help said 'fill', the library function's default,
    while the verb runs with 'symm')."""
    status, out, _ = run([verb, "--help"], capsys)
    default = re.search(r"extended at its borders \(default (\w+)", " ".join(out.split())).group(1)
    status, _, err = run([verb, grey, "-o", tmp_path / "a.npy", *options], capsys)
    assert status == 0, err
    status, _, err = run([verb, grey, "-o", tmp_path / "b.npy", *options,
                          "--boundary", default], capsys)
    assert status == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


@pytest.mark.parametrize("argv, words", [
    (["difference-of-gaussians", "--low-sigma", "2", "--high-sigma", "1"], "--high-sigma"),
    (["pyramid-down", "--dstsize", "19"], "--dstsize 19: give two values"),
    (["gaussian", "--sigma", "1", "--order", "2000"], "--order 2000"),
    (["gaussian", "--sigma", "1", "--truncate", "1e300"], "about 2e+300 taps"),
    (["unsharp-mask", "--radius", "1e300"], "--radius"),
    (["gabor", "--frequency", "0.1", "--bandwidth", "1e300"], "--bandwidth"),
    (["median", "--size", "100000"], "use a smaller size"),
    (["percentile-filter", "--percentile", "50", "--size", "100000,99999"], "use a smaller size"),
    (["box", "--size", "3,"], "give one value or two"),
    (["box", "--size", ",3"], "give one value or two"),
    (["box", "--size", "3", "--boundary", "fill", "--fillvalue", "nan"], "must be finite"),
    (["box", "--size", "3", "--boundary", "fill", "--fillvalue", "1e999"], "must be finite"),
])
def test_image_independent_bad_values_are_usage_errors(argv, words, grey, tmp_path, capsys):
    # exit status 2 before any file is read, one message naming the option
    status, _, err = run([argv[0], grey, "-o", tmp_path / "o.png"] + argv[1:], capsys)
    assert status == 2, err
    assert words in err and "Traceback" not in err and "bug" not in err
    assert not (tmp_path / "o.png").exists()


def test_warnings_of_a_computation_are_one_line_and_quiet_with_q(tmp_path, capsys):
    np.save(tmp_path / "nan.npy", np.full((6, 7), np.nan, np.float32))
    argv = ["box", tmp_path / "nan.npy", "-o", tmp_path / "o.png", "--size", "1",
            "--scale", "per-image"]
    status, _, err = run(argv, capsys)
    assert status == 0, err
    assert "imfilt: warning: All-NaN slice encountered" in err and ".py:" not in err
    status, _, err = run(argv + ["--overwrite", "-q"], capsys)
    assert status == 0 and err == ""


def test_max_pixels_applies_to_npy_inputs(tmp_path, capsys):
    np.save(tmp_path / "a.npy", np.zeros((20, 30), np.float32))
    status, _, err = run(["box", tmp_path / "a.npy", "-o", tmp_path / "o.npy", "--size", "3",
                          "--max-pixels", "10"], capsys)
    assert status == 1 and "above --max-pixels 10" in err


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.uint16])
def test_integer_npy_scales_as_img_as_float(dtype, tmp_path, capsys):
    info = np.iinfo(dtype)
    a = np.array([[info.min, info.max, 0], [5, info.max // 3, info.min // 2]], dtype)
    np.save(tmp_path / "a.npy", a)
    status, _, err = run(["box", tmp_path / "a.npy", "-o", tmp_path / "o.npy", "--size", "1"],
                         capsys)
    assert status == 0, err
    got = np.load(tmp_path / "o.npy")
    np.testing.assert_allclose(got, skimage.img_as_float(a), rtol=1e-6, atol=0)


@pytest.mark.parametrize("name, default", [("box", "none"), ("gabor", "per-image"),
                                           ("gaussian-laplace", "per-image")])
def test_scale_help_names_each_verbs_default(name, default, capsys):
    status, out, _ = run([name, "--help"], capsys)
    assert status == 0
    text = " ".join(out.split())
    part = text[text.index("8/16-bit output:"):]
    part = part[:part.index("(clip = none")]
    assert part.count("(default)") == 1
    assert ("clips (default)" in part) == (default == "none")


def test_sixteen_bit_grey_alpha_png_keeps_its_precision(tmp_path, capsys):
    from imfilt import _io
    rng = np.random.default_rng(0)
    la = (rng.random((4, 5, 2)) * 65535).astype(np.uint16)
    with open(tmp_path / "la.png", "wb") as f:
        _io._png(f, la, 1)
    status, _, err = run(["box", tmp_path / "la.png", "-o", tmp_path / "o.npy", "--size", "1"],
                         capsys)
    assert status == 0, err
    got = np.load(tmp_path / "o.npy")
    np.testing.assert_allclose(got[..., 0] * 65535, la[..., 0], atol=0.01)
    np.testing.assert_allclose(got[..., 1] * 65535, la[..., 1], atol=0.01)
