#!/bin/bash
# Inside the VM (tools/vm/cgroup2.sh, boot 1): the cgroup e2e tests on cgroup v2 with every
# controller, then runtime-tools' cgroup tests for diyc-oci and for runc, when shared in.
set -u
export PATH=$PWD/node_modules/.bin:$PATH
unset NODE_EXTRA_CA_CERTS
status=0
step() {
  local name=$1 start rc; shift
  start=$(date +%s)
  "$@"; rc=$?
  echo "-- $name: exit $rc in $(( $(date +%s) - start )) s"
  [ $rc = 0 ] || status=1
}
echo "guest: kernel $(uname -r), $(grep -c . /proc/cpuinfo >/dev/null; nproc) CPUs, cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
step e2e-cgroup npx vitest run test-e2e/cgroup.test.ts
step e2e-oci-pause-update npx vitest run test-e2e/oci.test.ts -t 'pauses and resumes'
if [ -n "${DIYC_CONFORMANCE_TREE:-}" ] && [ -x "${DIYC_CONFORMANCE_KIT:-}/run.sh" ]; then
  tests="linux_cgroups_devices linux_cgroups_relative_devices linux_cgroups_memory linux_cgroups_relative_memory
    linux_cgroups_pids linux_cgroups_relative_pids linux_cgroups_cpus linux_cgroups_relative_cpus
    linux_cgroups_blkio linux_cgroups_relative_blkio linux_cgroups_hugetlb linux_cgroups_relative_hugetlb
    linux_cgroups_network linux_cgroups_relative_network"
  # Informational, beside runc: a point runc loses too is the suite's or the kernel's.
  for rt in "$PWD/node_modules/.bin/diyc-oci" /usr/sbin/runc; do
    echo "-- runtime-tools cgroup tests: $rt"
    DIYC_CONFORMANCE_TIMEOUT=120 DIYC_CONFORMANCE_RESULTS=/tmp/rt-$(basename "$rt") \
      bash "$DIYC_CONFORMANCE_KIT/run.sh" "$rt" $tests
  done
fi
exit $status
