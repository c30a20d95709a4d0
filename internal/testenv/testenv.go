// Package testenv locates what tests read beside the code: the repository root, the public
// captures in ../shared/captures (MANIFEST.md), and the samples. It also reads a capture with
// gopacket's pcapgo, the independent reader tests compare our own against.
//
// It is imported only by tests; internal/ keeps it private to the module.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Root returns the directory holding go.mod, walking up from the working directory (go test
// runs each package's tests in that package's directory).
func Root() (string, error) {
	start, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the repository root: %w", err)
	}
	for dir := start; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod in %q or any folder above it: %w", start, os.ErrNotExist)
		}
		dir = parent
	}
}

// Captures returns <root>/../shared/captures, or an error saying why it is not there. Fuzz
// targets seed from it when it is present and carry on without it.
func Captures() (string, error) {
	root, err := Root()
	if err != nil {
		return "", fmt.Errorf("locate ../shared/captures: %w", err)
	}
	dir := filepath.Join(root, "..", "shared", "captures")
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("public captures beside the repository root: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("public captures %q is not a folder", dir)
	}
	return dir, nil
}

// CapturesOrSkip returns the public captures folder, or skips the test, logging why, when it
// is absent: the captures live outside the repository, so a checkout on its own still passes.
func CapturesOrSkip(tb testing.TB) string {
	tb.Helper()
	dir, err := Captures()
	if err != nil {
		tb.Skipf("skipping: needs the public captures (../shared/captures, listed in its MANIFEST.md): %v", err)
	}
	return dir
}

// Capture returns the path of one public capture. It skips the test when the captures folder
// is absent and fails it when the folder is there without that file (the manifest and the
// test disagree).
func Capture(tb testing.TB, name string) string {
	tb.Helper()
	dir := CapturesOrSkip(tb)
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("public capture %q missing from %s (see MANIFEST.md): %v", name, dir, err)
	}
	return path
}

// Samples returns <root>/samples. The samples are committed with the code, so a missing root
// or folder fails the test rather than skipping it.
func Samples(tb testing.TB) string {
	tb.Helper()
	root, err := Root()
	if err != nil {
		tb.Fatalf("locate samples: %v", err)
	}
	dir := filepath.Join(root, "samples")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		tb.Fatalf("committed samples folder %q missing (%v)", dir, err)
	}
	return dir
}

// Sample returns the path of one committed sample (name may hold slashes for subfolders),
// failing the test when it is missing.
func Sample(tb testing.TB, name string) string {
	tb.Helper()
	path := filepath.Join(Samples(tb), filepath.FromSlash(name))
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("committed sample %q missing: %v", name, err)
	}
	return path
}
