package dev.panavisor.devices.serial;

import dev.panavisor.bus.BusDevice;
import dev.panavisor.devices.InterruptLine;
import java.io.IOException;
import java.io.OutputStream;

/**
 * A 16550A-compatible UART (the "8250" Linux's serial driver and early console talk to), as a pure state
 * machine: register reads and writes come from the bus, transmitted bytes go to an {@link OutputStream}, received
 * bytes come from {@link #receive}, and the interrupt output drives an {@link InterruptLine}. No threads, no
 * timers: a virtual line transmits instantly and never loses a bit. Register layout and bits follow the National
 * Semiconductor PC16550D data sheet (Table II, "Summary of Registers"), cited below as "16550D".
 *
 * <pre>
 * offset  DLAB=0 read / write          DLAB=1
 *   0     RBR receive / THR transmit   DLL divisor latch, low byte
 *   1     IER interrupt enable         DLM divisor latch, high byte
 *   2     IIR interrupt ident / FCR FIFO control
 *   3     LCR line control (bit 7 = DLAB)
 *   4     MCR modem control (bit 4 = loopback)
 *   5     LSR line status
 *   6     MSR modem status
 *   7     SCR scratch
 * </pre>
 *
 * <p><b>Interrupts.</b> Four sources, reported by IIR in this priority order (16550D Table IV): receiver line
 * status (an overrun, cleared by reading LSR), received data available (cleared by reading RBR until empty),
 * transmitter holding register empty (cleared by reading IIR while it is the reported source, or by writing THR),
 * modem status (cleared by reading MSR). The line is asserted exactly while an enabled source is pending
 * (level semantics); on the ISA bus the interrupt controller sees its rising edges.
 *
 * <p>THRE is the subtle one, and Linux depends on the details. The transmitter is always empty here, so a "THR
 * empty" event happens on every THR write, and also when IER's ETBEI bit goes from 0 to 1: enabling the
 * interrupt while the register is empty must raise it at once. Linux's 8250 driver checks both at start-up: it
 * enables ETBEI and expects IIR to show THRE (otherwise it marks the port UART_BUG_TXEN), and it reads IIR, turns
 * ETBEI off and on again, and expects THRE to come back (otherwise UART_BUG_THRE, and it falls back to a timer).
 *
 * <p><b>Input.</b> The VMM calls {@link #receive} with bytes from the terminal. The receive FIFO holds {@value
 * #RX_FIFO_CAPACITY} bytes; {@code receive} accepts only what fits and returns how many it took, so the caller
 * keeps the rest and retries once the guest has read some (check {@link #receiveSpace()}): input is flow-controlled
 * on the host side and never dropped. Only loopback mode can overrun, as real hardware would: a byte transmitted
 * while the FIFO is full is lost and sets LSR.OE.
 *
 * <p>Not modelled, because a virtual line does not have them: baud rate timing (the divisor is stored and read
 * back, nothing more), parity/framing errors and breaks, FIFO trigger levels and the character-timeout interrupt
 * (data available is signalled from the first byte), and OUT2 gating the IRQ as PC boards wire it.
 *
 * <p>Not thread-safe, like the hardware register file it models: the VMM serialises bus accesses (vCPU thread) and
 * {@link #receive} calls (input thread), for example by synchronising on the device.
 */
public final class Uart8250 implements BusDevice {
    /** I/O port base of COM1 and its ISA IRQ (PC/AT convention). */
    public static final long COM1_BASE = 0x3f8;
    public static final int COM1_IRQ = 4;
    /** Number of I/O ports the UART decodes. */
    public static final int PORT_COUNT = 8;
    public static final int RX_FIFO_CAPACITY = 64;

    // Register offsets.
    static final int RBR_THR_DLL = 0;
    static final int IER_DLM = 1;
    static final int IIR_FCR = 2;
    static final int LCR = 3;
    static final int MCR = 4;
    static final int LSR = 5;
    static final int MSR = 6;
    static final int SCR = 7;

