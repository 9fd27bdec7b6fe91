#!/bin/sh
# Runs inside the nested lab (see LinuxBootLabTest): each scenario is one `panavisor run`, leaving
# $WORK/NAME.out, NAME.err and NAME.rc for the test to check. Environment: PANAVISOR (the command to run
# Panavisor), WORK, BZIMAGE, VMLINUX, INITRD, ROOTFS, FOREIGN (an initramfs whose /init is not Panavisor's),
# PROGRAMS_INITRD (the default initramfs with the scenarios' programs: /bin/vsock-pipe, /bin/udp-send), PEER (the
# command to run the host's VsockPeer),
# USER_JAVA and USER_JAR (Panavisor's JVM command and a jar of its classes, as users run it), USER_AOT_RECORDING
# (the options the lab's AOT cache is recorded with, besides -XX:AOTCacheOutput).
set -u
SCRIPTS=$(cd "$(dirname "$0")" && pwd)
cd "$WORK"

scenario() { # NAME COMMAND...
    name=$1; shift
    echo "scenario $name"
    "$@" > "$name.out" 2> "$name.err" < /dev/null
    echo $? > "$name.rc"
}

# Types COMMAND into an interactive guest shell once the shell is up, waits for EXPECTED, then reboots the guest.
interactive() { # NAME EXPECTED COMMAND RUN-ARGS...
    name=$1; expected=$2; command=$3; shift 3
    echo "scenario $name"
    fifo=/tmp/$name.in # on the lab's tmpfs: the shared host directories cannot hold a FIFO
    rm -f "$fifo"; mkfifo "$fifo"
    ( $PANAVISOR run "$@" < "$fifo" > "$name.out" 2> "$name.err"; echo $? > "$name.rc" ) &
    exec 3> "$fifo"
    waited=0
    until grep -q 'starting a shell' "$name.out" 2>/dev/null || [ $waited -ge 120 ]; do sleep 1; waited=$((waited + 1)); done
    sleep 3
    printf '%s\n' "$command" >&3
    waited=0
    until grep -q "$expected" "$name.out" 2>/dev/null || [ $waited -ge 60 ]; do sleep 1; waited=$((waited + 1)); done
    printf 'reboot -f\n' >&3
    wait
    exec 3>&-
}

scenario uname $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --exec 'uname -r'
scenario exit3 $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --exec 'exit 3'
scenario virtio $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --console virtio \
    --exec 'cat /proc/consoles; echo via-hvc0'
# The command's streams: stdout and stderr byte-exact and apart, stdin piped in and ended.
scenario exact $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --exec "printf 'a\nb'; printf 'to-stderr' >&2"
# The same as users run it: from a jar, with an AOT cache recorded first (a recording run goes without the filter,
# as AotTraining's does), confined. With the cache the JVM takes some paths only after the filter is in place; a
# gap there once showed only this way (docs/security.md, readlink). --stats takes one more such path.
$USER_JAVA -XX:AOTCacheOutput="$WORK/user.aot" $USER_AOT_RECORDING -Xlog:aot*=error -jar "$USER_JAR" run --no-seccomp \
    --kernel "$BZIMAGE" --initrd "$INITRD" --exec true > aot-recording.log 2>&1 < /dev/null
scenario exact-aot $USER_JAVA -XX:AOTCache="$WORK/user.aot" -Xlog:class+load=info:file="$WORK/aot-classes.log" \
    -jar "$USER_JAR" run --kernel "$BZIMAGE" --initrd "$INITRD" --stats --exec "printf 'a\nb'; printf 'to-stderr\n' >&2"
echo "scenario wc"
printf data | $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --exec 'wc -c' > wc.out 2> wc.err
echo $? > wc.rc
echo "scenario stdin1m"
head -c 1048576 /dev/urandom > random.bin
$PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --exec cat < random.bin > stdin1m.out 2> stdin1m.err
echo $? > stdin1m.rc
# Any kernel and initramfs, without --exec and without a terminal: the console streams to stdout.
scenario foreign $PANAVISOR run --kernel "$BZIMAGE" --initrd "$FOREIGN"
scenario vmlinux $PANAVISOR run --kernel "$VMLINUX" --initrd "$INITRD" --exec 'echo vmlinux-booted'
scenario smp $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --cpus 2 --exec 'grep -c ^processor /proc/cpuinfo'

