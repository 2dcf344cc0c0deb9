package sse

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// record is one Sink call, flattened for easy assertions.
type record struct {
	kind    string // connecting, response, open, event, error, closed
	attempt int
	status  int
	event   Event
	err     ErrorInfo
	at      time.Time
}

// recSink records Sink calls and lets tests wait for them.
type recSink struct {
	mu    sync.Mutex
	recs  []record
	bytes int
	ch    chan record
}

func newRecSink() *recSink { return &recSink{ch: make(chan record, 1000)} }

func (s *recSink) add(r record) {
	s.mu.Lock()
	s.recs = append(s.recs, r)
	s.mu.Unlock()
	s.ch <- r
}

func (s *recSink) Connecting(attempt int) {
	s.add(record{kind: "connecting", attempt: attempt, at: time.Now()})
}
func (s *recSink) Response(r ResponseInfo) {
	s.add(record{kind: "response", status: r.Status, at: r.Headers})
}
func (s *recSink) Open(at time.Time, _ string) { s.add(record{kind: "open", at: at}) }
func (s *recSink) Bytes(n int, _ time.Time) {
	s.mu.Lock()
	s.bytes += n
	s.mu.Unlock()
}
func (s *recSink) Event(ev Event, at time.Time) { s.add(record{kind: "event", event: ev, at: at}) }
func (s *recSink) Error(e ErrorInfo)            { s.add(record{kind: "error", err: e, at: e.At}) }
func (s *recSink) Closed()                      { s.add(record{kind: "closed", at: time.Now()}) }

// next waits for the next record of the given kind, failing on timeout.
// Records of other kinds are skipped.
func (s *recSink) next(t *testing.T, kind string) record {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case r := <-s.ch:
			if r.kind == kind {
				return r
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %q; got so far: %+v", kind, s.kinds())
		}
	}
}

func (s *recSink) kinds() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.recs {
		out = append(out, r.kind)
	}
	return out
}

func (s *recSink) count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.recs {
		if r.kind == kind {
			n++
		}
	}
	return n
}

// startStream runs a stream against srv and stops it when the test ends.
func startStream(t *testing.T, rawURL string, mod func(*Config)) (*Stream, *recSink) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cfg := Config{URL: u, Reconnect: true, Retry: DefaultRetry, Client: &http.Client{Transport: tr}}
	if mod != nil {
		mod(&cfg)
	}
	sink := newRecSink()
	s := NewStream(context.Background(), cfg, sink)
	go s.Run()
	t.Cleanup(func() {
		s.Close()
		select {
		case <-s.Done():
		case <-time.After(5 * time.Second):
			t.Error("stream goroutine did not stop")
		}
	})
	return s, sink
}

func eventStreamHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
}

func write(w http.ResponseWriter, s string) {
	_, _ = fmt.Fprint(w, s)
	w.(http.Flusher).Flush()
}

func TestStreamReconnectsWithLastEventID(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	lastIDs := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastIDs <- r.Header.Get("Last-Event-ID")
		eventStreamHeaders(w)
		switch conns.Add(1) {
		case 1:
			// The server shortens the reconnection time, then drops the
			// connection in the middle of an event that must be discarded.
			write(w, "retry: 80\n\nid: 1\ndata: one\n\nid: 2\nevent: tick\ndata: two\n\n")
			write(w, "id: 3\ndata: partial")
		default:
			write(w, "id: 3\ndata: three\n\n")
			<-r.Context().Done()
		}
	}))
	t.Cleanup(srv.Close)

	start := time.Now()
	_, sink := startStream(t, srv.URL, func(c *Config) {
		c.Retry = 10 * time.Second // only the server's retry can make this test pass in time
		c.LastEventID = "0"
	})

	if got := <-lastIDs; got != "0" {
		t.Errorf("first request Last-Event-ID = %q, want the configured 0", got)
	}
	sink.next(t, "open")
	ev1 := sink.next(t, "event").event
	ev2 := sink.next(t, "event").event
	failure := sink.next(t, "error").err
	if !failure.Reconnect || failure.Delay != 80*time.Millisecond || failure.LastEventID != "2" {
		t.Fatalf("error = %+v, want reconnect after 80ms with Last-Event-ID 2", failure)
	}
	if !strings.Contains(failure.Reason, "ended") {
		t.Errorf("reason %q does not say the stream ended", failure.Reason)
	}
	reconnect := sink.next(t, "connecting")
	if reconnect.attempt != 1 {
		t.Fatalf("attempt = %d, want 1", reconnect.attempt)
	}
	if wait := reconnect.at.Sub(failure.At); wait < 80*time.Millisecond || wait > 2*time.Second {
		t.Fatalf("reconnected %v after the error, want about 80ms", wait)
	}
	if got := <-lastIDs; got != "2" {
		t.Fatalf("reconnect Last-Event-ID = %q, want 2", got)
	}
	sink.next(t, "open")
	ev3 := sink.next(t, "event").event

	want := []Event{
		{Type: "message", Data: "one", LastEventID: "1"},
		{Type: "tick", Data: "two", LastEventID: "2"},
		{Type: "message", Data: "three", LastEventID: "3"},
	}
	for i, got := range []Event{ev1, ev2, ev3} {
		if got != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, got, want[i])
		}
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
}

