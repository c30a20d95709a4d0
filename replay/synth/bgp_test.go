package synth

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// bgpStream is one direction of a TCP/179 connection rebuilt from the frames.
type bgpStream struct {
	next    uint32
	started bool
	buf     []byte
	msgs    []*bgp.BGPMessage
	times   []int64 // time of the frame completing each message
}

// bgpMessagesAt reassembles every TCP/179 direction at a point and parses the messages with
// gobgp, the oracle for our serialization.
func bgpMessagesAt(t *testing.T, sink *memSink, point string) map[string]*bgpStream {
	t.Helper()
	streams := map[string]*bgpStream{}
	for _, f := range sink.frames {
		if f.point != point {
			continue
		}
		d := decodeFrame(t, f.data)
		if d.tcp == nil || d.tcp.SrcPort != 179 && d.tcp.DstPort != 179 {
			continue
		}
		key := fmt.Sprintf("%v:%d>%v:%d", d.inner.SrcIP, d.tcp.SrcPort, d.inner.DstIP, d.tcp.DstPort)
		st := streams[key]
		if st == nil {
			st = &bgpStream{}
			streams[key] = st
		}
		if d.tcp.SYN {
			st.next, st.started = d.tcp.Seq+1, true
			continue
		}
		data := d.tcp.Payload
		if !st.started || len(data) == 0 {
			continue
		}
		off := d.tcp.Seq - st.next
		if int32(off) > 0 {
			t.Fatalf("%s: gap before seq %d", key, d.tcp.Seq)
		}
		skip := uint32(-int32(off))
		if skip >= uint32(len(data)) {
			continue // a retransmission of what we have
		}
		st.buf = append(st.buf, data[skip:]...)
		st.next += uint32(len(data)) - skip
		for len(st.buf) >= 19 {
			n := int(binary.BigEndian.Uint16(st.buf[16:]))
			if n < 19 || len(st.buf) < n {
				break
			}
			m, err := bgp.ParseBGPMessage(st.buf[:n])
			if err != nil {
				t.Fatalf("%s: gobgp cannot parse %x: %v", key, st.buf[:n], err)
			}
			st.msgs = append(st.msgs, m)
			st.times = append(st.times, f.time)
			st.buf = st.buf[n:]
		}
	}
	return streams
}

// TestBGPMessagesParse: every message on the peering link parses with gobgp; OPENs carry the
// ASNs, hold time, router ids and capabilities of the scenario; the UPDATE announces the VIP
// /32 with ORIGIN IGP, AS_PATH [64628] and NEXT_HOP = the Mux; keepalives follow the hold time.
func TestBGPMessagesParse(t *testing.T) {
	sc := loadSample(t, "azurestack-poc.yaml")
	sink, tr := generate(t, sc, Options{})
	streams := bgpMessagesAt(t, sink, "bgp-mux")
	mux := streams["192.168.100.4:50041>192.168.100.1:179"]
	router := streams["192.168.100.1:179>192.168.100.4:50041"]
	if mux == nil || router == nil {
		var keys []string
		for k := range streams {
			keys = append(keys, k)
		}
		t.Fatalf("streams %v", keys)
	}
	for _, c := range []struct {
		name     string
		st       *bgpStream
		asn      uint32
		id       string
		updates  int
		minAlive int
	}{
		{"mux", mux, 64628, "192.168.100.4", 1, 5},
		{"router", router, 64623, "192.168.201.1", 0, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			counts := map[uint8]int{}
			for _, m := range c.st.msgs {
				counts[m.Header.Type]++
			}
			if counts[bgp.BGP_MSG_OPEN] != 1 || counts[bgp.BGP_MSG_UPDATE] != c.updates ||
				counts[bgp.BGP_MSG_KEEPALIVE] < c.minAlive {
				t.Fatalf("message counts %v", counts)
			}
			open := c.st.msgs[0].Body.(*bgp.BGPOpen)
			if open.MyAS != uint16(c.asn) || open.HoldTime != 30 || open.ID.String() != c.id {
				t.Errorf("OPEN as %d hold %d id %v", open.MyAS, open.HoldTime, open.ID)
			}
			caps := map[bgp.BGPCapabilityCode]bgp.ParameterCapabilityInterface{}
			for _, p := range open.OptParams {
				if pc, ok := p.(*bgp.OptionParameterCapability); ok {
					for _, cp := range pc.Capability {
						caps[cp.Code()] = cp
					}
				}
			}
			as4, ok := caps[bgp.BGP_CAP_FOUR_OCTET_AS_NUMBER].(*bgp.CapFourOctetASNumber)
			if !ok || as4.CapValue != c.asn {
				t.Errorf("4-octet AS capability %v", caps[bgp.BGP_CAP_FOUR_OCTET_AS_NUMBER])
			}
			if mp, ok := caps[bgp.BGP_CAP_MULTIPROTOCOL].(*bgp.CapMultiProtocol); !ok || mp.CapValue != bgp.RF_IPv4_UC {
				t.Errorf("multiprotocol capability %v", caps[bgp.BGP_CAP_MULTIPROTOCOL])
			}
			if _, ok := caps[bgp.BGP_CAP_ROUTE_REFRESH]; !ok {
				t.Error("no route-refresh capability")
			}
		})
	}
	var upd *bgp.BGPUpdate
	for _, m := range mux.msgs {
		if u, ok := m.Body.(*bgp.BGPUpdate); ok {
			upd = u
		}
	}
	if len(upd.NLRI) != 1 || upd.NLRI[0].NLRI.String() != "192.168.102.4/32" {
		t.Fatalf("NLRI %v", upd.NLRI)
	}
	attrs := map[bgp.BGPAttrType]string{}
	for _, a := range upd.PathAttributes {
		attrs[a.GetType()] = a.String()
	}
	for typ, want := range map[bgp.BGPAttrType]string{
		bgp.BGP_ATTR_TYPE_ORIGIN:   "{Origin: i}",
		bgp.BGP_ATTR_TYPE_AS_PATH:  "{AsPath: 64628}",
		bgp.BGP_ATTR_TYPE_NEXT_HOP: "{Nexthop: 192.168.100.4}",
	} {
		if attrs[typ] != want {
			t.Errorf("attribute %v = %q, want %q", typ, attrs[typ], want)
		}
	}
	// The truth names the same announcement.
	if len(tr.BGP.Routes) != 1 || tr.BGP.Routes[0].Prefix != "192.168.102.4/32" || tr.BGP.Routes[0].Event != "announce" ||
		tr.BGP.Routes[0].NextHop != "192.168.100.4" || tr.BGP.Routes[0].Point != "bgp-mux" {
		t.Errorf("truth routes %+v", tr.BGP.Routes)
	}
	// Keepalives come at most every hold/3 (10 s) with jitter, never faster than 7.5 s.
	var last int64
	for i, m := range mux.msgs {
		if m.Header.Type != bgp.BGP_MSG_KEEPALIVE || i < 2 {
			continue
		}
		if last != 0 {
			if gap := mux.times[i] - last; gap < 7_500_000_000 || gap > 10_000_000_000 {
				t.Errorf("keepalive gap %d ns", gap)
			}
		}
		last = mux.times[i]
	}
}

