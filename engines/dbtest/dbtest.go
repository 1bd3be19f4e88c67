// Package dbtest boots the local SQL engines (postgres, mariadb) on the
// local platform for the tests of packages that talk to them, and skips
// the test with a message naming the missing binary when the server is
// not installed.
//
// A test binary that uses it must run the platform's agents when a
// cluster re-executes it:
//
//	func TestMain(m *testing.M) {
//		agent.Main(dbtest.Agents())
//		os.Exit(m.Run())
//	}
package dbtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/local"
)

// Agents are the agents a test binary using this package must register.
func Agents() map[string]agent.Func {
	return map[string]agent.Func{local.ProbeAgentName: local.ProbeAgent}
}

// OneNode is a topology of one worker node.
func OneNode() platform.Topology {
	return platform.Topology{Regions: []platform.Region{{Name: "r1", Zones: []platform.Zone{{Name: "a", Nodes: 1}}}}}
}

// Server is a running engine on a one-node local cluster.
type Server struct {
	*local.Cluster
	Engine   engines.Engine
	Endpoint engines.Endpoint
}

// Start deploys e with spec on a new one-node local cluster and waits
// until it serves; the cluster is deleted when the test ends. When the
// engine's Validate finds only programs that are not installed, the test
// ends through testenv.Missing (a skip, or a failure where the run
// requires the engine); any other validation error, a misspelt option
// say, fails the test.
func Start(t testing.TB, e engines.Engine, spec engines.Spec) *Server {
	t.Helper()
	if v, ok := e.(engines.Validator); ok {
		target := engines.Target{Platform: local.Name, Workers: 1, Topology: OneNode(),
			Capabilities: local.New(local.Options{}).Capabilities()}
		checkValidation(t, e.Name(), v.Validate(spec, target))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := local.New(local.Options{StopGrace: 10 * time.Second}).Create(ctx, OneNode())
	if err != nil {
		t.Fatal(err)
	}
	lc := c.(*local.Cluster)
	t.Cleanup(func() {
		if err := lc.Delete(context.Background()); err != nil {
			t.Errorf("delete the %s cluster: %v", e.Name(), err)
		}
	})
	if err := e.Deploy(ctx, lc, spec); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitReady(ctx, lc); err != nil {
		t.Fatal(err)
	}
	eps, err := e.Endpoints(ctx, lc)
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 1 {
		t.Fatalf("%s: %d endpoints, want 1", e.Name(), len(eps))
	}
	return &Server{Cluster: lc, Engine: e, Endpoint: eps[0]}
}

// Retry calls f every 100ms until it succeeds or ctx is done, and returns
// its last error: for a server that is coming back after a fault.
func Retry(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkValidation ends t on validation errors: through testenv.Missing
// when every error is a program that is not installed, with t.Fatal
// otherwise.
func checkValidation(t testing.TB, engine string, errs []error) {
	t.Helper()
	if len(errs) == 0 {
		return
	}
	var missing []string
	for _, err := range errs {
		var ni *engines.NotInstalledError
		if !errors.As(err, &ni) {
			t.Fatalf("%s: invalid spec: %v", engine, errors.Join(errs...))
			return
		}
		missing = append(missing, ni.Error())
	}
	testenv.Missing(t, engine, "%s", strings.Join(missing, "; "))
}
