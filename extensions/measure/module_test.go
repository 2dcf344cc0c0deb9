package measure

import (
	"bytes"
	"net"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"go.k6.io/k6/v2/js/modulestest"
	"go.k6.io/k6/v2/lib"
	"go.k6.io/k6/v2/lib/netext"
	"go.k6.io/k6/v2/metrics"
)

// newVU is a VU in its iteration with the module's exports as globals.
func newVU(t *testing.T) (*modulestest.Runtime, *RootModule) {
	t.Helper()
	rt := modulestest.NewRuntime(t)
	root := New()
	mi := root.NewModuleInstance(rt.VU)
	for name, v := range mi.Exports().Named {
		if err := rt.VU.RuntimeField.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	registry := rt.VU.InitEnvField.Registry
	rt.MoveToVUContext(&lib.State{
		Options:        lib.Options{SystemTags: &metrics.DefaultSystemTagSet},
		BuiltinMetrics: rt.BuiltinMetrics,
		Dialer:         netext.NewDialer(net.Dialer{}, nil),
		Samples:        make(chan metrics.SampleContainer, 1000),
		Tags:           lib.NewVUStateTags(registry.RootTagSet()),
	})
	return rt, root
}

// run executes code as one iteration would, failing the test if it does not end.
func run(t *testing.T, rt *modulestest.Runtime, code string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := rt.RunOnEventLoop(code)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		rt.CancelContext()
		<-done
		t.Fatal("the iteration did not end")
		return nil
	}
}

func TestNowIsMonotonicSubMillisecondAndOnTheWallClockScale(t *testing.T) {
	rt, _ := newVU(t)
	wallBefore := float64(time.Now().UnixNano()) / 1e6
	if err := run(t, rt, `
		var samples = [];
		for (var i = 0; i < 2000; i++) samples.push(now());
	`); err != nil {
		t.Fatal(err)
	}
	wallAfter := float64(time.Now().UnixNano()) / 1e6
	var samples []float64
	if err := rt.VU.Runtime().ExportTo(rt.VU.Runtime().Get("samples"), &samples); err != nil {
		t.Fatal(err)
	}
	fractional := 0
	for i, s := range samples {
		if i > 0 && s < samples[i-1] {
			t.Fatalf("now() went back: %v after %v", s, samples[i-1])
		}
		if s != float64(int64(s)) {
			fractional++
		}
	}
	// Same scale as event timestamps (wall-clock ms): within 5 ms of the wall clock around it.
	if samples[0] < wallBefore-5 || samples[len(samples)-1] > wallAfter+5 {
		t.Errorf("now() %v..%v is not on the wall-clock scale %v..%v", samples[0], samples[len(samples)-1], wallBefore, wallAfter)
	}
	if fractional < len(samples)/2 {
		t.Errorf("only %d of %d samples have a fractional part: not sub-millisecond", fractional, len(samples))
	}
	// Consecutive reads are far closer than a microsecond apart; their differences must show it.
	steps := 0
	for i := 1; i < len(samples); i++ {
		if d := samples[i] - samples[i-1]; d > 0 && d < 0.001 {
			steps++
		}
	}
	if steps == 0 {
		t.Errorf("no two consecutive now() reads differ by less than 1 µs: resolution too coarse")
	}
}

func TestMsAtMatchesEventTimestampsToWithinAMicrosecond(t *testing.T) {
	// An event timestamp is float64(t.UnixNano())/1e6 of a time.Now(); msAt of the same reading
	// differs only by wall-clock adjustments since the process started (none in a test).
	at := time.Now()
	if d := msAt(at) - float64(at.UnixNano())/1e6; d > 0.001 || d < -0.001 {
		t.Errorf("msAt differs from the wall timestamp by %v ms", d)
	}
}

func TestGeneratorSnapshot(t *testing.T) {
	rt, _ := newVU(t)
	if err := run(t, rt, `
		var a = generator();
		var t0 = now(); var x = 0;
		while (now() - t0 < 250) x++;
		var b = generator();
	`); err != nil {
		t.Fatal(err)
	}
	get := func(expr string) float64 {
		v, err := rt.VU.Runtime().RunString(expr)
		if err != nil {
			t.Fatal(err)
		}
		return v.ToFloat()
	}
	if cpu := get(`(b.cpuUserMs + b.cpuSystemMs) - (a.cpuUserMs + a.cpuSystemMs)`); cpu < 5 { // a busy shared machine may give this process only a share of the 100 ms
		t.Errorf("250 ms of busy loop used %v ms of CPU by the snapshot", cpu)
	}
	if rss := get(`b.rssBytes`); rss < 1<<20 {
		t.Errorf("rss %v bytes", rss)
	}
	if cores := get(`b.cores`); cores < 1 {
		t.Errorf("cores %v", cores)
	}
	if busy := get(`b.host ? b.host.busyMs - a.host.busyMs : -1`); busy < 50 {
		t.Errorf("host busy ms grew by %v over a 250 ms busy loop", busy)
	}
	if get(`typeof b.gcPauseMs === 'number' && typeof b.loopLag.maxMs === 'number' ? 1 : 0`) != 1 {
		t.Errorf("gcPauseMs / loopLag missing")
	}
	// The control timer started with the first snapshot and ticked during the 250 ms loop.
	if n := get(`b.timerLag.count`); n < 1 {
		t.Errorf("control timer lag count %v", n)
	}
}

func TestParseProcStat(t *testing.T) {
	h := parseProcStat([]byte("cpu  100 10 50 1000 20 0 5 0 7 0\ncpu0 50 5 25 500 10 0 3 0 0 0\ncpu1 50 5 25 500 10 0 2 0 0 0\nintr 1\n"))
	if h == nil || h.Cores != 2 || h.BusyMs != (100+10+50+0+5+0)*10 || h.IdleMs != (1000+20)*10 {
		t.Errorf("parsed %+v", h)
	}
	if parseProcStat([]byte("cpu  x y\n")) != nil {
		t.Errorf("malformed /proc/stat parsed")
	}
}

