// Package vujstest runs an extension's JS in tests as one k6 iteration would: a VU with the
// class under test as a global, k6's dialer and a sample collector.
package vujstest

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.k6.io/k6/v2/js/modules"
	"go.k6.io/k6/v2/js/modulestest"
	"go.k6.io/k6/v2/lib"
	"go.k6.io/k6/v2/lib/netext"
	"go.k6.io/k6/v2/metrics"
)

// Env is a VU in its run phase with a module's class set as a global.
type Env struct {
	RT *modulestest.Runtime
	// Dialer is the VU's dialer: it counts the bytes k6 reports as data_received and data_sent.
	Dialer  *netext.Dialer
	ch      chan metrics.SampleContainer
	samples []metrics.Sample
}

// New makes a VU with module's export `name` as a global of that name. Every sample the
// module pushes is kept (Samples); the VU's tags carry vutag=yes, and its HTTP transport dials
// through Dialer.
func New(t *testing.T, module modules.Module, name string) *Env {
	t.Helper()
	rt := modulestest.NewRuntime(t)
	mi := module.NewModuleInstance(rt.VU)
	if err := rt.VU.RuntimeField.Set(name, mi.Exports().Named[name]); err != nil {
		t.Fatal(err)
	}
	// big enough for every test; Samples drains it
	env := &Env{RT: rt, ch: make(chan metrics.SampleContainer, 100_000)}
	env.Dialer = netext.NewDialer(net.Dialer{}, nil)
	tr := &http.Transport{DialContext: env.Dialer.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	registry := rt.VU.InitEnvField.Registry
	rt.MoveToVUContext(&lib.State{
		Options:        lib.Options{SystemTags: &metrics.DefaultSystemTagSet},
		BuiltinMetrics: rt.BuiltinMetrics,
		Dialer:         env.Dialer,
		Transport:      tr,
		Samples:        env.ch,
		Tags:           lib.NewVUStateTags(registry.RootTagSet().With("vutag", "yes")),
	})
	return env
}

// Run executes code on the event loop like one iteration would, and fails the test if the
// iteration does not end within 10 s.
func (e *Env) Run(t *testing.T, code string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := e.RT.RunOnEventLoop(code)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		e.RT.CancelContext()
		<-done
		t.Fatal("the iteration did not end")
		return nil
	}
}

// Get exports a global of the script.
func (e *Env) Get(name string) any { return e.RT.VU.Runtime().Get(name).Export() }

// Joined is the script's array global `name`, its items joined with "|".
func (e *Env) Joined(name string) string {
	items, _ := e.Get(name).([]any)
	parts := make([]string, len(items))
	for i, v := range items {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "|")
}

// Samples returns the samples of one metric pushed so far.
func (e *Env) Samples(metric string) []metrics.Sample {
	for drained := false; !drained; {
		select {
		case c := <-e.ch:
			e.samples = append(e.samples, c.GetSamples()...)
		default:
			drained = true
		}
	}
	var out []metrics.Sample
	for _, s := range e.samples {
		if s.Metric.Name == metric {
			out = append(out, s)
		}
	}
	return out
}

// Number is a number the script left in a global, as a float64 (-1 if it is not one).
func Number(v any) float64 {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case float64:
		return n
	}
	return -1
}
