#!/usr/bin/env bash
# Packages renditions with Shaka Packager into the same layout vodpack writes (OUT/master.m3u8,
# OUT/manifest.mpd, OUT/<rid>/{init.mp4,seg_N.m4s,playlist.m3u8,iframes.m3u8}), so the browser
# harness and the benchmark can run against a reference packager's output.
#
# Usage: scripts/shaka-package.sh OUT none|cenc|cbcs INPUT...
#   INPUT is a single-track file; its type (video/audio) and language come from ffprobe, its
#   rendition id is the file name without .mp4. Encryption uses the fixed test keys below (the same
#   ones tests/suite/common.rs uses) with the default vodpack labels: AUDIO, SD (height < 720), HD.
#   PACKAGER, FFPROBE: tool paths (default .tools/ref/...). SEGMENT_DURATION (default 4).
#   PROTECTION_SYSTEMS (default CommonSystem: the W3C Clear Key PSSH browsers use).
#   HLS_CLEARKEY=1: Shaka Packager writes no HLS key tag for Clear Key (CommonSystem), so this adds
#   an EXT-X-KEY with KEYFORMAT="org.w3.clearkey" (the form hls.js reads) to each media playlist, to
#   exercise the browser harness on encrypted HLS before vodpack (which writes its own) exists. It
#   also drops Shaka's cbcs KEYFORMAT="identity" tag, whose URI holds the KID, not a key.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packager=${PACKAGER:-$root/.tools/ref/packager}
ffprobe=${FFPROBE:-$root/.tools/ref/ffprobe}
out=${1:?usage: shaka-package.sh OUT none|cenc|cbcs INPUT...}
protection=${2:?usage: shaka-package.sh OUT none|cenc|cbcs INPUT...}
shift 2

# Fixed test keys (hex kid:key per label); never use these outside tests.
AUDIO_KID=00112233445566778899aabbccddeeff AUDIO_KEY=0123456789abcdef0123456789abcdef
SD_KID=10112233445566778899aabbccddeeff SD_KEY=1123456789abcdef0123456789abcdef
HD_KID=20112233445566778899aabbccddeeff HD_KEY=2123456789abcdef0123456789abcdef

mkdir -p "$out"
out=$(cd "$out" && pwd)
streams=()
labels=()
for input in "$@"; do
  rid=$(basename "$input" .mp4)
  input=$(realpath -s "$input")
  info=$("$ffprobe" -v error -show_entries stream=codec_type,height:stream_tags=language \
    -of default=nw=1 "$input")
  type=$(sed -n 's/^codec_type=//p' <<<"$info" | head -1)
  height=$(sed -n 's/^height=//p' <<<"$info" | head -1)
  lang=$(sed -n 's/^TAG:language=//p' <<<"$info" | head -1)
  desc="in=$input,stream=$type,init_segment=$out/$rid/init.mp4"
  desc+=",segment_template=$out/$rid/seg_\$Number\$.m4s,playlist_name=$rid/playlist.m3u8"
  if [[ $type == video ]]; then
    desc+=",iframe_playlist_name=$rid/iframes.m3u8"
    label=SD; ((height >= 720)) && label=HD
  else
    desc+=",hls_group_id=audio,hls_name=${lang:-und}"
    [[ -n $lang && $lang != und ]] && desc+=",lang=$lang"
    label=AUDIO
  fi
  [[ $protection != none ]] && desc+=",drm_label=$label"
  streams+=("$desc")
  labels+=("$rid=$label")
done

args=(--segment_duration "${SEGMENT_DURATION:-4}" --generate_static_live_mpd
  --mpd_output "$out/manifest.mpd" --hls_master_playlist_output "$out/master.m3u8")
if [[ $protection != none ]]; then
  args+=(--enable_raw_key_encryption --protection_scheme "$protection" --clear_lead 0
    --protection_systems "${PROTECTION_SYSTEMS:-CommonSystem}"
    --keys "label=AUDIO:key_id=$AUDIO_KID:key=$AUDIO_KEY,label=SD:key_id=$SD_KID:key=$SD_KEY,label=HD:key_id=$HD_KID:key=$HD_KEY")
fi
"$packager" "${streams[@]}" "${args[@]}" ${SHAKA_EXTRA_ARGS:-} 2>"$out/.packager.log" || {
  cat "$out/.packager.log" >&2
  exit 1
}

if [[ $protection != none && ${HLS_CLEARKEY:-0} == 1 ]]; then
  method=SAMPLE-AES-CTR
  [[ $protection == cbcs ]] && method=SAMPLE-AES
  for entry in "${labels[@]}"; do
    rid=${entry%%=*} label=${entry#*=}
    kid_var=${label}_KID
    kid=${!kid_var}
    kid_b64=$(python3 -c 'import base64,sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$kid")
    line="#EXT-X-KEY:METHOD=$method,URI=\"data:text/plain;base64,$kid_b64\",KEYID=0x$kid,KEYFORMAT=\"org.w3.clearkey\",KEYFORMATVERSIONS=\"1\""
    # Shaka's own cbcs tag (KEYFORMAT="identity", the KID in the URI) would read as a raw key.
    # Shaka Player reads Clear Key in HLS only as KEYFORMAT="identity", the URI giving the raw key
    # (the browser harness serves keys at /key/KID); hls.js then fails on cbcs, so it is opt-in.
    if [[ ${HLS_IDENTITY_KEYS:-0} == 1 ]]; then
      line+="\n#EXT-X-KEY:METHOD=$method,URI=\"/key/$kid\",KEYFORMAT=\"identity\""
    fi
    sed -i -e '/KEYFORMAT="identity"/d' -e "s|^#EXT-X-MAP:|$line\n#EXT-X-MAP:|" "$out/$rid/playlist.m3u8"
  done
fi
