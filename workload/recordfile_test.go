package workload

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// randomOp is an op with every field the encoder writes, some empty.
func randomOp(r *rand.Rand) Op {
	strs := []string{"", "k3", `quo"te\back`, "tab\tnew\nline\r\x00\x1f", "<html>&", "naïve ☃", "bad \xff\xfe utf8", "\u2028"}
	s := func() string { return strs[r.IntN(len(strs))] }
	op := Op{
		Index: r.Int64N(1 << 40), Process: r.IntN(1 << 20), Type: []Type{Invoke, OK, Fail, Info}[r.IntN(4)],
		F: []string{FRead, FWrite, FCAS, FTxn, FTransfer, FBalances, FLedgerRead}[r.IntN(7)], Key: s(),
		Call: time.Duration(r.Int64N(1 << 50)), Return: time.Duration(r.Int64N(2)) * time.Duration(r.Int64N(1<<50)),
		Intended: time.Duration(r.Int64N(2)) * time.Duration(r.Int64N(1<<50)),
		Node:     s(), Error: s(), Final: r.IntN(2) == 0,
	}
	if r.IntN(2) == 0 {
		op.Value = Int(r.Int64() - r.Int64())
	}
	if r.IntN(2) == 0 {
		op.Prev = Int(-r.Int64N(100))
	}
	for i := r.IntN(4); i > 0; i-- {
		m := Mop{F: []string{MAppend, MRead}[r.IntN(2)], Key: r.Int64N(10), Value: r.Int64N(3)}
		for j := r.IntN(3); j > 0; j-- {
			m.List = append(m.List, r.Int64N(1000))
		}
		op.Txn = append(op.Txn, m)
	}
	if r.IntN(3) == 0 {
		op.Transfer = &Transfer{From: s(), To: s(), Amount: r.Int64N(100)}
	}
	if r.IntN(3) == 0 {
		op.Balances = map[string]int64{"1": 5, s(): r.Int64N(9)}
	}
	for i := r.IntN(3); i > 0; i-- {
		op.Keys = append(op.Keys, s())
	}
	return op
}

// TestAppendOpLineDecodesAsJSON holds the hand-written encoder to
// encoding/json: both lines decode to the same op.
func TestAppendOpLineDecodesAsJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		op := randomOp(r)
		want, err := json.Marshal(line{Op: &op})
		if err != nil {
			t.Fatal(err)
		}
		got := appendOpLine(nil, &op)
		if !bytes.HasSuffix(got, []byte("\n")) || bytes.Count(got, []byte("\n")) != 1 {
			t.Fatalf("line %q is not one line", got)
		}
		var a, b line
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("hand-written line %s: %v", got, err)
		}
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("op %d decodes differently:\nhand %s\njson %s", i, got, want)
		}
	}
}

// TestCreateRecorder records to a file, plain and compressed, and reads
// it back whole, after Close and, as after a crash, before it.
func TestCreateRecorder(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "gzip"}[compress], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), HistoryFile)
			rec, err := CreateRecorder(path, NewClock(), Meta{Scenario: "s"}, FileOptions{Compress: compress})
			if err != nil {
				t.Fatal(err)
			}
			rec.SetNodes([]NodeInfo{{Name: "n1"}})
			var wg sync.WaitGroup
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 500; i++ {
						op := rec.Invoke(Op{Process: w, F: FWrite, Key: "k", Value: Int(int64(i)), Intended: 1})
						op.Type = OK
						rec.Complete(op)
					}
				}()
			}
			wg.Wait()
			f := rec.FaultStart(FaultWindow{ID: 1, Kind: "kill"})
			rec.Invoke(Op{F: FRead, Key: "k"}) // in flight at the "crash"
			rec.Flush()

			// A copy taken now is what a crash would leave.
			crashed := filepath.Join(t.TempDir(), "crashed")
			copyFile(t, path, crashed)
			h, err := ReadFile(crashed)
			if err != nil {
				t.Fatalf("reading the file as a crash left it: %v", err)
			}
			if len(h.Ops) != 2001 || len(h.Faults) != 1 || !h.Faults[0].Open || h.Ops[2000].Type != Info {
				t.Errorf("crashed file: %d ops, faults %+v", len(h.Ops), h.Faults)
			}

			rec.FaultEnd(f.ID, "SIGKILL", nil)
			mem := rec.History()
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}
			h, err = ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Ops) != 2001 || len(mem.Ops) != 2001 || h.Meta.Scenario != "s" || len(h.Meta.Nodes) != 1 {
				t.Fatalf("history: %d ops (History said %d), meta %+v", len(h.Ops), len(mem.Ops), h.Meta)
			}
			seen := map[int64]bool{}
			for i, o := range h.Ops {
				if seen[o.Index] {
					t.Fatalf("index %d twice", o.Index)
				}
				seen[o.Index] = true
				if i > 0 && o.Call < h.Ops[i-1].Call {
					t.Fatalf("calls out of order at %d", i)
				}
				if i < 2000 && (o.Type != OK || o.Intended != 1 || o.Return < o.Call) {
					t.Fatalf("op %v", o)
				}
			}
			if h.Faults[0].End == 0 || h.Faults[0].Open {
				t.Errorf("fault %+v not closed", h.Faults[0])
			}
			head := make([]byte, 2)
			fh, _ := os.Open(path)
			io.ReadFull(fh, head)
			fh.Close()
			if gz := head[0] == 0x1f && head[1] == 0x8b; gz != compress {
				t.Errorf("compressed = %v, want %v", gz, compress)
			}
		})
	}
}

// TestRecorderFlushesOnItsOwn: a record reaches the file without Flush,
// within the flush interval (polled generously: this is not a timing
// test).
func TestRecorderFlushesOnItsOwn(t *testing.T) {
	path := filepath.Join(t.TempDir(), HistoryFile)
	rec, err := CreateRecorder(path, NewClock(), Meta{}, FileOptions{FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	op := rec.Invoke(Op{F: FRead, Key: "k"})
	op.Type = OK
	rec.Complete(op)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		b, _ := os.ReadFile(path)
		if strings.Count(string(b), `"op"`) == 2 {
			return
		}
	}
	t.Error("the op never reached the file without a Flush")
}

func TestFindHistory(t *testing.T) {
	dir := t.TempDir()
	if _, err := FindHistory(dir); err == nil {
		t.Error("FindHistory of an empty directory succeeded")
	}
	gz := filepath.Join(dir, CompressedHistoryFile)
	os.WriteFile(gz, nil, 0o644)
	if p, err := FindHistory(dir); err != nil || p != gz {
		t.Errorf("FindHistory = %q, %v; want %s", p, err, gz)
	}
	plain := filepath.Join(dir, HistoryFile)
	os.WriteFile(plain, nil, 0o644)
	if p, err := FindHistory(dir); err != nil || p != plain {
		t.Errorf("FindHistory = %q, %v; want %s", p, err, plain)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkRecorder is the recorder's cost per operation (an invocation
// and a completion) from parallel workers, to a file.
func BenchmarkRecorder(b *testing.B) {
	for _, compress := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "gzip"}[compress], func(b *testing.B) {
			rec, err := CreateRecorder(filepath.Join(b.TempDir(), HistoryFile), NewClock(), Meta{}, FileOptions{Compress: compress})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					op := rec.Invoke(Op{Process: 3, F: FWrite, Key: "r7", Value: Int(123456)})
					op.Type, op.Node = OK, "n1"
					rec.Complete(op)
				}
			})
			if err := rec.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
