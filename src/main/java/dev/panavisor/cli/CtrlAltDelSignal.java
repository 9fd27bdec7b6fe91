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

    /** Guards {@link #target} and {@link #pending}: the one handler and {@link #install} agree under it. */
    private static final Object LOCK = new Object();
    /** What presses the keys, once the VM is built; null before. */
    private static java.util.function.BooleanSupplier target;
    private static PrintWriter targetErr;
    /** A SIGPWR came before there was a target. */
    private static boolean pending;

    /**
     * From now on SIGPWR is taken, not the JVM's end (the signal's default action, which no shutdown hook survives):
     * before the VM is built it is kept, and pressed once the guest can take it ({@link #install}). For {@code run}
     * and {@code standby}, as they start: serve's SendCtrlAltDel may come right after InstanceStart. One handler,
     * installed once; the JDK runs it on a thread of its own, not in the signal's context, so it may take locks.
     */
    static void holdUntilBuilt() {
        sun.misc.Signal.handle(new sun.misc.Signal("PWR"), signal -> {
            java.util.function.BooleanSupplier press;
            PrintWriter err;
            synchronized (LOCK) {
                if (target == null) {
                    pending = true;
                    return;
                }
                press = target;
                err = targetErr;
            }
            press(press, err);
        });
    }

    /** From now on, SIGPWR presses Ctrl+Alt+Del on {@code machine}'s keyboard and says so on {@code err}. */
    static void install(Machine machine, PrintWriter err) {
        install(machine::pressCtrlAltDel, err, () -> waitForBoot(machine));
    }

    /**
     * As above, with {@code press} pressing the keys (true if the keyboard took them). A SIGPWR kept since
     * {@link #holdUntilBuilt} is pressed on a thread of its own once {@code guestReady} returns: a press before the
     * guest's keyboard driver has started would be flushed away by its probe.
     */
    static void install(java.util.function.BooleanSupplier press, PrintWriter err, Runnable guestReady) {
        boolean held;
        synchronized (LOCK) {
            target = press;
            targetErr = err;
            held = pending;
            pending = false;
        }
        holdUntilBuilt(); // the one handler: installed here too for a run that did not hold (a test, the lab's)
        if (held) {
            Thread.ofPlatform().daemon().name("ctrl-alt-del-held").start(() -> {
                guestReady.run();
                press(press, err);
            });
        }
    }

    /** Until the guest's init has written its boot marker (its drivers are up), 30 s at most, or the VM's end. */
    private static void waitForBoot(Machine machine) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (machine.bootNanos() < 0 && machine.isRunning() && System.nanoTime() - deadline < 0) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return;
            }
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
