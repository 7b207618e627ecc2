"""Build of the compiled modules. Metadata lives in pyproject.toml.

turborle._core: the C++ core (csrc/) behind a Cython binding. No -march flags: SIMD code
paths are chosen at run time, so one wheel runs on every x86-64 / arm64 machine.
"""
import sys
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

ROOT = Path(__file__).parent
CORE_SOURCES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "csrc").glob("*.cpp"))
# Headers the extension depends on: a change to one rebuilds it (setuptools does not scan).
CORE_HEADERS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "csrc").glob("*.hpp"))

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
    depends=[*CORE_HEADERS, "src/turborle/_errors.hpp", "src/turborle/_cpp.pxd"],
    language="c++",
    extra_compile_args=compile_args,
    define_macros=[
        ("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION"),
        # Built against numpy 2, usable with numpy >= 1.23 (pyproject's run-time floor).
        ("NPY_TARGET_VERSION", "NPY_1_23_API_VERSION"),
    ],
)

setup(
    ext_modules=cythonize([core], include_path=["src"], compiler_directives={"language_level": "3"}),
)
