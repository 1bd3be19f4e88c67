package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/faultline-dev/faultline/workload"
)

// Linearizable checks the register operations (read, write, cas) of a
// history for linearizability with porcupine, one key at a time: a
// register's history is linearizable if and only if each key's is, and a
// key at a time tells which keys are not.
//
// Each key is a register that starts absent. Operations are fed to the
// model as follows: ok reads, writes and cas as they are; writes and cas
// that ended info may have happened at any time after their call, or not
// at all, so they end at +∞ and the model accepts either outcome; reads
// that ended info or fail, and writes and cas that failed, are dropped
// (they observed or changed nothing). Ledger, bank and list-append
// operations are not part of this model. Final reads are checked with
// the rest.
//
// Verdict: Fail if any key is not linearizable, with an anomaly per such
// key that names the operations (history indices) that cannot be ordered
// and explains why, and porcupine's visualization of the key as the
// artifact linearizability/KEY.html; Unknown if any key could not be
// decided within Timeout (or before ctx was done), or the history has no
// register operations; Pass otherwise.
//
// Metrics: keys_checked, ops_checked, ops_dropped, keys_illegal,
// keys_unknown.
type Linearizable struct {
	// Timeout bounds the whole check; zero means no bound but ctx's.
	Timeout time.Duration
}

// Name implements Checker.
func (Linearizable) Name() string { return "linearizable" }

// Check implements Checker.
func (c Linearizable) Check(ctx context.Context, h *workload.History) Result {
	r := Result{Checker: "linearizable"}
	keys, dropped := registerKeys(h)
	if len(keys) == 0 {
		r.Verdict, r.Summary = Unknown, "no register operations to check"
		return r
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	outcomes := checkKeys(ctx, keys)

	ops := 0
	var illegal, unknown []string
	names := map[string]bool{}
	for i, k := range keys {
		ops += len(k.ops)
		switch outcomes[i] {
		case porcupine.Ok:
		case porcupine.Illegal:
			illegal = append(illegal, k.key)
			info, ok := linearizationInfo(ctx, k)
			r.Anomalies = append(r.Anomalies, explainIllegal(k, info, ok))
			if !ok {
				continue
			}
			a, err := visualize(k, info, names)
			if err != nil {
				// The anomaly stands; only its picture is missing.
				r.Facts = map[string]string{"visualization_error": err.Error()}
				continue
			}
			r.Artifacts = append(r.Artifacts, a)
		default:
			unknown = append(unknown, k.key)
		}
	}
	r.Metrics = map[string]float64{
		"keys_checked": float64(len(keys)),
		"ops_checked":  float64(ops),
		"ops_dropped":  float64(dropped),
		"keys_illegal": float64(len(illegal)),
		"keys_unknown": float64(len(unknown)),
	}
	r.Verdict, r.Summary = c.verdict(ctx, len(keys), ops, illegal, unknown)
	return r
}

// verdict judges the keys' outcomes and says so in one line.
func (c Linearizable) verdict(ctx context.Context, keys, ops int, illegal, unknown []string) (Verdict, string) {
	switch {
	case len(illegal) > 0:
		s := fmt.Sprintf("not linearizable: %d of %d keys (%s)", len(illegal), keys, listSome(illegal, 5))
		if len(unknown) > 0 {
			s += fmt.Sprintf("; %d keys undecided", len(unknown))
		}
		return Fail, s
	case len(unknown) > 0:
		why := "the check was cancelled"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = "its deadline passed"
			if c.Timeout > 0 {
				why = "the timeout of " + c.Timeout.String() + " ran out"
			}
		}
		return Unknown, fmt.Sprintf("%d of %d keys undecided (%s): %s", len(unknown), keys, listSome(unknown, 5), why)
	}
	return Pass, fmt.Sprintf("linearizable: %d ops on %d keys", ops, keys)
}

// keyHistory is one key's register operations, as porcupine sees them:
// ops[i] is porcupine's operation i.
type keyHistory struct {
	key  string
	ops  []workload.Op
	porc []porcupine.Operation
}

