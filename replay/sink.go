package replay

// Frame is one packet to write or send: its capture point, time and bytes. Data is owned by the
// caller and may be reused after WriteFrame returns.
type Frame struct {
	Point    string // capture point id (DESIGN.md section 2); selects the pcapng interface or --split file
	LinkType uint16 // LINKTYPE_* of Data
	Time     int64  // ns since the Unix epoch, UTC
	Data     []byte
	OrigLen  uint32 // wire length; 0 means len(Data)
	Comment  string // optional pcapng packet comment
	Flags    uint32 // optional pcapng epb_flags (bits 0-1 direction: 1 inbound, 2 outbound); 0 writes none
}

// Sink receives frames in time order: a pcapng or pcap file, a set of per-point files, or a live
// interface.
type Sink interface {
	WriteFrame(f *Frame) error
	Close() error
}
