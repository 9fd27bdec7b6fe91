# CPU time per thread name between two trace times (-v from=S -v to=S, seconds), from sched_switch events: each
# CPU's time is charged to the thread that was switched out. Prints "MS NAME (N sleeps)" lines: N is how often the
# thread went to sleep (switched out in state S or D: a wait in poll, a read, a futex), each a wake-up to come.
function stamp(    i, s) {
    for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { s = $i; sub(/:$/, "", s); return s + 0 }
    return -1
}
/sched_switch/ {
    t = stamp()
    if (t < from || t > to) next
    match($0, /\[[0-9]+\]/); cpu = substr($0, RSTART, RLENGTH) # a thread name may hold spaces
    prev = $0; sub(/.*prev_comm=/, "", prev); sub(/ prev_pid=.*/, "", prev)
    if (cpu in since) used[prev] += t - since[cpu]
    since[cpu] = t
    if ($0 ~ /prev_state=[SD]/) sleeps[prev]++
}
END { for (name in used) printf "%.1f %s (%d sleeps)\n", used[name] * 1000, name, sleeps[name] }
