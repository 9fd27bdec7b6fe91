/*
 * io-load: the guest side of `panavisor bench io`. It runs inside the guest (busybox has no fio), built on the
 * host with `gcc -static` and added to the guest's initramfs as /bench/io-load, so it needs nothing from the guest
 * but a kernel.
 *
 *     io-load DEVICE seqread  MIB        read MIB MiB from the start, 1 MiB at a time
 *     io-load DEVICE seqwrite MIB        write MIB MiB from the start, 1 MiB at a time, then fsync
 *     io-load DEVICE randread MIB SECONDS JOBS
 *                                        JOBS processes, each reading 4 KiB blocks at random 4 KiB-aligned offsets
 *                                        in the first MIB MiB for SECONDS seconds: JOBS requests in flight
 *     io-load DEVICE randwrite MIB SECONDS JOBS
 *                                        the same with writes, each job ending with fsync (counted in the time)
 *
 * and prints one line, the only thing the host reads:
 *
 *     io-load: test=<name> jobs=<n> bytes=<n> ops=<n> seconds=<s.ssssss> direct=<1|0>
 *
 * DEVICE may be a regular file too (`bench compare` runs the random tests in containers and on the host, on a file
 * the sequential test wrote): where its file system refuses O_DIRECT (tmpfs), the file is opened without it and
 * the line says direct=0, so a reader knows the page cache served it.
 *
 * Why these choices:
 * - O_DIRECT for every access. The guest kernel (tinyconfig, guest-images/kernel.fragment) has no AIO and no
 *   io_uring, but O_DIRECT on a block device needs no option at all: each read() or write() becomes requests to
 *   the virtio-blk device, never a hit in the guest's page cache. The caller still drops the page cache first
 *   (/proc/sys/vm/drop_caches: CONFIG_PROC_SYSCTL is on) so nothing left from the boot helps either side.
 * - Queue depth by processes: without AIO, the only way to have several requests in flight is several blocked
 *   readers, so JOBS processes (fork; no threads needed) each keep one request in flight.
 * - The write test ends with fsync(), which sends the device a flush (VIRTIO_BLK_T_FLUSH), and its time is
 *   counted: like `dd conv=fsync`, the number says how fast data reaches the host file, not a cache.
 * - Time comes from CLOCK_MONOTONIC inside the guest (kvm-clock), read around the work only: the boot and the
 *   console output are not in the numbers.
 * - Every 1 MiB block written carries its block number, so a test never writes pages of zeros that a host could
 *   treat specially.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024L * 1024L)
#define BLOCK_4K 4096L
#define MAX_JOBS 64

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what, const char *detail) {
    fprintf(stderr, "io-load: %s: %s\n", what, detail);
    exit(2);
}

static void *aligned_buffer(size_t size) {
    void *buffer;
    if (posix_memalign(&buffer, BLOCK_4K, size) != 0) {
        fail("cannot allocate buffer", strerror(errno));
    }
    memset(buffer, 0xa5, size);
    return buffer;
}

/* Whether the last open_device had O_DIRECT: the file system of a regular file may refuse it (EINVAL). */
static int direct = 1;

static int open_device(const char *device, int flags) {
    int fd = open(device, flags | O_DIRECT);
    if (fd < 0 && errno == EINVAL) {
        fd = open(device, flags);
        direct = 0;
    }
    if (fd < 0) {
        fail(device, strerror(errno));
    }
    return fd;
}

static void report(const char *test, int jobs, long long bytes, long long ops, double seconds) {
    printf("io-load: test=%s jobs=%d bytes=%lld ops=%lld seconds=%.6f direct=%d\n", test, jobs, bytes, ops, seconds,
            direct);
    fflush(stdout);
}

