package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUIRefusesWithoutTerminal: with stdout redirected the UI cannot draw; it says so on one
// line and exits 2 before reading anything.
func TestUIRefusesWithoutTerminal(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "ui", sample(t))
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "needs a terminal") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestInputsTitle(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"one file", []string{"samples/a.pcapng"}, "samples/a.pcapng"},
		// One capture per point usually sits in one directory: say so instead of listing them.
		{"one directory", []string{"lab/a.pcap.gz", "lab/b.pcap.gz"}, "2 files in lab"},
		{"several directories", []string{"a.pcap", "x/b.pcap", "-"}, "3 inputs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := inputsTitle(c.args); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestRunGuarded: a panic while the UI runs becomes exit code 1, with the panic and its stack
// on stderr and in the log.
func TestRunGuarded(t *testing.T) {
	var stderr, logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	err := runGuarded(context.Background(), func(context.Context) error { panicInUI(); return nil }, &stderr, log)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitInternal {
		t.Fatalf("err %v, want an internal error", err)
	}
	for _, w := range []string{"panic in the ui: kaboom", "panicInUI"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("%q missing from stderr:\n%s", w, stderr.String())
		}
	}
	for _, w := range []string{"panic=kaboom", "panicInUI"} {
		if !strings.Contains(logBuf.String(), w) {
			t.Errorf("%q missing from the log:\n%s", w, logBuf.String())
		}
	}
	if err := runGuarded(context.Background(), func(context.Context) error { return nil }, &stderr, log); err != nil {
		t.Errorf("no panic: %v", err)
	}
}

func panicInUI() { panic("kaboom") }

func TestUILog(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	cases := []struct {
		name   string
		warn   bool
		failed bool
		kept   bool
	}{
		{"clean run leaves nothing behind", false, false, false},
		{"a warning keeps the log", true, false, true},
		{"a failure keeps the log", false, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			log, path, closeLog := openUILog(&stderr)
			if filepath.Dir(path) != os.TempDir() {
				t.Errorf("log %s not in %s", path, os.TempDir())
			}
			log.Info("hello")
			if c.warn {
				log.Warn("careful")
			}
			kept := closeLog(c.failed)
			_, statErr := os.Stat(path)
			if kept != c.kept || (statErr == nil) != c.kept {
				t.Errorf("kept %v, file exists %v, want %v", kept, statErr == nil, c.kept)
			}
		})
	}
}

// TestUITmux runs the built binary in a detached tmux session, drives it with keys as a user
// would, and reads the screen with capture-pane.
func TestUITmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed; the end-to-end UI test needs it (apt-get install tmux)")
	}
	if testing.Short() {
		t.Skip("-short: skipping the end-to-end UI test")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "stackflow")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tmpdir := filepath.Join(dir, "tmp")
	os.Mkdir(tmpdir, 0o755)
	server := fmt.Sprintf("stackflow-ui-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	tmux := func(args ...string) (string, error) {
		out, err := exec.Command("tmux", append([]string{"-L", server}, args...)...).CombinedOutput()
		return string(out), err
	}
	script := fmt.Sprintf("TMPDIR=%s %s ui samples/azurestack-poc.pcapng; echo \"exit status $?\"; sleep 60", tmpdir, bin)
	if out, err := tmux("new-session", "-d", "-s", "ui", "-x", "120", "-y", "30", "-c", root, "sh", "-c", script); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	socket, _ := tmux("display-message", "-p", "#{socket_path}")
	t.Cleanup(func() {
		tmux("kill-server")
		if socket = strings.TrimSpace(socket); socket != "" {
			os.Remove(socket) // kill-server can leave the socket file behind
		}
	})
	tmux("set", "-s", "escape-time", "0")

	screen := func() string { s, _ := tmux("capture-pane", "-p"); return s }
	waitFor := func(want ...string) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		var s string
		for time.Now().Before(deadline) {
			s = screen()
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(s, w)
			}
			if ok {
				return s
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("screen never showed %q:\n%s", want, s)
		return ""
	}
	keys := func(k ...string) {
		t.Helper()
		if out, err := tmux(append([]string{"send-keys", "-t", "ui"}, k...)...); err != nil {
			t.Fatalf("send-keys %v: %v %s", k, err, out)
		}
		// One key at a time, as a person types: two Escapes in one read are one Alt+Esc.
		time.Sleep(100 * time.Millisecond)
	}

	waitFor("1 Paths", "96 paths", "PATH ", "paired: ")
	keys("2")
	waitFor("COMMUNITY ID", "sorted by bytes, descending")
	keys("1")
	// Down the path list to the client's path through NAT, router, Mux and host.
	for i := 0; i < 10 && !strings.Contains(screen(), "forward · 5 hops"); i++ {
		keys("Down")
		time.Sleep(100 * time.Millisecond)
	}
	waitFor("forward · 5 hops", "paired: ", "DSR")
	keys("Enter")
	waitFor("hop packets", "client-nat", "host-portal", "decap+dnat")
	keys("Enter")
	waitFor("Ethernet  ", "0000  ")
	keys("Escape")
	keys("Escape")
	waitFor("PATH ")
	keys("/")
	keys("-l", "host 1.2.3")
	keys("Enter")
	waitFor("^ column")
	keys("Escape")
	keys("?")
	waitFor("Everywhere", "show the Findings view", "quit (Ctrl+C too)")
	keys("q")
	keys("6")
	waitFor("0 findings", "No findings")
	keys("q")
	s := waitFor("exit status 0")
	if strings.Contains(s, "1 Paths") {
		t.Errorf("the UI's screen was not cleared on exit:\n%s", s)
	}
	if logs, _ := filepath.Glob(filepath.Join(tmpdir, "stackflow-ui-*.log")); len(logs) != 0 {
		t.Errorf("a clean run left its log behind: %v", logs)
	}
}
