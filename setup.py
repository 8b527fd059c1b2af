"""Build script for imfilt's Cython kernels.

The build probes the C compiler for OpenMP (compile, link *and run* a tiny
program) and uses it when it works.

Runtime CPU dispatch: on x86-64 with GCC or Clang every kernel module
(every ``imfilt/_kernels/*.pyx`` except the CPU probe ``_build``) is compiled
once per instruction-set level, into ``imfilt/_kernels/_cpu_<level>/``:

=========  =====================  ========================================
level      ``-march=``            what it adds
=========  =====================  ========================================
baseline   ``x86-64-v2``          SSE4.2, POPCNT (any x86-64 CPU since ~2009)
avx2       ``x86-64-v3``          AVX2, FMA, BMI2
avx512     ``x86-64-v4``          AVX-512 F/BW/CD/DQ/VL
=========  =====================  ========================================

Cython translates each ``.pyx`` once; the C file is then compiled with each
level's flags.  ``imfilt/_kernels/__init__.py`` asks the CPU (cpuid) at
import which levels it runs and puts the best level's directory first on the
package path, so ``import imfilt._kernels._conv`` loads that level's build.
Other targets (aarch64, macOS arm64, universal2, MSVC) build one level.

Environment switches:

``IMFILT_OPENMP=auto|1|0``
    ``auto`` (default) uses OpenMP when the probe succeeds and otherwise builds
    serial kernels with a loud warning; ``1`` makes a failed probe an error;
    ``0`` builds serial kernels without probing.
``IMFILT_MARCH=dispatch|native|none|<arch>``
    ``dispatch`` (default) builds the levels above on x86-64 (one portable
    level elsewhere).  Any other value builds a single level: ``native``
    tunes for the building machine (fastest there, may crash elsewhere),
    ``none`` passes no ``-march``, anything else is passed as ``-march=``.
``IMFILT_CYTHON_DEBUG=1``
    Compile with Cython bounds and wrap-around checks on and ``-O1 -g``.
``IMFILT_BUILD_JOBS=<n>``
    Parallel compiler processes (default: the available cores, at most 4);
    ``python setup.py build_ext -j N`` overrides it.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
KERNEL_DIR = HERE / "imfilt" / "_kernels"

#: x86-64 dispatch levels, lowest first: (name, -march value, fallback flags
#: for compilers that do not know the -march level names).
X86_LEVELS = (
    ("baseline", "x86-64-v2",
     ["-mssse3", "-msse4.1", "-msse4.2", "-mpopcnt", "-mcx16", "-msahf"]),
    ("avx2", "x86-64-v3",
     ["-mssse3", "-msse4.1", "-msse4.2", "-mpopcnt", "-mcx16", "-msahf", "-mavx", "-mavx2",
      "-mfma", "-mbmi", "-mbmi2", "-mf16c", "-mlzcnt", "-mmovbe"]),
    ("avx512", "x86-64-v4",
     ["-mssse3", "-msse4.1", "-msse4.2", "-mpopcnt", "-mcx16", "-msahf", "-mavx", "-mavx2",
      "-mfma", "-mbmi", "-mbmi2", "-mf16c", "-mlzcnt", "-mmovbe", "-mavx512f",
      "-mavx512bw", "-mavx512cd", "-mavx512dq", "-mavx512vl"]),
)

#: Modules built once, for the lowest target: ``_build`` holds the cpuid
#: probe that chooses the level, so it must run on any x86-64 CPU.
SINGLE_LEVEL_MODULES = {"_build"}

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


def _try_compile(compiler, source, extra_compile, extra_link, run=True):
    """Compile and link ``source`` (and run it when ``run``); True when it works."""
    tmp = tempfile.mkdtemp(prefix="imfilt-probe-")
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(source)
        objects = compiler.compile([src], output_dir=tmp, extra_postargs=extra_compile)
        exe = os.path.join(tmp, "probe")
        compiler.link_executable(objects, "probe", output_dir=tmp, extra_postargs=extra_link)
        if run:
            result = subprocess.run([exe], capture_output=True, timeout=60)
            return result.returncode == 0
        return True
    except Exception:  # any failure means "not available"
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _march_setting():
    """``'dispatch'``, ``'none'`` or a ``-march`` value, from IMFILT_MARCH."""
    value = os.environ.get("IMFILT_MARCH", "dispatch").strip()
    if value.lower() in ("", "dispatch", "auto"):
        return "dispatch"
    return "none" if value.lower() == "none" else value


def _dispatch_target():
    """True when the target is x86-64 built by GCC/Clang (not MSVC, not universal2).

    ``sysconfig.get_platform()`` follows ``_PYTHON_HOST_PLATFORM``, which
    cross-compiling wheel builders (cibuildwheel on macOS) set.
    """
    plat = sysconfig.get_platform().lower()
    return sys.platform != "win32" and plat.endswith(("x86_64", "amd64"))


MARCH = _march_setting()
DISPATCH = MARCH == "dispatch" and _dispatch_target()


class ImfiltBuildExt(build_ext):
    """build_ext that decides OpenMP and the CPU levels by probing the compiler."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            jobs = os.environ.get("IMFILT_BUILD_JOBS", "").strip()
            try:
                cores = len(os.sched_getaffinity(0))
            except (AttributeError, OSError):
                cores = os.cpu_count() or 1
            self.parallel = int(jobs) if jobs.isdigit() else min(4, cores)
            if self.parallel <= 1:
                self.parallel = None

    def run(self):
        if self.inplace:
            self._remove_stale_inplace_builds()
        super().run()

    def copy_extensions_to_source(self):
        # the _cpu_<level> directories are not packages: create them first
        for ext in self.extensions:
            dest = self.get_ext_fullpath(ext.name)
            self.mkpath(os.path.dirname(dest))
        super().copy_extensions_to_source()

    def _remove_stale_inplace_builds(self):
        """Delete an earlier in-place build of the other kind (single/dispatched).

        The package imports a dispatched module from ``_cpu_<level>/`` first,
        so a stale single-level ``_conv.*.so`` next to it would only be
        confusing; a stale level directory after a single-level build would
        shadow the new build.
        """
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        for ext in self.extensions:
            level = getattr(ext, "imfilt_level", None)
            stem = ext.name.rsplit(".", 1)[-1]
            if level is not None:
                stale = KERNEL_DIR / f"{stem}{suffix}"
                if stale.exists():
                    stale.unlink()
        if not DISPATCH:
            for name, _, _ in X86_LEVELS:
                shutil.rmtree(KERNEL_DIR / f"_cpu_{name}", ignore_errors=True)

    def build_extensions(self):
        compiler = self.compiler
        is_msvc = compiler.compiler_type == "msvc"
        debug = os.environ.get("IMFILT_CYTHON_DEBUG", "0") == "1"

        level_flags = {}  # dispatch level -> its flags
        if is_msvc:
            opt = ["/O2"]
            omp_compile, omp_link = ["/openmp"], []
            single_flags = []
        else:
            # -ffp-contract=off: no implicit a*b+c fusion, so every code path
            # of a kernel rounds the same way; kernels use FMA explicitly
            # (the FMA instruction where the level has it, else C's fma()).
            opt = (["-O1", "-g"] if debug else ["-O3"]) + ["-ffp-contract=off"]
            omp_compile, omp_link = ["-fopenmp"], ["-fopenmp"]
            single_flags = [] if MARCH in ("none", "dispatch") else [f"-march={MARCH}"]
            if single_flags and not _try_compile(
                compiler, "int main(void){return 0;}\n", single_flags, single_flags
            ):
                _say(f"compiler rejected {single_flags[0]}; building for the default target")
                single_flags = []
            if DISPATCH:
                for name, march, fallback in X86_LEVELS:
                    for flags in ([f"-march={march}"], fallback):
                        # compile and link only: this machine need not run the level
                        if _try_compile(compiler, "int main(void){return 0;}\n",
                                        flags, flags, run=False):
                            level_flags[name] = flags
                            break
                    else:
                        _say(f"compiler supports neither -march={march} nor {' '.join(fallback)}: "
                             f"level {name!r} not built")
                if "baseline" not in level_flags:
                    level_flags = {}
                    _say("no dispatch levels: building one level for the default target")

        want = _env_choice("IMFILT_OPENMP", "auto", ["auto", "1", "0"])
        use_openmp = False
        if want == "0":
            _say("OpenMP disabled by IMFILT_OPENMP=0: kernels will run on one thread")
        else:
            # GCC and LLVM Clang take -fopenmp; Apple Clang only passes it to
            # the preprocessor and needs libomp (e.g. Homebrew's) linked.
            candidates = [(omp_compile, omp_link)]
            if not is_msvc:
                candidates.append((["-Xpreprocessor", "-fopenmp"], ["-lomp"]))
            for omp_compile, omp_link in candidates:
                use_openmp = _try_compile(compiler, OPENMP_PROBE, omp_compile, omp_link)
                if use_openmp:
                    break
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

        if level_flags:
            # The level copies replace the plain module; levels whose flags
            # the compiler rejected are not built.
            self.extensions = [
                e for e in self.extensions
                if getattr(e, "imfilt_level", None) in level_flags
                or (getattr(e, "imfilt_level", None) is None
                    and not getattr(e, "imfilt_dispatched", False))
            ]
            _say("CPU dispatch levels: " + ", ".join(
                f"{name} ({' '.join(flags)})" for name, flags in level_flags.items()))
        else:
            # One level: build the plain modules, not the level copies.
            self.extensions = [e for e in self.extensions
                               if getattr(e, "imfilt_level", None) is None]
            _say("single level: " + (" ".join(single_flags) or "the compiler's default target"))
        levels_text = ";".join(f"{name}={' '.join(flags)}" for name, flags in level_flags.items())
        single_text = "" if level_flags else (
            f"-march={MARCH}" if single_flags else "default target")

        common = opt + (omp_compile if use_openmp else [])
        for ext in self.extensions:
            level = getattr(ext, "imfilt_level", None)
            march_flags = level_flags[level] if level is not None else (
                [] if level_flags else single_flags)
            ext.extra_compile_args = list(ext.extra_compile_args or []) + opt + march_flags
            ext.extra_link_args = list(ext.extra_link_args or [])
            if use_openmp:
                ext.extra_compile_args += omp_compile
                ext.extra_link_args += omp_link
            ext.define_macros = list(ext.define_macros or []) + [
                ("IMFILT_BUILD_FLAGS", _c_string(" ".join(common + march_flags))),
                ("IMFILT_CPU_LEVELS", _c_string(levels_text)),
                ("IMFILT_SINGLE_LEVEL", _c_string(single_text)),
                ("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION"),
            ]
        super().build_extensions()

    def build_extension(self, ext):
        if ext.name == "imfilt._kernels._build":
            # Always rebuilt (it is tiny): it records the levels and flags of
            # *this* build, which a timestamp check cannot see change.
            target = Path(self.get_ext_fullpath(ext.name))
            if target.exists():
                target.unlink()
        super().build_extension(ext)


