package sse

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// DefaultMaxEventBytes bounds a single line and a single event's data buffer
// unless the script configures maxEventBytes.
const DefaultMaxEventBytes = 8 << 20

// Event is one dispatched server-sent event.
type Event struct {
	// Type is the value of the `event` field, or "message" when none was given.
	Type string
	// Data is the `data` lines joined with "\n".
	Data string
	// LastEventID is the stream's last event ID at the moment of dispatch.
	LastEventID string
}

// ErrMalformed is wrapped by every error the parser returns, so callers can
// tell a bad stream apart from a network failure.
var ErrMalformed = errors.New("malformed event stream")

// Parser is an incremental event-stream parser implementing the WHATWG
// "parsing an event stream" and "interpreting an event stream" algorithms.
// It does no I/O: bytes go in through Feed, events come out. Chunk
// boundaries may fall anywhere, including between the CR and LF of a CRLF,
// inside a UTF-8 sequence or inside the leading BOM.
//
// Memory is bounded: a line longer than the limit, or an event whose data
// buffer would grow past it, makes the stream malformed. After that error
// the parser is dead and every later Feed returns the same error.
type Parser struct {
	max int

	// Leading byte-order-mark detection. bomSeen holds the BOM bytes matched
	// so far; they are replayed as ordinary input if the match fails.
	bomDone bool
	bomSeen []byte

	line    []byte // current, not yet terminated line
	afterCR bool   // the last terminator was a CR, so a following LF is part of it

	data      []byte // data buffer (each data line followed by LF)
	eventType string // event type buffer
	idBuffer  string // last event ID buffer (updated by `id` fields)
	lastID    string // last event ID string of the source (updated on dispatch)

	retry    time.Duration
	retryNew bool

	events []Event
	err    error
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// NewParser returns a parser that accepts lines and event data up to
// maxBytes (DefaultMaxEventBytes when <= 0). lastEventID seeds the last
// event ID, so a reconnected stream keeps reporting the ID it resumed from
// until the server sends a new one.
func NewParser(maxBytes int, lastEventID string) *Parser {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxEventBytes
	}
	return &Parser{max: maxBytes, idBuffer: lastEventID, lastID: lastEventID}
}

// Feed consumes the next chunk of the stream and returns the events that it
// completed, in order. On a malformed stream it returns the events completed
// before the offending byte together with an error wrapping ErrMalformed.
// The returned slice is only valid until the next call.
func (p *Parser) Feed(chunk []byte) ([]Event, error) {
	p.events = p.events[:0]
	if p.err != nil {
		return nil, p.err
	}

	for !p.bomDone && len(chunk) > 0 {
		if chunk[0] == utf8BOM[len(p.bomSeen)] {
			p.bomSeen = append(p.bomSeen, chunk[0])
			chunk = chunk[1:]
			if len(p.bomSeen) == len(utf8BOM) {
				p.bomDone, p.bomSeen = true, nil
			}
			continue
		}
		// Not a BOM after all: the bytes matched so far are content.
		p.bomDone = true
		seen := p.bomSeen
		p.bomSeen = nil
		if err := p.scan(seen); err != nil {
			return p.events, p.fail(err)
		}
	}

	if err := p.scan(chunk); err != nil {
		return p.events, p.fail(err)
	}
	return p.events, nil
}

// LastEventID is the last event ID string as of the most recent blank line:
// the value to send as Last-Event-ID when reconnecting. An `id` field whose
// block has not been terminated yet does not count (the spec discards such a
// pending block when the connection ends).
func (p *Parser) LastEventID() string { return p.lastID }

// TakeRetry reports the latest valid `retry` value received since the
// previous call, if any.
func (p *Parser) TakeRetry() (time.Duration, bool) {
	r, ok := p.retry, p.retryNew
	p.retryNew = false
	return r, ok
}

// Buffered is the number of input bytes the parser is holding on to
// (partial line plus pending data). It never exceeds about twice the limit.
func (p *Parser) Buffered() int { return len(p.line) + len(p.data) + len(p.bomSeen) }

func (p *Parser) fail(err error) error {
	p.err = err
	// Drop the buffers: a dead parser should not pin up to 2*max bytes.
	p.line, p.data = nil, nil
	return err
}

