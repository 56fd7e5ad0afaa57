#!/usr/bin/env bash
# Installs everything Arrow needs to build, test and boot images on Debian 12 (apt-get only).
# Safe to re-run: packages already present are not fetched again.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config clang
  # libraries (docs/architecture.md, "Dependencies")
  libelf-dev libarchive-dev libzstd-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
  libcurl4-openssl-dev libssl-dev libgtest-dev
  # the run half: user-mode networking in-process (libslirp); passt as an optional backend
  libslirp-dev passt
  # VMM confinement: per-thread seccomp allowlists (docs/security.md)
  libseccomp-dev
  # the catalog's service apps (recipes/) and the clients their tests use
  nginx-light redis-server redis-tools memcached php-cli postgresql-15 postgresql-client-15
  # storage: ext4 volume images (mke2fs -d) and the EROFS root layer of large apps
  e2fsprogs erofs-utils
  # booting and interop: qemu (TCG), Debian's kernel (prebuilt-kernel and nested tests), skopeo
  qemu-system-x86 linux-image-amd64 skopeo
  # tools the tests use, and the apps of the example recipes
  cpio zstd file sqlite3 python3 curl perl iproute2
  # examples/node-web; wrk for bench/services/
  nodejs wrk
  # registry tests: a local OCI registry and htpasswd for its Basic auth
  docker-registry apache2-utils
  # tuned kernels (kernel-configs/): Debian's 6.1 source tarball and what its build needs
  linux-source-6.1 bc flex bison libelf-dev libssl-dev xz-utils
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
