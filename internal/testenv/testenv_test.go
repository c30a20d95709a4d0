package testenv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that notes a skip or failure and stops the calling goroutine, as
// the real ones do, so a test can check what a helper said.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls fn on its own goroutine (Goexit ends only that one) and returns what fn returned,
// or "" when it was stopped.
func (r *recorder) run(fn func(testing.TB) string) string {
	var got string
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = fn(r)
	}()
	<-done
	return got
}

// layout builds a temporary tree: a folder for each path ending in "/", an empty file for
// every other path. It returns the tree's root with symbolic links resolved, as os.Getwd
// reports it after a Chdir there.
func layout(t *testing.T, paths ...string) string {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		full := filepath.Join(base, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return base
}

// noGoModAbove skips when a go.mod sits above the temporary folder, since the "no root" cases
// cannot be set up there.
func noGoModAbove(t *testing.T, dir string) {
	t.Helper()
	t.Chdir(dir)
	if root, err := Root(); err == nil {
		t.Skipf("a go.mod at %s sits above the temporary folder; cannot test a missing root", root)
	}
}

// TestRootInRepository: from this package's folder the root is two levels up and holds the
// module's go.mod.
func TestRootInRepository(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(mod), "module github.com/stackflow/stackflow\n") {
		t.Errorf("go.mod at %s is not stackflow's:\n%.80s", root, mod)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Dir(filepath.Dir(wd)); root != want {
		t.Errorf("Root() = %s, want %s (two levels above %s)", root, want, wd)
	}
}

// TestRoot walks temporary trees. Tests use t.Chdir, so none runs in parallel.
func TestRoot(t *testing.T) {
	t.Run("deep below go.mod", func(t *testing.T) {
		// The walk must climb several levels and stop at the first go.mod.
		base := layout(t, "repo/go.mod", "repo/a/b/c/")
		t.Chdir(filepath.Join(base, "repo", "a", "b", "c"))
		got, err := Root()
		if err != nil || got != filepath.Join(base, "repo") {
			t.Errorf("Root() = %q, %v; want %q", got, err, filepath.Join(base, "repo"))
		}
	})
	t.Run("nearest go.mod wins", func(t *testing.T) {
		// A nested module (a go.mod below another) is its own root, as for the go command.
		base := layout(t, "go.mod", "inner/go.mod", "inner/x/")
		t.Chdir(filepath.Join(base, "inner", "x"))
		got, err := Root()
		if err != nil || got != filepath.Join(base, "inner") {
			t.Errorf("Root() = %q, %v; want %q", got, err, filepath.Join(base, "inner"))
		}
	})
	t.Run("no go.mod anywhere", func(t *testing.T) {
		// Outside any module Root must fail with a reason, not return "/" or "".
		noGoModAbove(t, layout(t, "a/"))
		got, err := Root()
		if err == nil || got != "" || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "go.mod") {
			t.Errorf("Root() = %q, %v; want an error naming go.mod and wrapping fs.ErrNotExist", got, err)
		}
	})
}

// TestCaptures checks the captures folder is found beside the root, and each way it can be
// missing is an error that says so.
func TestCaptures(t *testing.T) {
	tests := []struct {
		name    string
		paths   []string
		noRoot  bool
		want    string // path below the layout, "" for an error
		wantErr string
	}{
		// The normal layout: /work/main beside /work/shared/captures.
		{name: "present", paths: []string{"main/go.mod", "main/pkg/", "shared/captures/"}, want: "shared/captures"},
		// A checkout on its own: tests must be told why, to skip.
		{name: "absent", paths: []string{"main/go.mod", "main/pkg/"}, wantErr: "no such file"},
		// A file where the folder should be is not a captures folder.
		{name: "a file", paths: []string{"main/go.mod", "main/pkg/", "shared/captures"}, wantErr: "not a folder"},
		// Without a root there is nothing to resolve ../shared against.
		{name: "no root", paths: []string{"main/pkg/", "shared/captures/"}, noRoot: true, wantErr: "go.mod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := layout(t, tt.paths...)
			dir := filepath.Join(base, "main", "pkg")
			if tt.noRoot {
				noGoModAbove(t, dir)
			} else {
				t.Chdir(dir)
			}
			got, err := Captures()
			if tt.want != "" {
				if want := filepath.Join(base, filepath.FromSlash(tt.want)); err != nil || got != want {
					t.Errorf("Captures() = %q, %v; want %q", got, err, want)
				}
				return
			}
			if err == nil || got != "" || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Captures() = %q, %v; want an error containing %q", got, err, tt.wantErr)
			}
		})
	}
}

