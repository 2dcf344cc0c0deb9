package sse

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// feedAll feeds the chunks in order and collects events and the last
// retry update.
func feedAll(t *testing.T, p *Parser, chunks ...string) ([]Event, time.Duration, bool, error) {
	t.Helper()
	var out []Event
	var retry time.Duration
	var retrySet bool
	for _, c := range chunks {
		evs, err := p.Feed([]byte(c))
		out = append(out, evs...)
		if d, ok := p.TakeRetry(); ok {
			retry, retrySet = d, true
		}
		if err != nil {
			return out, retry, retrySet, err
		}
	}
	return out, retry, retrySet, nil
}

func msg(data string) Event { return Event{Type: "message", Data: data} }

func TestParser(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		chunks []string
		want   []Event
		lastID string
	}{
		{"single", []string{"data: hello\n\n"}, []Event{msg("hello")}, ""},
		{"multi-line data", []string{"data: a\ndata: b\ndata\ndata: c\n\n"}, []Event{msg("a\nb\n\nc")}, ""},
		{"only one leading space stripped", []string{"data:  two\ndata:none\n\n"}, []Event{msg(" two\nnone")}, ""},
		{"trailing newline removed only once", []string{"data:\ndata:\n\n"}, []Event{msg("\n")}, ""},
		{"comments ignored", []string{": hi\ndata: x\n:\n: more\n\n"}, []Event{msg("x")}, ""},
		{"comment only block not dispatched", []string{": keepalive\n\n"}, nil, ""},
		{"LF", []string{"data: a\n\ndata: b\n\n"}, []Event{msg("a"), msg("b")}, ""},
		{"CR", []string{"data: a\r\rdata: b\r\r"}, []Event{msg("a"), msg("b")}, ""},
		{"CRLF", []string{"data: a\r\n\r\ndata: b\r\n\r\n"}, []Event{msg("a"), msg("b")}, ""},
		{"mixed terminators", []string{"data: a\rdata: b\ndata: c\r\n\r"}, []Event{msg("a\nb\nc")}, ""},
		{"CRLF split across chunks", []string{"data: a\r", "\n\r", "\ndata: b\r", "\n", "\r", "\n"}, []Event{msg("a"), msg("b")}, ""},
		{"CR then CR is two lines", []string{"data: a\r", "\r"}, []Event{msg("a")}, ""},
		{"BOM ignored", []string{"\xEF\xBB\xBFdata: a\n\n"}, []Event{msg("a")}, ""},
		{"BOM split", []string{"\xEF", "\xBB", "\xBFdata: a\n\n"}, []Event{msg("a")}, ""},
		{"only first BOM ignored", []string{"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n"}, []Event{msg("b")}, ""},
		{"partial BOM is content", []string{"\xEF\xBB", "data: a\n\ndata: b\n\n"}, []Event{msg("b")}, ""},
		{"BOM prefix then newline", []string{"\xEF", "\n", "data: a\n\n"}, []Event{msg("a")}, ""},
		{"named event", []string{"event: tick\ndata: 1\n\n"}, []Event{{Type: "tick", Data: "1"}}, ""},
		{"event type resets after dispatch", []string{"event: tick\ndata: 1\n\ndata: 2\n\n"}, []Event{{Type: "tick", Data: "1"}, msg("2")}, ""},
		{"empty event field means message", []string{"event:\ndata: 1\n\n"}, []Event{msg("1")}, ""},
		{"event type dropped with empty block", []string{"event: tick\n\ndata: 1\n\n"}, []Event{msg("1")}, ""},
		{"unknown fields ignored", []string{"foo: bar\ndata: a\nDATA: b\nData: c\n\n"}, []Event{msg("a")}, ""},
		{"field without colon is name with empty value", []string{"data\ndata\n\n"}, []Event{msg("\n")}, ""},
		{"field name only event", []string{"event\ndata: x\n\n"}, []Event{msg("x")}, ""},
		{"id persists", []string{"id: 1\ndata: a\n\ndata: b\n\n"}, []Event{{Type: "message", Data: "a", LastEventID: "1"}, {Type: "message", Data: "b", LastEventID: "1"}}, "1"},
		{"id with NUL ignored", []string{"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"}, []Event{{Type: "message", Data: "a", LastEventID: "1"}, {Type: "message", Data: "b", LastEventID: "1"}}, "1"},
		{"empty id resets", []string{"id: 1\ndata: a\n\nid\ndata: b\n\n"}, []Event{{Type: "message", Data: "a", LastEventID: "1"}, msg("b")}, ""},
		{"id without data updates last id", []string{"id: 7\n\n"}, nil, "7"},
		{"pending id not committed", []string{"id: 7\ndata: x\n"}, nil, ""},
		{"empty data not dispatched", []string{"event: x\n\n\n\n"}, nil, ""},
		{"data after colon only", []string{"data:\n\n"}, []Event{msg("")}, ""},
		{"no blank line, no dispatch", []string{"data: x"}, nil, ""},
		{"space before colon is part of the name", []string{"data : x\n\n"}, nil, ""},
		{"value may contain colons", []string{"data: a: b:c\n\n"}, []Event{msg("a: b:c")}, ""},
		{"invalid UTF-8 replaced", []string{"data: a\xffb\xE2\x82c\n\n"}, []Event{msg("a\uFFFDb\uFFFDc")}, ""},
		{"UTF-8 split across chunks", []string{"data: \xE2\x82", "\xAC\n\n"}, []Event{msg("€")}, ""},
		{"surrogate encoding replaced per byte", []string{"data: \xED\xA0\x80\n\n"}, []Event{msg("\uFFFD\uFFFD\uFFFD")}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := NewParser(0, "")
			got, _, _, err := feedAll(t, p, tc.chunks...)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) && (len(got) != 0 || len(tc.want) != 0) {
				t.Fatalf("events:\n got %q\nwant %q", got, tc.want)
			}
			if p.LastEventID() != tc.lastID {
				t.Fatalf("LastEventID = %q, want %q", p.LastEventID(), tc.lastID)
			}

			// Same stream fed byte by byte must give the same result.
			p2 := NewParser(0, "")
			var bytewise []string
			for _, b := range []byte(strings.Join(tc.chunks, "")) {
				bytewise = append(bytewise, string([]byte{b}))
			}
			got2, _, _, err := feedAll(t, p2, bytewise...)
			if err != nil {
				t.Fatalf("bytewise: unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got2, got) && (len(got) != 0 || len(got2) != 0) {
				t.Fatalf("bytewise events:\n got %q\nwant %q", got2, got)
			}
		})
	}
}

func TestParserRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		want  time.Duration
		set   bool
	}{
		{"digits", "retry: 1500\n", 1500 * time.Millisecond, true},
		{"zero", "retry: 0\n", 0, true},
		{"no space", "retry:42\n", 42 * time.Millisecond, true},
		{"last wins", "retry: 1\nretry: 2\n", 2 * time.Millisecond, true},
		{"invalid keeps previous", "retry: 5\nretry: 6x\n", 5 * time.Millisecond, true},
		{"non digits ignored", "retry: 1.5\n", 0, false},
		{"sign ignored", "retry: -1\n", 0, false},
		{"plus ignored", "retry: +1\n", 0, false},
		{"trailing space ignored", "retry: 10 \n", 0, false},
		{"empty ignored", "retry:\n", 0, false},
		{"no colon ignored", "retry\n", 0, false},
		{"overflow ignored", "retry: 99999999999999999999999\n", 0, false},
		{"applies without dispatch", "retry: 7", 0, false}, // line not terminated yet
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := NewParser(0, "")
			evs, d, set, err := feedAll(t, p, tc.input)
			if err != nil || len(evs) != 0 {
				t.Fatalf("unexpected events %v / error %v", evs, err)
			}
			if set != tc.set || d != tc.want {
				t.Fatalf("retry = %v (set %v), want %v (set %v)", d, set, tc.want, tc.set)
			}
		})
	}
}

func TestParserSeededLastEventID(t *testing.T) {
	t.Parallel()
	p := NewParser(0, "41")
	evs, err := p.Feed([]byte("data: a\n\nid: 42\ndata: b\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].LastEventID != "41" || evs[1].LastEventID != "42" || p.LastEventID() != "42" {
		t.Fatalf("got %q, last %q", evs, p.LastEventID())
	}
}

func TestParserLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		max    int
		chunks []string
		want   []Event // dispatched before the error
		errMsg string  // "" means no error
	}{
		{"line at the limit is fine", 8, []string{"data: 12\n\n"}, []Event{msg("12")}, ""},
		{"long line in one chunk", 8, []string{"data: 123\n\n"}, nil, "line longer than 8 bytes"},
		{"long line across chunks", 8, []string{"data", ": 1", "23"}, nil, "line longer than 8 bytes"},
		{"long line without terminator", 8, []string{"xxxxxxxxx"}, nil, "line longer than 8 bytes"},
		{"long comment is still a long line", 8, []string{": 12345678\n"}, nil, "line longer than 8 bytes"},
		{"data buffer across lines", 12, []string{"data: 123456\ndata: 123456\n"}, nil, "event data larger than 12 bytes"},
		{"events before the error are kept", 8, []string{"data: 1\n\ndata: 123456789\n"}, []Event{msg("1")}, "line longer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := NewParser(tc.max, "")
			got, _, _, err := feedAll(t, p, tc.chunks...)
			if !reflect.DeepEqual(got, tc.want) && (len(got) != 0 || len(tc.want) != 0) {
				t.Fatalf("events %q, want %q", got, tc.want)
			}
			if tc.errMsg == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.errMsg) {
				t.Fatalf("error %v, want ErrMalformed containing %q", err, tc.errMsg)
			}
			if p.Buffered() != 0 {
				t.Fatalf("dead parser still buffers %d bytes", p.Buffered())
			}
			// The error is sticky.
			if evs, err2 := p.Feed([]byte("\n\ndata: ok\n\n")); err2 == nil || len(evs) != 0 {
				t.Fatalf("parser accepted input after an error: %v %v", evs, err2)
			}
		})
	}
}

