package dev.panavisor.cli;

import dev.panavisor.PanavisorException;

/** A command-line value that parses but makes no sense (a negative count, a size too small, ...). */
final class BadArgumentException extends PanavisorException {
    BadArgumentException(String message) {
        super(message);
    }
}
