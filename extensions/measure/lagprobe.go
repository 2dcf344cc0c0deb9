package measure

import (
	"math"
	"sync"
	"time"

	"go.k6.io/k6/v2/js/modules"
)

// LagStat is what the lag probes saw since the previous snapshot: how late
// their timers ran on their VUs' event loops (0 samples: no probe ran).
type LagStat struct {
	MaxMs  float64 `js:"maxMs"`
	MeanMs float64 `js:"meanMs"`
	Count  float64 `js:"count"`
}

// lagRegister collects every probe's lateness in the process until the
// monitor takes it (snapshot), then starts over.
type lagRegister struct {
	mu       sync.Mutex
	max, sum float64
	n        int
}

func (r *lagRegister) add(late time.Duration) {
	ms := math.Max(0, float64(late)/1e6)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.max = math.Max(r.max, ms)
	r.sum += ms
	r.n++
}

func (r *lagRegister) take() LagStat {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := LagStat{MaxMs: r.max, Count: float64(r.n)}
	if r.n > 0 {
		s.MeanMs = r.sum / float64(r.n)
	}
	r.max, r.sum, r.n = 0, 0, 0
	return s
}

// timerProbe records, for the life of the process, how late a plain Go
// timer wakes up every interval: the lateness every VU probe also has (the
// process or machine short of CPU), without any event loop's own.
func timerProbe(interval time.Duration, reg *lagRegister) {
	for {
		due := time.Now().Add(interval)
		time.Sleep(interval)
		reg.add(time.Since(due))
	}
}

// startLagProbe arms a timer on the VU's event loop every interval and
// records how late its callback ran: the time from when it was due to when
// the loop ran it, which is the Go timer's wake-up delay plus the time the
// loop spent on work queued before it. It must be called on the event loop
// (in a VU's iteration). The returned stop must be called before the
// iteration can end, since k6 keeps an iteration alive while a callback is
// reserved; a cancelled VU context stops it too. A timer that fell due but
// whose callback runs only after stop() records nothing: an iteration that
// blocks its loop until it ends (a loop of blocking calls) had no events
// waiting, so its loop is not "late" for anything.
func startLagProbe(vu modules.VU, interval time.Duration, reg *lagRegister) (stop func()) {
	done := make(chan struct{})
	var once sync.Once
	var arm func()
	arm = func() {
		enqueue := vu.RegisterCallback()
		due := time.Now().Add(interval)
		go func() {
			timer := time.NewTimer(interval)
			defer timer.Stop()
			select {
			case <-timer.C:
				enqueue(func() error {
					select {
					case <-done: // stopped while this waited: the loop had nothing else to run it for
					default:
						reg.add(time.Since(due))
						arm()
					}
					return nil
				})
			case <-done:
				enqueue(func() error { return nil })
			case <-vu.Context().Done():
				enqueue(func() error { return nil })
			}
		}()
	}
	arm()
	return func() { once.Do(func() { close(done) }) }
}
