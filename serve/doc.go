// Package serve serves an execution event ring to other processes and
// hosts over WebSocket JSON-RPC (documentation to be completed).
package serve