    // IER bits (16550D §8.5).
    static final int IER_RDA = 0x01;
    static final int IER_THRE = 0x02;
    static final int IER_LINE_STATUS = 0x04;
    static final int IER_MODEM_STATUS = 0x08;
    static final int IER_MASK = 0x0f;
    // IIR values (16550D Table IV): bit 0 clear = interrupt pending; bits 6-7 set when the FIFOs are enabled.
    static final int IIR_NONE = 0x01;
    static final int IIR_LINE_STATUS = 0x06;
    static final int IIR_RDA = 0x04;
    static final int IIR_THRE = 0x02;
    static final int IIR_MODEM_STATUS = 0x00;
    static final int IIR_FIFO_ENABLED = 0xc0;
    // FCR bits (16550D §8.4).
    static final int FCR_ENABLE_FIFO = 0x01;
    static final int FCR_CLEAR_RX = 0x02;
    // LCR bit 7: divisor latch access.
    static final int LCR_DLAB = 0x80;
    // MCR bits (16550D §8.7).
    static final int MCR_DTR = 0x01;
    static final int MCR_RTS = 0x02;
    static final int MCR_OUT1 = 0x04;
    static final int MCR_OUT2 = 0x08;
    static final int MCR_LOOP = 0x10;
    static final int MCR_MASK = 0x1f;
    // LSR bits (16550D §8.6).
    static final int LSR_DR = 0x01;
    static final int LSR_OE = 0x02;
    static final int LSR_THRE = 0x20;
    static final int LSR_TEMT = 0x40;
    // MSR bits (16550D §8.8): deltas in the low nibble, current state in the high one.
    static final int MSR_DCTS = 0x01;
    static final int MSR_DDSR = 0x02;
    static final int MSR_TERI = 0x04;
    static final int MSR_DDCD = 0x08;
    static final int MSR_CTS = 0x10;
    static final int MSR_DSR = 0x20;
    static final int MSR_RI = 0x40;
    static final int MSR_DCD = 0x80;
    /** Outside loopback the other end is "present and ready": carrier, data set ready, clear to send. */
    static final int MSR_CONNECTED = MSR_DCD | MSR_DSR | MSR_CTS;

    private final OutputStream output;
    private final InterruptLine interrupt;

    private final byte[] rxFifo = new byte[RX_FIFO_CAPACITY];
    private int rxHead;
    private int rxCount;

    private int ier;
    private int lcr;
    private int mcr;
    private int scr;
    private int divisorLow = 0x0c;   // 9600 baud at the PC's 1.8432 MHz clock, the usual power-on value
    private int divisorHigh;
    private boolean fifoEnabled;
    private boolean thrEmptyPending;
    private boolean overrun;
    private int modemStatus = MSR_CONNECTED;   // high nibble: state; low nibble: deltas since the last MSR read
    private boolean interruptAsserted;

    /**
     * @param output    where transmitted bytes go, one {@code write(int)} each and never a {@code flush()}: when
     *                  the bytes are shown is the sink's business (the VMM's console buffers them and shows them
     *                  every few milliseconds, as a write(2) per byte would cost more than the exit that carried
     *                  it). An {@link IOException} from it becomes a {@link SerialException}
     * @param interrupt the UART's interrupt request line (IRQ 4 for COM1)
     */
    public Uart8250(OutputStream output, InterruptLine interrupt) {
        this.output = output;
        this.interrupt = interrupt;
    }

    @Override
    public long read(long offset, int size) {
        int value = switch ((int) offset) {
            case RBR_THR_DLL -> dlab() ? divisorLow : readReceiveBuffer();
            case IER_DLM -> dlab() ? divisorHigh : ier;
            case IIR_FCR -> readInterruptIdentification();
            case LCR -> lcr;
            case MCR -> mcr;
            case LSR -> readLineStatus();
            case MSR -> readModemStatus();
            case SCR -> scr;
            default -> 0xff;
        };
        updateInterrupt();
        return value;
    }

