package elle

import (
	"cmp"
	"container/heap"
	"context"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/workload"
)

// simMode is how the simulated database isolates transactions.
type simMode int

const (
	// serialExec runs each transaction atomically at one instant between
	// its invocation and completion: a strict serializable database.
	serialExec simMode = iota
	// snapshotExec reads from a snapshot taken just after invocation and
	// installs appends at commit, aborting a transaction whose appended
	// key another committed after its snapshot (first committer wins):
	// strong snapshot isolation.
	snapshotExec
)

// sim configures a simulated database run. The bugs are off at zero.
type sim struct {
	txns        int
	concurrency int
	seed        uint64
	mode        simMode
	gen         workload.ListAppendOptions

	// failRate: transactions that fail cleanly; infoRate: transactions
	// whose outcome the client never learns (half of them took effect).
	failRate, infoRate float64

	// staleReads: read-only transactions that read a snapshot up to
	// staleness (default 50) commits old (serializable, not strictly).
	staleReads float64
	staleness  int
	// noFirstCommitterWins: snapshot isolation that lets concurrent
	// appenders both commit (lost updates).
	noFirstCommitterWins bool
	// fractured: transactions appending to several keys whose appends
	// after the first become visible only at the next commit (non-atomic
	// visibility).
	fractured float64
	// abortedVisible: failing transactions whose appends stay (dirty
	// reads of aborted state).
	abortedVisible float64
}

type simEventKind int

const (
	evInvoke simEventKind = iota
	evSnapshot
	evCommit
	evComplete
)

type simEvent struct {
	at   time.Duration
	kind simEventKind
	seq  int // tie-break: order of scheduling
	w    int // worker
}

type simQueue []simEvent

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// simKey is one key's list and, for snapshot reads, the list's length
// after each commit that changed it.
type simKey struct {
	list     []int64
	versions []simVersion
}

type simVersion struct {
	commit int64
	length int
}

// simWorker is one client: its current transaction and its fate.
type simWorker struct {
	process  int
	op       workload.Op
	snapshot int64
	outcome  workload.Type
	stale    bool
}

// run simulates the database and returns the history, sorted by
// invocation, with final reads of every key at the end.
func (s sim) run(t testing.TB) *workload.History {
	t.Helper()
	gen, err := workload.NewListAppend(s.gen)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(s.seed, 99))
	db := &simDB{keys: map[int64]*simKey{}}
	workers := make([]simWorker, s.concurrency)
	var (
		q       simQueue
		seq     int
		ops     []workload.Op
		started int
		now     time.Duration
	)
	push := func(at time.Duration, k simEventKind, w int) {
		seq++
		heap.Push(&q, simEvent{at: at, kind: k, seq: seq, w: w})
	}
	us := func(lo, hi int) time.Duration { return time.Duration(lo+r.IntN(hi-lo+1)) * time.Microsecond }
	for w := range workers {
		workers[w].process = w
		push(us(0, 100), evInvoke, w)
	}
	for q.Len() > 0 {
		ev := heap.Pop(&q).(simEvent)
		now = ev.at
		wk := &workers[ev.w]
		switch ev.kind {
		case evInvoke:
			if started == s.txns {
				continue
			}
			started++
			wk.op = gen.Next(r, wk.process)
			wk.op.Index = int64(len(ops))
			wk.op.Process = wk.process
			wk.op.Call = now
			wk.op.Type = workload.Invoke
			ops = append(ops, wk.op)
			wk.outcome = workload.OK
			switch x := r.Float64(); {
			case x < s.failRate:
				wk.outcome = workload.Fail
			case x < s.failRate+s.infoRate:
				wk.outcome = workload.Info
			}
			wk.stale = readOnly(wk.op.Txn) && r.Float64() < s.staleReads
			push(now+us(0, 200), evSnapshot, ev.w)
		case evSnapshot:
			wk.snapshot = db.commits
			if wk.stale {
				wk.snapshot = max(0, db.commits-int64(1+r.IntN(cmp.Or(s.staleness, 50))))
			}
			push(now+us(100, 1000), evCommit, ev.w)
		case evCommit:
			s.commit(r, db, wk)
			push(now+us(0, 200), evComplete, ev.w)
		case evComplete:
			wk.op.Return = now
			wk.op.Type = wk.outcome
			ops[wk.op.Index] = wk.op
			if wk.outcome == workload.Info {
				wk.process += s.concurrency
			}
			push(now+us(0, 100), evInvoke, ev.w)
		}
	}
	// Final reads, one after another once everything has settled.
	for _, f := range gen.Final() {
		now += time.Millisecond
		f.Index, f.Process, f.Call, f.Final = int64(len(ops)), 1<<20, now, true
		db.flush()
		for i := range f.Txn {
			f.Txn[i].List = db.read(f.Txn[i].Key, db.commits)
		}
		now += time.Millisecond
		f.Return, f.Type = now, workload.OK
		ops = append(ops, f)
	}
	h := &workload.History{Ops: ops}
	h.Sort()
	return h
}

