package dev.panavisor.compare;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Path;

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

    public static void write(Results results, Path file) throws IOException {
        MAPPER.writeValue(file.toFile(), results);
    }

    public static Results read(Path file) throws IOException {
        return MAPPER.readValue(file.toFile(), Results.class);
    }

    public static String toJson(Results results) throws IOException {
        return MAPPER.writeValueAsString(results);
    }
}
