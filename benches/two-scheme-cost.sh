#!/usr/bin/env bash
# What a two-scheme run (--protection dash=cenc,hls=cbcs) costs against a one-scheme run, and
# against the I/O floor of this machine. Not a test: run it by hand on a quiet machine,
#   benches/two-scheme-cost.sh [SECONDS] [RUNS]
#   SECONDS  length of the benchmark title (default 600): benches/ladder.sh
#   RUNS     runs per case, interleaved (default 7); medians are printed
# Inputs are read once before measuring (page cache), outputs go to tmpfs (/dev/shm) as in
# benches/compare.sh. Cases: vodpack cenc, cbcs and both; the copy floor (benches/copy_floor.rs:
# read every input once, write it once / twice, nothing else).
# The last lines give the ratio two-scheme / cenc, and the lowest ratio any run that does the
# one-scheme run's work plus a second set's writes can reach here:
#   bound = (floor_2 + (cenc - floor_1)) / cenc
# Needs ffmpeg in VODPACK_TOOLS (or .tools/ref) to make the title, and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
runs=${2:-7}
ffmpeg=${VODPACK_TOOLS:-.tools/ref}/ffmpeg
[[ -x $ffmpeg ]] || { echo "ffmpeg missing: scripts/reference.sh .tools/ref" >&2; exit 2; }
cargo build --release --quiet
cargo bench --bench copy_floor --no-run --quiet 2>/dev/null
floor=$(ls -t target/release/deps/copy_floor-* | grep -v '\.d$' | head -1)
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
echo "inputs: $work (${secs} s title)" >&2
. benches/ladder.sh
out=${BENCH_OUT:-/dev/shm/vodpack-cost-$$}
[[ -d /dev/shm && -w /dev/shm ]] || out=$work/out
cat "$work"/*.mp4 > /dev/null # into the page cache
python3 - "$runs" "$out" "$floor" "${ladder[@]}" <<'PY'
import os, shutil, statistics, subprocess, sys, time
runs, out, floor, ladder = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
files = [a[3:].split(",")[0] if a.startswith("in=") else a for a in ladder]
pkg = ["target/release/vodpack", "package", "-q", "-o", f"{out}/v", *ladder]
key = ["--key", "label=ALL,kid=00112233445566778899aabbccddeeff,key=0123456789abcdef0123456789abcdef"]
cases = {
    "vodpack cenc": pkg + ["--protection", "cenc"] + key,
    "vodpack cbcs": pkg + ["--protection", "cbcs"] + key,
    "vodpack dash=cenc,hls=cbcs": pkg + ["--protection", "dash=cenc,hls=cbcs"] + key,
    "copy floor, 1 copy": [floor, f"{out}/f", "1", *files],
    "copy floor, 2 copies": [floor, f"{out}/f", "2", *files],
}
times = {c: [] for c in cases}
for _ in range(runs):
    for name, cmd in cases.items():
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        if status != 0:
            sys.exit(f"{name} failed ({status})")
        times[name].append((wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024))
shutil.rmtree(out, ignore_errors=True)
med = {c: [statistics.median(t[i] for t in ts) for i in range(3)] for c, ts in times.items()}
for c, (wall, cpu, rss) in med.items():
    print(f"{c:28} wall {wall:6.3f} s   cpu {cpu:6.3f} s   peak RSS {rss:6.1f} MiB")
one, two = med["vodpack cenc"][0], med["vodpack dash=cenc,hls=cbcs"][0]
f1, f2 = med["copy floor, 1 copy"][0], med["copy floor, 2 copies"][0]
print(f"two schemes / cenc:            {two / one:.2f}x")
print(f"copy floor, 2 copies / 1 copy: {f2 / f1:.2f}x")
print(f"lowest reachable ratio here:   {(f2 + (one - f1)) / one:.2f}x  (floor_2 + cenc - floor_1) / cenc")
PY
rm -rf "$out"
[[ -n ${BENCH_DIR:-} ]] || rm -rf "$work"