// scan splits b into lines. CR, LF and CRLF all terminate a line; a CRLF is
// recognised even when the CR ends one chunk and the LF starts the next.
func (p *Parser) scan(b []byte) error {
	for len(b) > 0 {
		if p.afterCR {
			p.afterCR = false
			if b[0] == '\n' {
				b = b[1:]
				continue
			}
		}
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			if len(p.line)+len(b) > p.max {
				return fmt.Errorf("%w: line longer than %d bytes", ErrMalformed, p.max)
			}
			p.line = append(p.line, b...)
			return nil
		}
		if len(p.line)+i > p.max {
			return fmt.Errorf("%w: line longer than %d bytes", ErrMalformed, p.max)
		}
		var line []byte
		if len(p.line) == 0 {
			line = b[:i] // common case: the whole line is in this chunk, no copy
		} else {
			p.line = append(p.line, b[:i]...)
			line = p.line
		}
		p.afterCR = b[i] == '\r'
		b = b[i+1:]
		if err := p.processLine(line); err != nil {
			return err
		}
		p.line = p.line[:0]
	}
	return nil
}

func (p *Parser) processLine(line []byte) error {
	if len(line) == 0 {
		p.dispatch()
		return nil
	}
	if line[0] == ':' {
		return nil // comment
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}

	switch string(name) { // no allocation: the compiler special-cases this
	case "event":
		p.eventType = decodeUTF8(value)
	case "data":
		if len(p.data)+len(value)+1 > p.max {
			return fmt.Errorf("%w: event data larger than %d bytes", ErrMalformed, p.max)
		}
		p.data = append(p.data, value...)
		p.data = append(p.data, '\n')
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			p.idBuffer = decodeUTF8(value)
		}
	case "retry":
		if ms, ok := parseDigits(value); ok {
			p.retry = time.Duration(ms) * time.Millisecond
			p.retryNew = true
		}
	default:
		// Unknown fields are ignored.
	}
	return nil
}

// dispatch runs the spec's "dispatch the event" steps for a blank line.
func (p *Parser) dispatch() {
	p.lastID = p.idBuffer // set even when nothing is dispatched
	if len(p.data) == 0 {
		p.eventType = ""
		return
	}
	ev := Event{
		Type:        p.eventType,
		Data:        decodeUTF8(p.data[:len(p.data)-1]), // drop the trailing LF
		LastEventID: p.lastID,
	}
	if ev.Type == "" {
		ev.Type = "message"
	}
	p.events = append(p.events, ev)
	p.data = p.data[:0]
	p.eventType = ""
}

// maxRetryMillis keeps a retry value convertible to time.Duration; larger
// values are treated like any other value the client cannot honour.
const maxRetryMillis = int64(time.Duration(1<<63-1) / time.Millisecond)

// parseDigits accepts a non-empty run of ASCII digits only (no sign, no
// spaces), as the spec requires for `retry`.
func parseDigits(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n > maxRetryMillis {
		return 0, false
	}
	return n, true
}

// decodeUTF8 converts bytes to a string the way the WHATWG "UTF-8 decode"
// algorithm does: every maximal ill-formed subsequence becomes one U+FFFD.
// (strings.ToValidUTF8 would merge runs, and ranging over the string would
// split some subsequences into several replacement characters.)
func decodeUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r != utf8.RuneError || size > 1 {
			out = append(out, b[:size]...)
			b = b[size:]
			continue
		}
		out = utf8.AppendRune(out, utf8.RuneError)
		b = b[invalidPrefixLen(b):]
	}
	return string(out)
}

// invalidPrefixLen returns the length of the maximal ill-formed subsequence
// at the start of b, which is known not to start with a valid sequence.
func invalidPrefixLen(b []byte) int {
	lo, hi := byte(0x80), byte(0xBF)
	var need int
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c >= 0xE0 && c <= 0xEF:
		need = 2
		if c == 0xE0 {
			lo = 0xA0
		} else if c == 0xED {
			hi = 0x9F
		}
	case c >= 0xF0 && c <= 0xF4:
		need = 3
		if c == 0xF0 {
			lo = 0x90
		} else if c == 0xF4 {
			hi = 0x8F
		}
	default:
		return 1 // stray continuation byte or a byte that never starts a sequence
	}
	n := 1
	for n <= need && n < len(b) && b[n] >= lo && b[n] <= hi {
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}
