#!/usr/bin/env bash
# Sets everything up, builds workalready, and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
log=build.log
if ! { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
       cmake --build build --target workalready; } >"$log" 2>&1; then
  tail -30 "$log" >&2
  echo "demo: build failed (full log: $log)" >&2
  exit 2
fi
exe=build/bin/workalready
"$exe" --help
