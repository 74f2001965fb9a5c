#!/bin/sh
# Makes the CPIX test fixtures of tests/suite/cpix.rs (docs/cpix.md): two RSA-2048 key pairs
# with self-signed certificates (openssl), then the documents (make_fixtures.py, which encrypts
# with the openssl command line and Python's hmac, not with vodpack's code). The outputs are
# committed; run this again only to change them.
set -eu
cd "$(dirname "$0")"
for who in recipient other; do
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 36500 \
    -subj "/CN=vodpack CPIX test $who" -keyout "$who.key" -out "$who.pem" 2>/dev/null
done
python3 make_fixtures.py
