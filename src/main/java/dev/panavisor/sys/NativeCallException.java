package dev.panavisor.sys;

import dev.panavisor.PanavisorException;

/**
 * A libc call that failed: which call (with its arguments, as a readable string), the errno it set, and the
 * system's text for that errno. The message reads like {@code open(/dev/kvm): Permission denied (errno 13)}.
 */
public class NativeCallException extends PanavisorException {
    private final String call;
    private final int errno;

    public NativeCallException(String call, int errno) {
        super(call + ": " + Libc.strerror(errno) + " (errno " + errno + ")");
        this.call = call;
        this.errno = errno;
    }

    /** The failed call, e.g. {@code "ioctl(KVM_CREATE_VM)"}. */
    public String call() {
        return call;
    }

    public int errno() {
        return errno;
    }
}
