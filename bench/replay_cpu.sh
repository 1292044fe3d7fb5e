#!/usr/bin/env bash
# The replayer's CPU per Socket.IO session against its anchor, a Node socket.io-client 4 script
# doing the same (bench/replay_anchor.js), measured in one run (DESIGN.md "Targets": replay).
# See bench/README.md, "Replay CPU".
#
#   bench/replay_cpu.sh
#
# Two sessions, one row each (WA_BENCH_REPLAY_SESSION picks them):
#  - browser: headless Chromium (bench/browser_session.js over the DevTools protocol) opens the
#    express_v4 app through `workalready record` as a forward proxy: the login page, the favicon,
#    POST /login, the chat page, the socket.io client script, /api/me, the socket on polling
#    upgraded to WebSocket, welcome, two acked chats with their broadcasts. The anchor runs
#    bench/replay_anchor.js --session browser, which makes the same requests.
#  - synthetic: tests/apps/clients/chat_client.js through `workalready record --upstream` (login,
#    socket connect with the cookie, welcome, two acked chats, polling → websocket upgrade).
# 1. Each session is recorded once against the express_v4 app, and calibrated once against a
#    fresh app (the app numbers chat acks with one counter per process, so copies that share it
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
#   WA_BENCH_REPLAY_SESSION  the sessions measured: "browser synthetic" (default), "browser"
#                         or "synthetic"; browser needs Debian's chromium (scripts/setup.sh)
#   WA_BENCH_KEEP_CAPTURE FOLDER: copy each recorded capture there (browser.sqlite, ...) to
#                         profile it later
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${WA_BENCH_BUILD:-$REPO/build-bench}
SESSIONS=${WA_BENCH_SESSIONS:-300}
CONCURRENCY=${WA_BENCH_REPLAY_CONCURRENCY:-10}
ROUNDS=${WA_BENCH_ROUNDS:-2}
STEP=${WA_BENCH_STEP_SECONDS:-300}
TARGET=${WA_BENCH_TARGET:-0.2}
KINDS=${WA_BENCH_REPLAY_SESSION:-browser synthetic}
for kind in $KINDS; do
  case $kind in
    browser | synthetic) ;;
    *)
      echo "replay bench: WA_BENCH_REPLAY_SESSION holds browser and/or synthetic, not '$kind'" >&2
      exit 2
      ;;
  esac
done
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
BROWSER_JS=$REPO/bench/browser_session.js

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
  if [[ " $KINDS " == *" browser "* ]]; then
    command -v chromium >/dev/null || die "the browser session needs chromium (scripts/setup.sh), or WA_BENCH_REPLAY_SESSION=synthetic"
  fi
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

declare -A RECORDED CALIBRATED

# Records one chat_client session through the proxy into $WORK/synthetic.sqlite.
record_synthetic() {
  local log line proxy port out
  start_app
  log=$WORK/record-synthetic.log
  "$WA" record --quiet --listen 127.0.0.1:0 --upstream "http://127.0.0.1:$APP_PORT" \
    --db "$WORK/synthetic.sqlite" --name replay-bench >"$log" 2>&1 &
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
  recorded synthetic "$log"
  stop_app
}

