#!/usr/bin/env bash
# Installs ttconv (the IMSC/TTML reader and converter of the W3C IMSC editors, PyPI `ttconv`), the
# independent judge of the `stpp` sample documents in tests/suite/subtitles_ttml.rs, into a venv:
# .tools/ttconv-venv. The version is pinned; the venv is rebuilt when the pin changes. Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=.tools/ttconv-venv
pins=(ttconv==1.2.3)
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
"$venv/bin/python" -c 'import ttconv.imsc.reader, importlib.metadata as m; print("ttconv:", m.version("ttconv"))'
