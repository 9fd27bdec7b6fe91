package dev.panavisor.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModuleOrderTest {
    private static Map<String, KernelModule> modules(String... specs) {
        Map<String, KernelModule> map = new HashMap<>();
        for (String spec : specs) {
            String[] parts = spec.split(":", -1);
            List<String> depends = parts[1].isEmpty() ? List.of() : List.of(parts[1].split(","));
            map.put(KernelModule.normalize(parts[0]), new KernelModule(parts[0], depends));
        }
        return map;
    }

    private static void assertBefore(List<String> order, String first, String then) {
        assertTrue(order.indexOf(first) >= 0 && order.indexOf(first) < order.indexOf(then),
                first + " must load before " + then + " in " + order);
    }

    @Test
    void dependencies_come_first_as_in_debian_6_1_0_57() {
        // The real graph of the lab's modules in linux-image-6.1.0-57-amd64.
        var all = modules("virtio_ring:", "virtio:virtio_ring", "virtio_pci_modern_dev:", "virtio_pci_legacy_dev:",
                "virtio_pci:virtio_ring,virtio_pci_modern_dev,virtio_pci_legacy_dev,virtio", "9pnet:",
                "9pnet_virtio:virtio,9pnet,virtio_ring", "netfs:", "fscache:netfs", "9p:9pnet,fscache,netfs",
                "irqbypass:", "kvm:irqbypass", "ccp:", "kvm-amd:kvm,ccp", "overlay:");
        List<String> order = ModuleOrder.resolve(List.of("virtio_pci", "9pnet_virtio", "9p", "kvm_amd"), all);
        assertEquals(List.of("virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio", "virtio_pci",
                "9pnet", "9pnet_virtio", "netfs", "fscache", "9p", "irqbypass", "kvm", "ccp", "kvm_amd"), order);
    }

    @Test
    void a_changed_dependency_changes_the_order() {
        // In 6.1.0-50 virtio_ring depended on virtio, the other way round: a fixed list cannot serve both.
        var older = modules("virtio:", "virtio_ring:virtio", "virtio_pci:virtio_ring,virtio");
        var newer = modules("virtio_ring:", "virtio:virtio_ring", "virtio_pci:virtio_ring,virtio");
        assertEquals(List.of("virtio", "virtio_ring", "virtio_pci"), ModuleOrder.resolve(List.of("virtio_pci"), older));
        assertEquals(List.of("virtio_ring", "virtio", "virtio_pci"), ModuleOrder.resolve(List.of("virtio_pci"), newer));
    }

    @Test
    void shared_dependencies_load_once_and_unneeded_modules_not_at_all() {
        var all = modules("a:c", "b:c", "c:", "unrelated:");
        List<String> order = ModuleOrder.resolve(List.of("a", "b"), all);
        assertEquals(List.of("c", "a", "b"), order);
    }

    @Test
    void dashes_and_underscores_name_the_same_module() {
        var all = modules("kvm-amd:kvm", "kvm:");
        assertEquals(List.of("kvm", "kvm_amd"), ModuleOrder.resolve(List.of("kvm-amd"), all));
    }

    @Test
    void a_missing_dependency_names_who_needs_it() {
        var all = modules("9p:9pnet,netfs", "9pnet:");
        LabException e = assertThrows(LabException.class, () -> ModuleOrder.resolve(List.of("9p"), all));
        assertEquals("kernel module netfs (needed by 9p) is not in the kernel package", e.getMessage());
    }

    @Test
    void a_cycle_is_an_error_not_a_hang() {
        var all = modules("a:b", "b:c", "c:a");
        LabException e = assertThrows(LabException.class, () -> ModuleOrder.resolve(List.of("a"), all));
        assertEquals("kernel modules depend on each other in a cycle: a -> b -> c -> a", e.getMessage());
    }
}
