package scenarios

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/internal/testenv"
)

// validated parses and validates data as `run` does before it writes the
// scenario into the run directory.
func validated(t *testing.T, env Env, data []byte) *Scenario {
	t.Helper()
	s, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := s.Validate(env); err != nil {
		if strings.Contains(err.Error(), "is not installed") {
			testenv.Missing(t, s.Engine.Name, "%v", err)
		}
		t.Fatalf("Validate: %v", err)
	}
	return s
}

// TestMarshalRoundTrip is the property `faultline check RUN_DIR` rests on:
// for every built-in and valid test scenario, decode → validate → write →
// decode → validate gives an equal scenario, and writing it again gives
// the same bytes.
func TestMarshalRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid-*.yaml")
	builtin, _ := filepath.Glob("*.yaml")
	files = append(files, builtin...)
	env := testEnv()
	env.Platforms[0] = testPlatform{name: "local"}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			s, err := Load(f)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if err := s.Validate(env); err != nil {
				if strings.Contains(err.Error(), "is not installed") {
					testenv.Missing(t, s.Engine.Name, "%v", err)
				}
				t.Fatalf("Validate: %v", err)
			}
			written, err := s.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			back := validated(t, env, written)
			s.lines, back.lines = nil, nil
			if !reflect.DeepEqual(s, back) {
				t.Errorf("round trip changed the scenario:\nbefore %+v\nafter  %+v\nwritten:\n%s", *s, *back, written)
			}
			again, err := back.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(written) {
				t.Errorf("writing twice differs:\n%s\n---\n%s", written, again)
			}
		})
	}
}

// TestMarshalValues covers what the built-in scenarios may not: every kind
// of field, zero values inside lists and maps, and checks set but empty.
func TestMarshalValues(t *testing.T) {
	no := false
	s := &Scenario{
		Name: "values", Seed: 7, Platform: "local",
		Topology: Topology{Regions: []Region{{Name: "r1", Zones: []Zone{{Name: "a", Nodes: 2}, {Name: "b"}}}}},
		Engine:   Engine{Name: "etcd", Options: map[string]string{"election-timeout": "1000", "empty": ""}},
		Workload: Workload{Kind: "register", Rate: 12.5, Duration: 90 * time.Second, Steps: []float64{0, 100},
			Mix: &Mix{Read: 1}},
		Faults: []Fault{{Kind: "bandwidth", At: 1500 * time.Millisecond, Duration: time.Minute,
			Target: faults.Selector{Kind: faults.SelZone, Names: []string{"a"}}, Rate: 10_000_000, OneWay: true}},
		Checks: Checks{Bank: &Toggle{}, Append: &AppendCheck{Enabled: &no}},
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse of what Marshal wrote: %v\n%s", err, b)
	}
	back.lines = nil
	if !reflect.DeepEqual(s, back) {
		t.Errorf("round trip:\nwant %+v\ngot  %+v\n%s", *s, *back, b)
	}
	for _, want := range []string{"at: 1.5s", "rate: 10mbit", "target: zone:a", "bank: {}", "duration: 1m30s"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("written scenario lacks %q:\n%s", want, b)
		}
	}
	for _, absent := range []string{"peers", "jitter", "bridge"} {
		if strings.Contains(string(b), absent) {
			t.Errorf("written scenario has the unset field %q:\n%s", absent, b)
		}
	}
}
