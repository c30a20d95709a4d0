#!/usr/bin/env bash
# record.sh - build the Azure Stack PoC data path (DESIGN.md section 1) out of Linux network
# namespaces, drive client traffic through it, withdraw and re-announce the VIP over real BGP, and
# record every hop with tcpdump into samples/lab/captures/ (gzip'd pcap, nanosecond timestamps)
# together with timeline.json (the run's facts in machine-readable form).
#
#   clientvm --- natvm ===transit=== bgpvm --(192.168.100.0/24 switch)--+-- muxvm  (BGP, VXLAN encap)
#                (SNAT)              (BIRD, AS 64623)                    +-- hostvm (VXLAN decap, DNAT)
#                                                                                   |
#                                                                                portalvm (DIP)
#
# Usage: sudo samples/lab/record.sh            record a fresh run (replaces captures/*)
#        sudo samples/lab/record.sh --cleanup  remove namespaces left by a run that was SIGKILLed
# Environment: LAB_OUT (output folder, default samples/lab/captures), LAB_KEEP_WORK=1 (keep the
# scratch folder with raw pcaps, BIRD logs and configs), LAB_BULK_BYTES (default 3145728).
#
# Everything this script creates lives in namespaces named azs-*; nothing is added to the root
# namespace and no packet is sent outside the namespaces. A trap removes every namespace, veth and
# process it created, on success, on error and on Ctrl-C.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly OUT=${LAB_OUT:-$HERE/captures}
readonly KEEP_WORK=${LAB_KEEP_WORK:-0}
readonly BULK_BYTES=${LAB_BULK_BYTES:-3145728}
readonly P=azs-       # namespace prefix: mirrors the ASDK VM names (AzS-BGPNAT01, AzS-SLB01, ...)
readonly NODES=(switch clientvm natvm bgpvm muxvm hostvm portalvm)
readonly SNAPLEN=192  # headers + the first payload bytes, also inside VXLAN (50 bytes of outer headers)

# The addressing plan (README.md explains each choice).
readonly CLIENT_IP=192.168.200.10 NAT_IN_IP=192.168.200.1
readonly NAT_OUT_IP=192.168.201.2 BGP_TR_IP=192.168.201.1    # transit /30, NAT public address = .2
readonly BGP_SDN_IP=192.168.100.1 MUX_IP=192.168.100.4 HOST_PA_IP=192.168.100.10
readonly TENANT_GW=10.0.0.1 DIP=10.0.0.4
readonly VIP=192.168.102.4 VNI=4114 VXLAN_PORT=4789
readonly ROUTER_AS=64623 MUX_AS=64628
readonly NAT_PORTS=20000-20999
readonly HTTP_VIP_PORT=80 HTTP_DIP_PORT=8080 UDP_PORT=7 UDP_CLIENT_PORT=40007
readonly PORTAL_NAME=portal.local.azurestack.external
readonly HOLD_TIME=9 KEEPALIVE_TIME=3
readonly UNDERLAY_MTU=1600  # the 192.168.100.0/24 segment carries VXLAN: room for 1500 + 50

# Capture points: "<node> <interface> <link description>". File name = <node>-<interface>.pcap.gz.
readonly CAPTURE_POINTS=(
	"clientvm eth0 client<->natvm inside link 192.168.200.0/24, client end"
	"natvm in0 client<->natvm inside link 192.168.200.0/24, NAT inside arm (before SNAT)"
	"natvm out0 natvm<->bgpvm transit 192.168.201.0/30, NAT outside arm (after SNAT)"
	"bgpvm tr0 natvm<->bgpvm transit 192.168.201.0/30, router end"
	"bgpvm sdn0 192.168.100.0/24 switch segment, router arm towards Mux and host (BGP, DSR returns)"
	"muxvm eth0 192.168.100.0/24 switch segment, Mux port (BGP, VIP traffic in, VXLAN out)"
	"hostvm pa0 192.168.100.0/24 switch segment, host provider address (VXLAN in, DSR replies out)"
	"hostvm vxlan4114 host VTEP, decapsulated inner frames before DNAT"
	"hostvm tn0 host<->portalvm tenant link 10.0.0.0/24, after DNAT (VIP->DIP)"
	"portalvm eth0 host<->portalvm tenant link 10.0.0.0/24, DIP end"
)

