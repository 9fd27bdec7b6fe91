package dev.panavisor.vmm;

import dev.panavisor.kvm.Kvm;
import dev.panavisor.sys.Errno;
import dev.panavisor.sys.Libc;
import dev.panavisor.sys.Seccomp;
import dev.panavisor.sys.Syscall;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A child JVM for {@link ConfinementTest}: runs a {@link Machine} whose guest writes to the serial port forever,
 * confines itself at the point {@code panavisor run} does (Machine.run's afterStart) unless told {@code none}, then
 * makes calls the filter forbids — a socket, a new process, a program executed — and prints what happened and
 * whether the guest went on. Arguments: {@code filter|none|measure DIR} ({@code measure}: no filter and no
 * forbidden calls, for strace). Output lines: {@code seccomp-mode N}, {@code socket allowed|refused: why},
 * {@code clone refused|kernel: why}, {@code execve refused|kernel: why}, {@code process allowed} (unconfined
 * only), {@code guest-bytes-after N}, {@code outcome Name}, {@code outcome-detail text}, {@code closed}.
 *
 * <p>Confined, a new process is tried with raw system calls, not {@code ProcessBuilder}: when its first
 * {@code pipe2} is refused, JDK 25.0.3's {@code forkAndExec} closes two descriptor numbers it never opened (its
 * {@code ChildStuff} is malloc'ed and not yet filled in; strace shows {@code close(0)} twice), so it may close one
 * of the VM's own descriptors, which ended this guest as a crash in one CI run. The raw calls are made harmless
 * whether or not the filter refuses them: {@code clone} with {@code CLONE_SIGHAND} but not {@code CLONE_VM} is
 * {@code EINVAL} to the kernel (kernel/fork.c), and the program executed does not exist ({@code ENOENT}).
 */
public final class ConfinedMachineMain {
    private ConfinedMachineMain() {
    }

    public static void main(String[] args) throws Exception {
        boolean filter = args[0].equals("filter");
        boolean attempt = !args[0].equals("measure");
        Path dir = Path.of(args[1]);
        MachineConfig config = SyntheticGuests.machineWithDisk(dir, SyntheticGuests.SERIAL_FOREVER, 64L << 20);
        AtomicLong bytes = new AtomicLong();
        OutputStream counting = new OutputStream() {
            @Override
            public void write(int b) {
                bytes.incrementAndGet();
            }

            @Override
            public void write(byte[] b, int off, int len) {
                bytes.addAndGet(len);
            }
        };
        // A JVM started with -jar (panavisor) has loaded libzip reading its jar; one on a class path of directories
        // (surefire's) may not have, and loading a native library after confinement fails (it resolves the path
        // with lstat/readlink): load it now, as the real VMM has, so the attempts below reach their system calls.
        new java.util.zip.Inflater().end();
        CountDownLatch confined = new CountDownLatch(1);
        Runnable afterStart = () -> {
            if (filter) {
                Confinement.install();
            } else {
                Seccomp.mode(); // a marker in strace output: where the filter would be installed
            }
            confined.countDown();
        };
        try (Kvm kvm = Kvm.open(); Machine machine = Machine.create(kvm, config, counting, System.nanoTime())) {
            CompletableFuture<Outcome> outcome = CompletableFuture.supplyAsync(() -> machine.run(null, afterStart),
                    runnable -> Thread.ofPlatform().name("machine-run").start(runnable));
            if (!confined.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the machine never started");
            }
            System.out.println("seccomp-mode " + Seccomp.mode());
            if (attempt) {
                System.out.println("socket " + attempt(() -> SocketChannel.open().close()));
                System.out.println("clone " + rawResult(Libc.syscallOrErrno(Syscall.CLONE.number(), CLONE_SIGHAND,
                        0, MemorySegment.NULL)));
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment path = arena.allocateFrom("/nonexistent/panavisor-confinement-probe");
                    System.out.println("execve " + rawResult(Libc.syscallOrErrno(Syscall.EXECVE.number(),
                            path.address(), 0, MemorySegment.NULL)));
                }
                if (!filter) {
                    System.out.println("process " + attempt(() -> new ProcessBuilder("true").start().waitFor()));
                }
            }
            long before = bytes.get();
            Thread.sleep(300);
            System.out.println("guest-bytes-after " + (bytes.get() - before));
            machine.stop("test done");
            Outcome ended = outcome.get(30, TimeUnit.SECONDS);
            System.out.println("outcome " + ended.getClass().getSimpleName());
            System.out.println("outcome-detail " + ended.describe());
        }
        System.out.println("closed");
        System.out.flush();
    }

    /** clone(2)'s flag to share signal handlers (include/uapi/linux/sched.h); the kernel wants CLONE_VM with it. */
    private static final long CLONE_SIGHAND = 0x800;

    /** A raw call's result: "refused: " the filter's EPERM, or "kernel: " the kernel's own error, or "allowed". */
    private static String rawResult(long result) {
        if (result >= 0) {
            return "allowed";
        }
        String why = Libc.strerror((int) -result);
        return (result == -Errno.EPERM ? "refused: " : "kernel: ") + why;
    }

    private interface Call {
        void run() throws Exception;
    }

    /**
     * "allowed", or "refused: " and the message of the first IOException in the chain (a class's static init can
     * wrap it).
     */
    private static String attempt(Call call) {
        try {
            call.run();
            return "allowed";
        } catch (Throwable e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof IOException) {
                    return "refused: " + t.getMessage().lines().findFirst().orElse("");
                }
            }
            return "failed: " + e;
        }
    }
}
