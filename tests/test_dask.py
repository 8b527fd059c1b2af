"""imfilt.dask: chunked results equal the in-memory ones exactly, for every chunking."""

import subprocess
import sys

import numpy as np
import pytest

import imfilt

da = pytest.importorskip("dask.array")
idask = pytest.importorskip("imfilt.dask")

MODES = ["full", "same", "valid"]
BOUNDARIES = ["fill", "wrap", "symm", "reflect", "edge"]
#: Chunkings of a 23x37 image: tiny chunks (smaller than the halo), uneven
#: chunks with 1-wide pieces, a single chunk.
CHUNKINGS = [(2, 3), (5, 8), ((1, 10, 12), (30, 1, 6)), (23, 37)]


def _compute(arr):
    return arr.compute(scheduler="synchronous")


def _pair(flip):
    return (idask.convolve, imfilt.convolve) if flip else (idask.correlate, imfilt.correlate)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("chunks", CHUNKINGS, ids=["tiny", "small", "uneven", "single"])
@pytest.mark.parametrize("flip", [True, False], ids=["convolve", "correlate"])
def test_equals_in_memory_bit_for_bit(mode, boundary, chunks, flip, rng):
    image = rng.standard_normal((23, 37)).astype(np.float32)
    kernel = rng.standard_normal((4, 5))                 # even rows: the alignment trap
    lazy_fn, ref_fn = _pair(flip)
    ref = ref_fn(image, kernel, mode, boundary, fillvalue=1.5, method="direct")
    lazy = lazy_fn(da.from_array(image, chunks=chunks), kernel, mode, boundary, fillvalue=1.5)
    assert lazy.shape == ref.shape and lazy.dtype == ref.dtype
    got = _compute(lazy)
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("stride, dilation", [(2, 1), (1, 2), (3, 2), ((1, 3), (2, 1)), (4, 3)])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
def test_stride_and_dilation(stride, dilation, mode, boundary, rng):
    image = rng.standard_normal((29, 31))
    kernel = rng.standard_normal((3, 4))
    ref = imfilt.correlate(image, kernel, mode, boundary, stride=stride, dilation=dilation,
                           method="direct")
    for chunks in [(3, 2), (7, 11), ((20, 9), (1, 30))]:
        got = _compute(idask.correlate(da.from_array(image, chunks=chunks), kernel, mode,
                                       boundary, stride=stride, dilation=dilation))
        np.testing.assert_array_equal(got, ref)


def test_wrap_takes_the_halo_from_the_opposite_side():
    # A kernel that reads only the sample two rows above: with wrap, output row 0
    # is image row n-2, which lives in the last chunk.
    image = np.arange(40, dtype=np.float64).reshape(8, 5)
    kernel = np.zeros((5, 1))
    kernel[0, 0] = 1                                      # correlate: reads row i - 2
    got = _compute(idask.correlate(da.from_array(image, chunks=(3, 5)), kernel, "same", "wrap"))
    np.testing.assert_array_equal(got[0], image[6])
    np.testing.assert_array_equal(got[1], image[7])
    np.testing.assert_array_equal(got, np.roll(image, 2, axis=0))


def test_kernel_many_times_larger_than_image_folds_repeatedly(rng):
    image = rng.standard_normal((5, 4))
    kernel = rng.standard_normal((17, 13))
    for boundary in ["symm", "reflect", "wrap", "edge"]:
        ref = imfilt.convolve(image, kernel, "same", boundary, method="direct")
        got = _compute(idask.convolve(da.from_array(image, chunks=2), kernel, "same", boundary))
        np.testing.assert_array_equal(got, ref)


def test_valid_swap_when_kernel_is_larger(rng):
    image = rng.standard_normal((4, 5))
    kernel = rng.standard_normal((9, 7))
    for flip in (True, False):
        lazy_fn, ref_fn = _pair(flip)
        ref = ref_fn(image, kernel, "valid", method="direct")
        got = _compute(lazy_fn(da.from_array(image, chunks=2), kernel, "valid"))
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("dtype, kernel_dtype, out", [
    (np.uint8, np.float64, None), (np.int32, np.float64, None), (np.float64, np.float32, None),
    (np.float32, np.complex128, None), (np.complex64, np.float64, None),
    (np.uint16, np.float64, np.uint8), (np.float32, np.float64, np.float64),
])
def test_dtype_policy_matches(dtype, kernel_dtype, out, rng):
    image = (rng.random((19, 21)) * 200).astype(dtype)
    if np.dtype(dtype).kind == "c":
        image = image + 1j * rng.random((19, 21)).astype(dtype)
    kernel = rng.standard_normal((3, 2)).astype(kernel_dtype)
    ref = imfilt.convolve(image, kernel, "same", "symm", dtype=out, method="direct")
    got = _compute(idask.convolve(da.from_array(image, chunks=(4, 6)), kernel, "same", "symm",
                                  dtype=out))
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)


