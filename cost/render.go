package cost

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Money formats dollars the way reports show them: whole dollars with
// thousands separators, cents below $100.
func Money(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	neg := v < 0
	v = math.Abs(v)
	var s string
	if v < 100 {
		s = fmt.Sprintf("$%.2f", v)
	} else {
		digits := fmt.Sprintf("%.0f", v)
		var b strings.Builder
		for i, c := range digits {
			if i > 0 && (len(digits)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		s = "$" + b.String()
	}
	if neg {
		return "-" + s
	}
	return s
}

// header is the estimate's one-paragraph description.
func header(est *Estimate) string {
	run := est.Run
	if run == "" {
		run = "(unnamed run)"
	}
	plat := ""
	if est.Profile != nil && est.Profile.Platform != "" {
		plat = " on the " + est.Profile.Platform + " platform"
	}
	commit := "on demand"
	if est.Commitment != NoCommitment {
		commit = est.Commitment + " commitment"
	}
	title := est.Engine
	if e, err := LookupEngine(est.Engine); err == nil {
		title = e.Title
	}
	return fmt.Sprintf("Monthly cost of %s at %s on %s, %s, %s, from run %s (%s measured%s). Monte Carlo: %d draws, seed %d.",
		title, est.Target, strings.ToUpper(est.Cloud), SurvivalTitle(est.Survive), commit, run, est.Profile.Engine, plat, est.Samples, est.Seed)
}

// WriteText writes the estimate as terminal tables: the comparison,
// each offering's breakdown with the prices and measurements behind
// every line, and the notes.
func WriteText(w io.Writer, est *Estimate) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header(est))
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "OFFERING\tP10\tP50\tP90\tPER 1K OPS/S\tSINGLE ZONE\tZONE\tREGION")
	for _, o := range est.Offerings {
		if o.Unsupported != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t%s\n", o.Title, levelsText(o))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.Title, Money(o.P10), Money(o.P50), Money(o.P90), Money(o.PerKOps), levelsText(o))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, o := range est.Offerings {
		fmt.Fprintf(w, "\n%s — %s\n", o.Title, SurvivalTitle(est.Survive))
		if o.Unsupported != "" {
			fmt.Fprintf(w, "  not offered: %s\n", o.Unsupported)
			continue
		}
		fmt.Fprintf(w, "  %s; %s a month at the fitted means\n", o.Sizing, Money(o.Monthly))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, l := range o.Lines {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", l.Category, Money(l.Monthly), l.Detail)
			for _, p := range l.Prices {
				fmt.Fprintf(tw, "  \t\tprice: %s\n", p)
			}
			for _, u := range l.Uses {
				fmt.Fprintf(tw, "  \t\tuses: %s\n", u)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, n := range o.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
	}
	if len(est.Notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range est.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	_, err := fmt.Fprintf(w, "\nCatalog: %s. Prices older than a year: run `faultline cost catalog`.\n", strings.Join(est.Catalog, ", "))
	return err
}

// levelsText is an offering's cost at each survival level, tab-separated.
func levelsText(o OfferingEstimate) string {
	var cells []string
	for _, l := range o.Resilience {
		switch {
		case l.Unsupported != "":
			cells = append(cells, "not offered")
		case l.Premium != nil && l.Survive != SingleZone:
			cells = append(cells, fmt.Sprintf("%s (+%s)", Money(l.Monthly), Money(*l.Premium)))
		default:
			cells = append(cells, Money(l.Monthly))
		}
	}
	return strings.Join(cells, "\t")
}

// Markdown renders the estimate for summary.md and the report.
func Markdown(est *Estimate) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", header(est))
	b.WriteString("| Offering | P10 | P50 | P90 | per 1k ops/s | single zone | zone survival | region survival |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, o := range est.Offerings {
		lv := strings.Split(levelsText(o), "\t")
		if o.Unsupported != "" {
			fmt.Fprintf(&b, "| %s | – | – | – | – | %s |\n", mdEscape(o.Title), strings.Join(lv, " | "))
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", mdEscape(o.Title), Money(o.P10), Money(o.P50), Money(o.P90), Money(o.PerKOps), strings.Join(lv, " | "))
	}
	for _, o := range est.Offerings {
		fmt.Fprintf(&b, "\n#### %s (%s)\n\n", mdEscape(o.Title), SurvivalTitle(est.Survive))
		if o.Unsupported != "" {
			fmt.Fprintf(&b, "Not offered: %s.\n", mdEscape(o.Unsupported))
			continue
		}
		fmt.Fprintf(&b, "%s; %s a month at the fitted means.\n\n", mdEscape(o.Sizing), Money(o.Monthly))
		b.WriteString("| Line | Monthly | How | Prices | Measurements and assumptions |\n|---|---:|---|---|---|\n")
		for _, l := range o.Lines {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", l.Category, Money(l.Monthly), mdEscape(l.Detail),
				mdEscape(strings.Join(l.Prices, "; ")), mdEscape(strings.Join(l.Uses, "; ")))
		}
		for _, n := range o.Notes {
			fmt.Fprintf(&b, "\n- %s", mdEscape(n))
		}
		if len(o.Notes) > 0 {
			b.WriteString("\n")
		}
	}
	if len(est.Notes) > 0 {
		b.WriteString("\n**Notes**\n\n")
		for _, n := range est.Notes {
			fmt.Fprintf(&b, "- %s\n", mdEscape(n))
		}
	}
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}
