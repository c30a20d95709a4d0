// Package pcapio owns the capture-file framer: it reads classic pcap (µs and ns, both byte orders)
// and pcapng (several interfaces, mixed link types, per-interface timestamp resolution), plain or
// gzip-compressed, from files or stdin, and hands out records with their byte offsets, raw
// options and interface. It also merges several sources in timestamp order.
//
// gopacket's pcapgo is the test oracle, not the implementation: it exposes no record offsets and
// its pcapng reader costs twice the classic one (DESIGN.md section 2).
//
// Choices made where the formats or the tools leave room:
//   - Damage never makes Next fail: it is reported as a Problem (kinds ProblemTruncated ...
//     ProblemReadError) and either stepped over or ends the input with io.EOF. Problem.Packet
//     is the number the damaged record would have had (the next packet delivered gets it).
//   - Classic pcap: caplen above the snap length is accepted, as tcpdump does; a caplen above
//     Options.MaxRecordSize (256 MiB) ends the input. Versions before 2.3 store caplen and
//     origlen swapped, and 2.3 files may: they are swapped back as libpcap does. A fraction of
//     a second out of range is carried into the seconds and reported.
//   - pcapng: interface indices run across sections; a Simple Packet Block takes the previous
//     packet's time; an unusable if_tsresol leaves microseconds; blocks of other types are
//     skipped by their length.
//   - Memory follows the bytes present, not lengths claimed: the record buffer grows in steps
//     while reading, so a damaged length field cannot make the reader allocate 256 MiB.
package pcapio

import "fmt"

// Record is one captured packet as stored in a file. Data and Options alias the reader's buffer
// and are valid only until the next call to Next on the same source.
type Record struct {
	Data      []byte // captured bytes, len(Data) == CapLen
	CapLen    uint32
	OrigLen   uint32 // length on the wire
	Time      int64  // nanoseconds since the Unix epoch, UTC, interface offset applied
	Interface int    // index into the source's Interfaces()
	Number    uint64 // 1-based packet number within its file, as Wireshark numbers frames
	Offset    int64  // byte offset of the record's block/header within the (decompressed) file
	Flags     uint32 // pcapng epb_flags (bits 0-1: 1 inbound, 2 outbound), 0 when absent
	Options   []byte // raw pcapng EPB options (comments, flags, ...), nil for classic pcap
	Input     int    // index of the input this record came from (set by Merge; 0 for one source)
	BigEndian bool   // byte order of the section Options came from, for WalkOptions
}

// Interface describes one capture interface: the only one of a classic pcap file, or one pcapng
// Interface Description Block.
type Interface struct {
	Name        string // if_name; empty when absent
	Description string // if_description
	LinkType    uint16 // LINKTYPE_* value
	SnapLen     uint32
	TSPerSecond uint64 // timestamp units per second (1e6 for µs, 1e9 for ns, ...)
}

// Source yields records in file order.
type Source interface {
	// Next fills rec with the next packet record. It returns io.EOF at the end of the input.
	// Damage that the reader can step over is reported through the problem callback given at
	// construction and reading continues; damage it cannot step over ends the input: the
	// problem is reported and Next returns io.EOF.
	Next(rec *Record) error
	// Interfaces lists the interfaces seen so far (pcapng may add more while reading).
	Interfaces() []Interface
	// Format names the file format: "pcap", "pcap-ns", "pcapng", with ".gz" appended when the
	// input was gzip-compressed.
	Format() string
	Close() error
}

// Problem is damage found while framing a file, with its position.
type Problem struct {
	Kind    string // short machine-readable kind, e.g. "truncated_record", "bad_timestamp"
	File    string // input name as given by the user ("-" for stdin)
	Packet  uint64 // packet number the damage concerns (0 when it precedes any packet)
	Offset  int64  // byte offset in the decompressed input
	Message string // lowercase, quoting the offending values
}

// Error formats the problem with its file, packet number and byte offset.
func (p Problem) Error() string {
	return fmt.Sprintf("%s: packet %d at byte %d: %s", p.File, p.Packet, p.Offset, p.Message)
}
