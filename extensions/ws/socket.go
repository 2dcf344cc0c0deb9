package ws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/grafana/sobek"

	"go.k6.io/k6/v2/js/common"
	"go.k6.io/k6/v2/lib"
	"go.k6.io/k6/v2/metrics"

	"rtbench.test/xk6-sse/vujs"
)

// socket is the Go side of one WebSocket object. The fields below the marker
// are touched only on the VU's event loop; the socket's goroutines reach them
// solely through tasks posted on the bridge.
type socket struct {
	rt     *sobek.Runtime
	obj    *sobek.Object
	url    string
	bridge *vujs.Bridge
	ctx    context.Context // the socket's life: cancelled when it ends, or by the VU's end
	cancel context.CancelFunc
	vuCtx  context.Context // the VU's: samples go out until it ends, after the socket's end too
	state  *lib.State
	tags   metrics.TagsAndMeta

	// the writer: frames go out in the order send() queued them, on a
	// goroutine that runs only while frames are queued
	wmu     sync.Mutex
	conn    *websocket.Conn // set once the handshake succeeded
	queue   []frame
	writing bool
	failed  bool // a write failed: the connection is being torn down

	// --- event loop only ---
	readyState int
	protocol   string
	listeners  [evCount][]sobek.Value
	// the code and reason close() was called with (0 until then)
	closeCode   int
	closeReason string
	closeTimer  *time.Timer
	abandoned   bool // close() came during the handshake
}

type frame struct {
	typ  int
	data []byte
}

// run dials, then reads until the connection ends; the socket's goroutine.
func (s *socket) run(d *websocket.Dialer, header http.Header, maxMessageBytes int64) {
	defer s.cancel()
	// The socket's end (close(), the VU's end, a throwing listener) drops the
	// TCP connection, whether the handshake is under way or done: gorilla's
	// handshake heeds only its context's deadline, not its cancellation.
	stop := func() bool { return false }
	d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := s.state.Dialer.DialContext(ctx, network, addr)
		if err == nil {
			stop = context.AfterFunc(s.ctx, func() { _ = c.Close() })
		}
		return c, err
	}
	defer func() { stop() }()
	start := time.Now()
	conn, res, err := d.DialContext(s.ctx, s.url, header)
	end := time.Now()
	tags := s.tags.Tags
	if res != nil {
		_ = res.Body.Close()
		if s.state.Options.SystemTags.Has(metrics.TagStatus) {
			tags = tags.With(metrics.TagStatus.String(), strconv.Itoa(res.StatusCode))
		}
		if conn != nil && s.state.Options.SystemTags.Has(metrics.TagSubproto) {
			tags = tags.With(metrics.TagSubproto.String(), conn.Subprotocol())
		}
	}
	builtin := s.state.BuiltinMetrics
	s.push(tags, start, builtin.WSSessions, 1)
	s.push(tags, start, builtin.WSConnecting, metrics.D(end.Sub(start)))
	if err != nil {
		if res != nil && errors.Is(err, websocket.ErrBadHandshake) {
			err = fmt.Errorf("%w: HTTP %d", err, res.StatusCode)
		}
		s.bridge.Close(func() error { return s.closed(websocket.CloseAbnormalClosure, "", err, time.Now()) })
		return
	}
	conn.SetReadLimit(maxMessageBytes)
	s.wmu.Lock()
	s.conn = conn
	s.wmu.Unlock()
	protocol := conn.Subprotocol()
	s.bridge.Post(s.ctx, func() error { return s.opened(protocol, end) })

	code, reason, err := s.read(conn)
	_ = conn.Close()
	ended := time.Now()
	s.push(tags, ended, builtin.WSSessionDuration, metrics.D(ended.Sub(start)))
	s.bridge.Close(func() error { return s.closed(code, reason, err, ended) })
}

// read posts every message with the time its frame was read, until the
// connection ends; it returns the close frame's code and reason, or 1006 and
// the error when the connection ended without one.
func (s *socket) read(conn *websocket.Conn) (int, string, error) {
	for {
		typ, data, err := conn.ReadMessage()
		at := time.Now()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
				return ce.Code, ce.Text, nil
			}
			if errors.Is(err, websocket.ErrReadLimit) {
				// tell the server why, then drop the connection
				_ = conn.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseMessageTooBig, "message too big"), time.Now().Add(time.Second))
				return websocket.CloseMessageTooBig, "message too big", err
			}
			return websocket.CloseAbnormalClosure, "", err
		}
		s.bridge.Post(s.ctx, func() error { return s.message(typ, data, at) })
	}
}

func (s *socket) push(tags *metrics.TagSet, at time.Time, m *metrics.Metric, value float64) {
	metrics.PushIfNotDone(s.vuCtx, s.state.Samples, metrics.Sample{
		TimeSeries: metrics.TimeSeries{Metric: m, Tags: tags},
		Time:       at,
		Metadata:   s.tags.Metadata,
		Value:      value,
	})
}

// enqueue queues a frame and starts the writer if it is not running.
func (s *socket) enqueue(f frame) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.failed {
		return
	}
	s.queue = append(s.queue, f)
	if !s.writing {
		s.writing = true
		go s.write()
	}
}

// write sends queued frames until none is left, then ends.
func (s *socket) write() {
	for {
		s.wmu.Lock()
		if len(s.queue) == 0 || s.failed {
			s.writing = false
			s.queue = nil
			s.wmu.Unlock()
			return
		}
		f := s.queue[0]
		s.queue[0] = frame{}
		s.queue = s.queue[1:]
		conn := s.conn
		s.wmu.Unlock()
		_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
		if err := conn.WriteMessage(f.typ, f.data); err != nil {
			s.wmu.Lock()
			s.failed = true
			s.wmu.Unlock()
			_ = conn.Close() // the reader sees it and reports the close
		}
	}
}

