#!/usr/bin/env bash
# The packages as npm users get them: pack every package (prepack builds it and, for
# @diyc/syscalls, the prebuilt addon), install the tarballs with npm into an empty prefix
# with install scripts off (as pnpm 10 and npm 12 leave them), and run what a user types:
# every bin's --version, a command in new namespaces, and a container. Also checks the prebuilt addon
# asks for nothing newer than glibc 2.28 (Debian 10, Ubuntu 20.04 and later).
#
#   bash tools/pack-check.sh        (root, after the build)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/diyc-pack-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "pack-check: $*" >&2; exit 1; }

# prebuildify keeps a directory in $TMPDIR: this run's, removed with it.
export TMPDIR="$work"
for dir in packages/*/; do
  (cd "$dir" && pnpm pack --pack-destination "$work" >/dev/null 2>"$work/pack.log") || { cat "$work/pack.log" >&2; fail "pnpm pack failed in $dir"; }
done
echo "pack-check: packed $(ls "$work"/*.tgz | wc -l) packages"

tar -xzOf "$work"/diyc-syscalls-*.tgz --wildcards 'package/prebuilds/linux-x64/*.node' > "$work/addon.node" ||
  fail "@diyc/syscalls ships no prebuilt addon for linux-x64"
newest=$(objdump -T "$work/addon.node" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
[[ "$(printf '%s\nGLIBC_2.28\n' "$newest" | sort -V | tail -1)" == GLIBC_2.28 ]] ||
  fail "the prebuilt addon needs $newest: it must load with glibc 2.28"
tar -tzf "$work"/diyc-syscalls-*.tgz | grep -x 'package/prebuilds/linux-x64/diyc-init' >/dev/null ||
  fail "@diyc/syscalls ships no prebuilt diyc-init (diyc-run --init)"
tar -tzf "$work"/diyc-syscalls-*.tgz | grep -x 'package/prebuilds/linux-x64/diyc-shim' >/dev/null ||
  fail "@diyc/syscalls ships no prebuilt diyc-shim (the supervisor of a detached container)"
tar -tzf "$work"/diyc-syscalls-*.tgz | grep -x 'package/prebuilds/linux-x64/diyc-oci-front' >/dev/null ||
  fail "@diyc/syscalls ships no prebuilt diyc-oci-front (diyc-oci's calls without Node)"
for t in "$work"/*.tgz; do
  if tar -tzf "$t" | grep -E '\.js\.map$|dist/bin(/[^/]*)?\.d\.ts$|\.cache$' >/dev/null; then fail "$(basename "$t") ships source maps, a bin's declarations or a code cache"; fi
done

prefix="$work/prefix"
mkdir -p "$prefix"
echo '{"private":true}' > "$prefix/package.json"
npm install --prefix "$prefix" --ignore-scripts --no-audit --no-fund --loglevel=error "$work"/*.tgz >/dev/null ||
  fail "npm install of the tarballs failed"
bins="$prefix/node_modules/.bin"
checked=0
for bin in "$bins"/*; do
  name=$(basename "$bin")
  case "$name" in nsexec|diyc-*) ;; *) continue ;; esac
  out=$("$bin" --version 2>&1) || fail "$name --version failed: $out"
  [[ "$out" =~ ^(runc\ version\ [0-9.]+\ \(diyc-oci\ |$name\ )[0-9]+\.[0-9]+\.[0-9]+ ]] || fail "$name --version printed: $out"
  checked=$((checked + 1))
done
((checked >= 12)) || fail "only $checked bins installed"
host=$("$bins/nsexec" -pu packcheck hostname) || fail "nsexec -pu packcheck hostname failed"
[[ "$host" == packcheck ]] || fail "nsexec in new namespaces printed $host"
echo "pack-check: $checked bins answer --version; nsexec -pu packcheck hostname printed $host, with install scripts off"

# A container from the installed tools alone (their bins first on PATH, the repository's
# nowhere): the image unpacked, a run with diyc-init as PID 1 (the prebuilt executable),
# and the --dry-run pipeline replayed, each stage a bin npm installed.
parent="diyc-packcheck-$$"
image=$(mktemp /tmp/diyc-pack-image-XXXXXX.tar)
trap 'rm -rf "$work" "$image"; for d in /sys/fs/cgroup/*/"$parent" /sys/fs/cgroup/"$parent"; do [[ -d $d ]] && rmdir "$d" 2>/dev/null; done; true' EXIT
node tools/make-busybox-image.mjs "$image" >/dev/null
installed() { env PATH="$bins:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" DIYC_ROOT="$work/run" DIYC_CGROUP_PARENT="$parent" "$@"; }
installed diyc-image unpack "$image" --name busybox >/dev/null || fail "the installed diyc-image could not unpack the busybox image"
ran=$(installed diyc-run --rm --net none --init packrun busybox sh -c 'echo "$(hostname) $(cat /proc/1/comm)"') || fail "the installed diyc-run could not run a container"
[[ "$ran" == "packrun init" ]] || fail "the installed diyc-run printed: $ran"
pipeline=$(installed diyc-run --dry-run --net none packpipe busybox hostname)
replayed=$(installed sh -c "$pipeline") || fail "the --dry-run pipeline did not run from the installed bins: $pipeline"
[[ "$replayed" == packpipe ]] || fail "the replayed pipeline printed: $replayed"
installed diyc-rm packpipe || fail "the installed diyc-rm could not remove the container"
piped=$(installed diyc-run --rm --pipeline --net none packstages busybox hostname) || fail "the installed diyc-run --pipeline failed"
[[ "$piped" == packstages ]] || fail "the installed diyc-run --pipeline printed: $piped"
echo "pack-check: from the installed tarballs, diyc-run --init printed '$ran', and the --dry-run pipeline and --pipeline ran stage by stage"

