#!/usr/bin/env bash
# Builds every libFuzzer harness in tests/fuzz/ with address and undefined-behaviour
# sanitizers and runs each for a given time on a scratch copy of its seed corpus.
#
#   tests/fuzz/run.sh [seconds-per-harness] [harness ...]
#
# Prints, per harness: executions, coverage, and whether it crashed. Exits non-zero when
# any harness crashed (its crashing input is kept under the work directory, which is
# printed). Environment:
#   CXX          clang++ with libFuzzer (default: clang++, else clang++-19 .. clang++-14)
#   FUZZ_WORKDIR build and scratch directory (default: a new temporary directory)
#   FUZZ_JOBS    parallel compile jobs (default: number of CPUs)
#   FUZZ_FLAGS   extra libFuzzer flags for every run
#   FUZZ_CXXFLAGS extra compiler flags (e.g. -DFUZZ_SKIP_NULL_OUT, see README.md)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-20}
shift || true

if [ -z "${CXX:-}" ]; then
  for c in clang++ clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++-14; do
    if command -v "$c" >/dev/null 2>&1; then CXX=$c; break; fi
  done
fi
if [ -z "${CXX:-}" ] || ! command -v "$CXX" >/dev/null 2>&1; then
  echo "fuzz: no clang++ found (on Debian 12: apt-get install -y clang-14 libclang-rt-14-dev)" >&2
  exit 2
fi

work=${FUZZ_WORKDIR:-$(mktemp -d -t turborle-fuzz.XXXXXX)}
mkdir -p "$work/obj" "$work/bin"
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}

# -ffp-contract=off as in setup.py: polygon rounding must not use fused multiply-adds.
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -ffp-contract=off
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I"$root/csrc")
# shellcheck disable=SC2206
flags+=(${FUZZ_CXXFLAGS:-})

if [ $# -gt 0 ]; then
  harnesses=("$@")
else
  harnesses=()
  for f in "$here"/fuzz_*.cpp; do harnesses+=("$(basename "$f" .cpp)"); done
fi

# The core sources are compiled once (the same flags) and linked into every harness.
echo "fuzz: building with $CXX in $work"
core_objs=()
pids=()
for src in "$root"/csrc/*.cpp; do
  obj="$work/obj/$(basename "$src" .cpp).o"
  core_objs+=("$obj")
  "$CXX" "${flags[@]}" -c "$src" -o "$obj" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p"; done
pids=()
for name in "${harnesses[@]}"; do
  "$CXX" "${flags[@]}" "$here/$name.cpp" "${core_objs[@]}" -o "$work/bin/$name" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p"; done

status=0
summary=()
for name in "${harnesses[@]}"; do
  corpus="$work/corpus/$name"
  artifacts="$work/artifacts/$name/"
  log="$work/$name.log"
  rm -rf "$corpus" "$artifacts"
  mkdir -p "$corpus" "$artifacts"
  if [ -d "$here/corpus/$name" ]; then cp "$here/corpus/$name"/* "$corpus"/ 2>/dev/null || true; fi
  # Past findings run first, as regression inputs.
  for f in "$here/crashes/$name"-*; do [ -e "$f" ] && cp "$f" "$corpus/"; done
  dict=()
  if [ -f "$here/$name.dict" ]; then dict=(-dict="$here/$name.dict"); fi
  echo "fuzz: $name for ${seconds}s"
  set +e
  # shellcheck disable=SC2086
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
    "$work/bin/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
      -print_final_stats=1 -artifact_prefix="$artifacts" "${dict[@]}" ${FUZZ_FLAGS:-} \
      "$corpus" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  crashes=$(ls "$artifacts" 2>/dev/null | wc -l)
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    result="CRASHED (rc=$rc; input in $artifacts; log $log)"
    status=1
    grep -E 'ERROR|SUMMARY|CHECK failed|runtime error|terminate|deadly' "$log" | head -5 || true
  else
    result="ok"
  fi
  line=$(printf '%-18s execs=%-10s %-22s %s' "$name" "${execs:-?}" "${cov:-cov: ?}" "$result")
  summary+=("$line")
done

echo
echo "fuzz summary (${seconds}s per harness, $CXX):"
for line in "${summary[@]}"; do echo "  $line"; done
exit "$status"
