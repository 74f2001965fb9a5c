#!/usr/bin/env bash
# Installs the CDN vendors' own signing libraries, the judges of tests/cdn_judges.rs, into a venv:
#   .tools/cdn-venv with akamai-edgeauth (Akamai EdgeAuth 2.0), botocore (CloudFrontSigner) and
#   cryptography (RSA and Ed25519 verification; Media CDN signing as Google's samples do it).
# Versions are pinned; the venv is rebuilt when the pins change. Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/pinned-venv.sh
venv=.tools/cdn-venv
pinned_venv "$venv" akamai-edgeauth==0.3.2 botocore==1.44.8 cryptography==46.0.3
"$venv/bin/python" -c 'import akamai.edgeauth, botocore.signers, cryptography; print("cdn judges:", cryptography.__version__)'
