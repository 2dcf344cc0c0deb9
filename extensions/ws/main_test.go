package ws

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind, e.g. a
// socket reader or writer that outlived its socket or VU context.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
