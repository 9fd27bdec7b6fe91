#!/bin/sh
# usage: kvm-tests.sh N PROJECT : N Maven runs of the kvm-tagged tests inside one lab; counts JVM crashes. See README.md.
# MVN_ARGS adds Maven options (e.g. -Dfuzz.skip=true: no time-boxed Jazzer run, about 2 minutes a run instead of 5).
n=$1; project=$2; out=$(pwd); mkdir -p "$out/hs"
# Every JVM in L1 stops its JIT at C1, as Lab.JVM_OPTIONS says (docs/lab.md, "JVM crashes inside L1").
export JAVA_TOOL_OPTIONS="-XX:ErrorFile=$out/hs/hs_err_%p.log -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 ${EXTRA_JAVA:-}"
cd "$project"
i=1; crashes=0; fails=0
while [ $i -le $n ]; do
  start=$(date +%s)
  mvn -B -o test -Dgroups=kvm -DexcludedGroups=lab -Dsurefire.failIfNoSpecifiedTests=false ${MVN_ARGS:-} > "$out/run-$i.log" 2>&1; rc=$?
  t=$(( $(date +%s) - start ))
  if grep -q "SIGSEGV\|SIGILL\|SIGBUS\|fatal error\|crashed\|The forked VM terminated" "$out/run-$i.log"; then crashes=$((crashes+1)); echo "run $i rc=$rc ${t}s CRASH"; grep -m3 -E "SIGSEGV|SIGILL|Problematic|^# [JjCV] |forked VM" "$out/run-$i.log";
  elif [ $rc -ne 0 ]; then fails=$((fails+1)); echo "run $i rc=$rc ${t}s FAIL"; grep -m5 -E "Tests run:|ERROR" "$out/run-$i.log";
  else echo "run $i ok ${t}s $(grep -E '^\[INFO\] Tests run:' "$out/run-$i.log" | tail -1)"; fi
  i=$((i+1))
done
echo "crashes $crashes fails $fails of $n"
