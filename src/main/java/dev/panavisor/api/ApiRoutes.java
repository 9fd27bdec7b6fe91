package dev.panavisor.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panavisor.PanavisorException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Firecracker's REST API as Panavisor serves it, free of HTTP plumbing: a method, a path and a body in, a status
 * and a JSON body out ({@link ApiServer} puts it on a UNIX socket). The resources are those of Firecracker's
 * swagger definition: {@code GET /}, {@code GET|PUT|PATCH /machine-config}, {@code PUT /boot-source},
 * {@code PUT /drives/{drive_id}}, {@code PUT /network-interfaces/{iface_id}}, {@code PUT /vsock},
 * {@code PUT /actions} with {@code InstanceStart} or {@code SendCtrlAltDel}.
 * Success is 200 with a body or 204 without; every refusal is 400 with {@code {"fault_message": "..."}}, one line,
 * as in Firecracker; a failure of Panavisor itself is 500.
 *
 * <p>Resources of devices Panavisor lacks ({@code /balloon}, {@code /logger}, ...) are taken and
 * ignored with one warning line, as the configuration file's sections are, so Firecracker's getting-started
 * sequence runs unchanged; after InstanceStart, when Firecracker would change the running device, they are refused.
 *
 * <p>Thread-safe: requests may arrive on several server threads. The configuration is read and changed under this
 * object's lock; the launcher's slow calls (InstanceStart may wait minutes for a warm process still starting,
 * SendCtrlAltDel seconds for a VM process to take the keys) run outside it, so {@code GET /} answers meanwhile.
 */
public final class ApiRoutes {
    /** An answer: status and JSON body, or null for none (204). */
    public record Reply(int status, String json) {
        static Reply noContent() {
            return new Reply(204, null);
        }

        static Reply fault(int status, String message) {
            ObjectNode fault = JsonNodeFactory.instance.objectNode();
            fault.put("fault_message", message);
            return new Reply(status, write(fault));
        }
    }

    /** Firecracker's InstanceInfo states. */
    static final String NOT_STARTED = "Not started";
    static final String RUNNING = "Running";

    /** Paths Panavisor accepts and ignores (first path segment), with why. */
    private static final Map<String, String> IGNORED = Map.ofEntries(
            Map.entry("logger", "Panavisor logs to stderr (run --verbose)"),
            Map.entry("metrics", "Panavisor writes no metrics file"),
            Map.entry("balloon", "Panavisor has no balloon device"),
            Map.entry("entropy", "Panavisor has no entropy device"),
            Map.entry("pmem", "Panavisor has no pmem device"),
            Map.entry("mmds", "Panavisor has no metadata service (MMDS)"),
            Map.entry("cpu-config", "Panavisor passes KVM's supported CPUID through"));
    /** Paths whose PATCH Panavisor accepts and ignores (a PUT there is served, or a bad path), with why. */
    private static final Map<String, String> IGNORED_PATCHES = Map.of(
            "network-interfaces", "Panavisor has no rate limiters, the only thing PATCH changes");

    private final VmResources resources;
    private final VmLauncher launcher;
    private final Consumer<String> warnings;
    private final String version;
    /** Guarded by this: InstanceStart is under way (the launcher is starting the VM), or it has succeeded. */
    private boolean starting;
    private boolean started;

    /**
     * @param warnings receives one line per ignored request or field (serve prints them on stderr)
     * @param version  Panavisor's version, for {@code GET /}'s vmm_version
     */
    public ApiRoutes(VmLauncher launcher, Consumer<String> warnings, String version) {
        this.resources = new VmResources(warnings, true);
        this.launcher = launcher;
        this.warnings = warnings;
        this.version = version;
    }

    /** The socket these routes are served on ({@link ApiServer#start}): no vsock socket may take its path. */
    void servedOn(Path socket) {
        resources.apiSocket(socket);
    }

    /** Answers one request; never throws. */
    public Reply handle(String method, String path, String body) {
        try {
            return route(method, path == null || path.isEmpty() ? "/" : path, body);
        } catch (PanavisorException e) { // ApiException (bad request) or the launcher's one-line refusal
            return Reply.fault(400, e.getMessage());
        } catch (RuntimeException e) {
            return Reply.fault(500, "internal error: " + e);
        }
    }

    private Reply route(String method, String path, String body) {
        String[] segments = path.substring(1).split("/", -1);
        String resource = segments[0];
        boolean one = segments.length == 1;
        String request = method + " " + path;
        if (method.equals("GET") && path.equals("/")) {
            return new Reply(200, write(instanceInfo()));
        }
        if (method.equals("GET") && path.equals("/machine-config")) {
            synchronized (this) {
                return new Reply(200, write(resources.machineConfigJson()));
            }
        }
        if (method.equals("PUT") && path.equals("/actions")) {
            return action(json(body));
        }
        if (method.equals("PUT") && ((one && (resource.equals("boot-source") || resource.equals("machine-config")
                || resource.equals("vsock"))) || (segments.length == 2 && (resource.equals("drives")
                || resource.equals("network-interfaces"))))) {
            return configure(request, segments, json(body));
        }
        if (method.equals("PATCH") && path.equals("/machine-config")) {
            return configure(request, segments, json(body));
        }
        String ignored = ignoredWhy(method, segments);
        if (ignored != null) {
            new JsonFields(json(body), request, line -> { }); // the body must still be a JSON object
            if (IGNORED.containsKey(resource) && hasStarted()) {
                throw new ApiException(JsonFields.printable(request) + ": refused after the start: " + ignored
                        + "; before InstanceStart it is taken and ignored");
            }
            warnings.accept(JsonFields.printable(request) + " ignored: " + ignored);
            return Reply.noContent();
        }
        throw new ApiException("invalid request method and/or path: " + request
                + " (Panavisor serves GET /, GET|PUT|PATCH /machine-config, PUT /boot-source, PUT /drives/{id}, "
                + "PUT /network-interfaces/{id}, PUT /vsock, PUT /actions)");
    }

