package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stackflow/stackflow/flows"
)

// analysisFlags are the flags of every command that runs an analysis (analyze, diagram, ui,
// export): they shape flows.Options and mean the same everywhere, so ids agree between commands
// given the same flags.
type analysisFlags struct {
	vxlanPorts   []uint
	window       time.Duration
	clockOffsets []string
	names        string
	filter       string
	noProgress   bool
}

// analysisFlagSet says which of the optional flags a command takes; export takes neither,
// since it must reproduce an analysis's ids (--names and --filter change none).
type analysisFlagSet struct {
	names, filter bool
	filterHelp    string
}

func (f *analysisFlags) register(fl *pflag.FlagSet, set analysisFlagSet) {
	fl.UintSliceVar(&f.vxlanPorts, "vxlan-port", nil, "additional UDP port to decode as VXLAN (repeatable; 4789 and 8472 always)")
	fl.DurationVar(&f.window, "window", time.Second, "correlation window for matching one packet at several hops")
	fl.StringArrayVar(&f.clockOffsets, "clock-offset", nil, "clock offset of a capture point, POINT=+3ms (repeatable); others are estimated")
	if set.names {
		fl.StringVar(&f.names, "names", "", "`FILE` mapping addresses or MACs to names and roles, one 'ADDR-OR-MAC NAME [ROLE,...]' per line")
	}
	if set.filter {
		help := set.filterHelp
		if help == "" {
			help = "narrow the report: e.g. 'host 10.0.0.4 and port 443', 'role mux', 'dsr', 'not point client*' (docs/filter.md)"
		}
		fl.StringVar(&f.filter, "filter", "", help)
	}
	fl.BoolVar(&f.noProgress, "no-progress", false, "never show progress on stderr")
}

// options checks the flags (usage errors, exit 2) and returns the analysis options and the
// compiled filter (nil without --filter).
func (f *analysisFlags) options() (flows.Options, *flows.Filter, error) {
	var filter *flows.Filter
	if f.filter != "" {
		var err error
		if filter, err = flows.CompileFilter(f.filter); err != nil {
			return flows.Options{}, nil, usageErr("--filter %q: %v", f.filter, err)
		}
	}
	if f.window <= 0 {
		return flows.Options{}, nil, usageErr("--window %v: must be positive", f.window)
	}
	offsets, err := parseClockOffsets(f.clockOffsets)
	if err != nil {
		return flows.Options{}, nil, usageErr("%v", err)
	}
	opts := flows.Options{Window: f.window, ClockOffsets: offsets}
	for _, p := range f.vxlanPorts {
		if p == 0 || p > 65535 {
			return flows.Options{}, nil, usageErr("--vxlan-port %d: not a UDP port", p)
		}
		opts.VXLANPorts = append(opts.VXLANPorts, uint16(p))
	}
	if f.names != "" {
		nt, err := flows.LoadNames(f.names)
		if err != nil {
			return flows.Options{}, nil, usageErr("--names: %v", err)
		}
		opts.Names = nt
	}
	return opts, filter, nil
}

// checkInputs checks the input arguments before anything is read: each exists and is not a
// directory, stdin is given at most once (never when the inputs are read twice), and output,
// a file name, is not also an input.
func checkInputs(args []string, output string, readTwice bool) error {
	stdin := 0
	for _, a := range args {
		if a == "-" {
			if readTwice {
				return usageErr(`"-" (stdin): this command reads its inputs twice (analysis, then packets) and stdin can be read only once; save it to a file first`)
			}
			stdin++
			continue
		}
		if st, err := os.Stat(a); err != nil {
			return usageErr("%v", err)
		} else if st.IsDir() {
			return usageErr("%s: is a directory, not a capture file", a)
		}
		if output != "" && output != "-" && sameFile(a, output) {
			return usageErr("-o %s: is also an input; choose another output file", output)
		}
	}
	if stdin > 1 {
		return usageErr(`"-" (stdin) may be given only once`)
	}
	return nil
}

// checkOutputDir checks, before anything is read, that an output file's folder exists ("-"
// and "" mean stdout and need none).
func checkOutputDir(flag, output string) error {
	if output == "-" || output == "" {
		return nil
	}
	dir := filepath.Dir(output)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return usageErr("%s %s: folder %s does not exist", flag, output, dir)
	}
	return nil
}

// openAnalysisInputs opens the inputs; when none is readable it prints why and returns the
// "no input" error (exit 3).
func openAnalysisInputs(e env, args []string, problems *flows.ProblemCollector) ([]flows.InputSource, error) {
	inputs, err := flows.OpenInputs(args, e.stdin, problems)
	if err != nil {
		return nil, classifyOpenError(err)
	}
	if allUnreadable(inputs) {
		for _, p := range problems.Problems() {
			fmt.Fprintf(e.stderr, "stackflow: %s: %s\n", p.File, p.Message)
		}
		return nil, &exitError{code: exitNoInput, err: flows.ErrNoInput}
	}
	return inputs, nil
}

// withProgress runs fn with a progress line on stderr when stderr is a terminal (and the user
// did not say --no-progress), clearing the line afterwards.
func withProgress(e env, f *analysisFlags, opts flows.Options, fn func(flows.Options) error) error {
	if !f.noProgress && isTerminalWriter(e, e.stderr) {
		opts.Progress = newProgress(e.stderr)
		defer fmt.Fprint(e.stderr, "\r\033[K")
	}
	return fn(opts)
}

// runAnalysis is what analyze, diagram and ui share: check, open, analyse with progress, filter.
func runAnalysis(cmd *cobra.Command, e env, f *analysisFlags, args []string, output string) (*flows.Report, flows.Options, *flows.ProblemCollector, error) {
	opts, filter, err := f.options()
	if err != nil {
		return nil, opts, nil, err
	}
	if err := checkInputs(args, output, false); err != nil {
		return nil, opts, nil, err
	}
	problems := flows.NewProblemCollector(0)
	inputs, err := openAnalysisInputs(e, args, problems)
	if err != nil {
		return nil, opts, nil, err
	}
	var rep *flows.Report
	err = withProgress(e, f, opts, func(o flows.Options) error {
		var err error
		rep, err = flows.Analyze(cmd.Context(), inputs, o, problems)
		return err
	})
	if err != nil {
		return nil, opts, nil, err
	}
	if filter != nil {
		rep = filter.Apply(rep)
	}
	return rep, opts, problems, nil
}