def test_one_d_and_stacks(rng):
    signal = rng.standard_normal(50)
    ref = imfilt.correlate(signal, [1.0, -2.0, 0.5, 3.0], "same", "wrap", method="direct")
    got = _compute(idask.correlate(da.from_array(signal, chunks=7), [1.0, -2.0, 0.5, 3.0],
                                   "same", "wrap"))
    np.testing.assert_array_equal(got, ref)

    stack = rng.standard_normal((11, 3, 13))             # spatial axes 0 and 2
    kernel = rng.standard_normal((3, 3))
    ref = imfilt.convolve(stack, kernel, "same", "reflect", axes=(0, 2), method="direct")
    lazy = idask.convolve(da.from_array(stack, chunks=(4, 2, 5)), kernel, "same", "reflect",
                          axes=(0, 2))
    np.testing.assert_array_equal(_compute(lazy), ref)


def test_same_mode_keeps_the_input_chunks(rng):
    image = da.from_array(rng.standard_normal((30, 40)), chunks=((10, 5, 15), (20, 20)))
    out = idask.convolve(image, np.ones((5, 5)), mode="same")
    assert out.chunks == image.chunks


def test_methods_other_than_direct_agree_to_rounding(rng):
    image = rng.standard_normal((64, 64))
    kernel = np.outer(np.hanning(9), np.hanning(7))
    ref = imfilt.convolve(image, kernel, "same", "symm", method="direct")
    for method in ("auto", "separable", "fft"):
        got = _compute(idask.convolve(da.from_array(image, chunks=20), kernel, "same", "symm",
                                      method=method))
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


def test_nan_policy_per_block_equals_in_memory(rng):
    image = rng.standard_normal((30, 33)).astype(np.float32)
    image[rng.random(image.shape) < 0.15] = np.nan
    image[10:16, 4:9] = np.nan
    kernel = rng.random((4, 3))
    ref = imfilt.convolve(image, kernel, "same", "symm", method="direct", nan_policy="omit")
    got = _compute(idask.convolve(da.from_array(image, chunks=(4, 5)), kernel, "same", "symm",
                                  nan_policy="omit"))
    np.testing.assert_array_equal(got, ref)
    lazy = idask.convolve(da.from_array(image, chunks=10), kernel, nan_policy="raise")
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        _compute(lazy)


def test_threads_policy_default_is_one_per_block(monkeypatch, rng):
    seen = []
    from imfilt import _linear
    real = _linear._filter

    def spy(image, kernel, fillvalue, dtype, out, spec):
        seen.append(spec.nthreads)
        return real(image, kernel, fillvalue, dtype, out, spec)

    monkeypatch.setattr(_linear, "_filter", spy)
    image = da.from_array(rng.standard_normal((20, 20)), chunks=10)
    _compute(idask.convolve(image, np.ones((3, 3)), "same"))
    assert seen and set(seen) == {1}
    seen.clear()
    _compute(idask.convolve(image, np.ones((3, 3)), "same", workers=2))
    assert set(seen) == {2}


@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "sam"}, "mode='sam' is not valid; choose one of 'full', 'same', 'valid'"),
    ({"boundary": "mirror"}, "boundary='mirror' is not valid"),
    ({"method": "gpu"}, "method='gpu' is not valid"),
    ({"workers": 0}, "workers=0 is not valid"),
    ({"nan_policy": "ignore"}, "nan_policy='ignore' is not valid; choose one of 'propagate'"),
    ({"stride": 0}, "stride=0 is not valid"),
])
def test_errors_name_the_parameter(kwargs, match):
    image = da.zeros((8, 8), chunks=4)
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(")", r"\)")):
        idask.convolve(image, np.ones((3, 3)), **kwargs)


