#!/bin/sh
# usage (inside the nested lab, or on a hardware-KVM host):
#   panavisor lab --no-project -- sh $PWD/tools/bench/lambda-forms.sh DIR > forms.txt
# The java.lang.invoke lambda forms and species that DIR's build (target/panavisor.jar) looks up in three runs: a
# quiet boot as the AOT cache's training run makes it, a disk read and written, and the virtio console. Prints each
# once, sorted, in the form tools/lib/runtime.lambda-forms lists them (the lines
# -Djava.lang.invoke.MethodHandle.TRACE_RESOLVE=true prints, without their result); keep that file's header.
set -u
dir=$1
J=${JAVA_HOME:?needs JAVA_HOME (./panavisor sets it)}/bin/java
. "$(dirname "$0")/io-lib.sh"
JOPTS="$(jvm_options "$dir") -Djava.lang.invoke.MethodHandle.TRACE_RESOLVE=true"
default_guest "$dir"
w=$(mktemp -d /tmp/lambda-forms.XXXXXX)
trap 'rm -rf "$w"' EXIT
dd if=/dev/zero of="$w/disk.img" bs=1M count=16 status=none
trace() { # NAME ARGS...: one run of DIR's build, its trace kept in $w/NAME
    name=$1
    shift
    if ! $J $JOPTS $(launch "$dir") run --no-seccomp --kernel "$kernel" --initrd "$initrd" "$@" \
        > "$w/$name" 2>&1 < /dev/null; then
        echo "lambda-forms: the $name run failed:" >&2
        tail -5 "$w/$name" >&2
        exit 1
    fi
}
trace boot --exec true --boot-time --timeline
trace disk --disk "$w/disk.img" \
    --exec 'dd if=/dev/vda of=/dev/null bs=1M; dd if=/dev/zero of=/dev/vda bs=1M count=8 conv=fsync'
trace console --console virtio --exec 'seq 1 100' --exit-stats
cat "$w/boot" "$w/disk" "$w/console" | grep -E '^\[(LF|SPECIES)_RESOLVE\] ' | sed 's/ ([a-z]*)$//' | sort -u
