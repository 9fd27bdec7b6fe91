package dev.panavisor.compare;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the peers run. Every peer runs the same busybox commands, so the differences are the peers':
 * <ul>
 *   <li>{@link Kind#TRUE}: the start-time workload: VMs run {@code true} as the init's command; containers and the
 *       host print one line ({@code echo}, a busybox applet like {@code true}), whose arrival marks the workload's
 *       start.</li>
 *   <li>{@link Kind#IDLE}: an instance that stays up doing nothing ({@code sleep}), for memory, idle CPU and
 *       density.</li>
 *   <li>{@link Kind#WORK}: the facts and the I/O and CPU figures, one run per peer: the kernel it runs on, its
 *       seccomp mode, a shell loop, and a sequential write then read with {@code dd} (1 MiB blocks, O_DIRECT when
 *       the file system allows it), each timed with busybox {@code time} (10 ms resolution); then 4 KiB random
 *       reads and writes over the same bytes, one request in flight, for a fixed time, by {@code io-load}
 *       ({@code tools/bench/io-load.c}, built static, which times itself and prints its own line); then, when
 *       the instance has a network link ({@link NetworkLinks}), an HTTP download from the host's end of it and an
 *       upload of as many bytes to it, with busybox {@code wget}, each timed like {@code dd}.</li>
 * </ul>
 */
public final class Workload {
    public enum Kind { TRUE, IDLE, WORK }

    /** Printed by the container and host workloads when they start. */
    public static final String READY = "cmp-ready";
    /** Printed by the guest /init once its file systems are up (guest-images/init, the "banner"). */
    public static final String GUEST_BANNER = "panavisor-init: booted in";
    static final String IDLE_COMMAND = "sleep 1000000";

    private static final Pattern REAL = Pattern.compile("^real\\s+(\\d+)m\\s*([0-9.]+)s");
    private static final Pattern IO_LOAD = Pattern.compile(
            "io-load: test=(randread|randwrite) jobs=1 bytes=\\d+ ops=(\\d+) seconds=([0-9.]+)");
    private static final Pattern TAG = Pattern.compile("^cmp-(\\w+) ?(.*)$");

    private Workload() {
    }

    /**
     * What the WORK script works on: its I/O target, sizes, and where the peer sees io-load; {@code netServer} the
     * host's server as ADDRESS:PORT ("" for no network rows), {@code netFile} where the upload's bytes are made.
     */
    public record Io(String target, int mib, int randomSeconds, int cpuLoops, String loadProgram, String netServer,
            int netMiB, String netFile) {
    }

    /** The shell command of a kind, for a VM (which runs {@code true} as such) or a process peer. */
    public static String command(Kind kind, boolean vm, Io io) {
        return switch (kind) {
            case TRUE -> vm ? "true" : "echo " + READY;
            case IDLE -> vm ? IDLE_COMMAND : "echo " + READY + "; exec " + IDLE_COMMAND;
            case WORK -> script(io);
        };
    }

    /**
     * The WORK script: short, since a VM gets it base64-encoded on a kernel command line of at most 2048 bytes
     * (x86's COMMAND_LINE_SIZE). Each timed step prints its tag first and busybox time's "real" line follows. The
     * tag goes to stderr, where {@code time} writes: a runtime that carries the two streams through separate pipes
     * (runc did, once in the lab) could otherwise deliver the "real" line before its tag, and the figure was lost.
     * A timed command that fails is followed by the tag {@code failed} (busybox {@code time} passes its status on),
     * which takes its figure back.
     */
    static String script(Io io) {
        int ioMiB = io.mib();
        String random = " " + ioMiB + " " + io.randomSeconds() + " 1";
        List<String> lines = new ArrayList<>(List.of(
                "echo cmp-kernel $(uname -r)",
                "echo cmp-seccomp $(sed -n 's/^Seccomp:[[:space:]]*//p' /proc/self/status)",
                "f=" + io.target(),
                "if dd if=/dev/zero of=$f bs=4096 count=1 oflag=direct 2>/dev/null; then o=oflag=direct; "
                        + "i=iflag=direct; m=direct; else o=conv=fsync; i=; m=buffered; fi",
                "echo cmp-io $m",
                "echo cmp-time cpu >&2; time sh -c 'i=0; while [ $i -lt " + io.cpuLoops() + " ]; do i=$((i+1)); done'",
                "echo cmp-time write >&2; time dd if=/dev/zero of=$f bs=1M count=" + ioMiB + " $o",
                "echo cmp-time read >&2; time dd if=$f of=/dev/null bs=1M count=" + ioMiB + " $i",
                io.loadProgram() + " $f randread" + random,
                io.loadProgram() + " $f randwrite" + random));
        if (!io.netServer().isEmpty()) {
            lines.addAll(List.of(
                    "F='echo cmp-time failed >&2'; u=http://" + io.netServer() + "; n=" + io.netFile(),
                    "dd if=/dev/zero of=$n bs=1M count=" + io.netMiB() + " 2>/dev/null",
                    "echo cmp-time net-in >&2; time wget -q -O /dev/null $u/" + NetworkLinks.FILE + " || eval $F",
                    "echo cmp-time net-out >&2; time wget -q -O /dev/null --post-file $n $u/" + NetworkLinks.SINK
                            + " || eval $F",
                    "rm -f $n"));
        }
        lines.add("echo cmp-done");
        return String.join("\n", lines);
    }

    /** Parses the WORK script's output; missing figures are NaN, a missing seccomp line -1. */
    public static Results.Workload parse(String output, int ioMiB, int netMiB) {
        String kernel = "";
        int seccomp = -1;
        String ioMode = "";
        String timing = null;
        String lastTimed = null;
        Map<String, Double> seconds = new HashMap<>();
        double randRead = Double.NaN;
        double randWrite = Double.NaN;
        for (String line : output.lines().map(String::strip).toList()) {
            Matcher load = IO_LOAD.matcher(line);
            if (load.find()) {
                double iops = Long.parseLong(load.group(2)) / Math.max(Double.parseDouble(load.group(3)), 1e-6);
                if (load.group(1).equals("randread")) {
                    randRead = iops;
                } else {
                    randWrite = iops;
                }
                continue;
            }
            Matcher tag = TAG.matcher(line);
            if (tag.matches()) {
                switch (tag.group(1)) {
                    case "kernel" -> kernel = tag.group(2).strip();
                    case "seccomp" -> seccomp = tag.group(2).isBlank() ? -1 : Integer.parseInt(tag.group(2).strip());
                    case "io" -> ioMode = tag.group(2).strip();
                    case "time" -> timing = tag.group(2).strip();
                    default -> { }
                }
                if ("failed".equals(timing)) {
                    seconds.remove(lastTimed);
                    timing = null;
                }
                continue;
            }
            Matcher real = REAL.matcher(line);
            if (real.find() && timing != null) {
                seconds.put(timing, Long.parseLong(real.group(1)) * 60 + Double.parseDouble(real.group(2)));
                lastTimed = timing;
                timing = null;
            }
        }
        return new Results.Workload(kernel, seccomp, ioMode, seconds.getOrDefault("cpu", Double.NaN),
                rate(ioMiB, seconds.get("write")), rate(ioMiB, seconds.get("read")), randRead, randWrite,
                rate(netMiB, seconds.get("net-in")), rate(netMiB, seconds.get("net-out")));
    }

    /**
     * MiB/s; a transfer faster than the clock's 10 ms resolution counts as taking 10 ms, one not timed (null) is
     * NaN.
     */
    static double rate(int mib, Double seconds) {
        return seconds == null ? Double.NaN : mib / Math.max(seconds, 0.01);
    }

    /** The busybox applets the host floor needs on its PATH (it runs the guest's busybox, not the host's tools). */
    static final List<String> HOST_APPLETS = List.of("sh", "echo", "sleep", "dd", "time", "sed", "uname", "true",
            "wget", "rm");
}
