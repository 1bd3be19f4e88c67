package workload

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

func TestListAppendOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts ListAppendOptions
		want []string // substrings of the error; none means valid
	}{
		{name: "zero is all defaults", opts: ListAppendOptions{}},
		{name: "explicit", opts: ListAppendOptions{Keys: 3, MinTxnLen: 2, MaxTxnLen: 2, MaxWritesPerKey: 4, ReadFraction: 1}},
		{name: "negative keys", opts: ListAppendOptions{Keys: -1}, want: []string{"keys: -1"}},
		{name: "min above max", opts: ListAppendOptions{MinTxnLen: 6, MaxTxnLen: 2}, want: []string{"min_txn_len: 6 is more than max_txn_len 2"}},
		{name: "every problem at once", opts: ListAppendOptions{MaxWritesPerKey: -2, ReadFraction: 1.5, FinalBatch: -1},
			want: []string{"max_writes_per_key: -2", "read_fraction: 1.5", "final_batch: -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", err, w)
				}
			}
			if _, nerr := NewListAppend(tt.opts); nerr == nil {
				t.Errorf("NewListAppend accepted options Validate rejects")
			}
		})
	}
}

func TestListAppendShape(t *testing.T) {
	tests := []struct {
		name string
		opts ListAppendOptions
	}{
		{name: "defaults", opts: ListAppendOptions{}},
		{name: "one key, short lists", opts: ListAppendOptions{Keys: 1, MaxWritesPerKey: 3}},
		{name: "long fixed txns", opts: ListAppendOptions{MinTxnLen: 7, MaxTxnLen: 7, ReadFraction: 0.1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := NewListAppend(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			o := g.Options()
			r := rand.New(rand.NewPCG(1, 2))
			appends := map[int64]int{}
			values := map[int64]bool{}
			retired := map[int64]bool{}
			var maxKey int64 = -1
			for i := 0; i < 2000; i++ {
				op := g.Next(r, 0)
				if op.F != FTxn {
					t.Fatalf("F = %q, want %q", op.F, FTxn)
				}
				if n := len(op.Txn); n < o.MinTxnLen || n > o.MaxTxnLen {
					t.Fatalf("txn of %d mops, want %d..%d", n, o.MinTxnLen, o.MaxTxnLen)
				}
				for _, m := range op.Txn {
					maxKey = max(maxKey, m.Key)
					switch m.F {
					case MRead:
						if m.List != nil {
							t.Fatalf("generated read carries a list %v", m.List)
						}
					case MAppend:
						if retired[m.Key] {
							t.Fatalf("append to key %d after it was retired", m.Key)
						}
						if values[m.Value] {
							t.Fatalf("value %d appended twice", m.Value)
						}
						values[m.Value] = true
						appends[m.Key]++
						if appends[m.Key] == o.MaxWritesPerKey {
							retired[m.Key] = true
						}
					default:
						t.Fatalf("unexpected mop %q", m.F)
					}
				}
			}
			// Final reads every key that came into play, each once.
			read := map[int64]int{}
			for _, op := range g.Final() {
				if len(op.Txn) > o.FinalBatch {
					t.Errorf("final txn reads %d keys, batch is %d", len(op.Txn), o.FinalBatch)
				}
				for _, m := range op.Txn {
					if m.F != MRead {
						t.Fatalf("final mop %q, want reads only", m.F)
					}
					read[m.Key]++
				}
			}
			for k := int64(0); k <= maxKey; k++ {
				if read[k] != 1 {
					t.Errorf("final reads key %d %d times, want once", k, read[k])
				}
			}
		})
	}
}

// TestListAppendConcurrent checks that workers sharing one generator
// never get the same value and never exceed a key's write budget (run with
// -race to check the locking too).
func TestListAppendConcurrent(t *testing.T) {
	g, err := NewListAppend(ListAppendOptions{Keys: 2, MaxWritesPerKey: 5})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 500
	ops := make([][]Op, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(7, uint64(w)))
			for i := 0; i < each; i++ {
				ops[w] = append(ops[w], g.Next(r, w))
			}
		}()
	}
	wg.Wait()
	values := map[int64]bool{}
	perKey := map[int64]int{}
	for _, ws := range ops {
		for _, op := range ws {
			for _, m := range op.Txn {
				if m.F != MAppend {
					continue
				}
				if values[m.Value] {
					t.Fatalf("value %d generated twice", m.Value)
				}
				values[m.Value] = true
				perKey[m.Key]++
			}
		}
	}
	for k, n := range perKey {
		if n > 5 {
			t.Errorf("key %d got %d appends, budget is 5", k, n)
		}
	}
}
