#!/usr/bin/env bash
# Installs the second S3 server of the object-storage tests (tests/suite/object_storage.rs):
#   s3s-fs 0.14.1 (the `s3s` project's file-system S3 server, Apache-2.0) built from crates.io
#   with its Cargo.lock (--locked) -> .tools/s3s-fs/bin/s3s-fs. 0.17 needs rustc 1.96; 0.14.1
#   builds on 1.95 and answers conditional puts (If-Match / If-None-Match) as S3 does.
# The tests look there, or at $VODPACK_S3S_FS. Idempotent: a present binary is kept.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.tools/s3s-fs"
if [ -x "$dest/bin/s3s-fs" ]; then
  echo "s3s-fs already installed: $dest/bin/s3s-fs"
  exit 0
fi
# Its own target folder, removed afterwards (the build is ~250 crates).
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
CARGO_TARGET_DIR="$tmp" cargo install --quiet --locked --root "$dest" s3s-fs@0.14.1 --features binary
"$dest/bin/s3s-fs" --version
