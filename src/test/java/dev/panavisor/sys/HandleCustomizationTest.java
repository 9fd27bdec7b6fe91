package dev.panavisor.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The workers' method handles (preadv, pwritev, read, write, poll) specialized ahead, seen from a child JVM's class
 * loading.
 */
class HandleCustomizationTest {
    @Test
    void customized_ahead_the_requests_generate_no_class() throws Exception {
        String ahead = classesLoadedDuringRequests("ahead");
        assertTrue(ahead.contains("--- done"), ahead);
        assertFalse(ahead.contains("LambdaForm$MH"), ahead);
        // The check can fail: without it, the JVM specializes each handle at its 127th call, among the requests.
        assertTrue(classesLoadedDuringRequests("not").contains("LambdaForm$MH"));
    }

    /** What a child JVM prints, class loads included, from the marker before its 200 requests of each kind. */
    private static String classesLoadedDuringRequests(String how) throws Exception {
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xlog:class+load=info:stdout", "-cp",
                System.getProperty("java.class.path"), HandleCustomizationMain.class.getName(), how)
                .redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, child.waitFor(), output);
        return output.substring(output.indexOf(HandleCustomizationMain.MARKER));
    }
}
