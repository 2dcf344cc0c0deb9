package ws

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/grafana/sobek"

	"go.k6.io/k6/v2/js/common"
	"go.k6.io/k6/v2/js/modules"
	"go.k6.io/k6/v2/lib"
	"go.k6.io/k6/v2/metrics"

	"rtbench.test/xk6-sse/vujs"
)

// ImportPath is the name scripts import the module by.
const ImportPath = "k6/x/ws"

func init() {
	modules.Register(ImportPath, New())
}

// Ready states, numbered as the WHATWG WebSocket numbers them.
const (
	stateConnecting = 0
	stateOpen       = 1
	stateClosing    = 2
	stateClosed     = 3
)

// Event types, as indexes into a socket's listeners.
const (
	evOpen = iota
	evMessage
	evError
	evClose
	evCount
)

var eventNames = [evCount]string{"open", "message", "error", "close"}

func eventIndex(name string) (int, bool) {
	for i, n := range eventNames {
		if n == name {
			return i, true
		}
	}
	return 0, false
}

const (
	// DefaultMaxMessageBytes bounds one message from the server unless the
	// script sets maxMessageBytes: a larger one closes the socket (1009).
	DefaultMaxMessageBytes = 64 << 20
	// readBufferBytes is each socket's read buffer. Frames larger than it are
	// read straight into the message; a held socket mostly waits, and its
	// buffer is its largest fixed cost.
	readBufferBytes = 1024
	// closeWait is how long close() waits for the server's close frame before
	// it drops the connection.
	closeWait = 5 * time.Second
	// writeWait bounds one frame's write.
	writeWait = 10 * time.Second
	// handshakeTimeout bounds the opening handshake, as in k6/websockets.
	handshakeTimeout = 60 * time.Second
)

// writeBuffers is shared by every socket of the process: a socket holds a
// write buffer only while it writes a frame.
var writeBuffers = &sync.Pool{}

// RootModule is the process-wide part of the module.
type RootModule struct{}

var _ modules.Module = (*RootModule)(nil)

// New returns the root module. Tests create their own; k6 uses the one
// registered in init.
func New() *RootModule { return &RootModule{} }

// NewModuleInstance is called once per VU, in the init context.
func (*RootModule) NewModuleInstance(vu modules.VU) modules.Instance {
	return &ModuleInstance{vu: vu}
}

// ModuleInstance is the per-VU part of the module.
type ModuleInstance struct {
	vu      modules.VU
	key     *sobek.Symbol // where a WebSocket object keeps its Go side
	exports *modules.Exports
}

var _ modules.Instance = (*ModuleInstance)(nil)

// Exports exposes the WebSocket constructor with the ready-state constants
// (vujs.Class), made once per VU.
func (mi *ModuleInstance) Exports() modules.Exports {
	if mi.exports != nil {
		return *mi.exports
	}
	rt := mi.vu.Runtime()
	ctor, key := vujs.Class(rt, "WebSocket", mi.newSocket,
		map[string]int{"CONNECTING": stateConnecting, "OPEN": stateOpen, "CLOSING": stateClosing, "CLOSED": stateClosed},
		func(proto *sobek.Object, key *sobek.Symbol) { defineProto(rt, proto, key) })
	mi.key = key
	mi.exports = &modules.Exports{Named: map[string]any{"WebSocket": ctor}}
	return *mi.exports
}

// params is the parsed third argument of the constructor.
type params struct {
	header          http.Header
	tags            metrics.TagsAndMeta
	maxMessageBytes int64
}

