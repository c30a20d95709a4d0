// Package topo owns the diagrams: it turns a flows.Report, and nothing else, into a Graph (the
// topology of nodes, links, BGP sessions and VIP announcements, or one path hop by hop), writes
// that Graph as Graphviz DOT, and renders DOT to SVG with the Graphviz compiled into the binary.
// It never recomputes analysis and never imports a UI toolkit.
//
// # Topology (Build)
//
// Every report node is a box, coloured and shaped by its most specific role (mux, host, nat,
// router, dip, vip, server, client, prober, bgp_speaker), listing its roles and addresses. A path
// is cut into runs of consecutive hops made by one node (a lab captures each wire at both ends,
// so one node often owns two hops in a row); each run is the packet on its way from that node to
// the next run's node, or, for the last run, to the node owning the destination MAC, else the
// destination address (an "addr:IP" endpoint box when no node owns it). Links are summed per
// (from, to, kind) over all paths: packets per transform the sender applied, VNIs, loss, the
// capture points in path order, and the latency as the packet-weighted median of each path's
// time from the previous link to this one (the sum of the run's hop medians: through the sender
// and along the wire). Capture points are edge labels, not boxes: a point is where a link was
// observed, and boxes for them would double the graph and push the machines apart.
//
// Forward links are dark, return links grey; in a DSR return path the run that rewrote the
// source back to the VIP (the host) leaves on a dashed blue link that skips the Mux. A BGP
// session is a dashed link between the speakers (red when not established), and a speaker's /32
// announcement of a node's address a dotted arrow to that VIP, with announce/withdraw counts.
// BGP's own TCP paths are left out: the session link stands for them. Columns come from the
// links (forward: sender left of receiver; return: the other way), heaviest first, cycles
// ignored; a VIP stands in its speaker's column. So the chain ClientVM -> NATVM -> BGPVM ->
// MuxVM -> host -> PortalVM reads left to right.
//
// # One path (BuildPath)
//
// The forward path's hops are boxes left to right (capture point, innermost tuple, tunnel,
// transform, packets, latency, loss), between the conversation's two machines; the paired return
// path (the opposite-direction path sharing the most flow ids) runs right to left below it, each
// return hop under the forward hop seen at the same capture point.
//
// # DOT
//
// WriteDOT is deterministic. Report strings reach DOT and SVG only through clean: valid UTF-8,
// XML 1.0 characters, no line breaks, and a zero-width space after every backslash and before an
// entity-like "&name;" tail, because Graphviz expands \N, \G, \E inside HTML-like labels too and
// copies entity-like text into SVG unescaped. No HTML-label cell is ever empty: Graphviz 12 as
// embedded fails to render some graphs with an empty, unsized cell in an edge label (and
// go-graphviz then returns no SVG, or an unrelated "failed to read wasm memory" error).
//
// # SVG, and what linking Graphviz costs
//
// RenderSVG uses github.com/goccy/go-graphviz v0.2.10 (Graphviz 12.1.2 compiled to WebAssembly,
// run by wazero; no cgo, no external program). Its calls are serialised behind one mutex (the
// module is shared and not safe for concurrent use), each render grows the heap a little (render
// on demand), and only SVG and DOT are offered (its PNG output is broken). The font family in
// the SVG names Arial besides Helvetica, so that librsvg measures text as Graphviz did.
//
// The library compiles its WebAssembly module in an init function, so every stackflow command
// pays for it, not only diagram; it offers no lazy initialisation. Measured on the project's
// 2-core machine (Go 1.26.8, busy with other work), `stackflow version` and `stackflow analyze
// samples/azurestack-poc.pcapng`, before and after linking it:
//
//	                      without     with, warm cache        with, cold cache
//	version (wall)        3-5 ms      30-33 ms (+27 ms)       0.85-1.05 s (0.5-0.6 s CPU)
//	analyze PoC (wall)    10-13 ms    37-42 ms (+25-32 ms)    the same +0.5-1 s
//	peak RSS (version)    7.6 MB      23.5 MB                 53 MB
//	binary                13.6 MB     21.7 MB
//
// The warm cache is $TMPDIR/go-graphviz (5.9 MB, written by the first run); without a writable
// TMPDIR every run pays the cold cost. A warm start costs under the 60 ms the project allows for
// a library's start-up, so go-graphviz is linked unconditionally and SVG needs nothing
// installed. Rendering the PoC topology adds about 9 ms to diagram. Should the start-up cost grow,
// the fallback is to drop the library and run Debian's dot when present (DOT output needs
// neither).
package topo
