#!/usr/bin/env bash
# Side-by-side benchmark: packages the same ladder with vodpack and with Shaka Packager (clear,
# cenc and cbcs with the same key), printing wall time, CPU time and peak RSS of each run.
# Not a test: run it by hand, e.g.  benches/compare.sh [SECONDS] [RUNS]
#   SECONDS  length of the generated ladder (default 120): 1080p/720p/360p H.264 + AAC, 2 s GOPs
#   RUNS     runs per configuration (default 3); the best wall time is reported
# Needs the judges in .tools/ref (scripts/reference.sh .tools/ref) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-120}
runs=${2:-3}
ref=${VODPACK_TOOLS:-.tools/ref}
ffmpeg=$ref/ffmpeg
packager=$ref/packager
[[ -x $ffmpeg && -x $packager ]] || { echo "judges missing: scripts/reference.sh $ref" >&2; exit 2; }
cargo build --release --quiet
vodpack=target/release/vodpack
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
echo "inputs: $work (${secs} s ladder)" >&2
. benches/ladder.sh
# Outputs go to memory (tmpfs) when possible: on ext4, creating files right after deleting the
# previous run's output costs a varying amount of kernel time (inode reuse scans) that would be
# measured as packaging time.
out=${BENCH_OUT:-/dev/shm/vodpack-bench-$$}
[[ -d /dev/shm && -w /dev/shm ]] || out=$work/out
kid=00112233445566778899aabbccddeeff
key=0123456789abcdef0123456789abcdef

measure() { # name, command...: best wall time over $runs runs, with its CPU time and peak RSS
  local name=$1; shift
  local best=""
  for _ in $(seq "$runs"); do
    rm -rf "$out"; mkdir -p "$out"; sync
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" \
      || { cat "$work/err" >&2; exit 1; }
    read -r wall user sys rss < "$work/time"
    if [[ -z $best ]] || awk "BEGIN{exit !($wall < ${best%% *})}"; then
      best="$wall $(awk "BEGIN{print $user+$sys}") $rss"
    fi
  done
  read -r wall cpu rss <<< "$best"
  printf '%-28s wall %6.2f s   cpu %6.2f s   peak RSS %7.1f MiB\n' "$name" "$wall" "$cpu" "$(awk "BEGIN{print $rss/1024}")"
}

vodpack_run() { # extra args...
  "$vodpack" package -q -o "$out/v" "$work/v_1920x1080.mp4" "$work/v_1280x720.mp4" \
    "$work/v_640x360.mp4" "in=$work/a.mp4,lang=en" "$@"
}
shaka_run() { # extra args...
  "$packager" \
    "in=$work/v_1920x1080.mp4,stream=video,init_segment=$out/s/v1/init.mp4,segment_template=$out/s/v1/\$Number\$.m4s" \
    "in=$work/v_1280x720.mp4,stream=video,init_segment=$out/s/v2/init.mp4,segment_template=$out/s/v2/\$Number\$.m4s" \
    "in=$work/v_640x360.mp4,stream=video,init_segment=$out/s/v3/init.mp4,segment_template=$out/s/v3/\$Number\$.m4s" \
    "in=$work/a.mp4,stream=audio,language=en,init_segment=$out/s/a/init.mp4,segment_template=$out/s/a/\$Number\$.m4s" \
    --segment_duration 4 --generate_static_live_mpd --quiet \
    --mpd_output "$out/s/manifest.mpd" --hls_master_playlist_output "$out/s/master.m3u8" "$@"
}
export -f vodpack_run shaka_run
export vodpack packager work out

echo "input bytes: $(du -cb "$work"/v_*.mp4 "$work"/a.mp4 | tail -1 | cut -f1)"
measure "vodpack clear" bash -c 'vodpack_run'
measure "shaka-packager clear" bash -c 'shaka_run'
for scheme in cenc cbcs; do
  measure "vodpack $scheme" bash -c "vodpack_run --protection $scheme --key label=ALL,kid=$kid,key=$key"
  measure "shaka-packager $scheme" bash -c "shaka_run --enable_raw_key_encryption --protection_scheme $scheme --clear_lead 0 --keys label=:key_id=$kid:key=$key"
done
rm -rf "$out"
[[ -n ${BENCH_DIR:-} ]] || rm -rf "$work"
