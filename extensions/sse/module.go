package sse

import (
	"errors"
	"fmt"
	"sync"

	"github.com/grafana/sobek"

	"go.k6.io/k6/v2/js/common"
	"go.k6.io/k6/v2/js/modules"
	"go.k6.io/k6/v2/metrics"
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

// Exports exposes the EventSource constructor, with the ready-state
// constants on both the constructor and its prototype (as in browsers,
// where es.OPEN works as well as EventSource.OPEN).
//
// k6 asks for the exports each time a script reads the imported binding (every
// `new EventSource`), so they are made once per VU: building them afresh cost
// every stream its own constructor, prototype and methods.
func (mi *ModuleInstance) Exports() modules.Exports {
	if mi.exports != nil {
		return *mi.exports
	}
	rt := mi.vu.Runtime()
	ctor := rt.ToValue(mi.newEventSource).ToObject(rt)
	proto := ctor.Get("prototype").ToObject(rt)
	mi.key = sobek.NewSymbol("EventSource internals")
	defineProto(rt, proto, mi.key)
	for name, v := range map[string]int{"CONNECTING": stateConnecting, "OPEN": stateOpen, "CLOSED": stateClosed} {
		for _, o := range []*sobek.Object{ctor, proto} {
			if err := o.DefineDataProperty(name, rt.ToValue(v), sobek.FLAG_FALSE, sobek.FLAG_FALSE, sobek.FLAG_TRUE); err != nil {
				common.Throw(rt, err)
			}
		}
	}
	mi.exports = &modules.Exports{Named: map[string]any{"EventSource": ctor}}
	return *mi.exports
}
