"""Command-line throughput: ``imfilt edges DIR -o OUT`` against the scripts users write.

    python benchmarks/bench_cli.py [--quick] [--count 200] [--repeat 3] [--dir PATH]

Makes a folder of JPEG photographs from scikit-image's sample images (resized
to 2-12 Mpixel, with noise so they compress like photographs), then times, each
as one process started the same way (``python -m imfilt ...`` or ``python -c
SCRIPT``, so interpreter start-up counts for everyone):

- ``imfilt edges DIR -o OUT`` (Sobel magnitude, PNG) against the obvious OpenCV
  loop (``cv2.imread`` grey, ``cv2.Sobel`` x and y, ``cv2.magnitude``,
  ``cv2.normalize`` to 0..255, ``cv2.imwrite``) and a scikit-image loop
  (``imageio`` read, ``rgb2gray``, ``skimage.filters.sobel``, scale, ``imageio``
  write);
- ``imfilt gaussian --sigma 3`` on the colour JPEGs to JPEG (when this imfilt has
  ``gaussian``) against a ``cv2.GaussianBlur`` loop.

Before timing it checks on one file that the edge maps agree (correlation of
the 8-bit maps > 0.98: the conversions to grey and the normalisations differ
slightly).  Reports files/s, MB/s (decoded RGB megabytes) and ratios (anchor
time / imfilt time; > 1 means imfilt is faster), medians of interleaved runs.

Targets (issue 15): edges at least as fast as the OpenCV loop and >= 3x the
scikit-image loop.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)

import imfilt  # noqa: E402
from harness import format_table, print_config  # noqa: E402

SAMPLES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "page",
           "moon", "immunohistochemistry", "hubble_deep_field")

CV2_EDGES = r"""
import os, sys, cv2
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for name in sorted(os.listdir(src)):
    grey = cv2.imread(os.path.join(src, name), cv2.IMREAD_GRAYSCALE)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    mag = cv2.magnitude(gx, gy)
    out = cv2.normalize(mag, None, 0, 255, cv2.NORM_MINMAX, cv2.CV_8U)
    cv2.imwrite(os.path.join(dst, os.path.splitext(name)[0] + "_sobel.png"), out)
"""

SKIMAGE_EDGES = r"""
import os, sys
import numpy as np
import imageio.v3 as iio
from skimage.color import rgb2gray
from skimage.filters import sobel
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for name in sorted(os.listdir(src)):
    image = iio.imread(os.path.join(src, name))
    grey = rgb2gray(image) if image.ndim == 3 else image / 255.0
    mag = sobel(grey)
    out = np.round(mag * (255.0 / mag.max())).astype(np.uint8)
    iio.imwrite(os.path.join(dst, os.path.splitext(name)[0] + "_sobel.png"), out)
"""

CV2_GAUSSIAN = r"""
import os, sys, cv2
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for name in sorted(os.listdir(src)):
    image = cv2.imread(os.path.join(src, name), cv2.IMREAD_COLOR)
    out = cv2.GaussianBlur(image, (0, 0), 3)
    cv2.imwrite(os.path.join(dst, os.path.splitext(name)[0] + "_gaussian.jpg"), out,
                [cv2.IMWRITE_JPEG_QUALITY, 95])