// registerKeys partitions the history's register operations by key, in
// the order keys first appear, dropping those that observed or changed
// nothing.
func registerKeys(h *workload.History) ([]keyHistory, int) {
	byKey := map[string]int{}
	var keys []keyHistory
	dropped := 0
	for _, o := range h.Ops {
		if o.F != workload.FRead && o.F != workload.FWrite && o.F != workload.FCAS {
			continue
		}
		// An invocation never completed (a history not closed by Read)
		// is as unknown as an info.
		if o.Type == workload.Fail || (o.F == workload.FRead && o.Type != workload.OK) {
			dropped++
			continue
		}
		i, ok := byKey[o.Key]
		if !ok {
			i = len(keys)
			byKey[o.Key] = i
			keys = append(keys, keyHistory{key: o.Key})
		}
		keys[i].ops = append(keys[i].ops, o)
	}
	for i := range keys {
		keys[i].porc = toPorcupine(keys[i].ops)
	}
	return keys, dropped
}

// toPorcupine turns one key's operations into porcupine's. Client IDs are
// dense per key (the visualization draws a row per ID); the metadata is
// the operation itself, for explanations and the visualization.
func toPorcupine(ops []workload.Op) []porcupine.Operation {
	var infinity int64
	for _, o := range ops {
		infinity = max(infinity, int64(o.Call), int64(o.Return))
	}
	infinity++
	clients := map[int]int{}
	out := make([]porcupine.Operation, 0, len(ops))
	for _, o := range ops {
		cl, ok := clients[o.Process]
		if !ok {
			cl = len(clients)
			clients[o.Process] = cl
		}
		in := regInput{f: o.F, value: stateOf(o.Value), prev: stateOf(o.Prev), unknown: o.Type != workload.OK}
		ret := int64(o.Return)
		if in.unknown {
			ret = infinity
		}
		out = append(out, porcupine.Operation{
			ClientId: cl,
			Input:    in,
			Call:     int64(o.Call),
			Output:   stateOf(o.Value),
			Return:   ret,
			Metadata: o,
		})
	}
	return out
}

// checkKeys runs porcupine on every key, as many at once as there are
// processors, until ctx is done. A key not decided by then is Unknown.
func checkKeys(ctx context.Context, keys []keyHistory) []porcupine.CheckResult {
	out := make([]porcupine.CheckResult, len(keys))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(keys)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = checkKey(ctx, keys[i])
			}
		}()
	}
feed:
	for i := range keys {
		select {
		case next <- i:
		case <-ctx.Done():
			for j := i; j < len(keys); j++ {
				out[j] = porcupine.Unknown
			}
			break feed
		}
	}
	close(next)
	wg.Wait()
	return out
}

// checkKey decides one key. It asks porcupine for the verdict alone,
// which takes half the time and memory of the verbose check on a passing
// key; linearizationInfo asks again, verbosely, for the keys that fail.
func checkKey(ctx context.Context, k keyHistory) porcupine.CheckResult {
	timeout, ok := remaining(ctx)
	if !ok {
		return porcupine.Unknown
	}
	res := porcupine.CheckOperationsTimeout(registerModel(ctx), k.porc, timeout)
	if ctx.Err() != nil {
		// The model refuses every step once ctx is done, so whatever
		// porcupine concluded after that proves nothing.
		res = porcupine.Unknown
	}
	return res
}

// linearizationInfo checks an illegal key again with porcupine's verbose
// check, for its longest consistent orders and its visualization; ok is
// false if that did not finish in time.
func linearizationInfo(ctx context.Context, k keyHistory) (porcupine.LinearizationInfo, bool) {
	timeout, ok := remaining(ctx)
	if !ok {
		return porcupine.LinearizationInfo{}, false
	}
	res, info := porcupine.CheckOperationsVerbose(registerModel(ctx), k.porc, timeout)
	if res != porcupine.Illegal || ctx.Err() != nil {
		return porcupine.LinearizationInfo{}, false
	}
	return info, true
}

