package dev.panavisor.compare;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * results.json: the {@link Results} records through Jackson. NaN ("not measured") is written as the string "NaN"
 * (Jackson's default: strict JSON has no NaN), which Jackson reads back as NaN; it keeps a missing figure distinct
 * from zero.
 */
public final class ResultsJson {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private ResultsJson() {
    }

    /**
     * Writes {@code file} whole or not at all: to a new file beside it, then renamed over it. A run that fails or
     * is stopped part way leaves the previous results as they were, and a reader never sees half a file.
     */
    public static void write(Results results, Path file) throws IOException {
        Path target = file.toAbsolutePath();
        Path temporary = target.resolveSibling("." + target.getFileName() + "." + ProcessHandle.current().pid()
                + ".tmp");
        try {
            // Not Files.createTempFile: its file is private to the user (0600), and results.json never was.
            try (OutputStream out = Files.newOutputStream(temporary, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                MAPPER.writeValue(out, results);
            }
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    public static Results read(Path file) throws IOException {
        return MAPPER.readValue(file.toFile(), Results.class);
    }

    public static String toJson(Results results) throws IOException {
        return MAPPER.writeValueAsString(results);
    }
}
