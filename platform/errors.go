package platform

import (
	"fmt"
	"strings"
)

// CommandError is a command that failed, with the evidence: what ran, where,
// and what it printed.
type CommandError struct {
	Node   string
	Argv   []string
	Output []byte
	Err    error
}

// Error implements error.
func (e *CommandError) Error() string {
	out := strings.TrimSpace(string(e.Output))
	if len(out) > 2000 {
		out = out[:2000] + "…"
	}
	where := ""
	if e.Node != "" {
		where = " on " + e.Node
	}
	if out == "" {
		return fmt.Sprintf("%s%s: %v", strings.Join(e.Argv, " "), where, e.Err)
	}
	return fmt.Sprintf("%s%s: %v: %s", strings.Join(e.Argv, " "), where, e.Err, out)
}

// Unwrap returns the underlying error.
func (e *CommandError) Unwrap() error { return e.Err }
