package workload

import (
	"math/rand/v2"
	"sync"
	"testing"
)

func TestLedgerUniqueKeys(t *testing.T) {
	g := NewLedger()
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
		wg   sync.WaitGroup
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(1, uint64(w)))
			for i := 0; i < 300; i++ {
				op := g.Next(r, w)
				if op.F != FLedgerAdd {
					t.Errorf("F = %q, want %q", op.F, FLedgerAdd)
					return
				}
				mu.Lock()
				if seen[op.Key] {
					t.Errorf("key %s generated twice", op.Key)
				}
				seen[op.Key] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 1200 {
		t.Errorf("%d distinct keys, want 1200", len(seen))
	}
	if f := g.Final(); len(f) != 1 || f[0].F != FLedgerRead {
		t.Errorf("Final() = %v, want one ledger read", f)
	}
}
