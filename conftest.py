"""Collection rules for the doctests of optional modules.

The package ``imfilt/dask/`` needs the optional ``dask`` extra: without it,
its doctests are skipped instead of failing to import.
"""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("dask") is None:
    collect_ignore.append("imfilt/dask")