// --- event loop ---

func (s *socket) opened(protocol string, at time.Time) error {
	if s.readyState != stateConnecting {
		return nil // close() was called during the handshake: the connection is being dropped
	}
	s.readyState = stateOpen
	s.protocol = protocol
	return s.dispatch(evOpen, s.event(evOpen, at))
}

func (s *socket) message(typ int, data []byte, at time.Time) error {
	if s.readyState != stateOpen {
		return nil // as in browsers: nothing is delivered once close() was called
	}
	ev := s.event(evMessage, at)
	if typ == websocket.TextMessage {
		s.must(ev.Set("data", string(data)))
	} else {
		s.must(ev.Set("data", s.rt.NewArrayBuffer(data)))
	}
	return s.dispatch(evMessage, ev)
}

// closed ends the socket: an error event first if the connection failed
// (not when the script closed it), then the close event.
func (s *socket) closed(code int, reason string, err error, at time.Time) error {
	if s.readyState == stateClosed {
		return nil
	}
	byScript := s.closeCode != 0
	if s.closeTimer != nil {
		s.closeTimer.Stop()
	}
	if s.abandoned {
		code, reason = s.closeCode, s.closeReason // the handshake never became a connection
	}
	s.readyState = stateClosed
	if err != nil && !byScript {
		ev := s.event(evError, at)
		s.must(ev.Set("error", err.Error()))
		if derr := s.dispatch(evError, ev); derr != nil {
			return derr
		}
	}
	ev := s.event(evClose, at)
	s.must(ev.Set("code", code))
	s.must(ev.Set("reason", reason))
	s.must(ev.Set("wasClean", code != websocket.CloseAbnormalClosure))
	return s.dispatch(evClose, ev)
}

// send implements WebSocket.send(data): text for a string, binary for an
// ArrayBuffer or a view of one. Throws while connecting; once close() was
// called the data is dropped, as in browsers.
func (s *socket) send(v sobek.Value) {
	switch s.readyState {
	case stateConnecting:
		common.Throw(s.rt, errors.New("InvalidStateError: WebSocket.send() while the socket is still connecting"))
	case stateOpen:
	default:
		return
	}
	var f frame
	switch data := v.Export().(type) {
	case string:
		f = frame{websocket.TextMessage, []byte(data)}
	case sobek.ArrayBuffer:
		f = frame{websocket.BinaryMessage, bytes.Clone(data.Bytes())}
	case *sobek.ArrayBuffer:
		f = frame{websocket.BinaryMessage, bytes.Clone(data.Bytes())}
	default:
		var b []byte
		if common.IsNullish(v) || !isView(s.rt, v) || s.rt.ExportTo(v, &b) != nil {
			common.Throw(s.rt, fmt.Errorf("TypeError: WebSocket.send() takes a string, an ArrayBuffer or a view of one, got %v", v))
		}
		f = frame{websocket.BinaryMessage, bytes.Clone(b)}
	}
	s.enqueue(f)
}

func isView(rt *sobek.Runtime, v sobek.Value) bool {
	fn, ok := sobek.AssertFunction(rt.Get("ArrayBuffer").ToObject(rt).Get("isView"))
	if !ok {
		return false
	}
	r, err := fn(nil, v)
	return err == nil && r.ToBoolean()
}

// close implements WebSocket.close(code, reason): the close frame goes after
// whatever send() queued; the close event comes with the server's answer, or
// after closeWait without one. During the handshake it abandons it.
func (s *socket) close(code int, reason string) {
	if code != websocket.CloseNormalClosure && (code < 3000 || code > 4999) {
		common.Throw(s.rt, fmt.Errorf("InvalidAccessError: WebSocket.close() code must be 1000 or 3000-4999, got %d", code))
	}
	if len(reason) > 123 {
		common.Throw(s.rt, fmt.Errorf("SyntaxError: WebSocket.close() reason must be at most 123 bytes, got %d", len(reason)))
	}
	if s.readyState == stateClosing || s.readyState == stateClosed {
		return
	}
	s.closeCode, s.closeReason = code, reason
	if s.readyState == stateConnecting {
		s.readyState = stateClosing
		s.abandoned = true
		s.cancel()
		return
	}
	s.readyState = stateClosing
	s.enqueue(frame{websocket.CloseMessage, websocket.FormatCloseMessage(code, reason)})
	s.closeTimer = time.AfterFunc(closeWait, s.cancel)
}

// dispatch calls the listeners registered for the event, on a snapshot of
// the list. A throwing listener drops the connection and aborts the
// iteration, as in k6/websockets.
func (s *socket) dispatch(typ int, ev *sobek.Object) error {
	for _, v := range s.listeners[typ] {
		fn, _ := sobek.AssertFunction(v)
		if _, err := fn(s.obj, ev); err != nil {
			s.cancel()
			return err
		}
	}
	return nil
}

// event makes an event object: plain data properties, timestamp in
// milliseconds since the Unix epoch with sub-millisecond precision.
func (s *socket) event(typ int, at time.Time) *sobek.Object {
	ev := s.rt.NewObject()
	s.must(ev.Set("type", eventNames[typ]))
	s.must(ev.Set("target", s.obj))
	s.must(ev.Set("timestamp", float64(at.UnixNano())/1e6))
	return ev
}

func (s *socket) must(err error) {
	if err != nil {
		common.Throw(s.rt, err)
	}
}
