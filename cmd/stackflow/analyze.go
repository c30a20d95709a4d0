package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackflow/stackflow/decode/pcapio"
	"github.com/stackflow/stackflow/flows"
)

type analyzeFlags struct {
	analysisFlags
	format string
	output string
	color  string
}

const analyzeExamples = `  # Analyze one capture and read the report
  stackflow analyze samples/azurestack-poc.pcapng

  # One capture per capture point, merged in time order; JSON for scripts
  stackflow analyze client.pcap nat-out.pcap mux.pcapng --format json > report.json

  # Read from a pipe, treat UDP 10000 as VXLAN too, widen the correlation window
  zcat big.pcap.gz | stackflow analyze - --vxlan-port 10000 --window 2s

  # Known clock skew of one capture point, and names for the nodes
  stackflow analyze a.pcap b.pcap --clock-offset b=+3ms --names names.txt

  # Only what touches the Mux's VIP traffic in VNI 4114, or paths that lost packets
  stackflow analyze samples/azurestack-poc.pcapng --filter 'vni 4114 and host 192.168.102.4'
  stackflow analyze samples/fault-hop-drops.pcapng --filter 'lost or state S0'`

func newAnalyzeCmd(e env) *cobra.Command {
	var f analyzeFlags
	cmd := &cobra.Command{
		Use:   "analyze FILE...",
		Short: "Analyze captures: flows, end-to-end paths across NAT/VXLAN/DSR, BGP, findings",
		Long: `Analyze reads one or more captures (pcap or pcapng, optionally gzip-compressed; "-" reads
stdin), merges them in timestamp order, and reports what it finds. Each (file, interface) is a
capture point. Damaged input is analysed as far as possible; each problem is listed with its file,
packet number and byte offset.

Exit codes: 0 a report was written (empty inputs included); 2 an argument is unusable (missing file,
directory, not a capture, bad flag); 3 no input was readable; 1 internal error.`,
		Example:           analyzeExamples,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: captureFileCompletion,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAnalyze(cmd, e, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.format, "format", "f", "text", "output format: text or json")
	fl.StringVarP(&f.output, "output", "o", "-", "write the report to this file")
	fl.StringVar(&f.color, "color", "auto", "colour text output: auto (only on a terminal), always, never")
	f.analysisFlags.register(fl, analysisFlagSet{names: true, filter: true})
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func captureFileCompletion(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return []string{"pcap", "pcapng", "cap", "gz"}, cobra.ShellCompDirectiveFilterFileExt
}

// parseClockOffsets reads POINT=DURATION pairs ("b=+3ms", "mux-host=-250us").
func parseClockOffsets(list []string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, s := range list {
		point, val, ok := strings.Cut(s, "=")
		if !ok || point == "" {
			return nil, fmt.Errorf("--clock-offset %q: want POINT=DURATION, e.g. mux=+3ms", s)
		}
		d, err := time.ParseDuration(strings.TrimPrefix(val, "+"))
		if err != nil {
			return nil, fmt.Errorf("--clock-offset %q: %q is not a duration such as +3ms or -250us", s, val)
		}
		out[point] = d
	}
	return out, nil
}

func runAnalyze(cmd *cobra.Command, e env, f analyzeFlags, args []string) error {
	if f.format != "text" && f.format != "json" {
		return usageErr("--format %q: want text or json", f.format)
	}
	if f.color != "auto" && f.color != "always" && f.color != "never" {
		return usageErr("--color %q: want auto, always or never", f.color)
	}
	// Everything about the arguments is checked before the output file is created.
	if _, _, err := f.options(); err != nil {
		return err
	}
	if err := checkInputs(args, f.output, false); err != nil {
		return err
	}
	if err := checkOutputDir("--output", f.output); err != nil {
		return err
	}
	rep, _, _, err := runAnalysis(cmd, e, &f.analysisFlags, args, f.output)
	if err != nil {
		return err
	}
	// The output is created only once there is a report: a failed run leaves an earlier one.
	out, closeOut, err := openOutput(f.output, e.stdout)
	if err != nil {
		return usageErr("--output: %v", err)
	}
	defer closeOut()
	switch f.format {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", " ")
		return enc.Encode(rep)
	default:
		color := f.color == "always" || (f.color == "auto" && f.output == "-" && isTerminalWriter(e, e.stdout))
		return flows.WriteText(out, rep, flows.TextOptions{Color: color})
	}
}

// allUnreadable reports whether no input could be opened at all.
func allUnreadable(inputs []flows.InputSource) bool {
	for _, in := range inputs {
		if in.Source != nil {
			return false
		}
	}
	return true
}

// classifyOpenError maps a failure to open an input to its exit code: unusable arguments (missing,
// a directory, not a capture) are 2; anything else about reading the input is 3.
func classifyOpenError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, pcapio.ErrNotCapture), errors.Is(err, pcapio.ErrEmpty),
		errors.Is(err, fs.ErrPermission):
		return &exitError{code: exitUsage, err: err}
	default:
		return &exitError{code: exitNoInput, err: err}
	}
}

func openOutput(name string, stdout io.Writer) (io.Writer, func(), error) {
	if name == "-" || name == "" {
		return stdout, func() {}, nil
	}
	fh, err := os.Create(name)
	if err != nil {
		return nil, nil, err
	}
	return fh, func() { fh.Close() }, nil
}

func isTerminalWriter(e env, w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && e.isTerminal != nil && e.isTerminal(f.Fd())
}

// newProgress returns a progress callback that redraws one stderr line at most 10 times a second.
func newProgress(w io.Writer) func(int, int64) {
	var last time.Time
	return func(packets int, bytes int64) {
		if time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		fmt.Fprintf(w, "\r\033[Kanalyzing: %d packets, %.1f MB", packets, float64(bytes)/1e6)
	}
}
