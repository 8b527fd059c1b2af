"""Private Cython kernels of imfilt.

Nothing here validates its input: the public modules one level up do that,
normalise dtype and memory layout, resolve the thread count and only then
call in.  Every kernel releases the GIL and writes disjoint output rows per
thread, so results do not depend on the thread count.
"""
