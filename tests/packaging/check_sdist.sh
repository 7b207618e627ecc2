#!/usr/bin/env bash
# Builds the sdist, installs it into a fresh virtual environment with the oldest numpy turborle
# supports at run time (the build itself uses numpy 2), and runs the tests that compare with
# pycocotools and the golden vectors from the unpacked sdist against the installed package.
# Fails if the sdist lacks a file the build needs (it once lacked csrc/*.hpp and _core.pyx).
#
#   tests/packaging/check_sdist.sh [numpy-version]      (default 1.23.5)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
numpy_version=${1:-1.23.5}
work=$(mktemp -d -t turborle-sdist.XXXXXX)
python=${PYTHON:-python3}

echo "sdist: building from $root"
"$python" -m venv "$work/build-env"
"$work/build-env/bin/pip" install -q build
"$work/build-env/bin/python" -m build --sdist --outdir "$work/dist" "$root" >"$work/build.log" 2>&1 || {
  tail -30 "$work/build.log"; exit 1; }
sdist=$(ls "$work/dist"/turborle-*.tar.gz)
echo "sdist: $(basename "$sdist"), $(tar tzf "$sdist" | wc -l) files"

"$python" -m venv "$work/env"
# shellcheck disable=SC1091
. "$work/env/bin/activate"
pip install -q "numpy==$numpy_version" pytest hypothesis pycocotools
# The sdist is built into a wheel in an isolated environment (numpy 2 headers); numpy stays
# at the old version here. CUDA is not built: this checks the sdist, not the toolkit.
TURBORLE_CUDA=0 pip install -q "$sdist"
python -c "import numpy, turborle; assert numpy.__version__ == '$numpy_version', numpy.__version__; print('sdist: installed', turborle.__version__, 'with numpy', numpy.__version__)"

mkdir -p "$work/unpacked"
tar xzf "$sdist" -C "$work/unpacked"
cd "$work/unpacked"/turborle-*
rm -rf src  # the tests must import the installed package, not the sources
TURBORLE_ALLOWED_SKIPS=platform python -m pytest -q -p no:cacheprovider \
  tests/test_golden.py tests/test_differential.py tests/test_errors.py tests/test_dialects.py \
  tests/test_pixel_memory.py
echo "sdist: ok ($work)"
