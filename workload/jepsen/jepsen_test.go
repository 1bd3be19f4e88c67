package jepsen

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/check/elle"
	"github.com/faultline-dev/faultline/workload"
)

func readTestdata(t *testing.T, name string, model string) *workload.History {
	t.Helper()
	format := EDN
	if strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".jsonl") {
		format = ElleJSON
	}
	h, err := ReadFile(filepath.Join("testdata", name), format, model)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestReadRegister(t *testing.T) {
	h := readTestdata(t, "register.edn", ModelCASRegister)
	if h.Meta.Model != ModelCASRegister || h.Meta.Workload != "register" {
		t.Errorf("meta %+v", h.Meta)
	}
	want := []string{
		"#0 p0 ok write 0 3 [1ms, 2ms]",
		"#1 p1 ok read 0 3 [1.2ms, 2.5ms]",
		"#4 p2 ok cas 0 3→4 [3ms, 4ms]",
		"#5 p0 fail cas 0 1→2 [3.1ms, 4.1ms]",
		"#8 p1 info write 0 5 [5ms, 9ms] timeout",
		"#10 p0 ok read 0 5 [9.5ms, 9.6ms]",
	}
	checkOps(t, h, want)
}

func TestReadIndependent(t *testing.T) {
	h := readTestdata(t, "independent.edn", ModelRegister)
	want := []string{
		"#0 p0 ok write 7 1 [10µs, 20µs]",
		"#4 p1 ok read 7 1 [30µs, 40µs]",
		"#6 p0 fail cas 8 nil→2 [50µs, 60µs] precondition",
		"#8 p1 info read 8 nil [70µs, 70µs] no completion recorded",
	}
	checkOps(t, h, want)
}

func TestReadBank(t *testing.T) {
	h := readTestdata(t, "bank.edn", ModelBank)
	want := []string{
		`#0 p0 ok balances {"0":10,"1":10,"2":10} [1ms, 1.5ms]`,
		"#1 p1 ok transfer 5 0→2 [1.1ms, 2ms]",
		"#4 p1 fail transfer 12 1→0 [2.1ms, 2.2ms] [negative 1 -2]",
		`#6 p0 ok balances {"0":5,"1":10,"2":10} [3ms, 3.1ms]`,
	}
	checkOps(t, h, want)
	// Jepsen's bank history above loses 5: the bank checker says so.
	res := check.Bank{Total: 30, Accounts: []string{"0", "1", "2"}}.Check(context.Background(), h)
	if res.Verdict != check.Fail || !strings.Contains(res.Summary, "totals 25..30") {
		t.Errorf("bank check: %s %s", res.Verdict, res.Summary)
	}
}

func TestReadListAppend(t *testing.T) {
	tests := []struct {
		file    string
		want    []string
		anomaly string
	}{
		{
			file: "append-g-single.edn",
			want: []string{
				`#0 p0 ok txn [{"f":"append","key":1,"value":1},{"f":"append","key":2,"value":1}] [1ms, 2ms]`,
				`#1 p1 ok txn [{"f":"r","key":1},{"f":"r","key":2,"list":[1]}] [1.1ms, 2.1ms]`,
				`#4 p0 ok txn [{"f":"r","key":1,"list":[1]},{"f":"append","key":3,"value":1}] [3ms, 3.1ms]`,
				`#6 p2 info txn [{"f":"append","key":3,"value":2}] [3.2ms, 9ms] timeout`,
			},
			anomaly: elle.GSingle,
		},
		{
			file: "append-no-process.edn",
			want: []string{
				`#0 p0 ok txn [{"f":"append","key":10,"value":1},{"f":"append","key":11,"value":1}] [0s, 1µs]`,
				`#2 p0 ok txn [{"f":"append","key":10,"value":2},{"f":"r","key":11,"list":[1]}] [2µs, 3µs]`,
				`#4 p0 ok txn [{"f":"r","key":10,"list":[1,2]}] [4µs, 5µs]`,
			},
		},
		{
			file: "append.json",
			want: []string{
				`#0 p0 ok txn [{"f":"append","key":1,"value":1},{"f":"r","key":2,"list":[1]}] [100µs, 200µs]`,
				`#1 p1 ok txn [{"f":"append","key":2,"value":1},{"f":"r","key":1,"list":[1]}] [110µs, 210µs]`,
			},
			anomaly: elle.G1c,
		},
		{
			file: "append.jsonl",
			want: []string{
				`#0 p3 ok txn [{"f":"append","key":5,"value":1}] [10µs, 20µs]`,
				`#2 p3 ok txn [{"f":"r","key":5,"list":[1]}] [30µs, 40µs]`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			h := readTestdata(t, tt.file, ModelListAppend)
			checkOps(t, h, tt.want)
			res := elle.Checker{}.Check(context.Background(), h)
			got := res.Facts["anomaly_types"]
			if got != tt.anomaly {
				t.Errorf("anomalies %q, want %q: %s", got, tt.anomaly, res.Summary)
			}
		})
	}
}

