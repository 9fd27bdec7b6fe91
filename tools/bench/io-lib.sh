# Shared by the scripts that start Panavisor's JVMs themselves (sourced, inside the nested lab or on a hardware-KVM
# host): in tools/bench ab-builds.sh, ab-net.sh, ab-timeline.sh, blk-helpers.sh, blk-trace.sh, console-speed.sh,
# dmesg-boots.sh, idle-threads.sh, kvm-exits.sh, lambda-forms.sh, mem-smaps.sh, net-cpu.sh, net-trace.sh,
# start-threads.sh; and tools/bench-lib.sh (bench-net.sh, bench-passt.sh).
# io_setup needs gcc and cpio on the host.
#
# jvm_options DIR: the options a JVM of DIR's build runs with inside the lab, as JavaCommand starts them: the lab's
# (Lab.JVM_OPTIONS: C1 only, docs/lab.md; a disk's polling ceiling, docs/devices.md) and DIR's jvm.options, which
# come last, so that an A/B arm's own -D setting wins.
jvm_options() {
    echo "-XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -Dpanavisor.blk.pollMaxMicros=2000 $(grep -v \
        -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$1/src/main/resources/dev/panavisor/cli/jvm.options" | tr '\n' ' ')"
}

# launch DIR: the java arguments that start DIR's build as its ./panavisor launcher does: "-cp JAR MAIN" since the
# launcher does so (docs/performance.md, "A jar of Panavisor's own classes"), "-jar JAR" for a build from before.
launch() {
    if grep -q -- '-cp "$jar" dev.panavisor.cli.Main' "$1/panavisor" 2>/dev/null; then
        echo "-cp $1/target/panavisor.jar dev.panavisor.cli.Main"
    else
        echo "-jar $1/target/panavisor.jar"
    fi
}

# aot_recording DIR: the options, besides -XX:AOTCacheOutput, that DIR's build records the lab's AOT cache with:
# the strings of Lab.AOT_RECORDING_OPTIONS in DIR's source (nothing for a build from before it existed).
aot_recording() {
    sed -n '/AOT_RECORDING_OPTIONS = /,/);/p' "$1/src/main/java/dev/panavisor/lab/Lab.java" 2>/dev/null |
        grep -o '"-XX:[^"]*"' | tr -d '"' | tr '\n' ' '
}

# default_guest DIR: sets kernel and initrd to DIR's default guest (its `image path`), with J and DIR's JVM options.
default_guest() {
    paths=$($J $(jvm_options "$1") $(launch "$1") image path)
    kernel=$(echo "$paths" | awk '$1 == "bzImage:" {print $2}')
    initrd=$(echo "$paths" | awk '$1 == "initramfs:" {print $2}')
}

# guest_setup DIR NAME: sets J (the JDK's java), kernel and initrd (DIR's default guest), JOPTS (DIR's JVM options,
# jvm_options) and w (a fresh work directory, /tmp/NAME.XXXXXX): what a script that boots the default guest under
# both VMMs needs first.
guest_setup() {
    J=${JAVA_HOME:?needs JAVA_HOME (./panavisor sets it)}/bin/java
    default_guest "$1"
    JOPTS=$(jvm_options "$1")
    w=$(mktemp -d "/tmp/$2.XXXXXX")
}

# tracefs NAME GROUP: sets T to L1's tracefs, mounted if it was not, with GROUP's tracepoints (kvm, sched: root
# only) and a 64 MiB buffer per CPU; exits the script with a message naming NAME when there are none.
tracefs() {
    T=/sys/kernel/tracing
    [ -d "$T/events/$2" ] || mount -t tracefs none $T 2>/dev/null || true
    [ -d "$T/events/$2" ] || { echo "$1: no $2 tracepoints in $T (needs root and tracefs)" >&2; exit 1; }
    echo 65536 > $T/buffer_size_kb
}

