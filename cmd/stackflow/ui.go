package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/stackflow/stackflow/flows"
	"github.com/stackflow/stackflow/ui"
)

type uiFlags struct {
	analysisFlags
}

const uiExamples = `  # Browse the Azure Stack sample: paths, flows, packets, BGP, topology, findings
  stackflow ui samples/azurestack-poc.pcapng

  # One capture per capture point, starting with the lossy paths shown
  stackflow ui client.pcap nat.pcap mux.pcapng --filter lost`

func newUICmd(e env) *cobra.Command {
	var f uiFlags
	cmd := &cobra.Command{
		Use:   "ui FILE...",
		Short: "Browse the analysis in an interactive terminal UI (paths, flows, packets, BGP, topology, findings)",
		Long: `UI analyzes the captures as analyze does (progress on stderr), then opens a terminal UI over the
report: 1 Paths (grouped by shape, with hops and the paired return path), 2 Flows (sortable),
3 Packets (the packets of a path, flow or finding, re-read from the captures, with a layer
tree and hex dump), 4 BGP, 5 Topology, 6 Findings. Number keys and Tab switch views, '/'
filters with the --filter language, '?' lists every key, 'q' quits.

It needs a terminal: with stdout redirected it refuses to start (exit 2); use analyze for text
or JSON. While it runs, its log goes to a file in the temporary directory (removed after a
clean exit, otherwise named on stderr). Give the same analysis options as to analyze to get
the same ids.

Exit codes: as analyze (2 also when stdout is not a terminal).`,
		Example:           uiExamples,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: captureFileCompletion,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUI(cmd, e, f, args)
		},
	}
	fl := cmd.Flags()
	f.analysisFlags.register(fl, analysisFlagSet{names: true, filter: true,
		filterHelp: "start with the report narrowed by this filter (change it with '/')"})
	return cmd
}

func runUI(cmd *cobra.Command, e env, f uiFlags, args []string) (err error) {
	if !isTerminalWriter(e, e.stdout) {
		return usageErr("ui needs a terminal and stdout is not one; use stackflow analyze for text or JSON output")
	}
	// The model applies --filter itself (and '/' changes it), so the analysis keeps the whole
	// report.
	filter := f.filter
	f.filter = ""
	if filter != "" {
		if _, err := flows.CompileFilter(filter); err != nil {
			return usageErr("--filter %q: %v", filter, err)
		}
	}
	rep, opts, problems, err := runAnalysis(cmd, e, &f.analysisFlags, args, "")
	if err != nil {
		return err
	}

	logger, logPath, closeLog := openUILog(e.stderr)
	prevDefault := slog.Default()
	slog.SetDefault(logger.Logger)
	defer func() {
		slog.SetDefault(prevDefault)
		if closeLog(err != nil) {
			fmt.Fprintf(e.stderr, "stackflow: the ui's log is in %s\n", logPath)
		}
	}()
	logger.Info("analysis", "inputs", strings.Join(args, " "), "packets", rep.Capture.Packets,
		"paths", len(rep.Paths), "flows", len(rep.Flows), "problems", problems.Count())

	model := ui.NewModel(rep, &ui.FileSource{Files: args, Options: opts, Points: rep.Capture.Points}, logger.Logger)
	if filter != "" {
		if err := model.SetFilter(filter); err != nil {
			return usageErr("--filter %q: %v", filter, err)
		}
	}
	app, err := ui.New(model, ui.Options{Title: inputsTitle(args), Logger: logger.Logger, LogPath: logPath, VXLANPorts: opts.VXLANPorts})
	if err != nil {
		return err
	}
	return runGuarded(cmd.Context(), app.Run, e.stderr, logger.Logger)
}

// inputsTitle names the inputs in the UI's context line: the file, or how many files and the
// directory they share.
func inputsTitle(args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	dir := filepath.Dir(args[0])
	for _, a := range args[1:] {
		if filepath.Dir(a) != dir {
			return fmt.Sprintf("%d inputs", len(args))
		}
	}
	return fmt.Sprintf("%d files in %s", len(args), dir)
}

// runGuarded runs the app; a panic (the terminal already restored by the UI library, which
// finalises the screen before re-panicking) is logged and printed with its stack after the
// UI is gone, and becomes an internal error (exit 1).
func runGuarded(ctx context.Context, run func(context.Context) error, stderr io.Writer, log *slog.Logger) (err error) {
	defer func() {
		if p := recover(); p != nil {
			stack := debug.Stack()
			log.Error("panic", "panic", fmt.Sprint(p), "stack", string(stack))
			fmt.Fprintf(stderr, "stackflow: panic in the ui: %v\n%s\n", p, stack)
			err = &exitError{code: exitInternal, err: fmt.Errorf("panic in the ui: %v", p)}
		}
	}()
	return run(ctx)
}

// countingLogger is a logger that remembers whether anything at warning level or above was
// logged, to decide whether its file is worth keeping.
type countingLogger struct {
	*slog.Logger
	serious *atomic.Int64
}

type countingHandler struct {
	slog.Handler
	serious *atomic.Int64
}

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.serious.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func (h countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return countingHandler{h.Handler.WithAttrs(as), h.serious}
}

func (h countingHandler) WithGroup(name string) slog.Handler {
	return countingHandler{h.Handler.WithGroup(name), h.serious}
}

// openUILog creates the ui's log file in the temporary directory (stderr belongs to the
// screen while the UI runs). closeLog closes it, removes it after a clean run, and reports
// whether it was kept (something went wrong: failed, or warnings were logged). Without a
// usable temporary directory, logs are dropped.
func openUILog(stderr io.Writer) (countingLogger, string, func(failed bool) (kept bool)) {
	serious := &atomic.Int64{}
	fh, err := os.CreateTemp(os.TempDir(), "stackflow-ui-*.log")
	if err != nil {
		fmt.Fprintf(stderr, "stackflow: warning: no log file: %v\n", err)
		return countingLogger{slog.New(countingHandler{slog.DiscardHandler, serious}), serious}, "", func(bool) bool { return false }
	}
	h := countingHandler{slog.NewTextHandler(fh, &slog.HandlerOptions{Level: slog.LevelInfo}), serious}
	return countingLogger{slog.New(h), serious}, fh.Name(), func(failed bool) bool {
		fh.Close()
		if failed || serious.Load() > 0 {
			return true
		}
		os.Remove(fh.Name())
		return false
	}
}