func readOnly(txn []workload.Mop) bool {
	for _, m := range txn {
		if m.F == workload.MAppend {
			return false
		}
	}
	return true
}

// simDB is the simulated database's state.
type simDB struct {
	keys    map[int64]*simKey
	commits int64
	// deferred appends of fractured transactions, applied at the next
	// commit.
	deferred []workload.Mop
}

func (db *simDB) key(k int64) *simKey {
	sk := db.keys[k]
	if sk == nil {
		sk = &simKey{}
		db.keys[k] = sk
	}
	return sk
}

// read returns key k as of commit number v. The result shares the list's
// backing array: lists only grow, so a prefix never changes.
func (db *simDB) read(k int64, v int64) []int64 {
	sk := db.key(k)
	i := sort.Search(len(sk.versions), func(i int) bool { return sk.versions[i].commit > v })
	if i == 0 {
		return nil
	}
	n := sk.versions[i-1].length
	return sk.list[:n:n]
}

func (db *simDB) apply(m workload.Mop) {
	sk := db.key(m.Key)
	sk.list = append(sk.list, m.Value)
	if n := len(sk.versions); n > 0 && sk.versions[n-1].commit == db.commits {
		sk.versions[n-1].length = len(sk.list)
		return
	}
	sk.versions = append(sk.versions, simVersion{commit: db.commits, length: len(sk.list)})
}

// flush applies deferred appends as a commit of their own.
func (db *simDB) flush() {
	if len(db.deferred) == 0 {
		return
	}
	db.commits++
	for _, m := range db.deferred {
		db.apply(m)
	}
	db.deferred = db.deferred[:0]
}

// commit executes a worker's transaction at this instant. Appends a
// fractured transaction deferred land right after the next transaction
// executes, so that one sees the partial state.
func (s sim) commit(r *rand.Rand, db *simDB, wk *simWorker) {
	pending := db.deferred
	db.deferred = nil
	defer func() {
		if len(pending) > 0 {
			db.commits++
			for _, m := range pending {
				db.apply(m)
			}
		}
	}()
	snap := db.commits
	if s.mode == snapshotExec || wk.stale {
		snap = wk.snapshot
	}
	txn := wk.op.Txn
	own := map[int64][]int64{} // appends so far, by key
	for i, m := range txn {
		if m.F == workload.MRead {
			base := db.read(m.Key, snap)
			if extra := own[m.Key]; len(extra) > 0 {
				base = append(slices.Clip(base), extra...)
			}
			txn[i].List = base
			continue
		}
		own[m.Key] = append(own[m.Key], m.Value)
	}
	if s.mode == snapshotExec && !s.noFirstCommitterWins && wk.outcome != workload.Fail {
		for k := range own {
			sk := db.key(k)
			if n := len(sk.versions); n > 0 && sk.versions[n-1].commit > wk.snapshot {
				wk.outcome = workload.Fail // first committer wins
				break
			}
		}
	}
	effective := wk.outcome == workload.OK ||
		wk.outcome == workload.Info && r.IntN(2) == 0 ||
		wk.outcome == workload.Fail && r.Float64() < s.abortedVisible
	if !effective || len(own) == 0 {
		if wk.outcome != workload.OK {
			// A failed or unknown transaction's reads are not reported.
			for i := range txn {
				txn[i].List = nil
			}
		}
		return
	}
	db.commits++
	fracture := len(own) > 1 && r.Float64() < s.fractured
	first := txn[slices.IndexFunc(txn, func(m workload.Mop) bool { return m.F == workload.MAppend })].Key
	for _, m := range txn {
		if m.F != workload.MAppend {
			continue
		}
		if fracture && m.Key != first {
			db.deferred = append(db.deferred, m)
			continue
		}
		db.apply(m)
	}
	if wk.outcome != workload.OK {
		for i := range txn {
			txn[i].List = nil
		}
	}
}

