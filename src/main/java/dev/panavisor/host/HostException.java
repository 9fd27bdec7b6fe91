package dev.panavisor.host;

import dev.panavisor.PanavisorException;

/**
 * A host program or Debian package that failed Panavisor: a tool that is missing or exits non-zero, a package that
 * is not installed and may not be installed here, a cache directory that cannot be written. The message names the
 * program or package and, where there is one, the command that fixes it.
 *
 * <p>The image build, the lab and the comparison all call into this package; each lets these failures through to
 * the command line (one line, exit status 1) or catches them beside its own exception where it has a fallback.
 */
public class HostException extends PanavisorException {
    public HostException(String message) {
        super(message);
    }

    public HostException(String message, Throwable cause) {
        super(message, cause);
    }
}
