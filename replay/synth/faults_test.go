package synth

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stackflow/stackflow/internal/testenv"
)

func conversation(t *testing.T, tr *Truth, name string) TruthConversation {
	t.Helper()
	for _, c := range tr.Conversations {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no conversation %q", name)
	return TruthConversation{}
}

// TestFaultMTUBlackhole: full-size packets die at the Mux because the provider link cannot
// carry them encapsulated; nothing larger than the MTU is ever written there; small
// exchanges still work, uploads never complete.
func TestFaultMTUBlackhole(t *testing.T) {
	sc := loadSample(t, "fault-mtu-blackhole.yaml")
	sink, tr := generate(t, sc, Options{})
	if len(tr.Drops) == 0 {
		t.Fatal("no drops")
	}
	for _, d := range tr.Drops {
		if d.Node != "MuxVM" || !strings.HasPrefix(d.Reason, "mtu: ") || d.AfterPoint != "bgp-mux" {
			t.Errorf("drop %+v", d)
		}
	}
	for i, f := range sink.frames {
		if f.point == "mux-host" && len(f.data) > 14+1500 {
			t.Errorf("frame %d: %d bytes on a 1500-byte link", i+1, len(f.data))
		}
	}
	if c := conversation(t, tr, "portal-upload"); c.Completed != 0 {
		t.Errorf("uploads completed through a blackhole: %+v", c)
	}
	if c := conversation(t, tr, "portal-get"); c.Completed != c.Instances || c.Instances == 0 {
		t.Errorf("downloads (DSR, never encapsulated large) failed: %+v", c)
	}
	if c := conversation(t, tr, "ping-large"); c.Completed != 0 {
		t.Errorf("1500-byte pings answered: %+v", c)
	}
}

// TestFaultMTUFragNeeded: the Mux reports the MTU, the NAT translates the ICMP error back to
// the client (quoted header included), the client lowers its MSS and the uploads complete.
func TestFaultMTUFragNeeded(t *testing.T) {
	sc := loadSample(t, "fault-mtu-fragneeded.yaml")
	sink, tr := generate(t, sc, Options{})
	if c := conversation(t, tr, "portal-upload"); c.Completed != c.Instances || c.Instances != 3 {
		t.Errorf("uploads after PMTU discovery: %+v", c)
	}
	errors := 0
	for _, j := range tr.Journeys {
		if !strings.HasPrefix(j.Summary, "frag-needed mtu 1450") {
			continue
		}
		errors++
		if j.Cause == 0 || tr.Journeys[j.Cause-1].Drop == nil {
			t.Errorf("journey %d: cause %d is not a dropped packet", j.ID, j.Cause)
		}
		last := j.Observations[len(j.Observations)-1]
		if last.Point != "client-nat" || last.Dst != "192.168.200.10" || last.Transform != "dnat" {
			t.Errorf("journey %d ends %+v", j.ID, last)
		}
	}
	if errors == 0 {
		t.Fatal("no frag-needed errors")
	}
	quoted := 0
	for _, f := range sink.frames {
		if f.point != "client-nat" {
			continue
		}
		d := decodeFrame(t, f.data)
		if d.icmp == nil || d.icmp.TypeCode.Type() != 3 {
			continue
		}
		q := d.icmp.Payload
		checkIPv4Header(t, q[:20], "quoted header")
		if src := q[12:16]; src[0] != 192 || src[2] != 200 || src[3] != 10 {
			t.Errorf("quoted source %v not translated back to the client", src)
		}
		quoted++
	}
	if quoted != errors {
		t.Errorf("%d frag-needed at the client, %d journeys", quoted, errors)
	}
}

func checkIPv4Header(t *testing.T, h []byte, where string) {
	t.Helper()
	if onesSum(h) != 0xffff {
		t.Errorf("%s: bad checksum", where)
	}
}

// TestFaultHopDrops: losses happen only inside BGPVM, each dropped packet was last seen on a
// link into BGPVM, TCP recovers every conversation, and the clock offset shows in the truth.
func TestFaultHopDrops(t *testing.T) {
	sc := loadSample(t, "fault-hop-drops.yaml")
	sink, tr := generate(t, sc, Options{})
	if len(tr.Drops) < 5 {
		t.Fatalf("only %d drops", len(tr.Drops))
	}
	into := map[string]bool{"nat-bgp": true, "bgp-mux": true, "host-bgp": true}
	for _, d := range tr.Drops {
		if d.Node != "BGPVM" || !strings.HasPrefix(d.Reason, "fault: drop probability 0.04") || !into[d.AfterPoint] {
			t.Errorf("drop %+v", d)
		}
	}
	for _, c := range tr.Conversations {
		if c.Completed != c.Instances {
			t.Errorf("conversation %+v did not recover", c)
		}
	}
	// Retransmissions: the same data segment (flow, seq) sent twice at the client's point.
	retrans := 0
	seen := map[string]bool{}
	for _, f := range sink.frames {
		if f.point != "client-nat" {
			continue
		}
		d := decodeFrame(t, f.data)
		if d.tcp == nil || len(d.tcp.Payload) == 0 {
			continue
		}
		key := fmt.Sprintf("%v:%d>%v:%d %d", d.inner.SrcIP, d.tcp.SrcPort, d.inner.DstIP, d.tcp.DstPort, d.tcp.Seq)
		if seen[key] {
			retrans++
		}
		seen[key] = true
	}
	if retrans == 0 {
		t.Error("no retransmissions")
	}
	for _, p := range tr.Points {
		want := int64(0)
		if p.ID == "mux-host" {
			want = 2000
		}
		if p.ClockOffsetUs != want {
			t.Errorf("point %s clock offset %d us", p.ID, p.ClockOffsetUs)
		}
	}
}

// TestVNIOutOfRangeStillGenerates: a VNI the loader only warns about is written as given, so
// that an analyzer can flag it; the warning travels in the truth.
func TestVNIOutOfRangeStillGenerates(t *testing.T) {
	src, err := os.ReadFile(testenv.Sample(t, "azurestack-poc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(src), "vni: 4114", "vni: 100", 1)
	sc := parseScenario(t, doc)
	sink, tr := generate(t, sc, Options{MaxFrames: 400})
	if len(tr.Warnings) != 1 || !strings.Contains(tr.Warnings[0], "vni 100") {
		t.Errorf("warnings %v", tr.Warnings)
	}
	n := 0
	for _, f := range sink.frames {
		if d := decodeFrame(t, f.data); d.vxlan != nil {
			n++
			if d.vxlan.VNI != 100 {
				t.Fatalf("VNI %d", d.vxlan.VNI)
			}
		}
	}
	if n == 0 {
		t.Fatal("no VXLAN frames")
	}
}
