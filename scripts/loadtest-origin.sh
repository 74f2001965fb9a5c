#!/usr/bin/env bash
# Bounded loopback load test of the origin of `vodpack serve` side by side with Debian's nginx.
#
# `vodpack package` writes a cenc ladder (3 video renditions + AAC) in 4 s segments; then wrk
# (Debian) drives 256 keep-alive connections for RUN_SECONDS (default 20) against each server in
# turn, cycling over every .m4s segment of the output:
#   - nginx (Debian package, sendfile, no access log) serving the folder as plain files;
#   - the vodpack origin (the control crate's server, `vodpack-control-loadtest serve`), every
#     request carrying an edge token in its path that is verified before the file is streamed.
# Reports requests/s, p50/p99 latency, non-2xx answers, the server's RSS sampled every second and
# its peak (VmHWM), and vodpack's ratios to nginx. Loopback only; about 50 s in all.
# Installs nginx and wrk with apt-get when missing (not needed by scripts/test.sh).
# Env: RUN_SECONDS (default 20), CONNECTIONS (default 256), THREADS (wrk threads, default 2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUN_SECONDS=${RUN_SECONDS:-20}
CONNECTIONS=${CONNECTIONS:-256}
THREADS=${THREADS:-2}
((RUN_SECONDS >= 1 && RUN_SECONDS <= 25)) || { echo "RUN_SECONDS must be 1..25" >&2; exit 2; }

