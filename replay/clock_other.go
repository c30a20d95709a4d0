//go:build !linux

package replay

import "time"

// DefaultSpinWindow is how long before a deadline the pacer stops sleeping and starts
// busy-waiting. Go's timers can wake up ~1 ms late, hence 2 ms.
const DefaultSpinWindow = 2 * time.Millisecond

// coarseSleep is time.Sleep off Linux.
func coarseSleep(d time.Duration) { time.Sleep(d) }
