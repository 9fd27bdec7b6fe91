package dev.panavisor.cli;

import dev.panavisor.PanavisorException;

/**
 * A command that cannot go on for a reason the user can act on (a tool that is missing, a measurement that failed, a
 * host where guests cannot run): one line, exit status 1. A value the user gave that makes no sense is a
 * {@link UsageException} instead.
 */
class CommandFailedException extends PanavisorException {
    CommandFailedException(String message) {
        super(message);
    }
}
