#!/usr/bin/env bash
# Installs the Debian 12 packages hakmem needs, and only those that are
# missing. Idempotent; needs root (or sudo) only when something is missing.
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --bench    also the peer allocators for benchmarks
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config
  clang llvm libclang-rt-14-dev           # BPF target and the libFuzzer runtime
  libbpf-dev bpftool libelf-dev zlib1g-dev
  libcli11-dev libfmt-dev libspdlog-dev libgtest-dev
  libdw-dev                               # elfutils: symbolizing call sites
  libjs-dygraphs                          # charts of the HTML report, inlined at build time
  nlohmann-json3-dev                      # JSON of the HTML report's data and of the tests' parsing
  chromium                                # the HTML report's test opens it in headless Chromium
  binutils strace procps util-linux       # readelf, strace -c, setpriv/runuser
  python3 perl git sqlite3                # integration tests run these under the preload
)
if [[ "${1:-}" == "--bench" ]]; then
  pkgs+=(libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4 time)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
