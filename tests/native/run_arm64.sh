#!/usr/bin/env bash
# Builds the C++ core for arm64 and runs tests/native/isa_check.cpp under qemu: the NEON
# kernels must give the scalar reference's results. Needs Debian's g++-aarch64-linux-gnu
# and qemu-user (apt-get install g++-aarch64-linux-gnu qemu-user).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
aarch64-linux-gnu-g++ -std=c++17 -O2 -static -pthread -Wall -Wextra -Icsrc csrc/*.cpp \
  tests/native/isa_check.cpp -o "$out/isa_check"
qemu-aarch64 "$out/isa_check"
