package serve

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/ethconv"
)

// JSON-RPC error codes (JSON-RPC 2.0, and EIP-1474's "limit exceeded").
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
	CodeServerError    = -32000
	CodeLimitExceeded  = -32005
)

// Error is a JSON-RPC error object.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Error renders the code and the message.
func (e *Error) Error() string { return fmt.Sprintf("json-rpc error %d: %s", e.Code, e.Message) }

func errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// SubscriptionLimitMessage is the error message of an eth_subscribe beyond
// MaxSubscriptions, as the Monad RPC server words it.
const SubscriptionLimitMessage = "WebSocket subscription limit reached"

type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"` // absent: a notification (no response)
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

var nullID = json.RawMessage("null")

// handle answers one WebSocket message: a request or a batch. It returns
// nil when there is nothing to answer (only notifications).
func (c *conn) handle(data []byte) []byte {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var batch []json.RawMessage
		if err := json.Unmarshal(data, &batch); err != nil {
			return c.encode(&response{ID: nullID, Error: errorf(CodeParseError, "parse error: %v", err)})
		}
		if len(batch) == 0 {
			return c.encode(&response{ID: nullID, Error: errorf(CodeInvalidRequest, "empty batch")})
		}
		if len(batch) > c.s.opts.MaxBatch {
			return c.encode(&response{ID: nullID, Error: errorf(CodeLimitExceeded, "batch of %d requests exceeds the limit of %d", len(batch), c.s.opts.MaxBatch)})
		}
		out := []byte{'['}
		n := 0
		for _, raw := range batch {
			resp := c.call(raw)
			if resp == nil {
				continue
			}
			if n > 0 {
				out = append(out, ',')
			}
			out = append(out, c.encode(resp)...)
			n++
		}
		if n == 0 {
			return nil
		}
		out = append(out, ']')
		if len(out) > c.s.opts.MaxResponseSize {
			return c.encode(&response{ID: nullID, Error: errorf(CodeLimitExceeded, "batch response of %d bytes exceeds the limit of %d", len(out), c.s.opts.MaxResponseSize)})
		}
		return out
	}
	resp := c.call(data)
	if resp == nil {
		return nil
	}
	return c.encode(resp)
}

// encode renders a response, replacing one over MaxResponseSize by an
// error.
func (c *conn) encode(r *response) []byte {
	r.JSONRPC = "2.0"
	if r.ID == nil {
		r.ID = nullID
	}
	b, err := json.Marshal(r)
	if err != nil {
		b, _ = json.Marshal(&response{JSONRPC: "2.0", ID: nullID, Error: errorf(CodeInternalError, "internal error: %v", err)})
	}
	if len(b) > c.s.opts.MaxResponseSize {
		b, _ = json.Marshal(&response{JSONRPC: "2.0", ID: r.ID, Error: errorf(CodeLimitExceeded, "response of %d bytes exceeds the limit of %d", len(b), c.s.opts.MaxResponseSize)})
	}
	return b
}

// call runs one request; nil for a notification.
func (c *conn) call(raw []byte) *response {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) || !json.Valid(raw) {
			return &response{Error: errorf(CodeParseError, "parse error: %v", err)}
		}
		return &response{Error: errorf(CodeInvalidRequest, "invalid request: %v", err)}
	}
	id := req.ID
	if id != nil && !validID(id) {
		return &response{Error: errorf(CodeInvalidRequest, "invalid request: id must be a string, a number or null")}
	}
	if req.JSONRPC != "2.0" || req.Method == "" {
		return &response{ID: id, Error: errorf(CodeInvalidRequest, `invalid request: want "jsonrpc":"2.0" and a method`)}
	}
	method := req.Method
	c.s.m.requests.WithLabelValues(metricMethod(method)).Inc()
	result, rerr := c.dispatch(method, req.Params)
	if id == nil {
		return nil // a notification: no answer, even for an error
	}
	if rerr != nil {
		return &response{ID: id, Error: rerr}
	}
	b, err := json.Marshal(result)
	if err != nil {
		return &response{ID: id, Error: errorf(CodeInternalError, "internal error: %v", err)}
	}
	return &response{ID: id, Result: b}
}

