package dev.panavisor.cli;

import dev.panavisor.vmm.Machine;
import java.io.PrintWriter;

/**
 * SIGPWR to {@code panavisor run} presses Ctrl+Alt+Del on the guest's keyboard, and the guest decides what follows
 * (Panavisor's init ends the VM cleanly: guest-images/init). It is how serve's SendCtrlAltDel reaches the VM's
 * process, and anyone may send it: {@code kill -PWR PID}. SIGPWR ("power failure") is the signal init systems and
 * container managers take as "shut down cleanly"; the JVM does not use it. (SIGTERM and Ctrl-C stop the VM from
 * the host instead, as Ctrl-A x does.)
 */
final class CtrlAltDelSignal {
    private CtrlAltDelSignal() {
    }

    /** A SIGPWR that came before the VM was built ({@link #holdUntilBuilt}), for {@link #install} to press. */
    private static final java.util.concurrent.atomic.AtomicBoolean PRESSED_EARLY =
            new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Until {@link #install}: a SIGPWR is kept, and pressed once the VM is built, rather than end the JVM (the
     * signal's default action, which no shutdown hook survives). For {@code run} and {@code standby}, from their
     * start: serve's SendCtrlAltDel may come right after InstanceStart, while the VM is still being built.
     */
    static void holdUntilBuilt() {
        sun.misc.Signal.handle(new sun.misc.Signal("PWR"), signal -> PRESSED_EARLY.set(true));
    }

    /** From now on, SIGPWR presses Ctrl+Alt+Del on {@code machine}'s keyboard and says so on {@code err}. */
    static void install(Machine machine, PrintWriter err) {
        install(machine::pressCtrlAltDel, err);
    }

    /**
     * As above, with {@code press} pressing the keys (true if the keyboard took them); a SIGPWR held since
     * {@link #holdUntilBuilt} is pressed now.
     */
    static void install(java.util.function.BooleanSupplier press, PrintWriter err) {
        // sun.misc.Signal (module jdk.unsupported): the JDK's one way to take a signal in Java. Its handler runs on
        // a thread of its own, not in the signal's context, so it may take the device's lock.
        sun.misc.Signal.handle(new sun.misc.Signal("PWR"), signal -> press(press, err));
        if (PRESSED_EARLY.getAndSet(false)) {
            press(press, err);
        }
    }

    private static void press(java.util.function.BooleanSupplier press, PrintWriter err) {
        String line = press.getAsBoolean() ? "Ctrl+Alt+Del pressed on the guest's keyboard (SIGPWR)"
                : "SIGPWR: the guest's keyboard did not take Ctrl+Alt+Del (it is disabled, or the VM is ending)";
        synchronized (err) {
            err.println("panavisor: " + line);
            err.flush();
        }
    }

    /**
     * For a run through the nested lab, whose guest's keyboard is in another kernel that no signal from here reaches:
     * SIGPWR stops the VM as SIGTERM does (serve's SendCtrlAltDel does the same there), with one line that says so.
     * Without a handler SIGPWR would end the JVM at once, without its shutdown hooks: the lab's QEMU dies with it
     * (pdeathsig), but the lab's run directory stays behind. Running the returned action, once the lab's run is
     * over, makes a later SIGPWR do nothing: there is no VM left to stop, and the run's status is already decided.
     */
    static Runnable installForLab(PrintWriter err) {
        java.util.concurrent.atomic.AtomicBoolean over = new java.util.concurrent.atomic.AtomicBoolean();
        sun.misc.Signal.handle(new sun.misc.Signal("PWR"), signal -> {
            if (over.get()) {
                return;
            }
            BoundedNotice.start("ctrl-alt-del-notice", () -> { // a stderr nobody reads must not hold the stop
                synchronized (err) {
                    err.println("panavisor: SIGPWR: the VM runs in the nested lab, where no keyboard press reaches "
                            + "it from here; stopping it instead, as SIGTERM does");
                    err.flush();
                }
            }).await();
            sun.misc.Signal.raise(new sun.misc.Signal("TERM"));
        });
        return () -> over.set(true);
    }
}
