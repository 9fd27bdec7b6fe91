package dev.panavisor.api;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Firecracker's configuration file ({@code firecracker --config-file}; the swagger definition
 * {@code FullVmConfiguration}): one JSON object whose sections are the bodies of the API's PUT requests. The
 * sections Panavisor serves go to {@link VmResources}, exactly as the API server's requests do; the sections of
 * devices Panavisor does not have get one warning line each, so an existing Firecracker file boots as far as it can.
 */
public final class ConfigFile {
    /** Strict JSON: a key given twice is an error (which of the two would Firecracker take?), as is trailing text. */
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** Firecracker's sections Panavisor knows but has no device or service for yet, with what is missing. */
    private static final Map<String, String> NOT_SERVED = Map.ofEntries(
            Map.entry("balloon", "Panavisor has no balloon device"),
            Map.entry("entropy", "Panavisor has no entropy device"),
            Map.entry("pmem", "Panavisor has no pmem device"),
            Map.entry("memory-hotplug", "Panavisor has no memory hot-plug"),
            Map.entry("mmds-config", "Panavisor has no metadata service (MMDS)"),
            Map.entry("cpu-config", "Panavisor passes KVM's supported CPUID through"),
            Map.entry("logger", "Panavisor logs to stderr (run --verbose)"),
            Map.entry("metrics", "Panavisor writes no metrics file (run --exit-stats, --stats)"));

    /** The largest configuration file read: the API's largest request body ({@link ApiServer#MAX_BODY}). */
    static final long MAX_SIZE = ApiServer.MAX_BODY;

    private ConfigFile() {
    }

    /** Reads {@code file}; every ignored field goes to {@code warnings}, the first invalid one is thrown. */
    public static VmSpec read(Path file, Consumer<String> warnings) {
        String text;
        try (java.io.InputStream in = Files.newInputStream(file)) {
            // A configuration is a few hundred bytes: a disk image or a device given by mistake is refused, not read
            // (read, not sized: a device's size is 0, and a pipe has none).
            byte[] bytes = in.readNBytes((int) MAX_SIZE + 1);
            if (bytes.length > MAX_SIZE) {
                throw new ApiException("config file " + file + " is larger than " + MAX_SIZE + " bytes: not a "
                        + "configuration");
            }
            text = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (NoSuchFileException e) {
            throw new ApiException("config file " + file + " does not exist");
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new ApiException("config file " + file + " is not JSON text (not valid UTF-8)", e);
        } catch (IOException e) {
            throw new ApiException("cannot read config file " + file + ": " + e.getMessage(), e);
        }
        try {
            return parse(text, warnings);
        } catch (ApiException e) {
            throw new ApiException(file + ": " + e.getMessage(), e);
        }
    }

    /** Parses a configuration from its JSON text. */
    public static VmSpec parse(String json, Consumer<String> warnings) {
        JsonNode root = readTree(json);
        VmResources resources = new VmResources(warnings, false);
        JsonFields top = new JsonFields(root, "", warnings);
        if (!top.has("boot-source")) {
            throw new ApiException("boot-source: missing (it names the kernel to boot)");
        }
        resources.putBootSource(root.get("boot-source"));
        if (top.has("machine-config")) {
            resources.putMachineConfig(root.get("machine-config"));
        }
        eachOf(root, top, "drives", (element, where) -> resources.putDrive(null, element, where));
        eachOf(root, top, "network-interfaces",
                (element, where) -> resources.putNetworkInterface(null, element, where));
        if (top.has("vsock") && !root.get("vsock").isNull()) {
            resources.putVsock(root.get("vsock"));
        }
        NOT_SERVED.forEach((section, why) -> {
            if (top.has(section) && !isEmpty(root.get(section))) {
                warnings.accept(JsonFields.printable(section) + " ignored: " + why);
            }
        });
        top.warnAboutTheRest();
        return resources.spec();
    }

    /** Hands each element of the array section {@code name}, if present, to {@code put} with its place ("drives[0]"). */
    private static void eachOf(JsonNode root, JsonFields top, String name,
            java.util.function.BiConsumer<JsonNode, String> put) {
        if (!top.has(name)) {
            return;
        }
        JsonNode section = root.get(name);
        if (!section.isArray()) {
            throw new ApiException(name + ": expected an array, got " + JsonFields.describe(section));
        }
        for (int i = 0; i < section.size(); i++) {
            put.accept(section.get(i), name + "[" + i + "]");
        }
    }

    /** An empty array or object asks for nothing: no warning for {@code "network-interfaces": []}. */
    private static boolean isEmpty(JsonNode section) {
        return (section.isArray() || section.isObject()) && section.isEmpty();
    }

    /** The JSON tree of {@code json}, or one line saying where and why it is not JSON. */
    static JsonNode readTree(String json) {
        try {
            JsonNode root = JSON.readTree(json);
            if (root == null || root.isMissingNode()) {
                throw new ApiException("empty: expected a JSON object");
            }
            return root;
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new ApiException("not valid JSON" + where + ": "
                    + e.getOriginalMessage().replaceAll("\\s*\\R\\s*", " ").strip(), e);
        }
    }
}
