package sse

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/grafana/sobek"

	"go.k6.io/k6/v2/js/common"
	"go.k6.io/k6/v2/lib"
	"go.k6.io/k6/v2/lib/netext"
	"go.k6.io/k6/v2/metrics"

	"rtbench.test/xk6-sse/vujs"
)

// eventSource is the JS-facing object. Every field below the marker is
// touched only on the VU's event loop; the stream goroutine reaches it
// solely through tasks posted on the bridge.
type eventSource struct {
	rt      *sobek.Runtime
	obj     *sobek.Object
	url     string
	stream  *Stream
	bridge  *vujs.Bridge
	ctx     context.Context // VU context, for metric pushes
	samples chan<- metrics.SampleContainer
	metrics *sseMetrics
	tags    metrics.TagsAndMeta
	status  bool // whether the status system tag is enabled

	// --- event loop only ---
	readyState  int
	lastEventID string
	closed      bool // close() was called or the stream ended: drop late tasks
	on          map[string]sobek.Value
	listeners   map[string][]sobek.Value
}

// newEventSource implements `new EventSource(url, options)`.
func (mi *ModuleInstance) newEventSource(call sobek.ConstructorCall) *sobek.Object {
	rt := mi.vu.Runtime()
	state := mi.vu.State()
	if state == nil {
		common.Throw(rt, errors.New("EventSource can only be created while a VU runs (not in the init context)"))
	}
	u, err := parseURL(call.Argument(0))
	if err != nil {
		common.Throw(rt, err)
	}
	opts, err := parseOptions(rt, state, call.Argument(1))
	if err != nil {
		common.Throw(rt, err)
	}

	es := &eventSource{
		rt:          rt,
		obj:         call.This,
		url:         u.String(),
		ctx:         mi.vu.Context(),
		samples:     state.Samples,
		metrics:     mi.metrics,
		tags:        opts.tags,
		status:      state.Options.SystemTags.Has(metrics.TagStatus),
		readyState:  stateConnecting,
		lastEventID: opts.lastEventID,
		on:          map[string]sobek.Value{},
		listeners:   map[string][]sobek.Value{},
	}
	vujs.URLTags(&es.tags, state, es.url)
	es.must(call.This.DefineDataPropertySymbol(mi.key, rt.ToValue(es), sobek.FLAG_FALSE, sobek.FLAG_FALSE, sobek.FLAG_FALSE))

	es.bridge = vujs.NewBridge(mi.vu.RegisterCallback)
	es.stream = NewStream(es.ctx, Config{
		URL:           u,
		Header:        opts.header,
		LastEventID:   opts.lastEventID,
		Reconnect:     opts.reconnect,
		Retry:         opts.retry,
		MaxEventBytes: opts.maxEventBytes,
		Client:        vuHTTPClient(state),
		Futile:        isBlockedByK6,
	}, &jsSink{es: es})
	go es.stream.Run()
	return nil // sobek then returns call.This, which has the right prototype
}

// vuHTTPClient reuses the VU's transport, so k6's DNS/hosts settings,
// blocklists, TLS options and byte counting (data_received / data_sent)
// apply to SSE connections as they do to k6/http.
func vuHTTPClient(state *lib.State) *http.Client {
	c := &http.Client{Transport: state.Transport}
	if state.CookieJar != nil {
		c.Jar = state.CookieJar
	}
	return c
}

// isBlockedByK6 marks errors from k6's dialer that no retry can fix.
func isBlockedByK6(err error) bool {
	var ip netext.BlackListedIPError
	var host netext.BlockedHostError
	return errors.As(err, &ip) || errors.As(err, &host)
}

