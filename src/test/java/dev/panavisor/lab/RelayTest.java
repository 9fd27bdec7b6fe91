package dev.panavisor.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The lab's relay of a channel tells the user's stream failing from the channel ending or failing. */
class RelayTest {
    @Test
    void a_channel_is_copied_to_the_record_and_to_the_user() throws IOException {
        ByteArrayOutputStream record = new ByteArrayOutputStream();
        ByteArrayOutputStream user = new ByteArrayOutputStream();
        Relay.copyAll(new ByteArrayInputStream("hello\n".getBytes(StandardCharsets.UTF_8)), record, user);
        assertEquals("hello\n", record.toString(StandardCharsets.UTF_8));
        assertEquals("hello\n", user.toString(StandardCharsets.UTF_8));
    }

    @Test
    void a_failed_write_to_the_user_is_its_own_failure_with_the_writes_error() {
        OutputStream gone = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("Broken pipe");
            }
        };
        Relay.UserStreamFailed e = assertThrows(Relay.UserStreamFailed.class, () -> Relay.copyAll(
                new ByteArrayInputStream(new byte[] {1}), null, gone));
        assertEquals("Broken pipe", e.failure().getMessage());
    }

    @Test
    void a_failed_read_of_the_channel_is_not_the_users_failure() {
        InputStream broken = new InputStream() {
            @Override
            public int read() throws IOException {
                throw new IOException("Connection reset by peer");
            }
        };
        IOException e = assertThrows(IOException.class,
                () -> Relay.copyAll(broken, null, new ByteArrayOutputStream()));
        assertFalse(e instanceof Relay.UserStreamFailed);
        assertInstanceOf(IOException.class, e);
    }
}
