# /proc/PID/smaps summed by what is mapped (the file, or [anon], [heap], [stack]): one line per mapping with its
# resident kB, proportional share (Pss), private dirty, private clean and shared clean kB, and its anonymous kB
# (private copies of a file's pages, such as the ones the JVM writes when it relocates its AOT cache), then the
# total resident kB. Guest memory is in [anon]: the mapping of exactly the guest's size.
/^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anon]"; next }
/^Rss:/ { rss[name] += $2; total += $2 }
/^Pss:/ { pss[name] += $2 }
/^Private_Dirty:/ { dirty[name] += $2 }
/^Private_Clean:/ { clean[name] += $2 }
/^Shared_Clean:/ { shared[name] += $2 }
/^Anonymous:/ { anon[name] += $2 }
END {
    for (n in rss) if (rss[n] > 0)
        printf "%8d rss %8d pss %8d private-dirty %8d private-clean %8d shared-clean %8d anonymous  %s\n",
            rss[n], pss[n], dirty[n], clean[n], shared[n], anon[n], n
    printf "%8d rss in all\n", total
}
