package dev.panavisor.lab;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** An output stream that hands each complete line (without CR/LF) to {@link #line}. */
abstract class LineSink extends OutputStream {
    private final ByteArrayOutputStream current = new ByteArrayOutputStream();

    abstract void line(String text);

    @Override
    public synchronized void write(int b) {
        if (b == '\n') {
            String text = current.toString(StandardCharsets.UTF_8);
            current.reset();
            line(text.endsWith("\r") ? text.substring(0, text.length() - 1) : text);
        } else if (current.size() < 64 * 1024) {
            current.write(b);
        }
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            write(b[i]);
        }
    }
}