func TestStreamNoReconnectWhenDisabled(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conns.Add(1)
		eventStreamHeaders(w)
		write(w, "retry: 1\ndata: only\n\n")
	}))
	t.Cleanup(srv.Close)

	s, sink := startStream(t, srv.URL, func(c *Config) { c.Reconnect = false })
	sink.next(t, "event")
	failure := sink.next(t, "error").err
	if failure.Reconnect {
		t.Fatalf("error says it will reconnect: %+v", failure)
	}
	sink.next(t, "closed")
	<-s.Done()
	time.Sleep(50 * time.Millisecond) // longer than the server's retry
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestStreamFailsWithoutReconnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		contentType string
		reason      string
	}{
		{"server error", http.StatusInternalServerError, "text/event-stream", "unexpected HTTP status 500"},
		{"not found", http.StatusNotFound, "text/plain", "unexpected HTTP status 404"},
		{"not modified", http.StatusNotModified, "text/event-stream", "unexpected HTTP status 304"},
		{"wrong content type", http.StatusOK, "text/plain", `unexpected Content-Type "text/plain"`},
		{"missing content type", http.StatusOK, "", `unexpected Content-Type ""`},
		{"no content", http.StatusNoContent, "", "HTTP 204"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var conns atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				conns.Add(1)
				w.Header()["Content-Type"] = []string{tc.contentType}
				w.WriteHeader(tc.status)
				if tc.status == http.StatusOK {
					_, _ = w.Write([]byte("data: should not be parsed\n\n"))
				}
			}))
			t.Cleanup(srv.Close)

			s, sink := startStream(t, srv.URL, func(c *Config) { c.Retry = 0 })
			failure := sink.next(t, "error").err
			if failure.Reconnect || failure.Status != tc.status || !strings.Contains(failure.Reason, tc.reason) {
				t.Fatalf("error = %+v, want status %d, no reconnect, reason containing %q", failure, tc.status, tc.reason)
			}
			sink.next(t, "closed")
			<-s.Done()
			if sink.count("open") != 0 || sink.count("event") != 0 {
				t.Fatalf("unexpected calls: %v", sink.kinds())
			}
			if n := conns.Load(); n != 1 {
				t.Fatalf("%d connections, want 1", n)
			}
		})
	}
}

func TestStreamMalformedStream(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := conns.Add(1)
		eventStreamHeaders(w)
		if n == 1 {
			write(w, "retry: 10\nid: 5\ndata: fine\n\ndata: "+strings.Repeat("x", 4096))
			<-r.Context().Done() // the client, not the server, must end this
			return
		}
		write(w, "data: after\n\n")
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)

	_, sink := startStream(t, srv.URL, func(c *Config) { c.MaxEventBytes = 1024 })
	if ev := sink.next(t, "event").event; ev.Data != "fine" {
		t.Fatalf("first event %+v", ev)
	}
	failure := sink.next(t, "error").err
	if !strings.Contains(failure.Reason, "malformed event stream") || !strings.Contains(failure.Reason, "1024") {
		t.Fatalf("reason %q does not explain the malformed stream", failure.Reason)
	}
	if !failure.Reconnect || failure.LastEventID != "5" {
		t.Fatalf("error = %+v, want a reconnect with Last-Event-ID 5", failure)
	}
	if ev := sink.next(t, "event").event; ev.Data != "after" || ev.LastEventID != "5" {
		t.Fatalf("event after reconnect %+v", ev)
	}
}

