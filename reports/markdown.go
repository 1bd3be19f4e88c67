package reports

import (
	"bytes"
	"fmt"
	"strings"
)

// maxSummaryAnomalies bounds the anomalies summary.md quotes; report.html
// has them all.
const maxSummaryAnomalies = 5

// Markdown renders summary.md: a short, link-free summary that fits a CI
// job summary (GitHub's $GITHUB_STEP_SUMMARY): the verdict line, the checks,
// the faults with their RTO and RPO, the first anomalies, and the
// contributed sections' Markdown.
func Markdown(rep *Report, sections []Section) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "## %s faultline: %s\n\n", verdictSymbol(rep), title(rep))
	fmt.Fprintf(&b, "**%s** on **%s**, seed `%d`, %s, exit %d (%s)\n\n",
		mdEscape(engine(rep.Run)), mdEscape(orDash(rep.Run.Platform)), rep.Run.Seed, seconds(rep.DurationSeconds), rep.ExitCode, rep.ExitMeaning)
	if rep.InfraError != "" {
		fmt.Fprintf(&b, "> **Infrastructure failure:** %s\n\n", mdEscape(rep.InfraError))
	}
	b.WriteString("| check | verdict | summary |\n|---|---|---|\n")
	for _, c := range rep.Checks {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Checker, verdictMark(c.Verdict), mdEscape(truncate(c.Summary, 240)))
	}
	if len(rep.Faults) > 0 {
		b.WriteString("\n### Faults\n\n")
		b.WriteString("| # | fault | target | start | RTO | longest write gap | throughput back | lost writes | RPO window |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
		for _, f := range rep.Faults {
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				f.ID, mdEscape(f.Name), mdEscape(target(f)), seconds(f.StartSeconds), rtoCell(f),
				metricSeconds(f, "longest_write_gap_seconds"), metricSeconds(f, "throughput_recovery_seconds"),
				count(f, "lost_writes"), metricSeconds(f, "rpo_window_seconds"))
		}
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "Load: %s ok, p50 %s, p99 %s, %s errors.\n",
		stat(rep.Stats, "ops_per_second", perSecond), stat(rep.Stats, "p50_seconds", seconds),
		stat(rep.Stats, "p99_seconds", seconds), stat(rep.Stats, "errors", integer))
	writeAnomalies(&b, rep)
	for _, s := range sections {
		if s.Markdown == "" {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n%s\n", mdEscape(s.Title), strings.TrimSpace(s.Markdown))
	}
	return b.Bytes()
}

func writeAnomalies(b *bytes.Buffer, rep *Report) {
	total := 0
	for _, c := range rep.Checks {
		total += len(c.Anomalies)
	}
	if total == 0 {
		return
	}
	fmt.Fprintf(b, "\n### Anomalies (%d)\n\n", total)
	shown := 0
	for _, c := range rep.Checks {
		for _, a := range c.Anomalies {
			if shown == maxSummaryAnomalies {
				fmt.Fprintf(b, "- … and %d more in report.html\n", total-shown)
				return
			}
			fmt.Fprintf(b, "- **%s** `%s`: %s\n", c.Checker, a.Kind, mdEscape(truncate(a.Explanation, 400)))
			shown++
		}
	}
}

func verdictSymbol(rep *Report) string {
	if rep.InfraError != "" {
		return "⚠️ INFRASTRUCTURE FAILURE —"
	}
	return strings.Fields(verdictMark(rep.Verdict))[0] + " " + strings.ToUpper(rep.Verdict.String()) + " —"
}

// mdEscape keeps text inside one Markdown table cell or line: no pipes,
// newlines, or characters that would start markup.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;", "`", "'", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`)
	return r.Replace(s)
}

func orDash(s string) string {
	if s == "" {
		return none
	}
	return s
}
