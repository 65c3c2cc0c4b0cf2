#!/usr/bin/env bash
# One-time (idempotent) machine set-up for cowlab on Debian bookworm, as root.
# Installs the host tools, the bullseye source for linux-source-5.10 (pinned low so it
# never upgrades anything), and the npm packages. Kernel sources themselves are fetched
# by the orchestrator into its cache, never installed system-wide.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  qemu-system-x86 qemu-system-arm qemu-utils
  gcc make flex bison bc libelf-dev libssl-dev cpio rsync ccache xz-utils patch git
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  liburing-dev liburing-dev:arm64
  dpkg-dev
  chromium  # the report test opens the HTML report in it (playwright-core drives it)
)

need_root() { [ "$(id -u)" = 0 ] || { echo "setup: run as root (apt-get install is needed)" >&2; exit 2; }; }

apt_ready() {
  local p status policy
  for p in "${APT_PACKAGES[@]}"; do
    # Capture first: with pipefail, grep -q closing the pipe early can fail the pipeline.
    status=$(dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null || true)
    [[ "$status" == *"install ok installed"* ]] || return 1
  done
  policy=$(apt-cache policy linux-source-5.10 2>/dev/null || true)
  [[ "$policy" == *"Candidate: "[0-9]* ]] || return 1
}

if ! apt_ready; then
  need_root
  export DEBIAN_FRONTEND=noninteractive
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  # linux-source-5.10 lives only in bullseye; a low pin keeps bullseye from replacing
  # any bookworm package while still letting `apt-get download` fetch it.
  cat > /etc/apt/sources.list.d/cowlab-bullseye.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bullseye bullseye-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bullseye-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  cat > /etc/apt/preferences.d/cowlab-bullseye <<'PIN'
Package: *
Pin: release n=bullseye
Pin-Priority: 100

Package: *
Pin: release n=bullseye-updates
Pin-Priority: 100

Package: *
Pin: release n=bullseye-security
Pin-Priority: 100
PIN
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${APT_PACKAGES[@]}"
fi

# npm packages: `npm ci` only when the lockfile changed since the last install.
if [ ! -f node_modules/.cowlab-lock ] || ! cmp -s package-lock.json node_modules/.cowlab-lock; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.cowlab-lock
fi
