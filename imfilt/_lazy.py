"""Modules imported on first use, to keep ``import imfilt`` quick (private).

``import scipy.fft`` costs more than the rest of ``import imfilt`` together
(SciPy's array-API layer loads with it), yet only the FFT method needs it.
A command-line run that filters a few files pays that start-up on every
call, so the FFT users reach the module through a :class:`LazyModule`.
"""

import importlib

__all__ = ["LazyModule"]


class LazyModule:
    """Attribute access imports the module ``name`` once, then forwards to it."""

    __slots__ = ("_name", "_module")

    def __init__(self, name):
        self._name = name
        self._module = None

    def __getattr__(self, attr):
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self):
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy module {self._name!r} ({state})>"
