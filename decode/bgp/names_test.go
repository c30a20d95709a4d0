package bgp

import (
	"encoding/hex"
	"testing"
)

func TestNotificationName(t *testing.T) {
	cases := []struct {
		code, sub uint8
		want, why string
	}{
		{6, 4, "Cease / Administrative Reset", "the example the report documents"},
		{4, 0, "Hold Timer Expired", "a code without subcodes prints alone"},
		{6, 0, "Cease / Unspecific", "subcode 0 of a code that has subcodes"},
		{3, 11, "UPDATE Message Error / Malformed AS_PATH", "last RFC 4271 update subcode"},
		{2, 99, "OPEN Message Error / Subcode 99", "unregistered subcode keeps its number"},
		{42, 1, "Unknown Error 42 / Subcode 1", "unregistered code"},
	}
	for _, tc := range cases {
		if got := NotificationName(tc.code, tc.sub); got != tc.want {
			t.Errorf("%d/%d (%s): %q, want %q", tc.code, tc.sub, tc.why, got, tc.want)
		}
	}
}

func TestExtendedCommunity(t *testing.T) {
	cases := []struct {
		hex, want, why string
	}{
		{"0002fde800000001", "rt:65000:1", "two-octet AS route target"},
		{"0003fde800000001", "soo:65000:1", "site of origin"},
		{"0102c0000201000a", "rt:192.0.2.1:10", "IPv4 address specific"},
		{"0202fa56ea000007", "rt:4200000000:7", "four-octet AS in asplain"},
		{"4004fde84cee6b28", "lb:65000:125000000", "link bandwidth as a float of bytes per second"},
		{"030b000000000064", "color:100", "opaque color"},
		{"030c000000000008", "encap:8", "opaque encapsulation (8 = VXLAN)"},
		{"0042fde800000001", "sub-0x42:65000:1", "unnamed sub-type of a known type"},
		{"8006000000000000", "ext:0x8006000000000000", "flowspec traffic-rate falls back to hex"},
	}
	for _, tc := range cases {
		b, _ := hex.DecodeString(tc.hex)
		if got := ExtendedCommunity(b); got != tc.want {
			t.Errorf("%s (%s): %q, want %q", tc.hex, tc.why, got, tc.want)
		}
	}
}

func TestRouteDistinguisher(t *testing.T) {
	cases := []struct {
		hex, want, why string
	}{
		{"0000ffe700181fdb", "65511:1581019", "type 0, from the VPN capture"},
		{"00010a0000010064", "10.0.0.1:100", "type 1"},
		{"0002fa56ea462b01", "4200000070:11009", "type 2 in asplain, as tshark prints it"},
		{"0009000000000001", "rd-type-9:0x000000000001", "unknown type"},
	}
	for _, tc := range cases {
		b, _ := hex.DecodeString(tc.hex)
		if got := RouteDistinguisher(b); got != tc.want {
			t.Errorf("%s (%s): %q, want %q", tc.hex, tc.why, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	// Why: unregistered values must still print something stable.
	got := []string{CapabilityName(65), CapabilityName(200), FamilyName(1, 128), FamilyName(25, 70), FamilyName(9, 9),
		OriginName(2), OriginName(3), AddPathModeName(3), TypeName(TypeRouteRefresh), StandardCommunity(0xffffff01), LargeCommunity(1, 2, 3)}
	want := []string{"4-octet-as", "capability-200", "ipv4-vpn", "l2vpn-evpn", "afi-9-safi-9",
		"incomplete", "origin-3", "send/receive", "route_refresh", "65535:65281", "1:2:3"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("name %d: %q, want %q", i, got[i], want[i])
		}
	}
}
