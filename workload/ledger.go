package workload

import (
	"math/rand/v2"
	"sync/atomic"
)

// Ledger generates only ledger inserts, each of a key never used before,
// and ends with one read of the whole ledger. Every acknowledged insert
// must be in that read; the ones missing are the writes a fault lost
// (RPO).
type Ledger struct {
	next atomic.Int64
}

// NewLedger returns a ledger generator.
func NewLedger() *Ledger { return &Ledger{} }

// Name implements Generator.
func (g *Ledger) Name() string { return "ledger" }

// Next implements Generator: an insert of the next unused key (LedgerKey).
func (g *Ledger) Next(r *rand.Rand, process int) Op {
	return Op{F: FLedgerAdd, Key: LedgerKey(g.next.Add(1))}
}

// Final implements Generator: one read of every entry.
func (g *Ledger) Final() []Op { return []Op{{F: FLedgerRead}} }
