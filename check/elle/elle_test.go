package elle

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/workload"
)

func TestCheckHandBuilt(t *testing.T) {
	tests := []struct {
		name       string
		txs        []tx
		expect     Level
		want       []string // anomaly kinds, exactly
		verdict    check.Verdict
		consistent string // Facts["consistent_with"]
		violates   string // Facts["violates"]
		explain    []string
	}{
		{
			name: "serial appends and reads",
			txs: []tx{
				ok("a 1 1").at(0, 1),
				ok("r 1 1; a 1 2").at(2, 3),
				ok("r 1 1,2; a 2 3").at(4, 5),
				ok("r 1 1,2; r 2 3").at(6, 7),
			},
			verdict: check.Pass, consistent: "strict-serializable",
		},
		{
			name: "concurrent but serializable",
			txs: []tx{
				ok("a 1 1; a 2 1"),
				ok("r 1 1; a 1 2"),
				ok("r 2 1; r 1 1,2"),
			},
			verdict: check.Pass, consistent: "strict-serializable",
		},
		{
			name: "G0 write cycle",
			txs: []tx{
				ok("a 1 1; a 2 1"),
				ok("a 1 2; a 2 2"),
				ok("r 1 1,2; r 2 2,1"),
			},
			want: []string{G0}, verdict: check.Fail, consistent: "none", violates: "read-uncommitted",
			explain: []string{"appended 2 to key 1 right after", "appended 1 to key 2 right after", "(ww)", "write dependencies alone"},
		},
		{
			name: "G1a aborted read",
			txs: []tx{
				fail("a 1 1"),
				ok("r 1 1"),
			},
			want: []string{G1a}, verdict: check.Fail, consistent: "read-uncommitted", violates: "read-committed",
			explain: []string{"#1 read key 1 as [1], which includes 1, appended by #0, which failed"},
		},
		{
			name: "G1b intermediate read",
			txs: []tx{
				ok("a 1 1; a 1 2"),
				ok("r 1 1"),
				ok("r 1 1,2"),
			},
			// The reader also missed the writer's second append: G-single.
			want: []string{G1b, GSingle}, verdict: check.Fail, consistent: "read-uncommitted", violates: "read-committed",
			explain: []string{"intermediate state"},
		},
		{
			name: "G1c circular information flow",
			txs: []tx{
				ok("a 1 1; r 2 1"),
				ok("a 2 1; r 1 1"),
			},
			want: []string{G1c}, verdict: check.Fail, consistent: "read-uncommitted", violates: "read-committed",
			explain: []string{"(wr)", "information flowed in a circle"},
		},
		{
			name: "G-single read skew",
			txs: []tx{
				ok("r 1 -; r 2 1"),
				ok("a 1 1; a 2 1"),
				ok("r 1 1"),
			},
			want: []string{GSingle}, verdict: check.Fail, consistent: "read-committed", violates: "repeatable-read, snapshot-isolation",
			explain: []string{"T1 (#0) read key 1 as [], missing 1, which T2 (#1) appended next (rw)",
				"T1 (#0) read key 2 as [1], seeing T2 (#1)'s append of 1 (wr)", "T1 → T2 → T1"},
		},
		{
			name: "G2-item write skew passes under snapshot isolation",
			txs: []tx{
				ok("r 1 -; r 2 -; a 1 1"),
				ok("r 1 -; r 2 -; a 2 2"),
				ok("r 1 1; r 2 2"),
			},
			expect: SnapshotIsolation,
			want:   []string{G2Item}, verdict: check.Pass, consistent: "snapshot-isolation", violates: "repeatable-read",
			explain: []string{"2 anti-dependencies (rw), two of them adjacent"},
		},
		{
			name: "G2-item write skew fails serializable",
			txs: []tx{
				ok("r 1 -; r 2 -; a 1 1"),
				ok("r 1 -; r 2 -; a 2 2"),
				ok("r 1 1; r 2 2"),
			},
			expect: Serializable,
			want:   []string{G2Item}, verdict: check.Fail, consistent: "snapshot-isolation", violates: "repeatable-read",
		},
		{
			name: "G-nonadjacent",
			txs: []tx{
				ok("r 1 -; r 4 1"),
				ok("a 1 1; a 2 1"),
				ok("r 2 1; r 3 -"),
				ok("a 3 1; a 4 1"),
				ok("r 1 1; r 3 1"),
			},
			want: []string{GNonadjacent}, verdict: check.Fail, consistent: "read-committed", violates: "repeatable-read, snapshot-isolation",
			explain: []string{"2 anti-dependencies (rw), no two adjacent"},
		},
		{
			name: "lost update",
			txs: []tx{
				ok("r 1 -; a 1 1"),
				ok("r 1 -; a 1 2"),
				ok("r 1 1,2"),
			},
			want: []string{GSingle, LostUpdate}, verdict: check.Fail, consistent: "read-committed", violates: "repeatable-read, snapshot-isolation",
			explain: []string{"#0 and #1 both read key 1 as [], then appended to it"},
		},
		{
			name: "incompatible order",
			txs: []tx{
				ok("a 1 1"),
				ok("a 1 2"),
				ok("r 1 1,2"),
				ok("r 1 2,1"),
			},
			want: []string{IncompatibleOrder}, verdict: check.Fail, consistent: "read-uncommitted", violates: "read-committed",
			explain: []string{"#3 read key 1 as [2 1], but #2 read it as [1 2]"},
		},
		{
			name:    "duplicate elements",
			txs:     []tx{ok("a 1 1"), ok("r 1 1,1")},
			want:    []string{DuplicateElements},
			verdict: check.Fail, consistent: "none", violates: "read-uncommitted",
		},
		{
			name:    "garbage read",
			txs:     []tx{ok("a 1 1"), ok("r 1 1,9")},
			want:    []string{GarbageRead},
			verdict: check.Fail, consistent: "none", violates: "read-uncommitted",
			explain: []string{"includes 9, a value no transaction appended"},
		},
		{
			name:    "internal inconsistency",
			txs:     []tx{ok("a 1 1; r 1 -")},
			want:    []string{Internal},
			verdict: check.Fail, consistent: "repeatable-read", violates: "snapshot-isolation",
			explain: []string{"its own earlier operations on that key imply [… 1]"},
		},
		{
			name:    "internal inconsistency with a known base",
			txs:     []tx{ok("a 1 1"), ok("r 1 1; a 1 2; r 1 1,2,2")},
			want:    []string{Internal, DuplicateElements},
			verdict: check.Fail, consistent: "none", violates: "read-uncommitted",
		},
		{
			name:    "future read",
			txs:     []tx{ok("r 1 1; a 1 1")},
			want:    []string{FutureRead},
			verdict: check.Fail, consistent: "read-uncommitted", violates: "read-committed",
		},
		{
			name: "dirty update",
			txs: []tx{
				fail("a 1 1"),
				ok("a 1 2"),
				ok("r 1 1,2"),
			},
			want: []string{DirtyUpdate, G1a}, verdict: check.Fail, consistent: "read-uncommitted", violates: "read-committed",
			explain: []string{"a committed write built on aborted state"},
		},
		{
			name: "stale read is G-single-realtime",
			txs: []tx{
				ok("a 1 1").at(0, 1),
				ok("r 1 -").at(2, 3),
				ok("r 1 1").at(4, 5),
			},
			want: []string{GSingle + RealtimeSuffix}, verdict: check.Fail, consistent: "serializable", violates: "strict-serializable",
			explain: []string{"T2 (#1) read key 1 as [], missing 1, which T1 (#0) appended next (rw)",
				"T1 (#0) completed at 0.001s, before T2 (#1) was invoked at 0.002s (realtime)"},
		},
		{
			name: "stale read passes serializable",
			txs: []tx{
				ok("a 1 1").at(0, 1),
				ok("r 1 -").at(2, 3),
				ok("r 1 1").at(4, 5),
			},
			expect: Serializable,
			want:   []string{GSingle + RealtimeSuffix}, verdict: check.Pass, consistent: "serializable", violates: "strict-serializable",
		},
		{
			name: "stale read in one process is G-single-process",
			txs: []tx{
				ok("a 1 1").at(0, 1).on(7),
				ok("r 1 -").at(2, 3).on(7),
				ok("r 1 1").at(4, 5),
			},
			want: []string{GSingle + ProcessSuffix}, verdict: check.Fail, consistent: "serializable", violates: "strict-serializable",
			explain: []string{"the next operation of process 7 (process)"},
		},
		{
			name: "write order against real time is G0-realtime",
			txs: []tx{
				ok("a 1 1").at(0, 1),
				ok("a 1 2").at(2, 3),
				ok("r 1 2,1").at(4, 5),
			},
			want: []string{G0 + RealtimeSuffix}, verdict: check.Fail, consistent: "serializable", violates: "strict-serializable",
		},
		{
			name: "an info append may have committed",
			txs: []tx{
				info("a 1 1"),
				ok("r 1 1"),
			},
			verdict: check.Pass, consistent: "strict-serializable",
		},
		{
			name: "an unseen info append may commit later",
			txs: []tx{
				info("a 1 1").at(0, 1),
				ok("r 1 -").at(2, 3),
			},
			verdict: check.Pass, consistent: "strict-serializable",
		},
		{
			name: "an info read proves nothing",
			txs: []tx{
				ok("a 1 1").at(0, 1),
				info("r 1 -").at(2, 3),
			},
			verdict: check.Pass, consistent: "strict-serializable",
		},
		{
			name: "failed transactions are left out",
			txs: []tx{
				ok("a 1 1"),
				fail("r 1 -; a 1 2"),
				ok("r 1 1"),
			},
			verdict: check.Pass, consistent: "strict-serializable",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := history(t, tt.txs...)
			res := Checker{Expect: tt.expect}.Check(context.Background(), h)
			var got []string
			for _, a := range res.Anomalies {
				if !slices.Contains(got, a.Kind) {
					got = append(got, a.Kind)
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("anomalies %v, want %v\n%s", got, want, dump(res))
			}
			if res.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s: %s", res.Verdict, tt.verdict, res.Summary)
			}
			if c := res.Facts["consistent_with"]; c != tt.consistent {
				t.Errorf("consistent_with %q, want %q", c, tt.consistent)
			}
			if v := res.Facts["violates"]; v != tt.violates {
				t.Errorf("violates %q, want %q", v, tt.violates)
			}
			all := dump(res)
			for _, e := range tt.explain {
				if !strings.Contains(all, e) {
					t.Errorf("no explanation says %q:\n%s", e, all)
				}
			}
		})
	}
}

