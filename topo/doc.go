// Package topo owns the diagrams: it turns a flows.Report, and nothing else, into a Graph (the
// topology of nodes, links, BGP sessions and VIP announcements, or one path hop by hop), writes
// that Graph as Graphviz DOT, and renders DOT to SVG with the Graphviz compiled into the binary.
package topo
