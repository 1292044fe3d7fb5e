#!/usr/bin/env bash
# Installs everything Work Already needs to build, test and demo on Debian 12, then the npm
# packages of the test apps from the committed lock file. Idempotent: on a machine that has it
# all it prints nothing and takes a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # build
  cmake ninja-build g++ pkg-config clang-14 libclang-rt-14-dev clang-format
  # libraries
  libuv1-dev node-llhttp libssl-dev libwslay-dev libsqlite3-dev nlohmann-json3-dev
  doctest-dev libcli11-dev zlib1g-dev libbrotli-dev
  # tests: real servers and a real browser
  python3-flask-socketio python3-flask-login python3-eventlet chromium sqlite3 openssl
  python3-django python3-django-channels daphne
  # tests: downloads to /dev/null, peak RSS of a replay (/usr/bin/time)
  curl time
)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages for the test apps (Express, Socket.IO 4/2/0.9, clients), from the lock file.
# A stamp holding the lock file's hash keeps this a no-op when nothing changed.
if [[ -f package-lock.json ]]; then
  stamp=node_modules/.workalready-lock-sha256
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "setup: npm ci"
    # No package here needs an install script (ws 0.4, under socket.io 0.9, would try a native
    # build it does not need and falls back to JavaScript anyway).
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
    echo "$want" >"$stamp"
  fi
fi
