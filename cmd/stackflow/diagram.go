package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stackflow/stackflow/topo"
)

type diagramFlags struct {
	analysisFlags
	path     string
	format   string
	output   string
	noLegend bool
	macs     bool
}

const diagramExamples = `  # The topology of the Azure Stack sample as SVG: nodes by role, links with their
  # transforms, packets, VNIs and latency, the BGP session, the DSR return in dashed blue
  stackflow diagram samples/azurestack-poc.pcapng -o topology.svg

  # One path hop by hop (its return path below it), from one capture per point
  stackflow diagram --path p7 -o p7.svg samples/lab/captures/*.pcap.gz

  # DOT for your own styling or another Graphviz: the format follows the -o extension
  stackflow diagram samples/azurestack-poc.pcapng -o topology.dot
  stackflow diagram samples/azurestack-poc.pcapng --format dot -o - | dot -Tpdf > topology.pdf

  # Only what the Mux's VIP traffic in VNI 4114 touched, with names for the nodes
  stackflow diagram samples/azurestack-poc.pcapng --names samples/azurestack-poc.names --filter 'vni 4114' -o vni4114.svg`

func newDiagramCmd(e env) *cobra.Command {
	var f diagramFlags
	cmd := &cobra.Command{
		Use:   "diagram FILE... [-o OUT.svg|OUT.dot|-] [--path ID]",
		Short: "Draw the topology (or one path hop by hop) as SVG or Graphviz DOT",
		Long: `Diagram analyzes the captures as analyze does and draws what the report found.

Without --path it draws the topology: one box per node, coloured and shaped by role, with its
addresses; one arrow per link between nodes, summed over every path that crossed it, labelled with
what the sender did (snat, route, encap, decap+dnat...), packets, VXLAN VNI, the median latency
since the previous link, and the capture points it was seen at. Forward traffic flows left to
right (ClientVM -> NATVM -> BGPVM -> MuxVM -> host -> PortalVM); return traffic is grey and a
Direct Server Return link dashed blue. BGP sessions are dashed between the speakers, and a
speaker's /32 announcement points at the VIP.

With --path ID it draws that path hop by hop, one box per hop (capture point, tuple, tunnel,
transform, packets, latency, loss), with the paired return path below it, right to left.

SVG is laid out by the Graphviz built into stackflow (no external program needed); --format dot
writes the DOT text instead (the default when -o ends in .dot or .gv). Give the same analysis
options (--vxlan-port, --window, --clock-offset, --names, --filter) as to the analyze run whose
path ids you use.

Exit codes: 0 the diagram was written; 2 an argument is unusable (as for analyze; also a path id
the analysis did not produce, known only after reading); 3 no input was readable; 1 internal error.`,
		Example:           diagramExamples,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: captureFileCompletion,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiagram(cmd, e, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.path, "path", "", "draw this path of the report hop by hop (e.g. p5), with its return path")
	fl.StringVarP(&f.format, "format", "f", "", "svg or dot (default: from the -o extension, else svg)")
	fl.StringVarP(&f.output, "output", "o", "-", "write the diagram to this file (\"-\": stdout)")
	fl.BoolVar(&f.noLegend, "no-legend", false, "leave out the legend")
	fl.BoolVar(&f.macs, "macs", false, "list MAC addresses in the boxes")
	f.analysisFlags.register(fl, analysisFlagSet{names: true, filter: true,
		filterHelp: "draw only what matches, e.g. 'vni 4114', 'dsr', 'not role prober' (docs/filter.md)"})
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"svg", "dot"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// diagramFormat picks the output format: the flag, else the -o extension, else SVG.
func diagramFormat(flag, output string) (string, error) {
	switch flag {
	case "svg", "dot":
		return flag, nil
	case "":
	default:
		return "", fmt.Errorf("--format %q: want svg or dot", flag)
	}
	switch strings.ToLower(filepath.Ext(output)) {
	case ".dot", ".gv":
		return "dot", nil
	}
	return "svg", nil
}

func runDiagram(cmd *cobra.Command, e env, f diagramFlags, args []string) error {
	format, err := diagramFormat(f.format, f.output)
	if err != nil {
		return usageErr("%v", err)
	}
	if f.output == "" {
		return usageErr("-o \"\": give a file name, or - for stdout")
	}
	if f.output == "-" && format == "svg" && isTerminalWriter(e, e.stdout) {
		return usageErr("stdout is a terminal: give -o FILE.svg, pipe the SVG, or use --format dot")
	}
	if err := checkOutputDir("-o", f.output); err != nil {
		return err
	}
	rep, _, _, err := runAnalysis(cmd, e, &f.analysisFlags, args, f.output)
	if err != nil {
		return err
	}

	var g *topo.Graph
	if f.path == "" {
		g = topo.Build(rep)
	} else if g, err = topo.BuildPath(rep, f.path); err != nil {
		if errors.Is(err, topo.ErrUnknownPath) {
			return &exitError{code: exitUsage, err: fmt.Errorf("--path: %w", err)}
		}
		return err
	}
	var dot bytes.Buffer
	if err := topo.WriteDOT(&dot, g, topo.DOTOptions{Legend: !f.noLegend, MACs: f.macs}); err != nil {
		return err
	}
	out := dot.Bytes()
	if format == "svg" {
		if out, err = topo.RenderSVG(cmd.Context(), out); err != nil {
			return err
		}
	}
	// The file is written only once the diagram exists, so a failure leaves nothing behind.
	if f.output == "-" {
		_, err = e.stdout.Write(out)
		return err
	}
	if err := os.WriteFile(f.output, out, 0o644); err != nil {
		return usageErr("-o: %v", err)
	}
	return nil
}
