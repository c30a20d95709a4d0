package flows

import "fmt"

// linkTypeNames gives the report's spelling of the LINKTYPE_* values stackflow decodes.
var linkTypeNames = map[uint16]string{
	0:   "null",
	1:   "ethernet",
	9:   "ppp",
	12:  "raw",
	14:  "raw",
	50:  "ppp_hdlc",
	101: "raw",
	104: "chdlc",
	113: "linux_sll",
	228: "ipv4",
	229: "ipv6",
	276: "linux_sll2",
}

// LinkTypeName returns the report's name for a LINKTYPE_* value ("linktype_N" when unknown).
func LinkTypeName(lt uint16) string {
	if n, ok := linkTypeNames[lt]; ok {
		return n
	}
	return fmt.Sprintf("linktype_%d", lt)
}
