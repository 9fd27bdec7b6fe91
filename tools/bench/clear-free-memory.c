/*
 * The shell benchmarks' counterpart of lab.RecycledCodePages (docs/performance.md, "The lab's memory stall,
 * explained"): takes MIB of huge pages the way a guest's first touches do (one write per 2 MiB of a mapping advised
 * MADV_HUGEPAGE), so that the recycled pages that once held code TCG translated are cleared here, untimed, and gives
 * them back. io-lib.sh's clear_free_memory runs one on each CPU (taskset), since Linux keeps freed huge pages on a
 * list per CPU. Prints how many first touches were slow (over 50 ms: a recycled page).
 *
 *   gcc -O2 -static -o clear-free-memory tools/bench/clear-free-memory.c && ./clear-free-memory [MIB]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define HUGE_PAGE (2UL << 20)

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    unsigned long mib = argc > 1 ? strtoul(argv[1], 0, 10) : 384;
    unsigned long pages = (mib + 1) / 2, length = (pages + 1) * HUGE_PAGE;
    char *mapping = mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (pages == 0 || mapping == MAP_FAILED) {
        fprintf(stderr, "clear-free-memory: cannot map %lu MiB\n", mib);
        return 1;
    }
    char *huge = (char *)(((uintptr_t)mapping + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
    madvise(huge, pages * HUGE_PAGE, MADV_HUGEPAGE);
    int slow = 0;
    double start = now_ms();
    for (unsigned long i = 0; i < pages; i++) {
        double before = now_ms();
        huge[i * HUGE_PAGE] = 1;
        slow += now_ms() - before > 50;
    }
    printf("cleared %lu MiB in %.0f ms, %d slow huge pages\n", pages * 2, now_ms() - start, slow);
    munmap(mapping, length);
    return 0;
}
