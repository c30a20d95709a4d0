package replay

import (
	"runtime"
	"time"
)

// Clock is the pacer's view of time, injected so that tests can run schedules instantly.
type Clock interface {
	// Now returns the current time; only differences between its results are used.
	Now() time.Time
	// Sleep waits for d. The pacer asks for long waits (more than its spin window before a
	// deadline) and for short final waits separately, so an implementation may treat them
	// differently.
	Sleep(d time.Duration)
}

// RealClock is the wall clock. Sleep blocks in the kernel for waits longer than SpinBelow
// (nanosleep(2) on Linux, which wakes ~70 µs late; Go's time.Sleep wakes up to ~1 ms late,
// as measured here, and serves elsewhere) and busy-waits, yielding with runtime.Gosched, for
// shorter ones: a deadline is kept to a few microseconds at the cost of a busy core close to it.
type RealClock struct {
	SpinBelow time.Duration // 0 means DefaultSpinWindow
}

// Now returns time.Now(), which carries the monotonic reading used for all differences.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits for d.
func (c RealClock) Sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	spin := c.SpinBelow
	if spin == 0 {
		spin = DefaultSpinWindow
	}
	if d > spin {
		coarseSleep(d)
		return
	}
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		runtime.Gosched()
	}
}
