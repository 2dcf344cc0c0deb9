// Package measure is a k6 extension, the JS module "k6/x/measure", for
// taking measurements that do not lean on the instrument: a monotonic
// sub-microsecond clock on the same scale as k6's event timestamps
// (now), the k6 process's own cost (generator), a probe of how late
// timers run on a VU's event loop (startLagProbe), and a gRPC client for
// pre-encoded protobuf that times each call in Go (RawGrpcClient).
package measure

import "fmt"

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
