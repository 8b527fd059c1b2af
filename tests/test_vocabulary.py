"""The shared vocabulary: choices, geometry helpers, the docfiller, thread policy."""

import numpy as np
import pytest
from scipy import ndimage

from imfilt import _docs, _geometry, _modes, _threads, _validation
from imfilt._geometry import (as_axes, as_tuple, channel_axis_index, check_colour_ambiguity,
                              check_out, filter_axes, mode_pads, output_length, valid_swap)


# --- check_choice: wrong type -> TypeError, wrong value -> ValueError naming all ---

def test_check_choice_canonical_alias_and_errors():
    choices = ("full", "same", "valid")
    assert _validation.check_choice("mode", "same", choices) == "same"
    assert _validation.check_choice("b", "nearest", ("edge",), aliases={"nearest": "edge"}) == "edge"
    with pytest.raises(ValueError, match=r"mode='sam' is not valid; choose one of 'full', 'same', 'valid'$"):
        _validation.check_choice("mode", "sam", choices)
    with pytest.raises(ValueError, match=r"Did you mean 'same'\?"):
        _validation.check_choice("mode", " SAME", choices)
    with pytest.raises(ValueError, match="Did you mean 'reflect'"):
        _validation.check_choice("boundary", "Mirror", ("reflect",),
                                 hints={"mirror": "'reflect'"})
    for bad in (None, 3, b"same", ["same"]):
        with pytest.raises(TypeError, match=r"mode=.* is not valid; choose one of 'full'"):
            _validation.check_choice("mode", bad, choices)


def test_canonical_boundary_lists_aliases():
    assert _modes.canonical_boundary("constant") == "fill"
    with pytest.raises(ValueError, match=r"choose one of 'fill' \(or 'constant'\), 'wrap'"):
        _modes.canonical_boundary("nope")
    with pytest.raises(TypeError, match="boundary=None"):
        _modes.canonical_boundary(None)


@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm", "reflect", "edge"])
def test_ndimage_mode_table_matches_the_boundary_rules(boundary):
    """NDIMAGE_MODE names the scipy.ndimage mode that pads exactly like numpy.pad's rule."""
    x = np.arange(1.0, 6.0)
    w = np.zeros(9)
    w[0] = 1.0        # picks the sample 4 to the left: reads the extension
    got = ndimage.correlate1d(x, w, mode=_modes.NDIMAGE_MODE[boundary], cval=7.0)
    padded = np.pad(x, 4, mode=_modes.NUMPY_PAD_MODE[boundary],
                    **({"constant_values": 7.0} if boundary == "fill" else {}))
    np.testing.assert_array_equal(got, padded[:5])


# --- as_tuple ------------------------------------------------------------------

def test_as_tuple_values():
    assert as_tuple("stride", 2, 2) == (2, 2)
    assert as_tuple("stride", (1, 3), 2) == (1, 3)
    assert as_tuple("stride", np.array([2, 4]), 2) == (2, 4)
    assert as_tuple("stride", np.int64(3), 3) == (3, 3, 3)
    assert as_tuple("sigma", 1, 2, kind=float) == (1.0, 1.0)
    assert as_tuple("sigma", (0.5, 2), 2, minimum=0, kind=float) == (0.5, 2.0)
    assert all(type(v) is int for v in as_tuple("k", np.array([2, 4]), 2))


@pytest.mark.parametrize("bad", [1.5, "2", True, None, (1, "a"), object(), (1, 2, 3), ()])
def test_as_tuple_wrong_type_is_type_error(bad):
    with pytest.raises(TypeError, match=r"stride=.* is not valid; use an int or a sequence of 2"):
        as_tuple("stride", bad, 2, minimum=1)


@pytest.mark.parametrize("bad", [0, -1, (2, 0)])
def test_as_tuple_wrong_value_is_value_error(bad):
    with pytest.raises(ValueError, match=r"stride=.* is not valid"):
        as_tuple("stride", bad, 2, minimum=1)


def test_as_tuple_float_rejects_non_finite_and_bool():
    with pytest.raises(ValueError, match="finite"):
        as_tuple("sigma", np.inf, 2, kind=float)
    with pytest.raises(TypeError):
        as_tuple("sigma", True, 2, kind=float)


# --- axes and channel_axis --------------------------------------------------------

def test_axes_and_channel_axis():
    assert as_axes("axes", (-1, 0), 3) == (2, 0)
    assert as_axes("axes", 1, 3) == (1,)
    assert channel_axis_index(-1, 3) == 2
    assert channel_axis_index(None, 3) is None
    assert filter_axes(3) == (0, 1, 2)
    assert filter_axes(3, channel_axis=0) == (1, 2)
    assert filter_axes(4, axes=(-1, 1)) == (1, 3)
    with pytest.raises(ValueError, match=r"axes=\(0, 0\) is not valid; it names the same axis"):
        as_axes("axes", (0, 0), 3)
    with pytest.raises(ValueError, match=r"axes=\(0, 3\) is not valid for an image with 3 "):
        as_axes("axes", (0, 3), 3)
    with pytest.raises(TypeError, match=r"axes=\(0,\) is not valid; give 2 distinct axes"):
        as_axes("axes", (0,), 3, count=2)
    with pytest.raises(TypeError, match="axes='01'"):
        as_axes("axes", "01", 3)
    with pytest.raises(TypeError, match="channel_axis=1.5"):
        channel_axis_index(1.5, 3)
    with pytest.raises(ValueError, match="channel_axis=3 is not valid"):
        channel_axis_index(3, 3)
    with pytest.raises(ValueError, match="contains the channel axis"):
        filter_axes(3, axes=(1, 2), channel_axis=-1)


