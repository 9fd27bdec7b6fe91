package dev.panavisor.vmm;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Passes the guest console through to the user while reading it line by line for the few things the VMM must
 * know: the exit status the guest init prints in command mode ({@code panavisor-exit-status: N}, see
 * guest-images/init), and a kernel panic ({@code Kernel panic - not syncing: ...}). Without ACPI or a pvpanic
 * device, the console is the only place a panicking kernel says so before it resets the machine.
 *
 * <p>With {@code hideStatusLine}, the status line is consumed rather than shown, so {@code --exec} prints only
 * the command's own output.
 */
public final class ConsoleWatcher extends OutputStream {
    static final String STATUS_PREFIX = "panavisor-exit-status: ";
    private static final Pattern STATUS = Pattern.compile("panavisor-exit-status: (\\d{1,3})\\s*");
    private static final Pattern PANIC = Pattern.compile(".*(Kernel panic - not syncing: .*)");
    private static final int MAX_LINE = 4096;

    private final OutputStream out;
    private final boolean hideStatusLine;
    private final byte[] line = new byte[MAX_LINE];
    private int length;
    private volatile Integer exitStatus;
    private volatile String panic;

    public ConsoleWatcher(OutputStream out, boolean hideStatusLine) {
        this.out = out;
        this.hideStatusLine = hideStatusLine;
    }

    @Override
    public synchronized void write(int b) throws IOException {
        if (hideStatusLine && exitStatus != null) {
            return; // command mode is over: what follows is the kernel shutting down
        }
        if (length == MAX_LINE) { // an endless line: pass it on, stop watching it
            flushHeld();
            length = 0;
            shown = 0;
        }
        line[length++] = (byte) b;
        if (b == '\n') {
            endOfLine();
        } else if (!holdingBackStatusLine()) {
            flushHeld();
        }
    }

    /**
     * A line that may still turn out to be the status line is held back until its end, so that it can be hidden.
     */
    private boolean holdingBackStatusLine() {
        if (!hideStatusLine) {
            return false;
        }
        int start = 0;
        while (start < length && (line[start] == '\r')) {
            start++;
        }
        int n = Math.min(length - start, STATUS_PREFIX.length());
        for (int i = 0; i < n; i++) {
            if (line[start + i] != STATUS_PREFIX.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private int shown;

    private void flushHeld() throws IOException {
        if (shown < length) {
            out.write(line, shown, length - shown);
            shown = length;
            out.flush();
        }
    }

    private void endOfLine() throws IOException {
        String text = new String(line, 0, length, StandardCharsets.UTF_8).replace("\r", "").replace("\n", "");
        Matcher status = STATUS.matcher(text);
        boolean isStatus = status.matches();
        if (isStatus) {
            exitStatus = Integer.parseInt(status.group(1));
        }
        Matcher panicLine = PANIC.matcher(text);
        if (panicLine.matches() && panic == null) {
            panic = panicLine.group(1);
        }
        if (!(isStatus && hideStatusLine)) {
            flushHeld();
        }
        length = 0;
        shown = 0;
    }

    @Override
    public synchronized void flush() throws IOException {
        out.flush();
    }

    /** The status the guest's command exited with, or null if no status line has been seen. */
    public Integer exitStatus() {
        return exitStatus;
    }

    /** The kernel's panic line, or null if the kernel has not panicked. */
    public String panic() {
        return panic;
    }
}
