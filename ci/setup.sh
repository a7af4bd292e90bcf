#!/usr/bin/env bash
# Installs every Debian package that the build, the tests and the tracer need.
# Idempotent and non-interactive: prints each package it installs and does
# nothing when all of them are present. Run as root on Debian 12.
set -euo pipefail

packages=(
  build-essential cmake ninja-build git pkg-config python3
  clang llvm libclang-rt-14-dev libfuzzer-14-dev
  libbpf-dev bpftool libelf-dev zlib1g-dev bpftrace
  catch2 librapidcheck-dev libcli11-dev nlohmann-json3-dev
  systemtap-sdt-dev libbenchmark-dev libboost-thread-dev libboost-context-dev
  spin procps util-linux librsvg2-bin python3-jsonschema
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$package")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages are present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run this script as root, or install them with apt-get" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
