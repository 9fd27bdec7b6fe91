package dev.panavisor.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A child JVM's main for {@link PositionalIoTest}: with {@code args[0]} = {@code ahead}, calls
 * {@link PositionalIo#customizeAhead()} first; then prints a marker and makes as many {@code preadv} and
 * {@code pwritev} calls as a guest's first 200 requests of each kind, so the test can see which classes the JVM
 * generates after the marker.
 */
final class HandleCustomizationMain {
    static final String MARKER = "--- the requests";

    private HandleCustomizationMain() {
    }

    public static void main(String[] args) {
        if (args[0].equals("ahead")) {
            PositionalIo.customizeAhead();
        }
        System.out.println(MARKER);
        System.out.flush();
        MemorySegment empty = Arena.ofAuto().allocate(PositionalIo.IOVEC_BYTES, 8);
        for (int i = 0; i < 200; i++) {
            if (PositionalIo.preadvOrErrno(-1, empty, 1, 0) != -Errno.EBADF
                    || PositionalIo.pwritevOrErrno(-1, empty, 1, 0) != -Errno.EBADF) {
                throw new AssertionError("a call on descriptor -1 did not fail with EBADF");
            }
        }
        System.out.println("--- done");
    }
}
