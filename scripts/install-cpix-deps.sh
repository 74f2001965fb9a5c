#!/usr/bin/env bash
# What tests/suite/cpix.rs runs besides vodpack: the SPEKE v2 test server is stdlib Python and
# encrypts its answers with the openssl command line (tests/data/cpix/speke_server.py).
# Idempotent: installs only what is missing (Debian).
set -euo pipefail
missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v openssl >/dev/null || missing+=(openssl)
((${#missing[@]})) || exit 0
sudo=()
[[ $(id -u) == 0 ]] || sudo=(sudo)
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
  { "${sudo[@]}" apt-get update -q && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; }
