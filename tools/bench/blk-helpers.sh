#!/bin/sh
# usage (inside the nested lab, or on a hardware-KVM host):
#   panavisor lab --no-project -- tools/bench/blk-helpers.sh PANAVISOR_DIR [ROUNDS] [SIZE_MIB]
# virtio-blk with and without the device's helper threads (vmm/IoHelpers; -Dpanavisor.blk.helpers=0 turns them
# off), alternating in one session: the guest program of `bench io` (tools/bench/io-load.c) against one disk image,
# sequential read and write in 1 MiB blocks and 4 KiB random reads with 8 readers. Prints one line per run and
# the medians. Needs gcc and cpio on the host (for io-load and its initramfs).
set -u
dir=$1; rounds=${2:-3}; size=${3:-64}
. "$(dirname "$0")/io-lib.sh"
io_setup "$dir" "$size"
pv() { # HELPERS GUEST-COMMAND
    $J $JOPTS -Dpanavisor.blk.helpers="$1" -jar "$dir/target/panavisor.jar" run --kernel "$kernel" \
        --initrd "$w/initrd" --disk "$w/disk.img" --exec "sync; echo 3 > /proc/sys/vm/drop_caches; $2" \
        2>&1 < /dev/null | grep -o 'io-load: .*'
}
i=1
while [ "$i" -le "$rounds" ]; do
    for test in "seqread $size" "seqwrite $size" "randread $size 5 8"; do
        for helpers in off on; do
            value=0; [ "$helpers" = on ] && value= # empty: the default count
            line=$(pv "$value" "/bench/io-load /dev/vda $test")
            echo "round $i helpers=$helpers $line"
            io_record "${test%% *}-$helpers" "$line"
        done
    done
    i=$((i + 1))
done
echo "medians (MiB/s, or IOPS for randread):"
io_medians
rm -rf "$w"
