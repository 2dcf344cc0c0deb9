package measure

import "time"

// The clock. k6 stamps message events (k6/websockets, and our k6/x/sse) with
// the wall clock: float64(t.UnixNano()) / 1e6, milliseconds since the Unix
// epoch. now() speaks the same unit and origin, so a script can subtract an
// event's timestamp from it, but it advances on the monotonic clock: it is
// the wall clock read once when the process started plus the monotonic time
// elapsed since. It never steps back when the wall clock is adjusted; it can
// drift from the wall clock by the adjustment (NTP slews by at most 0.5 ms/s).
//
// Resolution: Go reads both clocks in nanoseconds; a float64 holding ~1.8e12
// ms keeps steps of 2^-12 ms (0.24 µs).
var origin = time.Now()

var originMs = float64(origin.UnixNano()) / 1e6

// nowMs is the module's now().
func nowMs() float64 { return msAt(time.Now()) }

// msAt converts a time taken with time.Now() (which carries a monotonic
// reading) into now()'s scale.
func msAt(t time.Time) float64 { return originMs + float64(t.Sub(origin))/1e6 }