# net_bench_setup DIR NAME: changes into a fresh work directory (WORK, /tmp/NAME.XXXXXX) and sets up there the TAP
# link of DIR's network scenarios (net-lib.sh: TAP, GUEST_IP, GUEST_COMMAND, busybox httpd in L1; net_teardown
# takes it down). NET_MIB, when set, is the size of the large files.
net_bench_setup() {
    WORK=$(mktemp -d "/tmp/$2.XXXXXX")
    cd "$WORK" || exit 1
    SCRIPTS=$1/src/test/resources/dev/panavisor/vmm
    . "$SCRIPTS/net-lib.sh"
    net_setup
}

# io_setup DIR SIZE_MIB: sets J and JOPTS (the JDK and DIR's JVM options, jvm_options), w (a fresh work
# directory), kernel and initrd (DIR's default guest), and makes $w/initrd (bench io's guest program,
# tools/bench/io-load.c, in front of the default initramfs) and $w/disk.img (SIZE_MIB of zeros).
io_setup() {
    J=${JAVA_HOME:?needs JAVA_HOME (./panavisor sets it)}/bin/java
    JOPTS=$(jvm_options "$1")
    w=$(mktemp -d /tmp/io-bench.XXXXXX)
    paths=$($J $JOPTS -jar "$1/target/panavisor.jar" image path)
    kernel=$(echo "$paths" | awk '$1 == "bzImage:" {print $2}')
    initrd=$(echo "$paths" | awk '$1 == "initramfs:" {print $2}')
    mkdir -p "$w/root/bench"
    gcc -static -O2 -o "$w/root/bench/io-load" "$1/tools/bench/io-load.c" || exit 1
    # The kernel unpacks concatenated archives in turn: io-load's, then the default initramfs.
    (cd "$w/root" && find bench | cpio -o -H newc --quiet) > "$w/initrd"
    cat "$initrd" >> "$w/initrd"
    dd if=/dev/zero of="$w/disk.img" bs=1M count="$2" status=none
}

# clear_free_memory DIR: just before a timed run, 384 MiB of free memory taken and given back, a share on each CPU,
# as bench boot and bench io do inside the lab (lab.RecycledCodePages; docs/performance.md, "The lab's memory stall,
# explained"): the recycled pages that held code TCG translated are cleared here, untimed, not in the run. Builds
# DIR's tools/bench/clear-free-memory.c into $w on first use; needs gcc (static libc) and taskset. Prints nothing.
clear_free_memory() {
    [ -x "$w/clear-free-memory" ] ||
        gcc -O2 -static -o "$w/clear-free-memory" "$1/tools/bench/clear-free-memory.c" || exit 1
    cpus=$(nproc)
    cpu=0
    while [ "$cpu" -lt "$cpus" ]; do
        taskset -c "$cpu" "$w/clear-free-memory" $((384 / cpus)) > /dev/null &
        cpu=$((cpu + 1))
    done
    wait
}

# io_record KEY LINE: appends "KEY VALUE" to $w/times, VALUE read from LINE: its ms=N when it has one, else
# io-load's result (MiB/s for a sequential test, operations per second for random reads).
io_record() {
    echo "$2" | awk -v k="$1" '{
        for (n = 1; n <= NF; n++) { split($n, kv, "="); v[kv[1]] = kv[2] }
        if (!("ms" in v) && !(v["seconds"] > 0)) exit # a failed run: nothing to record
        if ("ms" in v) r = v["ms"]
        else if (k ~ /^randread/) r = v["ops"] / v["seconds"]; else r = v["bytes"] / 1048576 / v["seconds"]
        printf "%s %.1f\n", k, r }' >> "$w/times"
}

# io_medians: one line per key of $w/times with the median of its values.
io_medians() {
    for k in $(awk '{print $1}' "$w/times" | sort -u); do
        values=$(grep "^$k " "$w/times" | awk '{print $2}' | sort -n)
        # The middle value; of an even count, the lower of the two middle ones.
        printf '%s %s\n' "$k" "$(echo "$values" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
    done
}
