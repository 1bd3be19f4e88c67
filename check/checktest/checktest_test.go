package checktest_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/faultline-dev/faultline/check/checktest"
	"github.com/faultline-dev/faultline/workload"
)

// The same seed gives the same history, and that history is one the
// history file format can carry.
func TestGenerate(t *testing.T) {
	gen := func() *workload.History {
		return checktest.Generate(rand.New(rand.NewPCG(1, 2)), checktest.Standard())
	}
	a, b := gen(), gen()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatal("the same seed gave two histories")
	}
	if len(a.Ops) < 5000 || len(a.Faults) != 2 || len(a.Samples) == 0 || len(a.Events) != 3 {
		t.Fatalf("ops %d faults %d samples %d events %d", len(a.Ops), len(a.Faults), len(a.Samples), len(a.Events))
	}
	for i, o := range a.Ops {
		if o.Index != int64(i) || o.Return < o.Call || !o.Type.Valid() || o.Type == workload.Invoke {
			t.Fatalf("op %d malformed: %s", i, o)
		}
	}
	var buf bytes.Buffer
	if err := workload.Write(&buf, a); err != nil {
		t.Fatal(err)
	}
	back, err := workload.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Ops) != len(a.Ops) || len(back.Faults) != len(a.Faults) {
		t.Errorf("read back %d ops %d faults, want %d and %d", len(back.Ops), len(back.Faults), len(a.Ops), len(a.Faults))
	}
}
