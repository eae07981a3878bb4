#!/bin/bash
# run-in-vm.sh 'COMMAND'
#
# Copied from the workplace's shared/vm/run-in-vm.sh (format diyc-vm-v2) and changed for
# diyc's own suites (tools/vm/cgroup2.sh, tools/vm/cgroup2-smoke.sh):
#   - the image cache is keyed by its package list, so an image with VM_EXTRA_PKGS
#     (systemd, runc) never stands in for the plain one, nor the other way round;
#   - init=... on VM_KERNEL_ARGS is honoured (the initramfs switches to it), and an image
#     with systemd runs COMMAND from a unit, diyc-cmd.service, once the system is up:
#     systemd then owns the cgroup tree, as on a Debian or Fedora host;
#   - VM_SHARE_EXTRA="DIR ..." shares more host directories, each at its own path.
#
# Boots a small Debian bookworm VM whose kernel mounts a pure cgroup v2
# (unified) hierarchy, runs COMMAND as root inside it, streams its output to
# stdout, powers the VM off and exits with COMMAND's exit status.
#
# First run builds everything under $VM_CACHE (default /var/cache/diyc-vm):
#   vmlinuz      Debian kernel (linux-image-amd64 of the host's apt sources)
#   initrd.img   tiny busybox initramfs (virtio_blk + ext4 modules)
#   rootfs.img   ext4 image: debootstrap minbase + iproute2/iptables/nftables/
#                kmod/procs + all needed kernel modules + host's node/npm
# Later runs reuse it.  The root disk is attached with snapshot=on, so every
# run starts from the same clean image and leaves nothing behind.
#
# Environment:
#   VM_SHARE=/host/dir     shared read-write into the guest over virtio-9p
#   VM_SHARE_MOUNT=/path   where the share appears in the guest (default: same
#                          path as VM_SHARE); COMMAND starts in that directory
#   VM_SHARE_EXTRA="D ..." more host directories, each shared at its own path
#   VM_MEM=2048 VM_SMP=2   guest memory (MiB) / vCPUs
#   VM_TIMEOUT=3600        seconds before the VM is killed (exit 124)
#   VM_ACCEL=tcg           tcg (default) or kvm (only useful where /dev/kvm is
#                          real VMX/SVM; this host's /dev/kvm is PVM, see notes)
#   VM_CONSOLE=1           also print the guest kernel console at the end
#   VM_KERNEL_ARGS="..."   extra kernel command line arguments
#   VM_TIMES=1             print boot-to-command and total wall time
#   VM_CACHE=/var/cache/diyc-vm   VM_REBUILD=1 forces a rebuild (each package list
#                          has its own image in a folder of VM_CACHE)
#   VM_KEEP_BUILD=1        keep $VM_CACHE/build (debootstrap tree) after a build
#   VM_NODE=/usr/bin/node  node binary copied into the image (default: host's)
#   VM_EXTRA_PKGS="a,b"    extra Debian packages for the image (at build time)
#
# Exit status: COMMAND's; 124 on timeout; 125 if the VM failed before
# reporting a status.
set -euo pipefail