@pytest.mark.parametrize("shape", [(5, 6, 3), (5, 6, 4)])
def test_colour_ambiguity_is_refused(shape):
    x = np.zeros(shape)
    with pytest.raises(ValueError, match=r"looks like a colour image.*channel_axis=-1.*axes="):
        check_colour_ambiguity(x, None, None, "gaussian")
    check_colour_ambiguity(x, None, -1, "gaussian")
    check_colour_ambiguity(x, (0, 1, 2), None, "gaussian")
    check_colour_ambiguity(np.zeros((5, 6, 5)), None, None, "gaussian")
    check_colour_ambiguity(np.zeros((5, 3)), None, None, "gaussian")


# --- pads, output lengths, the 'valid' swap, out= ------------------------------------

@pytest.mark.parametrize("k", [1, 2, 3, 4, 7])
def test_mode_pads_and_output_length(k):
    n = 9
    assert output_length(n, *mode_pads("full", k, True), k) == n + k - 1
    assert output_length(n, *mode_pads("valid", k, True), k) == n - k + 1
    for align in (True, False):
        before, after = mode_pads("same", k, align)
        assert before + after == k - 1 and output_length(n, before, after, k) == n
    # PyTorch: (n + 2p - d (k - 1) - 1) // s + 1
    for s in (1, 2, 3):
        for p in (0, 1):
            for d in (1, 2):
                span = d * (k - 1) + 1
                expected = max((n + 2 * p - d * (k - 1) - 1) // s + 1, 0)
                assert output_length(n, p, p, span, s) == expected


def test_valid_swap():
    assert not valid_swap("same", (3, 3), (5, 5))
    assert not valid_swap("valid", (5, 5), (3, 3))
    assert valid_swap("valid", (3, 3), (5, 5))
    with pytest.raises(ValueError, match="at least as large"):
        valid_swap("valid", (3, 6), (5, 2))


def test_check_out():
    x = np.zeros((2, 3))
    check_out(np.zeros((2, 3)), (2, 3), np.dtype(float), [("image", x)])
    with pytest.raises(TypeError):
        check_out([0], (2, 3), np.dtype(float), [])
    with pytest.raises(ValueError, match="shape"):
        check_out(np.zeros((3, 2)), (2, 3), np.dtype(float), [])
    with pytest.raises(ValueError, match="dtype"):
        check_out(np.zeros((2, 3), np.float32), (2, 3), np.dtype(float), [])
    with pytest.raises(ValueError, match="overlaps image"):
        check_out(x, (2, 3), np.dtype(float), [("image", x)])


# --- docfiller --------------------------------------------------------------------------

def test_docfiller_fills_and_indents():
    @_docs.docfiller
    def f():
        """Summary.

        Parameters
        ----------
        %(boundary)s
        %(workers)s
        """
    assert "%(" not in f.__doc__
    assert "\n        boundary : str, optional\n            How the image" in f.__doc__
    assert "``'mirror'``" in f.__doc__ and "BORDER_REFLECT_101" in f.__doc__
    assert "\n        workers : int, optional\n" in f.__doc__


def test_docfiller_extra_and_unknown():
    @_docs.docfiller(thing="thing : int\n    A thing.")
    def g():
        """S.

        %(thing)s
        """
    assert "\n        thing : int\n            A thing." in g.__doc__
    with pytest.raises(KeyError, match="nope"):
        @_docs.docfiller
        def h():
            """%(nope)s"""


@pytest.mark.parametrize("name", ["image", "boundary", "fillvalue", "axes", "channel_axis",
                                  "dtype", "workers", "nan_policy", "out", "mode", "method"])
def test_every_contract_snippet_exists(name):
    assert name in _docs.SNIPPETS
    assert _docs.SNIPPETS[name].startswith(name + " :")


# --- threads ------------------------------------------------------------------------

def test_resolve_workers_is_pure(monkeypatch):
    monkeypatch.setitem(_threads._fork_state, "parallel_used", False)
    assert _threads.resolve_workers(2) == min(2, 4 * _threads.available_cores())
    _threads.get_workers()
    assert _threads._fork_state["parallel_used"] is False
    with pytest.raises(TypeError, match="workers=2.5"):
        _threads.resolve_workers(2.5)
    with pytest.raises(ValueError, match="workers=0"):
        _threads.resolve_workers(0)


def test_min_parallel_work_is_the_patched_constant(monkeypatch):
    monkeypatch.setattr(_threads, "PARALLEL_MIN_WORK", 123)
    assert _threads.min_parallel_work() == 123


def test_type_errors_are_also_value_errors_for_compatibility():
    """Wrong types raise TypeError; it is also a ValueError (imfilt 0.1 raised that)."""
    import imfilt
    for call in (lambda: imfilt.convolve(np.ones((3, 3)), np.ones((2, 2)), stride="2"),
                 lambda: imfilt.convolve(np.ones((3, 3)), np.ones((2, 2)), mode=None),
                 lambda: imfilt.sobel(np.ones((3, 3)), workers=1.5),
                 lambda: imfilt.sobel(np.ones((3, 3, 3)), channel_axis="x")):
        with pytest.raises(TypeError) as info:
            call()
        assert isinstance(info.value, ValueError)
