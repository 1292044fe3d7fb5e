#!/usr/bin/env bash
# The replayer's CPU per Socket.IO session against its anchor, a Node socket.io-client 4 script
# doing the same (bench/replay_anchor.js), measured in one run (DESIGN.md "Targets": replay).
# See bench/README.md, "Replay CPU".
#
#   bench/replay_cpu.sh
#
# 1. One session is recorded through `workalready record --upstream` with
#    tests/apps/clients/chat_client.js (login, socket connect with the cookie, welcome, two acked
#    chats, polling → websocket upgrade) against the express_v4 app, and calibrated once against
#    a fresh app (the app numbers chat acks with one counter per process, so copies that share it
#    get other ids than the recorded ones).
# 2. Each round, against a fresh app each time: the anchor runs N sessions C at a time and
#    reports its own CPU; `workalready replay --repeat N --concurrency C --quiet` replays the
#    recording, its CPU taken from getrusage of the whole process (all threads, start-up and
#    loading the recording included). Rounds alternate the order; each side keeps its best.
#
# Environment (all optional):
#   WA_BENCH_BUILD        build folder (default <repo>/build-bench, Release)
#   WA_BENCH_SKIP_BUILD=1 use the workalready already in the build folder
#   WA_BENCH_SESSIONS     sessions per measurement (default 300)
#   WA_BENCH_REPLAY_CONCURRENCY  sessions at once (default 10)
#   WA_BENCH_ROUNDS       rounds (default 2)
#   WA_BENCH_LOAD_CPUS / WA_BENCH_PROXY_CPUS  taskset lists for the app / the measured client
#                         (default 0 / 1 on 2+ cores)
#   WA_BENCH_STEP_SECONDS upper bound of every step (default 300)
#   WA_BENCH_TARGET       the ratio to meet (default 0.2)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${WA_BENCH_BUILD:-$REPO/build-bench}
SESSIONS=${WA_BENCH_SESSIONS:-300}
CONCURRENCY=${WA_BENCH_REPLAY_CONCURRENCY:-10}
ROUNDS=${WA_BENCH_ROUNDS:-2}
STEP=${WA_BENCH_STEP_SECONDS:-300}
TARGET=${WA_BENCH_TARGET:-0.2}
if [ "$(nproc)" -ge 2 ]; then
  APP_CPUS=${WA_BENCH_LOAD_CPUS:-0}
  CLIENT_CPUS=${WA_BENCH_PROXY_CPUS:-1}
else
  APP_CPUS=${WA_BENCH_LOAD_CPUS:-0}
  CLIENT_CPUS=${WA_BENCH_PROXY_CPUS:-0}
fi
TICKS=$(getconf CLK_TCK)
APP_JS=$REPO/tests/apps/express_v4/app.js
CLIENT_JS=$REPO/tests/apps/clients/chat_client.js
ANCHOR_JS=$REPO/bench/replay_anchor.js

say() { printf '%s\n' "$*" >&2; }
die() {
  say "replay bench: $*"
  exit 2
}

# --- processes we start, stopped by PID -------------------------------------------------------

PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wa-replay-bench.XXXXXX")
stop_pid() { # PID [SIGNAL]: signal it, wait up to 15 s, then KILL
  local pid=$1 sig=${2:-TERM}
  kill -0 "$pid" 2>/dev/null || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_line FILE PATTERN PID: until FILE holds a line matching PATTERN (20 s at most, or until
# PID has exited); prints that line.
wait_line() {
  local line
  for _ in $(seq 200); do
    line=$(grep -m1 -E "$2" "$1" 2>/dev/null || true)
    if [ -n "$line" ]; then
      echo "$line"
      return 0
    fi
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
cpu_ticks() { # PID: utime + stime of the process (all threads)
  sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0
}

# --- setup -------------------------------------------------------------------------------------

build() {
  if [ "${WA_BENCH_SKIP_BUILD:-0}" != 1 ]; then
    say "replay bench: building workalready in $BUILD (Release)"
    cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWA_TESTS=OFF >/dev/null
    cmake --build "$BUILD" -j2 --target workalready >"$WORK/build.log" 2>&1 || {
      tail -30 "$WORK/build.log" >&2
      die "build failed"
    }
  fi
  WA=$BUILD/bin/workalready
  [ -x "$WA" ] || die "no $WA"
  command -v node >/dev/null || die "node is needed"
  [ -d "$REPO/node_modules/socket.io-client" ] || die "no node_modules (run npm ci in $REPO)"
}

APP_PID=
APP_PORT=
APP_COUNT=0
start_app() { # a fresh express_v4 app on CPU APP_CPUS
  local log line
  APP_COUNT=$((APP_COUNT + 1))
  log=$WORK/app-$APP_COUNT.log
  taskset -c "$APP_CPUS" node "$APP_JS" --port 0 >"$log" 2>&1 &
  APP_PID=$!
  PIDS+=("$APP_PID")
  line=$(wait_line "$log" '^LISTENING [0-9]+' "$APP_PID") || {
    cat "$log" >&2
    die "the express_v4 app did not start"
  }
  APP_PORT=${line#LISTENING }
}
stop_app() {
  [ -n "$APP_PID" ] && stop_pid "$APP_PID" TERM
  APP_PID=
}

# Records one chat_client session through the proxy into $WORK/capture.sqlite, then stores the
# noise rules of a calibration against a fresh app.
record_and_calibrate() {
  local log line proxy port out
  start_app
  log=$WORK/record.log
  "$WA" record --quiet --listen 127.0.0.1:0 --upstream "http://127.0.0.1:$APP_PORT" \
    --db "$WORK/capture.sqlite" --name replay-bench >"$log" 2>&1 &
  proxy=$!
  PIDS+=("$proxy")
  line=$(wait_line "$log" 'listening on [0-9.]+:[0-9]+' "$proxy") || {
    cat "$log" >&2
    die "workalready record did not start"
  }
  port=$(sed -E 's/.*listening on [0-9.]+:([0-9]+).*/\1/' <<<"$line")
  say "replay bench: recording one session through 127.0.0.1:$port"
  out=$(timeout 60 node "$CLIENT_JS" --url "http://127.0.0.1:$port" --chats 2 2>&1) || {
    say "$out"
    die "the chat client failed through the recording proxy"
  }
  stop_pid "$proxy" INT
  RECORDED=$(sed -n 's/^workalready: recorded //p' "$log" | tail -1 | sed 's/ into .*//')
  [ -n "$RECORDED" ] || {
    cat "$log" >&2
    die "the recording proxy printed no summary"
  }
  stop_app

  start_app
  say "replay bench: calibrating against a fresh app"
  out=$(timeout "$STEP" "$WA" replay --db "$WORK/capture.sqlite" --target \
    "http://127.0.0.1:$APP_PORT" --calibrate --quiet 2>&1) || {
    say "$out"
    die "the calibration replay did not pass"
  }
  CALIBRATED=$(sed -n 's/^calibrate: [^:]*: //p' <<<"$out" | head -1)
  stop_app
}

# --- the measurements --------------------------------------------------------------------------

declare -A R # R[side,field]: the best round of each side (least CPU per session)

per_session() { # MICROSECONDS SESSIONS → µs per session
  awk -v t="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.0f", t / n; else print "?" }'
}
seconds_to_us() { awk -v s="$1" 'BEGIN { printf "%.0f", s * 1e6 }'; }
# keep SIDE CPU-PER-SESSION PASSED(0|1): whether this round beats the one kept: a round where
# every session passed beats one where some did not, then the least CPU per session wins.
keep() {
  local kept=${R[$1,cpu]:-} kept_passed=${R[$1,passed]:-0}
  [ -z "$kept" ] && return 0
  [ "$3" != "$kept_passed" ] && return $((1 - $3))
  awk -v a="$2" -v b="$kept" 'BEGIN { exit !(a + 0 > 0 && a + 0 < b + 0) }'
}
json_field() { sed -E "s/.*\"$2\":([0-9]+).*/\\1/" <<<"$1"; } # JSON NAME: a number field

# The CPU of a command is what bash's `time` reports for it: getrusage(RUSAGE_CHILDREN) of the
# whole process tree it waited for (timeout, then node or workalready), every thread included.
# Writes "rc user-seconds system-seconds" to $WORK/time.out and the command's stdout to OUT.
timed() { # OUT COMMAND...
  local out=$1 rc=0
  shift
  local TIMEFORMAT='%3U %3S'
  { time timeout "$STEP" taskset -c "$CLIENT_CPUS" "$@" >"$out" 2>"$out.err" || rc=$?; } \
    2>"$WORK/time.raw"
  echo "$rc $(tail -1 "$WORK/time.raw")" >"$WORK/time.out"
}

measure_anchor() { # ROUND
  local rc user sys app_before app_after json cpu completed failed total wall
  start_app
  say "replay bench: node anchor, $SESSIONS sessions, $CONCURRENCY at once (round $1 of $ROUNDS)"
  app_before=$(cpu_ticks "$APP_PID")
  timed "$WORK/anchor.out" node "$ANCHOR_JS" --url "http://127.0.0.1:$APP_PORT" \
    --sessions "$SESSIONS" --concurrency "$CONCURRENCY"
  app_after=$(cpu_ticks "$APP_PID")
  stop_app
  read -r rc user sys <"$WORK/time.out"
  json=$(grep -m1 '"type":"result"' "$WORK/anchor.out" || true)
  if [ "$rc" != 0 ] || [ -z "$json" ]; then
    say "replay bench: the anchor failed (exit $rc): $(cat "$WORK/anchor.out" "$WORK/anchor.out.err" | tail -3)"
    [ -n "${R[node,cpu]:-}" ] || R[node,status]="FAILED (exit $rc)"
    return 0
  fi
  completed=$(json_field "$json" sessions)
  failed=$(json_field "$json" failed)
  cpu=$(per_session "$(json_field "$json" cpu_us)" "$completed")
  total=$(per_session "$(seconds_to_us "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')")" "$completed")
  wall=$(json_field "$json" wall_ms)
  keep node "$cpu" $((failed == 0)) || return 0
  R[node,passed]=$((failed == 0))
  R[node,cpu]=$cpu
  R[node,process]=$total
  R[node,sessions]=$completed
  R[node,status]="$completed done, $failed failed"
  R[node,wall]=$wall
  R[node,app]=$(per_session $(((app_after - app_before) * 1000000 / TICKS)) "$completed")
}

measure_workalready() { # ROUND
  local rc user sys app_before app_after cpu started ended summary
  start_app
  say "replay bench: workalready replay --repeat $SESSIONS --concurrency $CONCURRENCY (round $1 of $ROUNDS)"
  app_before=$(cpu_ticks "$APP_PID")
  started=$(date +%s%N)
  timed "$WORK/replay.out" "$WA" replay --db "$WORK/capture.sqlite" \
    --target "http://127.0.0.1:$APP_PORT" --repeat "$SESSIONS" --concurrency "$CONCURRENCY" --quiet
  ended=$(date +%s%N)
  app_after=$(cpu_ticks "$APP_PID")
  stop_app
  read -r rc user sys <"$WORK/time.out"
  summary=$(grep -v '^[[:space:]]*$' "$WORK/replay.out" | tail -1)
  if [ "$rc" != 0 ]; then
    say "replay bench: workalready replay exited $rc: $summary $(tail -3 "$WORK/replay.out.err")"
    # A run that did not match is still measured, but its row says so.
  fi
  cpu=$(per_session "$(seconds_to_us "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')")" \
    "$SESSIONS")
  keep workalready "$cpu" $((rc == 0)) || return 0
  R[workalready,passed]=$((rc == 0))
  R[workalready,cpu]=$cpu
  R[workalready,process]=$cpu
  R[workalready,sessions]=$SESSIONS
  R[workalready,status]="exit $rc: $summary"
  R[workalready,wall]=$(((ended - started) / 1000000))
  R[workalready,app]=$(per_session $(((app_after - app_before) * 1000000 / TICKS)) "$SESSIONS")
}

table() {
  local side ratio verdict
  echo
  echo "Replay CPU per Socket.IO session (login + connect + welcome + 2 acked chats + upgrade):"
  echo "  $SESSIONS sessions, $CONCURRENCY at once, best of $ROUNDS rounds; app (express_v4) on CPU $APP_CPUS, client on CPU $CLIENT_CPUS"
  echo "  node = bench/replay_anchor.js (socket.io-client 4): process.cpuUsage() over the sessions;"
  echo "  workalready = replay --repeat --concurrency --quiet: getrusage of the whole process"
  echo "  recorded: $RECORDED; calibration: $CALIBRATED"
  echo
  printf '%-12s %8s %12s %14s %8s %12s  %s\n' client sessions CPUus/sess whole-process wall-ms app-CPUus status
  for side in node workalready; do
    printf '%-12s %8s %12s %14s %8s %12s  %s\n' "$side" "${R[$side,sessions]:--}" \
      "${R[$side,cpu]:--}" "${R[$side,process]:--}" "${R[$side,wall]:--}" "${R[$side,app]:--}" \
      "${R[$side,status]:--}"
  done
  ratio=$(awk -v a="${R[workalready,cpu]:-0}" -v b="${R[node,cpu]:-0}" \
    'BEGIN { if (a > 0 && b > 0) printf "%.3f", a / b; else print "-" }')
  if [ "$ratio" = - ]; then
    verdict="no verdict (a side failed)"
  elif awk -v r="$ratio" -v t="$TARGET" 'BEGIN { exit !(r <= t) }'; then
    verdict="met"
  else
    verdict="NOT met"
  fi
  echo
  echo "ratio workalready / node: $ratio  [target <= $TARGET: $verdict]"
}

# --- main --------------------------------------------------------------------------------------

build
record_and_calibrate
say "replay bench: machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then
    measure_anchor "$round"
    measure_workalready "$round"
  else
    measure_workalready "$round"
    measure_anchor "$round"
  fi
done
echo "Work Already replay benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: node $(node --version), socket.io-client $(node -p "require('$REPO/node_modules/socket.io-client/package.json').version"), workalready $("$WA" --version 2>/dev/null || echo '?')"
table
