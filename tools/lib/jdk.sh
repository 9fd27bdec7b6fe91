# shellcheck shell=bash
# Finds a JDK >= 25 (the classes are compiled for release 25: pom.xml) for Panavisor and exports JAVA_HOME.
# Sourced by ./panavisor and tools/test; prints what to install when none is found.

panavisor_jdk_version() { # $1 = JAVA_HOME candidate; prints the feature version (e.g. 25) or nothing
  local release="$1/release" v
  [ -x "$1/bin/java" ] || return 0
  if [ -f "$release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release")
  fi
  [ -n "$v" ] || v=$("$1/bin/java" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p')
  printf '%s' "$v"
}

panavisor_find_jdk() {
  local candidate best="" best_version=0 v
  if [ -n "${JAVA_HOME:-}" ]; then
    v=$(panavisor_jdk_version "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge 25 ] && [ -x "$JAVA_HOME/bin/javac" ]; then
      return 0
    fi
  fi
  for candidate in /usr/lib/jvm/*; do
    [ -d "$candidate" ] || continue
    v=$(panavisor_jdk_version "$candidate")
    if [ -n "$v" ] && [ "$v" -ge 25 ] && [ -x "$candidate/bin/javac" ] && [ "$v" -gt "$best_version" ]; then
      best="$candidate"; best_version="$v"
    fi
  done
  if [ -z "$best" ]; then
    echo "panavisor: needs a JDK 25 or newer; none found in JAVA_HOME or /usr/lib/jvm." >&2
    echo "  Install one, e.g. 'apt-get install openjdk-25-jdk' or Temurin 25, or set JAVA_HOME to it." >&2
    return 1
  fi
  export JAVA_HOME="$best"
}
