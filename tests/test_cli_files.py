"""File safety of the command line: atomic outputs, interruptions, same-file refusal,
full disks and closed pipes, checked in real processes.

The promises: an output appears complete or not at all (it is written to a
hidden temporary file in its directory and renamed when complete; the
temporary file is removed on any error, Ctrl-C or SIGTERM, and leftovers of
a killed run never block a later run); an output that is the same file as an
input is refused even with --overwrite; a full disk is reported as "no space
left on device" with the file name and exit status 1; a closed standard
output ends the program quietly with exit status 141; an interrupted batch
exits with status 130 (143 on SIGTERM) after one summary line.
"""

import errno
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import imfilt
from imfilt import _io

REPO = os.path.dirname(os.path.dirname(os.path.abspath(imfilt.__file__)))
ENV = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))


def imfilt_cmd(*args):
    return [sys.executable, "-m", "imfilt", *map(str, args)]


def run(*args, **kwargs):
    return subprocess.run(imfilt_cmd(*args), env=ENV, capture_output=True, text=True,
                          timeout=300, **kwargs)


def readable(path):
    with Image.open(path) as im:
        im.load()
        return im.size


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory):
    """Six 1500x1500 noisy photos: long enough to interrupt in the middle."""
    d = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(0)
    for i in range(6):
        img = rng.integers(0, 256, (1500, 1500), dtype=np.uint8)
        Image.fromarray(img).save(d / f"img{i}.png", compress_level=0)
    return d


def debris(folder):
    return [n for n in os.listdir(folder) if n.endswith(".imfilt-part")]


def check_outputs(out, expected_size=(1500, 1500)):
    """Every output in ``out`` decodes completely; no temporary file is left."""
    assert debris(out) == []
    for name in os.listdir(out):
        assert readable(out / name) == expected_size, name


