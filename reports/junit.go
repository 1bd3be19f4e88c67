package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/check"
)

// JUnit renders junit.xml: one testsuite for the run, one testcase per
// checker, named by the checker and classed by engine and scenario.
//
//   - pass: a plain testcase;
//   - fail: a <failure> whose message is the summary and whose body lists
//     the anomalies;
//   - unknown: an <error> of type "unknown": the checker could not reach a
//     verdict, which CI must not count as a pass (a skipped testcase would
//     read as green), yet did not find a violation either;
//   - an infrastructure failure adds a testcase "infrastructure" with an
//     <error> of type "infrastructure".
//
// Each testcase's system-out carries its metrics; the suite's properties
// carry the run's identity and seed.
func JUnit(rep *Report) ([]byte, error) {
	suite := junitSuite{
		Name:      "faultline " + title(rep),
		Timestamp: timestamp(rep.Start),
		Time:      rep.DurationSeconds,
		Properties: []junitProperty{
			{"scenario", rep.Run.Scenario}, {"run", rep.Run.Name}, {"seed", fmt.Sprint(rep.Run.Seed)},
			{"engine", rep.Run.Engine}, {"version", rep.Run.Version}, {"platform", rep.Run.Platform},
			{"verdict", rep.Verdict.String()}, {"exit_code", fmt.Sprint(rep.ExitCode)},
		},
	}
	class := "faultline." + strings.NewReplacer(" ", "_", ".", "_").Replace(orDefault(rep.Run.Engine, "engine")+"."+title(rep))
	for _, c := range rep.Checks {
		tc := junitCase{Name: c.Checker, Classname: class, Time: c.ElapsedSeconds, SystemOut: metricsText(c)}
		switch c.Verdict {
		case check.Fail:
			tc.Failure = &junitProblem{Type: "fail", Message: c.Summary, Body: anomaliesText(c)}
			suite.Failures++
		case check.Unknown:
			tc.Error = &junitProblem{Type: "unknown", Message: c.Summary, Body: anomaliesText(c)}
			suite.Errors++
		}
		suite.Cases = append(suite.Cases, tc)
	}
	if rep.InfraError != "" {
		suite.Cases = append(suite.Cases, junitCase{Name: "infrastructure", Classname: class,
			Error: &junitProblem{Type: "infrastructure", Message: rep.InfraError}})
		suite.Errors++
	}
	suite.Tests = len(suite.Cases)
	out, err := xml.MarshalIndent(junitSuites{Suites: []junitSuite{suite}, Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("junit: %w", err)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.Write(out)
	b.WriteString("\n")
	return b.Bytes(), nil
}

// timestamp is the JUnit timestamp of t, or empty (and so left out)
// when the run's start is unknown.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       float64         `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Type    string `xml:"type,attr"`
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

func anomaliesText(c check.Result) string {
	var b strings.Builder
	for _, a := range c.Anomalies {
		fmt.Fprintf(&b, "%s", a.Kind)
		if a.Key != "" {
			fmt.Fprintf(&b, " [%s]", a.Key)
		}
		fmt.Fprintf(&b, ": %s\n", a.Explanation)
		if len(a.Ops) > 0 {
			fmt.Fprintf(&b, "  ops: %v\n", a.Ops)
		}
	}
	return b.String()
}

func metricsText(c check.Result) string {
	if len(c.Metrics) == 0 {
		return ""
	}
	names := make([]string, 0, len(c.Metrics))
	for k := range c.Metrics {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "%s=%g\n", k, c.Metrics[k])
	}
	return b.String()
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
