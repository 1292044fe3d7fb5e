#!/usr/bin/env bash
# Benchmarks of the recording proxy and the capture writer against their anchors (direct, nginx
# proxy_pass, mitmdump -w), and of the replayer against a Node socket.io-client script
# (bench/replay_cpu.sh), measured in one run so that the ratios mean something on a busy
# machine. See bench/README.md for what each table says.
#
#   bench/run.sh [all|http|ws|memory|writer|replay]...
#
# Environment (all optional):
#   WA_BENCH_BUILD        build folder (default <repo>/build-bench, Release)
#   WA_BENCH_SECONDS      duration of each measured load run (default 10)
#   WA_BENCH_CONNECTIONS  wrk keep-alive connections (default 32)
#   WA_BENCH_WS_CONNECTIONS  concurrent ping-pong WebSockets (default 4)
#   WA_BENCH_PORT         first of 6 loopback ports used (default 18480)
#   WA_BENCH_LOAD_CPUS / WA_BENCH_PROXY_CPUS   taskset lists (default 0 / 1 on 2+ cores)
#   WA_BENCH_IDLE         idle connections of the memory benchmark (default 1000)
#   WA_BENCH_DOWNLOAD_MIB size of the relayed download (default 1024)
#   WA_BENCH_ROUNDS       rounds of the relay benchmarks; the best of each target is shown (2)
#   WA_BENCH_SKIP_BUILD=1 use the binaries already in the build folder
#   WA_BENCH_TARGETS      the relay targets measured (default: all of
#                         "direct nginx mitmdump norecord workalready")
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${WA_BENCH_BUILD:-$REPO/build-bench}
DURATION=${WA_BENCH_SECONDS:-10}
CONNECTIONS=${WA_BENCH_CONNECTIONS:-32}
WS_CONNECTIONS=${WA_BENCH_WS_CONNECTIONS:-4}
BASE_PORT=${WA_BENCH_PORT:-18480}
IDLE=${WA_BENCH_IDLE:-1000}
DOWNLOAD_MIB=${WA_BENCH_DOWNLOAD_MIB:-1024}
ROUNDS=${WA_BENCH_ROUNDS:-2}
if [ "$(nproc)" -ge 2 ]; then
  LOAD_CPUS=${WA_BENCH_LOAD_CPUS:-0}
  PROXY_CPUS=${WA_BENCH_PROXY_CPUS:-1}
else
  LOAD_CPUS=${WA_BENCH_LOAD_CPUS:-0}
  PROXY_CPUS=${WA_BENCH_PROXY_CPUS:-0}
