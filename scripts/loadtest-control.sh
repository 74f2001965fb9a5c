#!/usr/bin/env bash
# Bounded loopback load test of the control plane: edge token verification (in process) and the
# origin serving segments over HTTP on 127.0.0.1 (valid and tampered tokens). Prints requests per
# second and p50/p99 latency. Extra arguments go to the binary:
#   [OUT_DIR] [--requests N] [--connections C] [--seconds S]
# OUT_DIR defaults to the Shaka-Packager fixture; pass a `vodpack package` output to test it.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release -p vodpack-control --features server \
  --bin vodpack-control-loadtest -- "$@"
