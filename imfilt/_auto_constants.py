"""Cost-model constants for method="auto" (seconds).

Regenerate with ``python benchmarks/calibrate_auto.py --write`` on the
target machine; the values below are the medians of three runs on a 2-core
Intel Xeon (AVX-512), after the direct method's border runs went vector
(before, on a 2-core AMD EPYC Zen 5: direct 3.1e-11 / 5.1e-11 s per tap,
FFT 2.6e-10 / 5.5e-10 s per point, FFT thread efficiency 0.38).  Single runs
moved by up to 10 % in the single-thread terms and far more in the two
thread efficiencies (wall times on a shared machine).
"""

DIRECT_OVERHEAD = 2.0e-5
DIRECT_PER_TAP = {"f32": 2.549e-11, "f64": 4.430e-11}
DIRECT_PER_OUTPUT = {"f32": 2.607e-10, "f64": 4.638e-10}
FFT_OVERHEAD = 9.9e-05
FFT_PER_BLOCK = 2.0e-6
FFT_PER_POINT_LOG = {"f32": 3.036e-10, "f64": 4.920e-10}
FFT_CACHE_PENALTY = 0.1
FFT_THREAD_EFFICIENCY = 0.76
SEPARABLE_MIN_TAPS = 9
AUTO_DIRECT_SHORTCUT = 5.0e-4
THREAD_EFFICIENCY = 0.97
MAX_USEFUL_THREADS = 64