func TestLagProbeMeasuresABlockedLoop(t *testing.T) {
	rt, root := newVU(t)
	// later(fn) runs fn in a loop task queued 1 ms from now, like an event the VU awaits.
	later := func(fn func()) {
		enqueue := rt.VU.RegisterCallback()
		go func() {
			time.Sleep(time.Millisecond)
			enqueue(func() error { fn(); return nil })
		}()
	}
	if err := rt.VU.Runtime().Set("later", later); err != nil {
		t.Fatal(err)
	}
	// The probe's 5 ms timer falls due while the script holds the loop for 120 ms: it runs about
	// 115 ms late, before the event queued after it, which stops the probe.
	if err := run(t, rt, `
		var stop = startLagProbe(5);
		var t0 = now(); while (now() - t0 < 120) {}
		later(stop);
	`); err != nil {
		t.Fatal(err)
	}
	lag := root.lag.take()
	if lag.Count < 1 || lag.MaxMs < 80 || lag.MaxMs > 2000 {
		t.Errorf("lag %+v: want a sample of about 115 ms", lag)
	}
	if again := root.lag.take(); again.Count != 0 {
		t.Errorf("take did not reset: %+v", again)
	}
}

func TestLagProbeStopsAndRejectsBadIntervals(t *testing.T) {
	rt, root := newVU(t)
	// Stopped at once: the iteration ends (the reserved callback is released) with no sample.
	// Stopped by the blocking iteration itself, after its timer fell due: no sample either.
	if err := run(t, rt, `
		startLagProbe(1000)();
		var stop = startLagProbe(5);
		var t0 = now(); while (now() - t0 < 50) {}
		stop();
	`); err != nil {
		t.Fatal(err)
	}
	if lag := root.lag.take(); lag.Count != 0 {
		t.Errorf("a probe stopped before its timer ran recorded %+v", lag)
	}
	for _, bad := range []string{"0", "-1", "1e9", "'x'"} {
		if err := run(t, rt, `startLagProbe(`+bad+`)`); err == nil {
			t.Errorf("startLagProbe(%s) did not throw", bad)
		}
	}
}

// rawServer echoes each request's bytes reversed, or fails with INVALID_ARGUMENT on "bad".
func rawServer(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(rawCodec{}), grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		var req []byte
		if err := stream.RecvMsg(&req); err != nil {
			return err
		}
		if string(req) == "bad" {
			return status.Error(codes.InvalidArgument, "bad request")
		}
		res := slices.Clone(req)
		slices.Reverse(res)
		return stream.SendMsg(&res)
	}))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func TestRawGrpcClient(t *testing.T) {
	rt, _ := newVU(t)
	addr := rawServer(t)
	if err := rt.VU.Runtime().Set("addr", addr); err != nil {
		t.Fatal(err)
	}
	err := run(t, rt, `
		var bytes = function (s) { var b = new Uint8Array(s.length); for (var i = 0; i < s.length; i++) b[i] = s.charCodeAt(i); return b.buffer; };
		var text = function (ab) { return String.fromCharCode.apply(null, new Uint8Array(ab)); };
		var c = new RawGrpcClient();
		c.connect(addr, { timeout: '5s' });
		var r1 = c.invoke('/t.S/M', [bytes('ab'), bytes('cd')]);
		var r1text = text(r1.message);
		var bad = c.invoke('/t.S/M', bytes('bad'));
		var asyncText = [];
		var all = Promise.all([1, 2, 3].map(function (i) {
			return c.asyncInvoke('/t.S/M', bytes('x' + i), { timeout: 5000 }).then(function (r) { asyncText.push(text(r.message)); });
		}));
		var threw = [];
		try { c.invoke('/t.S/M', 'a string'); } catch (e) { threw.push(String(e)); }
		try { c.invoke('t.S/M', bytes('a')); } catch (e) { threw.push(String(e)); }
		try { c.connect(addr); } catch (e) { threw.push(String(e)); }
		all.then(function () { c.close(); });
	`)
	if err != nil {
		t.Fatal(err)
	}
	get := func(expr string) any {
		v, err := rt.VU.Runtime().RunString(expr)
		if err != nil {
			t.Fatal(err)
		}
		return v.Export()
	}
	if got := get(`r1text`); got != "dcba" {
		t.Errorf("joined payload echoed as %q, want dcba", got)
	}
	if got := get(`[r1.status, r1.durationMs > 0, r1.endMs >= r1.startMs, r1.durationMs === r1.endMs - r1.startMs].join()`); got != "0,true,true,true" {
		t.Errorf("timing/status: %v", got)
	}
	if got := get(`[bad.status, bad.error, bad.message === null].join()`); got != "3,bad request,true" {
		t.Errorf("failed call: %v", got)
	}
	if got := get(`asyncText.slice().sort().join()`); got != "1x,2x,3x" {
		t.Errorf("async calls: %v", got)
	}
	threw := get(`threw.join('\n')`).(string)
	for _, want := range []string{"ArrayBuffer", "/package.Service/Method", "already connected"} {
		if !bytes.Contains([]byte(threw), []byte(want)) {
			t.Errorf("errors %q lack %q", threw, want)
		}
	}
}

func TestRawGrpcConnectFailsOnANoServerAddress(t *testing.T) {
	rt, _ := newVU(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	start := time.Now()
	err = run(t, rt, `new RawGrpcClient().connect('`+addr+`', { timeout: '1s' })`)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("connect to a closed port: err %v after %v", err, time.Since(start))
	}
}
