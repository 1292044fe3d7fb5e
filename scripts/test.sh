#!/usr/bin/env bash
# Sets everything up and runs every test: the whole suite in a normal build, then again in an
# AddressSanitizer + UndefinedBehaviorSanitizer build (clang) together with a short run of each
# libFuzzer target. Ends with one line "tests: N passed, M failed"; exits non-zero on any failure.
#
#   scripts/test.sh                 both passes
#   WA_PASSES=normal scripts/test.sh    only the normal build (quicker while developing)
#   WA_LABELS='unit' scripts/test.sh    only some ctest labels (unit|integration|browser|fuzz)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=${WA_JOBS:-$(nproc)}
passes=${WA_PASSES:-normal asan}
labels=${WA_LABELS:-unit|integration|browser|fuzz}

scripts/setup.sh || { echo "test: setup failed" >&2; exit 2; }

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1

passed=0
failed=0
status=0

# build NAME CMAKE-ARGS...: configure and build into build-NAME (build for the normal pass),
# printing the log only when something fails.
build() {
  local dir=$1
  shift
  local log="$root/$dir.log"
  if ! cmake -S . -B "$dir" -G Ninja "$@" >"$log" 2>&1 ||
     ! cmake --build "$dir" -j "$jobs" >>"$log" 2>&1; then
    grep -E 'error|Error|FAILED' "$log" | head -40 >&2
    echo "test: build in $dir failed (full log: $log)" >&2
    return 1
  fi
}

# run DIR LABELS: ctest with those labels; adds its counts to the totals.
run() {
  local dir=$1 want=$2 out
  out=$(mktemp)
  ctest --test-dir "$dir" -L "$want" -j "$jobs" --output-on-failure --timeout 1200 2>&1 | tee "$out"
  local line
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$out" | tail -1)
  if [[ -z "$line" ]]; then
    if grep -q 'No tests were found' "$out"; then
      echo "test: no tests with labels '$want' in $dir" >&2
    fi
    failed=$((failed + 1))
    status=1
  else
    local f t
    f=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
    t=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$line")
    passed=$((passed + t - f))
    failed=$((failed + f))
    ((f == 0)) || status=1
  fi
  rm -f "$out"
}

# The label regex without `fuzz`: fuzz targets exist only in the clang build.
without_fuzz() {
  local IFS='|' l out=()
  for l in $1; do [[ $l == fuzz ]] || out+=("$l"); done
  echo "${out[*]}"
}

for pass in $passes; do
  case $pass in
    normal)
      echo "== normal build (g++, RelWithDebInfo)"
      if build build -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
        nonfuzz=$(without_fuzz "$labels")
        [[ -z "$nonfuzz" ]] || run build "$nonfuzz"
      else
        failed=$((failed + 1)); status=1
      fi
      ;;
    asan)
      echo "== sanitizer build (clang-14, ASan + UBSan, libFuzzer targets)"
      if CC=clang-14 CXX=clang++-14 build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
           -DWA_SANITIZE=ON -DWA_FUZZ=ON -DWA_FUZZ_SECONDS="${WA_FUZZ_SECONDS:-20}"; then
        run build-asan "$labels"
      else
        failed=$((failed + 1)); status=1
      fi
      ;;
    *) echo "test: unknown pass '$pass' (normal, asan)" >&2; exit 2 ;;
  esac
done

echo "tests: $passed passed, $failed failed"
exit $status
