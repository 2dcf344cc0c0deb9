package sse

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/grafana/sobek"

	"go.k6.io/k6/v2/js/common"
	"go.k6.io/k6/v2/lib"
	"go.k6.io/k6/v2/metrics"

	"rtbench.test/xk6-sse/vujs"
)

// options is the parsed second argument of the constructor.
type options struct {
	header        http.Header
	lastEventID   string
	reconnect     bool
	retry         time.Duration
	maxEventBytes int
	tags          metrics.TagsAndMeta
}

// parseURL accepts absolute http(s) URLs only: a k6 script has no document
// base URL to resolve a relative one against.
func parseURL(v sobek.Value) (*url.URL, error) {
	if common.IsNullish(v) {
		return nil, fmt.Errorf("SyntaxError: EventSource requires a URL")
	}
	s := v.String()
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("SyntaxError: invalid EventSource URL %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("SyntaxError: EventSource URL must be absolute http or https, got %q", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("SyntaxError: EventSource URL %q has no host", s)
	}
	u.Fragment, u.RawFragment = "", "" // never sent over the wire
	return u, nil
}

func parseOptions(rt *sobek.Runtime, state *lib.State, v sobek.Value) (*options, error) {
	o := &options{
		reconnect:     true,
		retry:         DefaultRetry,
		maxEventBytes: DefaultMaxEventBytes,
	}
	p, err := vujs.ParseParams(rt, state, v, "EventSource option",
		"headers, tags, lastEventId, reconnect, retry, maxEventBytes, withCredentials",
		func(key string, val sobek.Value) (bool, error) {
			switch key {
			case "lastEventId":
				o.lastEventID = val.String()
			case "reconnect":
				o.reconnect = val.ToBoolean()
			case "retry":
				ms := val.ToFloat()
				if math.IsNaN(ms) || ms < 0 || ms > float64(math.MaxInt64/int64(time.Millisecond)) {
					return true, fmt.Errorf("EventSource option retry must be a number of milliseconds >= 0, got %v", val)
				}
				o.retry = time.Duration(ms * float64(time.Millisecond))
			case "maxEventBytes":
				n := val.ToFloat()
				if math.IsNaN(n) || n < 1 || n > math.MaxInt32 {
					return true, fmt.Errorf("EventSource option maxEventBytes must be a positive number of bytes, got %v", val)
				}
				o.maxEventBytes = int(n)
			case "withCredentials":
				// Browser EventSourceInit field; cookies from the VU's jar are
				// always sent, so it is accepted and has no effect.
			default:
				return false, nil
			}
			return true, nil
		})
	if err != nil {
		return nil, err
	}
	o.header, o.tags = p.Header, p.Tags
	return o, nil
}
