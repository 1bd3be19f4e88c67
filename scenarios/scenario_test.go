package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/existing"
	"github.com/faultline-dev/faultline/platform/kind"
	"github.com/faultline-dev/faultline/platform/local"
)

// testPlatform is a platform for validation tests: it never creates
// anything and refuses the fault kinds it is told to.
type testPlatform struct {
	name   string
	refuse []string
}

func (p testPlatform) Name() string { return p.name }

func (p testPlatform) Create(context.Context, platform.Topology) (platform.Cluster, error) {
	return nil, errors.New("test platform creates nothing")
}

// Capabilities are those of the real platform of the same name.
func (p testPlatform) Capabilities() platform.Capabilities {
	switch p.name {
	case "local":
		return local.New(local.Options{}).Capabilities()
	case "kind":
		return kind.New(kind.Options{}).Capabilities()
	}
	return existing.New(existing.Options{}).Capabilities()
}

func (p testPlatform) CanInject(kind string) error {
	if slices.Contains(p.refuse, kind) {
		return fmt.Errorf("%s on platform %s is not possible here (test platform)", kind, p.name)
	}
	return nil
}

// testEnv is the default Env with platforms whose abilities do not depend
// on the machine the tests run on.
func testEnv() Env {
	env := DefaultEnv(EnvOptions{})
	env.Platforms = []platform.Platform{
		testPlatform{name: "local", refuse: []string{faults.KindPartition, faults.KindLatency, faults.KindLoss, faults.KindBandwidth}},
		testPlatform{name: "kind"},
		testPlatform{name: "existing"},
	}
	return env
}

func TestValidScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid-*.yaml")
	builtin, _ := filepath.Glob("*.yaml")
	files = append(files, builtin...)
	if len(files) < 4 {
		t.Fatalf("found only %v", files)
	}
	env := testEnv()
	env.Platforms[0] = testPlatform{name: "local"} // the negative control partitions
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
		})
	}
}

// Each invalid file lists the problems it must produce in "# want:"
// comments, exactly and in order.
func TestInvalidScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid-*.yaml")
	if len(files) == 0 {
		t.Fatal("no invalid scenarios")
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				if w, ok := strings.CutPrefix(sc.Text(), "# want: "); ok {
					want = append(want, w)
				}
			}
			s, err := Parse(data)
			if err == nil {
				err = s.Validate(testEnv())
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error = %v, want Errors", err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Error())
			}
			if !slices.Equal(got, want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	s, err := Load("testdata/valid-minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(testEnv()); err != nil {
		t.Fatal(err)
	}
	w := s.Workload
	if s.Seed != DefaultSeed || s.Platform != DefaultPlatform || w.Kind != DefaultWorkload ||
		w.Concurrency != DefaultConcurrency || w.Keys != DefaultKeys || w.Duration != DefaultDuration ||
		w.Timeout != DefaultTimeout || s.Topology.Regions[0].Zones[0].Nodes != 1 || s.Cost.Cloud != "aws" {
		t.Errorf("defaults not applied: %+v", s)
	}
	names := func(cs []string) []string { return cs }
	var got []string
	for _, c := range Checkers(s) {
		got = append(got, c.Name())
	}
	if want := names([]string{"linearizable", "rpo", "rto", "stats", "budget"}); !slices.Equal(got, want) {
		t.Errorf("checkers = %v, want %v", got, want)
	}
}

func TestParseRejectsTwoDocuments(t *testing.T) {
	_, err := Parse([]byte("name: a\n---\nname: b\n"))
	if err == nil || !strings.Contains(err.Error(), "more than one YAML document") {
		t.Errorf("err = %v", err)
	}
}

func TestResolveBuiltin(t *testing.T) {
	s, err := Resolve("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "quickstart" || len(s.Faults) != 2 {
		t.Errorf("quickstart = %+v", s)
	}
	if _, err := Resolve("no-such-scenario"); err == nil || !strings.Contains(err.Error(), "built-in: ") {
		t.Errorf("err = %v, want the list of built-in scenarios", err)
	}
}