func TestStreamMalformedNoReconnect(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eventStreamHeaders(w)
		write(w, strings.Repeat("y", 100))
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)

	_, sink := startStream(t, srv.URL, func(c *Config) { c.MaxEventBytes = 10; c.Reconnect = false })
	if failure := sink.next(t, "error").err; failure.Reconnect || !strings.Contains(failure.Reason, "line longer than 10 bytes") {
		t.Fatalf("error = %+v", failure)
	}
	sink.next(t, "closed")
}

func TestStreamRequestHeaders(t *testing.T) {
	t.Parallel()
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		eventStreamHeaders(w)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)

	h := http.Header{}
	h.Set("Authorization", "Bearer x")
	h.Set("Accept", "application/json") // must be overridden
	startStream(t, srv.URL, func(c *Config) { c.Header = h })
	hdr := <-got
	for k, want := range map[string]string{
		"Accept":        "text/event-stream",
		"Cache-Control": "no-cache",
		"Authorization": "Bearer x",
		"Last-Event-Id": "",
	} {
		if v := hdr.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
}

func TestStreamNetworkErrorReconnects(t *testing.T) {
	t.Parallel()
	// A port that was just free: connecting fails with "connection refused".
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	s, sink := startStream(t, "http://"+addr+"/", func(c *Config) { c.Retry = 20 * time.Millisecond })
	for i := range 3 {
		failure := sink.next(t, "error").err
		if !failure.Reconnect || failure.Status != 0 {
			t.Fatalf("error %d = %+v, want a reconnectable network error", i, failure)
		}
	}
	s.Close()
	sink.next(t, "closed")
}

func TestStreamFutileErrorEndsStream(t *testing.T) {
	t.Parallel()
	s, sink := startStream(t, "http://127.0.0.1:1/", func(c *Config) {
		c.Retry = 0
		c.Futile = func(error) bool { return true }
	})
	if failure := sink.next(t, "error").err; failure.Reconnect {
		t.Fatalf("futile error would reconnect: %+v", failure)
	}
	sink.next(t, "closed")
	<-s.Done()
}

func TestStreamCloseCancelsReconnectWait(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conns.Add(1)
		eventStreamHeaders(w)
		write(w, "data: bye\n\n")
	}))
	t.Cleanup(srv.Close)

	s, sink := startStream(t, srv.URL, func(c *Config) { c.Retry = time.Hour })
	sink.next(t, "error")
	s.Close()
	select {
	case <-s.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not cancel the reconnect wait")
	}
	sink.next(t, "closed")
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestStreamContextCancelIsSilent(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eventStreamHeaders(w)
		write(w, "data: hi\n\n")
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	u, _ := url.Parse(srv.URL)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	sink := newRecSink()
	s := NewStream(ctx, Config{URL: u, Reconnect: true, Client: &http.Client{Transport: tr}}, sink)
	go s.Run()
	sink.next(t, "event")
	cancel()
	select {
	case <-s.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("cancelling the context did not stop the stream")
	}
	if sink.count("error") != 0 {
		t.Fatalf("cancellation produced an error event: %v", sink.kinds())
	}
	if sink.count("closed") != 1 {
		t.Fatalf("closed called %d times", sink.count("closed"))
	}
}

func TestStreamEventTimestampIsReadTime(t *testing.T) {
	t.Parallel()
	sent := make(chan time.Time, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eventStreamHeaders(w)
		time.Sleep(30 * time.Millisecond)
		sent <- time.Now()
		write(w, "data: a\n\n")
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)

	_, sink := startStream(t, srv.URL, nil)
	open := sink.next(t, "open")
	ev := sink.next(t, "event")
	sentAt := <-sent
	if ev.at.Before(sentAt) || ev.at.Sub(sentAt) > time.Second {
		t.Fatalf("event stamped %v, server wrote it at %v", ev.at, sentAt)
	}
	if !ev.at.After(open.at) {
		t.Fatalf("event stamped %v, not after open %v", ev.at, open.at)
	}
}

func TestOriginOf(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://Example.COM:80/x?y":  "http://example.com",
		"https://example.com:443/":   "https://example.com",
		"http://127.0.0.1:8080/sse":  "http://127.0.0.1:8080",
		"http://[::1]:9000/":         "http://[::1]:9000",
		"https://example.com:8443/a": "https://example.com:8443",
	} {
		u, _ := url.Parse(in)
		if got := originOf(u); got != want {
			t.Errorf("originOf(%s) = %s, want %s", in, got, want)
		}
	}
}
