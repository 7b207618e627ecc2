#!/usr/bin/env bash
# Downloads what benchmarks/gpu/run.sh needs and a bare GPU machine (no network) lacks into
# .whl/ (git-ignored): pycocotools, for the benchmark's (a) and (d). Run it where PyPI can be
# reached, then carry .whl to the GPU machine; run.sh installs every wheel it finds there.
#
#   benchmarks/gpu/fetch_wheels.sh            # for Python 3.12 (the GPU image's)
#   PYTHON_VERSION=3.11 benchmarks/gpu/fetch_wheels.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

version=${PYTHON_VERSION:-3.12}
rm -rf .whl
mkdir -p .whl
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version "$version" \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d .whl "pycocotools==2.0.11"
ls -l .whl
