package dev.panavisor.cli;

import java.io.Writer;

/**
 * A writer that keeps what it is given until {@link #release()}, which passes it on to the target, and everything
 * after it too; never released, it is dropped. The standby builds a VM before it is asked for it: the lines that
 * building prints (a warning, an error) belong to the start that uses that VM, and to no other.
 */
final class HeldWriter extends Writer {
    private final Writer target;
    private final StringBuilder held = new StringBuilder();
    private boolean released;

    HeldWriter(Writer target) {
        this.target = target;
    }

    /** From now on, what was held and what comes goes to the target. */
    synchronized void release() {
        if (!released) {
            released = true;
            try {
                target.write(held.toString());
                target.flush();
            } catch (java.io.IOException e) {
                // stderr is gone; nothing else to tell it with.
            }
            held.setLength(0);
        }
    }

    @Override
    public synchronized void write(char[] chars, int offset, int length) throws java.io.IOException {
        if (released) {
            target.write(chars, offset, length);
        } else {
            held.append(chars, offset, length);
        }
    }

    @Override
    public synchronized void flush() throws java.io.IOException {
        if (released) {
            target.flush();
        }
    }

    @Override
    public void close() throws java.io.IOException {
        flush();
    }
}
