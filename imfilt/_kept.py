"""Values kept between calls, by value: the FFT method's kernel spectra.

A script filters frame after frame, a dask graph chunk after chunk, with one
kernel; the FFT method's spectrum of that kernel (the column transforms of an
``L0 x (L1 / 2 + 1)`` plane) costs as much as a tenth of a call.  The method
keys each spectrum on everything it depends on -- the kernel's dtype, shape
and bytes (a kernel changed in place is a new key) and the block lengths --
and finds it here on the next call.  Kept arrays are read-only; the least
recently used goes first when the total passes ``LIMIT_BYTES``, and the
caller keeps nothing larger than a quarter of it.  Safe to use from several
threads at once.
"""

import collections
import threading

#: Bytes of kept values at most.
LIMIT_BYTES = 64 * 2**20

_values = collections.OrderedDict()
_lock = threading.Lock()


def get(key):
    """The read-only array kept under ``key``, or None."""
    with _lock:
        value = _values.get(key)
        if value is not None:
            _values.move_to_end(key)
        return value


def put(key, value):
    """Keep the array ``value`` (made read-only) under ``key``, dropping the
    least recently used ones past ``LIMIT_BYTES``."""
    value.flags.writeable = False
    with _lock:
        _values[key] = value
        total = sum(v.nbytes for v in _values.values())
        while total > LIMIT_BYTES and _values:
            total -= _values.popitem(last=False)[1].nbytes


def stats():
    """``(count, bytes)`` of the values kept now."""
    with _lock:
        return len(_values), sum(v.nbytes for v in _values.values())


def release():
    """Drop every kept value."""
    with _lock:
        _values.clear()