    @Override
    public void write(long offset, int size, long value) {
        int data = (int) value & 0xff;
        switch ((int) offset) {
            case RBR_THR_DLL -> {
                if (dlab()) {
                    divisorLow = data;
                } else {
                    transmit(data);
                }
            }
            case IER_DLM -> {
                if (dlab()) {
                    divisorHigh = data;
                } else {
                    writeInterruptEnable(data);
                }
            }
            case IIR_FCR -> writeFifoControl(data);
            case LCR -> lcr = data;
            case MCR -> writeModemControl(data);
            case SCR -> scr = data;
            default -> {
                // LSR and MSR are read-only (16550D Table II: writes to them are for factory test only).
            }
        }
        boolean sourceDisabled = (int) offset == IER_DLM; // only an enable bit's clearing lowers the line here
        updateInterrupt(sourceDisabled);
    }

    /**
     * Offers bytes typed on the host to the guest; returns how many fit in the receive FIFO (0 in loopback mode,
     * where the serial input is disconnected). The caller keeps the rest and offers it again later.
     */
    public int receive(byte[] data, int offset, int length) {
        if (loopback()) {
            return 0;
        }
        int accepted = Math.min(length, receiveSpace());
        for (int i = 0; i < accepted; i++) {
            pushReceived(data[offset + i]);
        }
        if (accepted > 0) {
            updateInterrupt();
        }
        return accepted;
    }

    /** How many more bytes {@link #receive} would accept now. */
    public int receiveSpace() {
        return loopback() ? 0 : RX_FIFO_CAPACITY - rxCount;
    }

    /** True while the interrupt line is asserted; for tests and debugging. */
    public boolean interruptAsserted() {
        return interruptAsserted;
    }

    /**
     * The registers that decide the interrupt, read without their side effects (IIR's read clears a THRE it
     * reports; this does not): "IER 0x2, IIR 0xc2, line high". For the one line that says why a guest stalled.
     */
    public String interruptState() {
        int iir = pendingInterrupt() | (fifoEnabled ? IIR_FIFO_ENABLED : 0);
        return "IER 0x" + Integer.toHexString(ier) + ", IIR 0x" + Integer.toHexString(iir)
                + (interruptAsserted ? ", line high" : ", line low");
    }

    /** The register names of the 8250/16550 datasheet; offsets 0 and 1 depend on DLAB, offset 2 on the direction. */
    @Override
    public String registerName(long offset, boolean write) {
        return switch ((int) offset) {
            case RBR_THR_DLL -> dlab() ? "DLL" : write ? "THR" : "RBR";
            case IER_DLM -> dlab() ? "DLM" : "IER";
            case IIR_FCR -> write ? "FCR" : "IIR";
            case LCR -> "LCR";
            case MCR -> "MCR";
            case LSR -> "LSR";
            case MSR -> "MSR";
            case SCR -> "SCR";
            default -> null;
        };
    }

    private boolean dlab() {
        return (lcr & LCR_DLAB) != 0;
    }

    private boolean loopback() {
        return (mcr & MCR_LOOP) != 0;
    }

    private int readReceiveBuffer() {
        if (rxCount == 0) {
            return 0;
        }
        int value = rxFifo[rxHead] & 0xff;
        rxHead = (rxHead + 1) % RX_FIFO_CAPACITY;
        rxCount--;
        return value;
    }

    private void pushReceived(byte value) {
        rxFifo[(rxHead + rxCount) % RX_FIFO_CAPACITY] = value;
        rxCount++;
    }

    private void transmit(int data) {
        if (loopback()) {
            // 16550D §8.7, MCR bit 4: the transmitter output is looped back to the receiver input.
            if (rxCount == RX_FIFO_CAPACITY) {
                overrun = true;
            } else {
                pushReceived((byte) data);
            }
        } else {
            try {
                output.write(data);
            } catch (IOException e) {
                throw new SerialException("serial output failed: " + e.getMessage(), e);
            }
        }
        thrEmptyPending = true; // sent at once: the holding register is empty again
    }

    private void writeInterruptEnable(int value) {
        int enabled = value & IER_MASK;
        if ((enabled & IER_THRE) != 0 && (ier & IER_THRE) == 0) {
            thrEmptyPending = true; // enabling ETBEI with THR empty raises THRE at once (see class comment)
        }
        ier = enabled;
    }