sudo=()
[[ $(id -u) -ne 0 ]] && sudo=(sudo)
missing=()
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if ((${#missing[@]})); then
  echo "==> apt-get install ${missing[*]}"
  install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}")
  "${install[@]}" >/dev/null || { "${sudo[@]}" apt-get update -q >/dev/null && "${install[@]}" >/dev/null; }
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

echo "==> building vodpack and the control crate's server (release)"
cargo build --quiet --release -p vodpack --bin vodpack
cargo build --quiet --release -p vodpack-control --features server --bin vodpack-control-loadtest

work=$(mktemp -d)
server_pid=""
nginx_pid=""
cleanup() {
  exec 3>&- 2>/dev/null || true
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  [[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> packaging the fixture ladder in 4 s segments (cenc)"
target/release/vodpack package -q -o "$work/movie" --segment-duration 4 --protection cenc \
  --drm clearkey --key-manifest "$work/movie.keys.json" \
  fixtures/h264_240p.mp4 fixtures/h264_360p.mp4 fixtures/h264_720p.mp4 fixtures/aac_en.mp4
(cd "$work/movie" && find . -name '*.m4s' | sed 's|^\./||' | sort) >"$work/segments.txt"
nseg=$(wc -l <"$work/segments.txt")
bytes=$(cd "$work/movie" && xargs -a "$work/segments.txt" stat -c %s | awk '{s+=$1} END {print s}')
echo "    $nseg segments, $((bytes / nseg)) bytes on average"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cat >"$work/paths.lua" <<'EOF'
-- Cycles over the request paths in $PATHS_FILE (one per line).
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
local i = math.random(#paths)
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
EOF

rss_sampler() { # PID OUTFILE: VmRSS in KiB every second until the process ends
  while [[ -r /proc/$1/status ]]; do
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status" >>"$2" 2>/dev/null || true
    sleep 1
  done
}

cpu_ticks() { # PID...: user+system clock ticks of these processes
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$t"
}

run_wrk() { # NAME URL PATHS_FILE RSS_PID CPU_PIDS...
  local name=$1 url=$2 paths=$3 pid=$4
  shift 4
  : >"$work/rss-$name.txt"
  rss_sampler "$pid" "$work/rss-$name.txt" &
  local sampler=$! t0 t1
  t0=$(cpu_ticks "$@")
  PATHS_FILE=$paths wrk -t"$THREADS" -c"$CONNECTIONS" -d"${RUN_SECONDS}s" --latency -s "$work/paths.lua" "$url" \
    >"$work/wrk-$name.txt"
  t1=$(cpu_ticks "$@")
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" >"$work/hwm-$name.txt"
  # Server CPU time per request (µs): robust to other load on the machine.
  awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '/requests in/ {printf "%.1f", t / hz * 1e6 / $1}' \
    "$work/wrk-$name.txt" >"$work/cpu-$name.txt"
}

rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
pct() { # FILE PERCENT → milliseconds
  awk -v p="$2%" '$1 == p {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}' "$1"
}
errors() { # non-2xx answers + socket errors
  local n e
  n=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$1"); n=${n:-0}
  e=$(awk '/Socket errors:/ {s=0; for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+,?$/) {gsub(",","",$i); s+=$i}; print s}' "$1"); e=${e:-0}
  echo "$n non-2xx, $e socket errors"
}

echo "==> nginx $("$NGINX" -v 2>&1 | sed 's|.*/||') on 127.0.0.1 (sendfile, keep-alive, no log)"
nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
$( [[ $(id -u) -eq 0 ]] && echo "user root;" )
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 65;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  types { video/mp4 m4s mp4; application/vnd.apple.mpegurl m3u8; application/dash+xml mpd; }
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/movie;
    add_header Cache-Control "public, max-age=31536000, immutable";
  }
}
EOF
"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$nginx_port/$(head -1 "$work/segments.txt")" 2>/dev/null && break; sleep 0.1; done
sed 's|^|/|' "$work/segments.txt" >"$work/paths-nginx.txt"
# The master process forks the workers: sample the largest worker's RSS.
nginx_workers=$(pgrep -P "$nginx_pid" | tr '\n' ' ')
# shellcheck disable=SC2086
run_wrk nginx "http://127.0.0.1:$nginx_port" "$work/paths-nginx.txt" ${nginx_workers%% *} $nginx_workers
kill "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true; nginx_pid=""

echo "==> vodpack origin (edge token verified on every request)"
mkfifo "$work/stdin"
target/release/vodpack-control-loadtest serve "$work/movie" <"$work/stdin" >"$work/ready.json" &
server_pid=$!
exec 3>"$work/stdin"
for _ in $(seq 100); do [[ -s $work/ready.json ]] && break; sleep 0.1; done
url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$work/ready.json")
prefix=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["prefix"])' "$work/ready.json")
sed "s|^|$prefix/|" "$work/segments.txt" >"$work/paths-vodpack.txt"
curl -fsS -o /dev/null "$url$(head -1 "$work/paths-vodpack.txt")"
idle=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")
run_wrk vodpack "$url" "$work/paths-vodpack.txt" "$server_pid" "$server_pid"
exec 3>&-
wait "$server_pid" 2>/dev/null || true
server_pid=""

echo
echo "== results: $CONNECTIONS keep-alive connections, $THREADS wrk threads, ${RUN_SECONDS} s each, $(nproc) cores, loopback"
for name in nginx vodpack; do
  f=$work/wrk-$name.txt
  rss=$(sort -n "$work/rss-$name.txt" | awk 'NR==1 {min=$1} {max=$1} END {printf "%d-%d", min/1024, max/1024}')
  printf '%-8s %9s req/s  p50 %7s ms  p99 %7s ms  (%s)  server CPU %s µs/request  RSS %s MiB, peak %d MiB\n' \
    "$name" "$(rps "$f")" "$(pct "$f" 50)" "$(pct "$f" 99)" "$(errors "$f")" "$(cat "$work/cpu-$name.txt")" \
    "$rss" "$(($(cat "$work/hwm-$name.txt") / 1024))"
done
echo "vodpack idle RSS before the run: $((idle / 1024)) MiB"
awk -v a="$(rps "$work/wrk-vodpack.txt")" -v b="$(rps "$work/wrk-nginx.txt")" \
  -v p="$(pct "$work/wrk-vodpack.txt" 99)" -v q="$(pct "$work/wrk-nginx.txt" 99)" \
  -v c="$(cat "$work/cpu-vodpack.txt")" -v d="$(cat "$work/cpu-nginx.txt")" \
  'BEGIN {printf "vodpack / nginx: throughput %.2fx, p99 latency %.2fx, server CPU per request %.2fx\n", a / b, p / q, c / d}'
echo "load average during the test: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews req/s and latency; CPU per request much less)"