def _default_sigint():
    """In the child before exec: Ctrl-C's default action, even when the test run
    itself was started with SIGINT ignored (a background job of a shell), which
    children inherit and Python then leaves ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_batch(folder, target):
    """Start ``imfilt edges`` on ``folder`` writing into the new folder ``target``
    and return it once it is at work: once its first file (a temporary output or a
    finished one) is there, or once it has ended.  A signal sent from then on reaches
    the batch runner, never the interpreter's start-up, whose length varies from
    machine to machine (a clean virtual environment starts much more slowly)."""
    proc = subprocess.Popen(imfilt_cmd("edges", folder, "-o", target,
                                       "--compress-level", "6", "--jobs", "2"),
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=_default_sigint)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if target.exists() and os.listdir(target):
            break
        time.sleep(0.005)
    return proc


def finished(target):
    """Names of the complete outputs in ``target`` (renamed into place)."""
    return [n for n in os.listdir(target) if not n.endswith(".imfilt-part")]


@pytest.mark.parametrize("trials", [8, pytest.param(20, marks=pytest.mark.slow)])
def test_interrupted_batches_never_leave_a_partial_output(trials, big_folder, tmp_path):
    out = tmp_path / "out"
    done = run("edges", big_folder, "-o", out, "--compress-level", "6", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    reference = {n: (out / n).read_bytes() for n in os.listdir(out)}
    assert len(reference) == 6
    rng = random.Random(1)
    interrupted = 0
    for trial in range(trials):
        target = tmp_path / f"out{trial}"
        proc = start_batch(big_folder, target)
        # Ctrl-C after 0 to 3 of the 6 outputs are complete (and a moment
        # more): in the middle of the batch whatever the machine's speed.
        wanted = rng.randint(0, 3)
        deadline = time.monotonic() + 120
        while (proc.poll() is None and time.monotonic() < deadline
               and len(finished(target)) < wanted):
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.02))
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        check_outputs(target)
        for name in os.listdir(target):   # complete, and the bytes of a full run
            assert (target / name).read_bytes() == reference[name]
        if proc.returncode == 130:
            interrupted += 1
            lines = [line for line in err.splitlines() if line.strip()]
            assert len(lines) == 1 and "interrupted:" in lines[0], err
            assert "written" in lines[0] and "Traceback" not in err
        else:   # the batch ended before the signal
            assert proc.returncode == 0, err
    assert interrupted >= trials // 2
    again = run("edges", big_folder, "-o", tmp_path / "out0", "--overwrite")
    assert again.returncode == 0, again.stderr
    assert sorted(os.listdir(tmp_path / "out0")) == sorted(reference)
    check_outputs(tmp_path / "out0")


def test_sigterm_removes_the_temporary_files(big_folder, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(imfilt_cmd("edges", big_folder, "-o", out, "--jobs", "1",
                                       "--compress-level", "9"),
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out.exists() and debris(out)):
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    if proc.returncode != 0:
        assert proc.returncode == 143, err
        assert "interrupted:" in err and "Traceback" not in err
    check_outputs(out)


def test_leftovers_of_a_killed_run_do_not_block(big_folder, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    # What a SIGKILLed run leaves: hidden temporary files next to the outputs.
    (out / ".img0_sobel.png.x1y2z3.imfilt-part").write_bytes(b"\x89PNG half")
    (out / ".img0_sobel.png.imfilt-part").write_bytes(b"")
    done = run("edges", big_folder / "img0.png", "-o", out / "img0_sobel.png")
    assert done.returncode == 0, done.stderr
    assert readable(out / "img0_sobel.png") == (1500, 1500)


def test_outputs_get_the_usual_permissions(big_folder, tmp_path):
    done = run("edges", big_folder / "img1.png", "-o", tmp_path / "e.png")
    assert done.returncode == 0, done.stderr
    mask = os.umask(0)
    os.umask(mask)
    assert (os.stat(tmp_path / "e.png").st_mode & 0o777) == (0o666 & ~mask)


# ---------------------------------------------------------------------------
# the same file as an input


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "a.png"
    Image.fromarray(rng.integers(0, 256, (40, 50), dtype=np.uint8)).save(path)
    return path


def test_hard_link_to_an_input_is_refused(photo, tmp_path):
    before = photo.read_bytes()
    os.link(photo, tmp_path / "link.png")
    done = run("edges", photo, "-o", tmp_path / "link.png", "--overwrite")
    assert done.returncode == 1
    assert "same file as the input" in done.stderr and "link.png" in done.stderr
    assert photo.read_bytes() == before and (tmp_path / "link.png").read_bytes() == before
    # In a batch: the hard link is the planned output of the other input.
    (tmp_path / "out").mkdir()
    os.link(photo, tmp_path / "out" / "a_sobel.png")
    Image.open(photo).save(tmp_path / "b.png")
    done = run("edges", photo, tmp_path / "b.png", "-o", tmp_path / "out", "--overwrite")
    assert done.returncode == 1 and "a_sobel.png" in done.stderr
    assert photo.read_bytes() == before
    assert readable(tmp_path / "out" / "b_sobel.png") == (50, 40)


def test_symbolic_link_and_other_spellings_are_refused(photo, tmp_path):
    before = photo.read_bytes()
    os.symlink(photo, tmp_path / "sym.png")
    done = run("edges", photo, "-o", tmp_path / "sym.png", "--overwrite")
    assert done.returncode == 1 and "same file as the input" in done.stderr
    assert os.path.islink(tmp_path / "sym.png") and photo.read_bytes() == before
    done = run("convolve", "a.png", "-o", "./a.png", "--kernel", "identity", "--overwrite",
               cwd=tmp_path)
    assert done.returncode == 1 and "same file as the input" in done.stderr
    done = run("edges", "a.png", "-o", os.path.join("..", tmp_path.name, "a.png"),
               "--overwrite", cwd=tmp_path)
    assert done.returncode == 1 and "same file as the input" in done.stderr
    assert photo.read_bytes() == before


# ---------------------------------------------------------------------------
# full disk, closed pipe


ENOSPC_SCRIPT = r"""
import errno, sys
import imfilt._io as io
real = io.encode
def full_disk(f, *args, **kwargs):
    f.write(b"\x89PNG partial data")
    raise OSError(errno.ENOSPC, "No space left on device")
io.encode = full_disk
from imfilt.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_full_disk_is_reported_with_the_file_name(photo, tmp_path):
    Image.open(photo).save(tmp_path / "b.png")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", ENOSPC_SCRIPT, "edges", str(photo),
                           str(tmp_path / "b.png"), "-o", str(out), "--jobs", "1"],
                          env=ENV, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "no space left on device" in done.stderr
    assert "a_sobel.png" in done.stderr and "Traceback" not in done.stderr
    assert os.listdir(out) == []          # neither a partial output nor a temporary file
    single = subprocess.run([sys.executable, "-c", ENOSPC_SCRIPT, "edges", str(photo),
                             "-o", str(tmp_path / "one.png")],
                            env=ENV, capture_output=True, text=True, timeout=120)
    assert single.returncode == 1
    assert "cannot write" in single.stderr and "one.png" in single.stderr
    assert "no space left on device" in single.stderr
    assert not (tmp_path / "one.png").exists() and debris(tmp_path) == []


def test_full_disk_message_names_the_reason():
    assert _io.describe_os_error(OSError(errno.ENOSPC, "No space left on device")) == \
        "no space left on device"
    assert _io.describe_os_error(OSError(errno.EACCES, "Permission denied")) == \
        "permission denied"


