#!/bin/bash
# tools/vm/cgroup2-smoke.sh — CI's short look at cgroup v2 (the whole suite: pnpm test:cgroup2).
#
# One boot of the VM (tools/vm/run-in-vm.sh, cgroup v2 only), the built tree shared in, and
# three containers on --net none (no bridge to make in the guest): -m 10 with an allocation
# the OOM killer ends (and diyc-run says so), a --pids limit that a fork loop runs into, and a device node the BPF device filter refuses.
# About a minute with the image built (the first run builds it: about two minutes more).
# Skips, exit 0, with the reason, where QEMU cannot run: not root, no QEMU to be had, or a
# VM that fails before it reports.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
skip() { echo "cgroup2-smoke: SKIPPED: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root to boot the VM"
[ -e /dev/kvm ] || [ -x /usr/bin/qemu-system-x86_64 ] || command -v apt-get >/dev/null || skip "no QEMU here, and no apt to install it"
[ "$(uname -m)" = x86_64 ] || skip "the VM image is x86_64"
[ -f "$repo/packages/run/dist/index.js" ] || { echo "cgroup2-smoke: build first (pnpm build)" >&2; exit 2; }
[ -f "$repo/tools/out/busybox.tar" ] || node "$repo/tools/make-busybox-image.mjs" "$repo/tools/out/busybox.tar" >/dev/null

start=$(date +%s)
VM_EXTRA_PKGS=${VM_EXTRA_PKGS:-systemd,dbus,runc} VM_SHARE=$repo VM_TIMEOUT=${VM_TIMEOUT:-600} "$here/run-in-vm.sh" '
export PATH=$PWD/node_modules/.bin:$PATH DIYC_ROOT=/tmp/diyc-smoke DIYC_CGROUP_PARENT=diyc-smoke
unset NODE_EXTRA_CA_CERTS
failed=0
check() { if [ "$2" = 0 ]; then echo "ok $1"; else echo "FAIL $1: $3"; failed=1; fi; }
diyc-image unpack tools/out/busybox.tar >/dev/null 2>&1
out=$(diyc-run --rm --net none -m 10 smoke-oom busybox sh -c "cat /sys/fs/cgroup/memory.max; dd if=/dev/zero of=/dev/null bs=64M count=1" 2>&1); rc=$?
case "$rc $out" in "137 10485760"*"out of memory (limit 10M)"*) r=0 ;; *) r=1 ;; esac
check "memory: -m 10 is memory.max inside, a 64M allocation is OOM-killed and reported" $r "exit $rc: $out"
out=$(diyc-run --rm --net none --pids 10 smoke-pids busybox sh -c "cat /sys/fs/cgroup/pids.max; for i in \$(seq 20); do sleep 3 & done; wait" 2>&1); rc=$?
case "$out" in "10"*"Resource temporarily unavailable"*) r=0 ;; *) r=1 ;; esac
check "pids: --pids 10 holds a loop of 20 forks" $r "$out"
out=$(diyc-run --rm --net none smoke-dev busybox sh -c "mknod /tmp/kmsg c 1 11 && head -c 1 /tmp/kmsg; echo x > /dev/null && echo null-ok" 2>&1)
case "$out" in *"Operation not permitted"*null-ok*) r=0 ;; *) r=1 ;; esac
check "devices: a /dev/kmsg node made inside is refused by the BPF filter, /dev/null is not" $r "$out"
left=$(ls /sys/fs/cgroup | grep diyc-smoke)
check "nothing left in /sys/fs/cgroup" $([ -z "$left" ]; echo $?) "$left"
exit $failed
'
rc=$?
took=$(( $(date +%s) - start ))
[ $rc = 125 ] && skip "the VM failed before it reported (see above): QEMU cannot run here (${took} s)"
echo "cgroup2-smoke: $([ $rc = 0 ] && echo passed || echo "FAILED (exit $rc)") in ${took} s"
exit $rc
