#!/usr/bin/env bash
# Builds the Debian minbase rootfs the acceptance tests run in
# (runsc-cli/tests/debian.rs): bookworm with sqlite3, procps, python3 and
# git, from the mirror apt is configured with. Reuses a complete one.
# Usage: .ci/debian-rootfs.sh DIR
set -euo pipefail
dir=${1:?usage: debian-rootfs.sh DIR}
if [ -e "$dir/.rvisor-complete" ]; then
    echo "[ci] Debian rootfs present in $dir"
    exit 0
fi
mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
if [ -z "$mirror" ]; then
    mirror=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | head -n1 || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}
echo "[ci] debootstrap --variant=minbase bookworm $dir $mirror"
rm -rf "$dir"
debootstrap --variant=minbase --include=sqlite3,procps,python3,git,ca-certificates \
    bookworm "$dir" "$mirror" > "$dir.log" 2>&1 || { tail -n 30 "$dir.log"; exit 1; }
touch "$dir/.rvisor-complete"
