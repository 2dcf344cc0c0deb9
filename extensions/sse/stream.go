package sse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultRetry is the initial reconnection time when the script sets none.
const DefaultRetry = 3 * time.Second

// readBufferSize is how much one read of the body may return. Each read gets
// its own timestamp, so smaller is more precise under load. The HTTP
// transport below already reads the socket through its own 4 KiB buffer, so a
// small buffer here adds no syscalls, and every open stream holds one for its
// whole life: 1 KiB instead of 32 KiB is ~31 KB less k6 memory per held stream.
// An event larger than this simply arrives over several reads.
const readBufferSize = 1 << 10

// Config describes one EventSource connection. It has no k6 dependency so
// the connection logic can be tested with plain Go.
type Config struct {
	URL           *url.URL
	Header        http.Header   // extra request headers (copied per request)
	LastEventID   string        // initial Last-Event-ID, may be empty
	Reconnect     bool          // reestablish after a network error or EOF
	Retry         time.Duration // initial reconnection time; 0 = at once, <0 = DefaultRetry
	MaxEventBytes int
	// Client performs the requests. It must not have a Timeout, which would
	// also cut the streaming body; cancellation comes from the context.
	Client *http.Client
	// Futile, if set, recognises connection errors that a retry cannot fix
	// (e.g. k6 refusing to dial a blocklisted address); they end the stream.
	Futile func(error) bool
}

// Sink receives everything a Stream observes. All methods are called from
// the Stream's goroutine, one at a time and in order, and must not block
// for long: the socket is not read while they run.
type Sink interface {
	// Connecting is called before every request; attempt is 0 for the first
	// connection and counts reconnections after that.
	Connecting(attempt int)
	// Response is called when response headers arrive, whatever the status.
	Response(r ResponseInfo)
	// Open is called when the response was accepted as an event stream.
	Open(at time.Time, origin string)
	// Bytes reports body bytes read from the socket.
	Bytes(n int, at time.Time)
	// Event reports a dispatched event; at is when the read that completed
	// it returned.
	Event(ev Event, at time.Time)
	// Error reports a failure. If e.Reconnect is true, a new connection will
	// be attempted after e.Delay; otherwise the stream is finished.
	Error(e ErrorInfo)
	// Closed is the final call. It comes after a fatal Error, after the
	// context was cancelled, or after Close.
	Closed()
}

// ResponseInfo describes one HTTP response to a connection attempt.
type ResponseInfo struct {
	Start   time.Time // request start
	Headers time.Time // response headers received
	Status  int
}

// ErrorInfo describes a failure of the connection or of the stream.
type ErrorInfo struct {
	At          time.Time
	Reason      string
	Status      int // HTTP status of a refused response; 0 for network and stream errors
	Reconnect   bool
	Delay       time.Duration // wait before reconnecting, if Reconnect
	LastEventID string        // what the reconnection will send
}

// Stream is one EventSource connection including its reconnections.
type Stream struct {
	cfg    Config
	sink   Sink
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	lastID string
	retry  time.Duration
}

// NewStream prepares a stream; nothing happens until Run.
func NewStream(parent context.Context, cfg Config, sink Sink) *Stream {
	ctx, cancel := context.WithCancel(parent)
	if cfg.Retry < 0 {
		cfg.Retry = DefaultRetry
	}
	if cfg.MaxEventBytes <= 0 {
		cfg.MaxEventBytes = DefaultMaxEventBytes
	}
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	return &Stream{
		cfg: cfg, sink: sink, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		lastID: cfg.LastEventID, retry: cfg.Retry,
	}
}

// Close stops the stream: an in-flight request or read is aborted and a
// pending reconnection is cancelled. It is safe from any goroutine. A Sink
// call already under way may still complete, so a consumer that needs a
// hard cut-off (like the JS glue) keeps its own closed flag; the only call
// guaranteed to follow is Closed.
func (s *Stream) Close() { s.cancel() }

