// Package cost turns the resources an engine used under a known load into
// a monthly cost at a target workload, for running it yourself on a
// cloud's Kubernetes and for the managed offerings a team would pick
// instead, from a dated, sourced price catalog.
package cost

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/faultline-dev/faultline/internal/excerpt"
)

//go:embed catalog.yaml
var builtinCatalog []byte

// Confidence levels of a price (see catalog.yaml for their meaning).
const (
	VendorDoc    = "vendor-doc"
	VerifiedTool = "verified-tool"
	Official     = "official"
	ThirdParty   = "third-party"
	Derived      = "derived"
	Unverified   = "unverified"
	Low          = "low"
	Assumption   = "assumption"
)

// Purchase options.
const (
	OnDemand    = "on-demand"
	Usage       = "usage"
	Provisioned = "provisioned"
	Param       = "param"
)

// Price is one priced item of the catalog, or one modelling parameter,
// with where it came from.
type Price struct {
	ID         string  `yaml:"id" json:"id"`
	Provider   string  `yaml:"provider" json:"provider"`
	Service    string  `yaml:"service" json:"service"`
	SKU        string  `yaml:"sku" json:"sku"`
	Region     string  `yaml:"region" json:"region"`
	Unit       string  `yaml:"unit" json:"unit"`
	Price      float64 `yaml:"price" json:"price"`
	Purchase   string  `yaml:"purchase" json:"purchase"`
	Effective  string  `yaml:"effective" json:"effective"`
	Source     string  `yaml:"source" json:"source"`
	Confidence string  `yaml:"confidence" json:"confidence"`
	Notes      string  `yaml:"notes,omitempty" json:"notes,omitempty"`
	Attrs      Attrs   `yaml:"attrs,omitempty" json:"attrs,omitempty"`
}

// Attrs describe what an instance or volume price buys.
type Attrs struct {
	VCPU      float64 `yaml:"vcpu,omitempty" json:"vcpu,omitempty"`
	MemoryGiB float64 `yaml:"memory_gib,omitempty" json:"memory_gib,omitempty"`
	// Arch is x86_64 or arm64; Class general or memory.
	Arch  string `yaml:"arch,omitempty" json:"arch,omitempty"`
	Class string `yaml:"class,omitempty" json:"class,omitempty"`
	// Volume performance included in the storage price: a baseline, plus
	// an amount per GB for volumes whose performance grows with size.
	BaselineIOPS float64 `yaml:"baseline_iops,omitempty" json:"baseline_iops,omitempty"`
	BaselineMBps float64 `yaml:"baseline_mbps,omitempty" json:"baseline_mbps,omitempty"`
	IOPSPerGB    float64 `yaml:"iops_per_gb,omitempty" json:"iops_per_gb,omitempty"`
	MBpsPerGB    float64 `yaml:"mbps_per_gb,omitempty" json:"mbps_per_gb,omitempty"`
	MaxIOPS      float64 `yaml:"max_iops,omitempty" json:"max_iops,omitempty"`
}

