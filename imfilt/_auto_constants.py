"""Cost-model constants for method="auto" (seconds).

Regenerate with ``python benchmarks/calibrate_auto.py --write`` on the
target machine; the values below are the medians of three runs on a 2-core
AMD EPYC (Zen 5).  Single runs moved by up to 10 % in the single-thread
terms and far more in the two thread efficiencies (wall times on a shared
machine).
"""

DIRECT_OVERHEAD = 2.0e-5
DIRECT_PER_TAP = {"f32": 3.075e-11, "f64": 5.099e-11}
DIRECT_PER_OUTPUT = {"f32": 1.829e-10, "f64": 2.931e-10}
FFT_OVERHEAD = 1.4e-04
FFT_PER_BLOCK = 2.0e-6
FFT_PER_POINT_LOG = {"f32": 2.614e-10, "f64": 5.535e-10}
FFT_CACHE_PENALTY = 0.1
FFT_THREAD_EFFICIENCY = 0.38
SEPARABLE_MIN_TAPS = 9
AUTO_DIRECT_SHORTCUT = 5.0e-4
THREAD_EFFICIENCY = 0.76
MAX_USEFUL_THREADS = 64
