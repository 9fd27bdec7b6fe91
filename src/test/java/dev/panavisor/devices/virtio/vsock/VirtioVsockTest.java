package dev.panavisor.devices.virtio.vsock;

import static dev.panavisor.devices.virtio.vsock.VsockHeader.OP_CREDIT_REQUEST;
import static dev.panavisor.devices.virtio.vsock.VsockHeader.OP_CREDIT_UPDATE;
import static dev.panavisor.devices.virtio.vsock.VsockHeader.OP_REQUEST;
import static dev.panavisor.devices.virtio.vsock.VsockHeader.OP_RESPONSE;
import static dev.panavisor.devices.virtio.vsock.VsockHeader.OP_RST;
import static dev.panavisor.devices.virtio.vsock.VsockHeader.OP_RW;
import static dev.panavisor.devices.virtio.vsock.VsockHeader.OP_SHUTDOWN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The vsock device (virtio 1.2 §5.10) between a driver played in Java and host streams in memory. */
class VirtioVsockTest {
    final VsockDriver guest = new VsockDriver();

    /** The guest connects from port 5000 to host port 1234, where a host program listens. */
    PipeStream connected() {
        PipeStream host = new PipeStream();
        guest.listeners.put(1234L, host);
        guest.postRx(16);
        guest.send(5000, 1234, OP_REQUEST);
        List<VsockDriver.Packet> packets = guest.received();
        assertEquals(1, packets.size());
        assertEquals(OP_RESPONSE, packets.getFirst().op());
        return host;
    }

    @Test
    void identifies_as_a_socket_device_with_the_guests_cid() {
        assertEquals(19, guest.device.deviceType());
        assertEquals(3, guest.device.queueCount());
        assertEquals(3, guest.device.readConfig(0, 8));
        assertEquals(3, guest.device.readConfig(0, 4));
        assertEquals(0, guest.device.readConfig(4, 4));
        assertThrows(IllegalArgumentException.class, () -> new VirtioVsock(2, port -> null));
    }

    @Test
    void a_guest_connection_to_a_listening_host_port_is_answered_with_response() {
        PipeStream host = new PipeStream();
        guest.listeners.put(1234L, host);
        guest.postRx(4);
        guest.send(5000, 1234, OP_REQUEST);
        VsockHeader response = guest.received().getFirst().header();
        assertEquals(List.of(1234L), guest.connectsAsked);
        assertEquals(OP_RESPONSE, response.op());
        assertEquals(VsockHeader.HOST_CID, response.srcCid());
        assertEquals(VsockDriver.GUEST_CID, response.dstCid());
        assertEquals(1234, response.srcPort());
        assertEquals(5000, response.dstPort());
        assertEquals(VsockConnection.BUFFER, response.bufAlloc(), "our credit, advertised");
        assertEquals(1, guest.device.connectionCount());
    }

    @Test
    void a_guest_connection_to_a_port_nobody_listens_on_is_reset() {
        guest.postRx(4);
        guest.send(5000, 9999, OP_REQUEST);
        VsockHeader reply = guest.received().getFirst().header();
        assertEquals(OP_RST, reply.op());
        assertEquals(9999, reply.srcPort());
        assertEquals(5000, reply.dstPort());
        assertEquals(0, guest.device.connectionCount());
    }

    /**
     * Each connection holds 320 KiB of buffers, so their number is what bounds the heap a guest can make the VMM
     * take: past the limit a REQUEST is reset, even to a port that listens.
     */
    @Test
    void connections_past_the_limit_are_reset() {
        assertTrue((long) VirtioVsock.MAX_CONNECTIONS * VsockConnection.BYTES <= VirtioVsock.CONNECTION_BUFFER_BUDGET);
        for (int i = 0; i <= VirtioVsock.MAX_CONNECTIONS; i++) {
            guest.listeners.put(1000L + i, new PipeStream());
            guest.postRx(1);
            guest.send(5000 + i, 1000 + i, OP_REQUEST);
            VsockHeader reply = guest.received().getFirst().header();
            assertEquals(i < VirtioVsock.MAX_CONNECTIONS ? OP_RESPONSE : OP_RST, reply.op(), "connection " + i);
        }
        assertEquals(VirtioVsock.MAX_CONNECTIONS, guest.device.connectionCount());
    }