    /** A PUT of a configured resource, or PATCH /machine-config: taken until InstanceStart, refused from it on. */
    private synchronized Reply configure(String request, String[] segments, JsonNode json) {
        if (started || starting) {
            throw new ApiException(request + ": the VM has " + (started ? "started" : "begun to start")
                    + "; its configuration can no longer change");
        }
        if (request.startsWith("PATCH ")) {
            resources.patchMachineConfig(json);
        } else {
            switch (segments[0]) {
                case "boot-source" -> resources.putBootSource(json);
                case "machine-config" -> resources.putMachineConfig(json);
                case "vsock" -> resources.putVsock(json);
                case "network-interfaces" -> {
                    if (segments[1].isEmpty()) {
                        throw new ApiException(request + ": the path must name the interface: "
                                + "/network-interfaces/{iface_id}");
                    }
                    resources.putNetworkInterface(segments[1], json, "network interface " + segments[1]);
                }
                default -> {
                    if (segments[1].isEmpty()) {
                        throw new ApiException(request + ": the path must name the drive: /drives/{drive_id}");
                    }
                    resources.putDrive(segments[1], json, "drive " + segments[1]);
                }
            }
        }
        offerToBuild();
        return Reply.noContent();
    }

    private synchronized boolean hasStarted() {
        return started || starting;
    }

    /**
     * Why a request Panavisor takes and ignores is ignored, or null if it is not one. Its path is the resource or one
     * item of it ({@code /pmem/{id}}, {@code /balloon/statistics}), never deeper; a PATCH of a network interface
     * names the interface.
     */
    private static String ignoredWhy(String method, String[] segments) {
        boolean item = segments.length == 2 && !segments[1].isEmpty();
        if (segments.length > 2 || (segments.length == 2 && !item)) {
            return null;
        }
        if (method.equals("PATCH") && IGNORED_PATCHES.containsKey(segments[0])) {
            return item ? IGNORED_PATCHES.get(segments[0]) : null;
        }
        return method.equals("PATCH") || method.equals("PUT") ? IGNORED.get(segments[0]) : null;
    }

    /** The configuration changed: once it can start (it has a boot source), the launcher may build it ahead. */
    private void offerToBuild() {
        VmSpec spec;
        try {
            spec = resources.spec();
        } catch (ApiException incomplete) {
            return;
        }
        launcher.configured(spec);
    }

    private Reply action(JsonNode body) {
        JsonFields fields = new JsonFields(body, "action", warnings);
        String type = fields.string("action_type", true);
        fields.warnAboutTheRest();
        switch (type) {
            case "InstanceStart" -> {
                VmSpec spec;
                synchronized (this) {
                    if (started || starting) {
                        throw new ApiException("InstanceStart: the VM has " + (started ? "already been started"
                                : "begun to start"));
                    }
                    spec = resources.spec();
                    starting = true;
                }
                boolean done = false;
                try {
                    launcher.start(spec); // outside the lock: it may wait minutes for a standby still warming up
                    done = true;
                } finally {
                    synchronized (this) {
                        starting = false;
                        started = done;
                    }
                }
                return Reply.noContent();
            }
            case "SendCtrlAltDel" -> {
                if (!launcher.running()) {
                    throw new ApiException("SendCtrlAltDel: the VM is not running");
                }
                launcher.ctrlAltDel();
                return Reply.noContent();
            }
            case "FlushMetrics" -> throw new ApiException("FlushMetrics: Panavisor writes no metrics file");
            default -> throw new ApiException("action.action_type: unknown action '" + type
                    + "' (InstanceStart, SendCtrlAltDel)");
        }
    }

    private synchronized ObjectNode instanceInfo() {
        ObjectNode info = JsonNodeFactory.instance.objectNode();
        info.put("id", "anonymous-instance");
        info.put("state", started && launcher.running() ? RUNNING : started ? "Stopped" : NOT_STARTED);
        info.put("vmm_version", version);
        info.put("app_name", "Panavisor");
        return info;
    }

    private static JsonNode json(String body) {
        if (body == null || body.isBlank()) {
            throw new ApiException("the request needs a JSON body");
        }
        return ConfigFile.readTree(body);
    }

    static String write(JsonNode json) {
        try {
            return ConfigFile.JSON.writeValueAsString(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e); // a tree of plain values always serializes
        }
    }
}