FORMAT=diyc-vm-v2-diyc2
MIRROR=${VM_MIRROR:-http://deb.debian.org/debian}
SUITE=${VM_SUITE:-bookworm}
PKGS="iproute2,iptables,nftables,kmod,procps,util-linux,iputils-ping,libstdc++6,e2fsprogs,ca-certificates"
[ -n "${VM_EXTRA_PKGS:-}" ] && PKGS="$PKGS,$VM_EXTRA_PKGS"
# One image per package list: the plain one and one with systemd sit side by side.
CACHE=${VM_CACHE:-/var/cache/diyc-vm}/$(printf '%s' "$FORMAT $SUITE $PKGS" | md5sum | cut -c1-10)

log() { echo "run-in-vm: $*" >&2; }
die() { log "$*"; exit 125; }

[ "$(id -u)" = 0 ] || die "must run as root"

ensure_host_tools() {
    local need=()
    command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
    command -v debootstrap >/dev/null || need+=(debootstrap)
    command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
    command -v xz >/dev/null || need+=(xz-utils)
    if [ ${#need[@]} -gt 0 ]; then
        log "installing ${need[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null ||
            { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive \
              apt-get install -y --no-install-recommends "${need[@]}" >/dev/null; }
    fi
}

# ---------------------------------------------------------------- build ----
write_guest_init() {   # $1 = rootfs dir
    cat > "$1/sbin/diyc-init" <<'EOF'
#!/bin/bash
# PID 1 of the diyc VM: mount the API filesystems with a cgroup v2-only
# hierarchy, run /run/diyc/cmd.sh, report its status, power off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys  || mount -t sysfs sysfs /sys
mountpoint -q /dev  || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm
mount -t mqueue mqueue /dev/mqueue
ln -sf /proc/self/fd /dev/fd; ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
echo "diyc-init: start" > /dev/kmsg
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
    echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control
done
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
mkdir -p /run/lock
hostname diyc-vm
ip link set lo up
exec /sbin/diyc-cmd
EOF
    chmod 755 "$1/sbin/diyc-init"
    # The command runner: after diyc-init, or as diyc-cmd.service under systemd.
    cat > "$1/sbin/diyc-cmd" <<'EOF'
#!/bin/bash
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
mkdir -p /run/diyc
echo "diyc-cmd: modprobe" > /dev/kmsg
modprobe -a 9pnet_virtio 9p overlay virtio_rng 2>/dev/null
echo "diyc-cmd: modprobe done" > /dev/kmsg
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 diyc /run/diyc || {
    echo "diyc-init: cannot mount control share" >&2; echo o > /proc/sysrq-trigger; }
. /run/diyc/env
workdir=/root
if [ -n "$VM_SHARE_MOUNT" ]; then
    mkdir -p "$VM_SHARE_MOUNT"
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 share "$VM_SHARE_MOUNT" &&
        workdir=$VM_SHARE_MOUNT
fi
i=0
for dir in $VM_SHARE_EXTRA; do
    mkdir -p "$dir"
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 "extra$i" "$dir"
    i=$((i+1))
done
date +%s.%N > /run/diyc/t-ready
echo "diyc-init: running command" > /dev/kmsg
out=/dev/ttyS1
stty -F $out raw -echo 2>/dev/null
cd "$workdir"
bash /run/diyc/cmd.sh </dev/null >$out 2>&1 &
wait $!
rc=$?
echo $rc > /run/diyc/rc
sync
cd /
[ -n "$VM_SHARE_MOUNT" ] && umount -l "$VM_SHARE_MOUNT" 2>/dev/null
echo o > /proc/sysrq-trigger
sleep 30
EOF
    chmod 755 "$1/sbin/diyc-cmd"
    # With systemd in the image (VM_EXTRA_PKGS=systemd,...; init=/lib/systemd/systemd):
    # the command runs once the system is up, from a unit, as a service would.
    if [ -x "$1/lib/systemd/systemd" ]; then
        cat > "$1/etc/systemd/system/diyc-cmd.service" <<'EOF'
[Unit]
Description=diyc VM command
After=multi-user.target dbus.service
Wants=dbus.service

[Service]
Type=simple
ExecStart=/sbin/diyc-cmd
StandardInput=null
StandardOutput=journal+console
EOF
        mkdir -p "$1/etc/systemd/system/default.target.wants"
        ln -sf ../diyc-cmd.service "$1/etc/systemd/system/default.target.wants/diyc-cmd.service"
        # Nothing waits for a login on the console, a network or the clock.
        for u in serial-getty@ttyS0.service getty@tty1.service systemd-networkd-wait-online.service \
                 systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
            ln -sf /dev/null "$1/etc/systemd/system/$u"
        done
        printf '/dev/vda / ext4 rw 0 1\n' > "$1/etc/fstab"
    fi
}

write_initrd_init() {   # $1 = initrd dir
    cat > "$1/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod "/lib/modules/$m" 2>/dev/null; done < /lib/modules/load.order
i=0
while [ ! -b /dev/vda ] && [ $i -lt 400 ]; do usleep 25000; i=$((i+1)); done
if ! mount -t ext4 -o rw /dev/vda /newroot; then
    echo "diyc-initrd: cannot mount /dev/vda"; poweroff -f
fi
# init=... on the kernel command line (systemd) instead of the runner's own init.
init=/sbin/diyc-init
for arg in $(cat /proc/cmdline); do case $arg in init=*) init=${arg#init=} ;; esac; done
mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
exec switch_root /newroot "$init"
EOF
    chmod 755 "$1/init"
}

extract_vmlinux() {   # $1 = bzImage, $2 = output ELF
    local setup poff plen start magic dec
    setup=$(od -An -t u1 -j $((0x1f1)) -N 1 "$1" | tr -d ' ')
    [ "$setup" = 0 ] && setup=4
    read -r poff plen < <(od -An -t u4 -j $((0x248)) -N 8 "$1")
    start=$(( (setup + 1) * 512 + poff ))
    magic=$(od -An -t x1 -j "$start" -N 4 "$1" | tr -d ' ')
    case $magic in
        fd377a58) dec="xz -dc" ;;  1f8b*) dec="gzip -dc" ;;  28b52ffd) dec="zstd -dc" ;;
        *) return 1 ;;
    esac
    # the payload ends with a 4-byte uncompressed size, not part of the stream
    dd if="$1" bs=1M iflag=skip_bytes,count_bytes skip="$start" count=$((plen - 4)) \
        status=none | $dec > "$2" 2>/dev/null || return 1
    [ "$(od -An -t x1 -N 4 "$2" | tr -d ' ')" = 7f454c46 ]
}

