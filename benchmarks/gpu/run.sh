#!/usr/bin/env bash
# The GPU proof of turborle.cuda in one command, for a bare GPU machine without network (nvcc,
# torch, CuPy, Cython, pybind11, numpy, pytest and hypothesis installed): builds turborle in
# place with its CUDA module, runs the CUDA tests on the device (every CPU-vs-GPU comparison of
# tests/test_cuda.py, and tests/test_cuda_device.py), then the benchmark, and prints the table
# with the GPU model. Steps are bounded so that the whole run stays under 8 minutes.
#
#   benchmarks/gpu/fetch_wheels.sh     # first, where PyPI is reachable: pycocotools into .whl/
#   benchmarks/gpu/run.sh              # on the GPU machine (carry .whl along)
#   benchmarks/gpu/run.sh --dry-run    # without a GPU: the same steps on the host build
#
# Logs, the table and the benchmark's JSON go to $OUT when it is set, else build/gpu-proof/.
# The tests and the benchmark both run even if the other fails; the exit status is non-zero
# if anything failed. Environment: PYTHON (default python3), TURBORLE_CUDA_ARCH (default:
# "native" on the GPU machine, the setup.py default for --dry-run), BUILD_TIMEOUT (seconds,
# default 360), BENCH_ARGS (extra arguments for bench.py).
set -euo pipefail
cd "$(dirname "$0")/../.."

dry_run=0
case "${1:-}" in
  --dry-run) dry_run=1 ;;
  "") ;;
  *) echo "usage: $0 [--dry-run]" >&2; exit 2 ;;
esac
python=${PYTHON:-python3}
out=${OUT:-build/gpu-proof}
mkdir -p "$out"
started=$SECONDS

step() { printf '\n== %s (at %ds)\n' "$1" $((SECONDS - started)); }

# Wheels carried along (.whl/, from fetch_wheels.sh) go to a temporary site folder.
if compgen -G ".whl/*.whl" >/dev/null; then
  site=$(mktemp -d)
  if "$python" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir \
      --target "$site" .whl/*.whl; then
    export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
  else
    echo "warning: the wheels in .whl/ do not install here (another Python?); going on without"
  fi
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

step "machine"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv || true
fi
nvcc --version | tail -n 2
"$python" - <<'PY'
import platform, numpy
try:
    import torch
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU seen by torch"
    print(f"python {platform.python_version()}, numpy {numpy.__version__}, torch {torch.__version__}: {gpu}")
except ImportError:
    print(f"python {platform.python_version()}, numpy {numpy.__version__}, no torch")
PY

# On the GPU machine, machine code for its own GPU only (the fat binary of the default build
# compiles anywhere nvcc does; GPU time is better spent elsewhere).
if [ "$dry_run" = 0 ] && [ -z "${TURBORLE_CUDA_ARCH:-}" ]; then
  export TURBORLE_CUDA_ARCH=native
fi
step "build (TURBORLE_CUDA=1, TURBORLE_CUDA_ARCH=${TURBORLE_CUDA_ARCH:-default}, in place)"
build_start=$SECONDS
if ! TURBORLE_CUDA=1 timeout "${BUILD_TIMEOUT:-360}" "$python" setup.py build_ext --inplace -j "$(nproc)" \
    >"$out/build.log" 2>&1; then
  tail -n 60 "$out/build.log"
  echo "build failed (full log: $out/build.log)"
  exit 1
fi
echo "built in $((SECONDS - build_start)) s"
"$python" -c "import turborle, json; print(json.dumps(turborle.info()))"

step "CUDA tests"
if [ "$dry_run" = 0 ]; then
  export TURBORLE_REQUIRE_GPU=1  # a missing device fails the tests instead of narrowing them
fi
set +e
timeout 240 "$python" -m pytest -q -p no:cacheprovider -rfEs tests/test_cuda.py \
  tests/test_cuda_device.py 2>&1 | tee "$out/tests.log"
tests_rc=${PIPESTATUS[0]}
set -e

step "benchmark"
bench_args=(--json "$out/bench.json")
if [ "$dry_run" = 1 ]; then
  bench_args+=(--dry-run)
fi
# shellcheck disable=SC2206  # BENCH_ARGS is a list of words on purpose
bench_args+=(${BENCH_ARGS:-})
set +e
timeout 240 "$python" benchmarks/gpu/bench.py "${bench_args[@]}" | tee "$out/table.md"
bench_rc=${PIPESTATUS[0]}
set -e

step "done: tests exit $tests_rc, benchmark exit $bench_rc; results in $out"
[ "$tests_rc" = 0 ] && [ "$bench_rc" = 0 ]