// The quickstart is what the issue asks for: five etcd members over zones
// of two, two and one, a minute of load, a leader kill at 15 s and the
// outage of a two-member zone at 35 s lasting 10 s.
func TestQuickstartShape(t *testing.T) {
	s, err := Load("quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var zones []int
	for _, z := range s.Topology.Regions[0].Zones {
		zones = append(zones, z.Nodes)
	}
	f0, f1 := s.Faults[0], s.Faults[1]
	if s.Engine.Name != "etcd" || !slices.Equal(zones, []int{2, 2, 1}) || s.Workload.Duration.Seconds() != 60 ||
		f0.Kind != "kill" || f0.Target.String() != "leader" || f0.At.Seconds() != 15 ||
		f1.Kind != "zone-outage" || f1.Target.String() != "zone:a" || f1.At.Seconds() != 35 || f1.Duration.Seconds() != 10 {
		t.Errorf("quickstart drifted from its definition: %+v", s)
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"quickstart.yaml", "negative-control.yaml", "testdata/valid-three-regions.yaml", "testdata/invalid-types.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("name: [\n"))
	f.Add([]byte("faults: [{target: 'nodes:'}]"))
	env := testEnv()
	f.Add([]byte(strings.Repeat("OXOhpJ8", 2000)))
	f.Add([]byte("name: " + strings.Repeat("x", 5000) + "\nworkload: {duration: " + strings.Repeat("9", 5000) + "}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("Parse error %v is not a non-empty Errors", err)
			}
			checkErrorSize(t, err)
			return
		}
		if err := s.Validate(env); err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("Validate error %v is not a non-empty Errors", err)
			}
			checkErrorSize(t, err)
		}
	})
}

// An append check with no level of its own holds the engine to what its
// clients really provide for the isolation they ask for, not to the SQL
// name: PostgreSQL's repeatable read is snapshot isolation, InnoDB's is
// no better than read committed.
func TestClaimedIsolation(t *testing.T) {
	tests := []struct {
		engine, isolation, check, want string
	}{
		{"postgres", "repeatable-read", "", "snapshot-isolation"},
		{"postgres", "serializable", "", "serializable"},
		{"mariadb", "repeatable-read", "", "read-committed"},
		{"postgres", "repeatable-read", "serializable", "serializable"}, // the scenario's own level wins
	}
	for _, tt := range tests {
		t.Run(tt.engine+"/"+tt.isolation, func(t *testing.T) {
			doc := fmt.Sprintf(`
name: claimed
topology:
  regions: [{name: r, zones: [{name: a}]}]
engine: {name: %s}
workload:
  kind: append
  options: {isolation: %s}
`, tt.engine, tt.isolation)
			if tt.check != "" {
				doc += "checks: {append: {isolation: " + tt.check + "}}\n"
			}
			s, err := Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(testEnv()); err != nil {
				if strings.Contains(err.Error(), "is not installed") {
					testenv.Missing(t, tt.engine, "%v", err)
				}
				t.Fatalf("Validate: %v", err)
			}
			if got := expectedIsolation(s); string(got) != tt.want {
				t.Errorf("held to %s, want %s", got, tt.want)
			}
		})
	}
}

// maxErrorBytes is the longest error message a person should have to
// read, whatever the input.
const maxErrorBytes = 8 << 10

// checkErrorSize fails t when err's message is longer than maxErrorBytes
// or any of its lines longer than 600 bytes.
func checkErrorSize(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if len(msg) > maxErrorBytes {
		t.Fatalf("error message of %d bytes (at most %d): %.300s…", len(msg), maxErrorBytes, msg)
	}
	for _, l := range strings.Split(msg, "\n") {
		if len(l) > 600 {
			t.Fatalf("error line of %d bytes: %.300s…", len(l), l)
		}
	}
}

// A scenario of megabytes of junk gives a short error that names where.
func TestHugeBadInputGivesAShortError(t *testing.T) {
	junk := strings.Repeat("OXOhpJ8+b64/", 350_000) // ~4 MB
	for _, tt := range []struct{ name, doc, want string }{
		{"scalar document", junk, "line 1: the document root: want a mapping, got a scalar \"OXOhpJ8+b64/"},
		{"scalar field", "name: q\nworkload: {duration: " + junk + "}", "workload.duration: want a duration such as 30s or 1m30s, got \"OXOhpJ8"},
		{"unknown key", "name: q\n" + junk[:1000] + ": 1\n", "line 2: OXOhpJ8+b64/"},
		{"unknown selector", "name: q\nfaults: [{kind: kill, at: 1s, duration: 1s, target: " + junk + "}]", "faults[0].target: unknown selector \"OXOhpJ8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatal("Parse accepted junk")
			}
			checkErrorSize(t, err)
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "bytes)") {
				t.Errorf("error %q does not contain %q and the value's length", err, tt.want)
			}
		})
	}
	many := "name: q\n"
	for i := range 500 {
		many += fmt.Sprintf("bogus%d: 1\n", i)
	}
	_, err := Parse([]byte(many))
	checkErrorSize(t, err)
	if !strings.Contains(err.Error(), "500 problem(s)") || !strings.Contains(err.Error(), "and 460 more") {
		t.Errorf("error for 500 unknown fields: %.400s", err)
	}
}
