package dev.panavisor.devices.virtio.block;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * A JDK Flight Recorder event for one virtio-blk request: device, type, first sector, bytes moved and status
 * (virtio 1.2 §5.2.6). Its duration is the request's own I/O (the read, write or fsync, on whichever thread ran it),
 * not the parsing and answering of its batch; a request answered while it was parsed (get-id, or one refused) lasts
 * 0 ({@code run --jfr}; docs/boot.md).
 */
@Name("dev.panavisor.BlockRequest")
@Label("Virtio Block Request")
@Category({"Panavisor", "Virtio"})
@Description("One virtio-blk request served")
@StackTrace(false)
public final class BlockRequestEvent extends Event {
    @Label("Device")
    String device;

    @Label("Type")
    @Description("read, write, flush, get-id, or the unsupported type's number")
    String type;

    @Label("Sector")
    long sector;

    @Label("Bytes")
    @DataAmount
    long bytes;

    @Label("Status")
    String status;

    static String typeName(long type) {
        return switch ((int) type) {
            case BlockRequest.T_IN -> "read";
            case BlockRequest.T_OUT -> "write";
            case BlockRequest.T_FLUSH -> "flush";
            case BlockRequest.T_GET_ID -> "get-id";
            default -> Long.toString(type);
        };
    }
}