// newSocket implements `new WebSocket(url, protocols, params)`.
func (mi *ModuleInstance) newSocket(call sobek.ConstructorCall) *sobek.Object {
	rt := mi.vu.Runtime()
	state := mi.vu.State()
	if state == nil {
		common.Throw(rt, errors.New("WebSocket can only be created while a VU runs (not in the init context)"))
	}
	u, err := parseURL(call.Argument(0))
	if err != nil {
		common.Throw(rt, err)
	}
	protocols, err := parseProtocols(rt, call.Argument(1))
	if err != nil {
		common.Throw(rt, err)
	}
	p, err := parseParams(rt, state, call.Argument(2))
	if err != nil {
		common.Throw(rt, err)
	}
	vujs.URLTags(&p.tags, state, u.String())

	ctx, cancel := context.WithCancel(mi.vu.Context())
	s := &socket{
		rt:         rt,
		obj:        call.This,
		url:        u.String(),
		ctx:        ctx,
		cancel:     cancel,
		vuCtx:      mi.vu.Context(),
		state:      state,
		tags:       p.tags,
		readyState: stateConnecting,
	}
	if err := call.This.DefineDataPropertySymbol(mi.key, rt.ToValue(s), sobek.FLAG_FALSE, sobek.FLAG_FALSE, sobek.FLAG_FALSE); err != nil {
		cancel()
		common.Throw(rt, err)
	}
	s.bridge = vujs.NewBridge(mi.vu.RegisterCallback)
	dialer := &websocket.Dialer{
		HandshakeTimeout: handshakeTimeout,
		ReadBufferSize:   readBufferBytes,
		WriteBufferPool:  writeBuffers,
		Subprotocols:     protocols,
		TLSClientConfig:  tlsConfig(state),
	}
	go s.run(dialer, p.header, p.maxMessageBytes)
	return nil // sobek then returns call.This, which has the right prototype
}

func tlsConfig(state *lib.State) *tls.Config {
	if state.TLSConfig == nil {
		return nil
	}
	c := state.TLSConfig.Clone()
	c.NextProtos = []string{"http/1.1"}
	return c
}

// parseURL accepts absolute ws(s) URLs only.
func parseURL(v sobek.Value) (*url.URL, error) {
	if common.IsNullish(v) {
		return nil, errors.New("SyntaxError: WebSocket requires a URL")
	}
	s := v.String()
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("SyntaxError: invalid WebSocket URL %q: %w", s, err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("SyntaxError: WebSocket URL must be absolute ws or wss, got %q", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("SyntaxError: WebSocket URL %q has no host", s)
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("SyntaxError: WebSocket URL %q has a fragment", s)
	}
	return u, nil
}

// parseProtocols reads the subprotocols argument: a string, an array of
// strings, or nothing.
func parseProtocols(rt *sobek.Runtime, v sobek.Value) ([]string, error) {
	if common.IsNullish(v) {
		return nil, nil
	}
	var list []string
	if s, ok := v.Export().(string); ok {
		list = []string{s}
	} else if err := rt.ExportTo(v, &list); err != nil {
		return nil, fmt.Errorf("SyntaxError: WebSocket protocols must be a string or an array of strings, got %v", v)
	}
	seen := map[string]bool{}
	for _, p := range list {
		if p == "" || seen[p] {
			return nil, fmt.Errorf("SyntaxError: WebSocket protocol %q is empty or repeated", p)
		}
		seen[p] = true
	}
	return list, nil
}

func parseParams(rt *sobek.Runtime, state *lib.State, v sobek.Value) (*params, error) {
	p := &params{maxMessageBytes: DefaultMaxMessageBytes}
	shared, err := vujs.ParseParams(rt, state, v, "WebSocket param", "headers, tags, maxMessageBytes",
		func(key string, val sobek.Value) (bool, error) {
			if key != "maxMessageBytes" {
				return false, nil
			}
			n := val.ToFloat()
			if math.IsNaN(n) || n < 1 || n > math.MaxInt32 {
				return true, fmt.Errorf("WebSocket param maxMessageBytes must be a positive number of bytes, got %v", val)
			}
			p.maxMessageBytes = int64(n)
			return true, nil
		})
	if err != nil {
		return nil, err
	}
	p.header, p.tags = shared.Header, shared.Tags
	// the handshake sets these itself; a script's own would break it
	for _, h := range []string{"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions"} {
		if p.header.Get(h) != "" {
			return nil, fmt.Errorf("WebSocket param headers: %q is set by the handshake", h)
		}
	}
	return p, nil
}
