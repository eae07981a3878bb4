#!/usr/bin/env bash
# The README's quick start, on a fresh clone, as root: install what is missing, build,
# make the default busybox image, unpack it, and run a container on it with diyc-run.
#
#   sudo tools/quickstart.sh              an interactive shell in a container named "quickstart"
#   sudo tools/quickstart.sh CMD [ARG...] that command instead
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh >/dev/null
export PATH="$PWD/node_modules/.bin:$PATH"
node tools/make-busybox-image.mjs >/dev/null
diyc-image unpack tools/out/busybox.tar --name busybox >/dev/null
echo "quickstart: diyc-run --rm quickstart busybox ${*:-sh}   (Ctrl-D or exit to leave)" >&2
exec diyc-run --rm quickstart busybox "$@"
