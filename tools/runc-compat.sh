#!/bin/bash
# tools/runc-compat.sh [FILE...]   (pnpm test:runc-compat)
#
# Judges diyc-oci by runc's own integration suite: opencontainers/runc tests/integration at
# tag v1.1.5 (the runc Debian 12 ships), run by the runc-bats kit against this checkout's
# built diyc-oci, then compared test by test with what runc 1.1.5 itself passes on this kind
# of machine (the kit's EXPECTED-runc.txt). It prints each file's score beside runc's and
# every test runc passes that diyc-oci does not; it exits 1 when there is one.
#
# FILE: .bats names (exec, exec.bats); default: the whole suite (minutes: ~2 for runc).
# As root, on a machine that can run containers. Not part of `pnpm test`: it takes minutes
# and needs the suite, which is fetched, never committed.
#
# The kit (run.sh, EXPECTED-runc.txt, README.md) is RUNC_BATS_KIT, default
# /work/shared/runc-bats. run.sh installs what the suite needs and clones tag v1.1.5 from a
# local copy of https://github.com/opencontainers/runc (MIRROR=DIR, see its README); its
# results go to $BASE/results/<runtime name> (BASE default /var/cache/diyc-runc-bats).
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
KIT=${RUNC_BATS_KIT:-/work/shared/runc-bats}
BASE=${BASE:-/var/cache/diyc-runc-bats}
export BASE

die() { echo "runc-compat: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "run it as root: the suite makes containers"
if [ ! -x "$KIT/run.sh" ] || [ ! -f "$KIT/EXPECTED-runc.txt" ]; then
	die "no runc-bats kit at $KIT (run.sh, EXPECTED-runc.txt): set RUNC_BATS_KIT to its directory.
  The kit runs opencontainers/runc's tests/integration (tag v1.1.5); it needs a local copy of
  https://github.com/opencontainers/runc (git clone it, then MIRROR=that/dir), as its README says."
fi
bin=$repo/packages/oci/dist/bin.cjs
[ -f "$bin" ] || die "diyc-oci is not built: run \`pnpm build\` in $repo first"

# The kit names results by the runtime's file name: a wrapper named for this checkout keeps
# two checkouts (or runc) from sharing a results directory. The name is short: the suite's
# console sockets live under a directory named for it and the .bats file, and a unix
# socket's path must fit in 108 bytes (with a longer name recvtty cannot bind:
# mounts_recursive, update and seccomp-notify-compat then fail for nothing of diyc-oci's).
name=diyc-oci-$(basename "$repo" | tr -c 'A-Za-z0-9_.\n-' _ | cut -c1-7)
wrapdir=$(mktemp -d /tmp/runc-compat.XXXXXX)
trap 'rm -rf "$wrapdir"' EXIT
printf '#!/bin/sh\nexec %q "$@"\n' "$repo/packages/oci/bin/diyc-oci" >"$wrapdir/$name"
chmod 755 "$wrapdir/$name"

# The suite's "spec validator" test clones runtime-spec from GitHub and `go get`s a module:
# this machine talks to no one, so both are refused at once, locally (runc fails it too).
export GIT_ALLOW_PROTOCOL=file GOPROXY=off GOFLAGS=-mod=vendor

"$KIT/run.sh" "$wrapdir/$name" "$@" || die "the kit failed (see above)"

results=$BASE/results/$name
expected=$KIT/EXPECTED-runc.txt
echo
echo "runc-compat: diyc-oci against runc 1.1.5, file by file (pass/total; runc's from $expected)"
status=0
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
	mapfile -t files < <(sed -n 's/^# \([a-z_-]*\) \{1,\}pass=.*/\1/p' "$expected")
fi
missing_all=()
for f in "${files[@]}"; do
	f=${f%.bats}
	tap=$results/$f.tap
	runc_pass=$(sed -n "s/^# $f \{1,\}pass=\([0-9]*\).*/\1/p" "$expected")
	if [ ! -f "$tap" ]; then
		printf '  %-24s runc %3s   diyc-oci (no result)\n' "$f" "${runc_pass:-?}"
		status=1
		continue
	fi
	total=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$tap" | head -1)
	# TAP: "ok N NAME in 12ms" (--timing); a skipped test ends in "# skip REASON".
	passed=$(grep -E '^ok [0-9]+ ' "$tap" | grep -v ' # skip' | sed -E 's/^ok [0-9]+ //; s/ in [0-9]+ms$//')
	npass=$(grep -c . <<<"$passed")
	printf '  %-24s runc %3s/%-3s diyc-oci %3s/%-3s\n' "$f" "${runc_pass:-?}" "${total:-?}" "$npass" "${total:-?}"
	while IFS= read -r t; do
		[ -n "$t" ] || continue
		if ! grep -qxF -- "$t" <<<"$passed"; then
			missing_all+=("$f: $t")
		fi
	done < <(sed -n "s/^$f: //p" "$expected")
	while IFS= read -r t; do
		[ -n "$t" ] || continue
		grep -qxF -- "$f: $t" "$expected" || echo "  (diyc-oci passes what runc does not: $f: $t)"
	done <<<"$passed"
done
if [ ${#missing_all[@]} -gt 0 ]; then
	echo
	echo "runc-compat: ${#missing_all[@]} test(s) runc passes and diyc-oci does not:"
	printf '  %s\n' "${missing_all[@]}"
	echo "  (TAP logs with each failure's output: $results/)"
	status=1
else
	echo
	echo "runc-compat: diyc-oci passes every test runc passes in these files"
fi
exit $status
