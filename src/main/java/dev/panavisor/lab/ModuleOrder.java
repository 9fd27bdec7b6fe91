package dev.panavisor.lab;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The order in which to insmod a set of kernel modules: every module after all the modules it depends on.
 *
 * <p>The lab needs a handful of modules (virtio PCI, 9p, kvm_amd) plus whatever they depend on, and their
 * dependencies change between kernel builds (in Debian's 6.1.0-50 virtio did not need virtio_ring first, in
 * 6.1.0-57 it does). So the order is computed from each module's {@code depends=} at the time the kernel is
 * unpacked: a depth-first walk that emits a module once all its dependencies are out (a topological sort).
 */
public final class ModuleOrder {
    private ModuleOrder() {
    }

    /**
     * @param wanted  the modules the lab needs, in a preferred order (kept where dependencies allow)
     * @param modules every available module by name
     * @return the wanted modules and their transitive dependencies, each once, dependencies first
     * @throws LabException when a module or dependency is missing, or the dependencies form a cycle
     */
    public static List<String> resolve(List<String> wanted, Map<String, KernelModule> modules) {
        Set<String> done = new LinkedHashSet<>();
        for (String name : wanted) {
            visit(KernelModule.normalize(name), modules, done, new HashSet<>(), new ArrayList<>());
        }
        return List.copyOf(done);
    }

    private static void visit(String name, Map<String, KernelModule> modules, Set<String> done,
            Set<String> inProgress, List<String> path) {
        if (done.contains(name)) {
            return;
        }
        path.add(name);
        if (!inProgress.add(name)) {
            throw new LabException("kernel modules depend on each other in a cycle: " + String.join(" -> ", path));
        }
        KernelModule module = modules.get(name);
        if (module == null) {
            String neededBy = path.size() > 1 ? " (needed by " + path.get(path.size() - 2) + ")" : "";
            throw new LabException("kernel module " + name + neededBy + " is not in the kernel package");
        }
        for (String dependency : module.depends()) {
            visit(dependency, modules, done, inProgress, path);
        }
        inProgress.remove(name);
        path.removeLast();
        done.add(name);
    }
}