cp "$ROOTFS" disk.img
scenario write $PANAVISOR run --kernel "$BZIMAGE" --disk disk.img --verbose --exec 'echo persisted-$((40 + 2)) > /root/note && sync'
scenario read $PANAVISOR run --kernel "$BZIMAGE" --disk disk.img --exec 'cat /root/note'
sha256sum disk.img > before.sha
scenario ro $PANAVISOR run --kernel "$BZIMAGE" --disk disk.img,ro --exec 'echo x > /root/other; echo write-status=$?'
sha256sum disk.img > after.sha

# Two vCPUs hammer the disk (a write with fsync, a read of the whole device) while the command prints a tick a
# second; the host stamps each line as it arrives, to show the console stays responsive (device I/O runs on the disk's
# worker thread, never under a lock the vCPUs or the console wait for).
echo "scenario hammer"
rm -f /tmp/hammer.fifo; mkfifo /tmp/hammer.fifo
( while IFS= read -r line; do echo "$(date +%s.%N) $line"; done < /tmp/hammer.fifo > hammer.out ) &
stamper=$!
$PANAVISOR run --kernel "$BZIMAGE" --disk disk.img --cpus 2 --exec 'dd if=/dev/zero of=/root/hammer bs=1M count=24 conv=fsync 2>/dev/null & dd if=/dev/vda of=/dev/null bs=1M 2>/dev/null & for i in 0 1 2 3 4; do echo tick-$i; sleep 1; done; wait; rm /root/hammer; echo hammer-done' \
    > /tmp/hammer.fifo 2> hammer.err < /dev/null
echo $? > hammer.rc
wait $stamper

# SIGTERM to the VMM while both vCPUs spin in the guest: the VM is stopped (every vCPU kicked out of KVM_RUN, disks
# flushed), not abandoned, and the timeline shows how long the kick took.
echo "scenario sigterm"
$PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --cpus 2 --timeline \
    --exec 'echo spinning; while :; do :; done & while :; do :; done' > sigterm.out 2> sigterm.err < /dev/null &
pid=$!
waited=0
until grep -q spinning sigterm.out 2>/dev/null || [ $waited -ge 180 ]; do sleep 1; waited=$((waited + 1)); done
sleep 3
kill -TERM $pid
wait $pid
echo $? > sigterm.rc

# Firecracker's configuration file instead of the flags: its machine-config's two vCPUs reach the guest.
cat > vm.json <<JSON
{"boot-source": {"kernel_image_path": "$BZIMAGE", "initrd_path": "$INITRD"},
 "drives": [], "machine-config": {"vcpu_count": 2, "mem_size_mib": 256, "smt": false}}
JSON
scenario config $PANAVISOR run --config vm.json --exec 'grep -c ^processor /proc/cpuinfo'

# The API socket, driven with curl as Firecracker's getting-started guide does: boot source, machine config, start,
# and then SendCtrlAltDel.
echo "scenario serve"
rm -f /tmp/api.sock
$PANAVISOR serve --api-sock /tmp/api.sock > serve.out 2> serve.err < /dev/null &
serve=$!
waited=0
until [ -S /tmp/api.sock ] || [ $waited -ge 120 ]; do sleep 1; waited=$((waited + 1)); done
api() { # METHOD PATH BODY
    curl -sS --unix-socket /tmp/api.sock -X "$1" -H 'Content-Type: application/json' -d "$3" \
        -w ' -> %{http_code}\n' "http://localhost$2" >> serve.api 2>&1
}
command=$(printf 'echo hello-from-the-api; sleep 600' | base64 -w0)
api PUT /boot-source "{\"kernel_image_path\": \"$BZIMAGE\", \"initrd_path\": \"$INITRD\", \"boot_args\": \"panavisor.exec=$command\"}"
api PUT /machine-config '{"vcpu_count": 0, "mem_size_mib": 256}'
api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 256}'
# serve's standby builds the VM once its configuration can start, before InstanceStart (docs/api.md).
waited=0
until grep -q 'the VM is built and waits for InstanceStart' serve.err || [ $waited -ge 180 ]; do
    sleep 1; waited=$((waited + 1))
