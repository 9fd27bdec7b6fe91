package dev.panavisor.sys;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The C heap (glibc's malloc), which Panavisor shares with the JVM: its compilers' arenas, its threads' buffers. Freed
 * memory stays with the process until {@code malloc_trim(3)} gives the kernel back the free pages of each arena. The
 * JVM's own trimmer thread calls it on a timer ({@code -XX:TrimNativeHeapInterval}, jvm.options); the VMM calls it
 * once more as soon as the guest has booted, when start-up's memory has just been freed, so that the timer can be
 * long and an idle VMM wakes less often (docs/performance.md, "An idle VMM's threads").
 */
public final class NativeHeap {
    /** Linked on first use; null in a C library without it (malloc_trim is glibc's: musl has none). */
    private static final class Handles {
        static final MethodHandle MALLOC_TRIM = linkIfThere();

        private static MethodHandle linkIfThere() {
            try {
                return Libc.link("malloc_trim");
            } catch (UnsatisfiedLinkError e) {
                return null;
            }
        }
    }

    private NativeHeap() {
    }

    /**
     * {@code malloc_trim(0)}: gives free heap pages back to the kernel; true when it gave any back, false too where
     * the C library has no such function (the JVM's own trimmer then only warns, and so this does nothing).
     */
    public static boolean trim() {
        MethodHandle mallocTrim = Handles.MALLOC_TRIM;
        if (mallocTrim == null) {
            return false;
        }
        MemorySegment state = Libc.CALL_STATE_SEGMENT.get();
        return (int) Libc.call(mallocTrim, state, 0) == 1;
    }
}
