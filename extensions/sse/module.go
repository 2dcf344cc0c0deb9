package sse

import (
	"errors"
	"fmt"
	"sync"

	"github.com/grafana/sobek"

	"go.k6.io/k6/v2/js/common"
	"go.k6.io/k6/v2/js/modules"
	"go.k6.io/k6/v2/metrics"

	"rtbench.test/xk6-sse/vujs"
)

// ImportPath is the name scripts import the module by.
const ImportPath = "k6/x/sse"

func init() {
	modules.Register(ImportPath, New())
}

// Ready states, as in the browser's EventSource.
const (
	stateConnecting = 0
	stateOpen       = 1
	stateClosed     = 2
)

// Metric names.
const (
	metricConnecting = "sse_connecting"
	metricEvents     = "sse_events_received"
	metricReconnects = "sse_reconnects"
	metricBytes      = "sse_bytes_received"
)

// RootModule is the process-wide part of the module. It owns the custom
// metrics, registered once on the first VU that imports the module.
type RootModule struct {
	once    sync.Once
	metrics *sseMetrics
	err     error
}

type sseMetrics struct {
	connecting, events, reconnects, bytes *metrics.Metric
}

var _ modules.Module = (*RootModule)(nil)

// New returns the root module. Tests create their own; k6 uses the one
// registered in init.
func New() *RootModule { return &RootModule{} }

// NewModuleInstance is called once per VU, in the init context.
func (r *RootModule) NewModuleInstance(vu modules.VU) modules.Instance {
	r.once.Do(func() {
		env := vu.InitEnv()
		if env == nil || env.Registry == nil {
			r.err = errors.New("k6/x/sse must be imported in the init context")
			return
		}
		r.metrics, r.err = registerMetrics(env.Registry)
	})
	if r.err != nil {
		common.Throw(vu.Runtime(), r.err)
	}
	return &ModuleInstance{vu: vu, metrics: r.metrics}
}

func registerMetrics(reg *metrics.Registry) (*sseMetrics, error) {
	var m sseMetrics
	var errs []error
	add := func(dst **metrics.Metric, name string, typ metrics.MetricType, vt ...metrics.ValueType) {
		var err error
		*dst, err = reg.NewMetric(name, typ, vt...)
		errs = append(errs, err)
	}
	add(&m.connecting, metricConnecting, metrics.Trend, metrics.Time)
	add(&m.events, metricEvents, metrics.Counter)
	add(&m.reconnects, metricReconnects, metrics.Counter)
	add(&m.bytes, metricBytes, metrics.Counter, metrics.Data)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("registering k6/x/sse metrics: %w", err)
	}
	return &m, nil
}

// ModuleInstance is the per-VU part of the module.
type ModuleInstance struct {
	vu      modules.VU
	metrics *sseMetrics
	key     *sobek.Symbol // where an EventSource object keeps its Go side
	exports *modules.Exports
}

var _ modules.Instance = (*ModuleInstance)(nil)

// Exports exposes the EventSource constructor with the ready-state constants
// (vujs.Class), made once per VU.
func (mi *ModuleInstance) Exports() modules.Exports {
	if mi.exports != nil {
		return *mi.exports
	}
	rt := mi.vu.Runtime()
	ctor, key := vujs.Class(rt, "EventSource", mi.newEventSource,
		map[string]int{"CONNECTING": stateConnecting, "OPEN": stateOpen, "CLOSED": stateClosed},
		func(proto *sobek.Object, key *sobek.Symbol) { defineProto(rt, proto, key) })
	mi.key = key
	mi.exports = &modules.Exports{Named: map[string]any{"EventSource": ctor}}
	return *mi.exports
}
