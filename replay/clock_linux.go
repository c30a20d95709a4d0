//go:build linux

package replay

import (
	"syscall"
	"time"
)

// DefaultSpinWindow is how long before a deadline the pacer stops sleeping and starts
// busy-waiting. nanosleep(2) wakes ~65-75 µs late here (p99 ~130 µs on a loaded machine), so
// 200 µs leaves room for that.
const DefaultSpinWindow = 200 * time.Microsecond

// coarseSleep blocks the thread in nanosleep(2), resuming after signals (the Go runtime's
// preemption signals interrupt it).
func coarseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for {
		var rem syscall.Timespec
		err := syscall.Nanosleep(&ts, &rem)
		if err != syscall.EINTR {
			return
		}
		ts = rem
	}
}