static void sequential(const char *device, long mib, int write_test) {
    int fd = open_device(device, write_test ? O_WRONLY : O_RDONLY);
    char *buffer = aligned_buffer(MIB);
    double start = now();
    for (long block = 0; block < mib; block++) {
        ssize_t done;
        if (write_test) {
            memcpy(buffer, &block, sizeof block);
            done = pwrite(fd, buffer, MIB, block * MIB);
        } else {
            done = pread(fd, buffer, MIB, block * MIB);
        }
        if (done != MIB) {
            fail(write_test ? "write" : "read", done < 0 ? strerror(errno) : "short transfer (disk too small?)");
        }
    }
    if (write_test && fsync(fd) != 0) {
        fail("fsync", strerror(errno));
    }
    double seconds = now() - start;
    close(fd);
    report(write_test ? "seqwrite" : "seqread", 1, (long long) mib * MIB, mib, seconds);
}

/* xorshift64: a fast generator, seeded differently per job, so the jobs do not read the same blocks in step. */
static uint64_t next_random(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static void random_io(const char *device, long mib, double seconds, int jobs, int write_test) {
    /* One counter per job in memory shared with the children: each child writes only its own slot. */
    long long *counts = mmap(NULL, sizeof(long long) * MAX_JOBS, PROT_READ | PROT_WRITE,
            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (counts == MAP_FAILED) {
        fail("mmap", strerror(errno));
    }
    uint64_t blocks = (uint64_t) mib * (MIB / BLOCK_4K);
    double start = now();
    double deadline = start + seconds;
    for (int job = 0; job < jobs; job++) {
        pid_t pid = fork();
        if (pid < 0) {
            fail("fork", strerror(errno));
        }
        if (pid == 0) {
            int fd = open_device(device, write_test ? O_WRONLY : O_RDONLY);
            char *buffer = aligned_buffer(BLOCK_4K);
            uint64_t state = 0x9e3779b97f4a7c15ULL * (uint64_t) (job + 1);
            long long done = 0;
            while (now() < deadline) {
                off_t offset = (off_t) (next_random(&state) % blocks) * BLOCK_4K;
                ssize_t moved;
                if (write_test) {
                    memcpy(buffer, &done, sizeof done); /* no two writes alike */
                    moved = pwrite(fd, buffer, BLOCK_4K, offset);
                } else {
                    moved = pread(fd, buffer, BLOCK_4K, offset);
                }
                if (moved != BLOCK_4K) {
                    fail(write_test ? "random write" : "random read", moved < 0 ? strerror(errno) : "short transfer");
                }
                done++;
            }
            if (write_test && fsync(fd) != 0) {
                fail("fsync", strerror(errno));
            }
            counts[job] = done;
            _exit(0);
        }
    }
    int failed = 0;
    for (int job = 0; job < jobs; job++) {
        int status;
        if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            failed = 1;
        }
    }
    double elapsed = now() - start;
    if (failed) {
        fail(write_test ? "random write" : "random read", "a job failed");
    }
    long long ops = 0;
    for (int job = 0; job < jobs; job++) {
        ops += counts[job];
    }
    /* The jobs' opens ran in the children: probe once here for the line's direct= field. */
    close(open_device(device, O_RDONLY));
    report(write_test ? "randwrite" : "randread", jobs, ops * BLOCK_4K, ops, elapsed);
}

static long positive(const char *text, const char *what, long max) {
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || value <= 0 || value > max) {
        fail(what, "not a positive number in range");
    }
    return value;
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[2], "seqread") == 0) {
        sequential(argv[1], positive(argv[3], "MIB", 1L << 20), 0);
    } else if (argc >= 4 && strcmp(argv[2], "seqwrite") == 0) {
        sequential(argv[1], positive(argv[3], "MIB", 1L << 20), 1);
    } else if (argc >= 6 && (strcmp(argv[2], "randread") == 0 || strcmp(argv[2], "randwrite") == 0)) {
        random_io(argv[1], positive(argv[3], "MIB", 1L << 20), positive(argv[4], "SECONDS", 3600),
                (int) positive(argv[5], "JOBS", MAX_JOBS), strcmp(argv[2], "randwrite") == 0);
    } else {
        fprintf(stderr, "usage: io-load DEVICE seqread|seqwrite MIB | io-load DEVICE randread|randwrite MIB SECONDS "
                "JOBS\n");
        return 2;
    }
    return 0;
}