fi
WHAT=("$@")
[ ${#WHAT[@]} -eq 0 ] && WHAT=(all)

BACKEND_PORT=$BASE_PORT           # nginx serving static files: the HTTP backend
WS_BACKEND_PORT=$((BASE_PORT + 1)) # ws_pingpong serve: the WebSocket backend
PROXY_PORT=$((BASE_PORT + 2))      # whichever proxy is being measured
TICKS=$(getconf CLK_TCK)

say() { printf '%s\n' "$*" >&2; }
die() {
  say "bench: $*"
  exit 2
}
wants() {
  local w
  for w in "${WHAT[@]}"; do [ "$w" = all ] || [ "$w" = "$1" ] && return 0; done
  return 1
}

# --- processes we start, stopped by PID -------------------------------------------------------

PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wa-bench.XXXXXX")
chmod 755 "$WORK" # nginx workers run as another user when started by root
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

wait_port() { # PORT: until something accepts there (20 s at most)
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# CPU ticks (user + system, all threads) of a process and its children (nginx's workers).
cpu_ticks() {
  local total=0 p t
  for p in "$@" $(pgrep -P "$1" 2>/dev/null || true); do
    [ -r "/proc/$p/stat" ] || continue
    t=$(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')
    total=$((total + t))
  done
  echo "$total"
}
# Thread-seconds the process and its children spent runnable but waiting for a CPU, in ms
# (/proc/<pid>/task/<tid>/schedstat, second field): how much other load held the proxy back.
sched_wait_ms() {
  local p
  for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
    cat /proc/"$p"/task/*/schedstat 2>/dev/null || true
  done | awk '{ total += $2 } END { printf "%d", total / 1e6 }'
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
rss_tree_kib() { # a process and its children
  local total=0 p
  for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do total=$((total + $(rss_kib "$p"))); done
  echo "$total"
}

# --- setup -------------------------------------------------------------------------------------

install_tools() {
  local missing=()
  command -v nginx >/dev/null || missing+=(nginx-light)
  command -v wrk >/dev/null || missing+=(wrk)
  command -v mitmdump >/dev/null || missing+=(mitmproxy)
  command -v curl >/dev/null || missing+=(curl)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "bench: installing ${missing[*]}"
  local sudo=
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get -y -qq install "${missing[@]}" >/dev/null 2>&1 ||
    { $sudo apt-get -qq update >/dev/null 2>&1 &&
      $sudo apt-get -y -qq install "${missing[@]}" >/dev/null 2>&1; } ||
    die "could not install ${missing[*]}"
}

build() {
  if [ "${WA_BENCH_SKIP_BUILD:-0}" != 1 ]; then
    say "bench: building in $BUILD (Release)"
    cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWA_TESTS=OFF >/dev/null
    cmake --build "$BUILD" -j2 --target workalready ws_pingpong idle_clients \
      storage_writer_bench >"$WORK/build.log" 2>&1 || {
      tail -30 "$WORK/build.log" >&2
      die "build failed"
    }
  fi
  WA=$BUILD/bin/workalready
  [ -x "$WA" ] || die "no $WA"
}

# Static files for the backend: 100 B, 64 KiB, and a sparse file for the long download.
make_files() {
  mkdir -p "$WORK/www" "$WORK/nginx"
  head -c 100 /dev/zero | tr '\0' 'a' >"$WORK/www/small.bin"
  head -c 65536 /dev/zero | tr '\0' 'b' >"$WORK/www/large.bin"
  truncate -s "${DOWNLOAD_MIB}M" "$WORK/www/big.bin"
}

nginx_conf() { # NAME SERVER-BLOCK
  local dir=$WORK/nginx/$1
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  $2
}
EOF
  echo "$dir/nginx.conf"
}

BACKEND_PID=
start_backends() {
  local conf
  conf=$(nginx_conf backend "sendfile on; tcp_nopush on;
  server { listen 127.0.0.1:$BACKEND_PORT; root $WORK/www; location / { } }")
  taskset -c "$LOAD_CPUS" nginx -e "$WORK/nginx/backend/error.log" -c "$conf" &
  BACKEND_PID=$!
  PIDS+=("$BACKEND_PID")
  taskset -c "$LOAD_CPUS" "$BUILD/bin/ws_pingpong" serve "$WS_BACKEND_PORT" &
  PIDS+=($!)
  wait_port "$BACKEND_PORT" || die "the nginx backend did not start"
  wait_port "$WS_BACKEND_PORT" || die "the WebSocket backend did not start"
}

# --- the proxies -------------------------------------------------------------------------------

PROXY_PID=
PROXY_LOG=
# start_proxy KIND UPSTREAM-PORT: nginx | mitmdump | workalready, listening on PROXY_PORT.
start_proxy() {
  local kind=$1 upstream=$2 conf
  PROXY_LOG=$WORK/$kind-$upstream.log
  rm -f "$WORK/capture.sqlite" "$WORK/capture.sqlite-journal" "$WORK/capture.sqlite-wal" \
    "$WORK/capture.sqlite-shm" \
    "$WORK/mitm.flows"
  case $kind in
  nginx)
    # Upstream keep-alive, and buffers that hold a 64 KiB response in memory (no temp files);
    # the WebSocket location passes the upgrade through (nginx docs, "WebSocket proxying").
    conf=$(nginx_conf proxy "upstream backend { server 127.0.0.1:$upstream; keepalive 64;
    keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$PROXY_PORT;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_buffer_size 16k;
      proxy_buffers 16 16k;
      proxy_max_temp_file_size 0;
    }
    location /socket.io/ {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection upgrade;
      proxy_read_timeout 3600s;
    }
  }")
    taskset -c "$PROXY_CPUS" nginx -e "$WORK/nginx/proxy/error.log" -c "$conf" >"$PROXY_LOG" 2>&1 &
    ;;
  mitmdump)
    taskset -c "$PROXY_CPUS" mitmdump -q --set confdir="$WORK/mitmproxy" \
      --mode "reverse:http://127.0.0.1:$upstream" --listen-host 127.0.0.1 \
      --listen-port "$PROXY_PORT" -w "$WORK/mitm.flows" >"$PROXY_LOG" 2>&1 &
    ;;
  workalready | norecord)
    # norecord: the same proxy relaying without recording (every host excluded), to tell
    # what the relay costs from what recording adds.
    local exclude=()
    [ "$kind" = norecord ] && exclude=(--exclude '*')
    taskset -c "$PROXY_CPUS" "$WA" record --quiet --listen "127.0.0.1:$PROXY_PORT" \
      --upstream "http://127.0.0.1:$upstream" --db "$WORK/capture.sqlite" --name bench \
      "${exclude[@]}" >"$PROXY_LOG" 2>&1 &
    ;;
  esac
  PROXY_PID=$!
  PIDS+=("$PROXY_PID")
  wait_port "$PROXY_PORT" || {
    cat "$PROXY_LOG" >&2
    die "$kind did not start"
  }
}
# Stops the proxy; for workalready, with SIGINT so that it flushes and prints its summary.
stop_proxy() {
  [ -n "$PROXY_PID" ] || return 0
  case $1 in
  workalready | norecord) stop_pid "$PROXY_PID" INT ;;
  *) stop_pid "$PROXY_PID" TERM ;;
  esac
  PROXY_PID=
  # A sanitizer build (WA_BENCH_BUILD pointing at one) reports its findings here.
  grep -E -m 5 'Sanitizer|runtime error' "$PROXY_LOG" >&2 || true
  for _ in $(seq 50); do
    if port_free "$PROXY_PORT"; then break; fi
    sleep 0.1
  done
}
# What the proxy recorded, for the table's last column.
recorded() {
  case $1 in
  workalready) sed -n 's/^workalready: recorded \([0-9]*\) exchanges, \([0-9]*\) WebSocket messages, \([0-9]*\) Socket.IO events.*/\1 ex, \2 msg, \3 sio/p' "$PROXY_LOG" | tail -1 ;;
  mitmdump) echo "$(($(stat -c %s "$WORK/mitm.flows" 2>/dev/null || echo 0) / 1024)) KiB flows" ;;
  *) echo "-" ;;
  esac
}

# --- HTTP relay --------------------------------------------------------------------------------

to_us() { # wrk's "1.23ms" / "456.00us" / "1.01s" → microseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.0f", v }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.0f", v * 1000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.0f", v * 1000000 }
    else printf "?" }'
}
# wrk_run PORT PATH CONNECTIONS SECONDS → "requests rps p50us p99us errors"
wrk_run() {
  local out
  out=$(taskset -c "$LOAD_CPUS" wrk -t1 -c"$3" -d"$4"s --latency "http://127.0.0.1:$1$2" 2>&1)
  local requests rps p50 p99 errors
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
  p50=$(to_us "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_us "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  errors=$(awk '/Non-2xx|Socket errors/ {printf "%s ", $0}' <<<"$out")
  echo "${requests:-0} ${rps:-0} ${p50:-?} ${p99:-?} ${errors:-}"
}

declare -A R # results: R[kind,size,field], the best round of each kind
# better KIND SIZE CPU RPS: whether this round beats the one kept (less proxy CPU per request;
# for direct, which has no proxy, more requests per second).
better() {
  local kept_cpu=${R[$1,$2,cpu]:-} kept_rps=${R[$1,$2,rps]:-}
  [ -z "$kept_rps" ] && return 0
  if [ "$1" = direct ]; then
    awk -v a="$4" -v b="$kept_rps" 'BEGIN { exit !(a + 0 > b + 0) }'
  else
    awk -v a="$3" -v b="$kept_cpu" 'BEGIN { exit !(a + 0 > 0 && (b + 0 == 0 || a + 0 < b + 0)) }'
  fi
}
# Rounds alternate the order of the targets, so that a change in the machine's background load
# during the run does not always favour the same one.
TARGETS=${WA_BENCH_TARGETS:-direct nginx mitmdump norecord workalready}
round_order() {
  local kinds=(direct nginx mitmdump norecord workalready) kind chosen=()
  [ $(($1 % 2)) -eq 0 ] && kinds=(workalready norecord mitmdump nginx direct)
  for kind in "${kinds[@]}"; do
    [[ " $TARGETS " == *" $kind "* ]] && chosen+=("$kind")
  done
  echo "${chosen[@]}"
}
http_bench() {
  local size path kind port before after round requests rps p50 p99 errors cpu p50_1 p99_1
  for size in 100B 64KiB; do
    path=/small.bin
    [ $size = 64KiB ] && path=/large.bin
    for round in $(seq "$ROUNDS"); do
      for kind in $(round_order "$round"); do
        port=$PROXY_PORT
        if [ "$kind" = direct ]; then port=$BACKEND_PORT; else start_proxy "$kind" "$BACKEND_PORT"; fi
        say "bench: HTTP $size through $kind (round $round of $ROUNDS)"
        wrk_run "$port" $path "$CONNECTIONS" 1 >/dev/null # warm-up: pools filled, caches hot
        local pid=${PROXY_PID:-$BACKEND_PID} wait_before wait_after requests_1 before_1 after_1
        before=$(cpu_ticks "$pid")
        wait_before=$(sched_wait_ms "$pid")
        read -r requests rps p50 p99 errors < <(wrk_run "$port" $path "$CONNECTIONS" "$DURATION")
        after=$(cpu_ticks "$pid")
        wait_after=$(sched_wait_ms "$pid")
        cpu=$(per_request $((after - before)) "$requests")
        # One connection: latency without queueing, and CPU per request without batching.
        before_1=$(cpu_ticks "$pid")
        read -r requests_1 _ p50_1 p99_1 _ < <(wrk_run "$port" $path 1 $((DURATION / 2 > 0 ? DURATION / 2 : 1)))
        after_1=$(cpu_ticks "$pid")
        if [ "$kind" != direct ]; then stop_proxy "$kind"; fi
        better "$kind" $size "$cpu" "$rps" || continue
        R[$kind,$size,rps]=$rps
        R[$kind,$size,p50]=$p50
        R[$kind,$size,p99]=$p99
        R[$kind,$size,cpu]=$cpu
        R[$kind,$size,errors]=$errors
        R[$kind,$size,p50_1]=$p50_1
        R[$kind,$size,p99_1]=$p99_1
        R[$kind,$size,cpu_1]=$(per_request $((after_1 - before_1)) "$requests_1")
        R[$kind,$size,wait]=$(awk -v w=$((wait_after - wait_before)) -v d="$DURATION" \
          'BEGIN { printf "%.0f", w / 10 / d }')
        if [ "$kind" != direct ]; then R[$kind,$size,recorded]=$(recorded "$kind"); fi
      done
    done
  done
}
per_request() { # TICKS REQUESTS → µs of CPU per request
  awk -v t="$1" -v n="$2" -v hz="$TICKS" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "?" }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a+0 > 0 && b+0 > 0) printf "%.2f", a / b; else print "-" }'; }
