#!/usr/bin/env bash
# Configures and builds hakmem into build/ (Release). Extra arguments go to
# CMake's configure step, e.g. scripts/build.sh -DHAKMEM_ASAN=ON.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HAKMEM_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
