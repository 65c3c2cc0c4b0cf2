#!/usr/bin/env bash
# One-time (idempotent) machine set-up for cowlab on Debian bookworm, as root.
# Installs the host tools (every package `cowlab run`'s preflight in orchestrator/util/tools.ts
# may name; test/faults-input.test.ts keeps the two lists together), the older and newer Debian
# suites the kernel sources come from (pinned low so they never upgrade anything), and the npm
# packages. Kernel sources themselves are fetched by the orchestrator into its cache, never
# installed system-wide.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  qemu-system-x86 qemu-system-arm qemu-utils
  gcc binutils libc6-dev make flex bison bc libelf-dev libssl-dev cpio rsync ccache xz-utils patch git
  gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross
  dpkg-dev
  chromium  # the report test opens the HTML report in it (playwright-core drives it)
  openssh-server openssh-client  # SSH targets: the fault tests start their own sshd on 127.0.0.1
  mmdebstrap e2fsprogs  # the qemu-rootfs target's Debian bookworm image (mkfs.ext4 -d, no loop mount)
  b4  # cowlab run --series-msgid: `b4 am` fetches a series from lore (or reads a local mbox)
)

need_root() { [ "$(id -u)" = 0 ] || { echo "setup: run as root (apt-get install is needed)" >&2; exit 2; }; }

# Every linux-source package a kernel spec names (kernels/specs/*.yaml), and linux-source-X.Y
# for each "X.Y" id of the default matrix: adding a kernel is a data change, and set-up
# notices a package apt cannot offer yet.
SOURCE_PACKAGES=($( {
  sed -n 's/.*package: *\(linux-source-[0-9.]*\).*/\1/p' kernels/specs/*.yaml
  sed -n 's/^ *- *id: *"\{0,1\}\([0-9][0-9]*\.[0-9][0-9]*\)"\{0,1\}.*/linux-source-\1/p' kernels/matrix.yaml
} | sort -u))

# Older and newer Debian suites, pinned at 100 so they never replace a bookworm package while
# `apt-get download` can still fetch from them: bullseye has linux-source-5.10,
# trixie-backports the newest kernel (linux-source-7.3).
LOW_SUITES=(bullseye bullseye-updates trixie-backports)
LOW_SECURITY_SUITES=(bullseye-security)

apt_ready() {
  local p status policy
  for p in "${APT_PACKAGES[@]}"; do
    # Capture first: with pipefail, grep -q closing the pipe early can fail the pipeline.
    status=$(dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null || true)
    [[ "$status" == *"install ok installed"* ]] || return 1
  done
  [ -f /etc/apt/sources.list.d/cowlab-low.sources ] || return 1
  for p in "${SOURCE_PACKAGES[@]}"; do
    policy=$(apt-cache policy "$p" 2>/dev/null || true)
    [[ "$policy" == *"Candidate: "[0-9]* ]] || return 1
  done
}

if ! apt_ready; then
  need_root
  export DEBIAN_FRONTEND=noninteractive
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  rm -f /etc/apt/sources.list.d/cowlab-bullseye.sources /etc/apt/preferences.d/cowlab-bullseye # older set-ups
  cat > /etc/apt/sources.list.d/cowlab-low.sources <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: ${LOW_SUITES[*]}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: ${LOW_SECURITY_SUITES[*]}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  for suite in "${LOW_SUITES[@]}" "${LOW_SECURITY_SUITES[@]}"; do
    printf 'Package: *\nPin: release n=%s\nPin-Priority: 100\n\n' "$suite"
  done > /etc/apt/preferences.d/cowlab-low
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${APT_PACKAGES[@]}"
  for p in "${SOURCE_PACKAGES[@]}"; do
    policy=$(apt-cache policy "$p" 2>/dev/null || true)
    [[ "$policy" == *"Candidate: "[0-9]* ]] || { echo "setup: apt offers no $p (named in kernels/specs/): add its suite to LOW_SUITES in scripts/setup.sh" >&2; exit 2; }
  done
fi

# npm packages: `npm ci` only when the lockfile changed since the last install.
if [ ! -f node_modules/.cowlab-lock ] || ! cmp -s package-lock.json node_modules/.cowlab-lock; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.cowlab-lock
fi
