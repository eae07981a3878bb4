#!/bin/bash
# podman --cgroup-manager systemd with diyc-oci as its runtime, beside runc, in a VM whose
# PID 1 is systemd (tools/vm/run-in-vm.sh; cgroup v2 only, Debian 12, QEMU TCG: minutes).
# The tree built here (pnpm build) is shared into the guest; tools/vm/guest-podman.sh runs
# there. It checks what issue 21 asks of the systemd driver through an engine: the scope
# podman names (machine.slice:libpod:ID), -m in memory.max and in systemd's MemoryMax,
# pause, exec, update, stop, rm, and that nothing is left; and node's
# process.constrainedMemory() inside a container (podman + diyc-oci, and diyc-run -m).
#
# Environment: VM_* as run-in-vm.sh. Its image has podman and netavark (podman's
# containers-common needs a network stack installed), so it is an image of its own.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "podman-systemd: needs root (QEMU, and the guest's containers)" >&2; exit 2; }
[ -f "$repo/packages/oci/dist/bin.cjs" ] && [ -d "$repo/packages/syscalls/build" ] ||
  { echo "podman-systemd: build first (pnpm build): nothing is built in the guest" >&2; exit 2; }
[ -f "$repo/tools/out/busybox.tar" ] || node "$repo/tools/make-busybox-image.mjs" "$repo/tools/out/busybox.tar" >/dev/null
export VM_EXTRA_PKGS=${VM_EXTRA_PKGS:-systemd,dbus,runc,podman,netavark} VM_SHARE=$repo VM_TIMES=1
VM_KERNEL_ARGS="init=/lib/systemd/systemd ${VM_KERNEL_ARGS:-}" VM_TIMEOUT=${VM_TIMEOUT:-1800} \
  exec "$here/run-in-vm.sh" "bash tools/vm/guest-podman.sh"
