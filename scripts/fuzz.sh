#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cpp, clang-14 with ASan and
# UBSan) and runs each for a bounded time on a copy of its seed corpus in
# tests/fuzz/corpus/<target>/. Fails on the first crash, leak, sanitizer
# report or timeout; the reproducer is left in build-fuzz/crashes/.
#   scripts/fuzz.sh [seconds per target, default 60]
#   scripts/fuzz.sh --build-only   (compile the targets, run nothing)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
build="build-fuzz"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

cmake -S . -B "$build" -DMESHCAP_FUZZ=ON -DMESHCAP_TESTS=OFF -DMESHCAP_HARDEN=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_targets >/dev/null
[ "$seconds" = --build-only ] && exit 0

mkdir -p "$build/crashes"

# True when the reproducer crashes inside libnftnl or libmnl themselves (the
# first frame outside the sanitizer runtime, libFuzzer's crash handler and
# libc's abort path, e.g. __stack_chk_fail for a stack overflow the library's
# stack protector caught, is theirs: named by the library's file, or, with
# libnftnl.a linked in, by the nftnl_/mnl_ prefix of the function): the nft_decode target
# feeds them bytes no kernel sends, and their bugs are reported upstream, not
# fixed here. Anything else, meshcap's code first of all, fails the run.
in_library() {
  local out
  out=$("$1" "$2" 2>&1 || true)
  printf '%s\n' "$out" | grep -aE '^ +#[0-9]+ ' | grep -avE '__sanitizer|__interceptor|internal_|__asan|__ubsan|fuzzer::|libc\.so| in (__pthread_kill_implementation|raise|abort|__libc_message|__fortify_fail|__stack_chk_fail) ' |
    head -1 | grep -qE 'libnftnl|libmnl| in (nftnl|mnl)_'
}

leaks_for() { if [ "$1" = nft_decode ]; then echo 0; else echo 1; fi; }

# Every target at once, at most one per core: the wall time is about
# `seconds` times the number of targets divided by the cores.
names=()
for src in tests/fuzz/*_fuzz.cpp; do
  target=$(basename "$src" .cpp)
  name=${target%_fuzz}
  names+=("$name")
  work="$build/corpus/$name"  # grows while fuzzing; the repository's seeds stay as they are
  mkdir -p "$work"
  rm -f "$build/crashes/$name-"*
  seeds=()
  [ -d "tests/fuzz/corpus/$name" ] && seeds=("tests/fuzz/corpus/$name")
  echo "== fuzz $name (${seconds}s)"
  # nft_decode drops inputs libnftnl exits on, leaking the half-parsed
  # object, and goes on after a crash to tell library crashes from ours.
  opts=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1
        -artifact_prefix="$build/crashes/$name-")
  [ "$name" = nft_decode ] && opts+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=0 -ignore_ooms=0)
  ASAN_OPTIONS="detect_leaks=$(leaks_for "$name")" "$build/$target" "$work" "${seeds[@]}" "${opts[@]}" \
    >"$build/$name.log" 2>&1 &
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
done
wait || true

status=0
for name in "${names[@]}"; do
  target=${name}_fuzz
  leaks=$(leaks_for "$name")
  echo "== $name"
  failed=0
  library=0
  for crash in "$build/crashes/$name-"*; do
    [ -e "$crash" ] || continue
    [[ "$crash" == *.txt ]] && continue
    if [ "$name" = nft_decode ] && ASAN_OPTIONS=detect_leaks=0 in_library "$build/$target" "$crash"; then
      library=$((library + 1))
      continue
    fi
    failed=1
    echo "fuzz.sh: $name crashed on $crash:" >&2
    ASAN_OPTIONS="detect_leaks=$leaks" "$build/$target" "$crash" >"$crash.txt" 2>&1 || true
    grep -a '^parse_' "$crash.txt" | cut -c1-600 >&2 || true
    grep -aA24 -m1 'ERROR\|runtime error' "$crash.txt" | grep -av '^NOTE' >&2 || true
    echo "  input (base64): $(head -c 600 "$crash" | base64 -w0)" >&2
  done
  if [ "$failed" -eq 0 ] && ! grep -aq "Done [0-9]* runs\|stat::number_of_executed_units\|INFO: fuzzed for" "$build/$name.log"; then
    failed=1
    echo "fuzz.sh: $name did not run to its time limit; log $build/$name.log:" >&2
    tail -30 "$build/$name.log" >&2
  fi
  [ "$library" -eq 0 ] || echo "   $library crash(es) inside libnftnl/libmnl on bytes no kernel sends (kept in $build/crashes/)"
  [ "$failed" -eq 0 ] || status=1
  grep -a "stat::number_of_executed_units\|Done [0-9]* runs\|INFO: exiting" "$build/$name.log" | tail -1 || true
done
exit "$status"
