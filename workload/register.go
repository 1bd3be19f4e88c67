package workload

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// Mix weighs the functions of the register workload. Weights need not sum
// to one; a zero weight leaves that function out.
type Mix struct {
	Read   float64 `json:"read"`
	Write  float64 `json:"write"`
	CAS    float64 `json:"cas"`
	Ledger float64 `json:"ledger"`
}

// DefaultMix is the register workload's mix when a scenario names none:
// reads and writes in equal measure, some compare-and-sets, and enough
// ledger inserts to measure RPO.
var DefaultMix = Mix{Read: 0.4, Write: 0.3, CAS: 0.1, Ledger: 0.2}

// Register generates register operations (read, write, compare-and-set)
// over a small set of keys, every written value unique so that a read
// names the write it saw, mixed with ledger inserts of unique keys whose
// acknowledgements measure RPO.
type Register struct {
	keys int
	mix  Mix

	value  atomic.Int64
	ledger atomic.Int64
	mu     sync.Mutex
	last   []int64 // last value generated for each key, expected by cas
}

// NewRegister returns a register generator over keys keys ("k0"…).
func NewRegister(keys int, mix Mix) *Register {
	if keys < 1 {
		keys = 1
	}
	if mix.Read+mix.Write+mix.CAS+mix.Ledger <= 0 {
		mix = DefaultMix
	}
	return &Register{keys: keys, mix: mix, last: make([]int64, keys)}
}

// Name implements Generator.
func (g *Register) Name() string { return "register" }

// Next implements Generator.
func (g *Register) Next(r *rand.Rand, process int) Op {
	total := g.mix.Read + g.mix.Write + g.mix.CAS + g.mix.Ledger
	x := r.Float64() * total
	k := r.IntN(g.keys)
	key := RegisterKey(k)
	switch {
	case x < g.mix.Read:
		return Op{F: FRead, Key: key}
	case x < g.mix.Read+g.mix.Write:
		v := g.value.Add(1)
		g.mu.Lock()
		g.last[k] = v
		g.mu.Unlock()
		return Op{F: FWrite, Key: key, Value: Int(v)}
	case x < g.mix.Read+g.mix.Write+g.mix.CAS:
		v := g.value.Add(1)
		g.mu.Lock()
		prev := g.last[k]
		g.last[k] = v
		g.mu.Unlock()
		return Op{F: FCAS, Key: key, Prev: Int(prev), Value: Int(v)}
	default:
		return Op{F: FLedgerAdd, Key: LedgerKey(g.ledger.Add(1))}
	}
}

// Final implements Generator: one read of the whole ledger.
func (g *Register) Final() []Op { return []Op{{F: FLedgerRead}} }

// RegisterKey names register key k.
func RegisterKey(k int) string { return fmt.Sprintf("k%d", k) }

// LedgerKey names ledger entry n; names sort in the order they were made.
func LedgerKey(n int64) string { return fmt.Sprintf("l%09d", n) }
