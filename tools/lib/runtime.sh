# shellcheck shell=bash
# The Java runtime Panavisor runs on: a jlink image of the JDK modules the jar needs (runtime.modules), linked once
# per JDK into target/runtime, a quarter of a whole JDK on disk (docs/performance.md, "The Java runtime Panavisor
# runs on"). Sourced by ./panavisor after tools/lib/jdk.sh has set JAVA_HOME.

# Prints the runtime's home: target/runtime, linked from $JAVA_HOME first when it is missing or was linked from
# another JDK, module list or list of lambda forms (runtime.lambda-forms). Where it cannot be linked (a JDK without
# jlink or its modules, a read-only project), says so in one line, once per JDK, and prints $JAVA_HOME instead:
# Panavisor runs on a whole JDK as well.
panavisor_runtime() { # $1 = the project's root
  local root="$1" runtime="$1/target/runtime" modules forms stamp tmp lock
  modules=$(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$root/src/main/resources/dev/panavisor/cli/runtime.modules" |
    paste -sd, -)
  forms="$root/tools/lib/runtime.lambda-forms"
  [ -f "$forms" ] || forms=/dev/null # no forms of Panavisor's own: the JDK's alone
  # What the runtime is linked from: the JDK (its path and its release file), the module list and the lambda forms.
  stamp="$JAVA_HOME $(cksum < "$JAVA_HOME/release") $modules $(cksum < "$forms")"
  if panavisor_runtime_is "$runtime" "$stamp"; then
    printf '%s' "$runtime"
    return 0
  fi
  if [ "$(cat "$root/target/runtime.failed" 2>/dev/null)" = "$stamp" ]; then
    printf '%s' "$JAVA_HOME" # said once already, when linking failed
    return 0
  fi
  mkdir -p "$root/target" 2>/dev/null || true
  if [ ! -x "$JAVA_HOME/bin/jlink" ] || [ ! -w "$root/target" ]; then
    echo "panavisor: cannot link a Java runtime (no jlink in $JAVA_HOME, or $root/target is not writable);" \
      "running on the whole JDK" >&2
    { printf '%s\n' "$stamp" > "$root/target/runtime.failed"; } 2>/dev/null || true
    printf '%s' "$JAVA_HOME"
    return 0
  fi
  # One launcher links at a time; one that waited finds the runtime linked.
  exec {lock}>"$root/target/runtime.lock"
  flock "$lock"
  if panavisor_runtime_is "$runtime" "$stamp"; then
    printf '%s' "$runtime"
    return 0
  fi
  echo "panavisor: linking the Java runtime for Panavisor into $runtime (jlink, once per JDK)..." >&2
  tmp="$root/target/runtime.linking"
  rm -rf "$tmp"
  # --compress zip-6: the module image holds the classes compressed (26 against 57 MiB); a JVM with Panavisor's AOT
  # cache loads nearly all of its classes from the cache. Then the default class-data archive, for the JVMs that
  # start without an AOT cache (a first run, one after the jar is rebuilt, jcmd) and whose java.lang.invoke holder
  # classes every AOT cache recorded on this runtime copies: dumped from the JDK's class list with Panavisor's lambda
  # forms added (runtime.lambda-forms), for compressed object pointers only (Panavisor's heap is at most 256 MiB, and
  # a JVM whose pointers differ from the archive's does not map it). A form the JVM cannot read does not fail the
  # dump: it leaves every holder class as the JDK built it, with one error line, which fails the link here.
  if "$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
      --compress zip-6 --output "$tmp" >"$root/target/jlink.log" 2>&1 &&
    sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' -e 's/^/@lambda-form-invoker /' "$forms" \
      >> "$tmp/lib/classlist" &&
    "$tmp/bin/java" -XX:+UseCompressedOops -Xmx256m -Xshare:dump \
      -XX:SharedArchiveFile="$tmp/lib/server/classes.jsa" >>"$root/target/jlink.log" 2>&1 &&
    ! grep -q 'Failed to generate LambdaForm holder classes' "$root/target/jlink.log"
  then
    printf '%s\n' "$stamp" > "$tmp/panavisor-runtime"
    # A runtime linked from another JDK is moved aside, not deleted: a JVM still running on it may start others.
    # Its AOT caches go: they map only into the runtime that recorded them.
    rm -rf "$root/target/runtime.old"
    [ ! -e "$runtime" ] || mv -T "$runtime" "$root/target/runtime.old"
    rm -f "$root"/target/panavisor*-linked.aot
    mv -T "$tmp" "$runtime"
    rm -f "$root/target/jlink.log" "$root/target/runtime.failed"
    printf '%s' "$runtime"
  else
    echo "panavisor: linking the runtime failed (see $root/target/jlink.log); running on the whole JDK in" \
      "$JAVA_HOME" >&2
    rm -rf "$tmp"
    printf '%s\n' "$stamp" > "$root/target/runtime.failed"
    printf '%s' "$JAVA_HOME"
  fi
}

# True when $1 is a runtime linked from what $2 (a stamp) says.
panavisor_runtime_is() {
  [ -x "$1/bin/java" ] && [ "$(cat "$1/panavisor-runtime" 2>/dev/null)" = "$2" ]
}

# Prints the AOT cache a JVM on runtime $2 uses for the jar target/panavisor.jar of project $1, inside the nested lab
# when $3 is 1: the name AotCache.forJar gives it (LinkedRuntimeTest checks that they agree). Nothing when
# $JAVA_HOME's release file does not give the JDK's version.
panavisor_aot_cache() { # $1 = the project's root, $2 = the runtime's home, $3 = 1 inside the lab
  local jdk lab=""
  jdk=$(sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"$/\1/p' "$JAVA_HOME/release" 2>/dev/null || true)
  [ -n "$jdk" ] || return 0
  [ -f "$2/panavisor-runtime" ] && jdk="$jdk-linked"
  [ "$3" = 1 ] && lab="-lab"
  printf '%s' "$1/target/panavisor$lab-jdk$jdk.aot"
}
