package ws

import (
	"fmt"

	"github.com/grafana/sobek"

	"go.k6.io/k6/v2/js/common"

	"rtbench.test/xk6-sse/vujs"
)

// defineProto installs what every WebSocket of the VU shares, once, on the
// constructor's prototype; an instance carries its Go side under key.
func defineProto(rt *sobek.Runtime, proto *sobek.Object, key *sobek.Symbol) {
	self := func(this sobek.Value) *socket { return vujs.Self[*socket](rt, this, key, "a WebSocket") }
	must := func(err error) {
		if err != nil {
			common.Throw(rt, err)
		}
	}
	accessor := func(name string, get func(s *socket) any, set func(s *socket, v sobek.Value)) {
		g := rt.ToValue(func(call sobek.FunctionCall) sobek.Value { return rt.ToValue(get(self(call.This))) })
		var st sobek.Value
		if set != nil {
			st = rt.ToValue(func(call sobek.FunctionCall) sobek.Value {
				set(self(call.This), call.Argument(0))
				return sobek.Undefined()
			})
		}
		must(proto.DefineAccessorProperty(name, g, st, sobek.FLAG_FALSE, sobek.FLAG_TRUE))
	}
	method := func(name string, fn func(s *socket, call sobek.FunctionCall)) {
		f := func(call sobek.FunctionCall) sobek.Value {
			fn(self(call.This), call)
			return sobek.Undefined()
		}
		must(proto.DefineDataProperty(name, rt.ToValue(f), sobek.FLAG_FALSE, sobek.FLAG_FALSE, sobek.FLAG_TRUE))
	}
	accessor("url", func(s *socket) any { return s.url }, nil)
	accessor("readyState", func(s *socket) any { return s.readyState }, nil)
	accessor("protocol", func(s *socket) any { return s.protocol }, nil)
	// binary messages always arrive as ArrayBuffers: 'blob' is refused
	accessor("binaryType", func(*socket) any { return "arraybuffer" }, func(_ *socket, v sobek.Value) {
		if v.String() != "arraybuffer" {
			common.Throw(rt, fmt.Errorf("k6/x/ws: binaryType %q is not supported (only 'arraybuffer')", v.String()))
		}
	})

	method("addEventListener", func(s *socket, call sobek.FunctionCall) {
		typ, fn := listenerArgs(rt, call)
		for _, l := range s.listeners[typ] {
			if l.SameAs(fn) {
				return // the DOM ignores duplicate registrations
			}
		}
		s.listeners[typ] = append(s.listeners[typ], fn)
	})
	method("removeEventListener", func(s *socket, call sobek.FunctionCall) {
		typ, fn := listenerArgs(rt, call)
		list := s.listeners[typ]
		for i, l := range list {
			if l.SameAs(fn) {
				s.listeners[typ] = append(list[:i:i], list[i+1:]...)
				return
			}
		}
	})
	method("send", func(s *socket, call sobek.FunctionCall) { s.send(call.Argument(0)) })
	method("close", func(s *socket, call sobek.FunctionCall) {
		code := 1000
		if v := call.Argument(0); !common.IsNullish(v) {
			code = int(v.ToInteger())
		}
		reason := ""
		if v := call.Argument(1); !common.IsNullish(v) {
			reason = v.String()
		}
		s.close(code, reason)
	})
}

// listenerArgs reads (type, listener), refusing event types this WebSocket
// never fires and listeners that are not functions.
func listenerArgs(rt *sobek.Runtime, call sobek.FunctionCall) (int, sobek.Value) {
	name := call.Argument(0).String()
	typ, ok := eventIndex(name)
	if !ok {
		common.Throw(rt, fmt.Errorf("k6/x/ws: no %q event (open, message, error, close)", name))
	}
	fn := call.Argument(1)
	if _, ok := sobek.AssertFunction(fn); !ok {
		common.Throw(rt, fmt.Errorf("k6/x/ws: the listener for %q is not a function", name))
	}
	return typ, fn
}