usage() { sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }

# nsx NODE CMD... runs CMD inside the node's namespace.
nsx() { local n=$1; shift; ip netns exec "$P$n" "$@"; }

check_tools() {
	local missing=() pair
	for pair in ip:iproute2 bridge:iproute2 bird:bird2 birdc:bird2 tcpdump:tcpdump \
		iptables:iptables socat:socat curl:curl ping:iputils-ping ethtool:ethtool \
		python3:python3 gzip:gzip timeout:coreutils sha256sum:coreutils; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
	done
	if ((${#missing[@]})); then
		log "missing tools; install them with:"
		printf '  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y %s\n' \
			"$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')" >&2
		exit 2
	fi
}

# ---------------------------------------------------------------------------------------------
# Cleanup: every process we started is in PIDS or inside one of our namespaces; every veth, bridge
# and VXLAN device lives in one of our namespaces and disappears with it.
PIDS=()
CREATED_NS=()
WORK=""
TMP_OUT=""

kill_ns_processes() { # NS SIGNAL
	local pid
	for pid in $(ip netns pids "$1" 2>/dev/null); do kill "-$2" "$pid" 2>/dev/null || true; done
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	local pid ns
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for ns in "${CREATED_NS[@]}"; do kill_ns_processes "$ns" TERM; done
	sleep 0.3
	for ns in "${CREATED_NS[@]}"; do
		kill_ns_processes "$ns" KILL
		ip netns del "$ns" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	[[ -n $TMP_OUT ]] && rm -rf "$TMP_OUT"
	if [[ -n $WORK ]]; then
		if [[ $KEEP_WORK == 1 ]]; then log "scratch folder kept: $WORK"; else rm -rf "$WORK"; fi
	fi
	if ((rc != 0)); then log "failed (exit $rc); namespaces removed, $OUT left untouched"; fi
	exit "$rc"
}

leftovers() {
	local n
	for n in "${NODES[@]}"; do
		if ip netns list | awk '{print $1}' | grep -qx "$P$n"; then echo "$P$n"; fi
	done
}

# ---------------------------------------------------------------------------------------------
# Topology

# veth NODE_A IF_A MAC_A NODE_B IF_B MAC_B MTU: one veth pair, each end created in its namespace.
veth() {
	ip link add "$2" address "$3" mtu "$7" netns "$P$1" type veth \
		peer name "$5" address "$6" mtu "$7" netns "$P$4"
	no_offload "$1" "$2"
	no_offload "$4" "$5"
}

# Without this the captures would show 64 KB GSO super-frames and unfinished checksums, which no
# real wire carries. Every packet is segmented and checksummed in software before tcpdump sees it.
no_offload() {
	nsx "$1" ethtool -K "$2" tx off rx off tso off gso off gro off sg off >/dev/null 2>&1 ||
		nsx "$1" ethtool -K "$2" tso off gso off gro off >/dev/null
}

sysctls() { # NODE KEY=VALUE...
	local n=$1; shift
	nsx "$n" sysctl -qw "$@" >/dev/null
}

build_topology() {
	local n
	for n in "${NODES[@]}"; do
		ip netns add "$P$n"
		CREATED_NS+=("$P$n")
		# IPv6 off: no router solicitations, MLD or DAD noise in the captures. rp_filter off: the
		# host receives from the VXLAN device but answers through pa0 (DSR), which strict reverse
		# path filtering would drop; the other nodes are switched off too so no node's defaults
		# depend on the machine's.
		sysctls "$n" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
			net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0
		nsx "$n" ip link set lo up
	done
	for n in natvm bgpvm muxvm hostvm; do sysctls "$n" net.ipv4.ip_forward=1; done

	# clientvm <-> natvm (inside)
	veth clientvm eth0 02:00:c0:a8:c8:0a natvm in0 02:00:c0:a8:c8:01 1500
	# natvm <-> bgpvm (transit)
	veth natvm out0 02:00:c0:a8:c9:02 bgpvm tr0 02:00:c0:a8:c9:01 1500
	# the 192.168.100.0/24 segment: a learning bridge in its own namespace ("switch")
	nsx switch ip link add br0 address 02:ff:00:00:00:fe type bridge stp_state 0 forward_delay 0
	veth bgpvm sdn0 02:00:c0:a8:64:01 switch p-bgpvm 02:ff:00:00:00:01 "$UNDERLAY_MTU"
	veth muxvm eth0 02:00:c0:a8:64:04 switch p-muxvm 02:ff:00:00:00:04 "$UNDERLAY_MTU"
	veth hostvm pa0 02:00:c0:a8:64:0a switch p-hostvm 02:ff:00:00:00:0a "$UNDERLAY_MTU"
	for n in p-bgpvm p-muxvm p-hostvm; do nsx switch ip link set "$n" master br0 up; done
	nsx switch ip link set br0 mtu "$UNDERLAY_MTU" up
	# hostvm <-> portalvm (tenant)
	veth hostvm tn0 02:00:0a:00:00:01 portalvm eth0 02:00:0a:00:00:04 1500

	# clientvm
	nsx clientvm ip addr add "$CLIENT_IP/24" dev eth0
	nsx clientvm ip link set eth0 up
	nsx clientvm ip route add default via "$NAT_IN_IP"

	# natvm: SNAT (RRAS stand-in) to its outside address with a port range, so every client port
	# is rewritten (client ports 32768-60999 never fall inside 20000-20999).
	nsx natvm ip addr add "$NAT_IN_IP/24" dev in0
	nsx natvm ip addr add "$NAT_OUT_IP/30" dev out0
	nsx natvm ip link set in0 up
	nsx natvm ip link set out0 up
	nsx natvm ip route add default via "$BGP_TR_IP"
	local proto
	for proto in tcp udp; do
		nsx natvm iptables -t nat -A POSTROUTING -o out0 -s 192.168.200.0/24 -p "$proto" \
			-j SNAT --to-source "$NAT_OUT_IP:$NAT_PORTS"
	done
	nsx natvm iptables -t nat -A POSTROUTING -o out0 -s 192.168.200.0/24 -p icmp \
		-j SNAT --to-source "$NAT_OUT_IP"

	# bgpvm: a router with two arms and no default route; the VIP route comes only from BGP.
	nsx bgpvm ip addr add "$BGP_TR_IP/30" dev tr0
	nsx bgpvm ip addr add "$BGP_SDN_IP/24" dev sdn0
	nsx bgpvm ip link set tr0 up
	nsx bgpvm ip link set sdn0 up

	# muxvm: the VIP is not local; a /32 route sends it into the VXLAN device towards the host's PA.
	nsx muxvm ip addr add "$MUX_IP/24" dev eth0
	nsx muxvm ip link set eth0 up
	nsx muxvm ip route add default via "$BGP_SDN_IP"
	nsx muxvm ip link add vxlan$VNI address 02:10:12:00:00:04 mtu 1500 type vxlan id "$VNI" \
		dstport "$VXLAN_PORT" local "$MUX_IP" remote "$HOST_PA_IP" dev eth0 nolearning
	no_offload muxvm vxlan$VNI
	nsx muxvm ip link set vxlan$VNI up
	nsx muxvm ip route add "$VIP/32" dev vxlan$VNI
	nsx muxvm ip neigh add "$VIP" lladdr 02:10:12:00:00:0a dev vxlan$VNI nud permanent

	# hostvm: VTEP on its provider address, DNAT VIP->DIP, default route to the router (DSR).
	nsx hostvm ip addr add "$HOST_PA_IP/24" dev pa0
	nsx hostvm ip link set pa0 up
	nsx hostvm ip link add vxlan$VNI address 02:10:12:00:00:0a mtu 1500 type vxlan id "$VNI" \
		dstport "$VXLAN_PORT" local "$HOST_PA_IP" remote "$MUX_IP" dev pa0 nolearning
	no_offload hostvm vxlan$VNI
	nsx hostvm ip link set vxlan$VNI up
	nsx hostvm ip addr add "$TENANT_GW/24" dev tn0
	nsx hostvm ip link set tn0 up
	nsx hostvm ip route add default via "$BGP_SDN_IP"
	sysctls hostvm "net.ipv4.conf.vxlan$VNI.rp_filter=0" net.ipv4.conf.pa0.rp_filter=0
	nsx hostvm iptables -t nat -A PREROUTING -i vxlan$VNI -d "$VIP" -p tcp --dport "$HTTP_VIP_PORT" \
		-j DNAT --to-destination "$DIP:$HTTP_DIP_PORT"
	nsx hostvm iptables -t nat -A PREROUTING -i vxlan$VNI -d "$VIP" -p udp --dport "$UDP_PORT" \
		-j DNAT --to-destination "$DIP:$UDP_PORT"
	nsx hostvm iptables -t nat -A PREROUTING -i vxlan$VNI -d "$VIP" -p icmp \
		-j DNAT --to-destination "$DIP"

	# portalvm: the DIP.
	nsx portalvm ip addr add "$DIP/24" dev eth0
	nsx portalvm ip link set eth0 up
	nsx portalvm ip route add default via "$TENANT_GW"
}

# ---------------------------------------------------------------------------------------------
# Services

start_bg() { # LOGFILE NODE CMD...: start a long-running process in a namespace, remember its pid
	local logf=$1 n=$2; shift 2
	# A plain command (not the nsx function), so $! is the process itself: ip netns exec execs it.
	ip netns exec "$P$n" "$@" >"$logf" 2>&1 &
	PIDS+=("$!")
}

start_portal() {
	local web=$WORK/www
	mkdir -p "$web"
	cat >"$web/index.html" <<-EOF
		<!doctype html>
		<html><head><title>Azure Stack portal (stackflow lab)</title></head>
		<body><h1>$PORTAL_NAME</h1><p>Served by portalvm, DIP $DIP, behind VIP $VIP.</p></body></html>
	EOF
	echo ok >"$web/health"
	# Numbered text lines: every TCP segment starts with different bytes, and the snapped
	# captures compress well.
	seq -f 'stackflow lab bulk transfer line %08g: the quick brown fox jumps over the lazy dog' \
		1 $((BULK_BYTES / 64 + 1)) >"$web/bulk.bin"
	truncate -s "$BULK_BYTES" "$web/bulk.bin" # (no head -c: SIGPIPE under pipefail)
	start_bg "$WORK/http.log" portalvm "$PYTHON" -u "$HERE/portal.py" "$DIP" "$HTTP_DIP_PORT" "$web"
	start_bg "$WORK/udp-echo.log" portalvm socat "UDP4-RECVFROM:$UDP_PORT,bind=$DIP,fork" PIPE
	local i
	for i in $(seq 50); do
		nsx portalvm curl -s -o /dev/null -m 1 "http://$DIP:$HTTP_DIP_PORT/health" && return 0
		sleep 0.1
	done
	die "the portal HTTP server did not start (see $WORK/http.log)"
}

write_bird_configs() {
	cat >"$WORK/bird-bgpvm.conf" <<-EOF
		# BGPVM: eBGP with the Mux; learned VIP /32s are installed into the kernel table.
		log "$WORK/bird-bgpvm.log" all;
		router id $BGP_SDN_IP;
		protocol device { }
		protocol kernel { ipv4 { import none; export all; }; }
		protocol bgp mux1 {
		  description "MuxVM (SLB Mux)";
		  local $BGP_SDN_IP as $ROUTER_AS;
		  neighbor $MUX_IP as $MUX_AS;
		  hold time $HOLD_TIME; keepalive time $KEEPALIVE_TIME;
		  connect delay time 1; connect retry time 2;
		  ipv4 { import where net ~ [ 192.168.102.0/24{32,32} ]; export none; };
		}
	EOF
	cat >"$WORK/bird-muxvm.conf" <<-EOF
		# MuxVM: announces the VIP /32 with itself as next hop; touches no kernel table (the
		# VXLAN route to the VIP is set by record.sh). "birdc disable vip" withdraws it.
		log "$WORK/bird-muxvm.log" all;
		router id $MUX_IP;
		protocol device { }
		protocol static vip { ipv4; route $VIP/32 blackhole; }
		protocol bgp uplink {
		  description "BGPVM (router)";
		  local $MUX_IP as $MUX_AS;
		  neighbor $BGP_SDN_IP as $ROUTER_AS;
		  hold time $HOLD_TIME; keepalive time $KEEPALIVE_TIME;
		  connect delay time 1; connect retry time 2;
		  ipv4 { import none; export where proto = "vip"; next hop self; };
		}
	EOF
}

start_bird() { # NODE
	bird -p -c "$WORK/bird-$1.conf"
	nsx "$1" bird -c "$WORK/bird-$1.conf" -s "$WORK/bird-$1.ctl" -P "$WORK/bird-$1.pid"
	local i
	for i in $(seq 50); do [[ -s $WORK/bird-$1.pid ]] && break; sleep 0.1; done
	[[ -s $WORK/bird-$1.pid ]] || die "bird in $1 did not start"
	PIDS+=("$(cat "$WORK/bird-$1.pid")")
}

birdc_at() { local n=$1; shift; birdc -s "$WORK/bird-$n.ctl" "$@"; }

vip_route_at_bgpvm() { nsx bgpvm ip -4 route show "$VIP/32"; }

# wait_route present|absent TIMEOUT_S: poll bgpvm's kernel table for the VIP route.
wait_route() {
	local want=$1 deadline=$(($(date +%s) + $2)) r
	while (($(date +%s) <= deadline)); do
		r=$(vip_route_at_bgpvm)
		if [[ $want == present && -n $r ]] || [[ $want == absent && -z $r ]]; then return 0; fi
		sleep 0.02
	done
	return 1
}

start_captures() {
	mkdir -p "$WORK/cap"
	local cp node ifc
	for cp in "${CAPTURE_POINTS[@]}"; do
		read -r node ifc _ <<<"$cp"
		start_bg "$WORK/cap/$node-$ifc.log" "$node" tcpdump -i "$ifc" -n -U -Z root -s "$SNAPLEN" \
			--immediate-mode --time-stamp-precision=nano -w "$WORK/cap/$node-$ifc.pcap"
	done
	local i ok
	for i in $(seq 100); do
		ok=1
		for cp in "${CAPTURE_POINTS[@]}"; do
			read -r node ifc _ <<<"$cp"
			grep -q 'listening on' "$WORK/cap/$node-$ifc.log" 2>/dev/null || ok=0
		done
		((ok)) && return 0
		sleep 0.1
	done
	die "tcpdump did not start on every capture point (see $WORK/cap/*.log)"
}

stop_captures() {
	local cp node ifc pid
	# SIGTERM, not SIGINT: background jobs of a non-interactive shell start with SIGINT ignored.
	for pid in "${TCPDUMP_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${TCPDUMP_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	for cp in "${CAPTURE_POINTS[@]}"; do
		read -r node ifc _ <<<"$cp"
		[[ -s $WORK/cap/$node-$ifc.pcap ]] || die "capture $node-$ifc is empty"
	done
}

# ---------------------------------------------------------------------------------------------
# Traffic and the run's record

# mark NAME [DETAIL]: a timeline event, time taken now.
mark() { printf '%s\t%s\t%s\n' "$1" "$(now)" "${2:-}" >>"$WORK/events.tsv"; }

# act NAME PHASE EXPECT CMD...: one client action; EXPECT is ok or fail. The command runs in
# clientvm; its exit status and first output line are recorded. A result that differs from the
# expectation makes the run invalid (the captures would not show what the README says).
act() {
	local name=$1 phase=$2 expect=$3; shift 3
	local t0 t1 rc=0 out
	t0=$(now)
	out=$(nsx clientvm "$@" 2>&1) || rc=$?
	t1=$(now)
	local result=ok
	((rc == 0)) || result=fail
	out=$(printf '%s' "$out" | tr '\t\n' '  ' | cut -c1-160)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$phase" "$t0" "$t1" "$expect" "$result" \
		"$rc" "$out" >>"$WORK/traffic.tsv"
	log "$name ($phase): $result (rc $rc) $out"
	[[ $result == "$expect" ]] || die "$name: expected $expect, got $result: $out"
}

http_get() { # NAME PHASE EXPECT PATH
	act "$1" "$2" "$3" curl -sS -m 4 --resolve "$PORTAL_NAME:$HTTP_VIP_PORT:$VIP" \
		-o /dev/null -w '%{http_code} %{size_download} bytes' --fail "http://$PORTAL_NAME$4"
}

udp_exchange() { # NAME PHASE EXPECT TEXT: one datagram from the fixed client port, echo expected
	act "$1" "$2" "$3" bash -c "set -o pipefail; r=\$(printf '%s\n' '$4' |
		socat -t 1 -T 2 - UDP4:$VIP:$UDP_PORT,sourceport=$UDP_CLIENT_PORT,reuseaddr) &&
		[[ \$r == '$4' ]] && echo \"echo: \$r\""
}

run_traffic() {
	local i
	# Phase 1: VIP announced.
	for i in 1 2 3; do http_get "http_get_$i" announced ok /; done
	act ping_1 announced ok ping -n -c 3 -i 0.2 -W 1 "$VIP"
	for i in 1 2 3; do udp_exchange "udp_$i" announced ok "stackflow udp $i"; done
	http_get bulk_get announced ok /bulk.bin
	tail -1 "$WORK/traffic.tsv" | grep -q "200 $BULK_BYTES bytes" || die "bulk transfer incomplete"
	http_get health_check announced ok /health
	sleep 1

	# Phase 2: the Mux withdraws the VIP; bgpvm drops the route and answers with ICMP net unreachable.
	mark vip_withdraw_command "birdc disable vip (muxvm)"
	birdc_at muxvm disable vip >/dev/null
	wait_route absent 15 || die "bgpvm kept the VIP route after the withdrawal"
	mark vip_route_removed "VIP /32 gone from bgpvm's kernel table"
	log "VIP withdrawn"
	http_get http_get_withdrawn withdrawn fail /
	act ping_withdrawn withdrawn fail ping -n -c 2 -i 0.3 -W 1 "$VIP"
	udp_exchange udp_withdrawn withdrawn fail "stackflow udp withdrawn"
	sleep 1

	# Phase 3: re-announced.
	mark vip_announce_command "birdc enable vip (muxvm)"
	birdc_at muxvm enable vip >/dev/null
	wait_route present 15 || die "bgpvm did not reinstall the VIP route"
	mark vip_route_reinstalled "VIP /32 back in bgpvm's kernel table"
	log "VIP re-announced"
	for i in 1 2; do http_get "http_get_reannounced_$i" reannounced ok /; done
	act ping_reannounced reannounced ok ping -n -c 3 -i 0.2 -W 1 "$VIP"
	udp_exchange udp_reannounced reannounced ok "stackflow udp again"
	sleep 1
}

# ---------------------------------------------------------------------------------------------
# Facts

dump_facts() { # ip -j views of every node, read after setup
	local n
	mkdir -p "$WORK/facts"
	for n in "${NODES[@]}"; do
		nsx "$n" ip -j -d link show >"$WORK/facts/$n-link.json"
		nsx "$n" ip -j addr show >"$WORK/facts/$n-addr.json"
		nsx "$n" ip -j route show >"$WORK/facts/$n-route.json"
	done
	nsx natvm iptables -t nat -S >"$WORK/facts/natvm-iptables.txt"
	nsx hostvm iptables -t nat -S >"$WORK/facts/hostvm-iptables.txt"
}

write_timeline() { # OUTFILE
	local cap_list=() cp node ifc link
	for cp in "${CAPTURE_POINTS[@]}"; do
		read -r node ifc link <<<"$cp"
		cap_list+=("$node|$ifc|$link|$WORK/cap/$node-$ifc.pcap")
	done
	local v
	local vars=(WORK="$WORK" NS_PREFIX="$P" NODES="${NODES[*]}")
	for v in VIP DIP NAT_OUT_IP NAT_PORTS VNI VXLAN_PORT ROUTER_AS MUX_AS BGP_SDN_IP MUX_IP \
		HOST_PA_IP TENANT_GW CLIENT_IP HTTP_VIP_PORT HTTP_DIP_PORT UDP_PORT UDP_CLIENT_PORT \
		HOLD_TIME KEEPALIVE_TIME SNAPLEN BULK_BYTES PORTAL_NAME UNDERLAY_MTU; do
		vars+=("$v=${!v}")
	done
	vars+=("KERNEL=$(uname -r)" "IPTABLES_VERSION=$(iptables --version)"
		"BIRD_VERSION=$(bird --version 2>&1)" "TCPDUMP_VERSION=$(tcpdump --version 2>&1 | sed -n 1p)"
		"BULK_SHA256=$(sha256sum "$WORK/www/bulk.bin" | cut -d' ' -f1)")
	env "${vars[@]}" \
		"$PYTHON" "$HERE/timeline.py" "${cap_list[@]}" >"$1"
}

# ---------------------------------------------------------------------------------------------

main() {
	case ${1:-} in
	-h | --help) usage; exit 0 ;;
	--cleanup)
		[[ $EUID -eq 0 ]] || die "run as root"
		local ns
		for ns in $(leftovers); do
			kill_ns_processes "$ns" KILL
			ip netns del "$ns" && log "removed $ns"
		done
		exit 0 ;;
	"") ;;
	*) usage >&2; exit 2 ;;
	esac
	[[ $EUID -eq 0 ]] || die "run as root (sudo $0)"
	check_tools
	# Debian's interpreter when present: version managers' shims (pyenv) start slowly.
	if [[ -x /usr/bin/python3 ]]; then PYTHON=/usr/bin/python3; else PYTHON=$(command -v python3); fi
	[[ -z $(leftovers) ]] || die "namespaces from an earlier run exist ($(leftovers | tr '\n' ' ')); run: $0 --cleanup"

	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	WORK=$(mktemp -d /tmp/stackflow-lab.XXXXXX)
	: >"$WORK/events.tsv"
	: >"$WORK/traffic.tsv"

	log "building the topology"
	build_topology
	write_bird_configs
	start_portal
	dump_facts

	log "starting captures"
	local first=${#PIDS[@]}
	start_captures
	TCPDUMP_PIDS=("${PIDS[@]:$first}")
	mark capture_start
	# SLB health prober stand-in: the host (first address of the tenant subnet) probes the DIP.
	start_bg "$WORK/prober.log" hostvm bash -c "for i in \$(seq 120); do
		curl -s -o /dev/null -m 1 http://$DIP:$HTTP_DIP_PORT/health; sleep 2; done"
	PROBER_PID=${PIDS[-1]}
	mark prober_start "http://$DIP:$HTTP_DIP_PORT/health every 2 s from $TENANT_GW"

	log "starting BGP (bgpvm AS $ROUTER_AS <-> muxvm AS $MUX_AS)"
	mark bird_start
	start_bird bgpvm
	start_bird muxvm
	wait_route present 30 || die "no BGP route to the VIP at bgpvm (see $WORK/bird-*.log)"
	mark vip_route_installed "first announcement installed at bgpvm"
	log "VIP announced: $(vip_route_at_bgpvm)"
	nsx bgpvm ip -j route show "$VIP/32" >"$WORK/facts/bgpvm-vip-route.json"
	birdc_at bgpvm show protocols all mux1 >"$WORK/facts/bgpvm-bird-protocol.txt"

	run_traffic

	# End the BGP session administratively: the Mux sends a NOTIFICATION (Cease).
	mark bgp_shutdown_command "birdc disable uplink (muxvm)"
	birdc_at muxvm disable uplink >/dev/null
	wait_route absent 15 || die "bgpvm kept the VIP route after the session ended"
	mark vip_route_removed_session_down "BGP session closed by the Mux"
	sleep 1 # let the last packets (NOTIFICATION, FIN/ACK, probes) reach every tcpdump
	kill -TERM "$PROBER_PID" 2>/dev/null || true
	mark capture_stop
	stop_captures

	log "writing $OUT"
	mkdir -p "$OUT"
	TMP_OUT=$(mktemp -d "$OUT/.new.XXXXXX")
	write_timeline "$TMP_OUT/timeline.json"
	local cp node ifc
	for cp in "${CAPTURE_POINTS[@]}"; do
		read -r node ifc _ <<<"$cp"
		gzip -9 -n -c "$WORK/cap/$node-$ifc.pcap" >"$TMP_OUT/$node-$ifc.pcap.gz"
	done
	rm -f "$OUT"/*.pcap.gz "$OUT/timeline.json"
	mv "$TMP_OUT"/* "$OUT"/
	rmdir "$TMP_OUT"
	TMP_OUT=""
	du -ch "$OUT"/*.pcap.gz | tail -1 | sed 's/^/captures: /' >&2
	log "done; verify with: samples/lab/verify.sh"
}

main "$@"
