"""Cost-model constants for method="auto" (seconds).

Regenerate with ``python benchmarks/calibrate_auto.py --write`` on the
target machine; the values below were measured on the 2-core AMD EPYC
(Zen 4, AVX-512) development machines.
"""

DIRECT_OVERHEAD = 2.0e-5
DIRECT_PER_TAP = {"f32": 4.787e-11, "f64": 8.068e-11}
DIRECT_PER_OUTPUT = {"f32": 4.176e-10, "f64": 1.143e-09}
FFT_OVERHEAD = 5.0e-5
FFT_PER_CALL = 1.0e-5
FFT_PER_POINT_LOG = {"f32": 3.536e-10, "f64": 4.770e-10}
FFT_PER_PAD = {"f32": 3.952e-09, "f64": 8.951e-09}
FFT_TILE_FACTOR = 8
SEPARABLE_MIN_TAPS = 9
THREAD_EFFICIENCY = 0.47
MAX_USEFUL_THREADS = 64
