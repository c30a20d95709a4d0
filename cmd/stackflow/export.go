package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackflow/stackflow/flows"
	"github.com/stackflow/stackflow/replay"
)

type exportFlags struct {
	path   string
	flow   string
	output string
	analysisFlags
}

const exportExamples = `  # Every packet of path p5 at every hop it crossed, for Wireshark
  stackflow export --path p5 -o p5.pcapng samples/azurestack-poc.pcapng

  # One capture per point: the analysis options must match those given to analyze
  stackflow export --path p7 -o p7.pcapng --window 2s --clock-offset nat=+3ms client.pcap nat.pcap mux.pcapng

  # Every packet of one flow, straight into Wireshark
  stackflow export --flow f12 -o - samples/azurestack-poc.pcapng | wireshark -k -i -`

func newExportCmd(e env) *cobra.Command {
	var f exportFlags
	cmd := &cobra.Command{
		Use:   "export (--path ID | --flow ID) -o OUT.pcapng FILE...",
		Short: "Write every packet of one path (at every hop) or one flow to a pcapng file",
		Long: `Export analyzes the captures as analyze does, finds the path or flow with the given id of that
report, then reads the captures again and writes that selection's packets to a pcapng file: one
interface per capture point (named by the point id, declared in hop order), original timestamps
and bytes, and on every packet a comment saying where it came from, e.g.
"path p7 hop 3 (snat) at nat-bgp: nat.pcap #412". Give the same analysis options (--vxlan-port,
--window, --clock-offset) as to the analyze run whose ids you use.

A path's packets are those that look exactly like one of its hops (capture point, MAC pair,
innermost addresses and ports, tunnel VNI and outer addresses): duplicates and, where paths share
a hop, the other paths' packets on that hop are included, and the summary on stderr says so.

The captures are read twice, so stdin ("-") cannot be an input.

Exit codes: 0 the file was written; 2 an argument is unusable (as for analyze; also a path or flow
id the analysis did not produce, known only after reading); 3 no input was readable; 1 internal
error (then no output file is left behind).`,
		Example:           exportExamples,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: captureFileCompletion,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExport(cmd, e, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.path, "path", "", "export this path of the report (e.g. p7)")
	fl.StringVar(&f.flow, "flow", "", "export this flow of the report (e.g. f12)")
	fl.StringVarP(&f.output, "output", "o", "", "write the pcapng file here (\"-\": stdout)")
	f.analysisFlags.register(fl, analysisFlagSet{})
	return cmd
}

func runExport(cmd *cobra.Command, e env, f exportFlags, args []string) error {
	sel := flows.Selection{Path: f.path, Flow: f.flow}
	if err := sel.Validate(); err != nil {
		return usageErr("%v", err)
	}
	if f.output == "" {
		return usageErr("export needs -o FILE (or -o - for stdout)")
	}
	if f.output == "-" && isTerminalWriter(e, e.stdout) {
		return usageErr("-o -: stdout is a terminal; pipe it (e.g. | wireshark -k -i -) or give a file")
	}
	opts, _, err := f.options()
	if err != nil {
		return err
	}
	if err := checkOutputDir("-o", f.output); err != nil {
		return err
	}
	if err := checkInputs(args, f.output, true); err != nil {
		return err
	}

	// Pass 1: the analysis, which knows the ids.
	problems := flows.NewProblemCollector(0)
	inputs, err := openAnalysisInputs(e, args, problems)
	if err != nil {
		return err
	}
	var plan *flows.ExportPlan
	err = withProgress(e, &f.analysisFlags, opts, func(o flows.Options) error {
		var err error
		plan, err = flows.PlanExport(cmd.Context(), inputs, o, problems, sel)
		return err
	})
	if errors.Is(err, flows.ErrUnknownSelection) {
		return &exitError{code: exitUsage, err: err}
	}
	if err != nil {
		return err
	}
	if n := problems.Count(); n > 0 {
		fmt.Fprintf(e.stderr, "stackflow: warning: %d problems in the inputs (listed by stackflow analyze)\n", n)
	}

	// Pass 2: the packets. The output exists only from here on, and is removed on failure.
	inputs, err = flows.OpenInputs(args, nil, flows.NewProblemCollector(0))
	if err != nil {
		return classifyOpenError(err)
	}
	out, finish, err := createExportOutput(f.output, e.stdout)
	if err != nil {
		closeInputs(inputs)
		return usageErr("-o: %v", err)
	}
	stats, err := writeExport(cmd, plan, inputs, out)
	if ferr := finish(err != nil); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "stackflow: "+exportSummary(plan, stats, f.output))
	return nil
}

// writeExport runs the second pass into a pcapng sink whose interfaces are the selection's
// points, declared up front in hop order.
func writeExport(cmd *cobra.Command, plan *flows.ExportPlan, inputs []flows.InputSource, out io.Writer) (flows.ExportStats, error) {
	var decls []replay.PointDecl
	for _, p := range plan.Points() {
		decls = append(decls, replay.PointDecl{Name: p.ID, LinkType: p.LinkType, Description: p.Description})
	}
	sink := replay.NewPcapngSink(out, replay.SinkOptions{Points: decls})
	var fr replay.Frame
	stats, err := plan.Write(cmd.Context(), inputs, func(p *flows.ExportPacket) error {
		fr = replay.Frame{Point: p.Point, LinkType: p.LinkType, Time: p.Time, Data: p.Data,
			OrigLen: p.OrigLen, Comment: p.Comment, Flags: p.Flags}
		return sink.WriteFrame(&fr)
	})
	if cerr := sink.Close(); err == nil {
		err = cerr
	}
	return stats, err
}

// createExportOutput opens the output; finish flushes and closes it, removing a file when the
// export failed so that no partial capture is left behind.
func createExportOutput(name string, stdout io.Writer) (io.Writer, func(failed bool) error, error) {
	if name == "-" {
		bw := bufio.NewWriterSize(stdout, 1<<20)
		return bw, func(bool) error { return bw.Flush() }, nil
	}
	fh, err := os.Create(name)
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriterSize(fh, 1<<20)
	return bw, func(failed bool) error {
		err := bw.Flush()
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if failed || err != nil {
			os.Remove(name)
		}
		return err
	}, nil
}

func closeInputs(inputs []flows.InputSource) {
	for _, in := range inputs {
		if in.Source != nil {
			in.Source.Close()
		}
	}
}

// sameFile reports whether two names are the same existing file.
func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// exportSummary is the line printed after a successful export: what was written and how it
// relates to the report's counts.
func exportSummary(plan *flows.ExportPlan, st flows.ExportStats, output string) string {
	if output == "-" {
		output = "stdout"
	}
	sel := plan.Selection()
	pts := plan.Points()
	var b strings.Builder
	fmt.Fprintf(&b, "wrote %s (%d bytes) of %s to %s", exportPlural(st.Packets, "packet"), st.Bytes, sel, output)
	if sel.Path != "" {
		fmt.Fprintf(&b, ": %s at %s; the report counts %d hop packets", exportPlural(len(st.HopPackets), "hop"), exportPlural(len(pts), "capture point"), st.Reported)
		if st.Duplicates > 0 {
			fmt.Fprintf(&b, ", plus %d duplicates on its hops", st.Duplicates)
		}
		if len(st.SharedWith) > 0 {
			fmt.Fprintf(&b, "; hops shared with %s: their packets there are included", strings.Join(st.SharedWith, ", "))
		}
	} else if len(pts) > 0 {
		fmt.Fprintf(&b, " at %s; the report counts %d packets", pts[0].ID, st.Reported)
	}
	return b.String()
}

func exportPlural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