"""


def make_folder(path, count, seed=0):
    """``count`` noisy JPEG photographs of 2-12 Mpixel; returns decoded MB."""
    import skimage.data
    from PIL import Image

    os.makedirs(path, exist_ok=True)
    rng = np.random.default_rng(seed)
    total = 0.0
    for i in range(count):
        name = SAMPLES[i % len(SAMPLES)]
        image = getattr(skimage.data, name)()
        if image.ndim == 2:
            image = np.dstack([image] * 3)
        image = image[..., :3]
        if image.dtype != np.uint8:
            image = (255 * (image - image.min()) / max(np.ptp(image), 1e-12)).astype(np.uint8)
        mpix = rng.uniform(2, 12)
        h, w = image.shape[:2]
        scale = (mpix * 1e6 / (h * w)) ** 0.5
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        big = np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR), np.float32)
        big += rng.normal(0, 6, big.shape).astype(np.float32)
        out = np.clip(big, 0, 255).astype(np.uint8)
        Image.fromarray(out).save(os.path.join(path, f"photo{i:03d}.jpg"), quality=90)
        total += out.nbytes / 1e6
    return total


def decoded_mb(path):
    from PIL import Image
    total = 0.0
    for name in os.listdir(path):
        with Image.open(os.path.join(path, name)) as im:
            total += im.size[0] * im.size[1] * 3 / 1e6
    return total


def command(kind, src, dst):
    env_cmd = [sys.executable]
    if kind == "imfilt edges":
        return env_cmd + ["-m", "imfilt", "edges", src, "-o", dst, "--overwrite", "-q"]
    if kind == "imfilt gaussian":
        return env_cmd + ["-m", "imfilt", "gaussian", src, "-o", dst, "--sigma", "3",
                          "--format", "jpeg", "--overwrite", "-q"]
    script = {"OpenCV loop": CV2_EDGES, "scikit-image loop": SKIMAGE_EDGES,
              "cv2.GaussianBlur loop": CV2_GAUSSIAN}[kind]
    return env_cmd + ["-c", script, src, dst]


def run(kind, src, dst):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    done = subprocess.run(command(kind, src, dst), env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{kind} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def check_agreement(src, work):
    """imfilt's and OpenCV's edge maps of one file agree (before any timing)."""
    from PIL import Image
    one = os.path.join(work, "one")
    os.makedirs(one, exist_ok=True)
    first = sorted(os.listdir(src))[0]
    shutil.copy(os.path.join(src, first), one)
    run("imfilt edges", one, os.path.join(work, "check_imfilt"))
    run("OpenCV loop", one, os.path.join(work, "check_cv2"))
    stem = os.path.splitext(first)[0]
    a = np.asarray(Image.open(os.path.join(work, "check_imfilt", f"{stem}_sobel.png")), float)
    b = np.asarray(Image.open(os.path.join(work, "check_cv2", f"{stem}_sobel.png")), float)
    corr = np.corrcoef(a[1:-1, 1:-1].ravel(), b[1:-1, 1:-1].ravel())[0, 1]
    print(f"agreement on {first}: correlation of the 8-bit edge maps {corr:.4f}")
    if not corr > 0.98:
        raise AssertionError(f"imfilt and OpenCV edge maps disagree (correlation {corr})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 photos, 2 repeats")
    parser.add_argument("--count", type=int, help="number of photos (default 200)")
    parser.add_argument("--repeat", type=int, help="interleaved runs per tool (default 3)")
    parser.add_argument("--dir", help="keep the photos here (made once, reused)")
    parser.add_argument("--no-skimage", action="store_true",
                        help="skip the (slow) scikit-image loop")
    args = parser.parse_args(argv)
    count = args.count or (20 if args.quick else 200)
    repeat = args.repeat or (2 if args.quick else 3)

    print_config()
    work = tempfile.mkdtemp(prefix="imfilt-bench-cli-")
    try:
        src = args.dir or os.path.join(work, "photos")
        if not (os.path.isdir(src) and len(os.listdir(src)) == count):
            if os.path.isdir(src):
                shutil.rmtree(src)
            print(f"making {count} JPEG photographs in {src} ...", flush=True)
            make_folder(src, count)
        mb = decoded_mb(src)
        print(f"{count} photos, {mb:.0f} MB decoded ({mb / 3 / count:.1f} Mpixel average)\n")
        check_agreement(src, work)

        edges = ["imfilt edges", "OpenCV loop"] + ([] if args.no_skimage
                                                  else ["scikit-image loop"])
        gauss = (["imfilt gaussian", "cv2.GaussianBlur loop"]
                 if hasattr(imfilt, "gaussian") else [])
        times = {k: [] for k in edges + gauss}
        for r in range(repeat):          # interleaved: load changes hit every tool alike
            for kind in edges + gauss:
                out = os.path.join(work, "out_" + kind.replace(" ", "_").replace(".", ""))
                shutil.rmtree(out, ignore_errors=True)
                times[kind].append(run(kind, src, out))
                print(f"  run {r + 1}/{repeat} {kind}: {times[kind][-1]:.2f} s", flush=True)

        def table(kinds, base):
            ours = statistics.median(times[base])
            rows = []
            for kind in kinds:
                t = statistics.median(times[kind])
                rows.append([kind, f"{t:.2f} s", f"{count / t:.1f}", f"{mb / t:.0f}",
                             "1.00" if kind == base else f"{t / ours:.2f}"])
            return format_table(["", "median", "files/s", "MB/s", "time / imfilt"], rows)

        print(f"\nedges, Sobel magnitude to PNG ({count} JPEGs, medians of {repeat}):")
        print(table(edges, "imfilt edges"))
        if gauss:
            print(f"\nGaussian sigma 3, colour JPEG to JPEG ({count} JPEGs):")
            print(table(gauss, "imfilt gaussian"))
        else:
            print("\n(imfilt.gaussian is not in this build: the Gaussian comparison is skipped)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
