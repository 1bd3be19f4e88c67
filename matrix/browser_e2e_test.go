//go:build e2e

package matrix_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/faultline-dev/faultline/internal/testenv"
)

// page is what the browser test measures of a page.
type page struct {
	// SVGs holds each inline SVG's rendered width × height.
	SVGs [][2]float64 `json:"svgs"`
	// RequirementRows and HeatRows are the rows of the requirements table
	// and of the heat map, one per engine.
	RequirementRows int `json:"requirementRows"`
	HeatRows        int `json:"heatRows"`
}

const measure = `({
  svgs: Array.from(document.querySelectorAll("svg")).map(s => { const r = s.getBoundingClientRect(); return [r.width, r.height]; }),
  requirementRows: document.querySelectorAll("table.requirements tbody tr").length,
  heatRows: document.querySelectorAll("svg.heatmap g.row").length,
})`

// open loads a file in headless Chromium, collects console errors and
// uncaught exceptions, measures the page and saves a full-page
// screenshot at shot.
func open(t *testing.T, path, shot string) (page, []string) {
	t.Helper()
	chromium, err := testenv.LookPath("chromium")
	if err != nil {
		testenv.Missing(t, "chromium", "the report's browser test opens pages in Debian's chromium (scripts/install-deps.sh browser)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var problems []string
	err = chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value))
				}
				problems = append(problems, fmt.Sprintf("console %s: %s", e.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		}
	})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+abs), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("open %s in chromium: %v", path, err)
	}
	p, err := chromedp.Run(ctx, chromedp.Evaluate[page](measure))
	if err != nil {
		t.Fatalf("measure %s: %v", path, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", shot)
	mu.Lock()
	defer mu.Unlock()
	return p, problems
}

// The selection report and a run report of a real matrix, in a real
// browser: no console error, every SVG drawn with a size, one row per
// engine in the requirements table and the heat map; screenshots kept in
// the matrix directory.
func TestReportsInChromium(t *testing.T) {
	dir, out, sel := runLocalMatrix(t)
	engines := len(out.File.Engines)
	p, problems := open(t, sel, filepath.Join(dir, "selection.png"))
	if len(problems) > 0 {
		t.Errorf("selection.html: %s", strings.Join(problems, "\n"))
	}
	if len(p.SVGs) < 2 {
		t.Errorf("selection.html draws %d SVGs, want the heat map and the cost bars", len(p.SVGs))
	}
	for i, s := range p.SVGs {
		if s[0] <= 0 || s[1] <= 0 {
			t.Errorf("selection.html: SVG %d is %v×%v", i, s[0], s[1])
		}
	}
	if p.RequirementRows != engines || p.HeatRows != engines {
		t.Errorf("requirements table %d rows, heat map %d rows; want one per engine (%d)", p.RequirementRows, p.HeatRows, engines)
	}
	run := filepath.Join(dir, "cells", "postgres--leader-kill--register")
	r, problems := open(t, filepath.Join(run, "report.html"), filepath.Join(run, "report.png"))
	if len(problems) > 0 {
		t.Errorf("report.html: %s", strings.Join(problems, "\n"))
	}
	if len(r.SVGs) == 0 {
		t.Error("report.html draws no SVG")
	}
	for i, s := range r.SVGs {
		if s[0] <= 0 || s[1] <= 0 {
			t.Errorf("report.html: SVG %d is %v×%v", i, s[0], s[1])
		}
	}
}
