// Command testsum reads `go test -json` on its standard input and prints
// what `go test` would (each package's result, and the whole output of
// every test that failed), then a count of the tests that skipped with
// each one's reason, so that a skip cannot hide in a green run. It exits 1
// if any test or package failed or the stream held no result at all.
//
//	go test -json ./... | go run ./internal/cmd/testsum
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of test2json's output.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// skip is one skipped test and why.
type skip struct {
	name, reason string
}

// summary accumulates what the stream says.
type summary struct {
	out      io.Writer
	outputs  map[string][]string // test key → its output lines so far
	skips    []skip
	failed   bool
	finished int // packages with a result
}

func main() {
	s := &summary{out: os.Stdout, outputs: map[string][]string{}}
	if err := s.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(1)
	}
	s.report()
	if s.failed || s.finished == 0 {
		os.Exit(1)
	}
}

func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// go vet and build failures may print plain text.
			fmt.Fprintln(s.out, string(line))
			continue
		}
		s.event(e)
	}
	return sc.Err()
}

func (s *summary) event(e event) {
	key := e.Package + " " + e.Test
	switch {
	case e.Action == "build-output":
		fmt.Fprint(s.out, e.Output)
	case e.Action == "build-fail":
		s.failed = true
	case e.Test == "":
		s.packageEvent(e)
	case e.Action == "output":
		s.outputs[key] = append(s.outputs[key], e.Output)
	case e.Action == "fail":
		s.failed = true
		for _, l := range s.outputs[key] {
			fmt.Fprint(s.out, l)
		}
		delete(s.outputs, key)
	case e.Action == "skip":
		s.skips = append(s.skips, skip{name: e.Package + "." + e.Test, reason: reason(s.outputs[key])})
		delete(s.outputs, key)
	case e.Action == "pass":
		delete(s.outputs, key)
	}
}

// packageEvent prints a package's own lines: its result ("ok", "FAIL",
// "?") and whatever it printed outside any test (a panic, TestMain).
func (s *summary) packageEvent(e event) {
	switch e.Action {
	case "output":
		o := e.Output
		if strings.HasPrefix(o, "=== ") || strings.HasPrefix(o, "PASS") || strings.HasPrefix(o, "--- PASS") {
			return
		}
		fmt.Fprint(s.out, o)
	case "fail":
		s.failed = true
		s.finished++
	case "pass", "skip":
		s.finished++
	}
}

// reason is the message of a skipped test: its output without the
// framework's own lines.
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	r := strings.Join(parts, " ")
	if len(r) > 300 {
		r = r[:300] + "…"
	}
	return r
}

func (s *summary) report() {
	if len(s.skips) == 0 {
		fmt.Fprintln(s.out, "\nskipped: 0 tests")
		return
	}
	sort.Slice(s.skips, func(i, j int) bool { return s.skips[i].name < s.skips[j].name })
	fmt.Fprintf(s.out, "\nskipped: %d tests\n", len(s.skips))
	for _, sk := range s.skips {
		fmt.Fprintf(s.out, "  %s: %s\n", sk.name, sk.reason)
	}
}
