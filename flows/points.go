package flows

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/stackflow/stackflow/decode/pcapio"
)

// pointNamer assigns capture-point ids (DESIGN.md section 2): the interface name in files with
// several interfaces, else the file name without .gz/.pcap/.pcapng; a collision gets a
// "<file stem>:" prefix; stdin is "stdin".
type pointNamer struct {
	used map[string]bool
}

// FileStem is the capture-point id of a single-interface file: its base name without the
// .gz, .pcap, .pcapng and .cap suffixes; "stdin" for "-".
func FileStem(file string) string {
	if file == "-" {
		return "stdin"
	}
	base := filepath.Base(file)
	base = strings.TrimSuffix(base, ".gz")
	for _, ext := range []string{".pcapng", ".pcap", ".cap"} {
		base = strings.TrimSuffix(base, ext)
	}
	return base
}

func (n *pointNamer) name(file string, ifaces []pcapio.Interface, idx int) string {
	if n.used == nil {
		n.used = map[string]bool{}
	}
	stem := FileStem(file)
	id := stem
	if len(ifaces) > 1 {
		id = ifaces[idx].Name
		if id == "" {
			id = fmt.Sprintf("if%d", idx)
		}
		if n.used[id] {
			id = stem + ":" + id
		}
	}
	for i := 2; n.used[id]; i++ {
		id = fmt.Sprintf("%s#%d", stem, i)
		if len(ifaces) > 1 {
			id = fmt.Sprintf("%s:%s#%d", stem, ifaces[idx].Name, i)
		}
	}
	n.used[id] = true
	return id
}

// PointNamer names capture points exactly as analysis does, for other commands that read
// captures (replay, export): each (input, interface) gets its id once, in order of first use.
type PointNamer struct {
	files []string
	namer pointNamer
	ids   map[[2]int]string
}

// NewPointNamer names the points of the given input files (as given on the command line).
func NewPointNamer(files []string) *PointNamer {
	return &PointNamer{files: files, ids: map[[2]int]string{}}
}

// Name returns the id of interface iface of input input, whose interfaces are ifaces.
func (n *PointNamer) Name(input, iface int, ifaces []pcapio.Interface) string {
	k := [2]int{input, iface}
	if id, ok := n.ids[k]; ok {
		return id
	}
	file := "-"
	if input < len(n.files) {
		file = n.files[input]
	}
	for len(ifaces) <= iface {
		ifaces = append(ifaces, pcapio.Interface{})
	}
	id := n.namer.name(file, ifaces, iface)
	n.ids[k] = id
	return id
}