func dump(res check.Result) string {
	var b strings.Builder
	b.WriteString(res.Summary + "\n")
	for _, a := range res.Anomalies {
		b.WriteString("  " + a.Kind + ": " + a.Explanation + "\n")
	}
	return b.String()
}

func TestCheckUnusable(t *testing.T) {
	tests := []struct {
		name string
		h    *workload.History
		want string
	}{
		{name: "empty", h: &workload.History{}, want: "no committed transaction"},
		{name: "only failures", h: history(t, fail("a 1 1")), want: "no committed transaction"},
		{name: "value appended twice", h: history(t, ok("a 1 1"), ok("a 1 1")), want: "value 1 appended to key 1 again (first by #0)"},
		{name: "unknown micro-op", h: history(t, ok("x 1 1")), want: `micro-op "w"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Checker{}.Check(context.Background(), tt.h)
			if res.Verdict != check.Unknown {
				t.Errorf("verdict %s, want unknown", res.Verdict)
			}
			if !strings.Contains(res.Summary, tt.want) {
				t.Errorf("summary %q, want it to say %q", res.Summary, tt.want)
			}
		})
	}
}

func TestExpectLevel(t *testing.T) {
	skew := []tx{
		ok("r 1 -; r 2 -; a 1 1"),
		ok("r 1 -; r 2 -; a 2 2"),
		ok("r 1 1; r 2 2"),
	}
	tests := []struct {
		name    string
		checker Checker
		option  string
		verdict check.Verdict
		summary string
	}{
		{name: "default is strict serializable", verdict: check.Fail},
		{name: "from the history's options", option: "REPEATABLE READ", verdict: check.Fail},
		{name: "snapshot from options", option: "snapshot isolation", verdict: check.Pass},
		{name: "checker wins over options", checker: Checker{Expect: SnapshotIsolation}, option: "serializable", verdict: check.Pass},
		{name: "bad option", option: "eventual", verdict: check.Unknown, summary: `unknown isolation level "eventual"`},
		{name: "bad field", checker: Checker{Expect: "linearizable"}, verdict: check.Unknown, summary: "expect: unknown isolation level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := history(t, skew...)
			if tt.option != "" {
				h.Meta.Options = map[string]string{OptionIsolation: tt.option}
			}
			res := tt.checker.Check(context.Background(), h)
			if res.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s: %s", res.Verdict, tt.verdict, res.Summary)
			}
			if !strings.Contains(res.Summary, tt.summary) {
				t.Errorf("summary %q, want %q", res.Summary, tt.summary)
			}
		})
	}
}

func TestCancelledIsUnknown(t *testing.T) {
	h := history(t, ok("r 1 -; r 2 -; a 1 1"), ok("r 1 -; r 2 -; a 2 2"), ok("r 1 1; r 2 2"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := Checker{Expect: SnapshotIsolation}.Check(ctx, h)
	if res.Verdict != check.Unknown || res.Facts["consistent_with"] != "unknown" {
		t.Errorf("cancelled check: verdict %s, consistent_with %q; want unknown, unknown", res.Verdict, res.Facts["consistent_with"])
	}
	// A forbidden anomaly found before the search is still a failure.
	h = history(t, fail("a 1 1"), ok("r 1 1"))
	if res := (Checker{}).Check(ctx, h); res.Verdict != check.Fail {
		t.Errorf("cancelled check with G1a: verdict %s, want fail", res.Verdict)
	}
}

func TestMaxAnomalies(t *testing.T) {
	var txs []tx
	txs = append(txs, fail("a 1 1"))
	for i := 0; i < 30; i++ {
		txs = append(txs, ok("r 1 1"))
	}
	res := Checker{MaxAnomalies: 3}.Check(context.Background(), history(t, txs...))
	if len(res.Anomalies) != 3 || res.Metrics["anomalies_g1a"] != 30 || res.Metrics["anomalies"] != 30 {
		t.Errorf("kept %d anomalies, counted %v G1a; want 3 kept of 30", len(res.Anomalies), res.Metrics["anomalies_g1a"])
	}
}
