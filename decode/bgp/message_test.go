package bgp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestFramer(t *testing.T) {
	ka := keepalive()
	upd := sampleUpdate()
	badMarker := slices.Clone(ka)
	badMarker[3] = 0x7f
	badLen := slices.Clone(ka)
	badLen[lenOffset], badLen[lenOffset+1] = 0, 5
	type ev struct {
		kind frameKind
		pos  int64
		n    int
	}
	cases := []struct {
		name   string
		why    string
		start  syncReason
		chunks [][]byte
		want   []ev
		left   int // bytes still buffered at the end
	}{
		{"two messages one chunk", "messages back to back", inSync, [][]byte{concat(ka, upd)},
			[]ev{{frameMessage, 0, 19}, {frameMessage, 19, len(upd)}}, 0},
		{"byte by byte", "a message completes only with its last byte, however it is cut", inSync,
			splitEvery(concat(ka, ka), 1), []ev{{frameMessage, 0, 19}, {frameMessage, 19, 19}}, 0},
		{"partial tail", "an incomplete message stays buffered", inSync, [][]byte{concat(ka, upd[:30])},
			[]ev{{frameMessage, 0, 19}}, 30},
		{"bad marker", "a wrong marker loses sync; the next plausible header restores it", inSync,
			[][]byte{concat(badMarker, ka)}, []ev{{frameBadMarker, 0, 0}, {frameResync, 0, 19}, {frameMessage, 19, 19}}, 0},
		{"bad length", "length 5 is impossible; resync skips past that header", inSync,
			[][]byte{concat(badLen, ka)}, []ev{{frameBadLength, 0, 5}, {frameResync, 0, 19}, {frameMessage, 19, 19}}, 0},
		{"start aligned", "a mid-stream start on a boundary reports nothing", syncStart,
			[][]byte{ka}, []ev{{frameMessage, 0, 19}}, 0},
		{"start misaligned", "garbage before the first header is skipped and reported", syncStart,
			[][]byte{concat([]byte{1, 2, 3}, ka)}, []ev{{frameResync, 0, 3}, {frameMessage, 3, 19}}, 0},
		{"no header at all", "while searching only a possible header prefix is kept", syncStart,
			[][]byte{bytes.Repeat([]byte{0xff}, 100)}, nil, resyncKeep},
		{"split marker", "a header cut inside its marker is found once the rest arrives", syncStart,
			[][]byte{concat([]byte{9, 9}, ka[:7]), ka[7:]}, []ev{{frameResync, 0, 2}, {frameMessage, 2, 19}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Log(tc.why)
			f := &framer{maxLen: MaxExtendedLen, resyncTo: MaxLen}
			f.unsync(tc.start)
			var got []ev
			for _, c := range tc.chunks {
				f.push(c)
				for {
					e, _, ok := f.next()
					if !ok {
						break
					}
					got = append(got, ev{e.kind, e.pos, e.n})
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("events %v, want %v", got, tc.want)
			}
			if l := len(f.pending()); l != tc.left {
				t.Errorf("%d bytes left, want %d", l, tc.left)
			}
		})
	}
}

func splitEvery(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

func TestFindHeader(t *testing.T) {
	ka := keepalive()
	cases := []struct {
		name string
		why  string
		b    []byte
		max  int
		want int
	}{
		{"keepalive", "the simplest header", ka, MaxLen, 0},
		{"long ff run", "a run of 0xff longer than 16 moves the header to the run's end", concat(bytes.Repeat([]byte{0xff}, 5), ka), MaxLen, 5},
		{"keepalive wrong length", "a KEEPALIVE must be exactly 19 bytes", msgWithLen(TypeKeepalive, 23), MaxLen, -1},
		{"type 0", "types outside 1..5 are not trusted when resynchronising", msgWithLen(0, 19), MaxLen, -1},
		{"open too short", "an OPEN is at least 29 bytes", msgWithLen(TypeOpen, 28), MaxLen, -1},
		{"update beyond limit", "lengths above 4096 only with extended messages", msgWithLen(TypeUpdate, 5000), MaxLen, -1},
		{"update extended", "65535 allowed once extended messages are negotiated", msgWithLen(TypeUpdate, 5000), MaxExtendedLen, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Log(tc.why)
			if got := findHeader(tc.b, tc.max); got != tc.want {
				t.Errorf("findHeader = %d, want %d", got, tc.want)
			}
		})
	}
}

func msgWithLen(typ uint8, l int) []byte {
	b := msg(typ, nil)
	b[lenOffset], b[lenOffset+1] = byte(l>>8), byte(l)
	return b
}

func TestDecodeMessage(t *testing.T) {
	cases := []struct {
		name    string
		why     string
		raw     []byte
		ctx     decodeContext
		wantErr string // substring; "" means no error
		check   func(t *testing.T, m *Message)
	}{
		{name: "keepalive too long", why: "gobgp accepts it (gobgp#3449); RFC 4271 4.4 says 19",
			raw: msgWithLenBody(TypeKeepalive, []byte{0, 0}), wantErr: "keepalive length 21 is not 19"},
		{name: "open version 3", why: "gobgp accepts any version (gobgp#3449)",
			raw: withByte(open(65001, 90, "1.1.1.1"), HeaderLen, 3), wantErr: "open version 3 is not 4"},
		{name: "open hold time 2", why: "hold time must be 0 or at least 3",
			raw: open(65001, 2, "1.1.1.1"), wantErr: "hold time 2"},
		{name: "open router id zero", why: "RFC 6286 forbids 0.0.0.0",
			raw: open(65001, 90, "0.0.0.0"), wantErr: "bgp identifier is 0.0.0.0"},
		{name: "open with capabilities", why: "4-octet AS from capability 65 replaces AS_TRANS",
			raw: open(23456, 180, "1.2.3.4", capMP(2, 1), capAS4(4200000001), capAddPath(2, 1, 3), capability(73, 3, 'r', 't', 'r', 3, 'l', 'a', 'b')),
			check: func(t *testing.T, m *Message) {
				o := m.Open
				var caps []string
				for _, c := range o.Capabilities {
					caps = append(caps, c.String())
				}
				if o.MyAS != 4200000001 || o.MyAS2 != 23456 || !o.FourOctetAS ||
					!slices.Equal(caps, []string{"multiprotocol ipv6-unicast", "4-octet-as 4200000001", "add-path ipv6-unicast send/receive", "fqdn rtr.lab"}) {
					t.Errorf("open %+v caps %q", o, caps)
				}
			}},
		{name: "length above 4096", why: "without negotiated extended messages 4096 is the limit (gobgp#3449)",
			raw: update(nil, basicAttrs(asPath(2, seq(1)), "10.0.0.1"), prefixes(nil, manyPrefixes(1100)...)), wantErr: "exceeds 4096"},
		{name: "length above 4096 extended", why: "RFC 8654 lets UPDATEs grow once both sides agree",
			raw: update(nil, basicAttrs(asPath(2, seq(1)), "10.0.0.1"), prefixes(nil, manyPrefixes(1100)...)), ctx: decodeContext{extended: true},
			check: func(t *testing.T, m *Message) {
				if len(m.Update.NLRI) != 1100 {
					t.Errorf("%d prefixes", len(m.Update.NLRI))
				}
			}},
		{name: "prefix too long", why: "a /33 in IPv4 NLRI is invalid; the codec rejects it and the strict walk keeps what came before",
			raw:     update(nil, basicAttrs(asPath(2, seq(1)), "10.0.0.1"), concat(prefixes(nil, "10.0.0.0/8"), []byte{33, 1, 2, 3, 4, 5})),
			wantErr: "prefix length 33",
			check: func(t *testing.T, m *Message) {
				if prefixTexts(m.Update.NLRI) != "10.0.0.0/8" || m.Update.ASPath.String() != "1" || m.Update.NextHop.String() != "10.0.0.1" {
					t.Errorf("recovered %+v", m.Update)
				}
			}},
		{name: "bad origin flags", why: "an attribute with wrong flags is rejected alone; the others still count",
			raw:     update(nil, [][]byte{attr(0x80, attrOrigin, []byte{2}), attr(0x40, attrASPath, asPath(2, seq(65001))), attr(0x40, attrNextHop, v4("10.9.9.9")), attr(0xc0, attrCommunities, []byte{0xfd, 0xe9, 0, 1})}, prefixes(nil, "10.0.0.0/8")),
			wantErr: "attribute 1 at byte 23",
			check: func(t *testing.T, m *Message) {
				u := m.Update
				if u.Origin != "" || u.ASPath.String() != "65001" || !slices.Equal(u.Communities, []string{"65001:1"}) ||
					prefixTexts(u.NLRI) != "10.0.0.0/8" || u.ErrorHandling != "treat-as-withdraw" {
					t.Errorf("recovered %+v", u)
				}
			}},
		{name: "origin value 7", why: "gobgp does not check the ORIGIN value",
			raw: update(nil, [][]byte{attr(0x40, attrOrigin, []byte{7})}, nil), wantErr: "origin value 7"},
		{name: "attribute longer than the list", why: "a length running past the attributes is reported with its offset",
			raw: update(nil, [][]byte{{0x40, attrOrigin, 9, 0}}, nil), wantErr: "attribute 1 at byte 23 declares 9 bytes"},
		{name: "notification shutdown text", why: "RFC 9003 message after the subcode",
			raw: msg(TypeNotification, []byte{6, 4, 4, 'm', 'a', 'i', 'n'}),
			check: func(t *testing.T, m *Message) {
				n := m.Notification
				if n.Name != "Cease / Administrative Reset" || n.Text != "main" {
					t.Errorf("notification %+v", n)
				}
			}},
		{name: "notification too short", why: "code and subcode are mandatory",
			raw: msg(TypeNotification, []byte{6}), wantErr: "shorter than 2"},
		{name: "route refresh", why: "AFI, subtype, SAFI",
			raw: msg(TypeRouteRefresh, []byte{0, 2, 1, 1}),
			check: func(t *testing.T, m *Message) {
				if m.RouteRefresh.Family != (Family{2, 1}) || m.RouteRefresh.Subtype != 1 {
					t.Errorf("route refresh %+v", m.RouteRefresh)
				}
			}},
		{name: "unknown type", why: "kept and counted by its number, flagged",
			raw: msg(9, []byte{1, 2}), wantErr: "unknown message type 9",
			check: func(t *testing.T, m *Message) {
				if m.Type != 9 || m.TypeName() != "type-9" {
					t.Errorf("type %d %s", m.Type, m.TypeName())
				}
			}},
		{name: "mp reach ipv6 and unreach", why: "MP_REACH next hop and NLRI, MP_UNREACH withdrawals become routes",
			raw: update(nil, [][]byte{attr(0x40, attrOrigin, []byte{0}), attr(0x40, attrASPath, nil), attr(0x80, attrMPReach, mpReachV6()),
				attr(0x80, attrMPUnreach, concat([]byte{0, 2, 1}, v6prefix("2001:db8:9::/48")))}, nil),
			check: func(t *testing.T, m *Message) {
				var got []string
				for _, r := range m.Routes() {
					got = append(got, r.Event+" "+r.Prefix+" "+FamilyName(r.AFI, r.SAFI)+" nh="+r.NextHop.String())
				}
				want := []string{"withdraw 2001:db8:9::/48 ipv6-unicast nh=invalid IP", "announce 2001:db8:1::/48 ipv6-unicast nh=2001:db8::1"}
				if !slices.Equal(got, want) {
					t.Errorf("routes %q", got)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Log(tc.why)
			m := &Message{}
			ctx := tc.ctx
			decodeMessage(m, tc.raw, &ctx)
			switch {
			case tc.wantErr == "" && m.Err != nil:
				t.Errorf("unexpected error %v", m.Err)
			case tc.wantErr != "" && (m.Err == nil || !strings.Contains(m.Err.Error(), tc.wantErr)):
				t.Errorf("error %v, want it to mention %q", m.Err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

func msgWithLenBody(typ uint8, body []byte) []byte { return msg(typ, body) }

func withByte(b []byte, i int, v byte) []byte { b = slices.Clone(b); b[i] = v; return b }

func manyPrefixes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "10." + itoa(i/256) + "." + itoa(i%256) + ".0/24"
	}
	return out
}

func v6prefix(s string) []byte {
	b := prefixes(nil, s)
	return b
}

func mpReachV6() []byte {
	nh, _ := hex.DecodeString("20010db8000000000000000000000001")
	b := concat([]byte{0, 2, 1, 16}, nh, []byte{0})
	return append(b, v6prefix("2001:db8:1::/48")...)
}

func TestCodecErrorIsWrapped(t *testing.T) {
	// Why: callers tell the codec's verdict from our own checks with errors.Is.
	m := &Message{}
	decodeMessage(m, update(nil, nil, []byte{40, 1, 2, 3, 4, 5}), &decodeContext{})
	if !errors.Is(m.Err, errCodec) {
		t.Errorf("error %v does not wrap errCodec", m.Err)
	}
}
