package sse

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind, e.g. a
// stream reader that outlived its EventSource or VU context.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