def test_closed_pipe_ends_quietly(big_folder):
    # 9 MB of float32 values to standard output, far more than a pipe buffer holds.
    proc = subprocess.Popen(imfilt_cmd("edges", big_folder / "img2.png", "-o", "-",
                                       "--format", "npy"),
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.read(10)[1:6] == b"NUMPY"   # like `head -c 10`, then close
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert err == ""
    assert proc.returncode == 141


def test_closed_pipe_in_a_shell_pipeline(tmp_path):
    done = subprocess.run(" ".join(imfilt_cmd("info")) + " | head -1", shell=True, env=ENV,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("imfilt")


# ---------------------------------------------------------------------------
# the guard itself


def test_guard_removes_the_temporary_file_on_error(tmp_path):
    guard = _io.OutputGuard()

    def fail(f):
        f.write(b"half")
        raise RuntimeError("encoder failed")
    with pytest.raises(RuntimeError):
        guard.write(str(tmp_path / "x.png"), fail)
    assert os.listdir(tmp_path) == []
    guard.write(str(tmp_path / "x.png"), lambda f: f.write(b"whole"))
    assert os.listdir(tmp_path) == ["x.png"] and (tmp_path / "x.png").read_bytes() == b"whole"


def test_guard_cancel_removes_files_in_progress(tmp_path):
    guard = _io.OutputGuard()
    seen = []

    def interrupted(f):
        f.write(b"half")
        seen.extend(os.listdir(tmp_path))
        guard.cancel()                    # what the main thread does on Ctrl-C
        f.write(b" more")
    with pytest.raises(_io.Cancelled):
        guard.write(str(tmp_path / "y.png"), interrupted)
    assert len(seen) == 1 and seen[0].endswith(".imfilt-part")
    assert os.listdir(tmp_path) == []
    with pytest.raises(_io.Cancelled):
        guard.write(str(tmp_path / "z.png"), lambda f: f.write(b"x"))
    assert os.listdir(tmp_path) == []


def test_a_write_cancelled_before_its_file_opens_leaves_nothing(tmp_path, monkeypatch):
    # cancel() can remove a temporary file between its creation and its
    # opening: the writer must not create it again (a process that exits
    # right after an interruption would leave it behind)
    from imfilt import _io
    guard = _io.OutputGuard()
    real_fchmod = os.fchmod

    def cancel_then_fchmod(fd, mode):
        guard.cancel()
        real_fchmod(fd, mode)

    seen = []     # the folder while the output is being written
    monkeypatch.setattr(os, "fchmod", cancel_then_fchmod)
    with pytest.raises(_io.Cancelled):
        guard.write(tmp_path / "a.png", lambda f: seen.append(os.listdir(tmp_path)))
    monkeypatch.undo()
    assert all(names == [] for names in seen)
    assert os.listdir(tmp_path) == []


def test_special_files_are_written_in_place(photo, tmp_path):
    # /dev/null takes the output without --overwrite and stays a device; a
    # FIFO receives the bytes (a regular file renamed over either would
    # replace it).
    done = run("median", photo, "-o", os.devnull)
    assert done.returncode == 0, done.stderr
    assert not os.path.isfile(os.devnull)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    done = run("median", photo, "-o", fifo, "--format", "png", "--overwrite")
    data = reader.communicate(timeout=60)[0]
    assert done.returncode == 0, done.stderr
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert not fifo.is_file() and fifo.is_fifo()
    # /dev/stdout redirected to a regular file: written through, the link kept
    if os.path.islink("/dev/stdout"):
        target = tmp_path / "through.png"
        with open(target, "wb") as f:
            done = subprocess.run(imfilt_cmd("median", photo, "-o", "/dev/stdout"), env=ENV,
                                  stdout=f, stderr=subprocess.PIPE, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert readable(target) == (50, 40) and os.path.islink("/dev/stdout")
    # a regular file under /dev (a tmpfs such as /dev/shm) is an ordinary output
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        regular = f"/dev/shm/imfilt-test-{os.getpid()}.png"
        try:
            with open(regular, "wb") as f:
                f.write(b"precious")
            done = run("median", photo, "-o", regular)
            assert done.returncode == 1 and "--overwrite" in done.stderr
            assert not _io.is_special_file(regular)
        finally:
            os.unlink(regular)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_full_standard_output_is_an_ordinary_error(photo):
    with open("/dev/full", "wb") as full:
        done = subprocess.run(imfilt_cmd("median", photo, "-o", "-"), env=ENV, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 1
    assert "cannot write standard output: no space left on device" in done.stderr
    assert "bug" not in done.stderr and "Traceback" not in done.stderr


def test_a_file_named_as_an_output_is_not_filtered_and_says_so(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    Image.fromarray(np.full((8, 9), 40, np.uint8)).save(d / "a.png")
    Image.fromarray(np.full((8, 9, 3), 90, np.uint8)).save(d / "a_median.png")
    done = run("median", d, "-o", d)
    assert done.returncode == 1      # it exists: not replaced without --overwrite
    assert "'" + str(d / "a_median.png") + "' is not filtered" in done.stderr
    with Image.open(d / "a_median.png") as im:
        assert im.mode == "RGB"
    done = run("median", d, "-o", d, "--overwrite")
    assert done.returncode == 0, done.stderr
    assert "is not filtered" in done.stderr and "--overwrite replaces it" in done.stderr
