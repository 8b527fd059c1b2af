"""Cost-model constants for method="auto" (seconds).

Regenerate with ``python benchmarks/calibrate_auto.py --write`` on the
target machine; the values below were measured on a 2-core AMD EPYC (the
single-thread terms; the two thread efficiencies are kept from the previous
calibration, since the machine's second core was busy with other work).
"""

DIRECT_OVERHEAD = 2.0e-5
DIRECT_PER_TAP = {"f32": 4.045e-11, "f64": 7.090e-11}
DIRECT_PER_OUTPUT = {"f32": 2.109e-10, "f64": 3.911e-10}
FFT_OVERHEAD = 1.4e-04
FFT_PER_BLOCK = 2.0e-6
FFT_PER_POINT_LOG = {"f32": 4.653e-10, "f64": 6.862e-10}
FFT_CACHE_PENALTY = 0.1
FFT_THREAD_EFFICIENCY = 0.30
SEPARABLE_MIN_TAPS = 9
AUTO_DIRECT_SHORTCUT = 5.0e-4
THREAD_EFFICIENCY = 0.85
MAX_USEFUL_THREADS = 64