build() {
    ensure_host_tools
    local B=$CACHE/build
    mkdir -p "$B"
    cd "$B"
    local kpkg=${VM_KERNEL_PKG:-}
    if [ -z "$kpkg" ]; then
        kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
               awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
        if [ -z "$kpkg" ]; then apt-get update >/dev/null
            kpkg=$(apt-cache depends linux-image-amd64 |
                   awk '/Depends: linux-image-[0-9]/ {print $2; exit}'); fi
    fi
    [ -n "$kpkg" ] || die "cannot resolve the kernel package"
    log "building image in $CACHE (kernel package $kpkg)"
    rm -rf debs kernel bbx initrd; mkdir -p debs kernel bbx initrd
    (cd debs && apt-get download "$kpkg" busybox-static >/dev/null 2>&1) ||
        die "apt-get download $kpkg busybox-static failed"
    dpkg-deb -x debs/"$kpkg"_*.deb kernel
    dpkg-deb -x debs/busybox-static_*.deb bbx
    local kver; kver=$(ls kernel/lib/modules)
    [ -f "kernel/boot/vmlinuz-$kver" ] || die "no vmlinuz in $kpkg"

    # root filesystem
    if [ "$(cat rootfs/.debootstrap-ok 2>/dev/null)" != "$SUITE $PKGS" ]; then
        rm -rf rootfs
        log "debootstrap $SUITE (minbase + $PKGS)"
        debootstrap --variant=minbase --include="$PKGS" "$SUITE" rootfs "$MIRROR" \
            > debootstrap.log 2>&1 || { tail -20 debootstrap.log >&2; die "debootstrap failed"; }
        echo "$SUITE $PKGS" > rootfs/.debootstrap-ok
    fi
    local R=rootfs
    rm -rf "$R/lib/modules"; mkdir -p "$R/lib/modules/$kver"
    local M=kernel/lib/modules/$kver
    cp -a "$M"/modules.* "$R/lib/modules/$kver/"
    mkdir -p "$R/lib/modules/$kver/kernel/drivers" "$R/lib/modules/$kver/kernel/drivers/net"
    for d in arch block crypto fs lib mm net virt; do
        [ -d "$M/kernel/$d" ] && cp -a "$M/kernel/$d" "$R/lib/modules/$kver/kernel/"
    done
    for d in virtio block char md firmware vhost crypto base dma-buf tty vdpa nvdimm dax acpi; do
        [ -d "$M/kernel/drivers/$d" ] && cp -a "$M/kernel/drivers/$d" "$R/lib/modules/$kver/kernel/drivers/"
    done
    (cd "$M/kernel/drivers/net" && for f in *; do
        case $f in wireless|ethernet|usb|can|wwan|ieee802154|hamradio|fddi|wan|arcnet|plip|\
                   appletalk|hippi|hyperv|thunderbolt*|xen-*|fjes|sb1000.ko|mhi_net.ko) ;;
             *) cp -a "$f" "$OLDPWD/$R/lib/modules/$kver/kernel/drivers/net/" ;; esac; done)
    chroot "$R" /sbin/depmod -a "$kver"
    cp bbx/bin/busybox "$R/bin/busybox"
    # node (and npm) from the host, if there is one
    local node=${VM_NODE:-$(command -v node || true)}
    if [ -n "$node" ] && [ -x "$node" ]; then
        mkdir -p "$R/usr/local/bin" "$R/usr/local/lib/node_modules"
        cp -L "$node" "$R/usr/local/bin/node"
        local nm; nm=$(dirname "$(readlink -f "$node")")/../lib/node_modules
        for p in npm corepack; do
            if [ -d "$nm/$p" ]; then
                rm -rf "$R/usr/local/lib/node_modules/$p"
                cp -a "$nm/$p" "$R/usr/local/lib/node_modules/"
            fi
        done
        [ -d "$R/usr/local/lib/node_modules/npm" ] && {
            ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$R/usr/local/bin/npm"
            ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$R/usr/local/bin/npx"; }
    fi
    echo diyc-vm > "$R/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 diyc-vm\n::1 localhost\n' > "$R/etc/hosts"
    write_guest_init "$R"
    rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/*_Packages

    # initramfs: busybox + virtio_pci/virtio_blk/ext4 and their dependencies
    mkdir -p initrd/bin initrd/lib/modules
    cp bbx/bin/busybox initrd/bin/busybox
    chroot "$R" /sbin/modprobe --show-depends -S "$kver" -a virtio_pci virtio_blk ext4 |
        awk '$1=="insmod" {print $2}' | awk '!seen[$0]++' > modlist
    : > initrd/lib/modules/load.order
    while read -r f; do
        cp "$R$f" initrd/lib/modules/
        basename "$f" >> initrd/lib/modules/load.order
    done < modlist
    write_initrd_init initrd
    (cd initrd && find . | sort | "$B/bbx/bin/busybox" cpio -o -H newc 2>/dev/null) > "$CACHE/initrd.img.new"

    # ext4 image (sparse) made from the directory
    rm -f "$CACHE/rootfs.img.new"
    mkfs.ext4 -q -F -L diyc-root -d "$R" "$CACHE/rootfs.img.new" "${VM_DISK_SIZE:-4G}" >/dev/null
    cp "kernel/boot/vmlinuz-$kver" "$CACHE/vmlinuz.new"
    mv -f "$CACHE/vmlinuz.new" "$CACHE/vmlinuz"
    # An uncompressed ELF vmlinux boots through PVH and skips the in-guest
    # decompression (about 3 s under TCG).  Fall back to the bzImage if the
    # payload cannot be unpacked.
    rm -f "$CACHE/vmlinux"
    extract_vmlinux "$CACHE/vmlinuz" "$CACHE/vmlinux.new" &&
        mv -f "$CACHE/vmlinux.new" "$CACHE/vmlinux" || rm -f "$CACHE/vmlinux.new"
    mv -f "$CACHE/initrd.img.new" "$CACHE/initrd.img"
    mv -f "$CACHE/rootfs.img.new" "$CACHE/rootfs.img"
    rm -rf kernel bbx initrd debs
    cd "$CACHE"
    [ "${VM_KEEP_BUILD:-0}" = 1 ] || rm -rf "$B"
    echo "$FORMAT $kver" > "$CACHE/ready"
    log "image ready: $(cat "$CACHE/ready")"
}

mkdir -p "$CACHE"
if [ "${VM_REBUILD:-0}" = 1 ] || [ "$(cut -d' ' -f1 "$CACHE/ready" 2>/dev/null)" != "$FORMAT" ]; then
    exec 9>"$CACHE/.lock"
    flock 9
    if [ "${VM_REBUILD:-0}" = 1 ] || [ "$(cut -d' ' -f1 "$CACHE/ready" 2>/dev/null)" != "$FORMAT" ]; then
        rm -f "$CACHE/ready"
        (build)
    fi
    flock -u 9; exec 9>&-
fi
ensure_host_tools

# ------------------------------------------------------------------ run ----
[ $# -ge 1 ] || { echo "usage: $0 'COMMAND'" >&2; exit 2; }
CTL=$(mktemp -d /tmp/diyc-vm.XXXXXX)
QPID= TPID=
cleanup() {
    local rc=$?
    set +e
    if [ -n "$QPID" ]; then kill "$QPID" 2>/dev/null; wait "$QPID" 2>/dev/null; fi
    if [ -n "$TPID" ]; then kill "$TPID" 2>/dev/null; fi
    rm -rf "$CTL"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
printf '%s\n' "$*" > "$CTL/cmd.sh"
SHARE_ARGS=()
SHARE_MOUNT=
if [ -n "${VM_SHARE:-}" ]; then
    [ -d "$VM_SHARE" ] || die "VM_SHARE=$VM_SHARE is not a directory"
    SHARE_MOUNT=${VM_SHARE_MOUNT:-$(readlink -f "$VM_SHARE")}
    SHARE_ARGS=(-virtfs "local,path=$VM_SHARE,mount_tag=share,security_model=passthrough,id=share")
fi
EXTRA_MOUNTS=
i=0
for dir in ${VM_SHARE_EXTRA:-}; do
    [ -d "$dir" ] || die "VM_SHARE_EXTRA: $dir is not a directory"
    dir=$(readlink -f "$dir")
    SHARE_ARGS+=(-virtfs "local,path=$dir,mount_tag=extra$i,security_model=passthrough,id=extra$i")
    EXTRA_MOUNTS="$EXTRA_MOUNTS $dir"
    i=$((i+1))
done
printf 'VM_SHARE_MOUNT=%q\nVM_SHARE_EXTRA=%q\n' "$SHARE_MOUNT" "$EXTRA_MOUNTS" > "$CTL/env"

ACCEL=${VM_ACCEL:-tcg}
case $ACCEL in
    kvm) ACCEL_ARGS=(-accel kvm -cpu host,-arch-capabilities) ;;
    *)   ACCEL_ARGS=(-accel tcg,thread=multi -cpu max) ;;
esac
APPEND="console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off \
systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all rdinit=/init ${VM_KERNEL_ARGS:-}"
KERNEL=$CACHE/vmlinuz
[ -f "$CACHE/vmlinux" ] && KERNEL=$CACHE/vmlinux
T0=$(date +%s.%N)
if [ "${VM_TIMES:-0}" = 1 ]; then   # host-side clock for "guest is ready"
    ( while [ -d "$CTL" ]; do
          if [ -e "$CTL/t-ready" ]; then { date +%s.%N > "$CTL/t-ready-host"; } 2>/dev/null; break; fi
          sleep 0.05
      done ) &
    TPID=$!
fi
timeout -k 10 "${VM_TIMEOUT:-3600}" qemu-system-x86_64 \
    -name diyc-vm -machine pc "${ACCEL_ARGS[@]}" \
    -m "${VM_MEM:-2048}" -smp "${VM_SMP:-2}" \
    -nodefaults -no-user-config -display none -no-reboot \
    -bios /usr/share/qemu/qboot.rom \
    -kernel "$KERNEL" -initrd "$CACHE/initrd.img" -append "$APPEND" \
    -drive "file=$CACHE/rootfs.img,format=raw,if=virtio,snapshot=on" \
    -virtfs "local,path=$CTL,mount_tag=diyc,security_model=none,id=diyc" \
    "${SHARE_ARGS[@]}" \
    -device virtio-rng-pci -nic none \
    -serial "file:$CTL/console.log" \
    -chardev stdio,id=out,signal=off -serial chardev:out \
    </dev/null &
QPID=$!
set +e
wait "$QPID"; QRC=$?
QPID=
set -e
T1=$(date +%s.%N)
if [ "${VM_CONSOLE:-0}" = 1 ] && [ -f "$CTL/console.log" ]; then
    echo "----- guest console -----" >&2; cat "$CTL/console.log" >&2
fi
if [ "${VM_TIMES:-0}" = 1 ] && [ -f "$CTL/t-ready-host" ]; then
    log "$(awk -v a="$T0" -v b="$(cat "$CTL/t-ready-host")" -v c="$T1" \
        'BEGIN{printf "boot-to-command %.2fs, total %.2fs", b-a, c-a}')"
fi
if [ $QRC = 124 ] || [ $QRC = 137 ]; then log "timed out"; exit 124; fi
if [ -f "$CTL/rc" ]; then exit "$(cat "$CTL/rc")"; fi
log "VM exited ($QRC) without a status; last console lines:"
tail -20 "$CTL/console.log" >&2 2>/dev/null || true
exit 125
