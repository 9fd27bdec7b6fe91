# shellcheck shell=bash
# The Java runtime Panavisor runs on: a jlink image of the JDK modules the jar needs (runtime.modules), linked once
# per JDK into target/runtime, about a fifth of a whole JDK on disk (docs/benchmarks.md, "Size"). Sourced by
# ./panavisor after tools/lib/jdk.sh has set JAVA_HOME.

# Prints the runtime's home: target/runtime, linked from $JAVA_HOME first when it is missing or was linked from
# another JDK or module list. When it cannot be linked (a JDK without jlink or its modules), says so in one line and
# prints $JAVA_HOME instead: Panavisor runs on a whole JDK as well.
panavisor_runtime() { # $1 = the project's root
  local root="$1" runtime="$1/target/runtime" modules_file="$1/src/main/resources/dev/panavisor/cli/runtime.modules"
  local modules stamp tmp
  modules=$(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$modules_file" | paste -sd, -)
  # What the runtime was linked from: the JDK (its path and its release file) and the module list.
  stamp="$JAVA_HOME $(cksum < "$JAVA_HOME/release") $modules"
  if [ -x "$runtime/bin/java" ] && [ "$(cat "$runtime/panavisor-runtime" 2>/dev/null)" = "$stamp" ]; then
    printf '%s' "$runtime"
    return 0
  fi
  echo "panavisor: linking the Java runtime for Panavisor into $runtime (jlink, once per JDK)..." >&2
  if ! tmp=$(mkdir -p "$root/target" 2>/dev/null && mktemp -d "$root/target/runtime.XXXXXX" 2>/dev/null); then
    echo "panavisor: cannot write to $root/target; running on the whole JDK in $JAVA_HOME" >&2
    printf '%s' "$JAVA_HOME"
    return 0
  fi
  rmdir "$tmp" # jlink makes its output directory itself
  # --compress zip-6: the module image holds the classes compressed (27 against 57 MiB); a JVM with Panavisor's AOT
  # cache loads nearly all of its classes from the cache, and `--version` starts as fast either way.
  if "$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
      --compress zip-6 --output "$tmp" >"$root/target/jlink.log" 2>&1; then
    printf '%s\n' "$stamp" > "$tmp/panavisor-runtime"
    rm -rf "$runtime"
    # AOT caches map only into the runtime that recorded them: the old runtime's go with it.
    rm -f "$root"/target/panavisor*-linked.aot
    # A rename, so that no JVM ever starts from a half-linked runtime; a concurrent launcher may have won the race.
    mv -T "$tmp" "$runtime" 2>/dev/null || rm -rf "$tmp"
    rm -f "$root/target/jlink.log"
    printf '%s' "$runtime"
  else
    echo "panavisor: jlink failed (see $root/target/jlink.log); running on the whole JDK in $JAVA_HOME" >&2
    rm -rf "$tmp"
    printf '%s' "$JAVA_HOME"
  fi
}

# Prints the AOT cache a JVM on runtime $2 uses for the jar target/panavisor.jar of project $1, inside the nested lab
# when $3 is 1: the same name AotCache.forJar gives it (AotCacheTest checks that they agree). Nothing when
# $JAVA_HOME's release file does not give the JDK's version.
panavisor_aot_cache() { # $1 = the project's root, $2 = the runtime's home, $3 = 1 inside the lab
  local jdk lab=""
  jdk=$(sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"$/\1/p' "$JAVA_HOME/release" 2>/dev/null || true)
  [ -n "$jdk" ] || return 0
  [ -f "$2/panavisor-runtime" ] && jdk="$jdk-linked"
  [ "$3" = 1 ] && lab="-lab"
  printf '%s' "$1/target/panavisor$lab-jdk$jdk.aot"
}
