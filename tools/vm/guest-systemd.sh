#!/bin/bash
# Inside the VM (tools/vm/cgroup2.sh, boot 2), systemd as PID 1: the systemd cgroup driver
# (guest-systemd.mjs), then diyc-run with its cgroupfs driver in the tree systemd owns.
set -u
export PATH=$PWD/node_modules/.bin:$PATH
unset NODE_EXTRA_CA_CERTS
status=0
fail() { echo "FAIL: $*"; status=1; }
echo "guest: PID 1 is $(ps -p 1 -o comm=), $(systemctl --version | head -1); system $(systemctl is-system-running)"
node tools/vm/guest-systemd.mjs || status=1

# diyc-run keeps cgroupfs: its cgroups sit in /sys/fs/cgroup/diyc beside systemd's slices,
# as Docker's cgroupfs driver does, and systemd leaves a tree it did not make alone.
export DIYC_ROOT=/tmp/diyc-sd
diyc-image unpack tools/out/busybox.tar >/dev/null || fail "diyc-image unpack"
out=$(diyc-run --rm -m 10 --pids 20 sdrun busybox sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; grep -c . /proc/self/cgroup' 2>&1)
[ "$out" = "$(printf '10485760\n20\n1')" ] && echo "ok diyc-run under systemd: limits read inside ($(echo $out))" || fail "diyc-run under systemd: $out"
out=$(diyc-run --rm -m 10 sdoom busybox dd if=/dev/zero of=/dev/null bs=64M count=1 2>&1)
case $out in *"out of memory (limit 10M)"*) echo "ok diyc-run under systemd: the OOM kill is reported" ;; *) fail "OOM under systemd: $out" ;; esac
[ ! -e /sys/fs/cgroup/diyc ] && echo "ok diyc-run under systemd: /sys/fs/cgroup/diyc is gone with its last container" || fail "/sys/fs/cgroup/diyc left: $(ls /sys/fs/cgroup/diyc)"
state=$(systemctl is-system-running)
case $state in running|degraded) echo "ok systemd after diyc-run: $state ($(systemctl --failed --no-legend | wc -l) failed units)" ;; *) fail "systemd is $state" ;; esac
echo "-- systemd part: $([ $status = 0 ] && echo passed || echo FAILED)"
exit $status
