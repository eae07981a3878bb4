#!/bin/bash
# Inside the VM (tools/vm/podman-systemd.sh), systemd as PID 1: podman --cgroup-manager
# systemd with runc, then with diyc-oci, the same steps for each; then node's
# constrainedMemory in a container. podman calls pause, unpause, update, kill and delete
# itself, without --systemd-cgroup (only conmon's create and exec get it).
set -u
unset NODE_EXTRA_CA_CERTS
export PATH=$PWD/node_modules/.bin:$PATH
status=0
fail() { echo "FAIL: $*"; status=1; }
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
leftovers() {
  local units cgroups
  units=$(systemctl list-units --all --no-legend | grep -i libpod | tr -s ' ' | tr '\n' ';')
  cgroups=$(find /sys/fs/cgroup -iname '*libpod*' | tr '\n' ' ')
  echo "  left: units [$units] cgroups [$cgroups] containers [$(podman ps -aq | tr '\n' ' ')] mounts [$(grep -cE '/containers/storage/overlay/[0-9a-f]{20}' /proc/self/mountinfo)]"
  [ -z "$units$cgroups$(podman ps -aq)" ] || fail "$1 left something"
}
echo "guest: PID 1 is $(ps -p 1 -o comm=), $(systemctl --version | head -1); $(podman --version); $(runc --version | head -1); conmon $(conmon --version | head -1 | awk '{print $3}'); node $(node --version)"
s=$(date +%s.%N)
podman import tools/out/busybox.tar localhost/busybox:vm >/dev/null 2>&1 && echo "podman import tools/out/busybox.tar: $(secs "$s") s" || fail "podman import"

for rt in runc "$PWD/node_modules/.bin/diyc-oci"; do
  name=$(basename "$rt")
  P="podman --runtime $rt --cgroup-manager systemd"
  echo; echo "== $P"
  s=$(date +%s.%N)
  out=$($P run --rm --network none --memory 64m localhost/busybox:vm sh -c 'cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max' 2>&1); rc=$?
  echo "  run --rm --memory 64m ... cat /proc/self/cgroup /sys/fs/cgroup/memory.max: rc=$rc $(secs "$s") s: $(echo $out)"
  [ $rc = 0 ] && [ "$(echo $out)" = "0::/ 67108864" ] || fail "$name run --rm"
  sleep 1; leftovers "$name run --rm"

  s=$(date +%s.%N)
  id=$($P run -d --network none --memory 64m localhost/busybox:vm sh -c 'sleep 300 & sleep 300' 2>&1); rc=$?
  echo "  run -d: rc=$rc $(secs "$s") s"
  [ $rc = 0 ] || { fail "$name run -d: $id"; continue; }
  unit=libpod-$id.scope cg=/sys/fs/cgroup/machine.slice/libpod-$id.scope
  pid=$(podman inspect -f '{{.State.Pid}}' "$id")
  props=$(systemctl show "$unit" -p ActiveState,Slice,Delegate,MemoryMax | sort | tr '\n' ' ')
  echo "  /proc/$pid/cgroup: $(cat /proc/$pid/cgroup | sed "s/$id/ID/"); systemctl show: $props; procs: $(wc -l < $cg/cgroup.procs)"
  [ "$props" = "ActiveState=active Delegate=yes MemoryMax=67108864 Slice=machine.slice " ] && [ "$(cat $cg/memory.max)" = 67108864 ] || fail "$name: the scope"
  s=$(date +%s.%N); out=$($P pause "$id" 2>&1); rc=$?
  echo "  pause: rc=$rc $(secs "$s") s: $(grep frozen $cg/cgroup.events), podman says $(podman inspect -f '{{.State.Status}}' "$id")"
  [ $rc = 0 ] && grep -q 'frozen 1' $cg/cgroup.events || fail "$name pause: $out"
  s=$(date +%s.%N); out=$($P unpause "$id" 2>&1); rc=$?
  echo "  unpause: rc=$rc $(secs "$s") s: $(grep frozen $cg/cgroup.events)"
  [ $rc = 0 ] && grep -q 'frozen 0' $cg/cgroup.events || fail "$name unpause: $out"
  s=$(date +%s.%N); out=$($P exec "$id" cat /proc/self/cgroup 2>&1); rc=$?
  echo "  exec cat /proc/self/cgroup: rc=$rc $(secs "$s") s: $out"
  [ $rc = 0 ] && [ "$out" = "0::/" ] || fail "$name exec: not in the scope"
  s=$(date +%s.%N); out=$($P update --memory 96m "$id" 2>&1); rc=$?
  echo "  update --memory 96m: rc=$rc $(secs "$s") s: memory.max $(cat $cg/memory.max), MemoryMax $(systemctl show -p MemoryMax --value "$unit")"
  [ $rc = 0 ] && [ "$(cat $cg/memory.max)" = 100663296 ] || fail "$name update: $out"
  s=$(date +%s.%N); out=$($P stop -t 0 "$id" 2>&1); rc=$?; echo "  stop -t 0: rc=$rc $(secs "$s") s"
  [ $rc = 0 ] || fail "$name stop: $out"
  s=$(date +%s.%N); out=$($P rm -f -t 0 "$id" 2>&1); rc=$?; echo "  rm -f: rc=$rc $(secs "$s") s"
  [ $rc = 0 ] || fail "$name rm: $out"
  sleep 1; leftovers "$name run -d"
done

echo; echo "== node's process.constrainedMemory() in a container with a 64M limit (the host's node bound read-only)"
js='console.log(process.constrainedMemory?.() ?? require("os").constrainedMemory?.())'
s=$(date +%s.%N)
out=$(podman --runtime "$PWD/node_modules/.bin/diyc-oci" --cgroup-manager systemd run --rm --network none --memory 64m \
  -v /usr:/usr:ro -v /usr/lib:/lib:ro -v /usr/lib64:/lib64:ro localhost/busybox:vm /usr/local/bin/node -e "$js" 2>&1); rc=$?
echo "  podman + diyc-oci: rc=$rc $(secs "$s") s: $out"
[ "$out" = 67108864 ] || fail "node under podman + diyc-oci"
export DIYC_ROOT=/tmp/diyc-podman-vm
diyc-image unpack tools/out/busybox.tar >/dev/null 2>&1 || fail "diyc-image unpack"
s=$(date +%s.%N)
out=$(diyc-run --rm --net none -m 64 --volume /usr:/usr:ro --volume /usr/lib:/lib:ro --volume /usr/lib64:/lib64:ro vmnode busybox /usr/local/bin/node -e "$js" 2>&1); rc=$?
echo "  diyc-run -m 64: rc=$rc $(secs "$s") s: $out"
[ "$out" = 67108864 ] || fail "node under diyc-run"
[ ! -e /sys/fs/cgroup/diyc ] || fail "/sys/fs/cgroup/diyc left"
leftovers "node"
echo "  systemd: $(systemctl is-system-running), $(systemctl --failed --no-legend | wc -l) failed units"
echo "-- podman-systemd: $([ $status = 0 ] && echo passed || echo FAILED)"
exit $status