http_table() {
  local size kind cpu cpu_1
  echo
  echo "HTTP relay, reverse proxy, keep-alive: wrk -t1 -c$CONNECTIONS -d${DURATION}s, best of $ROUNDS rounds (load on CPU $LOAD_CPUS, proxy on CPU $PROXY_CPUS)"
  echo "  CPU = proxy's utime+stime per request (all threads and workers); x = ratio to nginx;"
  echo "  wait% = proxy time runnable but waiting for a CPU held by other load; 1c = one connection (wrk -c1)"
  for size in 100B 64KiB; do
    echo
    printf '%-6s %-12s %7s %5s %6s %6s %8s %5s %5s | %6s %6s %5s %8s %5s  %s\n' "$size" target \
      req/s x p50us p99us CPUus/req x wait% 1c-p50 1c-p99 x 1c-CPUus x recorded
    for kind in direct nginx mitmdump norecord workalready; do
      cpu=${R[$kind,$size,cpu]:--}
      cpu_1=${R[$kind,$size,cpu_1]:--}
      if [ "$kind" = direct ]; then cpu=-; cpu_1=-; fi
      printf '%-6s %-12s %7s %5s %6s %6s %8s %5s %5s | %6s %6s %5s %8s %5s  %s\n' "" "$kind" \
        "${R[$kind,$size,rps]:--}" "$(ratio "${R[$kind,$size,rps]:-}" "${R[nginx,$size,rps]:-}")" \
        "${R[$kind,$size,p50]:--}" "${R[$kind,$size,p99]:--}" "$cpu" \
        "$(ratio "$cpu" "${R[nginx,$size,cpu]:-}")" "${R[$kind,$size,wait]:--}" \
        "${R[$kind,$size,p50_1]:--}" "${R[$kind,$size,p99_1]:--}" \
        "$(ratio "${R[$kind,$size,p99_1]:-}" "${R[nginx,$size,p99_1]:-}")" "$cpu_1" \
        "$(ratio "$cpu_1" "${R[nginx,$size,cpu_1]:-}")" \
        "${R[$kind,$size,recorded]:--} ${R[$kind,$size,errors]:-}"
    done
  done
}

