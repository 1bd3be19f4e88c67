package faults

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Log records the commands faults run and what they printed, for the run
// directory's faults.log. A nil *Log discards everything. Log is safe for
// concurrent use.
type Log struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Duration
}

// NewLog writes to w, stamping each entry with now() (the run's clock).
func NewLog(w io.Writer, now func() time.Duration) *Log {
	return &Log{w: w, now: now}
}

// Command records a command run on node, its output and its error.
func (l *Log) Command(node string, argv []string, out []byte, err error) {
	if l == nil {
		return
	}
	status := "ok"
	if err != nil {
		status = "error: " + err.Error()
	}
	text := strings.TrimRight(string(out), "\n")
	l.Printf("%s$ %s\n%s[%s]", prefix(node), strings.Join(argv, " "), indent(text), status)
}

// Printf records a free-form entry.
func (l *Log) Printf(format string, args ...any) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var at time.Duration
	if l.now != nil {
		at = l.now()
	}
	fmt.Fprintf(l.w, "%10.3fs %s\n", at.Seconds(), fmt.Sprintf(format, args...))
}

func prefix(node string) string {
	if node == "" {
		return ""
	}
	return node + " "
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ") + "\n"
}

// logKey is the context key of ContextWithLog.
type logKey struct{}

// ContextWithLog returns ctx carrying log, for what installs shaping
// before the caller could hand it a log directly: a platform creating a
// cluster with standing region latency (RegionLatency) records in the
// run's faults.log both the installation and every re-installation on a
// restarted node, for as long as the shaping stands.
func ContextWithLog(ctx context.Context, log *Log) context.Context {
	return context.WithValue(ctx, logKey{}, log)
}

// LogFromContext returns the log ContextWithLog put in ctx, or nil (which
// discards everything).
func LogFromContext(ctx context.Context) *Log {
	l, _ := ctx.Value(logKey{}).(*Log)
	return l
}
