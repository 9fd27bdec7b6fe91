package dev.panavisor.vmm;

import dev.panavisor.devices.virtio.mmio.VirtioMmioTransport;
import dev.panavisor.devices.virtio.mmio.MmioRegisters;
import dev.panavisor.kvm.Vm;
import dev.panavisor.sys.EventFd;
import java.util.function.Consumer;

/**
 * The thread that serves one virtio device's queues, so that no request (a disk read, a flush, console output) runs
 * on a vCPU thread, and a slow device stalls only itself.
 *
 * <p>The journey of a notification: the guest driver writes a queue's index to the device's QueueNotify register.
 * For each queue, KVM has an ioeventfd on that address with the index as datamatch ({@link #wire}), so the write
 * never leaves the kernel: KVM signals this worker's eventfd and resumes the guest at once. The worker wakes from
 * {@link EventFd#await()} (a blocking read(2): one eventfd per device and nothing else to wait for, so no epoll)
 * and serves every queue of the device (one eventfd stands for all of them; serving a queue with nothing available
 * costs two reads of guest memory) through {@link VirtioMmioTransport#serveQueue}: the device takes the requests
 * under the transport's lock, moves their data without it (a vCPU reading InterruptStatus meanwhile does not wait
 * for the disk), and answers them under it again. The device then raises its interrupt, which is an irqfd write
 * ({@link KvmInterruptLine}). A QueueNotify write that still reaches user space (a host without
 * KVM_CAP_IOEVENTFD, a queue index with no ioeventfd) is routed here by the transport, so the rule holds for it too.
 *
 * <p>Stopping: {@link #close()} sets a flag and signals the eventfd; the worker sees the flag and ends; close joins it.
 */
final class DeviceWorker implements AutoCloseable {
    private final VirtioMmioTransport transport;
    private final EventFd notifications = new EventFd();
    private final Thread thread;
    private volatile boolean stopping;
    /** Wake-ups served: device activity that made no exit, which the stall watchdog counts as progress. */
    private final java.util.concurrent.atomic.LongAdder served = new java.util.concurrent.atomic.LongAdder();
    /** Threads that run a batch's requests beside this one (virtio-blk), closed with the worker; null if none. */
    private IoHelpers helpers;
    /** How the worker looks at its queues before it sleeps; null: it sleeps at once. */
    private QueuePolling polling;
    /** The device's data path run ahead of the guest's transfers, started and closed with the worker; or null. */
    private PathWarmUp warmUp;
    private final String name;

    /**
     * @param failed called (on the worker thread) if serving the device throws something the transport does not
     *               turn into DEVICE_NEEDS_RESET: a bug in the VMM, which ends the VM
     */
    DeviceWorker(String name, VirtioMmioTransport transport, Consumer<Throwable> failed) {
        this.transport = transport;
        this.name = name;
        transport.routeNotifications(queue -> {
            if (transport.device().servedInExit(queue)) {
                transport.notifyQueue(queue); // on the exiting vCPU thread, which holds the transport's lock
            } else {
                notifications.signal();
            }
        });
        this.thread = Thread.ofPlatform().name("device-" + name).daemon().unstarted(() -> {
            try {
                serve();
            } catch (Throwable e) {
                failed.accept(e);
            }
        });
    }

    /**
     * Registers one ioeventfd per queue on the transport's QueueNotify register at {@code base}, except for queues
     * the device serves in the exit ({@code VirtioDevice.servedInExit}), whose notifications must reach user space.
     */
    void wire(Vm vm, long base) {
        wire(vm, base, -1);
    }

    /**
     * As {@link #wire(Vm, long)}, but queue {@code elsewhere} gets no ioeventfd here: its notifications go to
     * another thread's eventfd, which the caller registers (a TAP's receive thread waits for receive buffers itself).
     */
    void wire(Vm vm, long base, int elsewhere) {
        for (int queue = 0; queue < transport.queueCount(); queue++) {
            if (transport.device().servedInExit(queue) || queue == elsewhere) {
                continue;
            }
            vm.assignIoeventfd(base + MmioRegisters.QUEUE_NOTIFY, 4, queue, notifications.fd());
        }
    }

    /** Gives the worker {@code count} helper threads (started now) and returns them, for the device to use. */
    IoHelpers helpers(int count) {
        helpers = new IoHelpers("device-" + name, count);
        return helpers;
    }

    /** Polls the device's queues after serving them, before sleeping, as {@code polling} says (null: never). */
    void poll(QueuePolling polling) {
        this.polling = polling;
    }

    /**
     * Starts {@code warmUp}'s thread with the worker's (before the VMM confines itself) and stops it in
     * {@link #close()}, before the device's backend (a disk the warm-up reads) is closed. What begins it is the
     * caller's: the guest's boot marker.
     */
    void startAndCloseWith(PathWarmUp warmUp) {
        this.warmUp = warmUp;
    }

    void start() {
        thread.start();
        if (warmUp != null) {
            warmUp.start();
        }
    }

    private void serve() {
        while (true) {
            notifications.await();
            if (stopping) {
                return;
            }
            if (polling != null) {
                polling.wokeUp();
            }
            do {
                served.increment();
                if (polling != null) {
                    polling.hold();
                }
                for (int queue = 0; queue < transport.queueCount(); queue++) {
                    if (!transport.device().servedInExit(queue)) {
                        transport.serveQueue(queue); // takes the transport's lock itself, and drops it for the I/O
                    }
                }
            } while (polling != null && polling.moreWork(() -> stopping) && !stopping);
        }
    }

    /** Stops the worker and waits for it: after this no request is in flight. */
    @Override
    public void close() {
        stopping = true;
        if (thread.isAlive()) {
            notifications.signal();
            Joins.joinUninterruptibly(thread);
        }
        if (warmUp != null) {
            warmUp.close();
        }
        if (helpers != null) {
            helpers.close(); // idle: the worker waited for its last batch before it ended
        }
        notifications.close();
    }

    /** How many times the worker woke up and served its queues. */
    long served() {
        return served.sum();
    }

    /** For tests: whether the thread has ended. */
    boolean isAlive() {
        return thread.isAlive();
    }
}
