package bgp

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

func TestDetectASWidth(t *testing.T) {
	cases := []struct {
		name  string
		why   string
		attrs [][]byte
		want  uint8
	}{
		{"2-octet path", "only the 2-byte walk fills the attribute",
			[][]byte{attr(0x40, attrASPath, asPath(2, seq(65001, 65002, 7)))}, 2},
		{"4-octet path", "small ASNs in 4 bytes read as AS 0 every other word in the 2-byte walk",
			[][]byte{attr(0x40, attrASPath, asPath(4, seq(65001, 4200000000)))}, 4},
		{"4-octet single asn", "one 4-byte ASN leaves a 2-byte tail that is no segment",
			[][]byte{attr(0x40, attrASPath, asPath(4, seq(65536)))}, 4},
		{"both fit", "a path valid both ways is read as 2-octet, as Wireshark does",
			[][]byte{attr(0x40, attrASPath, asPath(4, seq(0x00010002, 0x0201fde8)))}, 2},
		{"AS4_PATH present", "only 2-octet sessions carry AS4_PATH, whatever AS_PATH looks like",
			[][]byte{attr(0x40, attrASPath, asPath(4, seq(65001))), attr(0xc0, attrAS4Path, asPath(4, seq(65001)))}, 2},
		{"aggregator length 8", "with an empty AS_PATH the AGGREGATOR length decides",
			[][]byte{attr(0x40, attrASPath, nil), attr(0xc0, attrAggregator, concat([]byte{0, 0, 0xfd, 0xe9}, v4("10.0.0.1")))}, 4},
		{"aggregator length 6", "the 2-octet AGGREGATOR",
			[][]byte{attr(0xc0, attrAggregator, concat([]byte{0xfd, 0xe9}, v4("10.0.0.1")))}, 2},
		{"nothing decides", "an empty AS_PATH (iBGP) says nothing",
			[][]byte{attr(0x40, attrASPath, nil)}, 0},
		{"garbage path", "neither walk fits a path with segment type 9",
			[][]byte{attr(0x40, attrASPath, []byte{9, 1, 0, 1})}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Log(tc.why)
			raw := update(nil, tc.attrs, nil)
			u, err := splitUpdate(raw[HeaderLen:])
			if err != nil {
				t.Fatal(err)
			}
			if got := detectASWidth(&u); got != tc.want {
				t.Errorf("width %d, want %d", got, tc.want)
			}
		})
	}
}

func TestWidthWithoutOpen(t *testing.T) {
	// Why: without OPENs the same wire bytes must decode to the ASNs the sender meant, and
	// a later ambiguous UPDATE keeps the width detected earlier in that direction.
	cases := []struct {
		name string
		path []byte
		want string
		from string
	}{
		{"2-octet", asPath(2, seq(65001, 65002), set(1, 2)), "65001 65002 {1,2}", "detected"},
		{"4-octet", asPath(4, seq(65001, 4200000000)), "65001 4200000000", "detected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := &decodeContext{}
			m := &Message{}
			decodeMessage(m, update(nil, basicAttrs(tc.path, "10.0.0.1"), prefixes(nil, "10.1.0.0/16")), ctx)
			if m.Err != nil || m.Update.ASPath.String() != tc.want || m.Update.ASWidthFrom != tc.from {
				t.Fatalf("path %q from %s err %v, want %q", m.Update.ASPath, m.Update.ASWidthFrom, m.Err, tc.want)
			}
			m2 := &Message{}
			decodeMessage(m2, update(nil, basicAttrs(nil, "10.0.0.1"), prefixes(nil, "10.2.0.0/16")), ctx)
			if m2.Update.ASWidth != m.Update.ASWidth || m2.Update.ASWidthFrom != "previous" {
				t.Errorf("empty path: width %d from %s, want %d from previous", m2.Update.ASWidth, m2.Update.ASWidthFrom, m.Update.ASWidth)
			}
		})
	}
}

func TestMergeAS4(t *testing.T) {
	// Cases follow RFC 6793 section 4.2.3.
	cases := []struct {
		name        string
		why         string
		asPath, as4 ASPath
		want        string
	}{
		{"all trans", "every ASN replaced", ASPath{seq(23456, 23456)}, ASPath{seq(655361, 2621441)}, "655361 2621441"},
		{"leading kept", "the 2-octet speaker's own prepend stays in front", ASPath{seq(2, 23456)}, ASPath{seq(2621441)}, "2 2621441"},
		{"as4 longer", "AS4_PATH longer than AS_PATH is ignored", ASPath{seq(23456)}, ASPath{seq(1, 2)}, "23456"},
		{"set counts one", "an AS_SET counts as one ASN", ASPath{seq(10, 23456), set(23456, 5)}, ASPath{seq(70000), set(70001, 5)}, "10 70000 {70001,5}"},
		{"confed kept", "confederation segments in the kept part stay; those in AS4_PATH go",
			ASPath{{Type: SegConfedSequence, ASNs: []uint32{64512}}, seq(7, 23456)},
			ASPath{{Type: SegConfedSequence, ASNs: []uint32{1}}, seq(100000)}, "(64512) 7 100000"},
		{"empty as4", "no AS4_PATH leaves AS_PATH", ASPath{seq(1, 2)}, nil, "1 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Log(tc.why)
			if got := mergeAS4(tc.asPath, tc.as4).String(); got != tc.want {
				t.Errorf("merged %q, want %q", got, tc.want)
			}
		})
	}
}

func TestASPathJSON(t *testing.T) {
	// Why: the report's as_path has ASNs as numbers, AS_SETs as nested lists, and no
	// confederation segments.
	p := ASPath{{Type: SegConfedSet, ASNs: []uint32{9}}, seq(1, 2), set(3, 4), seq(5)}
	if got := fmt.Sprint(p.JSON()); got != "[1 2 [3 4] 5]" {
		t.Errorf("json %s", got)
	}
}

func TestSplitUpdateErrors(t *testing.T) {
	cases := []struct {
		name, hexBody, want string
	}{
		{"short", "00", "has no withdrawn routes length"},
		{"withdrawn too long", "00ff0000", "withdrawn routes length 255 at byte 19"},
		{"attrs too long", "00000010", "total path attribute length 16 at byte 21"},
		{"attr value too long", "0000000440020500", "attribute 2 at byte 23 declares 5 bytes, 1 left"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tc.hexBody)
			_, err := splitUpdate(b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
