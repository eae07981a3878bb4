#!/usr/bin/env bash
# Installs what diyc needs on a Debian or Ubuntu machine, as root: the kernel tools it
# drives (ip, iptables), busybox for the default image, a compiler for the native
# addon, pnpm, the workspace's packages, and the build.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

# nftables: with the nf_tables backend, `diyc-net clean` drops the tables its rules made.
# libseccomp-dev: the addon links libseccomp (seccomp filters). umoci, libcap2-bin (setcap):
# tests. containerd, podman: the engines the tests drive diyc-oci with. debootstrap: the
# Debian image of the workload tests. docker-registry, skopeo, openssl: the registry, the
# pushes and the token signing of the pull tests. runc, hyperfine:
# tools/bench. containernetworking-plugins: the CNI pods of the Kubernetes tests. zsh, fish,
# man-db: the generated completions and man pages are tried in the shells that read them.
packages=(iproute2 iptables nftables busybox-static tmux util-linux procps g++ make python3 ca-certificates libseccomp-dev umoci libcap2-bin containerd podman debootstrap docker-registry skopeo openssl runc hyperfine containernetworking-plugins zsh fish man-db strace)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# pnpm from the npm registry (corepack's signature check does not pass everywhere).
if ! command -v pnpm >/dev/null 2>&1; then
  echo "setup: installing pnpm"
  npm install -g pnpm@10 >/dev/null
fi

pnpm install --frozen-lockfile
pnpm run build
