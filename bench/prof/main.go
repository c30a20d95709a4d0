// Command prof runs one analysis with CPU and heap profiles, for finding where time and memory
// go: go run ./bench/prof -cpu cpu.out -mem mem.out FILE...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/stackflow/stackflow/flows"
)

func main() {
	cpu := flag.String("cpu", "", "write a CPU profile here")
	mem := flag.String("mem", "", "write a heap profile here (taken before the report is released)")
	flag.Parse()
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	pc := flows.NewProblemCollector(0)
	in, err := flows.OpenInputs(flag.Args(), os.Stdin, pc)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	start := time.Now()
	rep, err := flows.Analyze(context.Background(), in, flows.Options{}, pc)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	el := time.Since(start)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("%d packets in %v: %.0f ns/packet, %.2f M packets/s; heap in use %d MB, total alloc %d MB, %d flows, %d paths\n",
		rep.Capture.Packets, el, float64(el.Nanoseconds())/float64(rep.Capture.Packets),
		float64(rep.Capture.Packets)/el.Seconds()/1e6, ms.HeapInuse>>20, ms.TotalAlloc>>20, len(rep.Flows), len(rep.Paths))
	if *mem != "" {
		f, _ := os.Create(*mem)
		pprof.WriteHeapProfile(f)
		f.Close()
	}
}