done
api PUT /actions '{"action_type": "InstanceStart"}'
# Firecracker's way to end it: Ctrl+Alt+Del on the guest's keyboard, which Panavisor's init answers cleanly.
waited=0
until grep -q hello-from-the-api serve.out || [ $waited -ge 180 ]; do sleep 1; waited=$((waited + 1)); done
api PUT /actions '{"action_type": "SendCtrlAltDel"}'
wait $serve
echo $? > serve.rc
[ -S /tmp/api.sock ] && echo "socket left behind" >> serve.api

# The same with a read-write drive and InstanceStart sent right after the last PUT, as Firecracker's scripts do:
# the standby is building that VM, holding the drive's lock, when the start comes (docs/api.md, warm start step 5).
rm -f /tmp/api.sock /tmp/drive.img
head -c 8388608 /dev/zero > /tmp/drive.img
$PANAVISOR serve --api-sock /tmp/api.sock > serve-drive.out 2> serve-drive.err < /dev/null &
serve=$!
waited=0
until grep -q 'the VM process is up and warm' serve-drive.err 2>/dev/null || [ $waited -ge 120 ]; do
    sleep 1; waited=$((waited + 1))
done
command=$(printf 'echo drive-seen $(ls /dev/vda)' | base64 -w0)
api() { # METHOD PATH BODY
    curl -sS --unix-socket /tmp/api.sock -X "$1" -H 'Content-Type: application/json' -d "$3" \
        -w ' -> %{http_code}\n' "http://localhost$2" >> serve-drive.api 2>&1
}
boot="{\"kernel_image_path\": \"$BZIMAGE\", \"initrd_path\": \"$INITRD\""
api PUT /boot-source "$boot, \"boot_args\": \"panavisor.exec=$command\"}"
drive='"path_on_host": "/tmp/drive.img", "is_root_device": false, "is_read_only": false'
api PUT /drives/data "{\"drive_id\": \"data\", $drive}"
api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 256}'
api PUT /actions '{"action_type": "InstanceStart"}'
grep -q ' -> 204$' serve-drive.api && [ "$(grep -c ' -> 204$' serve-drive.api)" = 4 ] || kill $serve
wait $serve
echo $? > serve-drive.rc

scenario timeline $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --timeline --verbose --exec true
# A guest that does nothing (no exit, no output) for longer than the stall limit is ended, not waited for.
scenario stall $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --stall-limit 10s --exec 'sleep 600'

# An "initrd" that is not an archive and no disk: the kernel has no root file system and panics.
scenario panic $PANAVISOR run --kernel "$BZIMAGE" --initrd "$BZIMAGE" --exec true
# The default initramfs cut short (600,000 of its ~1 MB, gzip): the kernel unpacks what it can, says so, and panics.
head -c 600000 "$INITRD" > /tmp/truncated-initramfs.cpio.gz
scenario truncated-initrd $PANAVISOR run --kernel "$BZIMAGE" --initrd /tmp/truncated-initramfs.cpio.gz --exec true

# The command's stdout into a pipe whose reader ends after one line (`yes | head -1`): the VM stops there, status
# 141 as for SIGPIPE. (Before, the guest went on forever into a pipe nobody read: `timeout` turns that into 124.)
echo "scenario broken-pipe"
( timeout 300 $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --exec yes 2> broken-pipe.err < /dev/null
  echo $? > broken-pipe.rc ) | head -1 > broken-pipe.out
# The command's stdout into a pipe whose reader never reads (a stalled pager), then SIGTERM once the guest has filled
# it: the VM stops and the run reaches its end (the timeline is printed after the VM is closed), instead of staying
# blocked in a write the reader never takes until the signal hook gives up after 30 s.
echo "scenario stalled-reader"
rm -f stalled.fifo && mkfifo stalled.fifo
sleep 600 < stalled.fifo &
reader=$!
$PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --timeline --show-console --exec yes \
    > stalled.fifo 2> stalled-reader.err < /dev/null &
