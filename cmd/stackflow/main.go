// Command stackflow analyzes packet captures from software-defined datacenter networks (Azure
// Stack / Windows Server SDN style): it follows each conversation across NAT, routing, VXLAN
// and Direct Server Return, rebuilds BGP, and reports paths, flows and findings. It also
// regenerates such traffic. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes (DESIGN.md 6.1, README "Exit codes").
const (
	exitOK       = 0 // a report was written (empty inputs included)
	exitInternal = 1 // an internal error
	exitUsage    = 2 // an argument is unusable (checked before reading anything)
	exitNoInput  = 3 // no input was readable
)

// exitError carries an exit code through cobra's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// env is what commands need from the process, injectable for tests.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	isTerminal     func(fd uintptr) bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, isTerminal: isTerminal})
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, e env) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(e.stderr, "stackflow: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if isFlagError(err) {
		return exitUsage
	}
	return exitInternal
}

func newRootCmd(e env) *cobra.Command {
	root := &cobra.Command{
		Use:   "stackflow",
		Short: "Follow conversations across an SDN datacenter's NAT, routers, Muxes and hosts",
		Long: `stackflow reads packet captures (pcap, pcapng, gzip, one per capture point or merged)
from software-defined datacenter networks of the Azure Stack / Windows Server SDN kind and follows
each conversation across NAT, routing, VXLAN/NVGRE/Geneve encapsulation and Direct Server Return.
It rebuilds BGP, infers each node's role and reports paths, flows and findings.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: err}
	})
	root.AddCommand(newAnalyzeCmd(e), newReplayCmd(e), newExportCmd(e), newVersionCmd(e))
	root.AddCommand(newUICmd(e))
	root.AddCommand(newDiagramCmd(e))
	return root
}

// isFlagError recognises cobra's argument-count and unknown-command errors.
func isFlagError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "unknown flag", "unknown shorthand"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
