package vitess

import (
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/platform"
)

func TestCellNames(t *testing.T) {
	for _, tc := range []struct {
		zones [][2]string
		want  string
	}{
		{[][2]string{{"r1", "a"}, {"r1", "b"}, {"r1", "c"}}, "a b c"},
		{[][2]string{{"eu", "eu-west-1a"}, {"eu", "eu-west-1b"}}, "eu_west_1a eu_west_1b"},
		{[][2]string{{"r1", "a"}, {"r2", "a"}}, "r1_a r2_a"},
		{[][2]string{{"r1", "-"}, {"r1", "_x_"}}, "cell x"},
		{[][2]string{{"r1", "a-"}, {"r1", "a_"}}, "a a_2"},
	} {
		got := strings.Join(CellNames(tc.zones), " ")
		if got != tc.want {
			t.Errorf("CellNames(%v) = %q, want %q", tc.zones, got, tc.want)
		}
		for _, n := range CellNames(tc.zones) {
			if !cellName.MatchString(n) {
				t.Errorf("%q is not a valid cell name", n)
			}
		}
	}
}

func TestShardNames(t *testing.T) {
	for n, want := range map[int]string{
		1: "0",
		2: "-80 80-",
		4: "-40 40-80 80-c0 c0-",
		3: "-55 55-aa aa-",
	} {
		if got := strings.Join(ShardNames(n), " "); got != want {
			t.Errorf("ShardNames(%d) = %q, want %q", n, got, want)
		}
	}
}

func topo(perZone ...int) []platform.Node {
	t := platform.Topology{Regions: []platform.Region{{Name: "r1"}}}
	for i, n := range perZone {
		t.Regions[0].Zones = append(t.Regions[0].Zones, platform.Zone{Name: string(rune('a' + i)), Nodes: n})
	}
	return t.Layout()
}

func TestPlan(t *testing.T) {
	p, err := newPlan(topo(1, 1, 1), 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tb := range p.Tablets {
		got = append(got, tb.Node.Name+"="+tb.Alias()+"/"+tb.Shard)
	}
	if want := "n1=a-0000000100/0 n2=b-0000000101/0 n3=c-0000000102/0"; strings.Join(got, " ") != want {
		t.Errorf("got %s, want %s", strings.Join(got, " "), want)
	}

	// Two shards on two nodes per zone: each shard in every zone.
	p, err = newPlan(topo(2, 2, 2), 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Shards {
		cells := map[string]bool{}
		for _, tb := range p.shardTablets(s) {
			cells[tb.Cell] = true
		}
		if len(p.shardTablets(s)) != 3 || len(cells) != 3 {
			t.Errorf("shard %s: %d tablets in cells %v, want 3 in 3", s, len(p.shardTablets(s)), cells)
		}
	}
	if err := p.check(DurabilityCrossCell); err != nil {
		t.Error(err)
	}

	if _, err := newPlan(topo(1, 1, 1), 2); err == nil || !strings.Contains(err.Error(), "cannot be divided evenly") {
		t.Errorf("3 nodes, 2 shards: %v", err)
	}
	p, _ = newPlan(topo(1, 1), 2)
	if err := p.check(DurabilitySemiSync); err == nil || !strings.Contains(err.Error(), "at least 2 tablets per shard") {
		t.Errorf("one tablet per shard under semi_sync: %v", err)
	}
	if err := p.check(DurabilityNone); err != nil {
		t.Errorf("one tablet per shard without semi-sync: %v", err)
	}
	p, _ = newPlan(topo(2), 1)
	if err := p.check(DurabilityCrossCell); err == nil || !strings.Contains(err.Error(), "in 2 cells or more") {
		t.Errorf("one cell under cross_cell: %v", err)
	}
}

func TestParseShards(t *testing.T) {
	out := []byte(`{
  "shards": {
    "80-": {"keyspace": "faultline", "name": "80-", "shard": {"primary_alias": {"cell": "b", "uid": 101}, "primary_term_start_time": {"seconds": "1765000000", "nanoseconds": 5}, "key_range": {"start": "gA==", "end": ""}, "is_primary_serving": true}},
    "-80": {"keyspace": "faultline", "name": "-80", "shard": {"primary_alias": null, "primary_term_start_time": null, "is_primary_serving": false}}
  }
}`)
	got, err := parseShards(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []primary{{Shard: "-80"}, {Shard: "80-", Alias: "b-0000000101", Term: 1765000000}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := parseShards([]byte("E1206 rpc error")); err == nil {
		t.Error("garbage parsed")
	}
}

func TestServingProblems(t *testing.T) {
	p, _ := newPlan(topo(1, 1, 1), 1)
	prim := []primary{{Shard: "0", Alias: "a-0000000100"}}
	rows := []tabletRow{
		{Keyspace: Keyspace, Shard: "0", Type: "PRIMARY", State: "SERVING", Alias: "a-0000000100"},
		{Keyspace: Keyspace, Shard: "0", Type: "REPLICA", State: "SERVING", Alias: "b-0000000101"},
		{Keyspace: Keyspace, Shard: "0", Type: "REPLICA", State: "SERVING", Alias: "c-0000000102"},
	}
	if got := servingProblems(p, prim, rows); got != nil {
		t.Errorf("a serving keyspace: %v", got)
	}
	rows[2].State = "NOT_SERVING"
	got := servingProblems(p, []primary{{Shard: "0", Alias: "b-0000000101"}}, rows)
	want := "tablet a-0000000100 still serves as PRIMARY of shard 0; tablet b-0000000101, the primary of shard 0, serves as REPLICA; tablet c-0000000102 is NOT_SERVING"
	if strings.Join(got, "; ") != want {
		t.Errorf("got %q\nwant %q", strings.Join(got, "; "), want)
	}
	if got := servingProblems(p, []primary{{Shard: "0"}}, rows[:1]); !strings.Contains(strings.Join(got, ";"), "shard 0 has no primary") {
		t.Errorf("no primary: %v", got)
	}
}

func TestClaimedIsolation(t *testing.T) {
	e := New(Options{})
	for _, tc := range []struct {
		opts map[string]string
		want string
	}{
		{nil, ""},
		{map[string]string{"shards": "2"}, "read-uncommitted"},
		{map[string]string{"shards": "2", "transaction_mode": "TWOPC"}, "read-committed"},
	} {
		if got := e.ClaimedIsolation(engineSpec(tc.opts), "repeatable-read"); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.opts, got, tc.want)
		}
	}
}

func TestVSchema(t *testing.T) {
	b, err := vschema(map[string]string{"fl_x_register": "k", "fl_x_bank": "id"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"sharded":true,"vindexes":{"xxhash":{"type":"xxhash"}},"tables":{"fl_x_bank":{"column_vindexes":[{"column":"id","name":"xxhash"}]},"fl_x_register":{"column_vindexes":[{"column":"k","name":"xxhash"}]}}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}
