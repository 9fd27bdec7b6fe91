"""Lines up the kernel logs of tools/bench/dmesg-boots.sh: Panavisor's boots (DIR/P*.txt) against QEMU's
(DIR/Q*.txt), message by message.

usage: python3 tools/bench/dmesg-align.py DIR [--all]

A message is its text with numbers and hex values masked (its first 50 characters), counted in order when it
repeats. For each message that every boot of both VMMs logged, in the order of Panavisor's first boot, it prints
the median time stamp under each VMM and the time since the message before (the stretch); only the stretches
that differ by more than 4 ms, unless --all. Messages only Panavisor's first boot logged are listed where they
come; those only QEMU's first boot logged, at the end.
"""
import glob
import re
import statistics
import sys


def load(path):
    """{(message, n): seconds} and the keys in the log's order."""
    stamps, order = {}, []
    for line in open(path, errors='replace'):
        m = re.match(r'\[\s*([0-9.]+)\] (.*)', line)
        if not m:
            continue
        text = re.sub(r'0x[0-9a-f]+|[0-9]+', '#', m.group(2))[:50]
        n = 0
        while (text, n) in stamps:
            n += 1
        stamps[(text, n)] = float(m.group(1))
        order.append((text, n))
    return stamps, order


def main():
    directory = sys.argv[1]
    show_all = '--all' in sys.argv
    panavisor = [load(f) for f in sorted(glob.glob(directory + '/P*.txt'))]
    qemu = [load(f) for f in sorted(glob.glob(directory + '/Q*.txt'))]
    if not panavisor or not qemu:
        sys.exit('dmesg-align: no P*.txt or Q*.txt in ' + directory)
    print('%-52s %8s %8s %8s %8s' % ('message', 'P median', 'Q median', 'P step', 'Q step'))
    previous_p = previous_q = 0.0
    for key in panavisor[0][1]:
        ps = [p[0][key] for p in panavisor if key in p[0]]
        qs = [q[0][key] for q in qemu if key in q[0]]
        if len(ps) < len(panavisor) or len(qs) < len(qemu):
            if not qs:
                print('%-52s %8.3f %8s  (Panavisor only)' % (key[0][:52], statistics.median(ps), '-'))
            continue
        mp, mq = statistics.median(ps), statistics.median(qs)
        if show_all or abs((mp - previous_p) - (mq - previous_q)) > 0.004:
            print('%-52s %8.3f %8.3f %8.3f %8.3f' % (key[0][:52], mp, mq, mp - previous_p, mq - previous_q))
        previous_p, previous_q = mp, mq
    logged = set(panavisor[0][0])
    for key in qemu[0][1]:
        if key not in logged:
            print('(QEMU only) %-50s %8.3f' % (key[0][:50], qemu[0][0][key]))


if __name__ == '__main__':
    main()