func validID(id json.RawMessage) bool {
	switch id[0] {
	case '"', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

// methods lists what the server answers.
var methods = map[string]bool{
	"eth_subscribe": true, "eth_unsubscribe": true, "eth_chainId": true, "net_version": true,
	"eth_blockNumber": true, "eth_getBlockByNumber": true, "eth_getBlockByHash": true, "eth_getBlockReceipts": true,
}

// metricMethod bounds the label values of the requests metric.
func metricMethod(m string) string {
	if methods[m] {
		return m
	}
	return "other"
}

func (c *conn) dispatch(method string, params json.RawMessage) (any, *Error) {
	switch method {
	case "eth_subscribe":
		return c.subscribe(params)
	case "eth_unsubscribe":
		var args []string
		if err := parseParams(params, &args, 1, 1); err != nil {
			return nil, err
		}
		return c.unsubscribe(args[0]), nil
	case "eth_chainId", "net_version":
		if err := parseParams(params, &[]json.RawMessage{}, 0, 0); err != nil {
			return nil, err
		}
		id, ok := c.s.currentChainID()
		if !ok {
			return nil, errorf(CodeServerError, "chain id not known until the first block is read (set it with --chain-id)")
		}
		if method == "net_version" {
			return strconv.FormatUint(id, 10), nil
		}
		return hexutil.Uint64(id), nil
	case "eth_blockNumber":
		if err := parseParams(params, &[]json.RawMessage{}, 0, 0); err != nil {
			return nil, err
		}
		n, ok := c.s.window.highest(c.s.opts.HeadsState)
		if !ok {
			return nil, errorf(CodeServerError, "no block read yet")
		}
		return hexutil.Uint64(n), nil
	case "eth_getBlockByNumber", "eth_getBlockByHash":
		var args []json.RawMessage
		if err := parseParams(params, &args, 1, 2); err != nil {
			return nil, err
		}
		full := false
		if len(args) == 2 {
			if err := json.Unmarshal(args[1], &full); err != nil {
				return nil, errorf(CodeInvalidParams, "invalid params: second parameter must be a boolean")
			}
		}
		b, err := c.s.blockArg(args[0], method == "eth_getBlockByHash")
		if err != nil || b == nil {
			return nil, err // null: not held
		}
		if full {
			return b.RPCBlock(), nil
		}
		return blockWithHashes(b), nil
	case "eth_getBlockReceipts":
		var args []json.RawMessage
		if err := parseParams(params, &args, 1, 1); err != nil {
			return nil, err
		}
		b, err := c.s.blockArg(args[0], false)
		if err != nil || b == nil {
			return nil, err
		}
		return b.RPCReceipts(), nil
	}
	return nil, errorf(CodeMethodNotFound, "the method %s does not exist/is not available", method)
}

// parseParams decodes a params array of min..max elements into dst.
func parseParams(params json.RawMessage, dst any, minN, maxN int) *Error {
	params = bytes.TrimSpace(params)
	if len(params) == 0 || bytes.Equal(params, []byte("null")) {
		params = []byte("[]")
	}
	var list []json.RawMessage
	if err := json.Unmarshal(params, &list); err != nil {
		return errorf(CodeInvalidParams, "invalid params: want an array")
	}
	if len(list) < minN || len(list) > maxN {
		if minN == maxN {
			return errorf(CodeInvalidParams, "invalid params: want %d parameter(s), got %d", minN, len(list))
		}
		return errorf(CodeInvalidParams, "invalid params: want %d to %d parameters, got %d", minN, maxN, len(list))
	}
	if err := json.Unmarshal(params, dst); err != nil {
		return errorf(CodeInvalidParams, "invalid params: %v", err)
	}
	return nil
}

// blockArg resolves a block number, tag or (byHash, or a 32-byte hex
// string) hash to a block held in the window; nil if not held.
func (s *Server) blockArg(raw json.RawMessage, byHash bool) (*ethconv.Block, *Error) {
	var str string
	if err := json.Unmarshal(raw, &str); err != nil {
		// EIP-1898: {"blockNumber": N} or {"blockHash": H}.
		var obj struct {
			BlockNumber      *string      `json:"blockNumber"`
			BlockHash        *common.Hash `json:"blockHash"`
			RequireCanonical bool         `json:"requireCanonical"`
		}
		if json.Unmarshal(raw, &obj) != nil || (obj.BlockNumber == nil) == (obj.BlockHash == nil) {
			return nil, errorf(CodeInvalidParams, "invalid params: want a block number, tag or hash, or {\"blockNumber\"|\"blockHash\": ...}")
		}
		if obj.BlockHash != nil {
			return s.window.byHash(*obj.BlockHash), nil
		}
		str, byHash = *obj.BlockNumber, false
	}
	if byHash || len(str) == 66 {
		var h common.Hash
		if err := h.UnmarshalText([]byte(str)); err != nil {
			return nil, errorf(CodeInvalidParams, "invalid params: bad block hash %q", str)
		}
		return s.window.byHash(h), nil
	}
	var n uint64
	var ok bool
	switch str {
	case "latest", "pending":
		n, ok = s.window.highest(s.opts.HeadsState)
	case "safe":
		n, ok = s.window.highest(blocks.CommitVoted)
	case "finalized":
		n, ok = s.window.highest(blocks.CommitFinalized)
	case "earliest":
		n, ok = s.window.lowest()
	default:
		v, err := parseQuantity(str)
		if err != nil {
			return nil, errorf(CodeInvalidParams, "invalid params: bad block number %q", str)
		}
		n, ok = v, true
	}
	if !ok {
		return nil, nil
	}
	return s.window.byNumber(n), nil
}

// rpcBlockHashes is eth_getBlockByNumber's object without full
// transactions.
type rpcBlockHashes struct {
	ethconv.RPCHeader
	Uncles       []common.Hash `json:"uncles"`
	Transactions []common.Hash `json:"transactions"`
	Withdrawals  *[]struct{}   `json:"withdrawals,omitempty"`
}

func blockWithHashes(b *ethconv.Block) *rpcBlockHashes {
	rb := b.RPCBlock()
	out := &rpcBlockHashes{RPCHeader: rb.RPCHeader, Uncles: rb.Uncles, Transactions: make([]common.Hash, len(rb.Transactions))}
	for i, t := range rb.Transactions {
		out.Transactions[i] = t.Hash
	}
	if rb.Withdrawals != nil {
		out.Withdrawals = &[]struct{}{}
	}
	return out
}

// newSubscriptionID returns 16 random bytes as 0x-prefixed hex, as the
// Monad RPC server makes them.
func newSubscriptionID() string {
	var b [16]byte
	rand.Read(b[:])
	return "0x" + hex.EncodeToString(b[:])
}

func (c *conn) subscribe(params json.RawMessage) (any, *Error) {
	var args []json.RawMessage
	if err := parseParams(params, &args, 1, 2); err != nil {
		return nil, err
	}
	var name string
	if err := json.Unmarshal(args[0], &name); err != nil {
		return nil, errorf(CodeInvalidParams, "invalid params: the subscription kind must be a string")
	}
	kind := kindCount
	for k, n := range kindNames {
		if n == name {
			kind = subKind(k)
		}
	}
	sub := &subscription{id: newSubscriptionID(), kind: kind}
	hasArg := len(args) == 2 && !bytes.Equal(bytes.TrimSpace(args[1]), []byte("null"))
	switch kind {
	case kindNewHeads, kindMonadNewHeads:
		if hasArg {
			return nil, errorf(CodeInvalidParams, "invalid params: %s takes no filter", name)
		}
	case kindLogs, kindMonadLogs:
		sub.filter = &LogFilter{}
		if hasArg {
			if err := json.Unmarshal(args[1], sub.filter); err != nil {
				return nil, errorf(CodeInvalidParams, "invalid params: %v", err)
			}
		}
	case kindMonadEvents:
		var f EventFilter
		if hasArg {
			if err := f.parse(args[1]); err != nil {
				return nil, errorf(CodeInvalidParams, "invalid params: %v", err)
			}
		}
		sub.raw = newRawStream(c, sub.id, f)
	default:
		return nil, errorf(CodeInvalidParams, "invalid params: unknown subscription kind %q (newHeads, logs, monadNewHeads, monadLogs, monadEvents)", name)
	}
	c.mu.Lock()
	if len(c.subs) >= c.s.opts.MaxSubscriptions {
		c.mu.Unlock()
		c.s.m.subscriptionsRefused.Inc()
		return nil, &Error{Code: CodeLimitExceeded, Message: SubscriptionLimitMessage}
	}
	c.subs = append(c.subs, sub)
	c.mu.Unlock()
	c.s.m.subscriptions.WithLabelValues(name).Inc()
	// Inactive until the reply carrying its id is queued (readLoop), so
	// that no notification overtakes it.
	c.pending = append(c.pending, sub)
	return sub.id, nil
}

func (c *conn) unsubscribe(id string) bool {
	c.mu.Lock()
	var found *subscription
	for i, sub := range c.subs {
		if sub.id == id {
			found = sub
			c.subs = append(c.subs[:i], c.subs[i+1:]...)
			break
		}
	}
	c.mu.Unlock()
	if found == nil {
		return false
	}
	c.s.m.subscriptions.WithLabelValues(found.kind.String()).Dec()
	if found.raw != nil {
		found.raw.stop()
	}
	return true
}
