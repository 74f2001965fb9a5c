#!/usr/bin/env bash
# Installs the CDN vendors' own signing libraries, the judges of tests/cdn_judges.rs, into a venv:
#   .tools/cdn-venv with akamai-edgeauth (Akamai EdgeAuth 2.0), botocore (CloudFrontSigner) and
#   cryptography (RSA and Ed25519 verification; Media CDN signing as Google's samples do it).
# Versions are pinned; the venv is rebuilt when the pins change. Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=.tools/cdn-venv
pins=(akamai-edgeauth==0.3.2 botocore==1.44.8 cryptography==46.0.3)
stamp="$venv/.pins"
if [[ -x $venv/bin/python && -f $stamp && $(cat "$stamp") == "${pins[*]}" ]]; then
  exit 0
fi
mkdir -p .tools
rm -rf "$venv"
if ! python3 -m venv "$venv" 2>/dev/null; then
  # Debian ships venv's ensurepip separately.
  sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  rm -rf "$venv"
  install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv)
  "${install[@]}" || { "${sudo[@]}" apt-get update -q && "${install[@]}"; }
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check "${pins[@]}"
echo "${pins[*]}" >"$stamp"
"$venv/bin/python" -c 'import akamai.edgeauth, botocore.signers, cryptography; print("cdn judges:", cryptography.__version__)'
