"""Build of the compiled modules. Metadata lives in pyproject.toml.

turborle._core: the C++ core (csrc/) behind a Cython binding. No -march flags: SIMD code
paths are chosen at run time, so one wheel runs on every x86-64 / arm64 machine.

turborle._cuda: the GPU paths (csrc/cuda/) behind a pybind11 binding. The device code is
compiled by nvcc; the host build of the same source (thrust's serial backend, for the tests)
and the binding by the C++ compiler; the CUDA runtime is linked statically, so the module
imports on machines without a GPU or driver.
  TURBORLE_CUDA=auto   (default) build it when nvcc is found; if it fails, go on without it
  TURBORLE_CUDA=1      build it or fail
  TURBORLE_CUDA=0      never build it
  TURBORLE_CUDA_ARCH   GPUs to compile for, e.g. "8.0;9.0+PTX" (the default: machine code
                       for sm_80 and sm_90, PTX of sm_90 for later GPUs), or "native"
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CompileError

ROOT = Path(__file__).parent
CORE_SOURCES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "csrc").glob("*.cpp"))
# Headers the extension depends on: a change to one rebuilds it (setuptools does not scan).
CORE_HEADERS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "csrc").glob("*.hpp"))
# (csrc/json_simdjson.cpp compiles the vendored simdjson, csrc/third_party/simdjson/.)

if sys.platform == "win32":
    compile_args = ["/std:c++17", "/O2", "/fp:precise"]
else:
    # -ffp-contract=off: polygon rasterisation must round exactly as pycocotools does, so no
    # fused multiply-adds.
    compile_args = ["-std=c++17", "-O3", "-ffp-contract=off", "-fvisibility=hidden"]

core = Extension(
    "turborle._core",
    sources=["src/turborle/_core.pyx", *CORE_SOURCES],
    include_dirs=["csrc", "src/turborle", numpy.get_include()],
    depends=[*CORE_HEADERS, "csrc/third_party/simdjson/simdjson.h",
             "csrc/third_party/simdjson/simdjson.cpp", "src/turborle/_errors.hpp",
             "src/turborle/_cpp.pxd"],
    language="c++",
    extra_compile_args=compile_args,
    define_macros=[
        ("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION"),
        # Built against numpy 2, usable with numpy >= 1.23 (pyproject's run-time floor).
        ("NPY_TARGET_VERSION", "NPY_1_23_API_VERSION"),
    ],
)

# ---- CUDA ------------------------------------------------------------------------------------

CUDA_MODE = os.environ.get("TURBORLE_CUDA", "auto").strip().lower() or "auto"
if CUDA_MODE not in ("auto", "0", "1"):
    raise SystemExit(f"TURBORLE_CUDA must be auto, 0 or 1, not {CUDA_MODE!r}")
CUDA_ARCH = os.environ.get("TURBORLE_CUDA_ARCH", "").strip() or "8.0;9.0+PTX"


def gencode_flags(arch):
    """nvcc -gencode flags and target names for a list like "8.0;9.0+PTX" (or "80 90+PTX"), or
    "native": the GPUs of this machine."""
    if arch.lower() == "native":
        return ["-arch=native"], "native"
    flags, names = [], []
    for item in re.split(r"[;,\s]+", arch):
        m = re.fullmatch(r"(\d+)\.?(\d)(\+PTX)?", item.strip(), re.IGNORECASE)
        if not m:
            raise SystemExit(f"TURBORLE_CUDA_ARCH: cannot read {item!r} (expected a list like "
                             f"'8.0;9.0+PTX')")
        cc = m.group(1) + m.group(2)
        flags.append(f"-gencode=arch=compute_{cc},code=sm_{cc}")
        names.append(f"sm_{cc}")
        if m.group(3):
            flags.append(f"-gencode=arch=compute_{cc},code=compute_{cc}")
            names.append(f"compute_{cc}")
    return flags, ",".join(names)


def find_cuda():
    """(nvcc, include folders, library folder) of the CUDA toolkit nvcc uses, or None."""
    home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    nvcc = (home and shutil.which("nvcc", path=os.path.join(home, "bin"))) or shutil.which("nvcc")
    if not nvcc:
        return None
    # nvcc says where its headers and libraries are (toolkits are laid out in several ways).
    dry = subprocess.run([nvcc, "--dryrun", "-c", "probe.cu"], capture_output=True, text=True,
                         timeout=120)
    includes, libraries = [], []
    for line in (dry.stdout + dry.stderr).splitlines():
        key, _, value = line.removeprefix("#$ ").partition("=")
        if key in ("INCLUDES", "SYSTEM_INCLUDES"):
            words = shlex.split(value)
            includes += [w[2:] for w in words if w.startswith("-I")]
            includes += [b for a, b in zip(words, words[1:]) if a == "-isystem"]
        elif key == "LIBRARIES":
            libraries += [w[2:] for w in shlex.split(value) if w.startswith("-L")]
    static = [d for d in libraries if os.path.exists(os.path.join(d, "libcudart_static.a"))]
    if not static:
        return None
    return nvcc, includes, static[0]


def out_of_date(sources, target):
    """Whether target is missing or older than any source (as build_ext decides to relink)."""
    if not os.path.exists(target):
        return True
    built = os.path.getmtime(target)
    return any(os.path.getmtime(s) > built for s in sources)


class BuildExt(build_ext):
    """Compiles the .cu sources of an extension with nvcc before linking it. nvcc starts at
    once, beside the compilers of the other extensions (pip builds them one after another)."""

    def build_extensions(self):
        with ThreadPoolExecutor(max_workers=2) as pool:
            self.nvcc_jobs = {
                ext.name: pool.submit(self.compile_cuda, ext)
                for ext in self.extensions
                if getattr(ext, "cu_sources", None)
                and (self.force or out_of_date(ext.sources + ext.depends,
                                               self.get_ext_fullpath(ext.name)))
            }
            # The core is some thirty files: compile them side by side, one compiler per CPU,
            # not one after another as setuptools does. (MSVC's compiler sets itself up on
            # its first call, so it is left serial.)
            compile_one = self.compiler.compile

            def compile_all(sources, *args, **kwargs):
                with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as files:
                    done = files.map(lambda source: compile_one([source], *args, **kwargs), sources)
                    return [obj for objs in done for obj in objs]

            if sys.platform != "win32":
                self.compiler.compile = compile_all
            super().build_extensions()

    def build_extension(self, ext):
        job = getattr(self, "nvcc_jobs", {}).get(ext.name)
        if job is not None:
            ext.extra_objects = list(ext.extra_objects or []) + job.result()
        super().build_extension(ext)

    def compile_cuda(self, ext):
        build = Path(self.build_temp) / "cuda"
        build.mkdir(parents=True, exist_ok=True)
        objects = []
        for source in ext.cu_sources:
            obj = str(build / (Path(source).stem + ".o"))
            cmd = [ext.nvcc, *ext.nvcc_args, "-c", source, "-o", obj]
            print(" ".join(cmd), flush=True)
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                raise CompileError(f"nvcc failed on {source}:\n{done.stdout}{done.stderr}")
            objects.append(obj)
        return objects


def cuda_extension():
    """The turborle._cuda extension, or None when it is not to be (or cannot be) built."""
    if CUDA_MODE == "0":
        return None
    found = find_cuda()
    try:
        import pybind11
    except ImportError:
        pybind11 = None
    problem = ("nvcc (and the static CUDA runtime beside it) not found" if not found
               else "pybind11 is not installed" if pybind11 is None
               else "not supported on Windows" if sys.platform == "win32" else None)
    if problem:
        if CUDA_MODE == "1":
            raise SystemExit(f"TURBORLE_CUDA=1 but turborle._cuda cannot be built: {problem}")
        print(f"turborle._cuda not built: {problem} (turborle.cuda will be unavailable)")
        return None
    nvcc, includes, libdir = found
    gencode, targets = gencode_flags(CUDA_ARCH)
    ext = Extension(
        "turborle._cuda",
        # (csrc/errors.cpp: the core's words for bad input, shared with the CPU parser)
        sources=["src/turborle/_cuda.cpp", "csrc/cuda/errors.cpp", "csrc/cuda/host.cpp",
                 "csrc/errors.cpp"],
        include_dirs=["csrc", "csrc/cuda", pybind11.get_include(), *includes],
        # The host build of csrc/cuda runs thrust's serial backend.
        define_macros=[("THRUST_DEVICE_SYSTEM", "THRUST_DEVICE_SYSTEM_CPP")],
        language="c++",
        extra_compile_args=["-std=c++17", "-O2", "-fvisibility=hidden"],
        library_dirs=[libdir],
        libraries=["cudart_static", "rt", "pthread", "dl"],
        # The static runtime's symbols stay inside the module: calls bind to our copy even
        # when torch has loaded its own libcudart with RTLD_GLOBAL.
        extra_link_args=["-Wl,--exclude-libs,ALL"],
        # auto: a toolkit that fails to build it leaves turborle without CUDA, not uninstallable
        optional=CUDA_MODE == "auto",
    )
    # (every file of csrc/cuda: a changed header rebuilds the module)
    ext.depends = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "csrc" / "cuda").iterdir())
    ext.cu_sources = ["csrc/cuda/device.cu"]
    ext.nvcc = nvcc
    ext.nvcc_args = ["-std=c++17", "-O3", "-Icsrc", "--threads", "0", "-Xcompiler", "-fPIC",
                     "-Xcompiler", "-fvisibility=hidden", *gencode,
                     f"-DTURBORLE_CUDA_TARGETS=\"{targets}\""]
    return ext


extensions = cythonize([core], include_path=["src"], compiler_directives={"language_level": "3"})
cuda = cuda_extension()
if cuda is not None:
    extensions.append(cuda)

setup(ext_modules=extensions, cmdclass={"build_ext": BuildExt})
