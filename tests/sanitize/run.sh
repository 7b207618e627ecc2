#!/usr/bin/env bash
# Builds turborle._core with AddressSanitizer and UndefinedBehaviorSanitizer in a scratch
# copy of the working tree and runs the Python test suite (and the leak check) against it.
# Fails on any sanitizer report or test failure.
#
#   tests/sanitize/run.sh [pytest arguments ...]      (default: the whole suite, -x -q)
#
# Environment:
#   CC / CXX          compiler (default gcc / g++; clang works too)
#   SANITIZE_WORKDIR  scratch directory (default: a new temporary directory)
#   LEAK_ITERATIONS   rounds of the leak loop (tests/sanitize/leak_check.py; default 300; 0 skips)
#
# CPython leaks by design at exit, so LeakSanitizer is off for the test suite
# (detect_leaks=0). Leaks of the extension are then checked by running the loop of every
# operation in leak_check.py under LeakSanitizer: it fails on any leak whose allocation
# stack passes through turborle's code (CPython's own exit-time leaks are ignored). (RSS
# growth is no measure under ASan, whose allocator and stack depot grow by themselves; the
# RSS check runs against the normal build in tests/test_leaks.py.)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${SANITIZE_WORKDIR:-$(mktemp -d -t turborle-sanitize.XXXXXX)}
CC=${CC:-gcc}
CXX=${CXX:-g++}
export CC CXX

# A scratch copy (tracked and untracked, not ignored files): the in-place build of the
# working tree is left alone.
echo "sanitize: copying the tree to $work/src"
rm -rf "$work/src"
mkdir -p "$work/src" "$work/logs"
(cd "$root" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$root" && xargs -0 cp --parents -t "$work/src" 2>/dev/null || true)

# The build needs pyproject's build requirements in this environment (a venv made by
# `pip install .` has them only in pip's isolated build environment).
build_requires=$(python3 -c "import tomllib; print(' '.join(tomllib.load(open('$root/pyproject.toml', 'rb'))['build-system']['requires']))")
# shellcheck disable=SC2086
python3 -m pip install -q $build_requires

san=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g)
export CFLAGS="${san[*]}" CXXFLAGS="${san[*]}" LDFLAGS="${san[*]}"
echo "sanitize: building the extension with $CXX ${san[*]}"
(cd "$work/src" && python3 setup.py -q build_ext --inplace >"$work/logs/build.log" 2>&1) || {
  tail -40 "$work/logs/build.log"
  exit 1
}

# The ASan runtime must be loaded first (python3 itself is not instrumented).
asan_rt=$("$CXX" -print-file-name=libasan.so)
if [ ! -e "$asan_rt" ]; then  # clang names it differently
  asan_rt=$("$CXX" -print-file-name="libclang_rt.asan-$(uname -m).so")
fi
[ -e "$asan_rt" ] || { echo "sanitize: no ASan runtime for $CXX" >&2; exit 1; }
preload=$asan_rt
if [[ "$asan_rt" == *libasan.so ]]; then
  ubsan_rt=$("$CXX" -print-file-name=libubsan.so)
  [ -e "$ubsan_rt" ] && preload="$asan_rt:$ubsan_rt"
fi

rm -f "$work/logs"/asan.* "$work/logs"/ubsan.*
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:log_path=$work/logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$work/logs/ubsan"
export PYTHONPATH="$work/src/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONMALLOC=malloc  # every allocation through ASan's malloc
export TURBORLE_SANITIZED=1  # tests/test_leaks.py: RSS is no measure under ASan
# The interpreter itself, not a wrapper script (a pyenv shim is bash, which LSan flags).
py=$(python3 -c 'import sys; print(sys.executable)')

status=0
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-q -p no:cacheprovider)
echo "sanitize: python -m pytest ${args[*]}"
(cd "$work/src" && LD_PRELOAD="$preload" "$py" -m pytest "${args[@]}") || status=$?

iterations=${LEAK_ITERATIONS:-300}
if [ "$iterations" -gt 0 ]; then
  echo "sanitize: leak loop under LeakSanitizer, $iterations rounds of every operation"
  (cd "$work/src" && ASAN_OPTIONS="detect_leaks=1:quarantine_size_mb=0:log_path=$work/logs/lsan" \
     LSAN_OPTIONS="report_objects=0" LD_PRELOAD="$preload" "$py" -c \
     "import sys; sys.path.insert(0, 'tests/sanitize'); import leak_check; leak_check.measure($iterations, warmup=5)") \
     || true  # LSan exits non-zero for CPython's own leaks; judged below
  ours=$(grep -lE 'turborle|_core|csrc/' "$work/logs"/lsan.* 2>/dev/null || true)
  if [ -n "$ours" ]; then
    echo "sanitize: leaks through turborle's code:" >&2
    grep -B3 -A25 -E 'leak of' $ours | head -80 >&2
    status=1
  else
    leaked=$(grep -h SUMMARY "$work/logs"/lsan.* 2>/dev/null || echo "no leaks")
    echo "sanitize: no leak through turborle's code (CPython at exit: $leaked)"
  fi
  rm -f "$work/logs"/lsan.*
fi

reports=$(ls "$work/logs"/asan.* "$work/logs"/ubsan.* 2>/dev/null || true)
if [ -n "$reports" ]; then
  echo "sanitize: sanitizer reports:" >&2
  for f in $reports; do echo "--- $f" >&2; head -40 "$f" >&2; done
  status=1
fi
if [ "$status" -eq 0 ]; then
  echo "sanitize: ok (no ASan/UBSan reports; logs in $work/logs)"
else
  echo "sanitize: FAILED (status $status; logs in $work/logs)" >&2
fi
exit "$status"