# --- WebSocket ping-pong -----------------------------------------------------------------------

ws_bench() {
  local kind port before after out round n rps p50 p99 cpu pid wait_before wait_after
  for round in $(seq "$ROUNDS"); do
    for kind in $(round_order "$round"); do
      port=$PROXY_PORT
      if [ "$kind" = direct ]; then port=$WS_BACKEND_PORT; else start_proxy "$kind" "$WS_BACKEND_PORT"; fi
      say "bench: WebSocket ping-pong through $kind (round $round of $ROUNDS)"
      pid=${PROXY_PID:-}
      before=0 wait_before=0
      if [ -n "$pid" ]; then
        before=$(cpu_ticks "$pid")
        wait_before=$(sched_wait_ms "$pid")
      fi
      out=$(timeout $((DURATION + 30)) taskset -c "$LOAD_CPUS" "$BUILD/bin/ws_pingpong" client \
        127.0.0.1 "$port" --connections "$WS_CONNECTIONS" --seconds "$DURATION" 2>&1) ||
        say "bench: $kind: $out"
      after=0 wait_after=0
      if [ -n "$pid" ]; then
        after=$(cpu_ticks "$pid")
        wait_after=$(sched_wait_ms "$pid")
      fi
      n=$(sed -n 's/.*round_trips=\([0-9]*\).*/\1/p' <<<"$out")
      rps=$(sed -n 's/.*per_second=\([0-9]*\).*/\1/p' <<<"$out")
      p50=$(sed -n 's/.*rtt_p50_us=\([0-9]*\).*/\1/p' <<<"$out")
      p99=$(sed -n 's/.*rtt_p99_us=\([0-9]*\).*/\1/p' <<<"$out")
      cpu=-
      if [ "$kind" != direct ]; then
        cpu=$(per_request $((after - before)) "${n:-0}")
        stop_proxy "$kind"
      fi
      better "$kind" ws "$cpu" "${rps:-0}" || continue
      R[$kind,ws,rps]=${rps:-0}
      R[$kind,ws,p50]=${p50:--}
      R[$kind,ws,p99]=${p99:--}
      R[$kind,ws,cpu]=$cpu
      R[$kind,ws,wait]=$(awk -v w=$((wait_after - wait_before)) -v d="$DURATION" \
        'BEGIN { printf "%.0f", w / 10 / d }')
      if [ "$kind" != direct ]; then R[$kind,ws,recorded]=$(recorded "$kind"); fi
    done
  done
}
ws_table() {
  local kind
  echo
  echo "WebSocket ping-pong relay: $WS_CONNECTIONS connections, ${DURATION}s, best of $ROUNDS rounds, 42[\"ping\",{\"n\":N}] echoed (Engine.IO v4 over /socket.io/)"
  printf '%-12s %9s %6s %8s %8s %10s %6s %6s  %s\n' target rt/s x p50us p99us CPUus/rt x wait% recorded
  for kind in direct nginx mitmdump norecord workalready; do
    local cpu=${R[$kind,ws,cpu]:--} wait=${R[$kind,ws,wait]:--}
    if [ "$kind" = direct ]; then cpu=-; wait=-; fi
    printf '%-12s %9s %6s %8s %8s %10s %6s %6s  %s\n' "$kind" "${R[$kind,ws,rps]:--}" \
      "$(ratio "${R[$kind,ws,rps]:-}" "${R[nginx,ws,rps]:-}")" "${R[$kind,ws,p50]:--}" \
      "${R[$kind,ws,p99]:--}" "$cpu" "$(ratio "$cpu" "${R[nginx,ws,cpu]:-}")" "$wait" \
      "${R[$kind,ws,recorded]:--}"
  done
}

