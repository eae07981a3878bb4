#!/bin/bash
# pnpm test:cgroup2 — diyc's cgroup tests on real cgroup v2, in a VM (tools/vm/run-in-vm.sh).
#
# This machine's host may be cgroup v1 or hybrid; Debian 12, Ubuntu 22.04+ and Fedora boot
# v2 only, with systemd owning the tree. The tree built here (pnpm build) is shared into a
# Debian 12 guest (Debian's 6.1 kernel, cgroup_no_v1=all) and nothing is built there.
# Two boots:
#   1. the runner's own init, cgroup2 with every controller: test-e2e/cgroup.test.ts (limits,
#      OOM reports, BPF device filters, freeze, stats, nested cgroups, cleanup, diyc-oci's
#      cgroup cases), oci.test.ts's pause/update case, and runtime-tools' cgroup tests,
#      diyc-oci beside runc (when the built runtime-tools tree is on this machine);
#   2. systemd as PID 1: the systemd cgroup driver (tools/vm/guest-systemd.mjs), and
#      diyc-run's cgroupfs containers in a tree systemd owns.
# The guest runs under TCG here (15-35x slower than the host): each boot takes minutes.
#
# Environment: CGROUP2_PARTS="suite systemd" (default: both); RT_CGROUP_TESTS (runtime-tools
# tests, default devices, memory, pids, cpus); DIYC_TEST_SLOWDOWN (10); DIYC_CONFORMANCE_TREE and
# DIYC_CONFORMANCE_KIT (the runtime-tools tree and shared/conformance); VM_* as run-in-vm.sh.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "test:cgroup2: needs root (QEMU, and the guest's containers)" >&2; exit 2; }
[ -f "$repo/packages/run/dist/index.js" ] && [ -d "$repo/packages/syscalls/build" ] ||
  { echo "test:cgroup2: build first (pnpm build): nothing is built in the guest" >&2; exit 2; }
[ -f "$repo/tools/out/busybox.tar" ] || node "$repo/tools/make-busybox-image.mjs" "$repo/tools/out/busybox.tar" >/dev/null

# One image for both boots: systemd and dbus for the second, runc to compare with.
export VM_EXTRA_PKGS=${VM_EXTRA_PKGS:-systemd,dbus,runc} VM_SHARE=$repo VM_TIMES=1
tree=${DIYC_CONFORMANCE_TREE:-/var/cache/diyc-conformance/runtime-tools}
kit=${DIYC_CONFORMANCE_KIT:-$repo/../shared/conformance}
extra=
if [ -x "$tree/runtimetest" ] && [ -x "$kit/run.sh" ]; then extra="$(readlink -f "$tree") $(readlink -f "$kit")"
else echo "test:cgroup2: no runtime-tools tree at $tree (or kit at $kit): its cgroup tests are skipped" >&2; fi

status=0
t0=$(date +%s)
for part in ${CGROUP2_PARTS:-suite systemd}; do
  start=$(date +%s)
  case $part in
    suite)
      echo "== cgroup v2, the runner's init: e2e cgroup tests, runtime-tools cgroup tests"
      VM_SHARE_EXTRA=$extra VM_TIMEOUT=${VM_TIMEOUT:-2400} "$here/run-in-vm.sh" \
        "DIYC_CONFORMANCE_TREE=${extra%% *} DIYC_CONFORMANCE_KIT=${extra#* } RT_CGROUP_TESTS='${RT_CGROUP_TESTS:-}' DIYC_TEST_SLOWDOWN=${DIYC_TEST_SLOWDOWN:-10} bash tools/vm/guest-cgroup2.sh" ;;
    systemd)
      echo "== cgroup v2 owned by systemd (PID 1): the systemd driver, diyc-run beside it"
      VM_KERNEL_ARGS="init=/lib/systemd/systemd ${VM_KERNEL_ARGS:-}" VM_TIMEOUT=${VM_TIMEOUT:-1200} "$here/run-in-vm.sh" \
        "bash tools/vm/guest-systemd.sh" ;;
    *) echo "test:cgroup2: unknown part $part" >&2; exit 2 ;;
  esac
  rc=$?
  echo "== $part: exit $rc, $(( $(date +%s) - start )) s"
  [ $rc = 0 ] || status=1
done
echo "== test:cgroup2: $([ $status = 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - t0 )) s"
exit $status
