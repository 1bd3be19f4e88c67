package reports

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/check/elle"
	"github.com/faultline-dev/faultline/cost"
	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/internal/excerpt"
)

// Failure scopes a requirement can ask an engine to survive, smallest
// first: the loss of one node, of a zone, of a region.
const (
	ScopeNode   = "node"
	ScopeZone   = "zone"
	ScopeRegion = "region"
)

// Scopes lists the failure scopes, smallest first.
func Scopes() []string { return []string{ScopeNode, ScopeZone, ScopeRegion} }

// IsolationLinearizable is the requirement a single-object workload can
// meet: every register linearizable (the register workload's check).
const IsolationLinearizable = "linearizable"

// Requirements are what a team needs from an engine; the selection report
// decides each for each engine from the runs. A zero field asks nothing.
type Requirements struct {
	// Survive is the largest failure the engine must ride through without
	// a person healing it: writes resume while the fault is still in
	// force. node, zone or region; empty asks nothing.
	Survive string `yaml:"survive" json:"survive,omitempty"`
	// RPO is the most acknowledged writes any one fault may lose: 0 is
	// none. Nil asks nothing.
	RPO *int `yaml:"rpo" json:"rpo,omitempty"`
	// RTOMax is the longest recovery allowed for any fault within the
	// survival scope (every fault when Survive is empty). Zero asks
	// nothing.
	RTOMax time.Duration `yaml:"rto-max" json:"rto_max_ns,omitempty"`
	// Isolation is the weakest isolation the engine must hold with no
	// anomaly it forbids: an Elle level (read-committed,
	// snapshot-isolation, serializable, strict-serializable…), decided by
	// list-append runs, or linearizable, decided by register runs. Empty
	// asks nothing.
	Isolation string `yaml:"isolation" json:"isolation,omitempty"`
	// Budget is the most a month may cost, in USD, for the cheapest way
	// to run the engine (self-hosted or a managed offering standing in for
	// it) at the target workload. Zero asks nothing.
	Budget float64 `yaml:"budget" json:"budget,omitempty"`
	// Clouds are the clouds the team may run on; the cost section prices
	// each. Empty is the cost target's cloud.
	Clouds []string `yaml:"clouds" json:"clouds,omitempty"`
}

// Validate reports every problem with the requirements at once, each
// naming its field ("survive: …").
func (r Requirements) Validate() error {
	var errs []error
	if r.Survive != "" && !slices.Contains(Scopes(), r.Survive) {
		errs = append(errs, fmt.Errorf("survive: %q is not one of %s", excerpt.Value(r.Survive), strings.Join(Scopes(), ", ")))
	}
	if r.RPO != nil && *r.RPO < 0 {
		errs = append(errs, fmt.Errorf("rpo: %d is negative; 0 is no lost write", *r.RPO))
	}
	if r.RTOMax < 0 {
		errs = append(errs, fmt.Errorf("rto-max: %s is negative", r.RTOMax))
	}
	if r.Isolation != "" && r.Isolation != IsolationLinearizable {
		if _, err := elle.ParseLevel(r.Isolation); err != nil {
			errs = append(errs, fmt.Errorf("isolation: %w, or %s", err, IsolationLinearizable))
		}
	}
	if r.Budget < 0 {
		errs = append(errs, fmt.Errorf("budget: %g is negative", r.Budget))
	}
	for i, c := range r.Clouds {
		if !slices.Contains([]string{cost.AWS, cost.GCP, cost.Azure}, c) {
			errs = append(errs, fmt.Errorf("clouds[%d]: %q is not one of aws, gcp, azure", i, excerpt.Value(c)))
		}
		if slices.Index(r.Clouds, c) < i {
			errs = append(errs, fmt.Errorf("clouds[%d]: %s is listed twice", i, c))
		}
	}
	return errors.Join(errs...)
}

// CostSurvival is the survival level the cost model sizes a self-hosted
// cluster for under these requirements: a node's loss needs no more
// than a single zone, a zone's or a region's its own level. With no
// survival asked, zone.
func (r Requirements) CostSurvival() string {
	switch r.Survive {
	case ScopeNode:
		return cost.SingleZone
	case ScopeRegion:
		return cost.RegionSurvival
	}
	return cost.ZoneSurvival
}

// FaultScope is the failure scope a fault stands for, from its kind and
// target selector: a zone or region outage, or any fault aimed at a zone
// (or the leader's) or a region, is that scope; a fault on one node (the
// leader, a follower, node:N, random) is a node's. Faults that slow or
// shape the network without cutting it off (latency, loss, bandwidth)
// have no scope: no survival requirement is decided by them. The empty
// kind (a baseline cell, no fault) has none either.
func FaultScope(kind, target string) string {
	sel, _ := faults.ParseSelector(target)
	switch {
	case kind == "", kind == faults.KindLatency, kind == faults.KindLoss, kind == faults.KindBandwidth:
		return ""
	case kind == faults.KindRegionOutage, sel.Kind == faults.SelRegion:
		return ScopeRegion
	case kind == faults.KindZoneOutage, sel.Kind == faults.SelZone, sel.Kind == faults.SelLeaderZone:
		return ScopeZone
	}
	return ScopeNode
}

// scopeWithin reports whether a fault of scope s falls inside the
// survival requirement want (a node's loss is within zone survival).
func scopeWithin(s, want string) bool {
	if s == "" {
		return false
	}
	if want == "" {
		return true
	}
	return slices.Index(Scopes(), s) <= slices.Index(Scopes(), want)
}
