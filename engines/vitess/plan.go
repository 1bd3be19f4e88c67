package vitess

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/faultline-dev/faultline/platform"
)

// Keyspace is the keyspace faultline creates; clients name it as their
// database.
const Keyspace = "faultline"

// firstUID is the tablet uid of the first worker node; node k (0-based)
// runs tablet firstUID+k, which is also its MySQL server_id.
const firstUID = 100

// cellName is Vitess's (and vitess-operator's) rule for cell names.
var cellName = regexp.MustCompile(`^[A-Za-z0-9]([_.A-Za-z0-9]*[A-Za-z0-9])?$`)

// CellNames names one cell per zone, in the order given (region, zone
// pairs): the zone's name made valid for Vitess (letters, digits, '_'
// and '.', starting and ending with a letter or digit), prefixed with
// the region's when two regions share a zone name, and made unique.
func CellNames(zones [][2]string) []string {
	count := map[string]int{}
	for _, z := range zones {
		count[z[1]]++
	}
	out := make([]string, len(zones))
	used := map[string]bool{}
	for i, z := range zones {
		base := sanitize(z[1])
		if count[z[1]] > 1 {
			base = sanitize(z[0] + "_" + z[1])
		}
		name := base
		for k := 2; used[name]; k++ {
			name = fmt.Sprintf("%s_%d", base, k)
		}
		used[name] = true
		out[i] = name
	}
	return out
}

// sanitize makes s a valid cell name: other characters become '_', and
// the ends are trimmed to a letter or digit; nothing left is "cell".
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	out := strings.TrimFunc(string(b), func(r rune) bool { return r == '_' || r == '.' })
	if out == "" || !cellName.MatchString(out) {
		return "cell"
	}
	return out
}

// ShardNames returns the names (key ranges) of n equal shards: "0" for
// one, "-80" and "80-" for two, "-40", "40-80", "80-c0", "c0-" for four.
func ShardNames(n int) []string {
	if n <= 1 {
		return []string{"0"}
	}
	bound := func(i int) string {
		if i == 0 || i == n {
			return ""
		}
		return fmt.Sprintf("%02x", i*256/n)
	}
	out := make([]string, n)
	for i := range out {
		out[i] = bound(i) + "-" + bound(i+1)
	}
	return out
}

// cell is one Vitess cell: a zone.
type cell struct {
	Name, Zone, Region string
}

// tablet is one vttablet with its mysqld on a worker node.
type tablet struct {
	Node  platform.Node
	Cell  string
	UID   uint32
	Shard string
}

// Alias is the tablet's alias, CELL-UID with the uid in ten digits.
func (t tablet) Alias() string { return fmt.Sprintf("%s-%010d", t.Cell, t.UID) }

// plan lays a keyspace out on a cluster's workers.
type plan struct {
	Cells   []cell
	Shards  []string
	Tablets []tablet // in worker order
}

// newPlan puts one tablet on each worker, in its zone's cell, and divides
// the workers between shards so that each shard's tablets are spread over
// the zones: workers are taken one zone after another (the first node of
// each zone, then the second…) and dealt to the shards in turn. The first
// tablet of each shard is its initial primary.
func newPlan(workers []platform.Node, shards int) (plan, error) {
	if shards < 1 {
		shards = 1
	}
	if len(workers) == 0 {
		return plan{}, fmt.Errorf("no worker nodes")
	}
	if len(workers)%shards != 0 {
		return plan{}, fmt.Errorf("%d worker nodes cannot be divided evenly between %d shards", len(workers), shards)
	}
	var zones [][2]string
	zoneIndex := map[[2]string]int{}
	byZone := map[[2]string][]int{}
	for i, n := range workers {
		z := [2]string{n.Region, n.Zone}
		if _, ok := zoneIndex[z]; !ok {
			zoneIndex[z] = len(zones)
			zones = append(zones, z)
		}
		byZone[z] = append(byZone[z], i)
	}
	names := CellNames(zones)
	p := plan{Shards: ShardNames(shards), Tablets: make([]tablet, len(workers))}
	for i, z := range zones {
		p.Cells = append(p.Cells, cell{Name: names[i], Zone: z[1], Region: z[0]})
	}
	for i, n := range workers {
		p.Tablets[i] = tablet{Node: n, Cell: names[zoneIndex[[2]string{n.Region, n.Zone}]], UID: uint32(firstUID + i)}
	}
	// Interleave the zones, then deal.
	k := 0
	for round := 0; k < len(workers); round++ {
		for _, z := range zones {
			if round < len(byZone[z]) {
				p.Tablets[byZone[z][round]].Shard = p.Shards[k%shards]
				k++
			}
		}
	}
	return p, nil
}

// shardTablets lists the tablets of shard in worker order.
func (p plan) shardTablets(shard string) []tablet {
	var out []tablet
	for _, t := range p.Tablets {
		if t.Shard == shard {
			out = append(out, t)
		}
	}
	return out
}

// byAlias finds the tablet with the given alias.
func (p plan) byAlias(alias string) (tablet, bool) {
	for _, t := range p.Tablets {
		if t.Alias() == alias {
			return t, true
		}
	}
	return tablet{}, false
}

// cellNames lists the cells' names.
func (p plan) cellNames() []string {
	out := make([]string, len(p.Cells))
	for i, c := range p.Cells {
		out[i] = c.Name
	}
	return out
}

// check says what durability cannot work with the plan: semi-sync needs a
// replica in every shard to acknowledge commits (a primary alone blocks
// every write), cross_cell a replica in another cell.
func (p plan) check(durability string) error {
	for _, s := range p.Shards {
		ts := p.shardTablets(s)
		cells := map[string]bool{}
		for _, t := range ts {
			cells[t.Cell] = true
		}
		switch {
		case durability != DurabilityNone && len(ts) < 2:
			return fmt.Errorf("durability %s needs at least 2 tablets per shard, and shard %s has %d (add worker nodes)", durability, s, len(ts))
		case durability == DurabilityCrossCell && len(cells) < 2:
			return fmt.Errorf("durability cross_cell needs each shard's tablets in 2 cells or more, and shard %s's are all in %s", s, ts[0].Cell)
		}
	}
	return nil
}