pid=$!
waited=0
until grep -q 'booted in' stalled-reader.err 2>/dev/null || [ $waited -ge 180 ]; do sleep 1; waited=$((waited + 1)); done
sleep 3
start=$(date +%s%3N)
kill -TERM $pid
wait $pid
echo $? > stalled-reader.rc
echo $(( $(date +%s%3N) - start )) > stalled-reader.ms
kill $reader 2>/dev/null
: > stalled-reader.out
# Output that cannot be written (a full disk: /dev/full) is lost, which is one line and status 1, never the command's 0.
echo "scenario full"
$PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --exec 'echo lost' > /dev/full 2> full.err < /dev/null
echo $? > full.rc
: > full.out

# vsock: 16 MiB each way between a host program (VsockPeer) and the guest's vsock-pipe, once with the guest
# connecting (to host port 5000: the socket PATH_5000, after a refused try on port 5999 that has no socket) and once
# with the host connecting (CONNECT 5001 on PATH). The sockets live on the lab's tmpfs: a UNIX socket cannot be on 9p.
vsock_peer_done() { # NAME PID: waits for the host program, which a failed run would leave waiting forever
    ( sleep 120; kill "$2" 2>/dev/null ) &
    watchdog=$!
    wait "$2"
    echo $? > "$1.peer-rc"
    kill $watchdog 2>/dev/null
}
rm -f /tmp/vsock.sock /tmp/vsock.sock_*
head -c 16777216 /dev/urandom > vsock-host.bin
echo "scenario vsock-g2h"
$PEER listen /tmp/vsock.sock_5000 vsock-host.bin vsock-g2h.recv > vsock-g2h.peer 2>&1 &
peer=$!
waited=0
until [ -S /tmp/vsock.sock_5000 ] || [ $waited -ge 120 ]; do sleep 1; waited=$((waited + 1)); done
$PANAVISOR run --kernel "$BZIMAGE" --initrd "$PROGRAMS_INITRD" --vsock 3,/tmp/vsock.sock --exec 'vsock-pipe connect 2 5999 < /dev/null; echo refused-status=$?; head -c 16777216 /dev/urandom > /tmp/send; sha256sum /tmp/send; vsock-pipe connect 2 5000 < /tmp/send > /tmp/recv; echo pipe-status=$?; sha256sum /tmp/recv' \
    > vsock-g2h.out 2> vsock-g2h.err < /dev/null
echo $? > vsock-g2h.rc
vsock_peer_done vsock-g2h $peer
echo "scenario vsock-h2g"
$PEER connect /tmp/vsock.sock 5001 vsock-host.bin vsock-h2g.recv > vsock-h2g.peer 2>&1 &
peer=$!
$PANAVISOR run --kernel "$BZIMAGE" --initrd "$PROGRAMS_INITRD" --vsock 3,/tmp/vsock.sock --exec 'head -c 16777216 /dev/urandom > /tmp/send; sha256sum /tmp/send; vsock-pipe listen 5001 < /tmp/send > /tmp/recv; echo pipe-status=$?; sha256sum /tmp/recv' \
    > vsock-h2g.out 2> vsock-h2g.err < /dev/null
echo $? > vsock-h2g.rc
vsock_peer_done vsock-h2g $peer
scenario vsock-nodir $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --vsock 3,/nonexistent-dir/vm.sock --exec true

interactive interactive-serial 'round-trip-42' 'echo round-trip-$((6 * 7))' --kernel "$BZIMAGE" --initrd "$INITRD"
interactive interactive-virtio 'round-trip-42' 'echo round-trip-$((6 * 7))' --kernel "$BZIMAGE" --initrd "$INITRD" \
    --console virtio
# The network card on a TAP (run --net): pings, files both ways, throughput, bad input.
. "$SCRIPTS/net-scenarios.sh"
echo "all scenarios ran"