def _c_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _level_wrapper(c_file, level):
    """A one-line C file including ``c_file``: one object file per level.

    The C file Cython wrote is compiled once per level; distinct source
    paths keep the levels' object files apart in build/temp*.
    """
    wrapper = HERE / "build" / "imfilt-dispatch" / level / c_file.name
    text = f'/* generated by setup.py: {c_file.name} for CPU level {level} */\n' \
           f'#include "{c_file.as_posix()}"\n'
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    if not wrapper.exists() or wrapper.read_text() != text:
        wrapper.write_text(text)
    return str(wrapper.relative_to(HERE))


def extensions():
    debug = os.environ.get("IMFILT_CYTHON_DEBUG", "0") == "1"
    headers = [str(p) for p in KERNEL_DIR.glob("*.h")]
    exts = [
        Extension(
            f"imfilt._kernels.{pyx.stem}",
            [str(pyx.relative_to(HERE))],
            include_dirs=[np.get_include(), str(KERNEL_DIR)],
            depends=headers,
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
    exts = cythonize(exts, compiler_directives=directives, quiet=True)
    out = []
    for ext in exts:
        # The plain module is built only when no level can be (see
        # ImfiltBuildExt.build_extensions), so it stays in the list.
        out.append(ext)
        stem = ext.name.rsplit(".", 1)[-1]
        if not DISPATCH or stem in SINGLE_LEVEL_MODULES:
            continue
        ext.imfilt_dispatched = True
        c_file = HERE / ext.sources[0]
        for level, _, _ in X86_LEVELS:
            lext = Extension(
                f"imfilt._kernels._cpu_{level}.{stem}",
                [_level_wrapper(c_file, level)],
                include_dirs=list(ext.include_dirs),
                depends=[str(c_file)] + headers,
                define_macros=list(ext.define_macros or []),
                extra_compile_args=list(ext.extra_compile_args or []),
                extra_link_args=list(ext.extra_link_args or []),
                language=ext.language,
            )
            lext.imfilt_level = level
            out.append(lext)
    return out


setup(ext_modules=extensions(), cmdclass={"build_ext": ImfiltBuildExt})
