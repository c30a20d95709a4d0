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

// DefaultSpinWindow is how long before a deadline the pacer stops sleeping and starts
// busy-waiting. Go's timers wake up to ~1 ms late on Linux (measured here: a 100 µs
// time.Sleep takes ~1.05 ms), so a narrower window would miss deadlines by that much.
const DefaultSpinWindow = 2 * time.Millisecond

// RealClock is the wall clock. Sleep uses the Go timer for waits longer than SpinBelow and
// busy-waits (yielding with runtime.Gosched) for shorter ones, which keeps a deadline to a few
// microseconds at the cost of one busy core while close to it.
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
		time.Sleep(d)
		return
	}
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		runtime.Gosched()
	}
}
