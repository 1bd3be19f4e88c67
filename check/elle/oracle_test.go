package elle

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/workload"
)

// serialOrder searches by brute force for a serial order of the history's
// transactions that explains every committed read: committed transactions
// all take effect, failed ones none, indeterminate ones either way. With
// realtime, a transaction that completed before another was invoked must
// come first. It is exponential; only for histories of a few transactions.
func serialOrder(h *workload.History, realtime bool) bool {
	var txns []*workload.Op
	for i := range h.Ops {
		if op := &h.Ops[i]; op.F == workload.FTxn && op.Type != workload.Fail {
			txns = append(txns, op)
		}
	}
	placed := make([]bool, len(txns))
	var search func(state map[int64][]int64, left int) bool
	search = func(state map[int64][]int64, left int) bool {
		mandatory := 0
		for i, t := range txns {
			if !placed[i] && t.Type == workload.OK {
				mandatory++
			}
		}
		if mandatory == 0 {
			return true
		}
		for i, t := range txns {
			if placed[i] || !ready(txns, placed, i, realtime) {
				continue
			}
			next, ok := apply(state, t)
			if !ok {
				continue
			}
			placed[i] = true
			found := search(next, left-1)
			placed[i] = false
			if found {
				return true
			}
		}
		// Indeterminate transactions may never take effect: drop one.
		for i, t := range txns {
			if !placed[i] && t.Type != workload.OK {
				placed[i] = true
				found := search(state, left-1)
				placed[i] = false
				if found {
					return true
				}
			}
		}
		return false
	}
	return search(map[int64][]int64{}, len(txns))
}

// ready reports whether every committed transaction that completed before
// txns[i] was invoked is already placed.
func ready(txns []*workload.Op, placed []bool, i int, realtime bool) bool {
	if !realtime {
		return true
	}
	for j, u := range txns {
		if !placed[j] && u.Type == workload.OK && u.Return < txns[i].Call {
			return false
		}
	}
	return true
}

// apply runs t on state; false if one of its committed reads disagrees.
func apply(state map[int64][]int64, t *workload.Op) (map[int64][]int64, bool) {
	next := make(map[int64][]int64, len(state)+len(t.Txn))
	for k, v := range state {
		next[k] = v
	}
	for _, m := range t.Txn {
		switch m.F {
		case workload.MAppend:
			next[m.Key] = append(slices.Clip(next[m.Key]), m.Value)
		case workload.MRead:
			if t.Type == workload.OK && !slices.Equal(next[m.Key], m.List) {
				return nil, false
			}
		}
	}
	return next, true
}

// TestSoundAgainstBruteForce checks on thousands of small histories from
// the simulated database, correct and buggy, that every failure the
// checker reports is real: no serial order (respecting real time, for
// strict serializability) explains the history. Elle's inference is
// sound, not complete, so the converse is only counted. Histories from
// the correct snapshot isolated database must pass as snapshot isolation.
func TestSoundAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 42))
	var agree, missed, trials, failed int
	for seed := uint64(0); seed < 3000; seed++ {
		s := sim{
			txns:        3 + r.IntN(7),
			concurrency: 1 + r.IntN(4),
			seed:        seed,
			mode:        simMode(r.IntN(2)),
			gen:         workload.ListAppendOptions{Keys: 1 + r.IntN(3), MaxTxnLen: 1 + r.IntN(4), MaxWritesPerKey: 8},
			failRate:    0.1 * float64(r.IntN(2)),
			infoRate:    0.1 * float64(r.IntN(2)),
		}
		bug := r.IntN(6)
		switch bug {
		case 0:
			s.staleReads = 0.5
		case 1:
			s.noFirstCommitterWins = true
		case 2:
			s.fractured = 0.5
		case 3:
			s.abortedVisible, s.failRate = 0.5, 0.3
		}
		h := s.run(t)
		if s.mode == snapshotExec && bug > 3 {
			// A correct snapshot isolated database: never a failure at
			// that level.
			if res := (Checker{Expect: SnapshotIsolation}).Check(context.Background(), h); res.Verdict == check.Fail {
				t.Fatalf("seed %d: snapshot isolated database fails snapshot isolation\n%s\n%s", seed, dump(res), opsString(h))
			}
		}
		for _, strict := range []bool{false, true} {
			trials++
			level := Serializable
			if strict {
				level = StrictSerializable
			}
			res := Checker{Expect: level}.Check(context.Background(), h)
			serial := serialOrder(h, strict)
			switch {
			case res.Verdict == check.Fail && serial:
				t.Fatalf("seed %d: checker fails %s, but a serial order exists\n%s\n%s", seed, level, dump(res), opsString(h))
			case res.Verdict == check.Pass && !serial:
				missed++
			default:
				agree++
			}
			if res.Verdict == check.Fail {
				failed++
			}
		}
	}
	t.Logf("%d checks: %d agree with brute force (%d of them failures), %d non-serializable histories passed (Elle is sound, not complete)",
		trials, agree, failed, missed)
	if failed < trials/10 {
		t.Errorf("only %d of %d checks failed: the buggy simulations are not exercising the checker", failed, trials)
	}
}

func opsString(h *workload.History) string {
	s := ""
	for _, op := range h.Ops {
		s += op.String() + "\n"
	}
	return s
}
