package measure

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/grafana/sobek"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"go.k6.io/k6/v2/js/common"
	"go.k6.io/k6/v2/js/modules"
)

// rawCodec passes bytes through: the script hands over a request already
// encoded as protobuf and gets the response's protobuf bytes back, so no
// JSON, base64 or reflection touches the message on the way.
type rawCodec struct{}

var _ encoding.CodecV2 = rawCodec{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("raw codec: cannot marshal %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(*b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T", v)
	}
	*b = data.Materialize() // a copy: gRPC reuses its buffers once this returns
	return nil
}

// Name is the content subtype on the wire: application/grpc+proto, what any
// protobuf server expects.
func (rawCodec) Name() string { return "proto" }

const defaultMaxMessageBytes = 16 << 20

// RawClient is a gRPC client for pre-encoded protobuf: one connection, unary
// calls, each timed in Go.
type RawClient struct {
	vu      modules.VU
	conn    *grpc.ClientConn
	maxMsg  int
	timeout time.Duration
}

// callResult is one call's outcome, before it becomes a JS object on the loop.
type callResult struct {
	code           int
	err            string
	message        []byte
	startMs, endMs float64
}

func (c *RawClient) connect(addr string, opts sobek.Value) error {
	if c.vu.State() == nil {
		return common.NewInitContextError("RawGrpcClient.connect must be called in a VU's iteration, not in the init context")
	}
	if c.conn != nil {
		return errors.New("RawGrpcClient is already connected; close() it first")
	}
	o, err := parseConnectOptions(c.vu.Runtime(), opts)
	if err != nil {
		return err
	}
	c.maxMsg = o.maxMessageBytes
	state := c.vu.State()
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		return state.Dialer.DialContext(ctx, "tcp", addr)
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(dial),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{}), grpc.MaxCallRecvMsgSize(o.maxMessageBytes), grpc.MaxCallSendMsgSize(o.maxMessageBytes)),
	)
	if err != nil {
		return fmt.Errorf("RawGrpcClient.connect %q: %w", addr, err)
	}
	// NewClient is lazy: connect now, so that connection set-up is not part
	// of the first call's time.
	ctx, cancel := context.WithTimeout(c.vu.Context(), o.timeout)
	defer cancel()
	conn.Connect()
	for s := conn.GetState(); s.String() != "READY"; s = conn.GetState() {
		if s.String() == "TRANSIENT_FAILURE" || s.String() == "SHUTDOWN" || !conn.WaitForStateChange(ctx, s) {
			_ = conn.Close()
			return fmt.Errorf("RawGrpcClient.connect %q: not ready within %v (state %v)", addr, o.timeout, conn.GetState())
		}
	}
	c.conn = conn
	return nil
}

// request copies the payload (one ArrayBuffer, or an array of them joined in
// order) so the script may reuse its buffers while the call is in flight.
func (c *RawClient) request(payload sobek.Value) ([]byte, error) {
	var parts [][]byte
	if ab, ok := payload.Export().(sobek.ArrayBuffer); ok {
		parts = [][]byte{ab.Bytes()}
	} else if obj, ok := payload.(*sobek.Object); ok && obj.ClassName() == "Array" {
		n := int(obj.Get("length").ToInteger())
		for i := 0; i < n; i++ {
			ab, ok := obj.Get(fmt.Sprint(i)).Export().(sobek.ArrayBuffer)
			if !ok {
				return nil, fmt.Errorf("payload[%d] is not an ArrayBuffer", i)
			}
			parts = append(parts, ab.Bytes())
		}
	} else {
		return nil, fmt.Errorf("payload must be an ArrayBuffer or an array of ArrayBuffers, got %s", payload.ExportType())
	}
	size := 0
	for _, p := range parts {
		size += len(p)
	}
	if size > c.maxMsg {
		return nil, fmt.Errorf("payload of %d bytes is over maxMessageBytes (%d)", size, c.maxMsg)
	}
	buf := make([]byte, 0, size)
	for _, p := range parts {
		buf = append(buf, p...)
	}
	return buf, nil
}

func (c *RawClient) prepare(method string, payload, params sobek.Value) ([]byte, callOptions, error) {
	if c.conn == nil {
		return nil, callOptions{}, errors.New("RawGrpcClient: not connected, call connect() first")
	}
	if len(method) < 3 || method[0] != '/' {
		return nil, callOptions{}, fmt.Errorf("method %q: want /package.Service/Method", method)
	}
	req, err := c.request(payload)
	if err != nil {
		return nil, callOptions{}, err
	}
	o, err := parseCallOptions(c.vu.Runtime(), params)
	return req, o, err
}

