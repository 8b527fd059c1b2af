"""Long calls answer Ctrl-C: KeyboardInterrupt within 0.5 s of SIGINT.

Each case runs in a subprocess that starts a call taking several seconds,
receives SIGINT, and reports when KeyboardInterrupt arrived (system-wide
monotonic clock) and that the interpreter is still usable afterwards.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROLOGUE = """
import sys, time
import numpy as np
import imfilt
rng = np.random.default_rng(0)
"""

EPILOGUE = """
print("ready", flush=True)
try:
    run()
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", time.monotonic(), flush=True)
print("usable", float(imfilt.correlate(np.ones((3, 3)), np.ones((2, 2))).sum()), flush=True)
"""

CASES = {
    "direct-2d": """
x = rng.random((5000, 5000), dtype=np.float32)
k = np.ones((41, 41), dtype=np.float32)
def run():
    imfilt.correlate(x, k, "same", method="direct")
""",
    "direct-nd": """
x = rng.random((160, 400, 400), dtype=np.float32)
k = np.ones((9, 9, 9), dtype=np.float32)
def run():
    imfilt.convolve(x, k, "same", method="direct")
""",
    "pooling": """
x = rng.random((512, 250, 250), dtype=np.float32)
def run():
    imfilt.max_pool2d(x, 15, stride=1, dilation=2, channel_axis=0)
""",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_sigint_interrupts_long_call(case):
    code = PROLOGUE + CASES[case] + EPILOGUE
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.0)                       # well inside the call
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = out.split("\n")
    assert lines[0].startswith("interrupted"), (out, err)
    latency = float(lines[0].split()[1]) - sent
    print(f"{case}: KeyboardInterrupt {latency:.3f} s after SIGINT")
    assert latency < 0.5, f"KeyboardInterrupt {latency:.3f} s after SIGINT"
    assert lines[1].startswith("usable 36.0"), out
    assert proc.returncode == 0
