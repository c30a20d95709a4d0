#!/usr/bin/env python3
"""Regenerate the tshark oracle for every capture in ../shared/captures.

Writes one <capture>.json per capture next to this script with what tshark 4.0.17 reports:
packets per interface, tunnel VNIs, BGP message counts by type, and announced/withdrawn prefix
counts. flows/tshark_test.go compares `stackflow analyze` against these files; the Go tests never
run tshark. Run from anywhere:  python3 flows/testdata/tshark/regen.py [captures-dir]
"""
import collections, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
CAPS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "captures")

# Ports tshark must be told about: stackflow decodes VXLAN on 4789 and 8472 by default.
DECODE_AS = ["-d", "udp.port==8472,vxlan"]

BGP_TYPES = {"1": "open", "2": "update", "3": "notification", "4": "keepalive", "5": "route_refresh"}
ANNOUNCE = ["bgp.nlri_prefix", "bgp.mp_reach_nlri_ipv4_prefix", "bgp.mp_reach_nlri_ipv6_prefix"]
WITHDRAW = ["bgp.withdrawn_prefix", "bgp.mp_unreach_nlri_ipv4_prefix", "bgp.mp_unreach_nlri_ipv6_prefix"]


def fields(path, *names, dfilter=None):
    cmd = ["tshark", "-n", "-r", path, *DECODE_AS, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]
    if dfilter:
        cmd += ["-Y", dfilter]
    for n in names:
        cmd += ["-e", n]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        cols = line.split("\t")
        rows.append([[v for v in c.split(",") if v] for c in cols] + [[]] * (len(names) - len(cols)))
    return rows


def version():
    out = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "unknown"


def one(path):
    exp = {"tshark": version()}
    rows = fields(path, "frame.interface_id", "vxlan.vni", "geneve.vni", "gre.key", "gre.proto", "bgp.type",
                  "frame.protocols")
    exp["packets"] = len(rows)
    per_if = collections.Counter(r[0][0] if r[0] else "0" for r in rows)
    exp["packets_per_interface"] = {k: per_if[k] for k in sorted(per_if, key=int)}
    vnis = {"vxlan": set(), "geneve": set(), "nvgre": set()}
    bgp = collections.Counter()
    bgp_packets = 0
    for r in rows:
        for v in r[1]:
            vnis["vxlan"].add(int(v, 0))
        for v in r[2]:
            vnis["geneve"].add(int(v, 0))
        # tshark has no NVGRE dissector: a keyed GRE carrying Transparent Ethernet Bridging is
        # NVGRE (RFC 7637), VSID = key >> 8.
        for key, proto in zip(r[3], r[4]):
            if int(proto, 0) == 0x6558:
                vnis["nvgre"].add(int(key, 0) >> 8)
        if r[5]:
            bgp_packets += 1
        for t in r[5]:
            bgp[BGP_TYPES.get(t, "type_" + t)] += 1
    exp["vnis"] = {k: sorted(v) for k, v in vnis.items() if v}
    if bgp:
        exp["bgp_messages"] = dict(sorted(bgp.items()))
        exp["bgp_packets"] = bgp_packets
        pre = fields(path, *ANNOUNCE, *WITHDRAW, dfilter="bgp")
        exp["bgp_announced"] = sum(len(c) for r in pre for c in r[: len(ANNOUNCE)])
        exp["bgp_withdrawn"] = sum(len(c) for r in pre for c in r[len(ANNOUNCE):])
    malformed = fields(path, "frame.number", dfilter="_ws.malformed || _ws.short")
    exp["malformed_frames"] = len(malformed)
    return exp


def main():
    names = sorted(n for n in os.listdir(CAPS) if n.endswith((".pcap", ".pcapng", ".gz")))
    for n in names:
        exp = one(os.path.join(CAPS, n))
        with open(os.path.join(HERE, n + ".json"), "w") as f:
            json.dump(exp, f, indent=1, sort_keys=True)
            f.write("\n")
        print(n, exp.get("packets"), exp.get("vnis"), exp.get("bgp_messages"))


if __name__ == "__main__":
    main()
