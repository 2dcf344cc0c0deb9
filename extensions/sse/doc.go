// Package sse is a k6 extension providing a browser-like EventSource
// (Server-Sent Events client) as the JS module "k6/x/sse".
package sse
