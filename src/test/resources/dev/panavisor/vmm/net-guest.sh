# The guest's half of the network scenarios (net-scenarios.sh serves it over HTTP and the guest runs it; inside
# the guest busybox gives every command). It fetches a file from the host and prints its hash, serves a file of
# its own and a large one over busybox httpd, times a download of the host's large file, then says "guest-ready"
# and waits until the host has pinged it and fetched what it wanted (the host publishes /done). The guest does not
# ping: busybox ping needs POSIX timers, which the default guest kernel leaves out (tinyconfig).
set -u
H=http://172.30.0.1:8080
up() { cut -d' ' -f1 /proc/uptime; }
wget -q -O /tmp/host-small.bin $H/small.bin && echo "guest-got $(sha256sum < /tmp/host-small.bin | cut -d' ' -f1)"
mkdir -p /tmp/www
head -c 262144 /dev/urandom > /tmp/www/small.bin
echo "guest-has $(sha256sum < /tmp/www/small.bin | cut -d' ' -f1)"
dd if=/dev/zero of=/tmp/www/big.bin bs=1M count=@MIB@ 2>/dev/null
httpd -p 80 -h /tmp/www
t0=$(up); wget -q -O /dev/null $H/big.bin && t1=$(up) && echo "h2g-seconds $t0 $t1"
echo guest-ready
until wget -q -O /dev/null $H/done 2>/dev/null; do sleep 1; done
echo guest-done
