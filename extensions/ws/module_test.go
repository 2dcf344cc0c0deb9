package ws

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"rtbench.test/xk6-sse/vujs/vujstest"
)

func newJSEnv(t *testing.T) *vujstest.Env { return vujstest.New(t, New(), "WebSocket") }

// wsServer upgrades every request and hands the connection to handler; the
// server closes the connection when handler returns.
func wsServer(t *testing.T, handler func(c *websocket.Conn, r *http.Request)) string {
	t.Helper()
	up := websocket.Upgrader{Subprotocols: []string{"rtb.v1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		handler(c, r)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestOpenSendReceiveClose(t *testing.T) {
	t.Parallel()
	var auth atomic.Value
	url := wsServer(t, func(c *websocket.Conn, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		for {
			typ, data, err := c.ReadMessage()
			if err != nil {
				return // the client's close frame: gorilla has answered it
			}
			if string(data) == "two" {
				// two replies in one go: the second is read while the first listener is busy
				_ = c.WriteMessage(typ, []byte("slow"))
				_ = c.WriteMessage(typ, []byte("quick"))
				continue
			}
			_ = c.WriteMessage(typ, data)
		}
	})
	env := newJSEnv(t)
	err := env.Run(t, fmt.Sprintf(`
		var log = [];
		var ws = new WebSocket(%q, ['rtb.v1', 'other'], { headers: { Authorization: 'Bearer t' }, tags: { protocol: 'ws' } });
		ws.binaryType = 'arraybuffer';
		var states = [ws.readyState];
		var consts = [WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED, ws.OPEN].join(',');
		var slowAt = 0, lag = -1, gap = -1, replies = 0;
		var removed = function () { log.push('removed listener ran'); };
		ws.addEventListener('message', removed);
		ws.removeEventListener('message', removed);
		ws.addEventListener('open', function (e) {
			states.push(ws.readyState);
			log.push('open:' + ws.protocol + ':' + (e.target === ws) + ':' + (typeof e.timestamp));
			ws.send('text');
			ws.send(new Uint8Array([1, 2, 3]));
			ws.send(new Uint8Array([9, 4, 5]).buffer.slice(1));
			ws.send('two');
		});
		ws.addEventListener('message', function (e) {
			log.push(typeof e.data === 'string' ? 'text:' + e.data : 'binary:' + Array.from(new Uint8Array(e.data)).join(','));
			if (e.data === 'slow') { slowAt = e.timestamp; var until = Date.now() + 150; while (Date.now() < until) {} }
			if (e.data === 'quick') { lag = Date.now() - e.timestamp; gap = e.timestamp - slowAt; ws.close(); states.push(ws.readyState); ws.send('dropped'); }
		});
		ws.addEventListener('error', function (e) { log.push('error:' + e.error); });
		ws.addEventListener('close', function (e) { states.push(ws.readyState); log.push('close:' + e.code + ':' + e.wasClean); });
	`, url))
	if err != nil {
		t.Fatal(err)
	}
	want := "open:rtb.v1:true:number|text:text|binary:1,2,3|binary:4,5|text:slow|text:quick|close:1000:true"
	if got := env.Joined("log"); got != want {
		t.Fatalf("log = %s\nwant  %s", got, want)
	}
	if got := fmt.Sprint(env.Get("states")); got != "[0 1 2 3]" {
		t.Errorf("readyState sequence %s", got)
	}
	if got := env.Get("consts"); got != "0,1,2,3,1" {
		t.Errorf("constants %v", got)
	}
	if auth.Load() != "Bearer t" {
		t.Errorf("the server saw Authorization %q", auth.Load())
	}
	// the frame's timestamp is taken as it is read, not when its listener runs
	if lag, gap := vujstest.Number(env.Get("lag")), vujstest.Number(env.Get("gap")); lag < 100 || gap > 50 {
		t.Errorf("'quick' ran %.1f ms after its timestamp (want >= 100), %.1f ms after 'slow's (want ~0)", lag, gap)
	}
	connecting := env.Samples("ws_connecting")
	if len(connecting) != 1 {
		t.Fatalf("ws_connecting samples: %d", len(connecting))
	}
	tags := connecting[0].Tags.Map()
	if tags["status"] != "101" || tags["subproto"] != "rtb.v1" || tags["protocol"] != "ws" || tags["vutag"] != "yes" || tags["url"] != url {
		t.Errorf("ws_connecting tags %v", tags)
	}
	if n := len(env.Samples("ws_sessions")) + len(env.Samples("ws_session_duration")); n != 2 {
		t.Errorf("ws_sessions + ws_session_duration samples: %d, want 2", n)
	}
	if atomic.LoadInt64(&env.Dialer.BytesRead) == 0 {
		t.Errorf("the VU's dialer did not count bytes (data_received would be 0)")
	}
}

func TestServerEnds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, want string
		serve      func(c *websocket.Conn)
		params     string
	}{
		{"close frame", "close:4001:bye:true", func(c *websocket.Conn) {
			_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "bye"))
			_, _, _ = c.ReadMessage()
		}, "{}"},
		{"dropped", "error:true|close:1006::false", func(c *websocket.Conn) { _ = c.UnderlyingConn().Close() }, "{}"},
		{"message over maxMessageBytes", "error:true|close:1009:message too big:true", func(c *websocket.Conn) {
			_ = c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 100)))
			_, _, _ = c.ReadMessage()
		}, "{ maxMessageBytes: 10 }"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := wsServer(t, func(c *websocket.Conn, _ *http.Request) { tc.serve(c) })
			env := newJSEnv(t)
			err := env.Run(t, fmt.Sprintf(`
				var log = [];
				var ws = new WebSocket(%q, null, %s);
				ws.addEventListener('message', function (e) { log.push('message'); });
				ws.addEventListener('error', function (e) { log.push('error:' + (e.error.length > 0)); });
				ws.addEventListener('close', function (e) { log.push('close:' + e.code + ':' + e.reason + ':' + e.wasClean); });
			`, url, tc.params))
			if err != nil {
				t.Fatal(err)
			}
			if got := env.Joined("log"); got != tc.want {
				t.Errorf("log = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRefusedHandshake(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	env := newJSEnv(t)
	err := env.Run(t, fmt.Sprintf(`
		var log = [];
		var ws = new WebSocket(%q);
		ws.addEventListener('open', function () { log.push('open'); });
		ws.addEventListener('error', function (e) { log.push('error:' + e.error); });
		ws.addEventListener('close', function (e) { log.push('close:' + e.code); });
	`, "ws"+strings.TrimPrefix(srv.URL, "http")))
	if err != nil {
		t.Fatal(err)
	}
	if got := env.Joined("log"); got != "error:websocket: bad handshake: HTTP 401|close:1006" {
		t.Errorf("log = %s", got)
	}
	if s := env.Samples("ws_connecting"); len(s) != 1 || s[0].Tags.Map()["status"] != "401" {
		t.Errorf("ws_connecting samples %v", s)
	}
}

// close() during a handshake that never completes abandons it at once: no
// error event, the close event with the script's code, and the iteration
// ends (k6/websockets blocks the VU's event loop here until the handshake ends).
func TestCloseWhileConnecting(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c // never answers the handshake
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		select {
		case c := <-accepted:
			_ = c.Close()
		default:
		}
	})
	env := newJSEnv(t)
	start := time.Now()
	err = env.Run(t, fmt.Sprintf(`
		var log = [];
		var ws = new WebSocket('ws://%s/');
		ws.addEventListener('open', function () { log.push('open'); });
		ws.addEventListener('error', function (e) { log.push('error:' + e.error); });
		ws.addEventListener('close', function (e) { log.push('close:' + e.code + ':' + e.reason + ':' + ws.readyState); });
		setTimeout(function () {
			var threw = false;
			try { ws.send('x'); } catch (e) { threw = true; }
			log.push('send threw:' + threw);
			ws.close(4000, 'gave up');
			log.push('closing:' + ws.readyState);
		}, 100);
	`, ln.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	if got := env.Joined("log"); got != "send threw:true|closing:2|close:4000:gave up:3" {
		t.Errorf("log = %s", got)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the iteration took %v", took)
	}
	// the abandoned handshake is still a session with a connecting time: samples outlive the socket
	if n := len(env.Samples("ws_connecting")) + len(env.Samples("ws_sessions")); n != 2 {
		t.Errorf("ws_connecting + ws_sessions samples: %d, want 2", n)
	}
}

// The VU's end drops its open sockets; TestMain's goleak check then finds no
// reader or writer left.
func TestVUEndDropsSockets(t *testing.T) {
	t.Parallel()
	opened := make(chan struct{}, 1)
	url := wsServer(t, func(c *websocket.Conn, _ *http.Request) {
		opened <- struct{}{}
		_, _, _ = c.ReadMessage()
	})
	env := newJSEnv(t)
	done := make(chan error, 1)
	go func() {
		_, err := env.RT.RunOnEventLoop(fmt.Sprintf(`new WebSocket(%q);`, url))
		done <- err
	}()
	select {
	case <-opened:
	case <-time.After(5 * time.Second):
		t.Fatal("the socket did not open")
	}
	env.RT.CancelContext()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the iteration did not end after the VU's context did")
	}
}

