package testenv

import (
	"fmt"
	"strings"
	"testing"
)

func TestRequired(t *testing.T) {
	for _, tt := range []struct {
		list, dep string
		want      bool
	}{
		{"", "postgres", false},
		{"all", "postgres", true},
		{"postgres", "postgres", true},
		{"root, postgres", "postgres", true},
		{"root,mariadb", "postgres", false},
		{",", "", false},
	} {
		if got := required(tt.list, tt.dep); got != tt.want {
			t.Errorf("required(%q, %q) = %v, want %v", tt.list, tt.dep, got, tt.want)
		}
	}
}

// recorder is a testing.TB that records how a test ended instead of
// ending it.
type recorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.msg = sprintf(format, args...)
}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = true
	r.msg = sprintf(format, args...)
}

func TestMissing(t *testing.T) {
	for _, tt := range []struct {
		list       string
		fail, skip bool
		wantInMsg  string
	}{
		{list: "", skip: true, wantInMsg: "missing dependency postgres: initdb is not installed"},
		{list: "all", fail: true, wantInMsg: "missing dependency postgres, required by FAULTLINE_REQUIRE=all: initdb"},
		{list: "mariadb", skip: true, wantInMsg: "missing dependency postgres"},
	} {
		r := &recorder{TB: t}
		missing(r, tt.list, "postgres", "%s is not installed", "initdb")
		if r.failed != tt.fail || r.skipped != tt.skip {
			t.Errorf("list %q: failed=%v skipped=%v, want %v %v", tt.list, r.failed, r.skipped, tt.fail, tt.skip)
		}
		if !strings.Contains(r.msg, tt.wantInMsg) {
			t.Errorf("list %q: message %q does not contain %q", tt.list, r.msg, tt.wantInMsg)
		}
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
