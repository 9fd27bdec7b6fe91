package dev.panavisor.vmm;

import dev.panavisor.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Puts the user's terminal in raw mode while a guest owns the console — every key goes to the guest as typed,
 * Ctrl-C included, and the guest does its own echo — and restores it afterwards on every path out: normal return,
 * exception, or JVM shutdown (SIGTERM, SIGINT via shutdown hook). When standard input is not a terminal (a pipe,
 * CI), it does nothing.
 */
public final class HostTerminal implements AutoCloseable {
    private static final int STDIN = 0;

    private final MemorySegment saved;
    private final Thread restoreOnExit;
    private boolean restored;

    private HostTerminal(MemorySegment saved) {
        this.saved = saved;
        this.restoreOnExit = saved == null ? null : new Thread(this::restore, "panavisor-terminal-restore");
        if (restoreOnExit != null) {
            Runtime.getRuntime().addShutdownHook(restoreOnExit);
        }
    }

    /** Whether this process's stdin is a terminal. */
    public static boolean stdinIsTerminal() {
        return Libc.isatty(STDIN);
    }

    /** Raw mode if stdin is a terminal, else a no-op handle. */
    public static HostTerminal rawIfInteractive() {
        if (!Libc.isatty(STDIN)) {
            return new HostTerminal(null);
        }
        MemorySegment saved = Arena.ofAuto().allocate(Libc.TERMIOS_SIZE, 8);
        Libc.tcgetattr(STDIN, saved);
        try (Arena call = Arena.ofConfined()) {
            MemorySegment raw = call.allocate(Libc.TERMIOS_SIZE, 8);
            raw.copyFrom(saved);
            Libc.cfmakeraw(raw);
            Libc.tcsetattr(STDIN, Libc.TCSAFLUSH, raw);
        }
        return new HostTerminal(saved);
    }

    private synchronized void restore() {
        if (saved != null && !restored) {
            restored = true;
            Libc.tcsetattr(STDIN, Libc.TCSAFLUSH, saved);
        }
    }

    @Override
    public void close() {
        restore();
        if (restoreOnExit != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(restoreOnExit);
            } catch (IllegalStateException shuttingDown) {
                // the hook is already running or has run: it restores the terminal too
            }
        }
    }
}