// EffectiveDate parses Effective (YYYY-MM-DD or YYYY-MM, the first of the
// month).
func (p Price) EffectiveDate() (time.Time, error) {
	for _, layout := range []string{"2006-01-02", "2006-01"} {
		if t, err := time.Parse(layout, p.Effective); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("effective %q: want YYYY-MM-DD or YYYY-MM", excerpt.Value(p.Effective))
}

// Cite names the price the way an estimate's lines quote it.
func (p Price) Cite() string {
	return fmt.Sprintf("%s $%s/%s (%s, %s)", p.ID, trimFloat(p.Price), p.Unit, p.Confidence, p.Effective)
}

// Catalog is a set of prices keyed by ID. It is read-only once loaded.
type Catalog struct {
	byID  map[string]Price
	order []string
	// Sources names where the catalog came from: "built-in" and any user
	// files laid over it.
	Sources []string
}

type catalogFile struct {
	Version int     `yaml:"version"`
	Prices  []Price `yaml:"prices"`
}

// Builtin returns the catalog embedded in the binary.
func Builtin() (*Catalog, error) {
	c := &Catalog{byID: map[string]Price{}}
	if err := c.merge(bytes.NewReader(builtinCatalog), "built-in"); err != nil {
		return nil, err
	}
	return c, nil
}

// Load returns the built-in catalog with the files laid over it in order:
// an entry whose id is already present replaces it, others are added.
func Load(files ...string) (*Catalog, error) {
	c, err := Builtin()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		err = c.merge(r, f)
		r.Close()
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// merge decodes a catalog file strictly (unknown fields are errors) and
// validates every entry, reporting every problem at once.
func (c *Catalog) merge(r io.Reader, name string) error {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var f catalogFile
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("catalog %s: %w", name, err)
	}
	if f.Version != 1 {
		return fmt.Errorf("catalog %s: version %d, want 1", name, f.Version)
	}
	var errs []error
	seen := map[string]bool{}
	for i, p := range f.Prices {
		if seen[p.ID] {
			errs = append(errs, fmt.Errorf("prices[%d]: id %q appears twice", i, excerpt.Value(p.ID)))
		}
		seen[p.ID] = true
		errs = append(errs, validatePrice(i, p)...)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("catalog %s:\n%w", name, err)
	}
	for _, p := range f.Prices {
		if _, ok := c.byID[p.ID]; !ok {
			c.order = append(c.order, p.ID)
		}
		c.byID[p.ID] = p
	}
	c.Sources = append(c.Sources, name)
	return nil
}

func validatePrice(i int, p Price) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("prices[%d] (%s): %s: %s", i, p.ID, field, fmt.Sprintf(format, args...)))
	}
	for field, v := range map[string]string{
		"id": p.ID, "provider": p.Provider, "service": p.Service, "sku": p.SKU, "region": p.Region,
		"unit": p.Unit, "purchase": p.Purchase, "effective": p.Effective, "source": p.Source, "confidence": p.Confidence,
	} {
		if strings.TrimSpace(v) == "" {
			bad(field, "missing")
		}
	}
	if p.Price < 0 {
		bad("price", "%v is negative", p.Price)
	}
	if p.Effective != "" {
		if _, err := p.EffectiveDate(); err != nil {
			bad("effective", "%v", err)
		}
	}
	switch p.Confidence {
	case "", VendorDoc, VerifiedTool, Official, ThirdParty, Derived, Unverified, Low, Assumption:
	default:
		bad("confidence", "%q is not one of %s", p.Confidence,
			strings.Join([]string{VendorDoc, VerifiedTool, Official, ThirdParty, Derived, Unverified, Low, Assumption}, ", "))
	}
	if p.Confidence == Derived && !strings.Contains(strings.ToLower(p.Source), "derived") {
		bad("source", "a derived price must say in its source what it was derived from")
	}
	return errs
}

// Get returns the price with the given id.
func (c *Catalog) Get(id string) (Price, bool) {
	p, ok := c.byID[id]
	return p, ok
}

// MustGet is Get for ids the model cannot work without; a missing one is
// an error naming it, so that a user catalog that drops an entry fails
// clearly.
func (c *Catalog) MustGet(id string) (Price, error) {
	p, ok := c.byID[id]
	if !ok {
		return Price{}, fmt.Errorf("catalog has no price %q", excerpt.Value(id))
	}
	return p, nil
}

// All returns every price in catalog order (built-in first, then user
// additions).
func (c *Catalog) All() []Price {
	out := make([]Price, 0, len(c.order))
	for _, id := range c.order {
		out = append(out, c.byID[id])
	}
	return out
}

// Find returns the prices whose id starts with prefix, sorted by id.
func (c *Catalog) Find(prefix string) []Price {
	var out []Price
	for _, id := range c.order {
		if strings.HasPrefix(id, prefix) {
			out = append(out, c.byID[id])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Stale returns the prices whose effective date is more than maxAge
// before now.
func (c *Catalog) Stale(now time.Time, maxAge time.Duration) []Price {
	var out []Price
	for _, p := range c.All() {
		t, err := p.EffectiveDate()
		if err == nil && now.Sub(t) > maxAge {
			out = append(out, p)
		}
	}
	return out
}

// trimFloat formats a price without trailing zeros.
func trimFloat(v float64) string {
	s := fmt.Sprintf("%.7f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