// TestCapturesOrSkipSkips runs CapturesOrSkip outside any module: the real testing.T must end
// the subtest as skipped (not failed, not carrying on), and the reason must say what is missing.
func TestCapturesOrSkipSkips(t *testing.T) {
	noGoModAbove(t, layout(t, "nowhere/"))
	reached := false
	var sub *testing.T
	ok := t.Run("skip", func(t *testing.T) {
		sub = t
		CapturesOrSkip(t)
		reached = true
	})
	if !ok || !sub.Skipped() || reached {
		t.Errorf("subtest passed=%v skipped=%v carried on=%v; want a skip that stops it", ok, sub.Skipped(), reached)
	}
	r := &recorder{TB: t}
	if got := r.run(CapturesOrSkip); got != "" || r.failed != "" ||
		!strings.Contains(r.skipped, "../shared/captures") || !strings.Contains(r.skipped, "go.mod") {
		t.Errorf("returned %q, failed %q, skipped %q; want a skip naming ../shared/captures and the missing go.mod", got, r.failed, r.skipped)
	}
}

// TestCapture: a listed file is returned, a missing one fails the test (the folder is there,
// so the test and the manifest disagree), and no folder at all skips.
func TestCapture(t *testing.T) {
	tests := []struct {
		name             string
		paths            []string
		file             string
		wantSkip, wantOK bool
	}{
		// The file is where the manifest says.
		{name: "present", paths: []string{"main/go.mod", "shared/captures/a.pcap"}, file: "a.pcap", wantOK: true},
		// A renamed or deleted capture must not pass as a skip.
		{name: "file missing", paths: []string{"main/go.mod", "shared/captures/a.pcap"}, file: "b.pcap"},
		// No captures at all: skip, as every capture test does.
		{name: "folder missing", paths: []string{"main/go.mod"}, file: "a.pcap", wantSkip: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := layout(t, tt.paths...)
			t.Chdir(filepath.Join(base, "main"))
			r := &recorder{TB: t}
			got := r.run(func(tb testing.TB) string { return Capture(tb, tt.file) })
			switch {
			case tt.wantOK:
				if want := filepath.Join(base, "shared", "captures", tt.file); got != want || r.failed != "" || r.skipped != "" {
					t.Errorf("Capture = %q (failed %q, skipped %q), want %q", got, r.failed, r.skipped, want)
				}
			case tt.wantSkip:
				if r.skipped == "" || r.failed != "" {
					t.Errorf("Capture skipped %q, failed %q; want a skip", r.skipped, r.failed)
				}
			default:
				if !strings.Contains(r.failed, tt.file) || r.skipped != "" {
					t.Errorf("Capture failed %q, skipped %q; want a failure naming %s", r.failed, r.skipped, tt.file)
				}
			}
		})
	}
}

// TestSample: a committed sample, also one in a subfolder, resolves under samples/; a name not
// there fails the test, naming it.
func TestSample(t *testing.T) {
	for _, name := range []string{"azurestack-poc.yaml", "lab/captures/timeline.json"} {
		// Both a top-level file and a slash-separated path below samples/.
		t.Run(name, func(t *testing.T) {
			got := Sample(t, name)
			if want := filepath.Join(Samples(t), filepath.FromSlash(name)); got != want {
				t.Errorf("Sample(%q) = %s, want %s", name, got, want)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		// A typo or a deleted sample must fail, not skip.
		r := &recorder{TB: t}
		got := r.run(func(tb testing.TB) string { return Sample(tb, "no-such-sample.pcapng") })
		if got != "" || !strings.Contains(r.failed, "no-such-sample.pcapng") || r.skipped != "" {
			t.Errorf("returned %q, failed %q, skipped %q; want a failure naming the sample", got, r.failed, r.skipped)
		}
	})
}

// TestSamples: in the repository the committed samples are found; elsewhere their absence is a
// failure, never a skip, because they ship with the code.
func TestSamples(t *testing.T) {
	t.Run("repository", func(t *testing.T) {
		// The real folder, with a file every sample-based test relies on.
		dir := Samples(t)
		if _, err := os.Stat(filepath.Join(dir, "azurestack-poc.yaml")); err != nil {
			t.Errorf("Samples() = %s without azurestack-poc.yaml: %v", dir, err)
		}
	})
	t.Run("folder missing", func(t *testing.T) {
		// A root without samples/ is a broken checkout.
		t.Chdir(layout(t, "go.mod"))
		r := &recorder{TB: t}
		r.run(Samples)
		if !strings.Contains(r.failed, "samples") || r.skipped != "" {
			t.Errorf("failed %q, skipped %q; want a failure naming samples", r.failed, r.skipped)
		}
	})
	t.Run("no root", func(t *testing.T) {
		// Outside the module the samples cannot be located at all.
		noGoModAbove(t, layout(t, "x/"))
		r := &recorder{TB: t}
		r.run(Samples)
		if !strings.Contains(r.failed, "go.mod") || r.skipped != "" {
			t.Errorf("failed %q, skipped %q; want a failure naming go.mod", r.failed, r.skipped)
		}
	})
}
