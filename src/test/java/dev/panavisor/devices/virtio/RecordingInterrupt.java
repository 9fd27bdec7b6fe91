package dev.panavisor.devices.virtio;

import java.util.ArrayList;
import java.util.List;

/** A {@link VirtioInterrupt} for tests: records each signal as "used", "config" or "failed: REASON", in order. */
public final class RecordingInterrupt implements VirtioInterrupt {
    public final List<String> events = new ArrayList<>();

    @Override
    public void usedBuffers() {
        events.add("used");
    }

    @Override
    public void configChanged() {
        events.add("config");
    }

    @Override
    public void deviceFailed(String reason) {
        events.add("failed: " + reason);
    }
}
