#!/bin/sh
# usage: boots.sh N PANAVISOR_DIR : N guest boots (run --exec true) inside one lab; reports each and any failure.
# See README.md here.
n=$1; dir=$2
J=${JAVA_HOME:?needs JAVA_HOME (./panavisor sets it)}/bin/java
jar=$dir/target/panavisor.jar
i=1; bad=0
echo "L1 clocksource at start: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
while [ $i -le $n ]; do
  s=$(date +%s)
  # The lab's JVM options (Lab.JVM_OPTIONS: C1 only; docs/lab.md, "JVM crashes inside L1"); a crash report lands in DIR.
  out=$($J --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:ErrorFile="$PWD/hs_err_%p.log" -jar "$jar" run --exec true 2>&1); rc=$?
  t=$(( $(date +%s) - s ))
  if [ $rc -ne 0 ]; then bad=$((bad+1)); echo "boot $i rc=$rc ${t}s"; echo "$out" | tail -5
     echo "L1 clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"; dmesg | tail -8
  else echo "boot $i ok ${t}s"; fi
  i=$((i+1))
done
echo "L1 clocksource at end: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
dmesg | grep -i -E "clocksource|watchdog|rcu|stall|kvm|soft lockup|hung" | tail -10
echo "bad $bad of $n"
