package decode

import (
	"fmt"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/ip6defrag"
	"github.com/gopacket/gopacket/layers"
)

// Defragmenter reassembles IP fragments into whole datagrams, for the few consumers that need
// them (e.g. to decode a fragmented tunnel or DNS response). It wraps gopacket's ip4defrag and
// ip6defrag, which keep every fragment, so it copies the bytes it is given and allocates per
// fragment; fragments are rare, and the Decoder's hot path never calls it. Not safe for
// concurrent use.
type Defragmenter struct {
	v4 *ip4defrag.IPv4Defragmenter
	v6 *ip6defrag.IPv6Defragmenter
	// ip6defrag stamps fragments with the wall clock; these map capture time onto it.
	lastWall time.Time
	lastPkt  int64
}

// NewDefragmenter returns an empty Defragmenter.
func NewDefragmenter() *Defragmenter {
	return &Defragmenter{v4: ip4defrag.NewIPv4Defragmenter(), v6: ip6defrag.NewIPv6Defragmenter()}
}

// Add offers the fragment in pkt, which Decode filled from data. When it completes a datagram,
// Add returns the whole IP packet (header and payload, flags cleared, no fragment header,
// IPv4 checksum recomputed) in a new slice and ok = true; decode it with LinkTypeRaw. A packet
// that is not a fragment, or a fragment still waiting for others, gives ok = false. err
// reports fragments that contradict each other (overlaps, oversize); their datagram is dropped,
// as a receiving host does.
func (f *Defragmenter) Add(pkt *Packet, data []byte) (whole []byte, ok bool, err error) {
	if !pkt.HasIP || pkt.Layers&HasFragment == 0 || int(pkt.IPOffset) >= len(data) {
		return nil, false, nil
	}
	ip := slices.Clone(data[pkt.IPOffset:])
	f.lastWall, f.lastPkt = time.Now(), pkt.Time
	switch pkt.IPVersion {
	case 4:
		return f.add4(ip, pkt)
	case 6:
		return f.add6(ip)
	}
	return nil, false, nil
}

func (f *Defragmenter) add4(b []byte, pkt *Packet) ([]byte, bool, error) {
	in := new(layers.IPv4)
	if err := in.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		return nil, false, fmt.Errorf("defragment ipv4 at byte %d: %w", pkt.IPOffset, err)
	}
	out, err := f.v4.DefragIPv4WithTimestamp(in, time.Unix(0, pkt.Time))
	if err != nil || out == nil {
		if err != nil {
			err = fmt.Errorf("defragment ipv4 id %d: %w", pkt.IPID, err)
		}
		return nil, false, err
	}
	return serialize(out, out.Payload)
}

func (f *Defragmenter) add6(b []byte) ([]byte, bool, error) {
	ip := new(layers.IPv6)
	if err := ip.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		return nil, false, fmt.Errorf("defragment ipv6: %w", err)
	}
	// walk the extension headers to the fragment header
	next, rest := ip.NextHeader, ip.Payload
	if ip.HopByHop != nil {
		next = ip.HopByHop.NextHeader
	}
	for range 8 {
		switch next {
		case layers.IPProtocolIPv6Fragment:
			frag := new(layers.IPv6Fragment)
			if err := frag.DecodeFromBytes(rest, gopacket.NilDecodeFeedback); err != nil {
				return nil, false, fmt.Errorf("defragment ipv6: %w", err)
			}
			out := f.v6.DefragIPv6(ip, frag)
			if out == nil {
				return nil, false, nil
			}
			return serialize(out, out.Payload)
		case layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination:
			var ext layers.IPv6ExtensionSkipper
			if err := ext.DecodeFromBytes(rest, gopacket.NilDecodeFeedback); err != nil {
				return nil, false, fmt.Errorf("defragment ipv6: %w", err)
			}
			next, rest = ext.NextHeader, ext.Payload
		default:
			return nil, false, nil
		}
	}
	return nil, false, nil
}

// serialize writes an IP layer built by the defragmenters with its payload.
func serialize(ip gopacket.SerializableLayer, payload []byte) ([]byte, bool, error) {
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ip, gopacket.Payload(payload)); err != nil {
		return nil, false, fmt.Errorf("defragment: rebuild datagram: %w", err)
	}
	return buf.Bytes(), true, nil
}

// DiscardOlderThan forgets incomplete datagrams whose fragments are older than t, a capture
// timestamp, and returns how many it dropped. Call it now and then (e.g. once per second of
// capture time) to bound memory on captures with lost fragments.
func (f *Defragmenter) DiscardOlderThan(t time.Time) int {
	n := f.v4.DiscardOlderThan(t)
	if !f.lastWall.IsZero() {
		// ip6defrag stamped its fragments with the wall clock at Add
		n += f.v6.DiscardOlderThan(f.lastWall.Add(t.Sub(time.Unix(0, f.lastPkt))))
	}
	return n
}
