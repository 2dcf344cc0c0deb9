// Package ws is a k6 extension providing a lean WebSocket client as the JS
// module "k6/x/ws", for clients k6 holds by the thousand.
//
// It has the WHATWG surface rtbench's scripts use from k6/websockets (the
// constructor with subprotocols and headers, binaryType, readyState,
// addEventListener, send, close) at a fraction of the cost per socket: the
// methods live on one prototype per VU instead of on every socket, an event is
// a plain object with data properties, one goroutine reads a socket (writes
// run on a goroutine only while there is something to write), the read buffer
// is small and write buffers are pooled, and no metric sample is pushed per
// message. A message's timestamp is taken in Go as its frame is read.
package ws
