#!/usr/bin/env bash
# shellcheck disable=SC2034 # check() conditions name variables that only eval reads
# verify.sh - check with tshark that the recorded lab captures show what README.md says they show:
# SNAT at natvm, the BGP announce/withdraw/re-announce between muxvm and bgpvm, VXLAN VNI 4114
# from the Mux to the host, DNAT VIP->DIP at the host, Direct Server Return (replies never on the
# Mux's link), traffic failing at bgpvm while the VIP was withdrawn, and nothing but lab addresses.
# Every expected value is read from captures/timeline.json, which record.sh wrote from the run.
#
# Usage: samples/lab/verify.sh [CAPTURE_DIR]    (default: samples/lab/captures; needs tshark, python3)
# Exit status: 0 when every check passes, 1 otherwise.
set -euo pipefail

readonly DIR=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/captures}
readonly TL=$DIR/timeline.json
for tool in tshark python3; do
	command -v "$tool" >/dev/null || {
		echo "verify.sh: $tool is missing; apt-get install -y ${tool/tshark/tshark}" >&2
		exit 2
	}
done
[[ -r $TL ]] || { echo "verify.sh: no $TL (run record.sh first)" >&2; exit 2; }

# tl EXPR: a value from timeline.json (EXPR is Python over the parsed document `d`).
tl() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$TL"; }
ev() { tl "next(e['epoch'] for e in d['events'] if e['name']=='$1')"; }
mac() { tl "next(i['mac'] for n in d['nodes'] if n['name']=='$1' for i in n['interfaces'] if i['name']=='$2')"; }

VIP=$(tl "d['vip']")
DIP=$(tl "d['dip']")
CLIENT=$(tl "d['client']")
NAT_PUB=$(tl "d['nat']['public']")
NAT_LO=$(tl "d['nat']['port_range'][0]")
NAT_HI=$(tl "d['nat']['port_range'][1]")
VNI=$(tl "d['vxlan']['vni']")
VXPORT=$(tl "d['vxlan']['port']")
MUX=$(tl "d['vxlan']['outer_src']")
HOSTPA=$(tl "d['vxlan']['outer_dst']")
ROUTER_AS=$(tl "d['bgp']['speakers'][0]['asn']")
MUX_AS=$(tl "d['bgp']['speakers'][1]['asn']")
HTTP_VIP_PORT=$(tl "d['services'][0]['vip'].split(':')[1]")
HTTP_DIP_PORT=$(tl "d['services'][0]['dip'].split(':')[1]")
UDP_CLIENT_PORT=$(tl "d['services'][1]['client_port']")
TENANT_GW=$(tl "d['prober']['src']")
BULK=$(tl "d['bulk']['bytes']")
TR_IP=$(tl "next(i['addresses'][0].split('/')[0] for n in d['nodes'] if n['name']=='bgpvm' for i in n['interfaces'] if i['name']=='tr0')")
T_INSTALLED=$(ev vip_route_installed)
T_WITHDRAW=$(ev vip_withdraw_command)
T_REMOVED=$(ev vip_route_removed)
T_ANNOUNCE=$(ev vip_announce_command)
T_REINSTALLED=$(ev vip_route_reinstalled)
T_SHUTDOWN=$(ev bgp_shutdown_command)
BGP_SDN_MAC=$(mac bgpvm sdn0)
HOST_PA_MAC=$(mac hostvm pa0)

