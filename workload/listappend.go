package workload

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
)

// ListAppendOptions shape the list-append workload. Zero fields take the
// defaults named on each field, which follow Elle's own generator.
type ListAppendOptions struct {
	// Keys is the number of keys in play at any moment (default 8). Few
	// keys mean real contention.
	Keys int `json:"keys,omitempty"`
	// MinTxnLen and MaxTxnLen bound the micro-operations per transaction
	// (defaults 1 and 5).
	MinTxnLen int `json:"min_txn_len,omitempty"`
	MaxTxnLen int `json:"max_txn_len,omitempty"`
	// MaxWritesPerKey retires a key after this many appends were
	// generated for it, and brings in a fresh key in its place (default
	// 32). Short lists keep reads cheap and the version order dense.
	MaxWritesPerKey int `json:"max_writes_per_key,omitempty"`
	// ReadFraction is the chance that a micro-operation is a read rather
	// than an append (default 0.5).
	ReadFraction float64 `json:"read_fraction,omitempty"`
	// FinalBatch is the number of keys each final read transaction reads
	// (default 64).
	FinalBatch int `json:"final_batch,omitempty"`
}

// Validate reports every option that is out of range, naming the field.
func (o ListAppendOptions) Validate() error {
	var errs []error
	if o.Keys < 0 {
		errs = append(errs, fmt.Errorf("keys: %d is negative", o.Keys))
	}
	if o.MinTxnLen < 0 {
		errs = append(errs, fmt.Errorf("min_txn_len: %d is negative", o.MinTxnLen))
	}
	if o.MaxTxnLen < 0 {
		errs = append(errs, fmt.Errorf("max_txn_len: %d is negative", o.MaxTxnLen))
	}
	if o.MinTxnLen > 0 && o.MaxTxnLen > 0 && o.MinTxnLen > o.MaxTxnLen {
		errs = append(errs, fmt.Errorf("min_txn_len: %d is more than max_txn_len %d", o.MinTxnLen, o.MaxTxnLen))
	}
	if o.MaxWritesPerKey < 0 {
		errs = append(errs, fmt.Errorf("max_writes_per_key: %d is negative", o.MaxWritesPerKey))
	}
	if o.ReadFraction < 0 || o.ReadFraction > 1 {
		errs = append(errs, fmt.Errorf("read_fraction: %g is not between 0 and 1", o.ReadFraction))
	}
	if o.FinalBatch < 0 {
		errs = append(errs, fmt.Errorf("final_batch: %d is negative", o.FinalBatch))
	}
	return joinErrs("list-append", errs)
}

func (o ListAppendOptions) withDefaults() ListAppendOptions {
	if o.Keys == 0 {
		o.Keys = 8
	}
	if o.MinTxnLen == 0 {
		o.MinTxnLen = 1
	}
	if o.MaxTxnLen == 0 {
		o.MaxTxnLen = max(5, o.MinTxnLen)
	}
	if o.MaxWritesPerKey == 0 {
		o.MaxWritesPerKey = 32
	}
	if o.ReadFraction == 0 {
		o.ReadFraction = 0.5
	}
	if o.FinalBatch == 0 {
		o.FinalBatch = 64
	}
	return o
}

// ListAppend generates Elle's list-append transactions: each micro-operation
// appends a unique value to a key's list or reads a whole list. Because
// every value is unique and lists only grow, each read names the exact
// version it saw and the order of appends, which is what lets the
// list-append checker infer dependencies between transactions.
//
// Values are unique across the whole history, not just per key. Keys are
// numbered from 0 in the order they come into play.
type ListAppend struct {
	opts ListAppendOptions

	mu      sync.Mutex
	active  []int64 // the keys in play
	writes  []int   // appends generated so far for each active key
	nextKey int64
	value   int64
}

// NewListAppend returns a list-append generator, or an error naming every
// option that is out of range.
func NewListAppend(opts ListAppendOptions) (*ListAppend, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	g := &ListAppend{
		opts:   opts,
		active: make([]int64, opts.Keys),
		writes: make([]int, opts.Keys),
	}
	for i := range g.active {
		g.active[i] = g.nextKey
		g.nextKey++
	}
	return g, nil
}

// Name implements Generator.
func (g *ListAppend) Name() string { return "append" }

// Options returns the options in force, defaults filled in.
func (g *ListAppend) Options() ListAppendOptions { return g.opts }

// Next implements Generator: a transaction of MinTxnLen to MaxTxnLen
// micro-operations over the keys in play.
func (g *ListAppend) Next(r *rand.Rand, process int) Op {
	n := g.opts.MinTxnLen + r.IntN(g.opts.MaxTxnLen-g.opts.MinTxnLen+1)
	txn := make([]Mop, n)
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range txn {
		slot := r.IntN(len(g.active))
		k := g.active[slot]
		if r.Float64() < g.opts.ReadFraction {
			txn[i] = Mop{F: MRead, Key: k}
			continue
		}
		g.value++
		txn[i] = Mop{F: MAppend, Key: k, Value: g.value}
		g.writes[slot]++
		if g.writes[slot] >= g.opts.MaxWritesPerKey {
			// Retire the key: later transactions of this batch may still
			// read it, which is fine; nothing appends to it again.
			g.active[slot] = g.nextKey
			g.writes[slot] = 0
			g.nextKey++
		}
	}
	return Op{F: FTxn, Txn: txn}
}

// Renew implements Renewer: op with a fresh unique value for each append,
// for the retry of an aborted transaction.
func (g *ListAppend) Renew(op Op) Op {
	txn := make([]Mop, len(op.Txn))
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, m := range op.Txn {
		txn[i] = Mop{F: m.F, Key: m.Key}
		if m.F == MAppend {
			g.value++
			txn[i].Value = g.value
		}
	}
	return Op{F: op.F, Txn: txn}
}

// Final implements Generator: reads of every key that came into play, in
// transactions of FinalBatch keys each.
func (g *ListAppend) Final() []Op {
	g.mu.Lock()
	keys := g.nextKey
	g.mu.Unlock()
	var ops []Op
	for start := int64(0); start < keys; start += int64(g.opts.FinalBatch) {
		end := min(keys, start+int64(g.opts.FinalBatch))
		txn := make([]Mop, 0, end-start)
		for k := start; k < end; k++ {
			txn = append(txn, Mop{F: MRead, Key: k})
		}
		ops = append(ops, Op{F: FTxn, Txn: txn})
	}
	return ops
}

// joinErrs prefixes a list of option problems with the workload's name;
// nil when there are none.
func joinErrs(what string, errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w", what, errors.Join(errs...))
}
