package dev.panavisor;

/**
 * Root of every exception Panavisor throws on purpose.
 *
 * <p>Each package has its own small family below this one (for example {@code sys.NativeCallException},
 * {@code memory.GuestMemoryException}); the command line maps them to an exit code and one clear line of text,
 * so a message here must read well on its own, without a stack trace.
 */
public abstract class PanavisorException extends RuntimeException {
    protected PanavisorException(String message) {
        super(message);
    }

    protected PanavisorException(String message, Throwable cause) {
        super(message, cause);
    }
}