# --- memory ------------------------------------------------------------------------------------

MEM_LINES=()
idle_bench() { # KIND
  local kind=$1 base rss out
  start_proxy "$kind" "$BACKEND_PORT"
  sleep 0.5
  base=$(rss_tree_kib "$PROXY_PID")
  out=$WORK/idle.out
  : >"$out"
  taskset -c "$LOAD_CPUS" "$BUILD/bin/idle_clients" 127.0.0.1 "$PROXY_PORT" /small.bin \
    --connections "$IDLE" --hold 120 >"$out" 2>&1 &
  local client=$!
  PIDS+=("$client")
  for _ in $(seq 600); do
    grep -q '^ready' "$out" && break
    kill -0 "$client" 2>/dev/null || break
    sleep 0.1
  done
  if grep -q '^ready' "$out"; then
    sleep 1
    rss=$(rss_tree_kib "$PROXY_PID")
    MEM_LINES+=("$(printf '%-12s %5d idle connections: RSS %6.1f MiB (%.1f MiB at start)%s' "$kind" \
      "$IDLE" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" "$(awk -v k="$base" 'BEGIN{print k/1024}')" \
      "$([ "$kind" = workalready ] && awk -v k="$rss" 'BEGIN{print (k <= 50*1024) ? "  [target <= 50 MiB: met]" : "  [target <= 50 MiB: NOT met]"}')")")
  else
    MEM_LINES+=("$kind: idle connections failed: $(tail -1 "$out")")
  fi
  stop_pid "$client"
  stop_proxy "$kind"
}
download_bench() { # KIND
  local kind=$1 base peak rss before after code size took
  start_proxy "$kind" "$BACKEND_PORT"
  sleep 0.5
  base=$(rss_tree_kib "$PROXY_PID")
  peak=$base
  before=$(cpu_ticks "$PROXY_PID")
  taskset -c "$LOAD_CPUS" curl -s --max-time 300 -o /dev/null \
    -w '%{http_code} %{size_download} %{time_total}\n' \
    "http://127.0.0.1:$PROXY_PORT/big.bin" >"$WORK/curl.out" 2>&1 &
  local client=$!
  PIDS+=("$client")
  while kill -0 "$client" 2>/dev/null; do
    rss=$(rss_tree_kib "$PROXY_PID")
    [ "$rss" -gt "$peak" ] && peak=$rss
    sleep 0.05
  done
  wait "$client" 2>/dev/null || true
  after=$(cpu_ticks "$PROXY_PID")
  read -r code size took <"$WORK/curl.out" || true
  stop_proxy "$kind"
  MEM_LINES+=("$(awk -v kind="$kind" -v code="$code" -v size="$size" -v took="$took" -v b="$base" \
    -v p="$peak" -v t=$((after - before)) -v hz="$TICKS" -v wa="$([ "$kind" = workalready ] && echo 1)" \
    'BEGIN {
      g = (p - b) / 1024
      printf "%-12s %d MiB download: HTTP %s in %.1f s (%.0f MiB/s), CPU %.2f s, RSS growth %.1f MiB (peak %.1f MiB)",
        kind, size / 1048576, code, took, (took > 0 ? size / 1048576 / took : 0), t / hz, g, p / 1024
      if (wa) printf "  [target <= 64 MiB: %s]", (g <= 64 ? "met" : "NOT met")
    }') $(recorded "$kind")")
}
memory_bench() {
  idle_bench nginx
  idle_bench workalready
  download_bench nginx
  download_bench workalready
}

