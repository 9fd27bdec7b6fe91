package dev.panavisor.devices.virtio.vsock;

import java.io.IOException;

/**
 * Where connections the guest opens to the host go: the VMM connects a UNIX socket {@code PATH_PORT} for each (the
 * way Firecracker's vsock does), tests hand out in-memory streams.
 */
public interface VsockHost {
    /**
     * Opens the host's end of a guest connection to host port {@code port}.
     *
     * @throws IOException when nothing listens there; the guest gets a RST
     */
    VsockStream connect(long port) throws IOException;
}
