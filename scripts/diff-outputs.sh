#!/usr/bin/env bash
# Byte-identical output check between two vodpack binaries (issue 21: a refactor must not change a
# byte). Packages every kind of run with each binary, with the fixed test keys and IV (as
# tests/suite/common.rs), and compares the output folders, the key manifests, the JSON summaries
# and the CLI's help, man pages and completion scripts. Not a test: run it by hand, e.g.
#   git worktree add /tmp/base main && (cd /tmp/base && cargo build --release)
#   scripts/diff-outputs.sh /tmp/base/target/release/vodpack target/release/vodpack
# Exit 0 when everything is identical, 1 with the differences listed.
# Needs Shaka Packager in VODPACK_TOOLS (or .tools/ref) to make the encrypted input.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 2 ]] || { echo "usage: $0 OLD_VODPACK NEW_VODPACK" >&2; exit 2; }
fx=$PWD/fixtures
packager=${VODPACK_TOOLS:-.tools/ref}/packager
[[ -x $packager ]] || { echo "Shaka Packager missing: scripts/reference.sh .tools/ref" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Both binaries under the same file name: clap prints it in usage lines.
mkdir -p "$work/bin-old" "$work/bin-new"
cp "$1" "$work/bin-old/vodpack"
cp "$2" "$work/bin-new/vodpack"
old=$work/bin-old/vodpack
new=$work/bin-new/vodpack

keys=(--key label=AUDIO,kid=00112233445566778899aabbccddeeff,key=0123456789abcdef0123456789abcdef
      --key label=SD,kid=10112233445566778899aabbccddeeff,key=1123456789abcdef0123456789abcdef
      --key label=HD,kid=20112233445566778899aabbccddeeff,key=2123456789abcdef0123456789abcdef
      --iv 0f1e2d3c4b5a69788796a5b4c3d2e1f0)
ladder=("$fx/h264_240p.mp4" "$fx/h264_360p.mp4" "$fx/h264_720p.mp4" "in=$fx/aac_en.mp4,lang=en"
        "in=$fx/aac_fr.mp4,lang=fr,name=Français")

# An input encrypted by Shaka Packager (cenc), decrypted by vodpack with --decryption-key.
"$packager" "in=$fx/h264_360p.mp4,stream=video,output=$work/enc_360p.mp4" \
  --enable_raw_key_encryption --protection_scheme cenc --clear_lead 0 --segment_duration 2 \
  --keys label=:key_id=a0a1a2a3a4a5a6a7a8a9aaabacadaeaf:key=b0b1b2b3b4b5b6b7b8b9babbbcbdbebf \
  --quiet
cat > "$work/job.toml" <<EOF
out = "OUT"
segment_duration = 4
asset_id = "movie_123"
manifests = "hls,dash"

[[inputs]]
in = "$fx/h264_240p.mp4"

[[inputs]]
in = "$fx/muxed_av.mp4#video"

[[inputs]]
in = "$fx/muxed_av.mp4#audio"
lang = "de"
roles = ["dub"]
id = "audio_de"

[protection]
scheme = "cbcs"
key_policy = "single"
iv = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
keys = ["label=ALL,kid=30112233445566778899aabbccddeeff,key=3123456789abcdef0123456789abcdef"]
drm = ["clearkey", "widevine", "playready", "fairplay"]
EOF

# name | arguments after `package --json` (OUT is appended as -o DIR/out)
cases=(
  "clear|${ladder[*]}"
  "cenc|${ladder[*]} --protection cenc ${keys[*]}"
  "cbcs|${ladder[*]} --protection cbcs ${keys[*]} --clear-lead 2 --drm clearkey,widevine,playready,fairplay"
  "dual|${ladder[*]} --protection dash=cenc,hls=cbcs ${keys[*]} --drm clearkey,widevine"
  "single-file|${ladder[*]} --single-file --protection cenc ${keys[*]} --iv-size 8"
  "template|${ladder[*]} --segment-template \$RepresentationID\$/seg_\$Number%05d\$.m4s --base-url https://cdn.example.com/v/ --protection cbcs ${keys[*]}"
  "template-time-dual|${ladder[*]} --segment-template chunks/\$RepresentationID\$_\$Time\$.m4s --protection dash=cenc,hls=cbcs ${keys[*]}"
  "subtitles|${ladder[*]} in=$fx/subs_fr.vtt,lang=fr,name=Français in=$fx/subs_fr.srt,lang=fr,id=srt_fr --protection cenc ${keys[*]}"
  "progressive|$fx/progressive_bframes.mp4 $fx/muxed_av.mp4#video $fx/muxed_av.mp4#audio --segment-duration 2"
  "hevc|$fx/hevc_360p.mp4 $fx/aac_en.mp4 --protection cbcs --key-policy single --key label=ALL,kid=30112233445566778899aabbccddeeff,key=3123456789abcdef0123456789abcdef --iv 0f1e2d3c4b5a69788796a5b4c3d2e1f0"
  "common-keyframes|$fx/h264_360p.mp4 $fx/unaligned_360p.mp4 --cut-at-common-keyframes"
  "decrypted-input|$work/enc_360p.mp4 $fx/aac_en.mp4 --decryption-key kid=a0a1a2a3a4a5a6a7a8a9aaabacadaeaf,key=b0b1b2b3b4b5b6b7b8b9babbbcbdbebf --protection cenc ${keys[*]}"
  "key-references|${ladder[*]} --protection cenc ${keys[*]} --key-references --asset-id asset-9"
  "manifest-names|${ladder[*]} --manifests hls --hls-master main.m3u8"
)

run_all() { # binary, folder
  local bin=$1 dir=$2 name args
  mkdir -p "$dir"
  for c in "${cases[@]}"; do
    name=${c%%|*}
    args=${c#*|}
    mkdir -p "$dir/$name"
    # Word-splitting on purpose: no argument above holds a space.
    # shellcheck disable=SC2086
    (set +e; cd "$dir/$name" && { "$bin" package --json -o out $args >summary.json 2>stderr.txt; echo $? >exit; })
  done
  mkdir -p "$dir/job"
  sed "s|OUT|$dir/job/out|" "$work/job.toml" >"$dir/job/job.toml"
  (set +e; cd "$dir/job" && { "$bin" package --json --job job.toml >summary.json 2>stderr.txt; echo $? >exit; })
  # A verify report of each run, with its key manifest and sources.
  (set +e; cd "$dir/cenc" && { "$bin" verify out --json >verify.json 2>&1; echo $? >verify.exit; })
  # The command line itself.
  mkdir -p "$dir/cli/man"
  "$bin" --help >"$dir/cli/help.txt"
  for sub in package verify inspect serve completions man token "token sign" "token verify"; do
    # shellcheck disable=SC2086
    "$bin" $sub --help >"$dir/cli/help-${sub// /-}.txt"
  done
  "$bin" man --out-dir "$dir/cli/man"
  "$bin" man package >"$dir/cli/man-package.1"
  for shell in bash zsh fish elvish powershell; do
    "$bin" completions $shell >"$dir/cli/completions.$shell"
  done
  "$bin" package -o x --hls-only >/dev/null 2>"$dir/cli/typo.txt" || echo $? >>"$dir/cli/typo.txt"
  "$bin" package -o x --jsn >/dev/null 2>"$dir/cli/typo2.txt" || echo $? >>"$dir/cli/typo2.txt"
  "$bin" inspect "$dir/cenc/out/master.m3u8" >"$dir/cli/inspect-bad.txt" 2>&1 || echo $? >>"$dir/cli/inspect-bad.txt"
  "$bin" inspect --json "$fx/h264_360p.mp4" >"$dir/cli/inspect.json"
  "$bin" inspect --all "$fx/progressive_bframes.mp4" >"$dir/cli/inspect.txt"
  "$bin" token sign --cdn akamai --key 0a0b0c0d --acl '/v/*' --end-time 2000000000 >"$dir/cli/token.txt" 2>&1 || true
}

run_all "$old" "$work/old"
run_all "$new" "$work/new"
# The output folders are named after their temporary parent in no file; the summaries print
# absolute paths, which differ only by old/new.
sed -i "s|$work/old|WORK|g" $(grep -rl "$work/old" "$work/old" || true) 2>/dev/null || true
sed -i "s|$work/new|WORK|g" $(grep -rl "$work/new" "$work/new" || true) 2>/dev/null || true
failed=0
for c in "${cases[@]}" "job|"; do
  name=${c%%|*}
  [[ $(cat "$work/old/$name/exit") == 0 ]] || { echo "$name: exit $(cat "$work/old/$name/exit") with the old binary:" >&2; cat "$work/old/$name/stderr.txt" >&2; failed=1; }
  n=$(find "$work/old/$name" -type f | wc -l)
  echo "$name: $n files"
done
if diff -r "$work/old" "$work/new"; then
  echo "identical: $(find "$work/old" -type f | wc -l) files"
else
  failed=1
fi
exit $failed
