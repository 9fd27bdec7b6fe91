#!/bin/sh
# Runs inside the nested lab (see LifecycleLabTest). Environment: PANAVISOR (the command to run Panavisor), WORK,
# BZIMAGE, INITRD, ROUNDS (SIGKILL rounds). Leaves files in $WORK for the test to check.
set -u
cd "$WORK"

# Waits up to $2 seconds for the text $1 to appear in file $3.
await() { # TEXT SECONDS FILE
    waited=0
    until grep -q "$1" "$3" 2>/dev/null || [ $waited -ge "$2" ]; do sleep 1; waited=$((waited + 1)); done
}

# A random pause of 0 to 2.999 s.
random_pause() {
    ms=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 3000 ))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
}

# --- SIGKILL while the guest appends and syncs -------------------------------------------------------------------
# The guest appends "write-N" to /log on an ext4 data disk, syncs, and only then prints "synced write-N" on its
# stdout. The VMM is killed with SIGKILL at a random moment. Then, on a copy of the image, the journal is replayed
# (what the next mount would do), e2fsck -fn must find nothing, and /log must hold every line the host saw reported
# synced. The next round goes on with the same image, so twenty kills pile up on one file system.
mke2fs -q -t ext4 -F data.img 64M
guest='mkdir -p /data && mount -t ext4 /dev/vda /data && touch /data/log && n=$(wc -l < /data/log) &&
while :; do n=$((n + 1)); echo "write-$n" >> /data/log; sync; echo "synced write-$n"; done'
round=1
while [ "$round" -le "$ROUNDS" ]; do
    echo "scenario kill-$round"
    $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --disk data.img --exec "$guest" \
        > "kill-$round.out" 2> "kill-$round.err" < /dev/null &
    pid=$!
    await synced 240 "kill-$round.out"
    random_pause
    kill -KILL $pid
    wait $pid
    echo $? > "kill-$round.rc"
    cp --sparse=always data.img check.img
    e2fsck -E journal_only -y check.img > "replay-$round.txt" 2>&1
    e2fsck -fn check.img > "fsck-$round.txt" 2>&1
    echo $? > "fsck-$round.rc"
    debugfs -R 'cat /log' check.img > "log-$round.txt" 2> /dev/null
    round=$((round + 1))
done
rm -f check.img

# --- SIGINT: the VM stops as for SIGTERM, with the JVM's status for SIGINT ---------------------------------------
# The guest syncs its file before it says so: stopping the VM does not stop the guest's kernel, so what sits only in
# the guest's page cache is gone with it (as with QEMU's or Firecracker's SIGTERM); what it wrote to the disk is kept.
# An asynchronous command of a non-interactive shell starts with SIGINT ignored (POSIX), and a JVM leaves an ignored
# SIGINT alone: env --default-signal gives Panavisor the default disposition a terminal's Ctrl-C would meet.
echo "scenario sigint"
cp data.img sigint.img
env --default-signal=INT $PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --disk sigint.img \
    --exec 'mkdir -p /data && mount -t ext4 /dev/vda /data && echo before-sigint > /data/sigint && sync && echo written &&
while :; do sleep 1; done' > sigint.out 2> sigint.err < /dev/null &
pid=$!
await written 240 sigint.out
kill -INT $pid
wait $pid
echo $? > sigint.rc
e2fsck -E journal_only -y sigint.img > /dev/null 2>&1
debugfs -R 'cat /sigint' sigint.img > sigint-file.txt 2> /dev/null

# --- Four vCPUs on the lab's two: the guest sees four, and a task pinned to each one runs there -----------------
echo "scenario cpus4"
cpus4=$(cat <<'GUEST'
grep -c ^processor /proc/cpuinfo
grep "^cpu[0-9]" /proc/stat
for c in 0 1 2 3; do
    taskset -c $c sh -c 'timeout 3 sh -c "while :; do :; done"; echo pinned-$0-ran-on-$(cut -d" " -f39 /proc/self/stat)' $c &
done
wait
grep "^cpu[0-9]" /proc/stat
GUEST
)
$PANAVISOR run --kernel "$BZIMAGE" --initrd "$INITRD" --cpus 4 --exec "$cpus4" > cpus4.out 2> cpus4.err < /dev/null
echo $? > cpus4.rc
echo "all scenarios ran"
