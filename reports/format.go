package reports

import (
	"fmt"
	"math"
	"strings"

	"github.com/faultline-dev/faultline/check"
)

// The formatting helpers below are shared by the HTML, Markdown and
// selection reports so that a figure reads the same everywhere.

const none = "—"

// seconds renders a duration in seconds with a precision that suits it.
func seconds(s float64) string {
	switch {
	case math.IsNaN(s):
		return none
	case s == 0:
		return "0s"
	case s < 0.001:
		return fmt.Sprintf("%.0fµs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.1fms", s*1e3)
	case s < 100:
		return fmt.Sprintf("%.2fs", s)
	default:
		return fmt.Sprintf("%.0fs", s)
	}
}

// metricSeconds renders a fault's figure in seconds, or a dash if absent.
func metricSeconds(f FaultRow, name string) string {
	if v, ok := f.Metric(name); ok {
		return seconds(v)
	}
	return none
}

// count renders a count figure, or a dash if absent.
func count(f FaultRow, name string) string {
	if v, ok := f.Metric(name); ok {
		return fmt.Sprintf("%.0f", v)
	}
	return none
}

// rate renders operations per second, or a dash if absent.
func rate(f FaultRow, name string) string {
	if v, ok := f.Metric(name); ok {
		return fmt.Sprintf("%.1f", v)
	}
	return none
}

// rtoCell says a fault's RTO, or why there is none.
func rtoCell(f FaultRow) string {
	switch {
	case f.Error != "":
		return "not injected"
	case hasMetric(f, "rto_seconds"):
		return metricSeconds(f, "rto_seconds")
	case hasMetric(f, "recovered"):
		return "not recovered"
	}
	return none
}

func hasMetric(f FaultRow, name string) bool {
	_, ok := f.Metrics[name]
	return ok
}

// target says what a fault hit: its selector and the nodes it resolved to.
func target(f FaultRow) string {
	s := f.Target
	if len(f.Nodes) > 0 {
		if s != "" {
			s += " → "
		}
		s += strings.Join(f.Nodes, ", ")
	}
	if s == "" {
		return none
	}
	return s
}

// bytesIEC renders a byte count with binary prefixes.
func bytesIEC(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// verdictMark is a verdict as a short word with a symbol, for text.
func verdictMark(v check.Verdict) string {
	switch v {
	case check.Pass:
		return "✅ pass"
	case check.Fail:
		return "❌ fail"
	}
	return "❔ unknown"
}

// stat renders a whole-run figure.
func stat(m map[string]float64, name string, format func(float64) string) string {
	v, ok := m[name]
	if !ok {
		return none
	}
	return format(v)
}

func perSecond(v float64) string { return fmt.Sprintf("%.1f ops/s", v) }
func integer(v float64) string   { return fmt.Sprintf("%.0f", v) }

// title names a run in headings.
func title(r *Report) string {
	switch {
	case r.Run.Scenario != "":
		return r.Run.Scenario
	case r.Run.Name != "":
		return r.Run.Name
	}
	return "faultline run"
}

// engine names the engine and its version.
func engine(r RunInfo) string {
	s := r.Engine
	if s == "" {
		s = "unknown engine"
	}
	if r.Version != "" {
		s += " " + r.Version
	}
	if r.Deployed != "" {
		s += " (" + r.Deployed + ")"
	}
	return s
}

// truncate shortens s to n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