// Done is closed when Run has returned.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Run connects and keeps the stream going until it fails for good, the
// context is cancelled or Close is called. It always ends with Sink.Closed.
func (s *Stream) Run() {
	defer close(s.done)
	defer s.sink.Closed()
	defer s.cancel()

	for attempt := 0; ; attempt++ {
		if s.ctx.Err() != nil {
			return
		}
		s.sink.Connecting(attempt)
		failure := s.connect()
		if failure == nil || s.ctx.Err() != nil {
			return // cancelled: closing is silent
		}
		failure.LastEventID = s.lastID
		if failure.Reconnect {
			failure.Delay = s.retry
		}
		s.sink.Error(*failure)
		if !failure.Reconnect {
			return
		}
		timer := time.NewTimer(s.retry)
		select {
		case <-s.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// connect performs one request and reads its body to the end. It returns
// nil only when the context was cancelled.
func (s *Stream) connect() *ErrorInfo {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, s.cfg.URL.String(), nil)
	if err != nil {
		return &ErrorInfo{At: time.Now(), Reason: err.Error()}
	}
	for k, v := range s.cfg.Header {
		req.Header[k] = append([]string(nil), v...)
	}
	req.Header.Set("Accept", "text/event-stream")
	if req.Header.Get("Cache-Control") == "" {
		req.Header.Set("Cache-Control", "no-cache")
	}
	if s.lastID != "" {
		req.Header.Set("Last-Event-ID", s.lastID)
	}

	start := time.Now()
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		if s.ctx.Err() != nil {
			return nil
		}
		// The spec reestablishes after a network error unless retrying is
		// futile; a URL k6 refuses to dial (blocklists) is such a case.
		futile := s.cfg.Futile != nil && s.cfg.Futile(err)
		return &ErrorInfo{At: time.Now(), Reason: err.Error(), Reconnect: s.cfg.Reconnect && !futile}
	}
	headersAt := time.Now()
	defer func() { _ = resp.Body.Close() }()

	s.sink.Response(ResponseInfo{Start: start, Headers: headersAt, Status: resp.StatusCode})

	if reason := checkResponse(resp); reason != "" {
		// "Fail the connection": no reconnection, whatever the options say.
		return &ErrorInfo{At: headersAt, Reason: reason, Status: resp.StatusCode}
	}

	s.sink.Open(headersAt, originOf(resp.Request.URL))
	return s.read(resp)
}

// read feeds the response body to a fresh parser until EOF or an error.
func (s *Stream) read(resp *http.Response) *ErrorInfo {
	p := NewParser(s.cfg.MaxEventBytes, s.lastID)
	buf := make([]byte, readBufferSize)
	for {
		n, rerr := resp.Body.Read(buf)
		at := time.Now() // taken before any processing, so it is the arrival time
		if n > 0 {
			s.sink.Bytes(n, at)
			events, perr := p.Feed(buf[:n])
			for _, ev := range events {
				if s.ctx.Err() != nil {
					return nil
				}
				s.sink.Event(ev, at)
			}
			s.lastID = p.LastEventID()
			if d, ok := p.TakeRetry(); ok {
				s.retry = d
			}
			if perr != nil {
				return &ErrorInfo{At: at, Reason: perr.Error(), Reconnect: s.cfg.Reconnect}
			}
		}
		if rerr != nil {
			if s.ctx.Err() != nil {
				return nil
			}
			reason := "stream ended by server"
			if !errors.Is(rerr, io.EOF) {
				reason = "stream read failed: " + rerr.Error()
			}
			return &ErrorInfo{At: at, Reason: reason, Reconnect: s.cfg.Reconnect}
		}
	}
}

// checkResponse returns why a response cannot be used as an event stream,
// or "" if it can.
func checkResponse(resp *http.Response) string {
	if resp.StatusCode == http.StatusNoContent {
		return "HTTP 204 No Content: the server asked the client to stop reconnecting"
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("unexpected HTTP status %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "text/event-stream" {
		return fmt.Sprintf("unexpected Content-Type %q, want text/event-stream", ct)
	}
	return ""
}

// originOf serialises the origin of the final (post-redirect) URL, which
// is what MessageEvent.origin carries: scheme and host, with the port only
// when it is not the scheme's default.
func originOf(u *url.URL) string {
	if u == nil {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6 literal
	}
	if port == "" || (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + port
}
