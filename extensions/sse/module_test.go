package sse

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.k6.io/k6/v2/js/modulestest"

	"rtbench.test/xk6-sse/vujs/vujstest"
)

func newJSEnv(t *testing.T) *vujstest.Env { return vujstest.New(t, New(), "EventSource") }

// metricSum sums a metric's samples so far and counts them, with the last one's tags. The
// stream pushes a sample before it posts the matching JS task, so whatever a script observed is
// already there.
func metricSum(env *vujstest.Env, name string) (sum float64, n int, tags map[string]string) {
	for _, s := range env.Samples(name) {
		sum += s.Value
		n++
		tags = s.Tags.Map()
	}
	return sum, n, tags
}

// sseServer serves handler with the event-stream headers already sent.
func sseServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, conn int)) string {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(conns.Add(1))
		eventStreamHeaders(w)
		handler(w, r, n)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestJSEventsListenersAndTimestamps(t *testing.T) {
	t.Parallel()
	const payload = "id: 7\ndata: first\n\nevent: tick\ndata: second\n\ndata: third\n\n"
	url := sseServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		// All events arrive in one read; the first handler is slow, so the
		// second event's timestamp must predate its callback.
		write(w, payload)
		<-r.Context().Done()
	})
	env := newJSEnv(t)
	err := env.Run(t, fmt.Sprintf(`
		var log = [];
		var es = new EventSource(%q, { tags: { protocol: 'sse' } });
		var states = [es.readyState];
		var consts = [EventSource.CONNECTING, EventSource.OPEN, EventSource.CLOSED, es.CONNECTING, es.OPEN, es.CLOSED].join(',');
		var isInstance = es instanceof EventSource;
		var url = es.url;
		var lag = -1, gap = -1, firstTs = 0;
		var removed = function () { log.push('removed listener ran'); };
		es.addEventListener('message', removed);
		es.removeEventListener('message', removed);
		es.onopen = function (e) { states.push(es.readyState); log.push(e.type + ':' + (typeof e.timestamp)); };
		es.onmessage = function (e) {
			log.push(e.type + ':' + e.data + ':' + e.lastEventId + ':' + (e.origin === %q) + ':' + (e.target === es));
			if (e.data === 'first') {
				firstTs = e.timestamp;
				var until = Date.now() + 150;
				while (Date.now() < until) {}
			}
			if (e.data === 'third') { es.close(); states.push(es.readyState); }
		};
		es.addEventListener('tick', function (e) {
			log.push('tick:' + e.data + ':' + es.lastEventId);
			lag = Date.now() - e.timestamp;
			gap = e.timestamp - firstTs;
		});
	`, url, url))
	if err != nil {
		t.Fatal(err)
	}
	wantLog := "open:number|message:first:7:true:true|tick:second:7|message:third:7:true:true"
	if got := env.Joined("log"); got != wantLog {
		t.Fatalf("log = %s\nwant  %s", got, wantLog)
	}
	if got := fmt.Sprint(env.Get("states")); got != "[0 1 2]" {
		t.Errorf("readyState sequence %s", got)
	}
	if env.Get("consts") != "0,1,2,0,1,2" || env.Get("isInstance") != true || env.Get("url") != url {
		t.Errorf("consts %v, instanceof %v, url %v", env.Get("consts"), env.Get("isInstance"), env.Get("url"))
	}
	if lag, gap := vujstest.Number(env.Get("lag")), vujstest.Number(env.Get("gap")); lag < 100 || gap > 50 {
		t.Errorf("tick callback ran %vms after its timestamp (want >= 100) and %vms after the first event (want ~0)", lag, gap)
	}

	if sum, _, tags := metricSum(env, metricEvents); sum != 3 || tags["protocol"] != "sse" || tags["url"] != url || tags["vutag"] != "yes" {
		t.Errorf("sse_events_received = %v, tags %v", sum, tags)
	}
	if _, n, tags := metricSum(env, metricConnecting); n != 1 || tags["status"] != "200" {
		t.Errorf("sse_connecting samples = %d, tags %v", n, tags)
	}
	if sum, _, _ := metricSum(env, metricBytes); sum != float64(len(payload)) {
		t.Errorf("sse_bytes_received = %v", sum)
	}
	if atomic.LoadInt64(&env.Dialer.BytesRead) == 0 {
		t.Errorf("the VU dialer did not count bytes (data_received would be 0)")
	}
}