    /**
     * A driver that publishes an rx buffer and takes it back between two looks of the device: the RST it is owed
     * waits for the next buffer. (The device used to check, then pop, and use what the pop returned: a
     * NullPointerException that ended the VMM.)
     */
    @Test
    void a_driver_that_takes_back_its_rx_buffer_gets_its_reset_later() {
        guest.postRx(1);
        guest.memory.flicker(guest.rx.layout().availableRing() + 2);
        guest.send(5000, 9999, OP_REQUEST);
        guest.postRx(1);
        List<VsockDriver.Packet> packets = guest.received();
        assertEquals(1, packets.size(), packets.toString());
        assertEquals(OP_RST, packets.getFirst().op());
    }

    @Test
    void guest_data_reaches_the_host_and_the_forwarded_count_comes_back() {
        PipeStream host = connected();
        byte[] data = "hello host".getBytes(StandardCharsets.US_ASCII);
        guest.sendData(5000, 1234, data);
        assertArrayEquals(data, host.toHost.toByteArray());
        VsockHeader update = guest.received().getFirst().header();
        assertEquals(OP_CREDIT_UPDATE, update.op());
        assertEquals(data.length, update.fwdCnt());
    }

    @Test
    void host_data_reaches_the_guest_in_rw_packets() {
        PipeStream host = connected();
        assertTrue(host.wantRead, "the device reads the host while the guest has credit");
        byte[] data = new byte[10_000];
        new Random(1).nextBytes(data);
        host.hostWrites(data, false);
        guest.device.hostReady(host);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        for (VsockDriver.Packet packet : guest.received()) {
            assertEquals(OP_RW, packet.op());
            assertEquals(packet.data().length, packet.header().len());
            got.writeBytes(packet.data());
        }
        assertArrayEquals(data, got.toByteArray());
    }

    @Test
    void the_device_never_sends_more_than_the_guests_credit() {
        guest.bufAlloc = 1000;
        PipeStream host = connected();
        host.hostWrites(new byte[5000], false);
        guest.device.hostReady(host);
        assertEquals(1000, guest.received().stream().mapToLong(p -> p.data().length).sum());
        assertFalse(host.wantRead, "no credit: the host is not read further");
        guest.device.hostReady(host);
        assertEquals(0, guest.received().size(), "still no credit: nothing more");
        // The guest's application read 600 bytes: its credit update lets 600 more through.
        guest.fwdCnt = 600;
        guest.send(5000, 1234, OP_CREDIT_UPDATE);
        guest.device.hostReady(host);
        assertEquals(600, guest.received().stream().mapToLong(p -> p.data().length).sum());
    }

    @Test
    void a_credit_request_is_answered_with_a_credit_update() {
        connected();
        guest.send(5000, 1234, OP_CREDIT_REQUEST);
        VsockHeader update = guest.received().getFirst().header();
        assertEquals(OP_CREDIT_UPDATE, update.op());
        assertEquals(VsockConnection.BUFFER, update.bufAlloc());
    }

    @Test
    void a_slow_host_holds_guest_data_within_the_advertised_buffer() {
        PipeStream host = connected();
        host.writeLimit = 100;
        guest.sendData(5000, 1234, new byte[3000]);
        assertEquals(100, host.toHost.size());
        assertTrue(host.wantWrite, "the rest waits for the host socket");
        while (host.wantWrite) {
            guest.device.hostReady(host);
        }
        assertEquals(3000, host.toHost.size());
    }

