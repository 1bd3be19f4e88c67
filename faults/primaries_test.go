package faults

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/platform"
)

func TestPrimariesSelector(t *testing.T) {
	ctx := context.Background()
	workers := []platform.Node{{Name: "n1", Zone: "a"}, {Name: "n2", Zone: "b"}, {Name: "n3", Zone: "c"}, {Name: "n4", Zone: "a"}}
	s := sel(t, "primaries")
	if !s.NeedsLeader() {
		t.Error("primaries does not need the leaders")
	}
	leader := func(context.Context) (string, error) { return "n2", nil }
	leaders := func(context.Context) ([]string, error) { return []string{"n4", "n1", "n4"}, nil }
	r := rand.New(rand.NewPCG(1, 1))
	got, err := s.ResolveLeaders(ctx, workers, leader, leaders, r)
	if err != nil || len(got) != 2 || got[0].Name != "n4" || got[1].Name != "n1" {
		t.Errorf("every shard's primary: %v, %v", got, err)
	}
	// An engine with one leader: primaries is that leader.
	got, err = s.Resolve(ctx, workers, leader, r)
	if err != nil || len(got) != 1 || got[0].Name != "n2" {
		t.Errorf("one leader: %v, %v", got, err)
	}
	none := func(context.Context) ([]string, error) { return nil, nil }
	if _, err := s.ResolveLeaders(ctx, workers, leader, none, r); err == nil || !strings.Contains(err.Error(), "no shard has a leader") {
		t.Errorf("no leaders: %v", err)
	}
	broken := func(context.Context) ([]string, error) { return nil, errors.New("topology down") }
	if _, err := s.ResolveLeaders(ctx, workers, leader, broken, r); err == nil || !strings.Contains(err.Error(), "topology down") {
		t.Errorf("leaders failing: %v", err)
	}
	if _, err := ParseSelector("primaries:x"); err == nil {
		t.Error("primaries took an argument")
	}
}
