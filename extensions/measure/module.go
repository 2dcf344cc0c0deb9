package measure

import (
	"sync"
	"time"

	"github.com/grafana/sobek"

	"go.k6.io/k6/v2/js/common"
	"go.k6.io/k6/v2/js/modules"
)

// ImportPath is the name scripts import the module by.
const ImportPath = "k6/x/measure"

func init() {
	modules.Register(ImportPath, New())
}

// RootModule is the process-wide part: the lag register every VU's probe
// writes to and the monitor reads.
type RootModule struct {
	lag lagRegister

	// The control probe: a plain Go timer's lateness, with no event loop in the way, started by
	// the first generator() call. The VU probes' excess over it is their loops' own lateness.
	timerOnce sync.Once
	timerLag  lagRegister
}

var _ modules.Module = (*RootModule)(nil)

// New returns a root module. Tests create their own; k6 uses the one
// registered in init.
func New() *RootModule { return &RootModule{} }

// NewModuleInstance is called once per VU.
func (r *RootModule) NewModuleInstance(vu modules.VU) modules.Instance {
	return &ModuleInstance{vu: vu, root: r}
}

// ModuleInstance is the per-VU part.
type ModuleInstance struct {
	vu   modules.VU
	root *RootModule
}

var _ modules.Instance = (*ModuleInstance)(nil)

// Exports: now(), generator(), startLagProbe(ms), RawGrpcClient.
func (mi *ModuleInstance) Exports() modules.Exports {
	rt := mi.vu.Runtime()
	return modules.Exports{Named: map[string]any{
		// A native function: sobek calls it without reflection (a plain Go func costs ~9 µs a call).
		"now":           func(sobek.FunctionCall) sobek.Value { return rt.ToValue(nowMs()) },
		"generator":     mi.generator,
		"startLagProbe": mi.startLagProbe,
		"RawGrpcClient": mi.newRawClient,
	}}
}

func (mi *ModuleInstance) generator() Generator {
	r := mi.root
	r.timerOnce.Do(func() { go timerProbe(100*time.Millisecond, &r.timerLag) })
	g := snapshot(&r.lag)
	g.TimerLag = r.timerLag.take()
	return g
}

func (mi *ModuleInstance) startLagProbe(intervalMs sobek.Value) func() {
	rt := mi.vu.Runtime()
	if mi.vu.State() == nil {
		common.Throw(rt, common.NewInitContextError("startLagProbe must be called in a VU's iteration, not in the init context"))
	}
	interval := 100 * time.Millisecond
	if !common.IsNullish(intervalMs) {
		ms := intervalMs.ToFloat()
		if !(ms >= 1 && ms <= 60_000) {
			common.Throw(rt, errorf("startLagProbe(%v): the interval is in ms, from 1 to 60000", intervalMs))
		}
		interval = time.Duration(ms * float64(time.Millisecond))
	}
	return startLagProbe(mi.vu, interval, &mi.root.lag)
}

// newRawClient is the RawGrpcClient constructor (called with `new`).
func (mi *ModuleInstance) newRawClient(call sobek.ConstructorCall) *sobek.Object {
	rt := mi.vu.Runtime()
	c := &RawClient{vu: mi.vu, maxMsg: defaultMaxMessageBytes}
	o := rt.NewObject()
	set := func(name string, fn any) {
		if err := o.Set(name, fn); err != nil {
			common.Throw(rt, err)
		}
	}
	set("connect", func(addr string, opts sobek.Value) {
		if err := c.connect(addr, opts); err != nil {
			common.Throw(rt, err)
		}
	})
	set("invoke", c.invoke)
	set("asyncInvoke", c.asyncInvoke)
	set("close", func() {
		if err := c.close(); err != nil {
			common.Throw(rt, err)
		}
	})
	_ = call
	return o
}
