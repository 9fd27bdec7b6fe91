# Shared by tools/bench-net.sh and tools/bench-passt.sh (sourced, inside the nested lab or on a hardware-KVM host).
# bench_setup NAME: sets root (the project), WORK (a fresh target/NAME.XXXXXX), PANAVISOR (the JVM and the jar
# directly, as JavaCommand starts Panavisor inside the lab: ./panavisor's launcher needs /dev/fd, which L1 lacks;
# with jvm.options and the lab's JIT, tools/bench/io-lib.sh's jvm_options; no AOT cache), BZIMAGE and INITRD (the
# default guest's), and changes into WORK. It turns off file-name globbing (set -f): PANAVISOR is expanded unquoted,
# and jvm.options has '*' in its CompileCommand patterns.
bench_setup() {
    root=$(cd "$(dirname "$0")/.." && pwd)
    . "$root/tools/bench/io-lib.sh"
    set -f
    mkdir -p "$root/target"
    WORK=$(mktemp -d "$root/target/$1.XXXXXX")
    PANAVISOR="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java $(jvm_options "$root") $(launch "$root")"
    images=$($PANAVISOR image path)
    BZIMAGE=$(printf '%s\n' "$images" | sed -n 's/^bzImage: *\([^ ]*\).*/\1/p')
    INITRD=$(printf '%s\n' "$images" | sed -n 's/^initramfs: *\([^ ]*\).*/\1/p')
    cd "$WORK" || exit 1
}
