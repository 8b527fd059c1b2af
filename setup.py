"""Build script for imfilt's Cython kernels.

The build probes the C compiler for OpenMP (compile, link *and run* a tiny
program) and uses it when it works.  Environment switches:

``IMFILT_OPENMP=auto|1|0``
    ``auto`` (default) uses OpenMP when the probe succeeds and otherwise builds
    serial kernels with a loud warning; ``1`` makes a failed probe an error;
    ``0`` builds serial kernels without probing.
``IMFILT_MARCH=native|<arch>|none``
    Target architecture passed as ``-march=``.  ``native`` (default) tunes for
    the building machine, which is right for a source install; use ``none``
    (or e.g. ``x86-64-v3``) when building a binary to run elsewhere.
``IMFILT_CYTHON_DEBUG=1``
    Compile with Cython bounds and wrap-around checks on and ``-O1 -g``.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
KERNEL_DIR = HERE / "imfilt" / "_kernels"

OPENMP_PROBE = textwrap.dedent(
    """
    #include <omp.h>
    #include <stdio.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        printf("%d %d\\n", n, _OPENMP);
        return n > 0 ? 0 : 1;
    }
    """
)


def _env_choice(name, default, choices):
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise SystemExit(
            f"{name}={value!r} is not understood; use one of {', '.join(choices)}"
        )
    return value


def _say(message):
    print(f"imfilt build: {message}", file=sys.stderr, flush=True)


def _try_compile_and_run(compiler, source, extra_compile, extra_link):
    """Compile, link and run ``source``; return True when all three work."""
    tmp = tempfile.mkdtemp(prefix="imfilt-probe-")
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(source)
        objects = compiler.compile([src], output_dir=tmp, extra_postargs=extra_compile)
        exe = os.path.join(tmp, "probe")
        compiler.link_executable(objects, "probe", output_dir=tmp, extra_postargs=extra_link)
        result = subprocess.run([exe], capture_output=True, timeout=60)
        return result.returncode == 0
    except Exception:  # any failure means "not available"
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class ImfiltBuildExt(build_ext):
    """build_ext that decides OpenMP and -march by probing the compiler."""

    def build_extensions(self):
        compiler = self.compiler
        is_msvc = compiler.compiler_type == "msvc"
        debug = os.environ.get("IMFILT_CYTHON_DEBUG", "0") == "1"

        if is_msvc:
            opt = ["/O2"]
            omp_compile, omp_link = ["/openmp"], []
            march_flags = []
        else:
            # -ffp-contract=off: no implicit a*b+c fusion, so every code path
            # of a kernel rounds the same way; kernels use FMA explicitly.
            opt = (["-O1", "-g"] if debug else ["-O3"]) + ["-ffp-contract=off"]
            omp_compile, omp_link = ["-fopenmp"], ["-fopenmp"]
            march = os.environ.get("IMFILT_MARCH", "native").strip()
            march_flags = [] if march.lower() in ("", "none") else [f"-march={march}"]
            if march_flags and not _try_compile_and_run(
                compiler, "int main(void){return 0;}\n", march_flags, march_flags
            ):
                _say(f"compiler rejected {march_flags[0]}; building for the default target")
                march_flags = []

        want = _env_choice("IMFILT_OPENMP", "auto", ["auto", "1", "0"])
        use_openmp = False
        if want == "0":
            _say("OpenMP disabled by IMFILT_OPENMP=0: kernels will run on one thread")
        else:
            use_openmp = _try_compile_and_run(compiler, OPENMP_PROBE, omp_compile, omp_link)
            if use_openmp:
                _say("OpenMP probe succeeded: building parallel kernels")
            elif want == "1":
                raise SystemExit(
                    "imfilt build: IMFILT_OPENMP=1 but the compiler cannot build and run "
                    "an OpenMP program (install libgomp/libomp or use IMFILT_OPENMP=auto)"
                )
            else:
                _say(
                    "WARNING: the compiler cannot build an OpenMP program; imfilt's kernels "
                    "will be SERIAL (one thread). Install an OpenMP runtime and rebuild, or "
                    "set IMFILT_OPENMP=0 to silence this warning."
                )

        flags_text = " ".join(opt + march_flags + (omp_compile if use_openmp else []))
        for ext in self.extensions:
            ext.extra_compile_args = list(ext.extra_compile_args or []) + opt + march_flags
            ext.extra_link_args = list(ext.extra_link_args or [])
            if use_openmp:
                ext.extra_compile_args += omp_compile
                ext.extra_link_args += omp_link
            ext.define_macros = list(ext.define_macros or []) + [
                ("IMFILT_BUILD_FLAGS", f'"{flags_text}"'),
                ("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION"),
            ]
        super().build_extensions()


def extensions():
    debug = os.environ.get("IMFILT_CYTHON_DEBUG", "0") == "1"
    exts = [
        Extension(
            f"imfilt._kernels.{pyx.stem}",
            [str(pyx.relative_to(HERE))],
            include_dirs=[np.get_include(), str(KERNEL_DIR)],
            depends=[str(p) for p in KERNEL_DIR.glob("*.h")],
        )
        for pyx in sorted(KERNEL_DIR.glob("*.pyx"))
    ]
    directives = {
        "language_level": 3,
        "boundscheck": debug,
        "wraparound": debug,
        "initializedcheck": debug,
        "cdivision": not debug,
        "nonecheck": False,
        "embedsignature": True,
    }
    return cythonize(exts, compiler_directives=directives, quiet=True)


setup(ext_modules=extensions(), cmdclass={"build_ext": ImfiltBuildExt})