func TestSimulatedDatabase(t *testing.T) {
	gen := workload.ListAppendOptions{Keys: 6, MaxWritesPerKey: 16}
	tests := []struct {
		name   string
		sim    sim
		expect Level
		// want: kinds at least one of which must appear; allowed: the only
		// kinds that may appear (nil: any that want lists).
		want, allowed []string
		verdict       check.Verdict
	}{
		{
			name:    "strict serializable database",
			sim:     sim{txns: 4000, concurrency: 8, mode: serialExec, gen: gen, failRate: 0.05, infoRate: 0.05},
			expect:  StrictSerializable,
			allowed: []string{},
			verdict: check.Pass,
		},
		{
			name:    "snapshot isolation passes as snapshot isolation",
			sim:     sim{txns: 4000, concurrency: 8, mode: snapshotExec, gen: gen, infoRate: 0.05},
			expect:  SnapshotIsolation,
			want:    []string{G2Item},
			allowed: []string{G2Item, G2Item + ProcessSuffix, G2Item + RealtimeSuffix},
			verdict: check.Pass,
		},
		{
			name:    "snapshot isolation fails serializable with write skew",
			sim:     sim{txns: 4000, concurrency: 8, mode: snapshotExec, gen: gen},
			expect:  Serializable,
			want:    []string{G2Item},
			allowed: []string{G2Item, G2Item + ProcessSuffix, G2Item + RealtimeSuffix},
			verdict: check.Fail,
		},
		{
			name:    "stale snapshots are serializable",
			sim:     sim{txns: 4000, concurrency: 8, mode: serialExec, gen: gen, staleReads: 0.3},
			expect:  Serializable,
			want:    []string{GSingle + RealtimeSuffix, GSingle + ProcessSuffix},
			verdict: check.Pass,
		},
		{
			name:    "stale snapshots are not strict serializable",
			sim:     sim{txns: 4000, concurrency: 8, mode: serialExec, gen: gen, staleReads: 0.3},
			expect:  StrictSerializable,
			want:    []string{GSingle + RealtimeSuffix, GSingle + ProcessSuffix},
			verdict: check.Fail,
		},
		{
			name:    "no first-committer-wins loses updates",
			sim:     sim{txns: 4000, concurrency: 8, mode: snapshotExec, gen: gen, noFirstCommitterWins: true},
			expect:  SnapshotIsolation,
			want:    []string{LostUpdate},
			verdict: check.Fail,
		},
		{
			name:    "non-atomic visibility",
			sim:     sim{txns: 4000, concurrency: 8, mode: serialExec, gen: gen, fractured: 0.2},
			expect:  SnapshotIsolation,
			want:    []string{GSingle, GNonadjacent, G1c},
			verdict: check.Fail,
		},
		{
			name:    "aborted writes stay visible",
			sim:     sim{txns: 4000, concurrency: 8, mode: serialExec, gen: gen, failRate: 0.1, abortedVisible: 0.5},
			expect:  ReadCommitted,
			want:    []string{G1a},
			verdict: check.Fail,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 3; seed++ {
				s := tt.sim
				s.seed = seed
				h := s.run(t)
				res := Checker{Expect: tt.expect}.Check(context.Background(), h)
				if res.Verdict != tt.verdict {
					t.Errorf("seed %d: verdict %s, want %s\n%s", seed, res.Verdict, tt.verdict, dump(res))
				}
				kinds := strings.Split(res.Facts["anomaly_types"], ",")
				if res.Facts["anomaly_types"] == "" {
					kinds = nil
				}
				if len(tt.want) > 0 && !slices.ContainsFunc(kinds, func(k string) bool { return slices.Contains(tt.want, k) }) {
					t.Errorf("seed %d: anomalies %v, want one of %v\n%s", seed, kinds, tt.want, dump(res))
				}
				if tt.allowed != nil {
					for _, k := range kinds {
						if !slices.Contains(tt.allowed, k) {
							t.Errorf("seed %d: unexpected %s\n%s", seed, k, dump(res))
						}
					}
				}
			}
		})
	}
}
