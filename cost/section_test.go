package cost

import (
	"bytes"
	"encoding/json"
	"html/template"
	"math"
	"strings"
	"testing"
)

func realEstimate(t *testing.T, cloud string) *Estimate {
	t.Helper()
	cat, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ProfileFromHistory(realRun(t), ProfileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return mustCompute(t, cat, p, Options{Target: DefaultTarget(), Cloud: cloud, Survive: ZoneSurvival, Engine: "postgres", Samples: 50, Seed: 3})
}

func TestSectionIsSelfContained(t *testing.T) {
	est := realEstimate(t, AWS)
	title, html, md := Section(est)
	if title != "Cost" {
		t.Errorf("title %q", title)
	}
	h := string(html)
	for _, want := range []string{"<svg", "</svg>", "<details>", "aws/rds/postgres/db.r6g", "Amazon RDS for PostgreSQL", "P10"} {
		if !strings.Contains(h, want) {
			t.Errorf("section HTML lacks %q", want)
		}
	}
	// Nothing is fetched: the only URLs are XML namespace names.
	bare := strings.ReplaceAll(h, "http://www.w3.org/", "")
	for _, bad := range []string{"<?xml", "<script", "http://", "https://", "<link", "<img"} {
		if strings.Contains(bare, bad) {
			t.Errorf("section HTML contains %q", bad)
		}
	}
	// Every priced offering appears in the chart's labels.
	for _, o := range est.Offerings {
		if o.Unsupported == "" && !strings.Contains(h, template.HTMLEscapeString(shorten(o.Title, 48))) {
			t.Errorf("chart or tables lack %q", o.Title)
		}
	}
	if !strings.Contains(md, "| Offering | P10 | P50 | P90 |") || !strings.Contains(md, "| Line | Monthly | How | Prices |") {
		t.Errorf("markdown lacks its tables:\n%s", md)
	}
}

func TestChartNeedsAPricedOffering(t *testing.T) {
	if _, err := Chart(&Estimate{Survive: ZoneSurvival, Offerings: []OfferingEstimate{{ID: "neon", Unsupported: "no"}}}); err == nil {
		t.Error("a chart of nothing was drawn")
	}
}

func TestEstimateIsValidJSON(t *testing.T) {
	est := realEstimate(t, GCP)
	b, err := json.Marshal(est)
	if err != nil {
		t.Fatal(err)
	}
	var back Estimate
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Offerings) != len(est.Offerings) || back.Offerings[0].P50 != est.Offerings[0].P50 {
		t.Errorf("round trip lost offerings")
	}
}

func TestEveryLineCitesItsPrices(t *testing.T) {
	for _, cloud := range []string{AWS, GCP, Azure} {
		est := realEstimate(t, cloud)
		for _, o := range est.Offerings {
			var sum float64
			for _, l := range o.Lines {
				sum += l.Monthly
				if l.Monthly > 0 && len(l.Prices) == 0 {
					t.Errorf("%s %s: %s line of %s cites no price", cloud, o.ID, l.Category, Money(l.Monthly))
				}
				if math.IsNaN(l.Monthly) || l.Monthly < 0 {
					t.Errorf("%s %s: %s line is %v", cloud, o.ID, l.Category, l.Monthly)
				}
			}
			if math.Abs(sum-o.Monthly) > 1e-6 {
				t.Errorf("%s %s: lines sum to %v, total %v", cloud, o.ID, sum, o.Monthly)
			}
		}
		var buf bytes.Buffer
		if err := WriteText(&buf, est); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReferenceExplainsEveryLargeDifference(t *testing.T) {
	cat, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, cloud := range []string{AWS, GCP, Azure} {
		ref, err := SeedReference(cat, cloud)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ref.Lines {
			switch {
			case l.Diff == nil && l.Explanation == "":
				t.Errorf("%s %s %s: not comparable and not explained", cloud, l.Offering, l.Item)
			case l.Diff != nil && math.Abs(*l.Diff) > ReferenceTolerance+1e-9 && l.Explanation == "":
				t.Errorf("%s %s %s: differs by %s without an explanation", cloud, l.Offering, l.Item, diffText(l.Diff))
			case l.Diff != nil && math.Abs(*l.Diff) <= ReferenceTolerance+1e-9 && l.Explanation != "":
				t.Errorf("%s %s %s: within 20%% but explained: %s", cloud, l.Offering, l.Item, l.Explanation)
			}
		}
		var buf bytes.Buffer
		if err := WriteReferenceText(&buf, ref); err != nil {
			t.Fatal(err)
		}
	}
}
