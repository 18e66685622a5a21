#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cpp, clang-14 with ASan and
# UBSan) and runs each for a bounded time on a copy of its seed corpus in
# tests/fuzz/corpus/<target>/. Fails on the first crash, leak, sanitizer
# report or timeout; the reproducer is left in build-fuzz/crashes/.
#   scripts/fuzz.sh [seconds per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
build="build-fuzz"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

cmake -S . -B "$build" -DMESHCAP_FUZZ=ON -DMESHCAP_TESTS=OFF -DMESHCAP_HARDEN=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_targets >/dev/null

mkdir -p "$build/crashes"
status=0
for src in tests/fuzz/*_fuzz.cpp; do
  target=$(basename "$src" .cpp)
  name=${target%_fuzz}
  work="$build/corpus/$name"  # grows while fuzzing; the repository's seeds stay as they are
  mkdir -p "$work"
  seeds=()
  [ -d "tests/fuzz/corpus/$name" ] && seeds=("tests/fuzz/corpus/$name")
  echo "== fuzz $name (${seconds}s)"
  if ! "$build/$target" "$work" "${seeds[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=8192 -print_final_stats=1 -artifact_prefix="$build/crashes/$name-" \
      >"$build/$name.log" 2>&1; then
    echo "fuzz.sh: $name failed; reproducer in $build/crashes/, log $build/$name.log:" >&2
    grep -A30 -m1 "ERROR\|==ABORTING\|runtime error\|deadly signal" "$build/$name.log" >&2 || tail -30 "$build/$name.log" >&2
    status=1
  else
    grep "stat::number_of_executed_units\|cov:" "$build/$name.log" | tail -2
  fi
done
exit "$status"
