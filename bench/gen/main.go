// Command gen writes a synthetic benchmark capture (see bench/mix) to a file.
//
//	go run ./bench/gen -packets 1000000 -points 3 -o /tmp/mix.pcapng
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/stackflow/stackflow/bench/mix"
)

func main() {
	var o mix.Options
	out := flag.String("o", "", "output file (required)")
	flag.IntVar(&o.Packets, "packets", 1_000_000, "logical packets")
	flag.IntVar(&o.Points, "points", 1, "capture points: 1 (pcap) or 3 (pcapng)")
	flag.IntVar(&o.Flows, "flows", 1000, "concurrent 5-tuples")
	flag.BoolVar(&o.Flood, "flood", false, "a new 5-tuple for every packet")
	flag.IntVar(&o.Rate, "rate", 500000, "logical packets per second of capture time")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen: -o FILE is required")
		os.Exit(2)
	}
	f, err := os.Create(*out)
	if err == nil {
		err = mix.Write(f, o)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
