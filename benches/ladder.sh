# Sourced by the benchmark scripts: makes the benchmark title in $work (kept between runs when
# BENCH_DIR is set): $secs seconds of 1080p/720p/360p H.264 (2 s GOPs) + AAC stereo, fragmented
# MP4 as a live encoder writes it. Needs $ffmpeg.
for spec in "1920x1080 4500k" "1280x720 2500k" "640x360 800k"; do
  set -- $spec
  f=$work/v_$1.mp4
  [[ -f $f ]] || "$ffmpeg" -v error -y -f lavfi -i "testsrc2=size=$1:rate=30" -t "$secs" \
    -c:v libx264 -preset ultrafast -b:v "$2" -g 60 -keyint_min 60 -sc_threshold 0 \
    -movflags +frag_keyframe+empty_moov+default_base_moof "$f"
done
[[ -f $work/a.mp4 ]] || "$ffmpeg" -v error -y -f lavfi -i "sine=f=440:sample_rate=48000" -ac 2 \
  -t "$secs" -c:a aac -b:a 128k "$work/a.mp4"
ladder=("$work/v_1920x1080.mp4" "$work/v_1280x720.mp4" "$work/v_640x360.mp4" "in=$work/a.mp4,lang=en")