// defineProto installs the properties and methods every EventSource of this
// VU shares, once, on the constructor's prototype: a per-instance set would
// cost each stream 13 wrapped functions and their property slots (~16 KB of
// k6 memory per held stream). An instance carries its Go side under key.
func defineProto(rt *sobek.Runtime, proto *sobek.Object, key *sobek.Symbol) {
	self := func(this sobek.Value) *eventSource { return vujs.Self[*eventSource](rt, this, key, "an EventSource") }
	must := func(err error) {
		if err != nil {
			common.Throw(rt, err)
		}
	}
	getter := func(name string, get func(es *eventSource) any) {
		fn := func(call sobek.FunctionCall) sobek.Value { return rt.ToValue(get(self(call.This))) }
		must(proto.DefineAccessorProperty(name, rt.ToValue(fn), nil, sobek.FLAG_FALSE, sobek.FLAG_TRUE))
	}
	method := func(name string, fn func(es *eventSource, call sobek.FunctionCall) sobek.Value) {
		f := func(call sobek.FunctionCall) sobek.Value { return fn(self(call.This), call) }
		must(proto.DefineDataProperty(name, rt.ToValue(f), sobek.FLAG_FALSE, sobek.FLAG_FALSE, sobek.FLAG_TRUE))
	}
	getter("url", func(es *eventSource) any { return es.url })
	getter("readyState", func(es *eventSource) any { return es.readyState })
	getter("lastEventId", func(es *eventSource) any { return es.lastEventID })
	getter("withCredentials", func(*eventSource) any { return false })

	for _, typ := range []string{"open", "message", "error"} {
		get := func(call sobek.FunctionCall) sobek.Value {
			if fn, ok := self(call.This).on[typ]; ok {
				return fn
			}
			return sobek.Null()
		}
		set := func(call sobek.FunctionCall) sobek.Value {
			es, v := self(call.This), call.Argument(0)
			if _, ok := sobek.AssertFunction(v); ok {
				es.on[typ] = v
			} else {
				delete(es.on, typ) // like browsers: non-callables clear the handler
			}
			return sobek.Undefined()
		}
		must(proto.DefineAccessorProperty("on"+typ, rt.ToValue(get), rt.ToValue(set), sobek.FLAG_FALSE, sobek.FLAG_TRUE))
	}

	method("addEventListener", func(es *eventSource, call sobek.FunctionCall) sobek.Value {
		es.addEventListener(call.Argument(0).String(), call.Argument(1))
		return sobek.Undefined()
	})
	method("removeEventListener", func(es *eventSource, call sobek.FunctionCall) sobek.Value {
		es.removeEventListener(call.Argument(0).String(), call.Argument(1))
		return sobek.Undefined()
	})
	method("close", func(es *eventSource, _ sobek.FunctionCall) sobek.Value {
		es.close()
		return sobek.Undefined()
	})
}

func (es *eventSource) must(err error) {
	if err != nil {
		common.Throw(es.rt, err)
	}
}

func (es *eventSource) addEventListener(typ string, fn sobek.Value) {
	if common.IsNullish(fn) {
		return
	}
	if _, ok := sobek.AssertFunction(fn); !ok {
		common.Throw(es.rt, fmt.Errorf("addEventListener: the listener for %q is not a function", typ))
	}
	for _, l := range es.listeners[typ] {
		if l.SameAs(fn) {
			return // the DOM ignores duplicate registrations
		}
	}
	es.listeners[typ] = append(es.listeners[typ], fn)
}

func (es *eventSource) removeEventListener(typ string, fn sobek.Value) {
	list := es.listeners[typ]
	for i, l := range list {
		if l.SameAs(fn) {
			es.listeners[typ] = append(list[:i:i], list[i+1:]...)
			return
		}
	}
}

// close implements EventSource.close(): CLOSED at once, no more events, and
// the stream goroutine winds down (aborting a read or a reconnect wait).
func (es *eventSource) close() {
	es.readyState = stateClosed
	es.closed = true
	es.stream.Close()
}