func checkOps(t *testing.T, h *workload.History, want []string) {
	t.Helper()
	if len(h.Ops) != len(want) {
		t.Errorf("%d ops, want %d", len(h.Ops), len(want))
	}
	for i := range min(len(h.Ops), len(want)) {
		if got := h.Ops[i].String(); got != want[i] {
			t.Errorf("op %d:\n got %s\nwant %s", i, got, want[i])
		}
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, in string
		format   Format
		model    string
		want     string
	}{
		{name: "bad model", in: "", format: EDN, model: "queue", want: `unknown model "queue"`},
		{name: "bad format", in: "", format: "yaml", model: ModelBank, want: `unknown history format "yaml"`},
		{name: "not a map", in: "[1 2]", format: EDN, model: ModelBank, want: "op 0: want a map, got 1"},
		{name: "bad type", in: "{:type :maybe, :f :read}", format: EDN, model: ModelBank, want: ":type maybe"},
		{name: "double invoke", in: "{:type :invoke, :f :read, :process 1}\n{:type :invoke, :f :read, :process 1}", format: EDN, model: ModelBank,
			want: "process 1 invoked again"},
		{name: "time runs backwards", in: "{:type :invoke, :f :write, :value 1, :process 1, :time 9}\n{:type :ok, :f :write, :value 1, :process 1, :time 3}",
			format: EDN, model: ModelRegister, want: "completes at 3, before its invocation at 9"},
		{name: "register f", in: "{:type :ok, :f :add, :value 1}", format: EDN, model: ModelRegister, want: `:f "add" is not a register operation`},
		{name: "string value", in: `{:type :ok, :f :write, :value "x"}`, format: EDN, model: ModelRegister, want: "write value: x (string), want an integer"},
		{name: "bad transfer", in: "{:type :ok, :f :transfer, :value {:from 0}}", format: EDN, model: ModelBank, want: "want {:from :to :amount}"},
		{name: "bad mop", in: "{:type :ok, :f :txn, :value [[:w 1 2]]}", format: EDN, model: ModelListAppend, want: "function w (string), want :append or :r"},
		{name: "string key", in: `{:type :ok, :f :txn, :value [[:append "k" 2]]}`, format: EDN, model: ModelListAppend, want: "key k (string), want an integer"},
		{name: "truncated edn", in: "{:type :ok, :f :txn, :value [[:append 1", format: EDN, model: ModelListAppend, want: "edn value 0"},
		{name: "bad json", in: `{"type": "ok",`, format: ElleJSON, model: ModelListAppend, want: "json value 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tt.in), tt.format, tt.model)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Read error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Format{"jepsen-edn": EDN, "EDN": EDN, "elle-json": ElleJSON, "json": ElleJSON} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	for in, want := range map[string]string{"register": ModelRegister, "cas-register": ModelCASRegister, "bank": ModelBank, "list-append": ModelListAppend, "append": ModelListAppend} {
		if got, err := ParseModel(in); err != nil || got != want {
			t.Errorf("ParseModel(%q) = %q, %v", in, got, err)
		}
	}
}

// TestWriteEDNRoundTrip writes faultline histories as Jepsen EDN and
// reads them back.
func TestWriteEDNRoundTrip(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		model string
		ops   []workload.Op
	}{
		{
			name:  "list-append",
			model: ModelListAppend,
			ops: []workload.Op{
				{Process: 0, Type: workload.OK, F: workload.FTxn, Call: 1 * ms, Return: 3 * ms,
					Txn: []workload.Mop{{F: workload.MAppend, Key: 1, Value: 4}, {F: workload.MRead, Key: 1, List: []int64{4}}}},
				{Process: 1, Type: workload.Fail, F: workload.FTxn, Call: 2 * ms, Return: 4 * ms,
					Txn: []workload.Mop{{F: workload.MRead, Key: 2}}},
				{Process: 1, Type: workload.Info, F: workload.FTxn, Call: 5 * ms, Return: 9 * ms, Error: "timeout",
					Txn: []workload.Mop{{F: workload.MAppend, Key: 2, Value: 5}}},
			},
		},
		{
			name:  "registers",
			model: ModelCASRegister,
			ops: []workload.Op{
				{Process: 0, Type: workload.OK, F: workload.FWrite, Key: "k0", Value: workload.Int(3), Call: 1 * ms, Return: 2 * ms},
				{Process: 1, Type: workload.OK, F: workload.FRead, Key: "k1", Call: 1 * ms, Return: 2 * ms},
				{Process: 0, Type: workload.Fail, F: workload.FCAS, Key: "k1", Prev: workload.Int(1), Value: workload.Int(2), Call: 3 * ms, Return: 4 * ms},
			},
		},
		{
			name:  "bank",
			model: ModelBank,
			ops: []workload.Op{
				{Process: 0, Type: workload.OK, F: workload.FTransfer, Transfer: &workload.Transfer{From: "0", To: "1", Amount: 3}, Call: 1 * ms, Return: 2 * ms},
				{Process: 1, Type: workload.OK, F: workload.FBalances, Balances: map[string]int64{"0": 2, "1": 8}, Call: 1 * ms, Return: 3 * ms},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &workload.History{Ops: tt.ops}
			var buf bytes.Buffer
			if err := WriteEDN(&buf, h); err != nil {
				t.Fatal(err)
			}
			back, err := Read(&buf, EDN, tt.model)
			if err != nil {
				t.Fatalf("%v\n%s", err, buf.String())
			}
			if len(back.Ops) != len(h.Ops) {
				t.Fatalf("%d ops back, wrote %d:\n%s", len(back.Ops), len(h.Ops), buf.String())
			}
			for i := range h.Ops {
				want, got := h.Ops[i], back.Ops[i]
				want.Index, got.Index = 0, 0
				if want.String() != got.String() {
					t.Errorf("op %d:\n got %s\nwant %s", i, got, want)
				}
			}
		})
	}
}

func FuzzReadEDN(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.edn")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{:type :ok, :f :txn, :value [[:r 1 [1 2 #{3}]]], :process :nemesis}`))
	f.Add([]byte(`#jepsen.history.Op{:type :ok, :f :txn, :value [[:append 1 2]], :process 0, :time 5}`))
	f.Add([]byte(`{:type :ok, :f :` + strings.Repeat("x", 5000) + `, :value 1, :process 0}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, model := range []string{ModelRegister, ModelBank, ModelListAppend} {
			h, err := Read(bytes.NewReader(in), EDN, model)
			if err != nil {
				if n := len(err.Error()); n > 4<<10 {
					t.Fatalf("%s: error message of %d bytes: %.300s…", model, n, err)
				}
				continue
			}
			for i := range h.Ops {
				op := &h.Ops[i]
				if op.Return < op.Call {
					t.Fatalf("%s: op %s returns before its call", model, op)
				}
				if i > 0 && op.Call < h.Ops[i-1].Call {
					t.Fatalf("%s: ops not sorted by call", model)
				}
			}
			// Whatever parses must be checkable without a panic.
			if model == ModelListAppend {
				elle.Checker{}.Check(context.Background(), h)
			}
		}
	})
}