# diyc-oci from the tarballs: create runs Node, and gives the prebuilt front (packed 0644)
# its x bits back; start, state, kill and delete are then the front's own: with no node to
# hand a call to (DIYC_OCI_NODE=/bin/false) they still succeed.
bundle="$work/bundle"
mkdir -p "$bundle/rootfs"
tar -xpf "$image" -C "$bundle/rootfs"
oci() { installed diyc-oci --root "$work/oci" "$@"; }
front() { DIYC_OCI_NODE=/bin/false oci "$@"; }
trap 'oci delete --force packoci >/dev/null 2>&1; rm -rf "$work" "$image"; for d in /sys/fs/cgroup/*/"$parent" /sys/fs/cgroup/"$parent"; do [[ -d $d ]] && rmdir "$d" 2>/dev/null; done; true' EXIT
oci spec --no-terminal --bundle "$bundle" || fail "the installed diyc-oci spec failed"
# No cgroupsPath: diyc-oci's own parent for this --root, which delete removes with the last.
node -e 'const fs = require("fs"); const file = process.argv[1]; const c = JSON.parse(fs.readFileSync(file, "utf8"));
  c.process.args = ["sleep", "100"]; fs.writeFileSync(file, JSON.stringify(c));' "$bundle/config.json"
oci create --bundle "$bundle" packoci </dev/null >/dev/null 2>&1 || fail "the installed diyc-oci could not create a container"
front start packoci || fail "the installed diyc-oci-front did not start the container (or handed the call to node)"
front state packoci | grep -q '"status": "running"' || fail "the installed diyc-oci-front's state is not running"
front kill packoci KILL || fail "the installed diyc-oci-front did not kill the container"
for _ in $(seq 100); do front state packoci | grep -q '"status": "stopped"' && break; sleep 0.05; done
front delete packoci || fail "the installed diyc-oci-front did not delete the stopped container"
[[ ! -e "$work/oci/packoci" ]] || fail "the container's state stayed after delete"
echo "pack-check: from the installed tarballs, diyc-oci-front (prebuilt, made executable by create) did start, state, kill and delete with no node"

# One tool alone, as `npm i -g @diyc/nsexec`: its tarball and those of the packages it
# depends on, nothing else.
alone="$work/alone"
mkdir -p "$alone"
echo '{"private":true}' > "$alone/package.json"
npm install --prefix "$alone" --ignore-scripts --no-audit --no-fund --loglevel=error \
  "$work"/diyc-nsexec-*.tgz "$work"/diyc-cgroup-*.tgz "$work"/diyc-cli-*.tgz "$work"/diyc-record-*.tgz "$work"/diyc-syscalls-*.tgz >/dev/null ||
  fail "npm install of @diyc/nsexec alone failed"
[[ "$("$alone/node_modules/.bin/nsexec" -pu alone hostname)" == alone ]] || fail "nsexec installed alone does not run"
[[ ! -e "$alone/node_modules/.bin/diyc-run" ]] || fail "@diyc/nsexec alone brought diyc-run"

# Without the addon (no prebuilt for this machine, no compiler): what needs no system call
# still works, and what does says in one line how to fix it.
rm -rf "$prefix/node_modules/@diyc/syscalls/prebuilds"
"$bins/diyc-ps" --help >/dev/null || fail "diyc-ps --help needs the addon"
"$bins/diyc-image" --version >/dev/null || fail "diyc-image --version needs the addon"
DIYC_ROOT="$work/state" "$bins/diyc-image" ls >/dev/null || fail "diyc-image ls needs the addon"
missing=$("$bins/nsexec" -pu h true 2>&1) && fail "nsexec ran without its addon"
[[ "$missing" == "nsexec: the native part of @diyc/syscalls is not built for this system"*"npm rebuild @diyc/syscalls"* && $(wc -l <<<"$missing") -eq 1 ]] ||
  fail "without the addon nsexec printed: $missing"
echo "pack-check: @diyc/nsexec installs and runs alone; without the addon, --help, --version and ls work and nsexec says: $missing"

