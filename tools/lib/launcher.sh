# shellcheck shell=bash
# What ./panavisor does before it starts the JVM: standard descriptors that exist, and one build of the jar at a
# time. Sourced by ./panavisor; LauncherTest runs each function on its own.

# Opens each of descriptors 0, 1 and 2 that the caller closed (`panavisor run ... <&-`) on /dev/null, against its
# use: stdin for writing, stdout and stderr for reading. Left closed, the number would go to the first file the JVM
# opens (its module image, a library, the jar), and `run --exec` would send that file to the command as its input,
# or write the guest's output into it. Opened against their use, every read of stdin and every write of stdout or
# stderr fails with EBADF, as on the closed descriptor: a command's stdin ends at once, and output that cannot be
# written ends the run with status 1 (docs/security.md, "Bad input"). glibc does the same for set-user-ID programs.
# (`true`, not `:`: a redirection error on a special builtin ends a POSIX-mode shell, POSIXLY_CORRECT for one.)
panavisor_standard_fds() {
  { true 9<&0; } 2>/dev/null || exec 0>/dev/null
  { true 9>&1; } 2>/dev/null || exec 1</dev/null
  # Not `2>/dev/null` here: that would open descriptor 2 for the test itself. A closed stderr shows no message.
  true 9>&2 || exec 2</dev/null
}

# Prints a line on stderr; never fails, so that under `set -e` a closed stderr (write-only /dev/null, above) does
# not end the launcher.
panavisor_say() {
  echo "$@" >&2 || true
}

# True when the jar of project $1 is missing or older than any of its sources.
panavisor_jar_stale() { # $1 = the project's root
  local root="$1" jar="$1/target/panavisor.jar"
  [ ! -f "$jar" ] || [ ! -d "$root/target/lib" ] ||
    [ -n "$(find "$root/src/main" "$root/guest-images" "$root/pom.xml" -newer "$jar" -print -quit 2>/dev/null)" ]
}

# Builds target/panavisor.jar of project $1 with Maven when it is stale. One launcher builds at a time: two `mvn
# package` runs into one target/ would compile over each other's classes. A launcher that finds another building
# says so in one line, waits, and then finds the jar built. Returns non-zero, with one line, when the build fails.
panavisor_build_jar() { # $1 = the project's root
  local root="$1" jar="$1/target/panavisor.jar" lock=""
  if ! panavisor_jar_stale "$root"; then
    # Fresh by its date, but maybe half-written: another launcher's Maven may be writing it right now.
    [ -e "$root/target/build.lock" ] && ! flock -n "$root/target/build.lock" true 2>/dev/null || return 0
    panavisor_say "panavisor: waiting for another launcher that is building $jar..."
    flock "$root/target/build.lock" true 2>/dev/null || true
    panavisor_jar_stale "$root" || return 0
  fi
  if ! command -v mvn >/dev/null 2>&1; then
    panavisor_say "panavisor: building needs Apache Maven ('apt-get install maven')."
    return 1
  fi
  mkdir -p "$root/target" 2>/dev/null || true
  if [ -w "$root/target" ]; then # a read-only project cannot be built anyway; Maven says why below
    exec {lock}>"$root/target/build.lock"
    if ! flock -n "$lock"; then
      panavisor_say "panavisor: waiting for another launcher that is building $jar..."
      flock "$lock"
    fi
    if ! panavisor_jar_stale "$root"; then
      exec {lock}>&-
      return 0
    fi
  fi
  panavisor_say "panavisor: building $jar (first use or sources changed)..."
  if ! (cd "$root" && mvn -q -B -DskipTests package >"$root/target-build.log" 2>&1); then
    panavisor_say "panavisor: build failed; see $root/target-build.log"
    [ -z "$lock" ] || exec {lock}>&-
    return 1
  fi
  rm -f "$root/target-build.log"
  [ -z "$lock" ] || exec {lock}>&-
}
