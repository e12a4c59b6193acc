#!/usr/bin/env bash
# test-deps.sh - installs what the test suite needs beyond .NET, from Debian packages:
#   python3-grpcio, python3-protobuf  the gRPC interop client (tests/HealthScoring.Api.Tests/Grpc/interop_client.py)
#   protobuf-compiler                 protoc 3.21, matching python3-protobuf, for google/rpc python classes
#   chromium                          the browser the dashboard tests drive through Playwright (ExecutablePath)
# Extra package names as arguments are installed too (bench.sh adds python3-sklearn python3-xgboost, the
# reference models of the models.gbdt benchmark).
# Idempotent: when every package is installed it only runs `dpkg -s` and exits (well under a second).
# apt-get update runs only when something is missing. Needs root, or sudo for apt-get.
# The tests run these with /usr/bin/python3 (Debian's); a `python3` on PATH may be a pyenv one without them.
set -euo pipefail

packages=(python3-grpcio python3-protobuf protobuf-compiler chromium "$@")

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "test-deps: ${packages[*]} already installed"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "test-deps: installing ${missing[*]} needs root or sudo" >&2; exit 1; }
  sudo=(sudo)
fi
apt() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=900 "$@"; }

echo "test-deps: installing ${missing[*]}"
apt update >/dev/null
apt install -y --no-install-recommends "${missing[@]}" >/dev/null
/usr/bin/python3 -c 'import grpc, google.protobuf; print("test-deps: grpcio", grpc.__version__, "protobuf", google.protobuf.__version__)'
