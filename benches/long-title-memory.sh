#!/usr/bin/env bash
# Memory against title length (issue 17): packages the benchmark ladder (benches/ladder.sh:
# 1080p/720p/360p H.264 + AAC, fragmented MP4, 2 s GOPs) local to local with cbcs, as a short
# title and as a long one, printing wall time, CPU time, peak RSS and wall time per input GB of each
# run. The goal (docs/memory.md): peak RSS of 2 hours <= 32 MiB, wall time per GB unchanged.
# Not a test: run it by hand, e.g.
#   BENCH_DIR=/work/bench benches/long-title-memory.sh [LONG_SECONDS] [RUNS]
#   LONG_SECONDS  length of the long title (default 7200); the short one is 600 s
#   RUNS          runs per title (default 2); the best wall time is reported
#   BASELINE=path/to/vodpack  also measures another binary (e.g. main's) on the same titles
#   LONG_ENCODE=1  encodes the long title (about 1 h of CPU on 2 cores for 2 h) instead of
#                  looping the short one 12 times by stream copy, which gives the same layout
#                  (fragments, sample counts, bytes) at the cost of a file copy
# Needs ffmpeg in .tools/ref (scripts/reference.sh .tools/ref) and about 15 GB free for 2 hours
# (the long title and its output).
set -euo pipefail
cd "$(dirname "$0")/.."
long=${1:-7200}
runs=${2:-2}
ref=${VODPACK_TOOLS:-.tools/ref}
ffmpeg=$ref/ffmpeg
[[ -x $ffmpeg ]] || { echo "ffmpeg missing: scripts/reference.sh $ref" >&2; exit 2; }
cargo build --release --quiet
vodpack=$PWD/target/release/vodpack
root=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$root/short" "$root/long"

# The short title, as every benchmark makes it.
work=$root/short secs=600
. benches/ladder.sh
# The long title.
for f in v_1920x1080 v_1280x720 v_640x360 a; do
  [[ -f $root/long/$f.mp4 ]] && continue
  if [[ -n ${LONG_ENCODE:-} ]]; then
    (work=$root/long secs=$long; . benches/ladder.sh)
    break
  fi
  flags=()
  [[ $f == a ]] || flags=(-movflags +frag_keyframe+empty_moov+default_base_moof)
  loops=$(( (long + 599) / 600 - 1 ))
  nice "$ffmpeg" -v error -y -stream_loop "$loops" -i "$root/short/$f.mp4" -c copy -t "$long" \
    "${flags[@]}" "$root/long/$f.mp4"
done

# Output on the same disk for both titles (a 2-hour output is ~7 GB: too big for tmpfs here).
out=${BENCH_OUT:-$root/out}
kid=00112233445566778899aabbccddeeff
key=0123456789abcdef0123456789abcdef

measure() { # name, title folder, vodpack binary
  local name=$1 dir=$2 bin=$3 best=""
  local bytes
  bytes=$(du -cb "$dir"/v_*.mp4 "$dir"/a.mp4 | tail -1 | cut -f1)
  for _ in $(seq "$runs"); do
    rm -rf "$out"; sync
    /usr/bin/time -f "%e %U %S %M" -o "$root/time" "$bin" package -q -o "$out" \
      "$dir/v_1920x1080.mp4" "$dir/v_1280x720.mp4" "$dir/v_640x360.mp4" "in=$dir/a.mp4,lang=en" \
      --protection cbcs --key "label=ALL,kid=$kid,key=$key" >/dev/null 2>"$root/err" \
      || { cat "$root/err" >&2; exit 1; }
    read -r wall user sys rss < "$root/time"
    if [[ -z $best ]] || awk "BEGIN{exit !($wall < ${best%% *})}"; then
      best="$wall $(awk "BEGIN{print $user+$sys}") $rss"
    fi
  done
  read -r wall cpu rss <<< "$best"
  printf '%-22s input %5.2f GB   wall %7.2f s   cpu %7.2f s   peak RSS %6.1f MiB   %5.2f s/GB\n' \
    "$name" "$(awk "BEGIN{print $bytes/1e9}")" "$wall" "$cpu" "$(awk "BEGIN{print $rss/1024}")" \
    "$(awk "BEGIN{print $wall/($bytes/1e9)}")"
}

measure "vodpack 600 s" "$root/short" "$vodpack"
measure "vodpack $long s" "$root/long" "$vodpack"
if [[ -n ${BASELINE:-} ]]; then
  measure "baseline 600 s" "$root/short" "$BASELINE"
  measure "baseline $long s" "$root/long" "$BASELINE"
fi
rm -rf "$out"
[[ -n ${BENCH_DIR:-} ]] || rm -rf "$root"