FAILS=0
PASSES=0
cap() { echo "$DIR/$1.pcap.gz"; }
ERR=$(mktemp)
trap 'rm -f "$ERR"' EXIT
# f POINT FILTER FIELD...: field values, one packet a line. A tshark error (bad filter or field
# name, unreadable file) stops the script: it must not read as "0 packets".
f() {
	local p=$1 y=$2 out; shift 2
	out=$(tshark -n -r "$(cap "$p")" -Y "$y" -T fields -E separator=' ' "${@/#/-e}" 2>"$ERR") || {
		echo "verify.sh: tshark failed on $p with filter '$y': $(grep -v 'Running as user' "$ERR")" >&2
		exit 2
	}
	[[ -z $out ]] || printf '%s\n' "$out"
}
# n POINT FILTER: number of packets at a capture point matching a display filter.
n() { f "$1" "$2" frame.number | wc -l; }
check() { # NAME CONDITION(a shell test, evaluated) DETAIL
	if eval "$2"; then
		PASSES=$((PASSES + 1)); printf 'PASS  %-34s %s\n' "$1" "$3"
	else
		FAILS=$((FAILS + 1)); printf 'FAIL  %-34s %s\n' "$1" "$3"
	fi
}
in_window() { echo "frame.time_epoch >= $1 && frame.time_epoch <= $2"; }

echo "captures: $DIR"

# 0. The files are what timeline.json says.
bad=0
for p in $(tl "' '.join(p['id'] for p in d['capture_points'])"); do
	want=$(tl "next(p['packets'] for p in d['capture_points'] if p['id']=='$p')")
	got=$(n "$p" "frame")
	((got == want)) || { bad=$((bad + 1)); echo "      $p: $got packets, timeline says $want"; }
done
check packet_counts "((bad == 0))" "every capture's packet count equals timeline.json"