    @Test
    void data_beyond_the_advertised_credit_resets_the_connection() {
        PipeStream host = connected();
        host.writeLimit = 0; // the host takes nothing: the guest's credit runs out
        byte[] chunk = new byte[VirtioVsock.MAX_PAYLOAD];
        for (int i = 0; i < VsockConnection.BUFFER / chunk.length; i++) {
            guest.sendData(5000, 1234, chunk);
        }
        assertFalse(host.closed, "within credit");
        guest.sendData(5000, 1234, new byte[1]);
        assertTrue(host.closed);
        assertEquals(OP_RST, guest.received().getLast().op());
        assertEquals(0, guest.device.connectionCount());
    }

    @Test
    void guest_shutdown_of_sending_ends_the_host_streams_output_after_the_data() {
        PipeStream host = connected();
        host.writeLimit = 2;
        guest.sendData(5000, 1234, new byte[5]);
        guest.send(guest.header(5000, 1234, OP_SHUTDOWN, VsockHeader.SHUTDOWN_SEND, 0), new byte[0]);
        assertFalse(host.outputShut, "data still waits");
        guest.device.hostReady(host);
        guest.device.hostReady(host);
        assertEquals(5, host.toHost.size());
        assertTrue(host.outputShut);
        assertFalse(host.closed);
    }

    @Test
    void guest_close_is_answered_with_rst_and_closes_the_host_stream() {
        PipeStream host = connected();
        guest.send(guest.header(5000, 1234, OP_SHUTDOWN, VsockHeader.SHUTDOWN_SEND | VsockHeader.SHUTDOWN_RCV, 0),
                new byte[0]);
        assertTrue(host.closed);
        assertEquals(OP_RST, guest.received().getLast().op());
        assertEquals(0, guest.device.connectionCount());
    }

    @Test
    void host_end_of_stream_becomes_shutdown_send_after_the_data() {
        PipeStream host = connected();
        host.hostWrites("bye".getBytes(StandardCharsets.US_ASCII), true);
        guest.device.hostReady(host);
        guest.device.hostReady(host);
        List<VsockDriver.Packet> packets = guest.received();
        assertEquals(OP_RW, packets.get(0).op());
        assertEquals(OP_SHUTDOWN, packets.get(1).op());
        assertEquals(VsockHeader.SHUTDOWN_SEND, packets.get(1).header().flags());
    }

    @Test
    void guest_rst_closes_the_host_stream_without_an_answer() {
        PipeStream host = connected();
        guest.send(5000, 1234, OP_RST);
        assertTrue(host.closed);
        assertEquals(0, guest.received().size());
        assertEquals(0, guest.device.connectionCount());
    }

