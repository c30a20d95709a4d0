package flows

import (
	"net/netip"
	"slices"
)

// prefixSet is a set of prefixes answering longest-prefix-match queries in time proportional to
// the number of distinct prefix lengths it holds (a handful in practice), so a full table's
// withdrawal neither slows each packet down nor costs quadratic time to build.
type prefixSet struct {
	byLen map[int]map[netip.Prefix]struct{} // prefix length (IPv6 lengths offset by 64) -> prefixes
	lens  []int                             // the keys of byLen, longest first
	n     int
}

func lenKey(p netip.Prefix) int {
	if p.Addr().Is6() {
		return p.Bits() + 64 // keeps IPv6 lengths apart from IPv4 ones
	}
	return p.Bits()
}

func (s *prefixSet) len() int { return s.n }

func (s *prefixSet) has(p netip.Prefix) bool {
	_, ok := s.byLen[lenKey(p)][p]
	return ok
}

func (s *prefixSet) add(p netip.Prefix) {
	if s.has(p) {
		return
	}
	if s.byLen == nil {
		s.byLen = map[int]map[netip.Prefix]struct{}{}
	}
	k := lenKey(p)
	m := s.byLen[k]
	if m == nil {
		m = map[netip.Prefix]struct{}{}
		s.byLen[k] = m
		s.lens = append(s.lens, k)
		slices.SortFunc(s.lens, func(a, b int) int { return b - a })
	}
	m[p] = struct{}{}
	s.n++
}

func (s *prefixSet) remove(p netip.Prefix) {
	if !s.has(p) {
		return
	}
	k := lenKey(p)
	delete(s.byLen[k], p)
	s.n--
	if len(s.byLen[k]) == 0 {
		delete(s.byLen, k)
		s.lens = slices.DeleteFunc(s.lens, func(x int) bool { return x == k })
	}
}

// match returns the longest prefix in the set that contains a.
func (s *prefixSet) match(a netip.Addr) (netip.Prefix, bool) {
	if s.n == 0 {
		return netip.Prefix{}, false
	}
	for _, k := range s.lens {
		bits := k
		switch {
		case a.Is6() && k < 64, !a.Is6() && k > 32:
			continue // the other family's lengths
		case a.Is6():
			bits = k - 64
		}
		p, err := a.Prefix(bits)
		if err != nil {
			continue
		}
		if _, ok := s.byLen[k][p]; ok {
			return p, true
		}
	}
	return netip.Prefix{}, false
}
