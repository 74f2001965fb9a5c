#!/usr/bin/env bash
# Packages every kind of run with fixed keys and IVs with two vodpack binaries and compares the
# outputs byte for byte (segments, manifests, key manifest, the --json summary): the check that
# a refactoring of the run left today's output unchanged.
#
#   scripts/same-output.sh BASE_VODPACK NEW_VODPACK [WORKDIR]
#
# BASE_VODPACK is typically main's release binary (copy target/release/vodpack aside before
# switching branches). Exits 1 and prints the differences when any run differs.
set -euo pipefail
base=${1:?usage: same-output.sh BASE_VODPACK NEW_VODPACK [WORKDIR]}
new=${2:?usage: same-output.sh BASE_VODPACK NEW_VODPACK [WORKDIR]}
work=${3:-$(mktemp -d)}
root=$(cd "$(dirname "$0")/.." && pwd)
f=$root/fixtures

keys=(--key "label=AUDIO,kid=00112233445566778899aabbccddeeff,key=0123456789abcdef0123456789abcdef"
      --key "label=SD,kid=10112233445566778899aabbccddeeff,key=1123456789abcdef0123456789abcdef"
      --key "label=HD,kid=20112233445566778899aabbccddeeff,key=2123456789abcdef0123456789abcdef"
      --iv 0102030405060708090a0b0c0d0e0f10)
ladder=("$f/h264_240p.mp4" "$f/h264_360p.mp4" "$f/h264_720p.mp4" "in=$f/aac_en.mp4,lang=en,name=English")
subs=("in=$f/subs_fr.vtt,lang=fr,name=Français" "in=$f/subs_fr.srt,lang=fr,name=SRT,id=srt_fr")

# name | arguments after `package -o OUT`
runs=(
  "clear|${ladder[*]@Q}"
  "cenc|--protection cenc --drm clearkey,widevine,playready ${keys[*]@Q} ${ladder[*]@Q}"
  "cbcs|--protection cbcs --drm clearkey,fairplay ${keys[*]@Q} ${ladder[*]@Q}"
  "cbcs_clear_lead|--protection cbcs --clear-lead 2 ${keys[*]@Q} ${ladder[*]@Q}"
  "two_schemes|--protection dash=cenc,hls=cbcs --drm clearkey,widevine ${keys[*]@Q} ${ladder[*]@Q} ${subs[*]@Q}"
  "two_schemes_template|--protection dash=cenc,hls=cbcs ${keys[*]@Q} --segment-template 'chunks/\$RepresentationID\$_\$Number%03d\$.m4s' ${ladder[*]@Q}"
  "two_schemes_single|--protection dash=cenc,hls=cbcs ${keys[*]@Q} --single-file ${ladder[*]@Q}"
  "single_file|--single-file --protection cenc ${keys[*]@Q} ${ladder[*]@Q}"
  "single_file_clear|--single-file ${ladder[*]@Q}"
  "template|--segment-template '\$RepresentationID\$/s_\$Time\$.m4s' --hls-master main.m3u8 --mpd main.mpd --base-url https://cdn.example/a ${ladder[*]@Q}"
  "subtitles|${ladder[*]@Q} ${subs[*]@Q}"
  "subtitles_cenc|--protection cenc ${keys[*]@Q} ${ladder[*]@Q} ${subs[*]@Q}"
  "dash_only|--manifests dash --protection cbcs ${keys[*]@Q} ${ladder[*]@Q}"
  "hls_only|--manifests hls ${ladder[*]@Q} ${subs[*]@Q}"
  "hevc_progressive_muxed|'$f/hevc_360p.mp4' '$f/progressive_bframes.mp4' '$f/muxed_av.mp4'"
)

status=0
for run in "${runs[@]}"; do
  name=${run%%|*}
  args=${run#*|}
  for side in base new; do
    bin=$base
    [ "$side" = new ] && bin=$new
    dir=$work/$side/$name
    rm -rf "$dir" && mkdir -p "$dir"
    # Same folder name on both sides (the asset id and key manifest name follow it).
    eval "\"$bin\" package -q --json -o \"$dir/out\" $args" >"$dir/summary.json" 2>"$dir/stderr" || {
      echo "$name ($side) failed: $(cat "$dir/stderr")"
      status=1
    }
    # The summary names the output folder; compare it without the side's path.
    sed -i "s#$dir#OUT#g" "$dir/summary.json"
  done
  if diff -r "$work/base/$name" "$work/new/$name" >"$work/$name.diff"; then
    echo "same: $name ($(find "$work/new/$name" -type f | wc -l) files)"
  else
    echo "DIFFERENT: $name"
    head -20 "$work/$name.diff"
    status=1
  fi
done
exit $status