// remaining is the time left before ctx's deadline, zero if it has none;
// ok is false when ctx is already done.
func remaining(ctx context.Context) (time.Duration, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	if dl, ok := ctx.Deadline(); ok {
		d := time.Until(dl)
		return d, d > 0
	}
	return 0, true
}

// regState is a register's value; the zero value is absent.
type regState struct {
	set bool
	v   int64
}

func stateOf(p *int64) regState {
	if p == nil {
		return regState{}
	}
	return regState{set: true, v: *p}
}

func (s regState) String() string {
	if !s.set {
		return "absent"
	}
	return fmt.Sprint(s.v)
}

// regInput is a register operation's input; unknown marks a write or cas
// whose outcome is unknown (info).
type regInput struct {
	f       string
	value   regState
	prev    regState
	unknown bool
}

// registerModel is the register as porcupine's model. Once ctx is done it
// refuses every step, so that porcupine gives up at once; callers must
// then disregard its answer.
func registerModel(ctx context.Context) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return regState{} },
		StepContext: func(pctx context.Context, state, input, output any) (bool, any) {
			if ctx.Err() != nil || pctx.Err() != nil {
				return false, state
			}
			return stepRegister(state.(regState), input.(regInput), output.(regState))
		},
		Hash: func(state any) uint64 {
			s := state.(regState)
			if !s.set {
				return 0
			}
			return uint64(s.v)*0x9E3779B97F4A7C15 + 1
		},
		DescribeOperation: func(input, output any) string {
			return describeRegister(input.(regInput), output.(regState))
		},
		DescribeState: func(state any) string { return state.(regState).String() },
		DescribeOperationMetadata: func(m any) string {
			o, ok := m.(workload.Op)
			if !ok {
				return ""
			}
			return o.String()
		},
	}
}

// stepRegister is the register's sequential specification.
func stepRegister(s regState, in regInput, out regState) (bool, regState) {
	switch in.f {
	case workload.FRead:
		return s == out, s
	case workload.FWrite:
		return true, in.value
	case workload.FCAS:
		if s == in.prev {
			return true, in.value
		}
		// A cas of unknown outcome that did not apply is a cas that
		// failed its precondition, or never happened.
		return in.unknown, s
	}
	return false, s
}

func describeRegister(in regInput, out regState) string {
	var s string
	switch in.f {
	case workload.FRead:
		s = "read → " + out.String()
	case workload.FWrite:
		s = "write " + in.value.String()
	case workload.FCAS:
		s = "cas " + in.prev.String() + "→" + in.value.String()
	}
	if in.unknown {
		s += " (outcome unknown)"
	}
	return s
}

// visualize renders porcupine's view of an illegal key as an artifact.
// The model it replays with never refuses a step, whatever ctx did.
func visualize(k keyHistory, info porcupine.LinearizationInfo, taken map[string]bool) (a Artifact, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("visualize %s: %v", k.key, p)
		}
	}()
	var buf bytes.Buffer
	if err := porcupine.Visualize(registerModel(context.Background()), info, &buf); err != nil {
		return Artifact{}, fmt.Errorf("visualize %s: %w", k.key, err)
	}
	name := fileSafe.ReplaceAllString(k.key, "_")
	for base, n := name, 2; taken[name]; n++ {
		name = fmt.Sprintf("%s-%d", base, n)
	}
	taken[name] = true
	return Artifact{
		Name:        "linearizability/" + name + ".html",
		Description: fmt.Sprintf("porcupine's view of key %s: its operations per client and the longest orders consistent with a register (open in a browser)", k.key),
		Data:        buf.Bytes(),
	}, nil
}

var fileSafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// listSome lists up to n names, sorted, and says how many more there are.
func listSome(names []string, n int) string {
	s := append([]string(nil), names...)
	sort.Strings(s)
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(s[:n], ", "), len(s)-n)
}
