package dev.panavisor.sys;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** A signal to another process: {@code kill(2)}, which the JDK's {@code ProcessHandle} offers only for TERM and KILL. */
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
