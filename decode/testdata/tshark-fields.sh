#!/bin/sh
# Regenerates tshark-fields.txt, the oracle TestFieldsMatchTshark compares decoded fields
# with: one line per packet, "<file>\t<frame number>\t<field>=<v1,v2,...>\t...", every
# occurrence of each field in dissection order (outermost first). Protocol reassembly and IP
# defragmentation are off so each frame stands alone, as for the Decoder. The Go tests never
# run tshark:  sh decode/testdata/tshark-fields.sh > decode/testdata/tshark-fields.txt
set -eu
here=$(cd "$(dirname "$0")" && pwd)
caps=$(cd "$here/../../../shared/captures" && pwd)
fields="ip.src ip.dst ipv6.src ipv6.dst ip.ttl ipv6.hlim ip.id ip.len
tcp.srcport tcp.dstport tcp.len tcp.seq_raw tcp.ack_raw tcp.flags
tcp.options.timestamp.tsval tcp.options.timestamp.tsecr tcp.options.mss_val
tcp.options.wscale.shift udp.srcport udp.dstport udp.length
icmp.type icmp.code icmp.ident icmp.seq icmpv6.type icmpv6.code icmpv6.echo.identifier
icmpv6.echo.sequence_number vxlan.vni geneve.vni gre.key vlan.id mpls.label _ws.short"
args=""
for f in $fields; do args="$args -e $f"; done
for f in "$caps"/*.pcap "$caps"/*.pcapng; do
	name=$(basename "$f")
	case "$name" in bad-truncated-mid-record.pcap) continue ;; esac
	# shellcheck disable=SC2086
	tshark -r "$f" -d udp.port==8472,vxlan -d udp.port==4790,vxlan \
		-o ip.defragment:FALSE -o ipv6.defragment:FALSE -o tcp.desegment_tcp_streams:FALSE \
		-o tcp.relative_sequence_numbers:FALSE -o tcp.analyze_sequence_numbers:FALSE \
		-T fields -E separator=/t -E aggregator=, -E occurrence=a -e frame.number $args 2>/dev/null |
		awk -F'\t' -v n="$name" -v names="$fields" 'BEGIN { split(names, fn, /[ \n]+/) }
		{ line = n "\t" $1; for (i = 2; i <= NF; i++) if ($i != "") line = line "\t" fn[i-1] "=" $i; print line }'
done