// call runs one unary call; safe off the event loop.
func call(ctx context.Context, conn *grpc.ClientConn, method string, req []byte, o callOptions) callResult {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if len(o.md) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, o.md)
	}
	var res []byte
	start := time.Now()
	err := conn.Invoke(ctx, method, &req, &res)
	end := time.Now()
	r := callResult{startMs: msAt(start), endMs: msAt(end)}
	if err != nil {
		st := status.Convert(err)
		r.code, r.err = int(st.Code()), st.Message()
		return r
	}
	r.message = res
	return r
}

func (c *RawClient) toJS(r callResult) *sobek.Object {
	rt := c.vu.Runtime()
	o := rt.NewObject()
	must := func(err error) {
		if err != nil {
			common.Throw(rt, err)
		}
	}
	must(o.Set("status", r.code))
	must(o.Set("error", r.err))
	if r.message != nil {
		must(o.Set("message", rt.NewArrayBuffer(r.message)))
	} else {
		must(o.Set("message", sobek.Null()))
	}
	must(o.Set("startMs", r.startMs))
	must(o.Set("endMs", r.endMs))
	must(o.Set("durationMs", r.endMs-r.startMs))
	return o
}

func (c *RawClient) invoke(method string, payload, params sobek.Value) *sobek.Object {
	req, o, err := c.prepare(method, payload, params)
	if err != nil {
		common.Throw(c.vu.Runtime(), err)
	}
	return c.toJS(call(c.vu.Context(), c.conn, method, req, o))
}

func (c *RawClient) asyncInvoke(method string, payload, params sobek.Value) *sobek.Promise {
	promise, resolve, reject := c.vu.Runtime().NewPromise()
	req, o, err := c.prepare(method, payload, params)
	if err != nil {
		_ = reject(err)
		return promise
	}
	enqueue := c.vu.RegisterCallback()
	ctx, conn := c.vu.Context(), c.conn
	go func() {
		r := call(ctx, conn, method, req, o)
		enqueue(func() error { return resolve(c.toJS(r)) })
	}()
	return promise
}

func (c *RawClient) close() error {
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}

type connectOptions struct {
	timeout         time.Duration
	maxMessageBytes int
}

func parseConnectOptions(rt *sobek.Runtime, v sobek.Value) (connectOptions, error) {
	o := connectOptions{timeout: 10 * time.Second, maxMessageBytes: defaultMaxMessageBytes}
	if common.IsNullish(v) {
		return o, nil
	}
	obj := v.ToObject(rt)
	for _, k := range obj.Keys() {
		val := obj.Get(k)
		switch k {
		case "timeout":
			d, err := parseDuration(val)
			if err != nil {
				return o, fmt.Errorf("connect option timeout: %w", err)
			}
			o.timeout = d
		case "maxMessageBytes":
			n := val.ToInteger()
			if n < 1 || n > 1<<30 {
				return o, fmt.Errorf("connect option maxMessageBytes %v: want 1 to 1 GiB", val)
			}
			o.maxMessageBytes = int(n)
		default:
			return o, fmt.Errorf("unknown connect option %q (timeout, maxMessageBytes)", k)
		}
	}
	return o, nil
}

// callOptions are a call's params: {timeout: '10s' | ms, metadata: {name: value}}.
type callOptions struct {
	timeout time.Duration
	md      metadata.MD
}

func parseCallOptions(rt *sobek.Runtime, v sobek.Value) (callOptions, error) {
	o := callOptions{timeout: 60 * time.Second}
	if common.IsNullish(v) {
		return o, nil
	}
	obj := v.ToObject(rt)
	for _, k := range obj.Keys() {
		switch k {
		case "timeout":
			d, err := parseDuration(obj.Get(k))
			if err != nil {
				return o, fmt.Errorf("call option timeout: %w", err)
			}
			o.timeout = d
		case "metadata":
			if common.IsNullish(obj.Get(k)) {
				continue
			}
			md := obj.Get(k).ToObject(rt)
			o.md = metadata.MD{}
			for _, name := range md.Keys() {
				value, ok := md.Get(name).Export().(string)
				if !ok {
					return o, fmt.Errorf("call option metadata: %q must be a string", name)
				}
				o.md.Append(name, value)
			}
		default:
			return o, fmt.Errorf("unknown call option %q (timeout, metadata)", k)
		}
	}
	return o, nil
}

// parseDuration takes '10s'-style strings or a number of milliseconds.
func parseDuration(v sobek.Value) (time.Duration, error) {
	var d time.Duration
	switch x := v.Export().(type) {
	case string:
		var err error
		if d, err = time.ParseDuration(x); err != nil {
			return 0, fmt.Errorf("%q is not a duration like '10s'", x)
		}
	case int64:
		d = time.Duration(x) * time.Millisecond
	case float64:
		d = time.Duration(x * float64(time.Millisecond))
	default:
		return 0, fmt.Errorf("%v is not a duration ('10s' or milliseconds)", v)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%v is not positive", v)
	}
	return d, nil
}