# 1. Only lab addresses, no IPv6, no DNS: nothing left the lab.
outside=0
for p in $(tl "' '.join(p['id'] for p in d['capture_points'])"); do
	o=$(f "$p" "ip" ip.src ip.dst | tr -s ' ,' '\n' | sort -u | python3 -c '
import ipaddress, sys
lab = [ipaddress.ip_network(x) for x in ("192.168.200.0/24", "192.168.201.0/30",
       "192.168.100.0/24", "192.168.102.0/24", "10.0.0.0/24")]
print(sum(1 for a in sys.stdin.read().split() if not any(ipaddress.ip_address(a) in n for n in lab)))')
	outside=$((outside + o + $(n "$p" "ipv6 || dns || mdns || llmnr")))
done
check lab_addresses_only "((outside == 0))" "addresses outside the lab, IPv6 or DNS packets: $outside"

# 2. SNAT at natvm: the client's address and ports never leave in0; out0 uses the public address
# with a port from the configured range.
in_pkts=$(n natvm-in0 "ip.src==$CLIENT && ip.dst==$VIP")
out_pkts=$(n natvm-out0 "ip.src==$NAT_PUB && ip.dst==$VIP")
leak=$(n natvm-out0 "ip.addr==192.168.200.0/24")
syn_in=$(n natvm-in0 "ip.dst==$VIP && tcp.flags.syn==1 && tcp.flags.ack==0")
syn_out=$(n natvm-out0 "ip.dst==$VIP && tcp.flags.syn==1 && tcp.flags.ack==0")
syn_out_in_range=$(n natvm-out0 "ip.dst==$VIP && tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.srcport>=$NAT_LO && tcp.srcport<=$NAT_HI")
udp_in=$(n natvm-in0 "ip.dst==$VIP && udp.srcport==$UDP_CLIENT_PORT")
udp_out=$(n natvm-out0 "ip.dst==$VIP && udp && udp.srcport>=$NAT_LO && udp.srcport<=$NAT_HI")
check snat_addresses "((in_pkts > 0 && in_pkts == out_pkts && leak == 0))" \
	"$in_pkts client->VIP packets at in0 = $out_pkts from $NAT_PUB at out0; $leak inside addresses at out0"
check snat_ports "((syn_in > 0 && syn_out_in_range == syn_out && syn_out == syn_in && udp_in == udp_out && udp_in > 0))" \
	"$syn_out_in_range/$syn_out SYNs and $udp_out/$udp_in UDP datagrams leave with a port in $NAT_LO-$NAT_HI"

# 3. BGP between muxvm and bgpvm, seen at bgpvm-sdn0 (and the same at muxvm-eth0).
opens=$(f bgpvm-sdn0 "bgp.type==1" bgp.open.myas | sort -n | tr '\n' ' ')
want_opens=$(printf '%s\n' "$ROUTER_AS" "$MUX_AS" | sort -n | tr '\n' ' ')
check bgp_open "[[ '$opens' == '$want_opens' ]]" "OPEN ASNs: $opens(router $ROUTER_AS, Mux $MUX_AS)"
mapfile -t ann < <(f bgpvm-sdn0 "bgp.type==2 && ip.src==$MUX && bgp.nlri_prefix==$VIP" frame.time_epoch)
mapfile -t wd < <(f bgpvm-sdn0 "bgp.type==2 && ip.src==$MUX && bgp.withdrawn_prefix==$VIP" frame.time_epoch)
le() { python3 -c "import sys; a=[float(x) for x in sys.argv[1:]]; sys.exit(0 if a==sorted(a) else 1)" "$@"; }
ok=0
if ((${#ann[@]} == 2 && ${#wd[@]} == 1)) &&
	le "${ann[0]}" "$T_INSTALLED" "$T_WITHDRAW" "${wd[0]}" "$T_REMOVED" "$T_ANNOUNCE" "${ann[1]}" "$T_REINSTALLED"; then ok=1; fi
check bgp_updates "((ok == 1))" \
	"announce ${ann[0]:-?}, withdraw ${wd[0]:-?}, re-announce ${ann[1]:-?} (each inside its command->kernel window)"
nh=$(f bgpvm-sdn0 "bgp.type==2 && bgp.nlri_prefix==$VIP" bgp.update.path_attribute.next_hop | sort -u | tr '\n' ' ')
check bgp_next_hop "[[ '$nh' == '$MUX ' ]]" "next hop of the VIP /32: $nh"
notif=$(f bgpvm-sdn0 "bgp.type==3 && ip.src==$MUX && frame.time_epoch >= $T_SHUTDOWN" bgp.notify.major_error | tr '\n' ' ')
check bgp_notification "[[ '$notif' == '6 ' ]]" "NOTIFICATION from the Mux after the shutdown command, major code: $notif(6 = Cease)"
mux_bgp=$(n muxvm-eth0 "bgp.type==2"); sdn_bgp=$(n bgpvm-sdn0 "bgp.type==2")
check bgp_same_at_mux "((mux_bgp == sdn_bgp))" "$mux_bgp UPDATE packets at muxvm-eth0, $sdn_bgp at bgpvm-sdn0"

# 4. VXLAN from the Mux to the host's PA, VNI 4114, inner destination still the VIP.
vx_mux=$(n muxvm-eth0 "vxlan")
vx_ok=$(n muxvm-eth0 "vxlan && vxlan.vni==$VNI && udp.dstport==$VXPORT && ip.src==$MUX && ip.dst==$HOSTPA")
vx_inner=$(f muxvm-eth0 "vxlan" ip.dst | awk -F, -v v="$VIP" '$2 == v' | wc -l)
plain_in=$(n muxvm-eth0 "!vxlan && ip.dst==$VIP && eth.src==$BGP_SDN_MAC")
vx_host=$(n hostvm-pa0 "vxlan && vxlan.vni==$VNI && ip.src==$MUX")
decap=$(n hostvm-vxlan4114 "ip.dst==$VIP")
sports=$(f muxvm-eth0 "vxlan" udp.srcport | sort -u | wc -l)
check vxlan_encap "((vx_mux > 0 && vx_ok == vx_mux && vx_inner == vx_mux && plain_in == vx_mux))" \
	"$plain_in VIP packets in from bgpvm = $vx_mux VXLAN out ($vx_ok VNI $VNI to $HOSTPA:$VXPORT, $vx_inner with inner dst $VIP)"
check vxlan_decap "((vx_host == vx_mux && decap == vx_mux))" "$vx_host arrive at hostvm-pa0, $decap leave the VTEP decapsulated"
check vxlan_src_port_hash "((sports > 1))" "$sports distinct outer UDP source ports (hash of the inner flow)"

# 5. DNAT at the host: VIP:80 on the VTEP, DIP:8080 on the tenant side; the VIP never reaches it.
pre=$(n hostvm-vxlan4114 "ip.dst==$VIP && tcp.dstport==$HTTP_VIP_PORT")
post=$(n hostvm-tn0 "ip.src==$NAT_PUB && ip.dst==$DIP && tcp.dstport==$HTTP_DIP_PORT")
vip_tenant=$(n hostvm-tn0 "ip.addr==$VIP")
check dnat "((pre > 0 && pre == post && vip_tenant == 0))" \
	"$pre TCP to $VIP:$HTTP_VIP_PORT decapsulated = $post to $DIP:$HTTP_DIP_PORT on tn0; VIP on tn0: $vip_tenant"

# 6. Direct Server Return: replies leave the host un-NATted (DIP->VIP) straight to bgpvm's MAC.
replies_dip=$(n portalvm-eth0 "ip.src==$DIP && ip.dst==$NAT_PUB")
replies_pa=$(n hostvm-pa0 "!vxlan && ip.src==$VIP && ip.dst==$NAT_PUB && eth.dst==$BGP_SDN_MAC")
replies_sdn=$(n bgpvm-sdn0 "ip.src==$VIP && eth.src==$HOST_PA_MAC")
at_mux=$(n muxvm-eth0 "ip.src==$VIP || ip.src==$DIP")
check dsr_return_path "((replies_dip > 0 && replies_pa == replies_dip && replies_sdn == replies_dip))" \
	"$replies_dip replies from the DIP = $replies_pa from the VIP at hostvm-pa0 = $replies_sdn at bgpvm-sdn0 from $HOST_PA_MAC"
check dsr_skips_mux "((at_mux == 0))" "replies seen at muxvm-eth0: $at_mux"
ttl_req=$(f portalvm-eth0 "icmp.type==8" ip.ttl | sort -u | tr '\n' ' ')
ttl_rep=$(f clientvm-eth0 "icmp.type==0" ip.ttl | sort -u | tr '\n' ' ')
check ttl_hops "[[ '$ttl_req' == '60 ' && '$ttl_rep' == '61 ' ]]" \
	"echo request TTL at the DIP: $ttl_req(4 routers), reply TTL at the client: $ttl_rep(3: the Mux is skipped)"

# 7. While the VIP was withdrawn: traffic reaches bgpvm, which answers ICMP net unreachable; nothing
# goes on towards the Mux.
W=$(in_window "$T_REMOVED" "$T_REINSTALLED")
sent=$(n bgpvm-tr0 "$W && ip.dst==$VIP")
unreach=$(n bgpvm-tr0 "$W && ip.src==$TR_IP && icmp.type==3 && icmp.code==0")
beyond=$(n bgpvm-sdn0 "$W && ip.dst==$VIP && !bgp")
at_client=$(n clientvm-eth0 "$W && icmp.type==3 && ip.dst==$CLIENT")
check withdrawn_fails_at_bgpvm "((sent > 0 && unreach > 0 && beyond == 0 && at_client > 0))" \
	"$sent packets to the VIP at bgpvm-tr0, $unreach ICMP net-unreachable from $TR_IP ($at_client reach the client), $beyond forwarded"
after=$(n clientvm-eth0 "frame.time_epoch >= $T_REINSTALLED && ip.src==$VIP && tcp.srcport==$HTTP_VIP_PORT && http.response.code==200")
check reannounced_works "((after > 0))" "$after HTTP 200 responses after the re-announcement"

# 8. The bulk transfer and the health prober.
bulk=$(f clientvm-eth0 "ip.src==$VIP && tcp.srcport==$HTTP_VIP_PORT" tcp.len | awk '{s += $1} END {print s + 0}')
check bulk_transfer "((bulk >= BULK))" "$bulk TCP payload bytes from the VIP at the client (file: $BULK)"
probes=$(n portalvm-eth0 "ip.src==$TENANT_GW && http.request.uri==\"/health\"")
check health_probes "((probes > 0))" "$probes HTTP probes from $TENANT_GW to the DIP"

echo "$PASSES passed, $FAILS failed"
((FAILS == 0))
