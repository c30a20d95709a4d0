package topo

import (
	"cmp"
	"slices"
)

// placeColumns gives every node on a traffic edge a column so that traffic flows left to right:
// a forward edge puts its sender left of its receiver, a return edge the other way round. The
// heaviest edges decide first; an edge that would close a cycle is ignored. A node announced as a
// VIP shares its speaker's column; nodes tied to nothing keep -1 and the layout places them.
func placeColumns(g *Graph, announces []Edge) {
	idx := map[string]int{}
	for i := range g.Nodes {
		idx[g.Nodes[i].ID] = i
	}
	type arc struct {
		u, v, w, order int
	}
	var arcs []arc
	for i, e := range g.Edges {
		u, okU := idx[e.From]
		v, okV := idx[e.To]
		if !okU || !okV || u == v {
			continue
		}
		switch e.Kind {
		case EdgeForward:
			arcs = append(arcs, arc{u, v, e.Packets, i})
		case EdgeReturn, EdgeDSR:
			arcs = append(arcs, arc{v, u, e.Packets, i})
		}
	}
	slices.SortStableFunc(arcs, func(a, b arc) int { return cmp.Or(cmp.Compare(b.w, a.w), cmp.Compare(a.order, b.order)) })
	succ := make([][]int, len(g.Nodes))
	used := make([]bool, len(g.Nodes))
	reach := func(from, to int) bool {
		seen := make([]bool, len(g.Nodes))
		stack := []int{from}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n == to {
				return true
			}
			if seen[n] {
				continue
			}
			seen[n] = true
			stack = append(stack, succ[n]...)
		}
		return false
	}
	for _, a := range arcs {
		if slices.Contains(succ[a.u], a.v) || reach(a.v, a.u) {
			continue
		}
		succ[a.u] = append(succ[a.u], a.v)
		used[a.u], used[a.v] = true, true
	}
	// Longest path from the sources, in a topological order that prefers report order.
	indeg := make([]int, len(g.Nodes))
	for u := range succ {
		for _, v := range succ[u] {
			indeg[v]++
		}
	}
	col := make([]int, len(g.Nodes))
	var ready []int
	for i := range g.Nodes {
		if used[i] && indeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	for len(ready) > 0 {
		u := ready[0]
		ready = ready[1:]
		for _, v := range succ[u] {
			col[v] = max(col[v], col[u]+1)
			if indeg[v]--; indeg[v] == 0 {
				ready = append(ready, v)
			}
		}
	}
	for i := range g.Nodes {
		g.Nodes[i].Column = -1
		if used[i] {
			g.Nodes[i].Column = col[i]
		}
	}
	for _, e := range announces {
		f, okF := idx[e.From]
		t, okT := idx[e.To]
		if okF && okT && g.Nodes[t].Column < 0 && g.Nodes[f].Column >= 0 {
			g.Nodes[t].Column = g.Nodes[f].Column
		}
	}
}

// sortGraph orders nodes by column (unplaced last), keeping the builder's order among equals,
// and edges by kind, then by their ends' positions: the same report always gives the same DOT.
func sortGraph(g *Graph) {
	slices.SortStableFunc(g.Nodes, func(a, b Node) int {
		return cmp.Compare(colKey(a.Column), colKey(b.Column))
	})
	pos := map[string]int{}
	for i := range g.Nodes {
		pos[g.Nodes[i].ID] = i
	}
	slices.SortStableFunc(g.Edges, func(a, b Edge) int {
		return cmp.Or(
			cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(min(pos[a.From], pos[a.To]), min(pos[b.From], pos[b.To])),
			cmp.Compare(pos[a.From], pos[b.From]),
			cmp.Compare(pos[a.To], pos[b.To]),
		)
	})
}

func colKey(c int) int {
	if c < 0 {
		return 1 << 30
	}
	return c
}
