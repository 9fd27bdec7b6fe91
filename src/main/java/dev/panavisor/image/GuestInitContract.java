package dev.panavisor.image;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the guest's {@code /init} (guest-images/init) promises the VMM, in code: the boot marker, the banner,
 * command mode on the kernel command line and its exit status line. The script's header comment and
 * docs/guest-images.md describe the same contract; the reference boot test checks that they agree.
 */
public final class GuestInitContract {
    /** The I/O port /init's first act writes to (through /sbin/boot-marker). */
    public static final int BOOT_MARKER_PORT = 0x440;
    /** The byte written there. */
    public static final int BOOT_MARKER_VALUE = 123;
    /** Kernel command-line parameter carrying a shell command, base64-encoded. */
    public static final String EXEC_PARAMETER = "panavisor.exec";
    /** Start of the banner line, followed by the uptime in seconds and " s". */
    public static final String BANNER_PREFIX = "panavisor-init: booted in ";
    /** Start of the line that reports the command's exit status in command mode. */
    public static final String EXIT_STATUS_PREFIX = "panavisor-exit-status: ";
    /** The exit status /init reports when the panavisor.exec value is not valid base64. */
    public static final int BAD_COMMAND_STATUS = 125;

    private static final Pattern EXIT_STATUS = Pattern.compile(
            "(?m)^" + Pattern.quote(EXIT_STATUS_PREFIX) + "(\\d{1,3})\\r?$");
    private static final Pattern BANNER = Pattern.compile(
            "(?m)^" + Pattern.quote(BANNER_PREFIX) + "(\\d+(?:\\.\\d+)?) s\\r?$");

    private GuestInitContract() {
    }

    /**
     * The kernel command-line parameter that makes /init run {@code command} with {@code sh -c} and end the VM.
     * Base64 (RFC 4648 §4, with padding) has no spaces or quotes, so the command survives the command line as is.
     */
    public static String execParameter(String command) {
        if (command.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        return EXEC_PARAMETER + "=" + Base64.getEncoder().encodeToString(command.getBytes(StandardCharsets.UTF_8));
    }

    /** The command's exit status from the console output of a command-mode boot, if /init got that far. */
    public static OptionalInt exitStatus(String consoleOutput) {
        Matcher matcher = EXIT_STATUS.matcher(consoleOutput);
        return matcher.find() ? OptionalInt.of(Integer.parseInt(matcher.group(1))) : OptionalInt.empty();
    }

    /** The uptime /init printed in its banner, in seconds, if the console shows the banner. */
    public static java.util.OptionalDouble bootSeconds(String consoleOutput) {
        Matcher matcher = BANNER.matcher(consoleOutput);
        return matcher.find() ? java.util.OptionalDouble.of(Double.parseDouble(matcher.group(1)))
                : java.util.OptionalDouble.empty();
    }
}
