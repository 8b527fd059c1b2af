"""Cost-model constants for method="auto" (seconds).

Regenerate with ``python benchmarks/calibrate_auto.py --write`` on the
target machine; the values below were measured on a 2-core Intel(R) Xeon(R) Processor.
"""

DIRECT_OVERHEAD = 2.0e-5
DIRECT_PER_TAP = {"f32": 3.455e-11, "f64": 5.195e-11}
DIRECT_PER_OUTPUT = {"f32": 6.110e-10, "f64": 1.688e-09}
FFT_OVERHEAD = 3.6e-04
FFT_PER_BLOCK = 2.000e-05
FFT_PER_POINT_LOG = {"f32": 3.805e-10, "f64": 6.072e-10}
FFT_CACHE_PENALTY = 0.1
FFT_THREAD_EFFICIENCY = 0.69
SEPARABLE_MIN_TAPS = 9
AUTO_DIRECT_SHORTCUT = 5.0e-4
THREAD_EFFICIENCY = 0.81
MAX_USEFUL_THREADS = 64