func TestBadArguments(t *testing.T) {
	t.Parallel()
	url := wsServer(t, func(c *websocket.Conn, _ *http.Request) { _, _, _ = c.ReadMessage() })
	for _, tc := range []struct{ code, want string }{
		{`new WebSocket('http://127.0.0.1:1/')`, "must be absolute ws or wss"},
		{`new WebSocket()`, "requires a URL"},
		{`new WebSocket('ws://127.0.0.1:1/', null, { timeout: 1 })`, `unknown WebSocket param "timeout"`},
		{`new WebSocket('ws://127.0.0.1:1/', null, { maxMessageBytes: 0 })`, "maxMessageBytes must be a positive number"},
		{`new WebSocket('ws://127.0.0.1:1/', null, { headers: { Upgrade: 'x' } })`, `"Upgrade" is set by the handshake`},
		{`new WebSocket('ws://127.0.0.1:1/', ['a', 'a'])`, `protocol "a" is empty or repeated`},
		{onSocket(url, `w.addEventListener('ping', function () {})`), `no "ping" event`},
		{onSocket(url, `w.addEventListener('open', 1)`), "is not a function"},
		{onSocket(url, `w.binaryType = 'blob'`), `binaryType "blob" is not supported`},
		{onSocket(url, `w.close(1001)`), "must be 1000 or 3000-4999, got 1001"},
		{onSocket(url, `w.close(1000, 'x'.repeat(124))`), "at most 123 bytes"},
		{fmt.Sprintf(`var w = new WebSocket(%q); w.addEventListener('open', function () { w.send({}); })`, url), "takes a string, an ArrayBuffer"},
	} {
		env := newJSEnv(t)
		err := env.Run(t, tc.code)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.code, err, tc.want)
		}
	}
}

// onSocket runs code on a socket w to url, then closes w however code ends.
func onSocket(url, code string) string {
	return fmt.Sprintf(`var w = new WebSocket(%q); try { %s } finally { w.close(); }`, url, code)
}
