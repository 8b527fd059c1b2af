"""Network-style operators: imfilt vs PyTorch CPU (same thread count) and NumPy.

Prints the configuration first, checks that every implementation agrees,
then a table of medians and ratios measured in this one process (the
machines are shared and noisy: compare ratios, not absolute times).

    python benchmarks/bench_layers.py [--repeat 7] [--workers N] [--quick]
"""

import argparse
import sys
import time
from pathlib import Path

# Run from a source checkout: prefer the in-place build next to this script
# over any installed imfilt.
_ROOT = Path(__file__).resolve().parents[1]
if (_ROOT / "imfilt" / "__init__.py").exists() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

import imfilt

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the table then shows only imfilt and NumPy
    torch = None

try:
    import cv2
except ImportError:
    cv2 = None


def median_ms(func, repeat):
    func()  # warm-up (page faults, thread start)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


# ---------------------------------------------------------------- NumPy baselines

def np_pool(x, k, s, op):
    if k == s and x.shape[-1] % k == 0 and x.shape[-2] % k == 0:
        n, h, w = x.shape
        blocks = x.reshape(n, h // k, k, w // k, k)
        return blocks.max(axis=(2, 4)) if op == "max" else blocks.mean(axis=(2, 4))
    win = sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s]
    return win.max(axis=(-2, -1)) if op == "max" else win.mean(axis=(-2, -1))