def test_per_slice_kernels_are_refused_clearly():
    with pytest.raises(ValueError, match="Per-slice kernels are not supported"):
        idask.convolve(da.zeros((2, 8, 8), chunks=4), np.ones((2, 3, 3)), axes=(1, 2))


# --------------------------------------------------------------------------
# N-D convolution (a kernel with the image's dimensions, axes=None)

#: Chunkings of a 7x9x11 volume: tiny (smaller than the halo), uneven with
#: 1-wide pieces, one axis whole, a single chunk.
ND_CHUNKINGS = [(2, 2, 3), ((1, 4, 2), (3, 1, 5), (6, 5)), (7, 3, 4), (7, 9, 11)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("chunks", ND_CHUNKINGS, ids=["tiny", "uneven", "whole-axis", "single"])
@pytest.mark.parametrize("flip", [True, False], ids=["convolve", "correlate"])
def test_nd_equals_in_memory_for_every_chunking(mode, boundary, chunks, flip, rng):
    dfn, fn = _pair(flip)
    image = rng.standard_normal((7, 9, 11))
    kernel = rng.standard_normal((3, 4, 2))                 # even and odd spans
    ref = fn(image, kernel, mode, boundary, fillvalue=0.5, method="direct")
    got = _compute(dfn(da.from_array(image, chunks=chunks), kernel, mode, boundary,
                       fillvalue=0.5))
    assert got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("flip", [True, False], ids=["convolve", "correlate"])
def test_nd_stride_dilation_4d_complex_and_wrap(flip, rng):
    dfn, fn = _pair(flip)
    image = rng.standard_normal((5, 6, 7, 8)) + 1j * rng.standard_normal((5, 6, 7, 8))
    kernel = rng.standard_normal((2, 3, 2, 3))
    kw = dict(stride=(1, 2, 3, 1), dilation=(2, 1, 1, 2))
    for mode, boundary in (("same", "wrap"), ("full", "symm"), ("valid", "fill")):
        ref = fn(image, kernel, mode, boundary, method="direct", **kw)
        got = _compute(dfn(da.from_array(image, chunks=(2, 4, 3, 5)), kernel, mode, boundary,
                           **kw))
        np.testing.assert_array_equal(got, ref)
    # Wrap halos wider than the image's chunks, one kernel axis as long as the image.
    big = rng.standard_normal((5, 6, 3))
    ref = fn(image.real[..., 0], big, "same", "wrap", method="direct")
    got = _compute(dfn(da.from_array(image.real[..., 0], chunks=2), big, "same", "wrap"))
    np.testing.assert_array_equal(got, ref)


def test_nd_nan_omit_float32_and_the_valid_swap(rng):
    image = rng.standard_normal((8, 9, 10)).astype(np.float32)
    image[rng.random(image.shape) < 0.1] = np.nan
    kernel = rng.random((3, 3, 3)).astype(np.float32)
    for boundary, fill in (("symm", 0.0), ("fill", np.nan)):
        ref = imfilt.convolve(image, kernel, "same", boundary, fillvalue=fill, method="direct",
                              nan_policy="omit")
        got = _compute(idask.convolve(da.from_array(image, chunks=(3, 4, 5)), kernel, "same",
                                      boundary, fillvalue=fill, nan_policy="omit"))
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, ref)
    # 'valid' with a kernel larger in every axis: SciPy swaps; computed in one block.
    small = rng.standard_normal((2, 3, 2))
    ref = imfilt.correlate(small, kernel, "valid", method="direct")
    got = _compute(idask.correlate(da.from_array(small, chunks=1), kernel, "valid"))
    np.testing.assert_array_equal(got, ref)


def test_plain_numpy_input_is_wrapped(rng):
    image = rng.standard_normal((9, 9))
    got = idask.convolve(image, np.ones((2, 2)), "same")
    assert isinstance(got, da.Array)
    np.testing.assert_array_equal(_compute(got), imfilt.convolve(image, np.ones((2, 2)), "same",
                                                                 method="direct"))


def test_distributed_local_cluster_with_worker_processes(rng):
    distributed = pytest.importorskip("distributed")
    image = rng.standard_normal((96, 80)).astype(np.float32)
    kernel = rng.standard_normal((6, 5))
    ref = imfilt.convolve(image, kernel, "same", "wrap", method="direct")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster, \
            distributed.Client(cluster, timeout="60s") as client:
        lazy = idask.convolve(da.from_array(image, chunks=(20, 30)), kernel, "same", "wrap")
        got = client.compute(lazy).result(timeout=120)
        workers_used = client.run(lambda: 1)
    assert len(workers_used) == 2
    np.testing.assert_array_equal(got, ref)


