"""Where the nested lab's L1 spends its time, sampled from the host (docs/performance.md, "The lab's memory stall,
explained").

usage:
  python3 tools/bench/l1-profile.py record OUT [INTERVAL_S]    # on the host, while a lab runs
  python3 tools/bench/l1-profile.py report OUT KALLSYMS FROM_MS TO_MS [BUCKET_MS [GUEST_MAP]]

record waits for the lab's QEMU (its command line names "panavisor-lab"), connects to its QMP socket, and every
INTERVAL_S (default 0.01) writes one line: the host's time in ms, each L1 CPU's RIP and CR3 (HMP `info registers
-a`), and each TCG thread's CPU time in ticks (/proc). It stops when the lab ends. Mark what runs when from the lab
command's own output, timed on the host, for example
  panavisor lab ... -- sh SCRIPT | while IFS= read -r l; do echo "$(date +%s%3N) $l"; done
report reads the samples between two host times (ms) and prints, per bucket, each L1 CPU's busy share (of its
TCG thread) and its two most frequent places: the L1 kernel function (named with KALLSYMS, a copy of L1's
/proc/kallsyms: the lab boots L1 with nokaslr, so one copy serves every session) or "user" below the kernel's
half of the address space. A guest (L2) running on an L1 CPU shows as whatever its RIP falls on, unless GUEST_MAP
is given: the guest kernel's symbols (`nm vmlinux`, the image cache's vmlinux; the guest kernel is not relocatable).
Then a sample whose CR3 is the guest kernel's own page table (init_top_pgt's physical address, from the map: what
CR3 holds while the guest boots, before its first process) is named "L2 function" with the guest's symbols; samples
of the guest's processes, whose CR3 is not known here, still show as L1's.
"""
import bisect
import collections
import json
import os
import re
import socket
import sys
import time


def find_lab():
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            argv = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\0')
        except OSError:
            continue
        if b'qemu-system' in argv[0] and b'panavisor-lab' in argv:
            qmp = argv[argv.index(b'-qmp') + 1].decode().split(',')[0]
            return int(pid), qmp[len('unix:'):]
    return None, None


def record(out_path, interval):
    pid, sock = find_lab()
    while not pid or not os.path.exists(sock):
        time.sleep(0.5)
        pid, sock = find_lab()
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    f = s.makefile('rw')

    def call(command, arguments=None):
        f.write(json.dumps({'execute': command, **({'arguments': arguments} if arguments else {})}) + '\n')
        f.flush()
        while True:
            line = f.readline()
            if not line:
                raise EOFError('the lab ended')
            reply = json.loads(line)
            if 'return' in reply or 'error' in reply:
                return reply

    f.readline()  # the greeting
    call('qmp_capabilities')
    threads = {c['cpu-index']: c['thread-id'] for c in call('query-cpus-fast')['return']}
    with open(out_path, 'w') as out:
        out.write(f'# pid {pid} threads {threads}\n')
        while True:
            t = time.time()
            try:
                text = call('human-monitor-command', {'command-line': 'info registers -a'}).get('return', '')
            except (EOFError, OSError):
                return
            regs = re.findall(r'RIP=([0-9a-f]+).*?CR3=([0-9a-f]+)', text, re.S)
            ticks = []
            for cpu in sorted(threads):
                try:
                    stat = open(f'/proc/{pid}/task/{threads[cpu]}/stat').read().rsplit(')', 1)[1].split()
                    ticks.append(str(int(stat[11]) + int(stat[12])))
                except OSError:
                    ticks.append('-1')
            out.write('%d %s %s\n' % (t * 1000, ' '.join(f'{r}:{c}' for r, c in regs), ' '.join(ticks)))
            out.flush()
            time.sleep(interval)


def symbol_table(path):
    entries = [l.split() for l in open(path)]
    symbols = sorted((int(p[0], 16), p[2]) for p in entries if len(p) >= 3 and p[1] in 'tTwW')
    data = {p[2]: int(p[0], 16) for p in entries if len(p) >= 3}
    return [a for a, _ in symbols], symbols, data


def report(samples_path, kallsyms, start, end, bucket, guest_map=None):
    addresses, symbols, _ = symbol_table(kallsyms)
    guest, guest_cr3 = None, None
    if guest_map:
        guest = symbol_table(guest_map)
        guest_cr3 = guest[2]['init_top_pgt'] - 0xffffffff80000000  # __START_KERNEL_map; no KASLR in the guest
    hz = os.sysconf('SC_CLK_TCK')

    def name(table, value):
        i = bisect.bisect_right(table[0], value) - 1
        return table[1][i][1] if i >= 0 else '?'

    def place(sample):
        rip, cr3 = sample.split(':')
        value = int(rip, 16)
        if guest and int(cr3, 16) & ~0xfff == guest_cr3:
            return 'L2 ' + name(guest, value)
        if value < 0xffff800000000000:
            return 'user'
        return name((addresses, symbols), value)

    rows = []
    for line in open(samples_path):
        p = line.split()
        if line.startswith('#') or len(p) < 2:
            continue
        cpus = (len(p) - 1) // 2
        t = int(p[0])
        if start <= t <= end:
            rows.append((t, p[1:1 + cpus], [int(x) for x in p[1 + cpus:]]))
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) and rows[j][0] - rows[i][0] < bucket:
            j += 1
        group = rows[i:j]
        line = '%7d ms' % (group[0][0] - start)
        for cpu in range(len(group[0][1])):
            span = max(1, group[-1][0] - group[0][0])
            busy = (group[-1][2][cpu] - group[0][2][cpu]) * 1000 / hz / span
            top = collections.Counter(place(g[1][cpu]) for g in group).most_common(2)
            line += ' | cpu%d busy %.1f %s' % (cpu, busy, ', '.join(f'{name} {n}' for name, n in top))
        print(line)
        i = j


if __name__ == '__main__':
    if len(sys.argv) >= 3 and sys.argv[1] == 'record':
        record(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.01)
    elif len(sys.argv) >= 6 and sys.argv[1] == 'report':
        report(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
               int(sys.argv[6]) if len(sys.argv) > 6 else 200, sys.argv[7] if len(sys.argv) > 7 else None)
    else:
        sys.exit(__doc__)
