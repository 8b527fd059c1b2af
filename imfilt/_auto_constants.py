"""Cost-model constants for method="auto" (seconds).

Regenerate with ``python benchmarks/calibrate_auto.py --write`` on the
target machine; the values below were measured on the 2-core AMD EPYC
(Zen 4, AVX-512) development machines.
"""

DIRECT_OVERHEAD = 2.0e-5
DIRECT_PER_TAP = {"f32": 6.277e-11, "f64": 7.461e-11}
DIRECT_PER_OUTPUT = {"f32": 7.419e-10, "f64": 1.147e-09}
FFT_OVERHEAD = 5.0e-5
FFT_PER_BLOCK = 2.0e-6
FFT_PER_POINT_LOG = {"f32": 4.0e-10, "f64": 6.5e-10}
FFT_CACHE_PENALTY = 0.1
FFT_THREAD_EFFICIENCY = 0.8
SEPARABLE_MIN_TAPS = 9
AUTO_DIRECT_SHORTCUT = 5.0e-4
THREAD_EFFICIENCY = 0.30
MAX_USEFUL_THREADS = 64