    @Test
    void a_host_connection_sends_request_and_the_guests_response_gets_ok_and_the_port() {
        guest.postRx(8);
        PipeStream host = new PipeStream();
        guest.device.hostConnect(host, 52);
        VsockHeader request = guest.received().getFirst().header();
        assertEquals(OP_REQUEST, request.op());
        assertEquals(52, request.dstPort());
        assertEquals(VirtioVsock.FIRST_HOST_PORT, request.srcPort());
        guest.send(52, request.srcPort(), OP_RESPONSE);
        guest.sendData(52, request.srcPort(), "from guest".getBytes(StandardCharsets.US_ASCII));
        assertEquals("OK " + VirtioVsock.FIRST_HOST_PORT + "\nfrom guest",
                host.toHost.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void a_host_connection_the_guest_refuses_is_closed() {
        guest.postRx(8);
        PipeStream host = new PipeStream();
        guest.device.hostConnect(host, 52);
        long hostPort = guest.received().getFirst().header().srcPort();
        guest.send(52, hostPort, OP_RST);
        assertTrue(host.closed);
        assertEquals(0, host.toHost.size());
    }

    /** The host side's deadline passed with the guest silent: the host stream closes, the guest gets a RST. */
    @Test
    void a_host_connection_the_guest_never_answers_is_given_up() {
        guest.postRx(8);
        PipeStream host = new PipeStream();
        guest.device.hostConnect(host, 52);
        VsockHeader request = guest.received().getFirst().header();
        guest.device.hostGaveUp(host);
        assertTrue(host.closed);
        VsockHeader reset = guest.received().getFirst().header();
        assertEquals(OP_RST, reset.op());
        assertEquals(request.srcPort(), reset.srcPort());
        assertEquals(52, reset.dstPort());
        assertEquals(0, guest.device.connectionCount());
        guest.send(52, request.srcPort(), OP_RESPONSE); // too late: answered with a RST, and no OK for anyone
        assertEquals(OP_RST, guest.received().getFirst().op());
        assertEquals(0, host.toHost.size());
    }

    /** A REQUEST that never reached the guest (no rx buffers): giving up leaves nothing owed to it. */
    @Test
    void a_host_connection_given_up_before_its_request_left_owes_the_guest_nothing() {
        PipeStream host = new PipeStream();
        guest.device.hostConnect(host, 52);
        guest.device.hostGaveUp(host);
        assertTrue(host.closed);
        assertEquals(0, guest.device.connectionCount());
        guest.postRx(8);
        guest.device.queueNotify(VirtioVsock.RX_QUEUE);
        assertEquals(List.of(), guest.received());
    }

    @Test
    void an_accepted_host_connection_is_not_given_up() {
        guest.postRx(8);
        PipeStream host = new PipeStream();
        guest.device.hostConnect(host, 52);
        long hostPort = guest.received().getFirst().header().srcPort();
        guest.send(52, hostPort, OP_RESPONSE);
        guest.device.hostGaveUp(host);
        assertFalse(host.closed);
        assertEquals(1, guest.device.connectionCount());
    }

    @Test
    void a_host_connection_before_the_driver_is_up_is_closed_at_once() {
        guest.device.reset();
        PipeStream host = new PipeStream();
        guest.device.hostConnect(host, 52);
        assertTrue(host.closed);
    }

    @Test
    void a_host_write_failure_resets_the_guest_connection() {
        PipeStream host = connected();
        host.failWrites = true;
        guest.sendData(5000, 1234, new byte[10]);
        assertEquals(OP_RST, guest.received().getLast().op());
        assertTrue(host.closed);
    }

    @Test
    void hostile_headers_get_rst_or_are_ignored_and_never_throw() {
        PipeStream host = connected();
        // Not from this guest to the host: dropped silently.
        guest.send(new VsockHeader(7, 2, 5000, 1234, 0, 1, OP_RW, 0, 0, 0), new byte[0]);
        guest.send(new VsockHeader(3, 9, 5000, 1234, 0, 1, OP_RW, 0, 0, 0), new byte[0]);
        assertEquals(0, guest.received().size());
        assertFalse(host.closed);
        // Data for a connection that does not exist: RST to its ports.
        guest.sendData(6000, 1234, new byte[3]);
        VsockHeader rst = guest.received().getFirst().header();
        assertEquals(OP_RST, rst.op());
        assertEquals(6000, rst.dstPort());
        // A len the chain does not hold: RST, connection gone.
        guest.send(guest.header(5000, 1234, OP_RW, 0, 100), new byte[10]);
        assertTrue(host.closed);
        assertEquals(OP_RST, guest.received().getLast().op());
        // Unknown op, wrong type, oversized len on fresh ports: each a RST.
        guest.send(guest.header(7000, 1234, 42, 0, 0), new byte[0]);
        guest.send(new VsockHeader(3, 2, 7001, 1234, 0, 2, OP_REQUEST, 0, 0, 0), new byte[0]);
        guest.send(guest.header(7002, 1234, OP_RW, 0, 0xffff_ffffL), new byte[0]);
        assertEquals(List.of(OP_RST, OP_RST, OP_RST), guest.received().stream().map(VsockDriver.Packet::op).toList());
        // A chain shorter than a header: returned, nothing else.
        guest.tx.add(dev.panavisor.devices.virtio.queue.DriverQueue.readable(VsockDriver.TX_BUFFERS, 10));
        guest.device.queueNotify(VirtioVsock.TX_QUEUE);
        assertEquals(0, guest.tx.pollUsed().writtenBytes());
        assertEquals(0, guest.received().size());
    }

    /**
     * A driver that publishes a packet each time the device answers one (a guest on another vCPU can) gets the device
     * in rounds of a queue's worth: the transport lets go of the device's lock between them (QueueWork.AGAIN), where
     * before the device's loop held it for as long as the driver kept publishing.
     */
    @Test
    void a_driver_publishing_as_fast_as_the_device_answers_is_served_in_rounds() {
        PipeStream host = connected();
        int[] published = {1};
        host.afterWrite = () -> {
            if (published[0] < 1_000) {
                published[0]++;
                guest.publish(guest.header(5000, 1234, OP_RW, 0, 1), new byte[] {'x'});
            }
        };
        guest.publish(guest.header(5000, 1234, OP_RW, 0, 1), new byte[] {'x'});
        assertTrue(dev.panavisor.devices.virtio.QueueWork.AGAIN == guest.device.takeWork(VirtioVsock.TX_QUEUE),
                "more than a queue's worth: the device asks to be called again");
        int queueSize = guest.tx.layout().size();
        assertEquals(queueSize, host.toHost.size(), "one round is a queue's worth");
        int again = 1;
        while (guest.device.takeWork(VirtioVsock.TX_QUEUE) != null) {
            again++;
        }
        assertEquals(1_000, host.toHost.size(), "every packet arrived");
        assertEquals((1_000 - 1) / queueSize, again, "full rounds ask again; the last, partial one does not");
    }

    @Test
    void rsts_for_strangers_are_bounded_when_the_guest_never_reads() {
        for (int i = 0; i < 2 * VirtioVsock.MAX_PENDING_RESETS; i++) {
            guest.sendData(10_000 + i, 1, new byte[1]);
        }
        int rsts = 0;
        for (int round = 0; round < 5; round++) { // 4 rounds take every RST; the 5th finds none
            guest.postRx(64);
            rsts += guest.received().size();
        }
        assertEquals(VirtioVsock.MAX_PENDING_RESETS, rsts);
    }

    /** A failure the transport found (a broken tx queue, served on the worker) closes the host streams too. */
    @Test
    void a_failure_the_transport_found_closes_every_host_stream() {
        PipeStream host = connected();
        guest.device.failed();
        assertTrue(host.closed);
        assertEquals(0, guest.device.connectionCount());
    }

    @Test
    void reset_closes_every_host_stream() {
        PipeStream host = connected();
        guest.device.reset();
        assertTrue(host.closed);
        assertEquals(0, guest.device.connectionCount());
    }

    /**
     * A driver that breaks its rx queue (an available index far ahead of what it posted) while a host program is
     * sending: the device fails and closes its host streams at once. It used to keep them, and a stream with unread
     * data stays ready for the host side's selector, which then called hostReady (doing nothing for a failed
     * device) in a loop until the guest reset the device.
     */
    @Test
    void a_broken_rx_queue_fails_the_device_and_closes_its_host_streams() {
        PipeStream host = connected();
        host.hostWrites(new byte[100], false);
        int posted = guest.memory.readU16(guest.rx.layout().availableRing() + 2);
        guest.memory.writeU16(guest.rx.layout().availableRing() + 2, (posted + 1000) & 0xffff);
        guest.device.hostReady(host);
        assertTrue(host.closed, "the host stream is closed");
        assertEquals(0, guest.device.connectionCount());
        assertTrue(guest.interrupt.events.getLast().startsWith("failed: "), guest.interrupt.events.toString());
        PipeStream late = new PipeStream();
        guest.device.hostConnect(late, 1234);
        assertTrue(late.closed, "a failed device takes no new connection");
    }

    @Test
    void a_header_survives_encoding() {
        VsockHeader header = new VsockHeader(3, 2, 0xffff_ffffL, 7, 44, 1, OP_RW, 3, 0x8000_0000L, 9);
        assertEquals(header, VsockHeader.parse(header.encode(), 0));
        assertEquals(VsockHeader.SIZE, header.encode().length);
    }
}
