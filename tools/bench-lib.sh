# Shared by tools/bench-net.sh and tools/bench-passt.sh (sourced, inside the nested lab or on a hardware-KVM host).
# bench_setup NAME: sets root (the project), WORK (a fresh target/NAME.XXXXXX), PANAVISOR (the jar directly:
# ./panavisor's launcher needs /dev/fd, which L1 lacks; with the lab's JVM options, Lab.JVM_OPTIONS: C1 only,
# docs/lab.md, "JVM crashes inside L1"), BZIMAGE and INITRD (the default guest's), and changes into WORK.
bench_setup() {
    root=$(cd "$(dirname "$0")/.." && pwd)
    mkdir -p "$root/target"
    WORK=$(mktemp -d "$root/target/$1.XXXXXX")
    PANAVISOR="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -jar $root/target/panavisor.jar"
    images=$($PANAVISOR image path)
    BZIMAGE=$(printf '%s\n' "$images" | sed -n 's/^bzImage: *\([^ ]*\).*/\1/p')
    INITRD=$(printf '%s\n' "$images" | sed -n 's/^initramfs: *\([^ ]*\).*/\1/p')
    cd "$WORK" || exit 1
}
