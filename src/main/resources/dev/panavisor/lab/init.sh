#!/bin/busybox sh
# Panavisor lab: /init of the L1 Linux (see docs/lab.md).
#
# Runs as PID 1 in an initramfs built by dev.panavisor.lab.Initramfs: busybox-static, Debian's kernel modules in
# /lab/modules (load order in /lab/modules.order, computed from each module's depends=), and the per-run
# /lab/run.conf (LAB_EXPORTS, LAB_CWD, LAB_SCRIPT) written by dev.panavisor.lab.RunConfig.
#
# Serial ports (each a Unix socket on the host, read by dev.panavisor.lab.Lab):
#   ttyS0  the L1 kernel console and this script's diagnostics (shown when something fails)
#   ttyS1  CMD's stdout            ttyS2  CMD's stderr
#   ttyS3  status lines "panavisor-lab: stage NAME", "... alive" (every 5 s while CMD runs), "... failed REASON",
#          "... exit CODE"
# and a virtio-serial port named panavisor.stdin: CMD's stdin. The host closing its socket is end-of-file for CMD
# (Linux's virtio console returns 0 from read() once the port is empty and the host side closed).
# Every path ends in power-off; QEMU runs with -no-reboot, so a panic (panic=-1) ends QEMU too.

/bin/busybox mkdir -p /bin /proc /sys /dev /run /mnt/host
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

STATUS=/dev/ttyS3
ROOT=/mnt/host
NINEP="trans=virtio,version=9p2000.L,msize=512000"

# Each write opens and closes the port; the last close of a tty waits until its bytes are sent (drained),
# so a status line is on the host before the next step runs.
status() { echo "panavisor-lab: $*" > "$STATUS"; }
log() { echo "panavisor-lab: $*" > /dev/console; }
finish() {
    sync
    poweroff -f
    sleep 10  # poweroff -f does not return; this only avoids PID 1 exiting (a panic) while it happens
}
fail() { status "failed $*"; log "failed: $*"; finish; }

# Raw ports: no LF -> CRLF, no echo. CMD's bytes reach the host unchanged.
for port in /dev/ttyS1 /dev/ttyS2 /dev/ttyS3; do
    stty -F "$port" raw -echo 2>/dev/null || fail "cannot configure serial port $port"
done
status "stage modules"

# Load order comes from the modules' depends= fields (computed on the host); a fixed list breaks between kernels.
while read -r module; do
    [ -n "$module" ] || continue
    if ! out=$(insmod "/lab/modules/$module.ko" 2>&1); then
        fail "module $module did not load: $out"
    fi
done < /lab/modules.order

[ -c /dev/kvm ] || fail "no /dev/kvm after loading kvm_amd (does the emulated CPU lack SVM?)"
status "stage mounts"

. /lab/run.conf || fail "cannot read /lab/run.conf"

# The host's root, read-only. cache=loose lets L1 cache file pages (the JDK's modules file, jars): the tree
# cannot change under us in a way we must see, and reads are several times faster than without caching.
mount -t 9p -o "$NINEP,ro,cache=loose" hostroot "$ROOT" || fail "cannot mount the host root (9p tag hostroot)"
mount -t proc proc "$ROOT/proc" || fail "cannot mount /proc in the chroot"
mount -t sysfs sysfs "$ROOT/sys" || fail "cannot mount /sys in the chroot"
mount -t devtmpfs devtmpfs "$ROOT/dev" || fail "cannot mount /dev in the chroot"
mkdir -p "$ROOT/dev/pts" "$ROOT/dev/shm"
mount -t devpts devpts "$ROOT/dev/pts" || fail "cannot mount /dev/pts in the chroot"
mount -t tmpfs tmpfs "$ROOT/dev/shm" || fail "cannot mount /dev/shm in the chroot"
# What udev would add: /dev/fd and the standard streams (bash's process substitution, <(...), opens /dev/fd/N;
# the ./panavisor launcher uses it).
ln -s /proc/self/fd "$ROOT/dev/fd"
ln -s /proc/self/fd/0 "$ROOT/dev/stdin"
ln -s /proc/self/fd/1 "$ROOT/dev/stdout"
ln -s /proc/self/fd/2 "$ROOT/dev/stderr"
# The loopback interface, down in a fresh kernel: servers on 127.0.0.1 (run --net user's tests, --publish).
ip link set lo up || fail "cannot bring up the loopback interface"
# /tmp: writable and private to this lab, yet still showing the host's /tmp read-through: an overlay whose upper
# layer is a tmpfs. (A plain tmpfs would hide host files under /tmp, e.g. a project checked out there, which the
# command must see at its host path.) Nothing written to /tmp inside reaches the host.
mkdir -p /run/tmp && mount -t tmpfs -o mode=1777 tmpfs /run/tmp && mkdir -p /run/tmp/upper /run/tmp/work \
    && chmod 1777 /run/tmp/upper \
    && mount -t overlay overlay -o "lowerdir=$ROOT/tmp,upperdir=/run/tmp/upper,workdir=/run/tmp/work" "$ROOT/tmp" \
    || fail "cannot mount a private /tmp in the chroot"