def np_pool_indices_unpool(x):
    n, h, w = x.shape
    blocks = x.reshape(n, h // 2, 2, w // 2, 2).transpose(0, 1, 3, 2, 4).reshape(n, h // 2, w // 2, 4)
    arg = blocks.argmax(axis=-1)
    vals = np.take_along_axis(blocks, arg[..., None], axis=-1)[..., 0]
    oy = np.arange(h // 2)[:, None] * 2 + arg // 2
    ox = np.arange(w // 2)[None, :] * 2 + arg % 2
    idx = (oy * w + ox).reshape(n, -1)
    out = np.zeros((n, h * w), dtype=x.dtype)
    np.put_along_axis(out, idx, vals.reshape(n, -1), axis=1)
    return out.reshape(n, h, w)


def np_conv2d_im2col(x, w, pad):
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    k = w.shape[-1]
    cols = sliding_window_view(xp, (k, k), axis=(1, 2))          # (C, H, W, k, k) view
    return np.tensordot(w, cols, axes=([1, 2, 3], [0, 3, 4]))    # (K, H, W)


def np_conv_transpose_gemm(x, w, s, p):
    """GEMM to per-tap columns, then scatter-add (col2im)."""
    C, H, W = x.shape
    _, K, kh, kw = w.shape
    cols = np.tensordot(w, x, axes=([0], [0]))                   # (K, kh, kw, H, W)
    full = np.zeros((K, (H - 1) * s + kh, (W - 1) * s + kw), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            full[:, a:a + (H - 1) * s + 1:s, b:b + (W - 1) * s + 1:s] += cols[:, a, b]
    return full[:, p:full.shape[1] - p, p:full.shape[2] - p]


def scipy_transpose_1ch(x, w, s, p):
    up = np.zeros(((x.shape[0] - 1) * s + 1, (x.shape[1] - 1) * s + 1), dtype=x.dtype)
    up[::s, ::s] = x
    full = signal.convolve2d(up, w, mode="full")
    return full[p:full.shape[0] - p, p:full.shape[1] - p]


# ---------------------------------------------------------------- workloads

def workloads(quick):
    rng = np.random.default_rng(0)
    planes = 16 if quick else 64
    x_pool = rng.standard_normal((planes, 512, 512)).astype(np.float32)
    x1 = rng.standard_normal((1024, 1024)).astype(np.float32)
    w1 = rng.standard_normal((4, 4)).astype(np.float32)
    xm = rng.standard_normal((1, 64, 256, 256)).astype(np.float32)
    wc = (rng.standard_normal((32, 64, 3, 3)) / 24).astype(np.float32)
    wt = (rng.standard_normal((64, 32, 4, 4)) / 32).astype(np.float32)
    img = rng.standard_normal((3, 1024, 1024)).astype(np.float32)
    big = rng.standard_normal((2048, 2048)).astype(np.float32)
    pooled, idx = imfilt.max_pool2d(x_pool, 2, return_indices=True)
    T = (lambda a: torch.from_numpy(a)) if torch is not None else None
    if torch is not None:
        t_pool, t_x1, t_w1 = T(x_pool), T(x1)[None, None], T(w1)[None, None]
        t_xm, t_wc, t_wt, t_img = T(xm), T(wc), T(wt), T(img)[None]
        t_pooled, t_idx = F.max_pool2d(t_pool, 2, return_indices=True)

    rows = []

    def add(name, mine, ref_torch, ref_np, np_name):
        rows.append((name, mine, ref_torch if torch is not None else None, ref_np, np_name))

    sh = f"({planes}, 512, 512) f32"
    add(f"max_pool2d 2x2 s2 {sh}", lambda: imfilt.max_pool2d(x_pool, 2),
        lambda: F.max_pool2d(t_pool, 2).numpy(), lambda: np_pool(x_pool, 2, 2, "max"),
        "reshape-max")
    add(f"avg_pool2d 2x2 s2 {sh}", lambda: imfilt.avg_pool2d(x_pool, 2),
        lambda: F.avg_pool2d(t_pool, 2).numpy(), lambda: np_pool(x_pool, 2, 2, "mean"),
        "reshape-mean")
    add(f"max_pool2d 3x3 s2 {sh}", lambda: imfilt.max_pool2d(x_pool, 3, 2),
        lambda: F.max_pool2d(t_pool, 3, 2).numpy(), lambda: np_pool(x_pool, 3, 2, "max"),
        "window view max")
    add(f"avg_pool2d 3x3 s2 {sh}", lambda: imfilt.avg_pool2d(x_pool, 3, 2),
        lambda: F.avg_pool2d(t_pool, 3, 2).numpy(), lambda: np_pool(x_pool, 3, 2, "mean"),
        "window view mean")
    add(f"max_pool2d 2x2 + indices {sh}",
        lambda: imfilt.max_pool2d(x_pool, 2, return_indices=True)[1],
        lambda: F.max_pool2d(t_pool, 2, return_indices=True)[1].numpy(), None, None)
    add(f"max_unpool2d 2x2 {sh}", lambda: imfilt.max_unpool2d(pooled, idx, 2),
        lambda: F.max_unpool2d(t_pooled, t_idx, 2).numpy(), None, None)
    add(f"max_pool+indices+unpool {sh}",
        lambda: imfilt.max_unpool2d(*imfilt.max_pool2d(x_pool, 2, return_indices=True), 2),
        lambda: F.max_unpool2d(*F.max_pool2d(t_pool, 2, return_indices=True), 2).numpy(),
        lambda: np_pool_indices_unpool(x_pool), "argmax + put_along_axis")
    add("conv_transpose2d 1ch 1024^2 k4 s2 p1",
        lambda: imfilt.conv_transpose2d(x1, w1, stride=2, padding=1),
        lambda: F.conv_transpose2d(t_x1, t_w1, stride=2, padding=1)[0, 0].numpy(),
        lambda: scipy_transpose_1ch(x1, w1, 2, 1), "zero-stuff + convolve2d")
    add("conv2d (1,64,256^2) -> 32, 3x3 p1",
        lambda: imfilt.conv2d(xm, wc, padding=1),
        lambda: F.conv2d(t_xm, t_wc, padding=1).numpy(),
        lambda: np_conv2d_im2col(xm[0], wc, 1)[None], "im2col + tensordot")
    # The rest of the conv2d shapes the layers are tuned on (PyTorch only).
    for label, xs, ws, kw in (("(1,3,224^2) -> 64, 3x3 p1", (1, 3, 224, 224), (64, 3, 3, 3),
                               dict(padding=1)),
                              ("(8,256,56^2) -> 256, 3x3 p1", (8, 256, 56, 56), (256, 256, 3, 3),
                               dict(padding=1)),
                              ("(1,128,128^2) depthwise 3x3 p1", (1, 128, 128, 128),
                               (128, 1, 3, 3), dict(padding=1, groups=128)),
                              ("(1,256,64^2) -> 512, 1x1", (1, 256, 64, 64), (512, 256, 1, 1),
                               dict())):
        xa = rng.standard_normal(xs).astype(np.float32)
        wa = (rng.standard_normal(ws) / np.sqrt(np.prod(ws[1:]))).astype(np.float32)
        t_xa, t_wa = (T(xa), T(wa)) if torch is not None else (None, None)
        add("conv2d " + label, lambda xa=xa, wa=wa, kw=kw: imfilt.conv2d(xa, wa, **kw),
            lambda t_xa=t_xa, t_wa=t_wa, kw=kw: F.conv2d(t_xa, t_wa, **kw).numpy(), None, None)
    add("conv_transpose2d (1,64,256^2) -> 32, k4 s2 p1",
        lambda: imfilt.conv_transpose2d(xm, wt, stride=2, padding=1),
        lambda: F.conv_transpose2d(t_xm, t_wt, stride=2, padding=1).numpy(),
        lambda: np_conv_transpose_gemm(xm[0], wt, 2, 1)[None], "GEMM + col2im scatter")
    add("upsample bilinear x2 (3, 1024^2) f32", lambda: imfilt.upsample(img, 2),
        lambda: F.interpolate(t_img, scale_factor=2, mode="bilinear",
                              align_corners=False)[0].numpy(), None, None)
    if cv2 is not None:
        rows.append(("pyramid_up 2048^2 f32 (ref: cv2.pyrUp)", lambda: imfilt.pyramid_up(big),
                     lambda: cv2.pyrUp(big), None, None))
        rows.append(("pyramid_down 2048^2 f32 (ref: cv2.pyrDown)",
                     lambda: imfilt.pyramid_down(big), lambda: cv2.pyrDown(big), None, None))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per entry (median)")
    parser.add_argument("--workers", type=int, default=None, help="threads (default: imfilt's)")
    parser.add_argument("--quick", action="store_true", help="smaller pooling stack")
    args = parser.parse_args(argv)

    imfilt.show_config()
    workers = imfilt._threads.resolve_workers(args.workers)
    if torch is not None:
        torch.set_num_threads(workers)
        print(f"  torch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()}")
    else:
        print("  torch not installed: PyTorch columns are empty")
    if cv2 is not None:
        print(f"  opencv {cv2.__version__}, cv2.getNumThreads() = {cv2.getNumThreads()}")
    print(f"  benchmark threads: {workers}, repeat {args.repeat} (median)\n")

    with imfilt.set_workers(workers):
        rows = workloads(args.quick)
        print("agreement (max |imfilt - reference|):")
        for name, mine, ref_t, ref_np, _ in rows:
            a = mine()
            parts = []
            for label, ref in (("ref", ref_t), ("numpy", ref_np)):
                if ref is not None:
                    b = ref()
                    if a.shape != b.shape:
                        raise SystemExit(f"{name}: shape {a.shape} vs {label} {b.shape}")
                    err = float(np.abs(a.astype(np.float64) - b).max())
                    tol = 1e-3 * max(1.0, float(np.abs(b).max()))
                    status = "ok" if err <= tol else "MISMATCH"
                    parts.append(f"{label} {err:.1e} {status}")
                    if status != "ok":
                        raise SystemExit(f"{name}: {label} differs by {err}")
            print(f"  {name:<48} {'; '.join(parts)}")

        print()
        header = (f"{'workload':<48} {'imfilt ms':>10} {'ref ms':>9} {'imfilt/ref':>10} "
                  f"{'numpy ms':>9} {'imfilt/np':>9}  numpy baseline")
        print(header)
        print("-" * len(header))
        for name, mine, ref_t, ref_np, np_name in rows:
            t_mine = median_ms(mine, args.repeat)
            t_ref = median_ms(ref_t, args.repeat) if ref_t is not None else float("nan")
            t_np = median_ms(ref_np, max(3, args.repeat // 2)) if ref_np is not None else float("nan")
            print(f"{name:<48} {t_mine:10.1f} {t_ref:9.1f} {t_mine / t_ref:10.2f} "
                  f"{t_np:9.1f} {t_mine / t_np:9.2f}  {np_name or ''}")
        print("\nref = PyTorch CPU (torch.nn.functional) unless named; ratios < 1 mean imfilt "
              "is faster.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