func TestJSReconnect(t *testing.T) {
	t.Parallel()
	lastIDs := make(chan string, 4)
	url := sseServer(t, func(w http.ResponseWriter, r *http.Request, conn int) {
		lastIDs <- r.Header.Get("Last-Event-ID")
		if conn == 1 {
			write(w, "retry: 20\nid: 1\ndata: a\n\n")
			return // drop
		}
		write(w, "id: 2\ndata: b\n\n")
		<-r.Context().Done()
	})
	env := newJSEnv(t)
	err := env.Run(t, fmt.Sprintf(`
		var log = [];
		var es = new EventSource(%q, { retry: 60000, lastEventId: '0' });
		es.onopen = function () { log.push('open'); };
		es.onerror = function (e) { log.push('error:' + es.readyState + ':' + es.lastEventId + ':' + e.status + ':' + (e.error.length > 0)); };
		es.onmessage = function (e) {
			log.push(e.data + ':' + e.lastEventId);
			if (e.data === 'b') es.close();
		};
	`, url))
	if err != nil {
		t.Fatal(err)
	}
	want := "open|a:1|error:0:1:0:true|open|b:2"
	if got := env.Joined("log"); got != want {
		t.Fatalf("log = %s, want %s", got, want)
	}
	if a, b := <-lastIDs, <-lastIDs; a != "0" || b != "1" {
		t.Fatalf("Last-Event-ID headers %q, %q", a, b)
	}
	if sum, _, _ := metricSum(env, metricReconnects); sum != 1 {
		t.Errorf("sse_reconnects = %v", sum)
	}
	if _, n, _ := metricSum(env, metricConnecting); n != 2 {
		t.Errorf("sse_connecting samples = %d", n)
	}
}

func TestJSFatalErrorEndsIteration(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	env := newJSEnv(t)
	// No close() call: the iteration must end by itself once the stream failed.
	err := env.Run(t, fmt.Sprintf(`
		var log = [];
		var es = new EventSource(%q, { reconnect: true, retry: 0 });
		es.addEventListener('error', function (e) { log.push(e.type + ':' + e.status + ':' + es.readyState + ':' + e.error); });
	`, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if got := env.Joined("log"); got != "error:503:2:unexpected HTTP status 503 Service Unavailable" {
		t.Fatalf("log = %s", got)
	}
}

func TestJSSeveralStreamsAndTimers(t *testing.T) {
	t.Parallel()
	url := sseServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		for i := 0; ; i++ {
			write(w, fmt.Sprintf("data: %d\n\n", i))
			select {
			case <-r.Context().Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	env := newJSEnv(t)
	err := env.Run(t, fmt.Sprintf(`
		var counts = [0, 0];
		var ticks = 0;
		var streams = [new EventSource(%q), new EventSource(%q)];
		streams.forEach(function (es, i) { es.onmessage = function () { counts[i]++; }; });
		var iv = setInterval(function () { ticks++; }, 10);
		setTimeout(function () {
			clearInterval(iv);
			streams.forEach(function (es) { es.close(); });
		}, 200);
	`, url, url))
	if err != nil {
		t.Fatal(err)
	}
	counts := strings.Split(env.Joined("counts"), "|")
	if len(counts) != 2 || counts[0] == "0" || counts[1] == "0" || vujstest.Number(env.Get("ticks")) < 5 {
		t.Fatalf("counts %v, ticks %v", counts, env.Get("ticks"))
	}
}

func TestJSContextCancelEndsIteration(t *testing.T) {
	t.Parallel()
	url := sseServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		write(w, "data: hi\n\n")
		<-r.Context().Done()
	})
	env := newJSEnv(t)
	go func() {
		time.Sleep(200 * time.Millisecond)
		env.RT.CancelContext() // what k6 does at the end of the test
	}()
	start := time.Now()
	err := env.Run(t, fmt.Sprintf(`
		var got = 0, errors = 0;
		var es = new EventSource(%q);
		es.onmessage = function () { got++; };
		es.onerror = function () { errors++; };
	`, url))
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
	if vujstest.Number(env.Get("got")) != 1 || vujstest.Number(env.Get("errors")) != 0 {
		t.Fatalf("got %v messages, %v errors", env.Get("got"), env.Get("errors"))
	}
}

func TestJSThrowingListenerAbortsAndCloses(t *testing.T) {
	t.Parallel()
	closed := make(chan struct{})
	url := sseServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		write(w, "data: boom\n\n")
		<-r.Context().Done()
		close(closed)
	})
	env := newJSEnv(t)
	err := env.Run(t, fmt.Sprintf(`
		var es = new EventSource(%q);
		es.onmessage = function () { throw new Error('listener failed'); };
	`, url))
	if err == nil || !strings.Contains(err.Error(), "listener failed") {
		t.Fatalf("error = %v", err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection stayed open after the listener threw")
	}
}

func TestJSMalformedStream(t *testing.T) {
	t.Parallel()
	url := sseServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		write(w, "data: "+strings.Repeat("z", 200))
		<-r.Context().Done()
	})
	env := newJSEnv(t)
	err := env.Run(t, fmt.Sprintf(`
		var reason = '', state = -1;
		var es = new EventSource(%q, { maxEventBytes: 100, reconnect: false });
		es.onerror = function (e) { reason = e.error; state = es.readyState; };
	`, url))
	if err != nil {
		t.Fatal(err)
	}
	if r := env.Get("reason").(string); !strings.Contains(r, "line longer than 100 bytes") || vujstest.Number(env.Get("state")) != 2 {
		t.Fatalf("reason %q, state %v", r, env.Get("state"))
	}
}

