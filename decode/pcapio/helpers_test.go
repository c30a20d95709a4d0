package pcapio

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// This file holds the test fixtures: a tiny pcap and pcapng writer for hand-built inputs, the
// list of the shared public captures, and a drain helper.

// captureFiles lists the capture files in dir (everything but the manifest).
func captureFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if n := e.Name(); !e.IsDir() && (filepath.Ext(n) == ".pcap" || filepath.Ext(n) == ".pcapng") {
			out = append(out, filepath.Join(dir, n))
		}
	}
	return out
}

// got is what a drain saw: records (with copied data) and problems.
type got struct {
	recs     []Record
	problems []Problem
}

// drainBytes reads all of b through NewReader, copying each record's data.
func drainBytes(t testing.TB, b []byte, opts ...Options) (got, Source, error) {
	t.Helper()
	var g got
	o := Options{}
	if len(opts) > 0 {
		o = opts[0]
	}
	o.OnProblem = func(p Problem) { g.problems = append(g.problems, p) }
	src, err := NewReader(bytes.NewReader(b), "fixture", o)
	if err != nil {
		return g, nil, err
	}
	g.recs, err = drain(src)
	return g, src, err
}

// drain reads src to the end, copying each record's data and options.
func drain(src Source) ([]Record, error) {
	var out []Record
	for {
		var r Record
		err := src.Next(&r)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		r.Data = bytes.Clone(r.Data)
		r.Options = bytes.Clone(r.Options)
		out = append(out, r)
	}
}

// byteOrder is binary.ByteOrder plus the append methods both concrete orders have.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func order(big bool) byteOrder {
	if big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// pcapRec is one hand-built classic pcap record; caplen is len(data) unless set.
type pcapRec struct {
	sec, frac uint32
	caplen    uint32
	origlen   uint32
	data      []byte
}

// buildPcap writes a classic pcap file.
func buildPcap(big, nano bool, link, snap uint32, recs ...pcapRec) []byte {
	bo := order(big)
	magic := uint32(magicMicro)
	if nano {
		magic = magicNano
	}
	b := bo.AppendUint32(nil, magic)
	b = bo.AppendUint16(b, 2)
	b = bo.AppendUint16(b, 4)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, 0)
	b = bo.AppendUint32(b, snap)
	b = bo.AppendUint32(b, link)
	for _, r := range recs {
		caplen := r.caplen
		if caplen == 0 {
			caplen = uint32(len(r.data))
		}
		orig := r.origlen
		if orig == 0 {
			orig = uint32(len(r.data))
		}
		b = bo.AppendUint32(b, r.sec)
		b = bo.AppendUint32(b, r.frac)
		b = bo.AppendUint32(b, caplen)
		b = bo.AppendUint32(b, orig)
		b = append(b, r.data...)
	}
	return b
}

// ngWriter builds pcapng files block by block; big selects the byte order of later blocks.
type ngWriter struct {
	big bool
	b   []byte
}

func (w *ngWriter) bo() byteOrder { return order(w.big) }

// block appends one block with correct length fields and padding.
func (w *ngWriter) block(typ uint32, body []byte) {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	total := uint32(12 + len(body))
	w.b = w.bo().AppendUint32(w.b, typ)
	w.b = w.bo().AppendUint32(w.b, total)
	w.b = append(w.b, body...)
	w.b = w.bo().AppendUint32(w.b, total)
}

// shb starts a section in the given byte order.
func (w *ngWriter) shb(big bool) {
	w.big = big
	bo := w.bo()
	body := bo.AppendUint32(nil, byteOrderMagic)
	body = bo.AppendUint16(body, 1)
	body = bo.AppendUint16(body, 0)
	body = bo.AppendUint64(body, ^uint64(0))
	w.block(blockSHB, body)
}

// opt encodes one option, padded; end appends opt_endofopt.
func (w *ngWriter) opt(code uint16, v []byte) []byte {
	b := w.bo().AppendUint16(nil, code)
	b = w.bo().AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (w *ngWriter) end() []byte { return make([]byte, 4) }

func (w *ngWriter) idb(link uint16, snap uint32, opts ...[]byte) {
	bo := w.bo()
	body := bo.AppendUint16(nil, link)
	body = bo.AppendUint16(body, 0)
	body = bo.AppendUint32(body, snap)
	for _, o := range opts {
		body = append(body, o...)
	}
	if len(opts) > 0 {
		body = append(body, w.end()...)
	}
	w.block(blockIDB, body)
}

// epb appends an Enhanced Packet Block (typ blockEPB) or an obsolete Packet Block (blockPB).
func (w *ngWriter) packet(typ uint32, ifid uint32, ts uint64, data []byte, origlen uint32, opts ...[]byte) {
	bo := w.bo()
	var body []byte
	if typ == blockPB {
		body = bo.AppendUint16(nil, uint16(ifid))
		body = bo.AppendUint16(body, 0)
	} else {
		body = bo.AppendUint32(nil, ifid)
	}
	body = bo.AppendUint32(body, uint32(ts>>32))
	body = bo.AppendUint32(body, uint32(ts))
	body = bo.AppendUint32(body, uint32(len(data)))
	body = bo.AppendUint32(body, origlen)
	body = append(body, data...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	for _, o := range opts {
		body = append(body, o...)
	}
	if len(opts) > 0 {
		body = append(body, w.end()...)
	}
	w.block(typ, body)
}

func (w *ngWriter) epb(ifid uint32, ts uint64, data []byte, opts ...[]byte) {
	w.packet(blockEPB, ifid, ts, data, uint32(len(data)), opts...)
}

func (w *ngWriter) spb(origlen uint32, data []byte) {
	body := w.bo().AppendUint32(nil, origlen)
	w.block(blockSPB, append(body, data...))
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// payload returns n recognisable bytes starting at seed.
func payload(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

func errorsIsBadHeader(err error) bool { return errors.Is(err, ErrBadHeader) }
