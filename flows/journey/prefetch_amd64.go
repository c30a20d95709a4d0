package journey

import "unsafe"

// prefetch asks the CPU to start loading the cache line at p, without waiting for it: the
// fingerprint index is too large for the caches, and the lookup that needs the line comes a
// hundred nanoseconds of other work later.
//
//go:noescape
func prefetch(p unsafe.Pointer)
