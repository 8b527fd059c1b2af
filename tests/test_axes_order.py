"""``axes`` listed out of order: which axis each per-axis value belongs to.

scipy.ndimage's rule, followed here: sigmas, orders, radii and sizes of the
smoothing and minimum/maximum filters (except that gaussian_laplace and
gaussian_gradient_magnitude pair them with axis 0, 1, ... when ``axes`` names
every axis) (and a footprint without a False
entry, which is a size) go with ``axes`` as listed; the rank filters and any
footprint with a hole pair their axes with the filtered axes in increasing
order (and dilation moves the centre of a holed footprint's even-length axis
on the axis listed in its place, when fewer axes than the image's are given).  Dask results equal the in-memory ones for out-of-order axes too.
"""

import numpy as np
import pytest
import scipy.ndimage as ndi

import imfilt

da = pytest.importorskip("dask.array")
import imfilt.dask as idask  # noqa: E402

AXES = [(1, 0), (2, 0), (-1, 0, 1), (2, 1, 0), (0, -1)]
MODES = {"symm": "reflect", "fill": "constant", "wrap": "wrap"}


def image(seed=0):
    return np.random.default_rng(seed).standard_normal((8, 9, 10))


def per_axis(values, axes):
    return tuple(values[:len(axes)])


@pytest.mark.parametrize("axes", AXES)
@pytest.mark.parametrize("boundary", list(MODES))
def test_smoothing_pairs_values_with_axes_as_listed(axes, boundary):
    x = image()
    kw = {"boundary": boundary, "fillvalue": 0, "axes": axes}
    ref = {"mode": MODES[boundary], "axes": axes}
    sig = per_axis((0.5, 2.0, 1.2), axes)
    order = per_axis((1, 0, 2), axes)
    np.testing.assert_allclose(imfilt.gaussian(x, sig, **kw), ndi.gaussian_filter(x, sig, **ref),
                               atol=1e-12)
    np.testing.assert_allclose(imfilt.gaussian(x, sig, order=order, **kw),
                               ndi.gaussian_filter(x, sig, order=order, **ref), atol=1e-12)
    np.testing.assert_allclose(imfilt.gaussian(x, sig, radius=per_axis((1, 4, 2), axes), **kw),
                               ndi.gaussian_filter(x, sig, radius=per_axis((1, 4, 2), axes),
                                                   **ref), atol=1e-12)
    size = per_axis((2, 7, 3), axes)
    np.testing.assert_allclose(imfilt.box(x, size, **kw), ndi.uniform_filter(x, size, **ref),
                               atol=1e-12)
    np.testing.assert_allclose(imfilt.gaussian_laplace(x, 1.3, **kw),
                               ndi.gaussian_laplace(x, 1.3, **ref), atol=1e-12)


@pytest.mark.parametrize("axes", AXES)
@pytest.mark.parametrize("boundary", list(MODES))
def test_laplace_and_gradient_pair_sigmas_as_scipy(axes, boundary):
    # scipy.ndimage's gaussian_laplace and gaussian_gradient_magnitude pair a
    # sigma (radius) per axis with axis 0, 1, ... when ``axes`` names every
    # axis, and with ``axes`` as listed when it names only some.
    x = image(2)
    kw = {"boundary": boundary, "fillvalue": 0, "axes": axes}
    ref = {"mode": MODES[boundary], "axes": axes}
    sig = per_axis((0.7, 2.0, 1.3), axes)
    np.testing.assert_allclose(imfilt.gaussian_laplace(x, sig, **kw),
                               ndi.gaussian_laplace(x, sig, **ref), atol=1e-12)
    if len(axes) == x.ndim:
        rad = (1, 5, 2)
        np.testing.assert_allclose(imfilt.gaussian_laplace(x, 1.4, radius=rad, **kw),
                                   ndi.gaussian_laplace(x, 1.4, radius=rad, **ref), atol=1e-12)
        np.testing.assert_allclose(imfilt.gaussian_gradient_magnitude(x, sig, **kw),
                                   ndi.gaussian_gradient_magnitude(x, sig, **ref), atol=1e-12)
        got = idask.gaussian_gradient_magnitude(da.from_array(x, chunks=(3, 4, 5)), sig,
                                                **kw).compute(scheduler="sync")
        np.testing.assert_array_equal(got, imfilt.gaussian_gradient_magnitude(x, sig, **kw))