func TestDecodeUTF8(t *testing.T) {
	t.Parallel()
	// Expected values follow the WHATWG decoder (maximal subparts).
	tests := map[string]string{
		"plain":              "plain",
		"\x80":               "\uFFFD",
		"\xC0\x80":           "\uFFFD\uFFFD", // overlong lead bytes never start a sequence
		"\xE2\x82":           "\uFFFD",       // truncated 3-byte sequence
		"\xE2\x82x":          "\uFFFDx",
		"\xF0\x9F\x98":       "\uFFFD",
		"\xF0\x9F\x98\x80":   "😀",
		"\xF4\x90\x80\x80":   "\uFFFD\uFFFD\uFFFD\uFFFD", // above U+10FFFF
		"\xE0\x80\x80":       "\uFFFD\uFFFD\uFFFD",       // overlong
		"a\xff\xfeb":         "a\uFFFD\uFFFDb",
		"\xEF\xBB\xBF inner": "\uFEFF inner", // only a leading stream BOM is stripped
	}
	for in, want := range tests {
		if got := decodeUTF8([]byte(in)); got != want {
			t.Errorf("decodeUTF8(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParserLargeStreamStaysBounded(t *testing.T) {
	t.Parallel()
	p := NewParser(1024, "")
	chunk := []byte(strings.Repeat("data: 0123456789\n\n", 100))
	total := 0
	for range 1000 {
		evs, err := p.Feed(chunk)
		if err != nil {
			t.Fatal(err)
		}
		total += len(evs)
		if p.Buffered() > 1024 {
			t.Fatalf("buffered %d bytes", p.Buffered())
		}
	}
	if total != 100_000 {
		t.Fatalf("got %d events", total)
	}
}

func FuzzParser(f *testing.F) {
	seeds := []string{
		"data: hello\n\n",
		"\xEF\xBB\xBFevent: tick\r\ndata: 1\r\nid: 9\r\nretry: 100\r\n\r\n",
		": comment\rdata\rdata:x\r\r",
		"id: a\x00b\ndata: y\n\n",
		"data: \xff\xE2\x82\n\n",
		"retry: 12a\nretry: 34\n",
		strings.Repeat("x", 70) + "\n",
		"data: " + strings.Repeat("y", 30) + "\ndata: " + strings.Repeat("z", 30) + "\n\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, input []byte, split uint8) {
		const limit = 64
		p := NewParser(limit, "")
		whole := NewParser(limit, "")
		step := int(split)%17 + 1

		var chunked []Event
		var chunkedErr error
		for i := 0; i < len(input); i += step {
			end := min(i+step, len(input))
			evs, err := p.Feed(input[i:end])
			chunked = append(chunked, evs...)
			if p.Buffered() > 2*limit+3 {
				t.Fatalf("parser buffers %d bytes with limit %d", p.Buffered(), limit)
			}
			if err != nil {
				chunkedErr = err
				break
			}
		}
		evs, wholeErr := whole.Feed(input)
		if (chunkedErr == nil) != (wholeErr == nil) {
			t.Fatalf("chunking changed the outcome: %v vs %v", chunkedErr, wholeErr)
		}
		if chunkedErr != nil {
			// After an error nothing may be buffered and nothing accepted.
			if p.Buffered() != 0 {
				t.Fatalf("dead parser buffers %d bytes", p.Buffered())
			}
			return
		}
		if !reflect.DeepEqual(append([]Event(nil), evs...), chunked) && (len(evs) != 0 || len(chunked) != 0) {
			t.Fatalf("chunking changed the events:\n%q\n%q", chunked, evs)
		}
		for _, ev := range evs {
			if len(ev.Data) > 3*limit { // U+FFFD is 3 bytes for 1 input byte
				t.Fatalf("event data of %d bytes with limit %d", len(ev.Data), limit)
			}
		}
	})
}
