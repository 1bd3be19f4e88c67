//go:build e2e

package kind

import (
	"context"
	"maps"
	"os"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/faults/delayer"
	"github.com/faultline-dev/faultline/images"
	"github.com/faultline-dev/faultline/internal/agent"
	"github.com/faultline-dev/faultline/internal/testenv"
	"github.com/faultline-dev/faultline/platform/dockerd"
)

func TestMain(m *testing.M) {
	// The packet delayer that region latency starts is this binary, and
	// so is the runtime shim of faultline's Docker daemon if the tests
	// start it.
	agents := map[string]agent.Func{delayer.AgentName: delayer.Agent}
	maps.Copy(agents, dockerd.Agents())
	agent.Main(agents)
	os.Exit(m.Run())
}

// e2eDaemon finds what the kind e2e tests need as `faultline run` does: a
// Docker daemon that can run kind nodes (faultline's own where the
// machine's cannot) and the node image `make images` built. The
// environment may name them instead (FAULTLINE_DOCKER_HOST,
// FAULTLINE_NODE_IMAGE). A missing one ends the test through
// testenv.Missing.
func e2eDaemon(t *testing.T) (host, image string) {
	t.Helper()
	host, image = os.Getenv("FAULTLINE_DOCKER_HOST"), os.Getenv("FAULTLINE_NODE_IMAGE")
	if host != "" && image != "" {
		return host, image
	}
	testenv.NeedRoot(t, "kind nodes are privileged containers on faultline's Docker daemon")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d, err := dockerd.Ensure(ctx, dockerd.Options{})
	if err != nil {
		testenv.Missing(t, "docker", "no Docker daemon that can run kind nodes: %v", err)
	}
	if host == "" {
		host = d.Host()
	}
	if image == "" {
		built, err := images.Built(ctx, d, images.KindNode)
		if err != nil {
			t.Fatal(err)
		}
		if !built {
			testenv.Missing(t, "kind-node-image", "%s is not built on %s (make images)", images.Ref(images.KindNode), d.Host())
		}
		image = images.Ref(images.KindNode)
	}
	return host, image
}
