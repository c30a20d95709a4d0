#!/bin/sh
# Regenerates tshark-protocols.txt, the oracle TestProtocolsMatchTshark compares the
# decoder's layer bits with: one line per packet, "<file> <frame number> <frame.protocols>",
# as tshark 4.x dissects ../shared/captures. VXLAN on 8472 and 4790 is enabled explicitly, as
# the Decoder's defaults do. The Go tests never run tshark; run this by hand after adding a
# capture:  sh decode/testdata/tshark-protocols.sh > decode/testdata/tshark-protocols.txt
set -eu
here=$(cd "$(dirname "$0")" && pwd)
caps=$(cd "$here/../../../shared/captures" && pwd)
for f in "$caps"/*.pcap "$caps"/*.pcapng; do
	name=$(basename "$f")
	case "$name" in bad-truncated-mid-record.pcap) continue ;; esac
	tshark -r "$f" -d udp.port==8472,vxlan -d udp.port==4790,vxlan \
		-o ip.defragment:FALSE -o ipv6.defragment:FALSE \
		-T fields -e frame.number -e frame.protocols 2>/dev/null |
		awk -v n="$name" '{ print n, $1, $2 }'
done
