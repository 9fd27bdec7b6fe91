package dev.panavisor.api;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Reads the fields of one JSON object of a Firecracker configuration with the strictness of Firecracker's own
 * parser (a number where a string belongs is an error, not a conversion), and remembers which fields it read, so
 * that {@link #warnAboutTheRest} can give every field Panavisor does not know one warning line.
 */
final class JsonFields {
    private final JsonNode object;
    private final String where;
    private final Consumer<String> warnings;
    private final Set<String> seen = new HashSet<>();

    /**
     * @param object   the JSON value that must be an object
     * @param where    its name in messages ("boot-source", "drives[1]"; "" for the document itself)
     * @param warnings receives one line per ignored field
     */
    JsonFields(JsonNode object, String where, Consumer<String> warnings) {
        if (object == null || !object.isObject()) {
            throw new ApiException((where.isEmpty() ? "the configuration" : where) + ": expected a JSON object, got "
                    + describe(object));
        }
        this.object = object;
        this.where = where;
        this.warnings = warnings;
    }

    /** A field's name in messages: "machine-config.vcpu_count", or just the name at the top level. */
    String qualified(String name) {
        return where.isEmpty() ? name : where + "." + name;
    }

    /** The field's value, or null when it is absent or JSON null (Firecracker treats both as "not given"). */
    private JsonNode get(String name) {
        seen.add(name);
        JsonNode value = object.get(name);
        return value == null || value.isNull() ? null : value;
    }

    boolean has(String name) {
        return get(name) != null;
    }

    String string(String name, boolean required) {
        JsonNode value = get(name);
        if (value == null) {
            if (required) {
                throw new ApiException(qualified(name) + ": missing (a string is required)");
            }
            return null;
        }
        if (!value.isTextual()) {
            throw new ApiException(qualified(name) + ": expected a string, got " + describe(value));
        }
        // No value Panavisor takes can hold one: not a file name, not a kernel command line (the standby's hand-off
        // refuses it, and a PUT it failed in would have changed the configuration and then answered 500).
        if (value.textValue().indexOf('\0') >= 0) {
            throw new ApiException(qualified(name) + ": cannot hold a NUL character");
        }
        // JSON's \\uD800 alone is a string no UTF-8 encodes: a file name or command line would carry a '?' instead.
        if (hasLoneSurrogate(value.textValue())) {
            throw new ApiException(qualified(name) + ": holds an unpaired UTF-16 surrogate (\\uD800-\\uDFFF alone)");
        }
        // Values travel on as the VM process's arguments and as file names, in the JVM's file-name encoding (ASCII
        // under LANG=C): a character it cannot encode would arrive as '?'.
        if (!FILE_NAME_ENCODING.newEncoder().canEncode(value.textValue())) {
            throw new ApiException(qualified(name) + ": holds characters this system's encoding ("
                    + FILE_NAME_ENCODING.name() + ", from LANG or LC_ALL) cannot carry");
        }
        return value.textValue();
    }

    /** The JVM's encoding of file names and process arguments ({@code sun.jnu.encoding}). */
    private static final java.nio.charset.Charset FILE_NAME_ENCODING = fileNameEncoding();

    private static java.nio.charset.Charset fileNameEncoding() {
        try {
            return java.nio.charset.Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        } catch (IllegalArgumentException e) {
            return java.nio.charset.StandardCharsets.UTF_8;
        }
    }

    private static boolean hasLoneSurrogate(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return true;
            }
        }
        return false;
    }

    /** A string naming a file; an empty one is an error (it would name the working directory). */
    String path(String name, boolean required) {
        String path = string(name, required);
        if (path != null && path.isBlank()) {
            throw new ApiException(qualified(name) + ": empty path");
        }
        if (path != null) {
            try {
                java.nio.file.Path.of(path); // a name the JVM's file-name encoding cannot carry (LANG=C and non-ASCII)
            } catch (java.nio.file.InvalidPathException e) {
                throw new ApiException(qualified(name) + ": not a file name this system can use: " + e.getReason());
            }
        }
        return path;
    }

    Boolean bool(String name, boolean required) {
        JsonNode value = get(name);
        if (value == null) {
            if (required) {
                throw new ApiException(qualified(name) + ": missing (true or false is required)");
            }
            return null;
        }
        if (!value.isBoolean()) {
            throw new ApiException(qualified(name) + ": expected true or false, got " + describe(value));
        }
        return value.booleanValue();
    }

    /** An integer within [min, max]. */
    Long integer(String name, boolean required, long min, long max) {
        JsonNode value = get(name);
        if (value == null) {
            if (required) {
                throw new ApiException(qualified(name) + ": missing (an integer is required)");
            }
            return null;
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw new ApiException(qualified(name) + ": expected an integer, got " + describe(value));
        }
        long number = value.longValue();
        if (number < min || number > max) {
            throw new ApiException(qualified(name) + ": must be between " + min + " and " + max + ", got "
                    + number);
        }
        return number;
    }

    /**
     * A string field Panavisor checks but does not act on: a warning unless it is absent or {@code harmless} (the
     * value that asks for what Panavisor does anyway, such as {@code "cache_type": "Unsafe"}).
     */
    void ignoredString(String name, String harmless, String why) {
        String value = string(name, false);
        if (value != null && !value.equals(harmless)) {
            warn(qualified(name) + " (\"" + value + "\") ignored: " + why);
        }
    }

    /** A boolean field Panavisor checks but does not act on: a warning when it is true. */
    void ignoredFlag(String name, String why) {
        Boolean value = bool(name, false);
        if (value != null && value) {
            warn(qualified(name) + " (true) ignored: " + why);
        }
    }

    /** An object field Panavisor checks but does not act on: a warning unless it is absent or empty. */
    void ignoredObject(String name, String why) {
        JsonNode value = get(name);
        if (value == null) {
            return;
        }
        if (!value.isObject()) {
            throw new ApiException(qualified(name) + ": expected a JSON object, got " + describe(value));
        }
        if (!value.isEmpty()) {
            warn(qualified(name) + " ignored: " + why);
        }
    }

    /** One warning for each field no reader asked for. */
    void warnAboutTheRest() {
        for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!seen.contains(name)) {
                warn(qualified(name) + " ignored: not a field Panavisor knows");
            }
        }
    }

    /**
     * One warning line. Field names and ignored values are the client's: a control character among them is written
     * as an escape ({@code \n}, {@code \u001b}), so that no client can forge a line of serve's log or drive the
     * terminal it is on.
     */
    private void warn(String line) {
        warnings.accept(printable(line));
    }

    static String printable(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n') {
                out.append("\\n");
            } else if (c == '\r') {
                out.append("\\r");
            } else if (c == '\t') {
                out.append("\\t");
            } else if (Character.isISOControl(c)) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** A short description of a JSON value for error messages: its type and, when short, itself. */
    static String describe(JsonNode value) {
        if (value == null || value.isMissingNode()) {
            return "nothing";
        }
        String type = value.isObject() ? "an object" : value.isArray() ? "an array" : value.isTextual() ? "a string"
                : value.isBoolean() ? "a boolean" : value.isNumber() ? "a number" : "null";
        String text = value.toString();
        return text.length() <= 40 ? type + " (" + text + ")" : type;
    }
}
