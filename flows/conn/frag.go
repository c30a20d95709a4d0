package conn

import "github.com/stackflow/stackflow/decode"

// Non-first fragments carry no transport header, so no ports. When a datagram's first fragment
// was seen, its later fragments join the first fragment's flow: the table remembers
// (point, VNI, src, dst, protocol, IP id) -> flow key for the first fragments of the last
// Timeouts.Fragment of capture time, at most Config.MaxFragments of them (a ring: the oldest is
// forgotten first). A later fragment without its first fragment goes to a portless flow of its
// address pair and protocol.

// DefaultMaxFragments is how many first fragments the table remembers by default.
const DefaultMaxFragments = 1024

// fragKey names one datagram's fragments. It has no padding, so it hashes as one block.
type fragKey struct {
	src, dst [16]byte
	id       uint32
	point    uint32
	vni      uint32
	proto    uint8
	hasVNI   bool
	reserved uint16
}

type fragEntry struct {
	fk   fragKey
	key  Key
	time int64
	fwd  bool
}

// fragTable is a bounded ring of remembered first fragments with an index.
type fragTable struct {
	index   map[fragKey]int32
	ring    []fragEntry
	head, n int
	max     int
	timeout int64
}

func makeFragKey(p *decode.Packet, vni uint32, hasVNI bool) fragKey {
	fk := fragKey{
		src: p.Inner.Src.As16(), dst: p.Inner.Dst.As16(),
		id: p.IPID, point: uint32(p.Point), proto: p.Inner.Proto, hasVNI: hasVNI,
	}
	if hasVNI {
		fk.vni = vni
	}
	return fk
}

// remember records that fk's datagram belongs to flow key k (forward as given).
func (ft *fragTable) remember(fk fragKey, k Key, fwd bool, now int64) {
	if ft.max <= 0 {
		return
	}
	if ft.ring == nil {
		ft.ring = make([]fragEntry, ft.max)
		ft.index = make(map[fragKey]int32, ft.max)
	}
	if slot, ok := ft.index[fk]; ok {
		ft.ring[slot] = fragEntry{fk: fk, key: k, time: now, fwd: fwd}
		return
	}
	if ft.n == ft.max {
		ft.drop()
	}
	slot := (ft.head + ft.n) % ft.max
	ft.ring[slot] = fragEntry{fk: fk, key: k, time: now, fwd: fwd}
	ft.index[fk] = int32(slot)
	ft.n++
}

// lookup returns the flow key of fk's first fragment if it was seen within the timeout.
func (ft *fragTable) lookup(fk fragKey, now int64) (Key, bool, bool) {
	slot, ok := ft.index[fk]
	if !ok {
		return Key{}, false, false
	}
	e := &ft.ring[slot]
	if now-e.time > ft.timeout {
		return Key{}, false, false
	}
	return e.key, e.fwd, true
}

// drop forgets the oldest entry.
func (ft *fragTable) drop() {
	e := &ft.ring[ft.head]
	if slot, ok := ft.index[e.fk]; ok && int(slot) == ft.head {
		delete(ft.index, e.fk)
	}
	*e = fragEntry{}
	ft.head = (ft.head + 1) % ft.max
	ft.n--
}

// expire forgets entries older than the timeout.
func (ft *fragTable) expire(now int64) {
	for ft.n > 0 && now-ft.ring[ft.head].time > ft.timeout {
		ft.drop()
	}
}

// len returns how many first fragments are remembered.
func (ft *fragTable) len() int { return len(ft.index) }
