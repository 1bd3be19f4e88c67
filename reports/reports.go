// Package reports writes a run's reports into its run directory
// (result.json, report.html, summary.md, junit.xml and the checkers'
// artifacts) and compares runs in an engine-selection report.
package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/workload"
)

// Run is what a run's reports are made from.
type Run struct {
	History *workload.History
	Results []check.Result
	// InfraError, if set, says the infrastructure failed during the run
	// (exit code 3); the results may then be partial.
	InfraError string
	// Sections are parts of the report other packages contribute (the
	// cost estimate, for one), shown after the built-in ones in order.
	Sections []Section
}

// Section is a part of the report another package contributes without
// reports importing it. HTML is trusted markup placed in report.html
// (self-contained: no external scripts, styles or images); Markdown goes
// into summary.md; Data, if set, is stored in result.json under sections.
// Empty parts are left out.
type Section struct {
	Title    string
	HTML     template.HTML
	Markdown string
	Data     any
}

// Write writes a run's reports into dir, which it creates if need be:
// each checker artifact under its name, then result.json, summary.md,
// junit.xml and report.html. Each file is written whole or not at all.
// It returns the report it wrote.
func Write(ctx context.Context, dir string, run Run) (*Report, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write reports: %w", err)
	}
	for _, r := range run.Results {
		for _, a := range r.Artifacts {
			if err := writeArtifact(dir, a); err != nil {
				return nil, fmt.Errorf("write reports: %s: %w", r.Checker, err)
			}
		}
	}
	rep := New(ctx, run)
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write reports: encode %s: %w", ResultFile, err)
	}
	steps := []struct {
		name   string
		render func() ([]byte, error)
	}{
		{ResultFile, func() ([]byte, error) { return append(js, '\n'), nil }},
		{SummaryFile, func() ([]byte, error) { return Markdown(rep, run.Sections), nil }},
		{JUnitFile, func() ([]byte, error) { return JUnit(rep) }},
		{HTMLFile, func() ([]byte, error) { return HTML(ctx, rep, run) }},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("write reports: %w", err)
		}
		b, err := s.render()
		if err != nil {
			return nil, fmt.Errorf("write reports: render %s: %w", s.name, err)
		}
		if err := writeFile(filepath.Join(dir, s.name), b); err != nil {
			return nil, fmt.Errorf("write reports: %w", err)
		}
	}
	return rep, nil
}

// writeArtifact saves a checker's artifact under dir, refusing names
// that would land outside it.
func writeArtifact(dir string, a check.Artifact) error {
	name := filepath.Clean(filepath.FromSlash(a.Name))
	if a.Name == "" || filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
		return fmt.Errorf("artifact %q: want a relative path inside the run directory", a.Name)
	}
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("artifact %s: %w", a.Name, err)
	}
	return writeFile(path, a.Data)
}

// writeFile writes b to path through a temporary file in the same
// directory, so that a reader never sees half a file.
func writeFile(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := firstErr(werr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
