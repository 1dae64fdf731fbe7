package serve

import (
	"encoding/json"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/monadgo/events/blocks"
	"github.com/monadgo/events/ethconv"
)

// window holds the most recent executed blocks, converted once, for the
// notifications of their later commit states and for the query methods.
type window struct {
	mu    sync.Mutex
	max   int
	order []*entry // oldest first
	byExe map[*blocks.ExecutedBlock]*entry
}

type entry struct {
	exe   *blocks.ExecutedBlock
	block *ethconv.Block
	state blocks.CommitState
}

func newWindow(n int) *window {
	return &window{max: n, byExe: make(map[*blocks.ExecutedBlock]*entry)}
}

// add records u and returns the block's entry, converting a block seen for
// the first time. Abandoned proposals leave the window.
func (w *window) add(u blocks.Update) (*entry, error) {
	w.mu.Lock()
	e := w.byExe[u.Block]
	w.mu.Unlock()
	if e == nil {
		b, err := ethconv.Convert(u.Block)
		if err != nil {
			return nil, err
		}
		e = &entry{exe: u.Block, block: b}
		w.mu.Lock()
		w.byExe[u.Block] = e
		w.order = append(w.order, e)
		for len(w.order) > w.max {
			delete(w.byExe, w.order[0].exe)
			w.order[0] = nil
			w.order = w.order[1:]
		}
		w.mu.Unlock()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	e.state = max(e.state, u.State)
	for _, a := range u.Abandoned {
		if ae := w.byExe[a]; ae != nil {
			delete(w.byExe, a)
			for i, o := range w.order {
				if o == ae {
					w.order = append(w.order[:i], w.order[i+1:]...)
					break
				}
			}
		}
	}
	return e, nil
}

// byNumber returns the block held for number n: the proposal that reached
// the furthest commit state, the newest among equals.
func (w *window) byNumber(n uint64) *ethconv.Block {
	w.mu.Lock()
	defer w.mu.Unlock()
	var best *entry
	for _, e := range w.order {
		if e.block.Number() == n && (best == nil || e.state >= best.state) {
			best = e
		}
	}
	if best == nil {
		return nil
	}
	return best.block
}

func (w *window) byHash(h common.Hash) *ethconv.Block {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.order {
		if e.block.Hash == h {
			return e.block
		}
	}
	return nil
}

// highest returns the highest block number that reached at least state.
func (w *window) highest(state blocks.CommitState) (uint64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var n uint64
	ok := false
	for _, e := range w.order {
		if e.state >= state && (!ok || e.block.Number() > n) {
			n, ok = e.block.Number(), true
		}
	}
	return n, ok
}

func (w *window) lowest() (uint64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var n uint64
	ok := false
	for _, e := range w.order {
		if !ok || e.block.Number() < n {
			n, ok = e.block.Number(), true
		}
	}
	return n, ok
}

// rendering is one update being fanned out; the JSON of each kind is made
// the first time a subscriber needs it, then shared. Only the ring reader's
// goroutine uses it.
type rendering struct {
	block *ethconv.Block
	state blocks.CommitState
	heads bool // state is the one of newHeads and logs

	header, monadHeader []byte
	logs                []*types.Log
	logJSON, monadLogs  [][]byte
}

func (r *rendering) headerJSON() []byte {
	if r.header == nil {
		r.header = mustJSON(r.block.RPCHeader())
	}
	return r.header
}

func (r *rendering) monadHeaderJSON() []byte {
	if r.monadHeader == nil {
		r.monadHeader = mustJSON(r.block.MonadHeader(r.state))
	}
	return r.monadHeader
}

func (r *rendering) allLogs() []*types.Log {
	if r.logs == nil {
		r.logs = r.block.Logs()
		r.logJSON = make([][]byte, len(r.logs))
		r.monadLogs = make([][]byte, len(r.logs))
	}
	return r.logs
}

func (r *rendering) logJSONAt(i int) []byte {
	if r.logJSON[i] == nil {
		r.logJSON[i] = mustJSON(ethconv.NewRPCLog(r.logs[i]))
	}
	return r.logJSON[i]
}

func (r *rendering) monadLogJSONAt(i int) []byte {
	if r.monadLogs[i] == nil {
		r.monadLogs[i] = mustJSON(&ethconv.MonadLog{BlockID: r.block.ID, CommitState: r.state.String(), RPCLog: *ethconv.NewRPCLog(r.logs[i])})
	}
	return r.monadLogs[i]
}

// mustJSON marshals the RPC types, which cannot fail to encode.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("serve: " + err.Error())
	}
	return b
}
