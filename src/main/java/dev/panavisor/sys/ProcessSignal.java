package dev.panavisor.sys;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * A signal to another process: {@code kill(2)}, which the JDK's {@code ProcessHandle} offers only for TERM and KILL.
 */
public final class ProcessSignal {
    /**
     * SIGPWR on x86-64 Linux (asm-generic/signal.h): "power failure", which init systems and container managers
     * (LXC, sysvinit) take as a request to shut down cleanly; Panavisor's run presses Ctrl+Alt+Del on it.
     */
    public static final int SIGPWR = 30;

    /** Linked on first use: only serve sends signals. */
    private static final class Handles {
        static final MethodHandle KILL = Libc.link("kill");
    }

    private ProcessSignal() {
    }

    /**
     * Whether process {@code pid} has a handler for {@code signal} (its {@code SigCgt} mask in /proc/PID/status,
     * proc(5)); false for a process that is gone or whose status cannot be read.
     */
    public static boolean catches(long pid, int signal) {
        try {
            return catches(java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/status")), signal);
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
    }

    /** {@link #catches(long, int)} on the text of a /proc/PID/status file. */
    public static boolean catches(String status, int signal) {
        for (String line : status.split("\n")) {
            if (line.startsWith("SigCgt:")) {
                long mask = Long.parseUnsignedLong(line.substring("SigCgt:".length()).strip(), 16);
                return signal >= 1 && signal <= 64 && (mask >>> (signal - 1) & 1) != 0;
            }
        }
        return false;
    }

    /** Sends {@code signal} to process {@code pid}; a process that is gone (ESRCH) is a {@link NativeCallException}. */
    public static void send(long pid, int signal) {
        if (pid <= 0 || pid > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("not one process: " + pid); // 0 and -1 would signal groups
        }
        MemorySegment state = Libc.CALL_STATE_SEGMENT.get();
        if ((int) Libc.call(Handles.KILL, state, pid, signal) < 0) {
            throw new NativeCallException("kill(" + pid + ", " + signal + ")", Libc.errno(state));
        }
    }
}