// TestBGPWithdrawAndReset: the withdrawn-VIP scenario's UPDATEs and NOTIFICATION parse, the
// router stops forwarding exactly while the route is gone, and the truth times match.
func TestBGPWithdrawAndReset(t *testing.T) {
	sc := loadSample(t, "fault-vip-withdrawn.yaml")
	sink, tr := generate(t, sc, Options{})
	var events []string
	for _, st := range bgpMessagesAt(t, sink, "bgp-mux") {
		for _, m := range st.msgs {
			switch b := m.Body.(type) {
			case *bgp.BGPUpdate:
				for _, w := range b.WithdrawnRoutes {
					events = append(events, "withdraw "+w.NLRI.String())
				}
				for _, n := range b.NLRI {
					events = append(events, "announce "+n.NLRI.String())
				}
			case *bgp.BGPNotification:
				events = append(events, fmt.Sprintf("notification %d/%d", b.ErrorCode, b.ErrorSubcode))
			}
		}
	}
	want := map[string]int{"announce 192.168.102.4/32": 3, "withdraw 192.168.102.4/32": 1, "notification 6/4": 1}
	got := map[string]int{}
	for _, e := range events {
		got[e]++
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("bgp events %v, want %v", got, want)
	}
	if len(tr.BGP.Routes) != 4 {
		t.Fatalf("truth routes %+v", tr.BGP.Routes)
	}
	s := tr.BGP.Sessions[0]
	if s.Connections != 2 || len(s.Established) != 2 || len(s.Closed) != 1 || s.Messages["notification"] != 1 {
		t.Errorf("session %+v", s)
	}
	// Every packet the router could not route arrived while the route was withdrawn
	// (20s..32s) or while the session was down (45s..~49s).
	withdraw, announce := tr.BGP.Routes[1].Time, tr.BGP.Routes[2].Time
	if len(tr.WithdrawnTraffic) == 0 {
		t.Fatal("no traffic to the withdrawn VIP")
	}
	for _, w := range tr.WithdrawnTraffic {
		inWindow := w.Time > withdraw && w.Time < announce || w.Time > s.Closed[0] && w.Time < s.Established[1]
		if !inWindow || w.Router != "BGPVM" || w.Point != "nat-bgp" {
			t.Errorf("withdrawn traffic %+v outside [%s, %s] and the reset", w, withdraw, announce)
		}
	}
}
