package dev.panavisor.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Which CPUs a thread may run on (sched_setaffinity(2)); glibc's wrapper is not linked, the system call is made. */
public final class ThreadAffinity {
    /** sizeof(cpu_set_t) in glibc: a bit for each of 1,024 CPUs. */
    static final long CPU_SET_SIZE = 128;

    private ThreadAffinity() {
    }

    /**
     * Pins the calling thread to one CPU: sched_setaffinity with pid 0, which means the calling thread. Returns 0 or
     * {@code -errno} (EINVAL for a CPU that is not online).
     */
    public static int pinCallingThread(int cpu) {
        if (cpu < 0 || cpu >= CPU_SET_SIZE * Byte.SIZE) {
            throw new IllegalArgumentException("no CPU " + cpu + " in a cpu_set_t");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = arena.allocate(CPU_SET_SIZE);
            mask.set(ValueLayout.JAVA_BYTE, cpu / Byte.SIZE, (byte) (1 << (cpu % Byte.SIZE)));
            return (int) Libc.syscallOrErrno(Syscall.SCHED_SETAFFINITY.number(), 0, CPU_SET_SIZE, mask);
        }
    }
}
