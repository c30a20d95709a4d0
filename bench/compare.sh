#!/usr/bin/env bash
# Times `stackflow analyze` against `tshark -q -z conv,tcp` on the same capture and prints the
# ratio, plus each one's peak RSS. With no argument it generates a 1M-packet mix (TCP, UDP,
# VXLAN with inner TCP, BGP) with bench/gen; give a capture file to time that instead.
#
#   bench/compare.sh                 # generated 1M-packet single-point mix
#   POINTS=3 PACKETS=700000 bench/compare.sh   # multi-point mix (each TCP packet at 3 points)
#   bench/compare.sh some.pcapng
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tshark >/dev/null || { echo "compare.sh: tshark is missing: apt-get install -y tshark" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "compare.sh: /usr/bin/time is missing: apt-get install -y time" >&2; exit 2; }

out=${TMPDIR:-/tmp}/stackflow-bench
mkdir -p "$out"
CGO_ENABLED=0 go build -o "$out/stackflow" ./cmd/stackflow
file=${1:-}
if [ -z "$file" ]; then
  points=${POINTS:-1}; packets=${PACKETS:-1000000}
  ext=pcap; [ "$points" = 3 ] && ext=pcapng
  file="$out/mix-$packets-$points.$ext"
  [ -f "$file" ] || go run ./bench/gen -packets "$packets" -points "$points" -o "$file"
fi
n=$(capinfos -c -M "$file" 2>/dev/null | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}')
echo "file: $file ($n packets, $(du -h "$file" | cut -f1))"
cat "$file" > /dev/null # warm the page cache for both

run() { # name command...
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$out/$name.time" "$@" > /dev/null 2> "$out/$name.err" || { cat "$out/$name.err" >&2; exit 1; }
  read -r secs kb < "$out/$name.time"
  printf '%-10s %8.2f s  %7.0f MiB peak RSS  %8.0f ns/packet\n' "$name" "$secs" "$((kb / 1024))" "$(echo "$secs * 1000000000 / $n" | bc -l)"
  eval "${name}_secs=$secs"
}
run stackflow "$out/stackflow" analyze --format json --no-progress "$file"
run tshark tshark -n -r "$file" -q -z conv,tcp
echo "ratio: stackflow is $(echo "scale=1; $tshark_secs / $stackflow_secs" | bc -l)x faster than tshark -z conv,tcp"