func TestJSCloseBeforeOpen(t *testing.T) {
	t.Parallel()
	url := sseServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		write(w, "data: too late\n\n")
		<-r.Context().Done()
	})
	env := newJSEnv(t)
	err := env.Run(t, fmt.Sprintf(`
		var calls = 0;
		var es = new EventSource(%q);
		es.onopen = es.onmessage = es.onerror = function () { calls++; };
		es.close();
		var state = es.readyState;
	`, url))
	if err != nil {
		t.Fatal(err)
	}
	if vujstest.Number(env.Get("calls")) != 0 || vujstest.Number(env.Get("state")) != 2 {
		t.Fatalf("calls %v, readyState %v", env.Get("calls"), env.Get("state"))
	}
}

func TestJSConstructorValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ code, want string }{
		{`new EventSource()`, "requires a URL"},
		{`new EventSource('/relative')`, "absolute http or https"},
		{`new EventSource('ws://127.0.0.1/')`, "absolute http or https"},
		{`new EventSource('http://127.0.0.1:1/', { retyr: 1 })`, `unknown EventSource option "retyr"`},
		{`new EventSource('http://127.0.0.1:1/', { retry: -1 })`, "retry must be"},
		{`new EventSource('http://127.0.0.1:1/', { maxEventBytes: 0 })`, "maxEventBytes must be"},
		{`var es = new EventSource('http://127.0.0.1:1/', { reconnect: false }); es.addEventListener('message', 5)`, "not a function"},
	} {
		env := newJSEnv(t)
		err := env.Run(t, tc.code)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.code, err, tc.want)
		}
	}
}

func TestJSInitContextRefused(t *testing.T) {
	t.Parallel()
	rt := modulestest.NewRuntime(t)
	mi := New().NewModuleInstance(rt.VU)
	if err := rt.VU.RuntimeField.Set("EventSource", mi.Exports().Named["EventSource"]); err != nil {
		t.Fatal(err)
	}
	_, err := rt.VU.Runtime().RunString(`new EventSource('http://127.0.0.1:1/')`)
	if err == nil || !strings.Contains(err.Error(), "init context") {
		t.Fatalf("error = %v", err)
	}
}
