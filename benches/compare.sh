#!/usr/bin/env bash
# Packages the same ladder with vodpack and with Shaka Packager, clear and then encrypted (cenc and
# cbcs, same keys), and prints wall time and peak RSS (GNU time -v) of each run. Not a test.
#
# Usage: benches/compare.sh [RUNS]        (default 5 runs of each; the median is reported)
#   DURATION=60      seconds of generated input (a 3-rung 1080p/720p/360p H.264 ladder + AAC)
#   KEEP=DIR         keep the generated inputs and outputs in DIR
# Needs .tools/ref (../shared/tools/reference.sh .tools/ref) and GNU time (/usr/bin/time).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${1:-5}
duration=${DURATION:-60}
ffmpeg=${FFMPEG:-$root/.tools/ref/ffmpeg}
packager=${PACKAGER:-$root/.tools/ref/packager}
[[ -x $ffmpeg && -x $packager ]] || { echo "compare.sh: run ../shared/tools/reference.sh .tools/ref" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "compare.sh: needs GNU time (apt-get install time)" >&2; exit 1; }

work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[[ -z ${KEEP:-} ]] && trap 'rm -rf "$work"' EXIT

echo "building vodpack (release)..." >&2
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
vodpack=$root/target/release/vodpack

# --- input: a longer ladder with aligned 2 s GOPs, made once ------------------------------------
in=$work/input
if [[ ! -f $in/v1080.mp4 ]]; then
  echo "generating a ${duration}s ladder in $in ..." >&2
  mkdir -p "$in"
  ff=("$ffmpeg" -hide_banner -loglevel error -nostdin -y)
  gop=(-c:v libx264 -preset veryfast -pix_fmt yuv420p -g 50 -keyint_min 50 -sc_threshold 0
    -force_key_frames "expr:gte(t,n_forced*2)" -movflags +frag_keyframe+empty_moov+default_base_moof+cmaf+negative_cts_offsets)
  for spec in "1920x1080 4000k v1080" "1280x720 2500k v720" "640x360 800k v360"; do
    read -r size rate name <<<"$spec"
    "${ff[@]}" -f lavfi -i "testsrc2=size=$size:rate=25:duration=$duration" "${gop[@]}" -b:v "$rate" "$in/$name.mp4"
  done
  "${ff[@]}" -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$duration" -c:a aac -b:a 128k \
    -ac 2 -frag_duration 2000000 -movflags +empty_moov+default_base_moof+cmaf "$in/audio.mp4"
fi
du -sh "$in" | awk '{print "input size: " $1}'

AUDIO_KID=00112233445566778899aabbccddeeff AUDIO_KEY=0123456789abcdef0123456789abcdef
SD_KID=10112233445566778899aabbccddeeff SD_KEY=1123456789abcdef0123456789abcdef
HD_KID=20112233445566778899aabbccddeeff HD_KEY=2123456789abcdef0123456789abcdef

vodpack_cmd() { # OUT MODE
  local cmd=("$vodpack" package -o "$1" --quiet --segment-duration 4)
  if [[ $2 != clear ]]; then
    cmd+=(--protection "$2" --drm clearkey --key "label=AUDIO,kid=$AUDIO_KID,key=$AUDIO_KEY"
      --key "label=SD,kid=$SD_KID,key=$SD_KEY" --key "label=HD,kid=$HD_KID,key=$HD_KEY")
  fi
  cmd+=("in=$in/v1080.mp4,id=v1080" "in=$in/v720.mp4,id=v720" "in=$in/v360.mp4,id=v360" "in=$in/audio.mp4,id=audio,lang=en")
  "${cmd[@]}"
}

shaka_cmd() { # OUT MODE
  local out=$1 args=() streams=()
  for spec in "v1080 video HD" "v720 video HD" "v360 video SD" "audio audio AUDIO"; do
    read -r name type label <<<"$spec"
    streams+=("in=$in/$name.mp4,stream=$type,init_segment=$out/$name/init.mp4,segment_template=$out/$name/seg_\$Number\$.m4s,playlist_name=$name/playlist.m3u8,drm_label=$label")
  done
  args=(--segment_duration 4 --generate_static_live_mpd --mpd_output "$out/manifest.mpd"
    --hls_master_playlist_output "$out/master.m3u8")
  if [[ $2 != clear ]]; then
    args+=(--enable_raw_key_encryption --protection_scheme "$2" --clear_lead 0 --protection_systems CommonSystem
      --keys "label=AUDIO:key_id=$AUDIO_KID:key=$AUDIO_KEY,label=SD:key_id=$SD_KID:key=$SD_KEY,label=HD:key_id=$HD_KID:key=$HD_KEY")
  fi
  "$packager" "${streams[@]}" "${args[@]}" 2>/dev/null
}

measure() { # TOOL MODE -> "seconds kilobytes" of one run
  local out=$work/out-$1-$2
  rm -rf "$out"
  local log=$work/time.log
  /usr/bin/time -v -o "$log" bash -c "$(declare -f vodpack_cmd shaka_cmd); $(declare -p vodpack packager in \
    AUDIO_KID AUDIO_KEY SD_KID SD_KEY HD_KID HD_KEY); ${1}_cmd '$out' '$2'" >/dev/null
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  # m:ss.cc or h:mm:ss -> seconds
  wall=$(awk -v t="$wall" 'BEGIN { n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }')
  echo "$wall $rss"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

printf '\n%-8s %-8s %12s %12s %14s   (median of %d runs; RSS includes the bash wrapper, ~4 MB)\n' \
  tool mode "wall s" "min wall s" "peak RSS MB" "$runs"
for mode in clear cenc cbcs; do
  for tool in vodpack shaka; do
    walls=() rsss=()
    for ((i = 0; i < runs; i++)); do
      read -r w r < <(measure "$tool" "$mode")
      walls+=("$w") rsss+=("$r")
    done
    wall=$(printf '%s\n' "${walls[@]}" | median)
    wmin=$(printf '%s\n' "${walls[@]}" | sort -n | head -1)
    rss=$(printf '%s\n' "${rsss[@]}" | median)
    printf '%-8s %-8s %12s %12s %14.1f\n' "$tool" "$mode" "$wall" "$wmin" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
  done
done
