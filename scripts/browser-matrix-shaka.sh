#!/usr/bin/env bash
# Proves the browser harness (tests/browser/run.mjs) against Shaka Packager's output of the same
# fixtures: every player/protocol/protection combination the vodpack tests run, plus the wrong-key
# and HEVC cases. Not part of the suite (the suite tests vodpack's output); run it after changing the
# harness. Usage: scripts/browser-matrix-shaka.sh [WORKDIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${1:-$(mktemp -d)}
fx=$root/fixtures
ladder=("$fx/h264_240p.mp4" "$fx/h264_360p.mp4" "$fx/h264_720p.mp4" "$fx/aac_en.mp4" "$fx/aac_fr.mp4")
keys=00112233445566778899aabbccddeeff=0123456789abcdef0123456789abcdef
keys+=,10112233445566778899aabbccddeeff=1123456789abcdef0123456789abcdef
keys+=,20112233445566778899aabbccddeeff=2123456789abcdef0123456789abcdef

pkg() { "$root/scripts/shaka-package.sh" "$@" >/dev/null 2>&1; }
pkg "$work/clear" none "${ladder[@]}"
for p in cenc cbcs; do
  HLS_CLEARKEY=1 pkg "$work/$p" "$p" "${ladder[@]}"
  HLS_CLEARKEY=1 HLS_IDENTITY_KEYS=1 pkg "$work/$p-identity" "$p" "${ladder[@]}"
done
pkg "$work/hevc" none "$fx/hevc_360p.mp4" "$fx/aac_en.mp4"
pkg "$work/mixed" none "$fx/h264_240p.mp4" "$fx/h264_720p.mp4" "$fx/hevc_360p.mp4" "$fx/aac_en.mp4"

pass=0 fail=0
run() { # NAME ARGS...
  local name=$1
  shift
  if node "$root/tests/browser/run.mjs" "$@" >"$work/$name.json"; then
    pass=$((pass + 1)); echo "ok   $name"
  else
    fail=$((fail + 1)); echo "FAIL $name (see $work/$name.json)"
  fi
}
for pp in "shaka dash" "shaka hls" "dashjs dash" "hlsjs hls"; do
  set -- $pp
  run "clear-$1-$2" --dir "$work/clear" --player "$1" --protocol "$2" --expect-heights 240,360,720
  run "hevc-$1-$2" --dir "$work/hevc" --player "$1" --protocol "$2" --expect no-playable
  run "mixed-$1-$2" --dir "$work/mixed" --player "$1" --protocol "$2" --expect-heights 240,720
done
for p in cenc cbcs; do
  # How each player gets Clear Key keys from Shaka Packager's output (see docs/testing.md).
  for combo in "shaka dash server $p" "shaka dash inline $p" "dashjs dash inline $p" \
    "shaka hls inline $p" "shaka hls server $p-identity" "hlsjs hls server $p"; do
    set -- $combo
    run "$4-$1-$2-$3" --dir "$work/$4" --player "$1" --protocol "$2" --drm "$3" --keys "$keys" \
      --expect-heights 240,360,720
    run "$4-$1-$2-$3-wrongkey" --dir "$work/$4" --player "$1" --protocol "$2" --drm "$3" \
      --keys "$keys" --wrong-key --expect fail
  done
done
echo "$pass passed, $fail failed"
((fail == 0))
