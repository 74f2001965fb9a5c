#!/usr/bin/env bash
# S3 -> S3 packaging against a plain streamed copy, on a loopback SeaweedFS (docs/object-storage.md).
# Not a test: run it by hand on a quiet machine,
#   benches/s3-publish.sh [SECONDS] [RUNS]
#   SECONDS  length of the benchmark title (default 600): benches/ladder.sh
#   RUNS     runs per case, interleaved (default 3); medians are printed
# The title's inputs are put in the bucket first (not timed). Cases:
#   vodpack: package -o s3://bench/out/v, inputs s3://bench/in/*, cbcs with a fixed key;
#   copy:    every input streamed down and up again, `aws s3 cp s3://… - | aws s3 cp - s3://…`
#            one input after the other (awscli from PyPI, installed into .tools/awscli-venv).
# Prints wall time, CPU time and peak RSS of each (RSS: vodpack's own; the copy's largest aws
# process), and the ratio vodpack / copy (goal <= 1.2, vodpack's peak RSS <= 64 MiB).
# Needs ffmpeg in VODPACK_TOOLS (or .tools/ref), SeaweedFS (scripts/install-s3-servers.sh), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
runs=${2:-3}
ffmpeg=${VODPACK_TOOLS:-.tools/ref}/ffmpeg
weed=${VODPACK_WEED:-.tools/seaweedfs/weed}
[[ -x $ffmpeg ]] || { echo "ffmpeg missing: scripts/reference.sh .tools/ref" >&2; exit 2; }
[[ -x $weed ]] || { echo "weed missing: scripts/install-s3-servers.sh" >&2; exit 2; }
venv=.tools/awscli-venv
if [[ ! -x $venv/bin/aws ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'awscli==1.46.2'
fi
cargo build --release --quiet
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
echo "inputs: $work (${secs} s title)" >&2
. benches/ladder.sh

# SeaweedFS on ten free loopback ports.
base=$(python3 - <<'PY'
import random, socket
while True:
    b = random.randrange(20000, 50000)
    try:
        socks = []
        for p in range(b, b + 10):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
        print(b); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
)
data=$(mktemp -d)
cat > "$data/s3.json" <<JSON
{"identities":[{"name":"bench","credentials":[{"accessKey":"benchkey","secretKey":"benchsecret"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
"$weed" mini -dir="$data/d" -ip=127.0.0.1 -ip.bind=127.0.0.1 -webdav=false -admin.ui=false \
  -master.telemetry=false -s3.port.iceberg=0 -s3.port.lance=0 \
  -master.port=$base -master.port.grpc=$((base+1)) -volume.port=$((base+2)) -volume.port.grpc=$((base+3)) \
  -filer.port=$((base+4)) -filer.port.grpc=$((base+5)) -s3.port=$((base+6)) -s3.port.grpc=$((base+7)) \
  -admin.port=$((base+8)) -admin.port.grpc=$((base+9)) -s3.config="$data/s3.json" -bucket=bench \
  > "$data/weed.log" 2>&1 &
weed_pid=$!
trap 'kill $weed_pid 2>/dev/null; wait $weed_pid 2>/dev/null; rm -rf "$data"' EXIT
export AWS_ENDPOINT_URL=http://127.0.0.1:$((base+6)) AWS_ACCESS_KEY_ID=benchkey \
  AWS_SECRET_ACCESS_KEY=benchsecret AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
aws="$venv/bin/aws --endpoint-url $AWS_ENDPOINT_URL"
for _ in $(seq 1 120); do $aws s3 ls s3://bench >/dev/null 2>&1 && break; sleep 0.5; done
inputs=()
for a in "${ladder[@]}"; do
  f=${a#in=}; f=${f%%,*}
  $aws s3 cp --quiet "$f" "s3://bench/in/$(basename "$f")"
  if [[ $a == in=* ]]; then inputs+=("in=s3://bench/in/$(basename "$f"),lang=en"); else inputs+=("s3://bench/in/$(basename "$f")"); fi
done
python3 - "$runs" "$work" "$venv/bin/aws" "${inputs[@]}" <<'PY'
import os, statistics, subprocess, sys, time
runs, work, aws, inputs = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
ep = ["--endpoint-url", os.environ["AWS_ENDPOINT_URL"]]
objects = [a[3:].split(",")[0] if a.startswith("in=") else a for a in inputs]
key = ["--protection", "cbcs", "--key",
       "label=ALL,kid=00112233445566778899aabbccddeeff,key=0123456789abcdef0123456789abcdef"]
def vodpack():
    cmd = ["target/release/vodpack", "package", "-q", "-o", "s3://bench/out/v",
           "--key-manifest", f"{work}/v.keys.json", "--prune-after", "0", *key, *inputs]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd)
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit(f"vodpack failed ({status})")
    return time.perf_counter() - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024
def copy():
    t0 = time.perf_counter(); cpu = 0.0; rss = 0.0
    for o in objects:
        down = subprocess.Popen([aws, *ep, "s3", "cp", "--quiet", o, "-"], stdout=subprocess.PIPE)
        up = subprocess.Popen([aws, *ep, "s3", "cp", "--quiet", "-", o.replace("/in/", "/copy/")], stdin=down.stdout)
        down.stdout.close()
        for p in (up, down):
            _, status, ru = os.wait4(p.pid, 0)
            if status != 0:
                sys.exit(f"aws s3 cp failed ({status})")
            cpu += ru.ru_utime + ru.ru_stime; rss = max(rss, ru.ru_maxrss / 1024)
    return time.perf_counter() - t0, cpu, rss
times = {"vodpack S3 -> S3 (cbcs)": [], "aws s3 cp - | aws s3 cp -": []}
for _ in range(runs):
    times["vodpack S3 -> S3 (cbcs)"].append(vodpack())
    times["aws s3 cp - | aws s3 cp -"].append(copy())
med = {c: [statistics.median(t[i] for t in ts) for i in range(3)] for c, ts in times.items()}
for c, (wall, cpu, rss) in med.items():
    print(f"{c:28} wall {wall:6.2f} s   cpu {cpu:6.2f} s   peak RSS {rss:6.1f} MiB")
v, c = med["vodpack S3 -> S3 (cbcs)"][0], med["aws s3 cp - | aws s3 cp -"][0]
print(f"ratio vodpack / copy: {v / c:.2f} (goal <= 1.2)")
PY
