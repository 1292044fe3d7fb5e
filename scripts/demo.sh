#!/usr/bin/env bash
# Sets everything up, builds workalready, and runs the demo: the Express + Socket.IO 4 test app
# is started, `workalready record` runs in front of it as a reverse proxy, a scripted user logs
# in and chats through the proxy with the real Socket.IO client, and the recording is listed
# and shown. The app is then stopped and started afresh (new session cookie, new Engine.IO sid)
# and the recording replayed against it: it passes. Last, a changed build of the app (its
# welcome event carries one more field) is replayed: the replay fails, showing the difference.
# Everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/setup.sh
log=build.log
if ! { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
       cmake --build build --target workalready; } >"$log" 2>&1; then
  tail -30 "$log" >&2
  echo "demo: build failed (full log: $log)" >&2
  exit 2
fi
exe=$root/build/bin/workalready
work=$(mktemp -d)
db=captures/demo.sqlite
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# wait_for FILE PATTERN: until a line matching PATTERN appears in FILE (10 s at most).
wait_for() {
  for _ in $(seq 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: timed out waiting for '$2' in $1:" >&2
  cat "$1" >&2
  exit 2
}

echo "== starting the Express + Socket.IO 4 test app"
node tests/apps/express_v4/app.js --port 0 >"$work/app.log" 2>&1 &
pids+=($!)
wait_for "$work/app.log" '^LISTENING'
app_port=$(awk '/^LISTENING/ {print $2; exit}' "$work/app.log")

echo "== recording through workalready (reverse proxy in front of 127.0.0.1:$app_port)"
rm -f "$db" "$db-journal" "$db-wal" "$db-shm"
"$exe" record --listen 127.0.0.1:0 --upstream "http://127.0.0.1:$app_port" --db "$db" \
  --name demo >"$work/record.log" 2>&1 &
record_pid=$!
pids+=($record_pid)
wait_for "$work/record.log" 'listening on'
proxy=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$work/record.log" | head -1)

echo "== a user logs in, connects the socket and chats through http://$proxy"
node tests/apps/clients/chat_client.js --url "http://$proxy" --user alice --chats 2

kill -INT "$record_pid"
wait "$record_pid" || true
kill "${pids[0]}" 2>/dev/null || true
cat "$work/record.log"

echo
echo "== workalready ls --db $db"
"$exe" ls --db "$db"
echo
echo "== workalready show --db $db demo"
"$exe" show --db "$db" demo

# start_app LOG [ARGS...]: a fresh app process, stopped on exit; its port goes in $app_port.
# (Not called as $(start_app): a subshell would not record the PID for the cleanup.)
start_app() {
  local log=$1
  shift
  node tests/apps/express_v4/app.js --port 0 "$@" >"$log" 2>&1 &
  pids+=($!)
  wait_for "$log" '^LISTENING'
  app_port=$(awk '/^LISTENING/ {print $2; exit}' "$log")
}

echo
start_app "$work/fresh.log"
fresh=$app_port
echo "== replaying against a fresh app process: workalready replay --db $db --target http://127.0.0.1:$fresh --explain"
"$exe" replay --db "$db" --target "http://127.0.0.1:$fresh" --explain

echo
start_app "$work/changed.log" --variant payload
changed=$app_port
echo "== replaying against a changed build (its welcome event has a new field); this one fails:"
status=0
"$exe" replay --db "$db" --target "http://127.0.0.1:$changed" || status=$?
echo "(exit code $status: 1 means a mismatch was found)"
[[ $status == 1 ]]
echo
echo "The capture is a SQLite file; try: sqlite3 $db 'select * from socketio_events'"
