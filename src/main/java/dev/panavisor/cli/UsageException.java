package dev.panavisor.cli;

import dev.panavisor.PanavisorException;

/**
 * Bad usage found after parsing: values that convert but make no sense (a count of 0, two options that contradict
 * each other, a port forwarded twice). Reported as picocli's own usage errors are, one line naming where the help
 * is, with exit status 2 ({@link ExitCodes.ExceptionHandler}).
 */
final class UsageException extends PanavisorException {
    UsageException(String message) {
        super(message);
    }
}
