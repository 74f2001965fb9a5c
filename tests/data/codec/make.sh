#!/bin/sh
# Regenerates the sample entries in this folder and the reference codec strings in expected.txt.
# Needs the reference tools (scripts/reference.sh DIR): ffmpeg 8, ffprobe, Shaka Packager.
# Usage: tests/data/codec/make.sh [REF_DIR]   (default /work/tools/ref)
set -eu
REF=${1:-/work/tools/ref}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ff() { "$REF/ffmpeg" -hide_banner -loglevel error -y "$@"; }
cd "$TMP"
ff -f lavfi -i testsrc2=size=640x360:rate=30 -t 2 -c:v libx264 -profile:v high -pix_fmt yuv420p h264_high.mp4
ff -f lavfi -i testsrc2=size=320x180:rate=25 -t 2 -c:v libx264 -profile:v main -pix_fmt yuv420p h264_main.mp4
ff -f lavfi -i testsrc2=size=320x240:rate=24 -t 2 -c:v libx264 -profile:v baseline -pix_fmt yuv420p -vf setsar=4/3 h264_baseline.mp4
ff -f lavfi -i testsrc2=size=640x360:rate=30 -t 2 -c:v libx264 -profile:v high -pix_fmt yuv420p -tag:v avc3 h264_avc3.mp4
ff -f lavfi -i testsrc2=size=640x360:rate=30 -t 2 -c:v libx265 -tag:v hvc1 -x265-params log-level=error h265_hvc1.mp4
ff -f lavfi -i testsrc2=size=640x360:rate=30 -t 2 -c:v libx265 -tag:v hev1 -x265-params log-level=error h265_hev1.mp4
ff -f lavfi -i testsrc2=size=320x240:rate=30 -t 1 -c:v libsvtav1 -svtav1-params loglevel=0 -pix_fmt yuv420p av1.mp4 2>/dev/null
ff -f lavfi -i sine=f=440:r=48000 -ac 2 -t 2 -c:a aac aac_stereo48k.mp4
ff -f lavfi -i sine=f=440:r=44100 -ac 1 -t 2 -c:a aac aac_mono44k.mp4
ff -f lavfi -i sine=f=440:r=48000 -ac 2 -t 2 -c:a libopus opus.mp4
ff -f lavfi -i sine=f=440:r=48000 -t 2 -af 'pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0' -c:a ac3 ac3_51.mp4
ff -f lavfi -i sine=f=440:r=48000 -ac 2 -t 2 -c:a eac3 eac3.mp4
# FLAC and ALAC: the entries of the audio fixtures (fixtures/make-audio.sh).
cp "$HERE/../../../fixtures/flac_51.mp4" "$HERE/../../../fixtures/alac_stereo.mp4" .
# QuickTime sound description v1 (16 extra bytes, esds inside a `wave` box). Shaka cannot read .mov,
# so its codec string is left as "-" and the test compares with ffprobe only.
ff -f lavfi -i sine=f=440:r=48000 -ac 2 -t 1 -c:a aac aac_qt_v1.mov
: > "$HERE/expected.txt"
echo "# name fourcc shaka_codecs width height sar sample_rate channels (from Shaka Packager + ffprobe)" >> "$HERE/expected.txt"
for f in *.mp4 *.mov; do
  name=${f%.*}
  python3 "$HERE/extract_entry.py" "$f" > "$HERE/$name.bin"
  stream=video
  case $name in aac*|ac3*|eac3|opus|flac*|alac*) stream=audio ;; esac
  codecs=-
  if "$REF/packager" "in=$f,stream=$stream,output=out_$name.mp4" --mpd_output "$name.mpd" > /dev/null 2>&1; then
    codecs=$(sed -n 's/.*codecs="\([^"]*\)".*/\1/p' "$name.mpd" | head -n 1)
  fi
  probe=$("$REF/ffprobe" -v error -select_streams 0 -show_entries \
    stream=codec_tag_string,width,height,sample_aspect_ratio,sample_rate,channels -of default=nw=1 "$f")
  get() { echo "$probe" | sed -n "s/^$1=//p" | head -n 1; }
  w=$(get width); h=$(get height); sar=$(get sample_aspect_ratio); sr=$(get sample_rate); ch=$(get channels)
  echo "$name $(get codec_tag_string) $codecs ${w:--} ${h:--} ${sar:--} ${sr:--} ${ch:--}" >> "$HERE/expected.txt"
done
cat "$HERE/expected.txt"
