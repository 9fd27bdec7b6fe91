package dev.panavisor.vmm;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Passes the guest console through to the user while reading it line by line for the few things the VMM must
 * know: the exit status the guest init prints in command mode ({@code panavisor-exit-status: N}, see
 * guest-images/init), and a kernel panic ({@code Kernel panic - not syncing: ...}). Without ACPI or a pvpanic
 * device, the console is the only place a panicking kernel says so before it resets the machine.
 *
 * <p>In command mode ({@code commandMode}) the status lines are consumed rather than shown, so {@code --exec}
 * prints only the command's own output; the last one seen counts (the init prints it last, after everything the
 * command printed, so a status-like line in the command's output cannot stand in for it), unless the machine ended
 * the run at one already ({@link MachineConfig#endsAtExitStatus}: then that one counts). The kernel's own
 * "reboot:" lines that follow are hidden too. Lines that might turn out to be hidden are held back until they end;
 * everything else is shown as it arrives, so prompts appear at once. A status after other text on its line (a
 * command whose last output did not end its line, on the console as a terminal) counts too: only the end of a line
 * that could still become a status is held back, and at the line's end the text before the status is shown. (So a
 * prompt whose last characters could begin one, "to skip", shows them with the next byte, when the user types.)
 *
 * <p>An optional tap sees every byte as the guest wrote it, before anything is hidden: {@code run --timeline}
 * reads the kernel's timestamped lines there ({@link PrintkReader}).
 *
 * <p>What is shown goes through a {@link ConsoleOutput}: the devices' threads put it there under this watcher's
 * lock, and the console flusher writes it to the user's stream outside that lock.
 */
public final class ConsoleWatcher extends OutputStream {
    static final String STATUS_PREFIX = "panavisor-exit-status: ";
    private static final Pattern STATUS = Pattern.compile("panavisor-exit-status: (25[0-5]|2[0-4]\\d|1?\\d?\\d)\\s*");
    private static final Pattern KERNEL_REBOOT = Pattern.compile("\\[[ 0-9.]+\\] reboot: .*");
    private static final Pattern PANIC = Pattern.compile(".*(Kernel panic - not syncing: .*)");
    /** init/initramfs.c, at KERN_EMERG (shown even with {@code quiet}): a corrupt or truncated initramfs. */
    private static final Pattern INITRAMFS_FAILED = Pattern.compile(".*(Initramfs unpacking failed: .*)");
    private static final int MAX_LINE = 4096;

    private final ConsoleOutput out;
    private final boolean commandMode;
    private final OutputStream tap;
    private final Runnable statusListener;
    private final byte[] line = new byte[MAX_LINE];
    private int length;
    private int shown;
    private volatile Integer exitStatus;
    private volatile String panic;
    /** The kernel's report that the initramfs did not unpack whole, the likely cause of a panic that follows. */
    private volatile String initramfsFailure;

    public ConsoleWatcher(OutputStream out, boolean commandMode) {
        this(out, commandMode, null, null);
    }

    /**
     * As above, also copying every byte to {@code tap} (null for none), under this watcher's lock, and, in command
     * mode, calling {@code statusListener} (null for none) each time a status line ends, on the thread that
     * delivered it, under this watcher's lock, with {@link #exitStatus()} already that line's.
     */
    public ConsoleWatcher(OutputStream out, boolean commandMode, OutputStream tap, Runnable statusListener) {
        this.out = new ConsoleOutput(out);
        this.commandMode = commandMode;
        this.tap = tap;
        this.statusListener = statusListener;
    }

    /**
     * One byte (the 8250 delivers one byte per exit). Buffered, not flushed: a write(2) per byte on the vCPU thread
     * would cost more than the exit itself. The VMM's console flusher shows it within milliseconds
     * ({@link ConsoleFlusher}, on {@link #output()}), so typed characters still echo at once for a human.
     */
    @Override
    public synchronized void write(int b) throws IOException {
        if (tap != null) {
            tap.write(b);
        }
        accept((byte) b);
    }

    /** A run of bytes (the virtio console delivers whole buffers): watched byte by byte, buffered like the above. */
    @Override
    public synchronized void write(byte[] bytes, int offset, int count) throws IOException {
        if (tap != null) {
            tap.write(bytes, offset, count);
        }
        for (int i = 0; i < count; i++) {
            accept(bytes[offset + i]);
        }
    }

    /**
     * Blocks until something waits to be shown, as the console flusher does in {@link ConsoleOutput#awaitBytes} (not
     * under this watcher's lock), so an idle VM's console costs no wake-ups at all (it used to look every 10 ms:
     * 5-19 % of a CPU inside the lab, where every wake-up of a thread is emulated; docs/benchmarks.md).
     */
    public void awaitDirty() throws InterruptedException {
        out.awaitBytes();
    }

    /** Shows what waits to be shown, if anything, on the calling thread and outside this watcher's lock. */
    public void flushIfDirty() throws IOException {
        out.drain();
    }

    /** The buffer between this watcher and the user's stream, which the console flusher writes out. */
    ConsoleOutput output() {
        return out;
    }

    /** The VM is stopping: a device never waits for a reader that does not read (bytes with no room are dropped). */
    public void stopWaiting() {
        out.stopWaiting();
    }

    private void accept(byte b) throws IOException {
        if (length == MAX_LINE) { // an endless line: pass it on, stop watching it
            release();
            length = 0;
            shown = 0;
        }
        line[length++] = b;
        if (b == '\n') {
            endOfLine();
        } else if (!mayBeHidden()) {
            releaseBefore(statusStart());
        }
    }

    /**
     * In command mode, where a status may begin in the part of the line not shown yet: the first place from which
     * the rest of the line is the start of {@link #STATUS_PREFIX}, or begins with all of it; else {@code length}.
     */
    private int statusStart() {
        if (!commandMode) {
            return length;
        }
        for (int i = shown; i < length; i++) {
            int n = Math.min(length - i, STATUS_BYTES.length);
            if (Arrays.equals(line, i, i + n, STATUS_BYTES, 0, n)) {
                return i;
            }
        }
        return length;
    }

    /** Whether the line so far could still be one that command mode hides: hold it back until it ends. */
    private boolean mayBeHidden() {
        if (!commandMode) {
            return false;
        }
        int start = 0;
        while (start < length && line[start] == '\r') {
            start++;
        }
        if (start < length && line[start] == '[') {
            return exitStatus != null; // a kernel message: maybe "reboot: ...", hidden once the status is known
        }
        int n = Math.min(length - start, STATUS_PREFIX.length());
        for (int i = 0; i < n; i++) {
            if (line[start + i] != STATUS_PREFIX.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** Writes the part of the current line not yet shown. */
    private void release() throws IOException {
        releaseBefore(length);
    }

    /** Writes the part of the current line not yet shown, up to {@code end}. */
    private void releaseBefore(int end) throws IOException {
        if (shown < end) {
            out.write(line, shown, end - shown);
            shown = end;
        }
    }

    private void endOfLine() throws IOException {
        // Most lines are none of the three the patterns look for: tell from the bytes, before a String is made and
        // the patterns run (that cost tens of microseconds per line on the lab's C1-compiled vCPU thread).
        if (!mayBeWatched()) {
            release();
            length = 0;
            shown = 0;
            return;
        }
        String text = new String(line, 0, length, StandardCharsets.UTF_8).replace("\r", "").replace("\n", "");
        Matcher status = STATUS.matcher(text);
        boolean isStatus = status.matches();
        int statusAt = 0; // where the status begins in the line: after the text of a command's unfinished line
        if (!isStatus && commandMode) {
            statusAt = lastIndexOf(line, length, STATUS_BYTES);
            if (statusAt > 0) {
                status = STATUS.matcher(new String(line, statusAt, length - statusAt, StandardCharsets.UTF_8)
                        .replace("\r", "").replace("\n", ""));
                isStatus = status.matches();
            }
        }
        if (isStatus) {
            exitStatus = Integer.parseInt(status.group(1));
            releaseBefore(statusAt); // the command's own text before it, if any
        }
        Matcher panicLine = PANIC.matcher(text);
        if (panicLine.matches() && panic == null) {
            panic = panicLine.group(1);
        }
        Matcher unpacking = INITRAMFS_FAILED.matcher(text);
        if (unpacking.matches() && initramfsFailure == null) {
            initramfsFailure = unpacking.group(1);
        }
        boolean hidden = commandMode && (isStatus || (exitStatus != null && KERNEL_REBOOT.matcher(text).matches()));
        if (!hidden) {
            release();
        }
        length = 0;
        shown = 0;
        if (isStatus && commandMode && statusListener != null) {
            statusListener.run();
        }
    }

    private static final byte[] STATUS_BYTES = STATUS_PREFIX.getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PANIC_BYTES = "Kernel panic - not syncing: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] INITRAMFS_BYTES = "Initramfs unpacking failed: ".getBytes(StandardCharsets.US_ASCII);
    /** The current line without its CR and LF bytes, as the patterns see it. */
    private final byte[] bare = new byte[MAX_LINE];

    /**
     * Whether the line ended could match a pattern that matters now: it starts with the status prefix, or holds
     * the panic phrase or the initramfs's failure, or (in command mode once the status is known) starts with a '['
     * (a kernel line, maybe "reboot: ..."), once CR and LF are taken out, as {@link #endOfLine} takes them out before
     * matching. A necessary condition for each pattern, so no line that matches is missed.
     */
    private boolean mayBeWatched() {
        int n = 0;
        for (int i = 0; i < length; i++) {
            if (line[i] != '\r' && line[i] != '\n') {
                bare[n++] = line[i];
            }
        }
        boolean kernelLine = commandMode && exitStatus != null && n > 0 && bare[0] == '[';
        return kernelLine || Arrays.equals(bare, 0, Math.min(n, STATUS_BYTES.length), STATUS_BYTES, 0,
                STATUS_BYTES.length) || (commandMode && contains(bare, n, STATUS_BYTES))
                || contains(bare, n, PANIC_BYTES) || contains(bare, n, INITRAMFS_BYTES);
    }

    private static boolean contains(byte[] bytes, int length, byte[] phrase) {
        return lastIndexOf(bytes, length, phrase) >= 0;
    }

    /** Where {@code phrase} last begins in the first {@code length} bytes, or -1. */
    private static int lastIndexOf(byte[] bytes, int length, byte[] phrase) {
        for (int start = length - phrase.length; start >= 0; start--) {
            if (Arrays.equals(bytes, start, start + phrase.length, phrase, 0, phrase.length)) {
                return start;
            }
        }
        return -1;
    }

    /** Shows everything that waits (the VM's end), outside this watcher's lock. */
    @Override
    public void flush() throws IOException {
        out.drainAll();
    }

    /** The status the guest's command exited with (the last status line seen), or null if none was seen. */
    public Integer exitStatus() {
        return exitStatus;
    }

    /**
     * The kernel's panic line, or null if the kernel has not panicked. When the kernel said before that the
     * initramfs did not unpack (a truncated or corrupt file: the kernel then panics for want of an init, or the
     * init dies), that line follows in brackets, as the panic's likely cause.
     */
    public String panic() {
        String cause = initramfsFailure;
        return panic == null || cause == null ? panic : panic + " (after \"" + cause + "\")";
    }
}
