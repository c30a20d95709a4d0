//go:build !amd64

package journey

import "unsafe"

// prefetch is a no-op where no assembly hint is written.
func prefetch(p unsafe.Pointer) {}
