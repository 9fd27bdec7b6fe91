/*
 * How long L1 takes to clear a recycled huge page that held executed code (docs/performance.md, "The lab's memory
 * stall, explained"). Inside the nested lab, as root or not:
 *
 *   gcc -O2 -static -o /tmp/rcp tools/bench/recycled-code-page.c
 *   panavisor lab -- /tmp/rcp [STRIDE]
 *
 * Six rounds, pinned to CPU 0. Each fills a fresh 2 MiB huge page with `ret` instructions; odd rounds also call one
 * every STRIDE bytes (default 64), so that TCG translates them; then it unmaps the page and times the first write
 * to a new huge page, which the kernel takes from the one just freed and zeroes. Under TCG the executed rounds'
 * first write took about a second (0.35 s with STRIDE 512), the others about 5 ms. On hardware both are fast.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define HUGE_PAGE (2UL << 20)

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* A 2 MiB-aligned huge page (advised; the mapping is twice as long, so that an aligned stretch exists in it). */
static char *huge_page(int prot) {
    char *p = mmap(0, 2 * HUGE_PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    char *aligned = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
    madvise(aligned, HUGE_PAGE, MADV_HUGEPAGE);
    return aligned;
}

int main(int argc, char **argv) {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(0, &cpus);
    sched_setaffinity(0, sizeof cpus, &cpus); /* the freed page goes back to this CPU's list, and comes from it */
    unsigned long stride = argc > 1 ? strtoul(argv[1], 0, 10) : 64;
    if (stride == 0 || stride > HUGE_PAGE) {
        fprintf(stderr, "usage: %s [STRIDE: 1 to %lu bytes]\n", argv[0], HUGE_PAGE);
        return 2;
    }
    for (int round = 0; round < 6; round++) {
        int executed = round & 1;
        char *code = huge_page(PROT_READ | PROT_WRITE | PROT_EXEC);
        memset(code, 0xc3, HUGE_PAGE); /* ret */
        if (executed) {
            for (unsigned long offset = 0; offset < HUGE_PAGE; offset += stride) {
                ((void (*)(void))(code + offset))();
            }
        }
        munmap(code, HUGE_PAGE);
        char *next = huge_page(PROT_READ | PROT_WRITE);
        double before = now_ms();
        next[0] = 1;
        printf("round %d, code %s: the next huge page's first write took %.1f ms\n", round,
               executed ? "executed" : "never executed", now_ms() - before);
        fflush(stdout);
    }
    return 0;
}
