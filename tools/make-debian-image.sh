#!/usr/bin/env bash
# Builds a Debian image for the tests of real workloads: a minbase bookworm rootfs made by
# debootstrap from the mirror this machine's apt uses, as a tarball diyc-image unpacks.
# It is cached: a second run prints the tarball's path at once.
#
#   bash tools/make-debian-image.sh [OUT.tar]   (root; default /var/cache/diyc-test/debian-bookworm.tar)
set -euo pipefail
out=${1:-/var/cache/diyc-test/debian-bookworm.tar}
if [[ -s "$out" ]]; then echo "$out"; exit 0; fi
command -v debootstrap >/dev/null || { echo "make-debian-image: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
# The mirror apt already uses (deb822 sources first, then sources.list).
mirror=$(grep -hoE '^URIs:\s*\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
[[ -n "$mirror" ]] || mirror=$(grep -hoE '^deb\s+\S+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
work=$(mktemp -d /tmp/diyc-debian-XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "make-debian-image: debootstrap --variant=minbase bookworm from $mirror (a few minutes, once)" >&2
debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" > "$work/log" 2>&1 || { tail -20 "$work/log" >&2; exit 1; }
# apt inside the container uses the same mirror.
echo "deb $mirror bookworm main" > "$work/rootfs/etc/apt/sources.list"
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*_* 
mkdir -p "$(dirname "$out")"
tar --numeric-owner -cpf "$out.tmp" -C "$work/rootfs" .
mv "$out.tmp" "$out"
echo "$out"
