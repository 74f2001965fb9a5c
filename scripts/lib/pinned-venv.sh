# Sourced by the installers of Python judges: pinned_venv VENV PIN... builds (or keeps) a venv at VENV
# holding exactly the pinned wheels. The pins are written to VENV/.pins and the venv is rebuilt when
# they change, so an installer stays idempotent. Run from the repository root.
pinned_venv() {
  local venv=$1
  shift
  local pins=("$@")
  local stamp="$venv/.pins"
  if [[ -x $venv/bin/python && -f $stamp && $(cat "$stamp") == "${pins[*]}" ]]; then
    return 0
  fi
  mkdir -p "$(dirname "$venv")"
  rm -rf "$venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian ships venv's ensurepip separately.
    local sudo=()
    [[ $(id -u) -ne 0 ]] && sudo=(sudo)
    rm -rf "$venv"
    local install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv)
    "${install[@]}" || { "${sudo[@]}" apt-get update -q && "${install[@]}"; }
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${pins[@]}"
  echo "${pins[*]}" >"$stamp"
}
