#!/usr/bin/env bash
# Refreshes the player builds embedded in `vodpack serve` (crates/vodpack-control/players/):
# the release builds of Shaka Player, dash.js and hls.js as published on the npm registry, each
# tarball checked against the sha512 integrity recorded below before anything is copied.
# A maintainer's tool, not run by the tests (the files are committed). To update a player: change
# its version and integrity here (`npm view NAME@VERSION dist.integrity`), run this script,
# update crates/vodpack-control/players/VERSIONS.md, and run the serve browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=crates/vodpack-control/players
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name version integrity file-in-package licence-in-package
players=(
  "shaka-player 5.2.12 sha512-vEsuVDI3+oLh+yqpjXexQZlg2XMUBI0VrqatDuKWacPaxAud6Uph5uCowUPLhUgNG5XKWCpoM4l1r8qYzWH+zg== dist/shaka-player.compiled.js LICENSE"
  "dashjs 5.2.1 sha512-axcJmLeJCTJMLUfQRErUJB1KOiU5iHF+DMLBc3FKeox1HPYtGUQlC6Xm5Mm6vhBUR3CHHLIPOqw0JDIqMtP+Dw== dist/modern/umd/dash.all.min.js LICENSE.md"
  "hls.js 1.7.4 sha512-3GlxGdPvT2YHvQYOt+yOzT/DEior/qJVNIylHA77kgeoBTdQQqi70GwefNEUmHQeNGyjC8U62+bruqW/Tpm+tg== dist/hls.min.js LICENSE"
)
for p in "${players[@]}"; do
  read -r name version integrity file licence <<<"$p"
  (cd "$work" && npm pack --silent "$name@$version" >/dev/null)
  tgz="$work/$name-$version.tgz"
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$got" != "$integrity" ]; then
    echo "vendor-players: $name@$version: integrity $got, expected $integrity" >&2
    exit 1
  fi
  mkdir -p "$work/$name"
  tar -xzf "$tgz" -C "$work/$name"
  mkdir -p "$dest/$name"
  cp "$work/$name/package/$file" "$dest/$name/"
  cp "$work/$name/package/$licence" "$dest/$name/"
  if [ -f "$work/$name/package/$file.LICENSE.txt" ]; then
    cp "$work/$name/package/$file.LICENSE.txt" "$dest/$name/"
  fi
  echo "$name@$version: $file ($(wc -c <"$dest/$name/$(basename "$file")") bytes)"
done
