package decode

import "github.com/gopacket/gopacket"

// Layer types for the protocols this package decodes itself, registered once with gopacket so
// that the layers also work inside gopacket.NewPacket and gopacket.DecodingLayerParser. The
// numbers 1200-1209 are reserved for package decode (gopacket accepts 1000-1999 for users).
var (
	// LayerTypeCiscoHDLC is the Cisco HDLC link layer (LINKTYPE_C_HDLC, 104).
	LayerTypeCiscoHDLC = gopacket.RegisterLayerType(1200, gopacket.LayerTypeMetadata{
		Name: "CiscoHDLC", Decoder: gopacket.DecodeFunc(decodeCiscoHDLC)})
	// LayerTypeERSPANIII is the ERSPAN type III header carried in GRE protocol 0x22eb.
	LayerTypeERSPANIII = gopacket.RegisterLayerType(1201, gopacket.LayerTypeMetadata{
		Name: "ERSPANIII", Decoder: gopacket.DecodeFunc(decodeERSPANIII)})
	// LayerTypeVXLANGPE is the VXLAN Generic Protocol Extension header (IANA UDP 4790).
	LayerTypeVXLANGPE = gopacket.RegisterLayerType(1202, gopacket.LayerTypeMetadata{
		Name: "VXLANGPE", Decoder: gopacket.DecodeFunc(decodeVXLANGPE)})
)