# Records what headless Chromium does on the app (bench/browser_session.js) through the proxy,
# a forward proxy for it, into $WORK/browser.sqlite. The requests Chromium makes on its own to
# other origins are recorded too (or refused, for HTTPS); the replay lists them as skipped.
record_browser() {
  local log line proxy port out browser profile active devtools
  start_app
  log=$WORK/record-browser.log
  "$WA" record --quiet --listen 127.0.0.1:0 --db "$WORK/browser.sqlite" --ca-dir "$WORK/ca" \
    --name replay-bench-browser >"$log" 2>&1 &
  proxy=$!
  PIDS+=("$proxy")
  line=$(wait_line "$log" 'listening on [0-9.]+:[0-9]+' "$proxy") || {
    cat "$log" >&2
    die "workalready record did not start"
  }
  port=$(sed -E 's/.*listening on [0-9.]+:([0-9]+).*/\1/' <<<"$line")
  profile=$WORK/chromium-profile
  timeout "$STEP" chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --remote-debugging-port=0 \
    --proxy-server="http://127.0.0.1:$port" --proxy-bypass-list='<-loopback>' about:blank \
    >"$WORK/chromium.log" 2>&1 &
  browser=$!
  PIDS+=("$browser")
  # Chromium writes "PORT\n/devtools/browser/ID" into DevToolsActivePort (renamed into place).
  active=$profile/DevToolsActivePort
  wait_line "$active" '^/devtools/' "$browser" >/dev/null || {
    tail -20 "$WORK/chromium.log" >&2
    die "chromium did not report its DevTools port"
  }
  devtools="ws://127.0.0.1:$(head -1 "$active")$(sed -n 2p "$active")"
  say "replay bench: recording one Chromium session through 127.0.0.1:$port"
  out=$(timeout 90 node "$BROWSER_JS" --devtools "$devtools" --url "http://127.0.0.1:$APP_PORT" \
    --chats 2 2>&1) || {
    say "$out"
    die "the browser session failed through the recording proxy"
  }
  stop_pid "$browser" TERM
  stop_pid "$proxy" INT
  recorded browser "$log"
  stop_app
}

# recorded KIND LOG: the proxy's summary line, or die.
recorded() {
  RECORDED[$1]=$(sed -n 's/^workalready: recorded //p' "$2" | tail -1 | sed 's/ into .*//')
  [ -n "${RECORDED[$1]}" ] || {
    cat "$2" >&2
    die "the recording proxy printed no summary"
  }
  if [ -n "${WA_BENCH_KEEP_CAPTURE:-}" ]; then
    mkdir -p "$WA_BENCH_KEEP_CAPTURE"
    cp "$WORK/$1.sqlite" "$WA_BENCH_KEEP_CAPTURE/$1.sqlite"
  fi
}

# Stores the noise rules of a calibration of the KIND capture against a fresh app.
calibrate() {
  local out
  start_app
  say "replay bench: calibrating the $1 session against a fresh app"
  out=$(timeout "$STEP" "$WA" replay --db "$WORK/$1.sqlite" --target \
    "http://127.0.0.1:$APP_PORT" --calibrate --quiet 2>&1) || {
    say "$out"
    die "the calibration replay of the $1 session did not pass"
  }
  CALIBRATED[$1]=$(sed -n 's/^calibrate: [^:]*: //p' <<<"$out" | head -1)
  stop_app
  if [ -n "${WA_BENCH_KEEP_CAPTURE:-}" ]; then
    cp "$WORK/$1.sqlite" "$WA_BENCH_KEEP_CAPTURE/$1.sqlite"
  fi
}

# --- the measurements --------------------------------------------------------------------------

declare -A R # R[kind:side,field]: the best round of each side (least CPU per session)
KIND=

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
  say "replay bench: $KIND session: node anchor, $SESSIONS sessions, $CONCURRENCY at once (round $1 of $ROUNDS)"
  app_before=$(cpu_ticks "$APP_PID")
  timed "$WORK/anchor.out" node "$ANCHOR_JS" --url "http://127.0.0.1:$APP_PORT" \
    --sessions "$SESSIONS" --concurrency "$CONCURRENCY" --session "$KIND"
  app_after=$(cpu_ticks "$APP_PID")
  stop_app
  read -r rc user sys <"$WORK/time.out"
  json=$(grep -m1 '"type":"result"' "$WORK/anchor.out" || true)
  if [ "$rc" != 0 ] || [ -z "$json" ]; then
    say "replay bench: the anchor failed (exit $rc): $(cat "$WORK/anchor.out" "$WORK/anchor.out.err" | tail -3)"
    [ -n "${R[$KIND:node,cpu]:-}" ] || R[$KIND:node,status]="FAILED (exit $rc)"
    return 0
  fi
  completed=$(json_field "$json" sessions)
  failed=$(json_field "$json" failed)
  cpu=$(per_session "$(json_field "$json" cpu_us)" "$completed")
  total=$(per_session "$(seconds_to_us "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')")" "$completed")
  wall=$(json_field "$json" wall_ms)
  keep "$KIND:node" "$cpu" $((failed == 0)) || return 0
  R[$KIND:node,passed]=$((failed == 0))
  R[$KIND:node,cpu]=$cpu
  R[$KIND:node,process]=$total
  R[$KIND:node,sessions]=$completed
  R[$KIND:node,status]="$completed done, $failed failed"
  R[$KIND:node,wall]=$wall
  R[$KIND:node,app]=$(per_session $(((app_after - app_before) * 1000000 / TICKS)) "$completed")
}

