// Command faultline puts cloud-native databases on trial: it boots a
// cluster, deploys an engine, drives load while injecting faults, checks
// consistency, measures RTO and RPO, and prices what the engine used.
//
// Exit codes: 0 every check passed; 1 a check failed; 2 bad input (nothing
// was started); 3 the infrastructure failed.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/reports"
)

// Exit codes, the contract scripts rely on.
const (
	exitPass  = 0
	exitFail  = 1
	exitInput = 2
	exitInfra = 3
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// inputError marks bad input: exit code 2.
func inputError(err error) error { return &exitError{code: exitInput, err: err} }

// infraError marks an infrastructure failure: exit code 3.
func infraError(err error) error { return &exitError{code: exitInfra, err: err} }

// failed says a check failed: exit code 1, with no further message (the
// command has already printed its verdicts).
var errChecksFailed = &exitError{code: exitFail, err: errors.New("a check failed")}

// exitCode turns a run's verdict into the exit-code contract
// (reports.ExitCode), as an error for cobra to carry out.
func exitCode(v check.Verdict, infra string) error {
	code, why := reports.ExitCode(v, infra)
	if code == exitPass {
		return nil
	}
	if code == exitFail {
		return errChecksFailed
	}
	return &exitError{code: code, err: errors.New(why)}
}

func main() {
	agent.Main(agents())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitPass
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee != errChecksFailed {
			fmt.Fprintln(os.Stderr, "faultline:", readable(err))
		}
		return ee.code
	}
	// Errors cobra raises itself (unknown flags, wrong argument counts)
	// are bad input.
	fmt.Fprintln(os.Stderr, "faultline:", readable(err))
	return exitInput
}

// Limits of an error message as printed: the packages quote user values
// shortly (internal/excerpt); this is the net under what they do not
// control, such as a flag value cobra echoes whole.
const (
	maxErrLine  = 500
	maxErrLines = 60
)

// readable is err's message with each line cut at maxErrLine bytes and
// at most maxErrLines lines, each cut saying how much it left out.
func readable(err error) string {
	lines := strings.Split(err.Error(), "\n")
	if len(lines) > maxErrLines {
		more := len(lines) - maxErrLines
		lines = append(lines[:maxErrLines], fmt.Sprintf("… and %d more lines", more))
	}
	for i, l := range lines {
		if len(l) > maxErrLine {
			cut := maxErrLine
			for cut > 0 && !utf8.RuneStart(l[cut]) {
				cut--
			}
			lines[i] = fmt.Sprintf("%s…(%d bytes)", l[:cut], len(l))
		}
	}
	return strings.Join(lines, "\n")
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "faultline",
		Short:         "Put cloud-native databases on trial: faults, consistency, RTO/RPO and cost",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(commands()...)
	return root
}
