package dev.panavisor.api;

import dev.panavisor.PanavisorException;

/**
 * A Firecracker-style configuration that Panavisor refuses: a malformed JSON document, a field of the wrong type, a
 * value out of range, a second root drive. The message names the field ("machine-config.vcpu_count: ...") and
 * reads well on its own: {@code run --config} prints it as its one error line, {@code serve} returns it as the
 * {@code fault_message} of a 400 response, as Firecracker does for a request it cannot apply. A message quotes
 * what the client sent (an id, an action's name), so its control characters are escaped ({@link
 * JsonFields#printable}): it stays one line, and a terminal that shows it runs no escape sequence of the client's.
 */
public final class ApiException extends PanavisorException {
    public ApiException(String message) {
        super(JsonFields.printable(message));
    }

    public ApiException(String message, Throwable cause) {
        super(JsonFields.printable(message), cause);
    }
}
