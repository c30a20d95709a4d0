package bgp

import "testing"

// TestDropKeepalives: with DropKeepalives the counts, sessions and OnMessage see every message
// while Messages keeps none of the KEEPALIVEs, so a long session's memory does not grow with
// them; the same capture seen at two points still passes each message to OnMessage once.
func TestDropKeepalives(t *testing.T) {
	segs := readSegments(t, "bgp-4byte-asn-session.pcap")
	full := NewAssembler(Options{})
	run(segs, 0, full)
	full.Flush()

	var seen Counts
	lean := NewAssembler(Options{DropKeepalives: true, OnMessage: func(m *Message) { seen.add(m.Type) }})
	run(segs, 0, lean)
	run(segs, 1, lean) // the same traffic at a second point: no new messages
	lean.Flush()

	if lean.Counts() != full.Counts() || seen != full.Counts() {
		t.Fatalf("counts %+v, OnMessage saw %+v, want %+v", lean.Counts(), seen, full.Counts())
	}
	for _, m := range lean.Messages() {
		if m.Type == TypeKeepalive {
			t.Fatalf("keepalive kept: %+v", m)
		}
	}
	if got, want := len(lean.Messages()), len(full.Messages())-full.Counts().Keepalive; got != want {
		t.Errorf("kept %d messages, want %d", got, want)
	}
	for i, m := range lean.Messages() {
		if m.Index != i {
			t.Errorf("message %d has Index %d", i, m.Index)
		}
	}
}