@pytest.mark.parametrize("axes", [(1, 0), (0, 2), (1,), (2, 0)])
def test_gradient_magnitude_leaves_unnamed_axes_alone(axes):
    x = image(1)
    sig = per_axis((0.9, 1.6, 1.2), axes)
    parts = []
    for i in range(len(axes)):
        order = [0] * len(axes)
        order[i] = 1
        parts.append(ndi.gaussian_filter(x, sig, order=order, axes=axes))
    want = np.sqrt(sum(p * p for p in parts))
    np.testing.assert_allclose(imfilt.gaussian_gradient_magnitude(x, sig, axes=axes), want,
                               atol=1e-12)


@pytest.mark.parametrize("axes", AXES)
@pytest.mark.parametrize("boundary", list(MODES))
def test_min_max_and_morphology(axes, boundary):
    x = image(2)
    kw = {"boundary": boundary, "fillvalue": 0.5, "axes": axes}
    ref = {"mode": MODES[boundary], "cval": 0.5, "axes": axes}
    size = per_axis((2, 5, 3), axes)
    holed = np.random.default_rng(3).random(per_axis((3, 2, 2), axes)) < 0.6
    holed.flat[0], holed.flat[1] = True, False
    pairs = [(imfilt.minimum_filter, ndi.minimum_filter), (imfilt.maximum_filter,
             ndi.maximum_filter), (imfilt.erosion, ndi.grey_erosion),
             (imfilt.dilation, ndi.grey_dilation), (imfilt.opening, ndi.grey_opening),
             (imfilt.closing, ndi.grey_closing)]
    for ours, theirs in pairs:
        np.testing.assert_array_equal(ours(x, size, **kw), theirs(x, size=size, **ref))
        full = np.ones(size, bool)
        np.testing.assert_array_equal(ours(x, footprint=full, **kw),
                                      theirs(x, footprint=full, **ref))
        # Dilation moves the centre of an even-length axis; with a holed
        # footprint and fewer axes than the image SciPy pairs that move with
        # axes as listed (the footprint with the sorted axes): reproduced.
        np.testing.assert_array_equal(ours(x, footprint=holed, **kw),
                                      theirs(x, footprint=holed, **ref))


def test_dilation_centre_move_without_a_centre_raises():
    # footprint axes (sorted): 0 has length 1, 2 has length 2; axes=(2, 0)
    # pairs the even length's move with axis 0, which has no room for it.
    x, fp = image(6), np.array([[True, False]])
    with pytest.raises(ValueError, match="invalid origin"):
        ndi.grey_dilation(x, footprint=fp, axes=(2, 0))
    for f in (imfilt.dilation, imfilt.closing, imfilt.morphological_gradient):
        with pytest.raises(ValueError, match="no centre.*increasing order"):
            f(x, footprint=fp, axes=(2, 0))
    np.testing.assert_array_equal(imfilt.dilation(x, footprint=fp, axes=(0, 2)),
                                  ndi.grey_dilation(x, footprint=fp, axes=(0, 2)))


@pytest.mark.parametrize("axes", AXES)
def test_rank_filters_pair_with_sorted_axes(axes):
    x = image(4)
    size = per_axis((1, 4, 3), axes)
    np.testing.assert_array_equal(imfilt.median(x, size, axes=axes),
                                  ndi.median_filter(x, size, axes=axes))
    np.testing.assert_array_equal(imfilt.rank_filter(x, 1, size, axes=axes),
                                  ndi.rank_filter(x, 1, size, axes=axes))
    # the footprint's axes are the sorted filtered axes
    srt = tuple(sorted(a % 3 for a in axes))
    np.testing.assert_array_equal(imfilt.median(x, size, axes=axes),
                                  imfilt.median(x, size, axes=srt))


@pytest.mark.parametrize("name, args, kwargs", [
    ("gaussian", ((0.5, 3.0),), {}), ("box", ((2, 7),), {}),
    ("minimum_filter", ((1, 6),), {}), ("median", ((1, 6),), {}),
    ("dilation", ((2, 5),), {}), ("closing", (), {"footprint": [[1, 0], [1, 1], [0, 1]]}),
    ("gaussian_gradient_magnitude", ((0.8, 1.5),), {}),
    ("difference_of_gaussians", ((0.5, 2.0),), {}), ("unsharp_mask", ((0.5, 2.0),), {}),
])
def test_dask_equals_in_memory_with_axes_out_of_order(name, args, kwargs):
    x = image(5)
    for axes in [(1, 0), (2, 0)]:
        got = getattr(idask, name)(da.from_array(x, chunks=(3, 4, 5)), *args, axes=axes,
                                   **kwargs).compute(scheduler="sync")
        np.testing.assert_array_equal(got, getattr(imfilt, name)(x, *args, axes=axes, **kwargs))
