#!/usr/bin/env bash
# Measures what HLS players do with TTML subtitles carried two ways, to decide what vodpack's HLS
# output uses (docs/subtitles.md, "HLS: WebVTT made from the TTML"):
#   webvtt  vodpack's output as written: the TTML converted to WebVTT segments
#   imsc1   the same run's stpp fMP4 segments (init.mp4 + seg_N.m4s, one IMSC1 document each)
#           listed in the subtitle playlists instead (EXT-X-MAP, EXT-X-VERSION 7), with
#           stpp.ttml.im1t added to every EXT-X-STREAM-INF CODECS, as the HLS specification asks
# Each is played by Shaka Player and hls.js in headless Chromium (tests/browser/run.mjs --expect
# subtitles): the French track must be listed and its cues shown with the source's times (±10 ms)
# and text. Prints one line per player and carriage, and each failure's errors.
# Not a test: run it by hand after a release build:  benches/hls-imsc-players.sh
set -euo pipefail
cd "$(dirname "$0")/.."
vodpack=target/release/vodpack
[[ -x $vodpack ]] || { echo "build first: cargo build --release" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$vodpack" package --quiet -o "$work/webvtt" --segment-duration 2 \
  fixtures/h264_240p.mp4 fixtures/h264_360p.mp4 'in=fixtures/aac_en.mp4,lang=en,name=English' \
  'in=fixtures/subs_fr.ttml,lang=fr,name=Français,id=text_fr'
cp -r "$work/webvtt" "$work/imsc1"
python3 - "$work/imsc1" <<'PY'
import re, sys, pathlib
out = pathlib.Path(sys.argv[1])
master = out / "master.m3u8"
text = master.read_text()
text = re.sub(r'CODECS="([^"]*)"', lambda m: f'CODECS="{m.group(1)},stpp.ttml.im1t"', text)
master.write_text(text)
pl = out / "text_fr" / "playlist.m3u8"
lines = pl.read_text().splitlines()
res = []
for l in lines:
    if l.startswith("#EXT-X-VERSION"):
        l = "#EXT-X-VERSION:7"
    res.append(re.sub(r"seg_(\d+)\.vtt$", r"seg_\1.m4s", l))
    if l.startswith("#EXT-X-TARGETDURATION"):
        res.append('#EXT-X-MAP:URI="init.mp4"')
pl.write_text("\n".join(res) + "\n")
PY
cat > "$work/cues.json" <<'JSON'
[
  {"start": 0.48, "end": 1.8, "text": "Bienvenue à tous !"},
  {"start": 1.9, "end": 2.6, "text": "Ça commence,\ndeuxième ligne — déjà."},
  {"start": 3.0, "end": 4.5, "text": "Œuvre d'été &amp; café crème\nà 4 s pile"},
  {"start": 5.0, "end": 6.24, "text": "Où est la gare ? 日本語も"},
  {"start": 6.6, "end": 7.75, "text": "Fin du test."}
]
JSON
for carriage in webvtt imsc1; do
  for player in shaka hlsjs; do
    if report=$(node tests/browser/run.mjs --dir "$work/$carriage" --player $player --protocol hls \
        --expect subtitles --text-lang fr --text-name Français --expect-cues "$work/cues.json"); then
      echo "$carriage $player: ok"
    else
      echo "$carriage $player: FAILED"
      printf '%s\n' "$report" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("  ", "\n   ".join(r.get("errors", [])[:6]))'
    fi
  done
done
