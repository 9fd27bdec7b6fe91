package dev.panavisor.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A child JVM's main for {@link HandleCustomizationTest}: makes one call of each handle (its link and first call
 * generate classes of their own); with {@code args[0]} = {@code ahead}, then calls
 * {@link HandleCustomization#disksAhead()} and {@link HandleCustomization#workersAhead()} first; then prints a marker and makes
 * 200 calls of each of {@code preadv}, {@code pwritev}, {@code read}, {@code write} and {@code poll}, as a disk's
 * worker makes for a guest's first 200 requests, so the test can see which classes the JVM
 * generates after the marker.
 */
final class HandleCustomizationMain {
    static final String MARKER = "--- the requests";

    private HandleCustomizationMain() {
    }

    public static void main(String[] args) {
        // One call of each first, in both runs: a downcall's first link and call generate classes of their own.
        MemorySegment empty = Arena.ofAuto().allocate(PositionalIo.IOVEC_BYTES, 8);
        callEach(empty);
        if (args[0].equals("ahead")) {
            HandleCustomization.disksAhead();
            HandleCustomization.workersAhead();
        }
        System.out.println(MARKER);
        System.out.flush();
        for (int i = 0; i < 200; i++) {
            callEach(empty);
        }
        System.out.println("--- done");
    }

    /** One call of each handle, every one of which changes nothing. */
    private static void callEach(MemorySegment empty) {
        if (PositionalIo.preadvOrErrno(-1, empty, 1, 0) != -Errno.EBADF
                || PositionalIo.pwritevOrErrno(-1, empty, 1, 0) != -Errno.EBADF
                || Libc.readOrErrno(-1, MemorySegment.NULL) != -Errno.EBADF
                || Libc.writeOrErrno(-1, MemorySegment.NULL) != -Errno.EBADF
                || Libc.pollOrErrno(MemorySegment.NULL, 0, 0) != 0) {
            throw new AssertionError("a call that should change nothing did not fail as expected");
        }
    }
}