measure_workalready() { # ROUND
  local rc user sys app_before app_after cpu started ended summary
  start_app
  say "replay bench: $KIND session: workalready replay --repeat $SESSIONS --concurrency $CONCURRENCY (round $1 of $ROUNDS)"
  app_before=$(cpu_ticks "$APP_PID")
  started=$(date +%s%N)
  timed "$WORK/replay.out" "$WA" replay --db "$WORK/$KIND.sqlite" \
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
  keep "$KIND:workalready" "$cpu" $((rc == 0)) || return 0
  R[$KIND:workalready,passed]=$((rc == 0))
  R[$KIND:workalready,cpu]=$cpu
  R[$KIND:workalready,process]=$cpu
  R[$KIND:workalready,sessions]=$SESSIONS
  R[$KIND:workalready,status]="exit $rc: $summary"
  R[$KIND:workalready,wall]=$(((ended - started) / 1000000))
  R[$KIND:workalready,app]=$(per_session $(((app_after - app_before) * 1000000 / TICKS)) "$SESSIONS")
}

table() {
  local side ratio verdict
  echo
  echo "Replay CPU per Socket.IO session, $KIND session:"
  if [ "$KIND" = browser ]; then
    echo "  headless Chromium: login page, favicon, POST /login, chat page, socket.io.js, /api/me,"
    echo "  socket on polling then WebSocket, welcome, 2 acked chats with broadcasts"
  else
    echo "  chat_client.js: login + connect + welcome + 2 acked chats + upgrade"
  fi
  echo "  $SESSIONS sessions, $CONCURRENCY at once, best of $ROUNDS rounds; app (express_v4) on CPU $APP_CPUS, client on CPU $CLIENT_CPUS"
  echo "  node = bench/replay_anchor.js --session $KIND (socket.io-client 4): process.cpuUsage() over the sessions;"
  echo "  workalready = replay --repeat --concurrency --quiet: getrusage of the whole process"
  echo "  recorded: ${RECORDED[$KIND]}; calibration: ${CALIBRATED[$KIND]}"
  echo
  printf '%-12s %8s %12s %14s %8s %12s  %s\n' client sessions CPUus/sess whole-process wall-ms app-CPUus status
  for side in node workalready; do
    printf '%-12s %8s %12s %14s %8s %12s  %s\n' "$side" "${R[$KIND:$side,sessions]:--}" \
      "${R[$KIND:$side,cpu]:--}" "${R[$KIND:$side,process]:--}" "${R[$KIND:$side,wall]:--}" \
      "${R[$KIND:$side,app]:--}" "${R[$KIND:$side,status]:--}"
  done
  ratio=$(awk -v a="${R[$KIND:workalready,cpu]:-0}" -v b="${R[$KIND:node,cpu]:-0}" \
    'BEGIN { if (a > 0 && b > 0) printf "%.3f", a / b; else print "-" }')
  if [ "$ratio" = - ]; then
    verdict="no verdict (a side failed)"
  elif awk -v r="$ratio" -v t="$TARGET" 'BEGIN { exit !(r <= t) }'; then
    verdict="met"
  else
    verdict="NOT met"
  fi
  echo
  echo "ratio workalready / node, $KIND session: $ratio  [target <= $TARGET: $verdict]"
}

# --- main --------------------------------------------------------------------------------------

build
for KIND in $KINDS; do
  "record_$KIND"
  calibrate "$KIND"
done
say "replay bench: machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
  for KIND in $KINDS; do
    if [ $((round % 2)) -eq 1 ]; then
      measure_anchor "$round"
      measure_workalready "$round"
    else
      measure_workalready "$round"
      measure_anchor "$round"
    fi
  done
done
echo "Work Already replay benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: node $(node --version), socket.io-client $(node -p "require('$REPO/node_modules/socket.io-client/package.json').version"), workalready $("$WA" --version 2>/dev/null || echo '?')"
for KIND in $KINDS; do table; done
