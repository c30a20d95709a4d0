#!/usr/bin/env python3
"""Write the lab run's facts as JSON (samples/lab/captures/timeline.json).

Called by record.sh only: it reads the run's scratch folder ($WORK: events.tsv, traffic.tsv and
the `ip -j` dumps under facts/) and the plan's constants from the environment; each argument is
one capture point as "node|interface|link description|raw pcap path". Standard library only.
"""
import datetime
import json
import os
import sys

SCHEMA = "stackflow.lab-timeline/v1"


def env(name):
    value = os.environ.get(name)
    if value is None:
        sys.exit(f"timeline.py: environment variable {name!r} is not set")
    return value


def rfc3339(epoch):
    """'1700000000.123456789' -> '2023-11-14T22:13:20.123456789Z' without losing nanoseconds."""
    sec, _, frac = epoch.partition(".")
    frac = (frac + "000000000")[:9]
    t = datetime.datetime.fromtimestamp(int(sec), tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + "." + frac + "Z"


def stamp(epoch):
    return {"time": rfc3339(epoch), "epoch": epoch}


def read_tsv(path, columns):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            fields = line.split("\t")
            fields += [""] * (len(columns) - len(fields))
            rows.append(dict(zip(columns, fields)))
    return rows


def count_records(path):
    """Number of records in a classic pcap file (either byte order, us or ns timestamps)."""
    with open(path, "rb") as f:
        header = f.read(24)
        if len(header) < 24:
            sys.exit(f"timeline.py: {path!r}: short pcap header")
        magic = header[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            order = "little"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            order = "big"
        else:
            sys.exit(f"timeline.py: {path!r}: not a pcap file (magic {magic.hex()})")
        count = 0
        while True:
            rec = f.read(16)
            if not rec:
                return count
            if len(rec) < 16:
                sys.exit(f"timeline.py: {path!r}: truncated record header after record {count}")
            incl = int.from_bytes(rec[8:12], order)
            data = f.read(incl)
            if len(data) < incl:
                sys.exit(f"timeline.py: {path!r}: truncated record {count + 1}")
            count += 1


def load(work, name):
    with open(os.path.join(work, "facts", name), encoding="utf-8") as f:
        return json.load(f)


def node_facts(work, prefix, node, points):
    links = {l["ifname"]: l for l in load(work, f"{node}-link.json")}
    addrs = {a["ifname"]: a for a in load(work, f"{node}-addr.json")}
    interfaces = []
    for name, link in links.items():
        if name == "lo":
            continue
        info = link.get("linkinfo", {})
        iface = {
            "name": name,
            "mac": link.get("address"),
            "mtu": link.get("mtu"),
            "kind": info.get("info_kind", "ethernet"),
            "addresses": [
                f'{a["local"]}/{a["prefixlen"]}'
                for a in addrs.get(name, {}).get("addr_info", [])
                if a.get("family") == "inet"
            ],
        }
        data = info.get("info_data", {})
        if iface["kind"] == "vxlan":
            iface["vxlan"] = {
                "vni": data.get("id"),
                "local": data.get("local"),
                "remote": data.get("remote"),
                "port": data.get("port"),
            }
        if link.get("master"):
            iface["master"] = link["master"]
        point = f"{node}-{name}"
        if point in points:
            iface["capture_point"] = point
        interfaces.append(iface)
    routes = [
        {k: r[k] for k in ("dst", "gateway", "dev", "protocol") if k in r}
        for r in load(work, f"{node}-route.json")
    ]
    return {"name": node, "namespace": prefix + node, "interfaces": interfaces, "routes": routes}


def main(argv):
    work = env("WORK")
    prefix = env("NS_PREFIX")
    points = []
    for arg in argv:
        node, iface, link, pcap = arg.split("|")
        points.append({
            "id": f"{node}-{iface}",
            "file": f"{node}-{iface}.pcap.gz",
            "node": node,
            "interface": iface,
            "link": link,
            "packets": count_records(pcap),
        })
    by_id = {p["id"]: p for p in points}
    nodes = [node_facts(work, prefix, n, by_id) for n in env("NODES").split()]
    for n in nodes:
        for i in n["interfaces"]:
            if "capture_point" in i:
                by_id[i["capture_point"]]["mac"] = i["mac"]

    events = []
    for e in read_tsv(os.path.join(work, "events.tsv"), ["name", "epoch", "detail"]):
        ev = {"name": e["name"], **stamp(e["epoch"])}
        if e["detail"]:
            ev["detail"] = e["detail"]
        events.append(ev)
    first = {}
    for e in events:
        first.setdefault(e["name"], e)

    traffic = []
    for t in read_tsv(os.path.join(work, "traffic.tsv"),
                      ["name", "phase", "start", "end", "expect", "result", "rc", "output"]):
        traffic.append({
            "name": t["name"],
            "phase": t["phase"],
            "start": rfc3339(t["start"]),
            "end": rfc3339(t["end"]),
            "start_epoch": t["start"],
            "end_epoch": t["end"],
            "expect": t["expect"],
            "result": t["result"],
            "exit_code": int(t["rc"]),
            "output": t["output"],
        })

    def span(a, b):
        return {"from": first[a]["time"], "to": first[b]["time"],
                "from_epoch": first[a]["epoch"], "to_epoch": first[b]["epoch"]}

    vip, dip = env("VIP"), env("DIP")
    lo, hi = env("NAT_PORTS").split("-")
    doc = {
        "schema": SCHEMA,
        "generator": "samples/lab/record.sh",
        "environment": {
            "kernel": env("KERNEL"),
            "iptables": env("IPTABLES_VERSION"),
            "bird": env("BIRD_VERSION"),
            "tcpdump": env("TCPDUMP_VERSION"),
        },
        "clock": "one kernel: every capture point and event shares CLOCK_REALTIME (offset 0)",
        "snaplen": int(env("SNAPLEN")),
        "timestamp_precision": "ns",
        "vip": vip,
        "dip": dip,
        "client": env("CLIENT_IP"),
        "nat": {
            "node": "natvm",
            "kind": "snat",
            "inside_subnet": "192.168.200.0/24",
            "public": env("NAT_OUT_IP"),
            "port_range": [int(lo), int(hi)],
        },
        "services": [
            {"name": "http", "proto": "tcp", "host": env("PORTAL_NAME"),
             "vip": f'{vip}:{env("HTTP_VIP_PORT")}', "dip": f'{dip}:{env("HTTP_DIP_PORT")}'},
            {"name": "udp-echo", "proto": "udp", "client_port": int(env("UDP_CLIENT_PORT")),
             "vip": f'{vip}:{env("UDP_PORT")}', "dip": f'{dip}:{env("UDP_PORT")}'},
            {"name": "icmp-echo", "proto": "icmp", "vip": vip, "dip": dip},
        ],
        "vxlan": {
            "vni": int(env("VNI")),
            "port": int(env("VXLAN_PORT")),
            "encapsulator": "muxvm",
            "outer_src": env("MUX_IP"),
            "decapsulator": "hostvm",
            "outer_dst": env("HOST_PA_IP"),
            "underlay_mtu": int(env("UNDERLAY_MTU")),
        },
        "bgp": {
            "prefix": f"{vip}/32",
            "installed_route": load(work, "bgpvm-vip-route.json"),
            "next_hop": env("MUX_IP"),
            "hold_time": int(env("HOLD_TIME")),
            "keepalive_time": int(env("KEEPALIVE_TIME")),
            "speakers": [
                {"node": "bgpvm", "role": "router", "address": env("BGP_SDN_IP"),
                 "asn": int(env("ROUTER_AS")), "router_id": env("BGP_SDN_IP")},
                {"node": "muxvm", "role": "mux", "address": env("MUX_IP"),
                 "asn": int(env("MUX_AS")), "router_id": env("MUX_IP")},
            ],
        },
        "iptables_nat_rules": {
            node: [l for l in open(os.path.join(work, "facts", f"{node}-iptables.txt"),
                                   encoding="utf-8").read().splitlines() if l.startswith("-A")]
            for node in ("natvm", "hostvm")
        },
        "dsr": {"return_via": "hostvm pa0 -> bgpvm sdn0", "never_crosses": "muxvm-eth0"},
        "prober": {"node": "hostvm", "src": env("TENANT_GW"),
                   "target": f'{dip}:{env("HTTP_DIP_PORT")}', "path": "/health", "interval_s": 2},
        "bulk": {"path": "/bulk.bin", "bytes": int(env("BULK_BYTES")), "sha256": env("BULK_SHA256")},
        "phases": {
            "announced": span("vip_route_installed", "vip_withdraw_command"),
            "withdrawn": span("vip_withdraw_command", "vip_route_reinstalled"),
            "reannounced": span("vip_route_reinstalled", "bgp_shutdown_command"),
        },
        "events": events,
        "traffic": traffic,
        "capture_points": points,
        "nodes": nodes,
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
