package vujs

import (
	"context"
	"sync"
)

// maxPendingTasks bounds the work queued for the JS event loop per stream or
// socket.
// When a script handles events slower than they arrive, the reading
// goroutine waits instead of buffering without limit, and TCP flow control
// pushes back on the server.
const maxPendingTasks = 1024

// Bridge hands work from a stream goroutine to the VU's event loop.
//
// k6 keeps an iteration alive while a callback reserved with
// RegisterCallback has not been used, and reserving must happen on the loop
// itself. So the bridge always holds exactly one reservation while it is
// open: when it uses the reservation to schedule a drain, the drain (running
// on the loop) reserves the next one before it runs the queued tasks.
// After close, the last drain does not reserve again, which lets the
// iteration end.
type Bridge struct {
	reserve func() func(func() error) // modules.VU.RegisterCallback

	mu      sync.Mutex
	slot    func(func() error) // unused reservation; nil while a drain is scheduled
	pending []func() error
	closing bool // no more tasks after the pending ones
	done    bool // the final drain ran; nothing is reserved any more
	drained chan struct{}
}

// NewBridge must be called on the event loop.
func NewBridge(reserve func() func(func() error)) *Bridge {
	return &Bridge{reserve: reserve, slot: reserve(), drained: make(chan struct{}, 1)}
}

// Post queues fn to run on the event loop; safe from any goroutine. It
// blocks while too many tasks are pending, until the loop catches up or ctx
// is cancelled (then fn is dropped).
func (b *Bridge) Post(ctx context.Context, fn func() error) {
	for {
		b.mu.Lock()
		if b.closing || b.done {
			b.mu.Unlock()
			return
		}
		if len(b.pending) < maxPendingTasks {
			b.pending = append(b.pending, fn)
			b.scheduleLocked()
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		select {
		case <-b.drained:
		case <-ctx.Done():
			return
		}
	}
}

// Close queues last (may be nil) as the final task and releases the
// reservation once everything pending has run. Safe from any goroutine;
// later calls are no-ops.
func (b *Bridge) Close(last func() error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing || b.done {
		return
	}
	if last != nil {
		b.pending = append(b.pending, last)
	}
	b.closing = true
	b.scheduleLocked()
}

// scheduleLocked uses the reservation, if it is not already in use, to run
// drain on the loop. A drain that is already scheduled picks up whatever
// is pending when it runs.
func (b *Bridge) scheduleLocked() {
	if b.slot == nil {
		return
	}
	slot := b.slot
	b.slot = nil
	slot(b.drain) // only appends to the loop's queue; never runs drain inline
}

// drain runs on the event loop.
func (b *Bridge) drain() error {
	b.mu.Lock()
	tasks := b.pending
	b.pending = nil
	if b.closing {
		b.done = true
	} else {
		// Reserve before running the tasks: they may call back into JS,
		// which may post more work.
		b.slot = b.reserve()
	}
	b.mu.Unlock()

	select {
	case b.drained <- struct{}{}:
	default:
	}

	for _, task := range tasks {
		if err := task(); err != nil {
			return err // aborts the iteration; the stream is closed by the task
		}
	}
	return nil
}
