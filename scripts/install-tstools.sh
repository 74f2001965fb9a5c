#!/usr/bin/env bash
# Installs Debian's tstools (tsinfo, tsreport): the transport stream checker the MPEG-TS tests
# (tests/suite/mpeg_ts.rs) read vodpack's .ts segments with, a reader nobody here wrote.
# Idempotent: skipped when tsreport is on the PATH.
set -euo pipefail
command -v tsreport >/dev/null && exit 0
sudo=()
[[ $(id -u) -ne 0 ]] && sudo=(sudo)
install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends tstools)
"${install[@]}" || { "${sudo[@]}" apt-get update -q && "${install[@]}"; }