// dispatch calls the on<type> handler, then the listeners registered for
// typ, on a snapshot of the list taken before the first call. A throwing
// listener closes the stream and aborts the iteration, like k6/websockets.
func (es *eventSource) dispatch(typ string, ev *sobek.Object) error {
	var fns []sobek.Value
	if fn, ok := es.on[typ]; ok {
		fns = append(fns, fn)
	}
	fns = append(fns, es.listeners[typ]...)
	for _, v := range fns {
		if es.closed {
			return nil // a previous listener called close()
		}
		fn, _ := sobek.AssertFunction(v)
		if _, err := fn(es.obj, ev); err != nil {
			es.close()
			return err
		}
	}
	return nil
}

// newEvent builds the event object. timestamp is milliseconds since the
// Unix epoch with sub-millisecond precision, as in k6/websockets.
func (es *eventSource) newEvent(typ string, at time.Time) *sobek.Object {
	ev := es.rt.NewObject()
	es.must(ev.Set("type", typ))
	es.must(ev.Set("target", es.obj))
	es.must(ev.Set("timestamp", float64(at.UnixNano())/1e6))
	return ev
}

// push sends a metric sample tagged like the stream.
func (es *eventSource) push(m *metrics.Metric, tags *metrics.TagSet, at time.Time, value float64) {
	metrics.PushIfNotDone(es.ctx, es.samples, metrics.Sample{
		TimeSeries: metrics.TimeSeries{Metric: m, Tags: tags},
		Time:       at,
		Metadata:   es.tags.Metadata,
		Value:      value,
	})
}

// jsSink adapts Stream callbacks (on the stream goroutine) to metrics and
// to tasks on the event loop.
type jsSink struct {
	es     *eventSource
	origin string // of the current connection's final URL; goroutine-owned
}

func (s *jsSink) Connecting(attempt int) {
	if attempt > 0 {
		s.es.push(s.es.metrics.reconnects, s.es.tags.Tags, time.Now(), 1)
	}
}

func (s *jsSink) Response(r ResponseInfo) {
	tags := s.es.tags.Tags
	if s.es.status {
		tags = tags.With(metrics.TagStatus.String(), strconv.Itoa(r.Status))
	}
	s.es.push(s.es.metrics.connecting, tags, r.Start, metrics.D(r.Headers.Sub(r.Start)))
}

func (s *jsSink) Bytes(n int, at time.Time) {
	s.es.push(s.es.metrics.bytes, s.es.tags.Tags, at, float64(n))
}

func (s *jsSink) Open(at time.Time, origin string) {
	s.origin = origin
	s.post(func(es *eventSource) error {
		es.readyState = stateOpen
		return es.dispatch("open", es.newEvent("open", at))
	})
}

func (s *jsSink) Event(e Event, at time.Time) {
	s.es.push(s.es.metrics.events, s.es.tags.Tags, at, 1)
	origin := s.origin
	s.post(func(es *eventSource) error {
		es.lastEventID = e.LastEventID
		ev := es.newEvent(e.Type, at)
		es.must(ev.Set("data", e.Data))
		es.must(ev.Set("lastEventId", e.LastEventID))
		es.must(ev.Set("origin", origin))
		return es.dispatch(e.Type, ev)
	})
}

func (s *jsSink) Error(e ErrorInfo) {
	s.post(func(es *eventSource) error {
		es.lastEventID = e.LastEventID
		if e.Reconnect {
			es.readyState = stateConnecting
		} else {
			es.readyState = stateClosed
		}
		ev := es.newEvent("error", e.At)
		es.must(ev.Set("error", e.Reason))
		es.must(ev.Set("status", e.Status))
		return es.dispatch("error", ev)
	})
}

func (s *jsSink) Closed() {
	s.es.bridge.Close(func() error {
		s.es.readyState = stateClosed
		s.es.closed = true
		return nil
	})
}

// post queues fn for the event loop unless the script has closed the
// EventSource by the time it runs.
func (s *jsSink) post(fn func(*eventSource) error) {
	s.es.bridge.Post(s.es.stream.ctx, func() error {
		if s.es.closed {
			return nil
		}
		return fn(s.es)
	})
}
