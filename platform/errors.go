package platform

import (
	"errors"
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

// RuleGone reports whether a command failed because the iptables rule or
// chain it named does not exist, which heals treat as done.
func RuleGone(err error) bool {
	var ce *CommandError
	if !errors.As(err, &ce) {
		return false
	}
	out := string(ce.Output)
	return strings.Contains(out, "No chain/target/match by that name") ||
		strings.Contains(out, "does a matching rule exist") ||
		strings.Contains(out, "doesn't exist") ||
		strings.Contains(out, "does not exist") || // iptables-nft: Chain 'X' does not exist
		strings.Contains(out, "Couldn't load target") // a jump to a chain already deleted
}