# --- main --------------------------------------------------------------------------------------

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
for p in $BACKEND_PORT $WS_BACKEND_PORT $PROXY_PORT; do
  port_free "$p" || die "port $p is in use (set WA_BENCH_PORT)"
done
install_tools
build
make_files
if wants http || wants ws || wants memory; then start_backends; fi
say "bench: machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if wants http; then http_bench; fi
if wants ws; then ws_bench; fi
if wants memory; then memory_bench; fi
if wants replay; then
  # Its own script, which starts its own apps and prints its own header (load average then).
  echo >"$WORK/replay.txt"
  WA_BENCH_BUILD=$BUILD WA_BENCH_SKIP_BUILD=1 WA_BENCH_ROUNDS=$ROUNDS \
    WA_BENCH_LOAD_CPUS=$LOAD_CPUS WA_BENCH_PROXY_CPUS=$PROXY_CPUS \
    "$REPO/bench/replay_cpu.sh" >>"$WORK/replay.txt" ||
    echo "replay: the benchmark failed (exit $?)" >>"$WORK/replay.txt"
fi

echo "Work Already benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: $(nginx -v 2>&1 | sed 's/.*: //'), mitmdump $(mitmdump --version 2>/dev/null | sed -n 's/^Mitmproxy: //p'), workalready $("$WA" --version 2>/dev/null || echo '?')"
if wants http; then http_table; fi
if wants ws; then ws_table; fi
if wants memory; then
  echo
  echo "Memory (RSS of the proxy process, workers included)"
  printf '%s\n' "${MEM_LINES[@]}"
fi
if wants writer; then
  echo
  echo "Capture writer (bench/storage_writer_bench.cpp), into $WORK"
  "$BUILD/bin/storage_writer_bench" "$WORK" || true
fi
if wants replay; then cat "$WORK/replay.txt"; fi