# Writable exports, at the same absolute paths as on the host (outer directories first, so nested ones stay
# visible). Under /tmp the mount point may have to be made in the fresh tmpfs.
# cache=mmap: no caching of writes (each write reaches the host at once) but mmap works.
echo "$LAB_EXPORTS" | while read -r tag kind path; do
    [ -n "$tag" ] || continue
    mkdir -p "$ROOT$path" 2>/dev/null
    case "$kind" in
    writable)
        mount -t 9p -o "$NINEP,cache=mmap" "$tag" "$ROOT$path" \
            || { status "failed cannot mount writable $path (9p tag $tag)"; exit 1; } ;;
    scratch)
        # Writable inside, changes discarded: an overlay of the read-only host directory and a tmpfs.
        mkdir -p "/run/$tag" && mount -t tmpfs tmpfs "/run/$tag" && mkdir -p "/run/$tag/upper" "/run/$tag/work" \
            && mount -t overlay overlay -o "lowerdir=$ROOT$path,upperdir=/run/$tag/upper,workdir=/run/$tag/work" \
                "$ROOT$path" \
            || { status "failed cannot mount scratch overlay on $path"; exit 1; } ;;
    esac
done || finish
[ -d "$ROOT$LAB_CWD" ] || fail "working directory $LAB_CWD does not exist"

# CMD's stdin: the panavisor.stdin port (found by its name in sysfs), or /dev/null in a lab without one.
# The name arrives a moment after the port (QEMU's answer to the driver): wait up to 5 s for it.
stdin=/dev/null
tries=0
while [ -d /sys/class/virtio-ports ] && [ "$stdin" = /dev/null ] && [ "$tries" -lt 50 ]; do
    for dir in /sys/class/virtio-ports/*; do
        [ "$(cat "$dir/name" 2>/dev/null)" = panavisor.stdin ] && stdin="/dev/${dir##*/}"
    done
    [ "$stdin" = /dev/null ] && sleep 0.1
    tries=$((tries + 1))
done

# CMD's stdout and stderr are pipes (as on a CI runner), relayed to the serial ports by two cats.
mkfifo /run/stdout /run/stderr
cat /run/stdout > /dev/ttyS1 &
out_relay=$!
cat /run/stderr > /dev/ttyS2 &
err_relay=$!
status "stage run"
# A heartbeat while CMD runs: the host counts L1 as stalled (and stops it with a clear error) when these stop.
# It lives until the exit line is out, so a slow drain is not silence and no kill cuts one of its lines short.
( while sleep 5; do status alive; done ) &
beat=$!
# CMD runs in a mount namespace of its own where the host root has been moved onto "/" before the chroot (what
# switch_root does), so that its root is its mount namespace's root. A process whose root is not (a plain chroot)
# may not create user namespaces (clone(2): EPERM), and passt, run --net user's network stack, makes one to
# sandbox itself. The namespace is private: init's own mounts (this initramfs, /run) stay as they are.
unshare -m --propagation private sh -c 'cd "$1" && mount -o move . / && exec chroot . /bin/sh -c "$2"' \
    lab-root "$ROOT" "$LAB_SCRIPT" > /run/stdout 2> /run/stderr < "$stdin"
rc=$?

# CMD is done: stop whatever it left running (it may hold the pipes open), then let the relays drain.
for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    case "$pid" in 1|"$out_relay"|"$err_relay"|"$beat") ;; *) kill -9 "$pid" 2>/dev/null ;; esac
done
wait "$out_relay" "$err_relay"
status "exit $rc"
kill "$beat" 2>/dev/null
finish
