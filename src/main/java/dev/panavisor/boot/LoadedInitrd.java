package dev.panavisor.boot;

/** Where {@link InitrdLoader} put the initial RAM disk: the values that go into the zero page's ramdisk fields. */
public record LoadedInitrd(long address, long size) {
    public long end() {
        return address + size;
    }
}