def test_import_without_dask_names_the_extra(tmp_path):
    # Hide dask behind a meta-path finder that refuses it, in a fresh interpreter.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'dask' or name.startswith('dask.'):\n"
        "            raise ImportError('no dask here')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import imfilt\n"
        "try:\n"
        "    import imfilt.dask\n"
        "except ImportError as e:\n"
        "    print('ERR', e)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "ERR" in res.stdout and 'imfilt[dask]' in res.stdout


def test_large_image_example_filters_a_file_on_disk(tmp_path, monkeypatch, capsys):
    import runpy
    from pathlib import Path
    script = Path(__file__).resolve().parent.parent / "examples" / "large_image_dask.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--size", "300", "--chunk", "64",
                                      "-o", str(tmp_path)])
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(str(script), run_name="__main__")
    assert exc.value.code == 0
    out = capsys.readouterr()
    assert "wrote" in out.out and "spot-check max error 0.0e+00" in out.out
    assert "100% Completed" in out.out + out.err          # the progress bar ran
    image = np.load(tmp_path / "input.npy")
    smoothed = np.load(tmp_path / "smoothed.npy")
    mod = runpy.run_path(str(script))
    kernel = mod["gaussian_kernel"](7, 7 / 6)
    np.testing.assert_array_equal(
        smoothed, imfilt.convolve(image, kernel, "same", "symm", method="direct"))


# --------------------------------------------------------------------------
# edge filters


EDGE_CHUNKINGS = [(2, 3), ((5, 1, 13), (1, 20, 2)), (19, 23)]


def test_edge_filters_with_one_pixel_chunks(rng):
    image = rng.standard_normal((7, 9))
    x = da.from_array(image, chunks=1)
    for boundary in ("symm", "wrap"):
        np.testing.assert_array_equal(_compute(idask.sobel(x, boundary=boundary)),
                                      imfilt.sobel(image, boundary=boundary))
        np.testing.assert_array_equal(_compute(idask.roberts(x, boundary=boundary)),
                                      imfilt.roberts(image, boundary=boundary))


@pytest.mark.parametrize("name", ["sobel", "scharr", "prewitt"])
@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("boundary", ["symm", "wrap", "fill", "reflect", "edge"])
def test_derivative_filters_equal_in_memory(name, axis, boundary, rng):
    image = (rng.random((19, 23)) * 255).astype(np.uint8)
    ref = getattr(imfilt, name)(image, axis, boundary=boundary)
    for chunks in EDGE_CHUNKINGS:
        lazy = getattr(idask, name)(da.from_array(image, chunks=chunks), axis, boundary=boundary)
        assert lazy.chunks == da.from_array(image, chunks=chunks).chunks
        got = _compute(lazy)
        assert got.dtype == ref.dtype
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.uint16, bool])
@pytest.mark.parametrize("boundary", ["symm", "wrap", "fill"])
def test_roberts_laplace_gradient_equal_in_memory(dtype, boundary, rng):
    image = (rng.random((19, 23)) * 100).astype(dtype)
    for chunks in EDGE_CHUNKINGS:
        x = da.from_array(image, chunks=chunks)
        np.testing.assert_array_equal(_compute(idask.roberts(x, boundary=boundary)),
                                      imfilt.roberts(image, boundary=boundary))
        np.testing.assert_array_equal(
            _compute(idask.roberts(x, boundary=boundary, convention="skimage")),
            imfilt.roberts(image, boundary=boundary, convention="skimage"))
        for neighbors in (4, 8):
            np.testing.assert_array_equal(
                _compute(idask.laplace(x, neighbors, boundary=boundary)),
                imfilt.laplace(image, neighbors, boundary=boundary))
        mag, direction = idask.gradient(x, "scharr", boundary=boundary, convention="skimage")
        ref_mag, ref_dir = imfilt.gradient(image, "scharr", boundary=boundary,
                                           convention="skimage")
        np.testing.assert_array_equal(_compute(mag), ref_mag)
        np.testing.assert_array_equal(_compute(direction), ref_dir)


