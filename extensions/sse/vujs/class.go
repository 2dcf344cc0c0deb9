// Package vujs is what rtbench's k6 extensions (k6/x/sse, k6/x/ws) share to put a Go-backed JS
// class on a VU: its constructor and prototype, the params both constructors take, the URL tags
// k6 sets on a connection's samples, and the bridge from goroutines to the VU's event loop.
package vujs

import (
	"fmt"
	"net/http"

	"github.com/grafana/sobek"

	"go.k6.io/k6/v2/js/common"
	"go.k6.io/k6/v2/lib"
	"go.k6.io/k6/v2/metrics"
)

// Class makes the constructor of a class named name from newFn, with constants on both the
// constructor and its prototype (as in browsers, where es.OPEN works as well as
// EventSource.OPEN), and has define install the methods every instance shares on the
// prototype: methods made per instance would cost each one its own function objects. An
// instance keeps its Go side under the returned symbol.
//
// k6 asks a module for its exports each time a script reads the imported binding (every `new`),
// so a module makes its class once per VU and keeps it.
func Class(
	rt *sobek.Runtime,
	name string,
	newFn func(sobek.ConstructorCall) *sobek.Object,
	constants map[string]int,
	define func(proto *sobek.Object, key *sobek.Symbol),
) (*sobek.Object, *sobek.Symbol) {
	ctor := rt.ToValue(newFn).ToObject(rt)
	proto := ctor.Get("prototype").ToObject(rt)
	key := sobek.NewSymbol(name + " internals")
	define(proto, key)
	for c, v := range constants {
		for _, o := range []*sobek.Object{ctor, proto} {
			if err := o.DefineDataProperty(c, rt.ToValue(v), sobek.FLAG_FALSE, sobek.FLAG_FALSE, sobek.FLAG_TRUE); err != nil {
				common.Throw(rt, err)
			}
		}
	}
	return ctor, key
}

// Self returns the Go side `this` keeps under key, or throws a TypeError "not <what>" (what:
// "an EventSource").
func Self[T any](rt *sobek.Runtime, this sobek.Value, key *sobek.Symbol, what string) T {
	if o, ok := this.(*sobek.Object); ok {
		if s, ok := o.GetSymbol(key).Export().(T); ok {
			return s
		}
	}
	panic(rt.NewTypeError("not " + what))
}

// Params is the part of a constructor's params (or options) both clients take.
type Params struct {
	// Header holds the script's headers, and k6's User-Agent unless the script set one.
	Header http.Header
	// Tags are the VU's current tags with the script's `tags` applied.
	Tags metrics.TagsAndMeta
}

// ParseParams reads a params object: `headers` and `tags` itself, every other key through other,
// which says whether it knows the key. what names the object in errors (e.g. "EventSource
// option"), known lists the keys a script may use.
func ParseParams(
	rt *sobek.Runtime,
	state *lib.State,
	v sobek.Value,
	what, known string,
	other func(key string, val sobek.Value) (bool, error),
) (*Params, error) {
	p := &Params{Header: make(http.Header), Tags: state.Tags.GetCurrentValues()}
	if ua := state.Options.UserAgent; ua.Valid && ua.String != "" {
		p.Header.Set("User-Agent", ua.String)
	}
	if common.IsNullish(v) {
		return p, nil
	}
	obj := v.ToObject(rt)
	for _, key := range obj.Keys() {
		val := obj.Get(key)
		if common.IsNullish(val) {
			continue
		}
		switch key {
		case "headers":
			h := val.ToObject(rt)
			for _, name := range h.Keys() {
				p.Header.Set(name, h.Get(name).String())
			}
		case "tags":
			if err := common.ApplyCustomUserTags(rt, &p.Tags, val); err != nil {
				return nil, fmt.Errorf("invalid %s tags: %w", what, err)
			}
		default:
			ok, err := other(key, val)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("unknown %s %q (%s)", what, key, known)
			}
		}
	}
	return p, nil
}

// URLTags sets the url and name tags as k6/websockets does: both carry the URL unless the
// script named the connection through its tags, which then names the url tag too.
func URLTags(tags *metrics.TagsAndMeta, state *lib.State, url string) {
	if name, ok := tags.Tags.Get(metrics.TagName.String()); ok {
		tags.SetSystemTagOrMetaIfEnabled(state.Options.SystemTags, metrics.TagURL, name)
		return
	}
	tags.SetSystemTagOrMetaIfEnabled(state.Options.SystemTags, metrics.TagURL, url)
	tags.SetSystemTagOrMetaIfEnabled(state.Options.SystemTags, metrics.TagName, url)
}
