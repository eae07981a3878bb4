#!/usr/bin/env bash
# The README's quick start: set up, make the default busybox image, and run a
# container on it. Run as root on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh >/dev/null
node tools/make-busybox-image.mjs >/dev/null
rootfs=$(mktemp -d /tmp/diyc-quickstart-XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
tar -xpf tools/out/busybox.tar -C "$rootfs"
echo "quickstart: a shell in new PID, UTS, network and mount namespaces, pivoted into busybox (exit to leave)"
node packages/nsexec/dist/bin.js -pnu box --root "$rootfs" /bin/sh "$@"
