package dev.panavisor.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.devices.serial.Uart8250;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** When a line's edge is sent, and how, without KVM: the pulse (KVM_IRQ_LINE) and the irqfd write are counted. */
class KvmInterruptLineTest {
    private final AtomicInteger pulses = new AtomicInteger();
    private final AtomicInteger signals = new AtomicInteger();
    private final KvmInterruptLine line = new KvmInterruptLine(pulses::incrementAndGet, signals::incrementAndGet);

    /** Runs {@code body} on a thread marked as a vCPU thread, as Machine's loop is. */
    private static void onVcpuThread(java.util.function.Consumer<List<KvmInterruptLine>> body) {
        CompletableFuture.runAsync(() -> body.accept(KvmInterruptLine.onVcpuThread()),
                runnable -> Thread.ofPlatform().start(runnable)).join();
    }

    @Test
    void from_another_thread_each_rising_edge_is_one_irqfd_write_at_once() {
        line.set(true);
        line.set(true); // already high: no edge
        line.set(false);
        line.set(true);
        assertEquals(2, signals.get());
        assertEquals(0, pulses.get());
    }

    @Test
    void on_a_vcpu_thread_the_pulse_waits_for_the_exits_end_and_is_sent_if_the_line_is_still_high() {
        onVcpuThread(raised -> {
            line.set(true);
            assertEquals(0, pulses.get(), "nothing before the exit has been handled");
            line.set(false);
            line.set(true);
            KvmInterruptLine.pulseRaised(raised);
            assertEquals(1, pulses.get(), "one edge for the exit");
            assertTrue(raised.isEmpty());
            KvmInterruptLine.pulseRaised(raised);
            assertEquals(1, pulses.get(), "nothing twice");
        });
        assertEquals(0, signals.get());
    }

    @Test
    void an_edge_the_guest_consumed_in_the_same_exit_is_still_sent_but_a_withdrawn_one_is_not() {
        onVcpuThread(raised -> {
            line.set(true);
            line.set(false); // lowered by the guest's read of the reason
            KvmInterruptLine.pulseRaised(raised);
            assertEquals(1, pulses.get());
            line.set(true);
            line.withdraw(); // lowered because the guest turned the source off
            KvmInterruptLine.pulseRaised(raised);
            assertEquals(1, pulses.get(), "no edge for a source the guest turned off before it could see it");
            line.set(true);
            line.withdraw();
            line.set(true); // raised again after the withdrawal: that edge goes
            KvmInterruptLine.pulseRaised(raised);
            assertEquals(2, pulses.get());
            line.withdraw();
            KvmInterruptLine.pulseRaised(raised);
            assertEquals(2, pulses.get(), "lowered in a later exit: nothing to send");
            // Two vCPUs: the edge waits for A's exit to end; B reads the reason (lowers), raises it again and turns
            // the source off. The guest consumed that edge, so it is not taken back.
            line.set(true);
            line.set(false);
            line.set(true);
            line.withdraw();
            KvmInterruptLine.pulseRaised(raised);
            assertEquals(3, pulses.get());
        });
    }

    @Test
    void withdrawing_on_another_thread_only_lowers_the_line() {
        line.set(true);
        line.withdraw();
        line.set(true);
        assertEquals(2, signals.get());
    }

    @Test
    void the_uarts_stop_of_transmission_sends_no_interrupt_but_a_consumed_thre_still_does() {
        Uart8250 uart = new Uart8250(new ByteArrayOutputStream(), line);
        onVcpuThread(raised -> {
            uart.write(1, 1, 0x02); // IER: THRE on (an exit of its own): THRE is pending at once
            KvmInterruptLine.pulseRaised(raised);
            assertEquals(1, pulses.get(), "the driver's start of transmission gets its interrupt");
            assertEquals(0x02, uart.read(2, 1) & 0x0f); // the handler's IIR read
            KvmInterruptLine.pulseRaised(raised);
            // One exit: the 16 THR writes KVM held in its ring are handed over, then the IIR read that made it. The
            // handler goes on in this pass, and the edge still goes: after its 512th pass the handler stops with
            // its last writes in the ring, and that interrupt is what brings it back.
            for (int i = 0; i < 16; i++) {
                uart.write(0, 1, 'x');
            }
            assertEquals(0x02, uart.read(2, 1) & 0x0f, "the driver finds THRE in the same exit");
            KvmInterruptLine.pulseRaised(raised);
            assertEquals(2, pulses.get());
            // One exit: the last bytes, then the IER write that turns THRE off (__stop_tx): withdrawn.
            uart.write(0, 1, '\n');
            uart.write(1, 1, 0x00);
            KvmInterruptLine.pulseRaised(raised);
            assertEquals(2, pulses.get(), "no interrupt the handler would find nothing in");
            uart.write(1, 1, 0x02); // the next line's start
            KvmInterruptLine.pulseRaised(raised);
            assertEquals(3, pulses.get());
        });
    }
}
