#!/usr/bin/env bash
# Installs ttconv (the IMSC/TTML reader and converter of the W3C IMSC editors, PyPI `ttconv`), the
# independent judge of the `stpp` sample documents in tests/suite/subtitles_ttml.rs, into a venv:
# .tools/ttconv-venv. The version is pinned; the venv is rebuilt when the pin changes. Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/pinned-venv.sh
venv=.tools/ttconv-venv
pinned_venv "$venv" ttconv==1.2.3
"$venv/bin/python" -c 'import ttconv.imsc.reader, importlib.metadata as m; print("ttconv:", m.version("ttconv"))'