def test_edge_filters_nan_policy_omit_per_block(rng):
    image = rng.standard_normal((30, 34)).astype(np.float32)
    image[rng.random(image.shape) < 0.08] = np.nan
    image[10:13, 3:7] = np.inf
    x = da.from_array(image, chunks=(4, 5))
    for name in ("sobel", "roberts", "laplace"):
        ref = getattr(imfilt, name)(image, nan_policy="omit")
        got = _compute(getattr(idask, name)(x, nan_policy="omit"))
        np.testing.assert_array_equal(got, ref)
    mag, _ = idask.gradient(x, nan_policy="omit")
    np.testing.assert_array_equal(_compute(mag), imfilt.gradient(image, nan_policy="omit")[0])
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        _compute(idask.sobel(x, nan_policy="raise"))


@pytest.mark.parametrize("channel_axis", [0, -1, 1])
def test_edge_filters_on_colour_images(channel_axis, rng):
    image = rng.random((3, 11, 13)).astype(np.float32)
    image = np.moveaxis(image, 0, channel_axis)
    chunks = tuple(2 if n == 3 else 4 for n in image.shape)
    x = da.from_array(image, chunks=chunks)
    for name in ("sobel", "roberts", "laplace"):
        lazy = getattr(idask, name)(x, channel_axis=channel_axis)
        assert lazy.shape == image.shape and lazy.chunks == x.chunks
        np.testing.assert_array_equal(_compute(lazy),
                                      getattr(imfilt, name)(image, channel_axis=channel_axis))
    mag, direction = idask.gradient(x, channel_axis=channel_axis)
    ref_mag, ref_dir = imfilt.gradient(image, channel_axis=channel_axis)
    np.testing.assert_array_equal(_compute(mag), ref_mag)
    np.testing.assert_array_equal(_compute(direction), ref_dir)
    with pytest.raises(ValueError, match="channel_axis=5 is not valid"):
        idask.sobel(x, channel_axis=5)


def test_edge_filter_errors_are_raised_when_building_the_graph():
    x = da.zeros((8, 8), chunks=4)
    with pytest.raises(ValueError, match="axis=3 is not valid"):
        idask.sobel(x, axis=3)
    with pytest.raises(ValueError, match="boundary='mirror' is not valid"):
        idask.laplace(x, boundary="mirror")
    with pytest.raises(ValueError, match="neighbors=6 is not valid"):
        idask.laplace(x, 6)
    with pytest.raises(ValueError, match="image must be 2-D"):
        idask.sobel(da.zeros((2, 8, 8), chunks=4))
    with pytest.raises(TypeError, match="edge filters need a real image"):
        idask.prewitt(da.zeros((8, 8), chunks=4, dtype=complex))


# --------------------------------------------------------------------------
# pooling and upsampling

POOL_CASES = [  # kernel_size, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False), (3, 2, 1, 1, False), (3, 2, 1, 2, True), (3, 3, 1, 1, True),
    ((3, 2), (1, 2), (1, 0), 1, False), (5, 2, 2, 1, True), (4, 3, 2, 1, True),
]
POOL_CHUNKS = [(1, 4, 5), (2, 7, 3), ((1, 1), (10, 13), (1, 27, 1)), (2, 23, 29)]


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
def test_max_min_pool_equal_in_memory(case, dtype, rng):
    k, s, p, d, ceil = case
    x = (rng.standard_normal((2, 23, 29)) * 50).astype(dtype)
    if dtype != np.int16:
        x[0, 5, 6] = np.nan                                   # NaN wins, as in PyTorch
    for chunks in POOL_CHUNKS:
        xd = da.from_array(x, chunks=chunks)
        for lazy_fn, ref_fn in ((idask.max_pool2d, imfilt.max_pool2d),
                                (idask.min_pool2d, imfilt.min_pool2d)):
            ref = ref_fn(x, k, s, p, d, ceil)
            lazy = lazy_fn(xd, k, s, p, d, ceil)
            assert lazy.shape == ref.shape and lazy.dtype == ref.dtype
            np.testing.assert_array_equal(_compute(lazy), ref)


@pytest.mark.parametrize("case", [c for c in POOL_CASES if c[3] == 1], ids=str)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("divisor_override", [None, 5])
def test_avg_pool_equal_in_memory(case, count_include_pad, divisor_override, rng):
    k, s, p, _, ceil = case
    x = rng.standard_normal((2, 23, 29)).astype(np.float32)
    ref = imfilt.avg_pool2d(x, k, s, p, ceil, count_include_pad, divisor_override)
    for chunks in POOL_CHUNKS:
        got = _compute(idask.avg_pool2d(da.from_array(x, chunks=chunks), k, s, p, ceil,
                                        count_include_pad, divisor_override))
        np.testing.assert_array_equal(got, ref)