    /** The highest-priority enabled pending source (16550D Table IV), as IIR bits 0-3. */
    private int pendingInterrupt() {
        if ((ier & IER_LINE_STATUS) != 0 && overrun) {
            return IIR_LINE_STATUS;
        }
        if ((ier & IER_RDA) != 0 && rxCount > 0) {
            return IIR_RDA;
        }
        if ((ier & IER_THRE) != 0 && thrEmptyPending) {
            return IIR_THRE;
        }
        if ((ier & IER_MODEM_STATUS) != 0 && (modemStatus & 0x0f) != 0) {
            return IIR_MODEM_STATUS;
        }
        return IIR_NONE;
    }

    private int readInterruptIdentification() {
        int pending = pendingInterrupt();
        if (pending == IIR_THRE) {
            thrEmptyPending = false; // reading IIR clears a THRE interrupt it reports (16550D Table IV)
        }
        return pending | (fifoEnabled ? IIR_FIFO_ENABLED : 0);
    }

    private void writeFifoControl(int value) {
        boolean enable = (value & FCR_ENABLE_FIFO) != 0;
        if (enable != fifoEnabled || (value & FCR_CLEAR_RX) != 0) {
            rxCount = 0; // 16550D §8.4: changing FCR0 or setting FCR1 clears the receive FIFO
            rxHead = 0;
        }
        fifoEnabled = enable;
    }

    private int readLineStatus() {
        int value = LSR_THRE | LSR_TEMT | (rxCount > 0 ? LSR_DR : 0) | (overrun ? LSR_OE : 0);
        overrun = false; // reading LSR clears the error bits
        return value;
    }

    private int readModemStatus() {
        int value = modemStatus;
        modemStatus &= 0xf0; // reading MSR clears the deltas
        return value;
    }

    private void writeModemControl(int value) {
        mcr = value & MCR_MASK;
        int state;
        if (loopback()) {
            // 16550D §8.7: in loopback the modem inputs follow the outputs: RTS→CTS, DTR→DSR, OUT1→RI, OUT2→DCD.
            state = ((mcr & MCR_RTS) != 0 ? MSR_CTS : 0)
                    | ((mcr & MCR_DTR) != 0 ? MSR_DSR : 0)
                    | ((mcr & MCR_OUT1) != 0 ? MSR_RI : 0)
                    | ((mcr & MCR_OUT2) != 0 ? MSR_DCD : 0);
        } else {
            state = MSR_CONNECTED;
        }
        int old = modemStatus & 0xf0;
        int deltas = modemStatus & 0x0f;
        int changed = old ^ state;
        if ((changed & MSR_CTS) != 0) {
            deltas |= MSR_DCTS;
        }
        if ((changed & MSR_DSR) != 0) {
            deltas |= MSR_DDSR;
        }
        if ((old & MSR_RI) != 0 && (state & MSR_RI) == 0) {
            deltas |= MSR_TERI; // trailing edge of ring indicator only
        }
        if ((changed & MSR_DCD) != 0) {
            deltas |= MSR_DDCD;
        }
        modemStatus = state | deltas;
    }

    private void updateInterrupt() {
        updateInterrupt(false);
    }

    /**
     * Drives the line from the pending sources. {@code sourceDisabled}: the access was an IER write, so a line that
     * falls here falls because the driver turned its source off, and is withdrawn ({@link InterruptLine#withdraw}):
     * Linux's {@code __stop_tx} clears ETBEI right after its last THR writes, which the VMM hands over in the same
     * exit (KVM's coalesced ring), and whose THRE, on a line that transmits instantly, would otherwise send the guest
     * an interrupt with nothing pending by the time it is taken. A real 16550's THRE would come only once its
     * transmit FIFO had gone out on the wire (16550D §8.6, LSR bit 5), after that IER write.
     */
    private void updateInterrupt(boolean sourceDisabled) {
        boolean asserted = pendingInterrupt() != IIR_NONE;
        if (asserted != interruptAsserted) {
            interruptAsserted = asserted;
            if (!asserted && sourceDisabled) {
                interrupt.withdraw();
            } else {
                interrupt.set(asserted);
            }
        }
    }
}
