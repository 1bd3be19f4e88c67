package vitess

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"github.com/faultline-dev/faultline/platform"
)

// vtctl runs vtctldclient against a vtctld (or, with server "internal",
// against the topology directly, as the bootstrap's AddCellInfo needs).
type vtctl struct {
	path   string
	server string
	// topo are the topology flags, needed with server "internal".
	topo []string
}

// run runs one vtctldclient command and returns its standard output; a
// failure keeps the command and its output.
func (v vtctl) run(ctx context.Context, args ...string) ([]byte, error) {
	argv := append([]string{v.path, "--server", v.server}, v.topo...)
	argv = append(argv, args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, &platform.CommandError{Argv: argv, Output: []byte(strings.TrimSpace(stderr.String())), Err: err}
	}
	return out, nil
}

// shardRecord is what faultline reads of a shard's topology record
// (vtctldclient's JSON: protobuf field names, int64 as strings).
type shardRecord struct {
	Name  string `json:"name"`
	Shard struct {
		PrimaryAlias *struct {
			Cell string `json:"cell"`
			UID  uint32 `json:"uid"`
		} `json:"primary_alias"`
		PrimaryTermStartTime *struct {
			Seconds json.Number `json:"seconds"`
		} `json:"primary_term_start_time"`
		IsPrimaryServing bool `json:"is_primary_serving"`
	} `json:"shard"`
}

// primary is a shard's primary as the topology records it.
type primary struct {
	Shard string
	// Alias is CELL-UID, empty when the shard has no primary.
	Alias string
	// Term is the primary term's start in Unix seconds: each reparent
	// starts a new one.
	Term uint64
}

// parseShards reads the output of `vtctldclient FindAllShardsInKeyspace`
// into each shard's primary, sorted by shard.
func parseShards(b []byte) ([]primary, error) {
	var resp struct {
		Shards map[string]shardRecord `json:"shards"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, fmt.Errorf("parse shards: %w", err)
	}
	out := make([]primary, 0, len(resp.Shards))
	for name, r := range resp.Shards {
		p := primary{Shard: name}
		if a := r.Shard.PrimaryAlias; a != nil && a.Cell != "" {
			p.Alias = fmt.Sprintf("%s-%010d", a.Cell, a.UID)
		}
		if t := r.Shard.PrimaryTermStartTime; t != nil && t.Seconds != "" {
			s, err := strconv.ParseUint(string(t.Seconds), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("parse shards: shard %s: primary_term_start_time %q: %w", name, t.Seconds, err)
			}
			p.Term = s
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Shard < out[j].Shard })
	return out, nil
}

// primaries asks the topology for every shard's primary.
func (v vtctl) primaries(ctx context.Context, keyspace string) ([]primary, error) {
	out, err := v.run(ctx, "FindAllShardsInKeyspace", keyspace)
	if err != nil {
		return nil, err
	}
	return parseShards(out)
}

// tabletRow is one row of vtgate's SHOW vitess_tablets.
type tabletRow struct {
	Cell, Keyspace, Shard, Type, State, Alias string
	// TermStart is a primary's PrimaryTermStartTime (RFC 3339).
	TermStart string
}

// servingProblems says what keeps the rows from showing the plan serving:
// every tablet SERVING, and each shard's primary the one the topology
// names. It returns nil when nothing does.
func servingProblems(p plan, prim []primary, rows []tabletRow) []string {
	seen := map[string]tabletRow{}
	for _, r := range rows {
		if r.Keyspace == Keyspace {
			seen[r.Alias] = r
		}
	}
	want := map[string]string{}
	for _, pr := range prim {
		want[pr.Shard] = pr.Alias
	}
	var problems []string
	for _, s := range p.Shards {
		if want[s] == "" {
			problems = append(problems, "shard "+s+" has no primary")
		}
	}
	for _, t := range p.Tablets {
		r, ok := seen[t.Alias()]
		switch {
		case !ok:
			problems = append(problems, "tablet "+t.Alias()+" is not known to vtgate")
		case r.State != "SERVING":
			problems = append(problems, "tablet "+t.Alias()+" is "+r.State)
		case want[t.Shard] == t.Alias() && r.Type != "PRIMARY":
			problems = append(problems, "tablet "+t.Alias()+", the primary of shard "+t.Shard+", serves as "+r.Type)
		case want[t.Shard] != t.Alias() && r.Type == "PRIMARY":
			problems = append(problems, "tablet "+t.Alias()+" still serves as PRIMARY of shard "+t.Shard)
		}
	}
	return problems
}