def test_avg_pool_integer_input_and_4d(rng):
    x = rng.integers(0, 255, (2, 3, 17, 19), dtype=np.uint8)
    ref = imfilt.avg_pool2d(x, 3, 2, 1, True, False)
    got = _compute(idask.avg_pool2d(da.from_array(x, chunks=(1, 2, 5, 4)), 3, 2, 1, True, False))
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)


def test_pool_errors_name_the_parameter():
    x = da.zeros((8, 8), chunks=4)
    with pytest.raises(ValueError, match="return_indices=True is not supported by imfilt.dask"):
        idask.max_pool2d(x, 2, return_indices=True)
    with pytest.raises(ValueError, match="padding=2 is not valid for kernel_size=2"):
        idask.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="divisor_override=0 is not valid"):
        idask.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match="x must have shape"):
        idask.avg_pool2d(da.zeros((8,), chunks=4), 2)


@pytest.mark.parametrize("method", ["bilinear", "nearest"])
@pytest.mark.parametrize("factor", [2, 3, (2, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_upsample_equal_in_memory(method, factor, dtype, rng):
    x = (rng.random((3, 13, 17)) * 200).astype(dtype)
    ref = imfilt.upsample(x, factor, method)
    for chunks in [(1, 1, 1), (2, 4, 5), (3, 13, 17)]:
        lazy = idask.upsample(da.from_array(x, chunks=chunks), factor, method)
        assert lazy.shape == ref.shape and lazy.dtype == ref.dtype
        np.testing.assert_array_equal(_compute(lazy), ref)
    ref = imfilt.upsample(x, factor, method, axes=(0, 2))
    got = _compute(idask.upsample(da.from_array(x, chunks=(2, 5, 4)), factor, method, axes=(0, 2)))
    np.testing.assert_array_equal(got, ref)


def test_upsample_errors():
    with pytest.raises(ValueError, match="method='cubic' is not valid"):
        idask.upsample(da.zeros((4, 4), chunks=2), 2, "cubic")
    with pytest.raises(ValueError, match="factor"):
        idask.upsample(da.zeros((4, 4), chunks=2), 0)


def test_unknown_chunks_and_0d_images_are_refused_when_the_graph_is_built():
    image = np.random.default_rng(0).random((16, 17))
    x = da.from_array(image, chunks=4)
    y = x[x[:, 0] > 0.5]                     # NaN chunk sizes along axis 0
    for build in (lambda a: imfilt.dask.gaussian(a, 1.0), lambda a: imfilt.dask.median(a, 3),
                  lambda a: imfilt.dask.convolve(a, np.ones((3, 3))),
                  lambda a: imfilt.dask.max_pool2d(a, 2), lambda a: imfilt.dask.sobel(a)):
        with pytest.raises(ValueError, match=r"unknown chunk sizes .*compute_chunk_sizes\(\)"):
            build(y)
        with pytest.raises(ValueError, match="0-d array"):
            build(da.from_array(np.array(1.0)))
    y.compute_chunk_sizes()
    np.testing.assert_array_equal(imfilt.dask.gaussian(y, 1.0).compute(),
                                  imfilt.gaussian(y.compute(), 1.0))


def test_lazy_upsample_needs_only_its_blocks_in_memory():
    # The result of a large factor is a lazy array of the right shape (the
    # in-memory probe of one pixel was upsampled by the factor and refused
    # with the probe's shape in the message).
    image = np.random.default_rng(0).random((16, 17))
    lazy = imfilt.dask.upsample(da.from_array(image, chunks=4), 10**6, method="nearest")
    assert lazy.shape == (16 * 10**6, 17 * 10**6)
    # bilinear needs the factor's column tables in every block: refused now
    with pytest.raises(ValueError, match=r"factor=\(1, 1000000\) asks for column tables"):
        imfilt.dask.upsample(da.from_array(image, chunks=4), (1, 10**6))
    np.testing.assert_array_equal(imfilt.dask.upsample(da.from_array(image, chunks=5), 3,
                                                       method="nearest").compute(),
                                  imfilt.upsample(image, 3, method="nearest"))
