//go:build e2e

package vitess_test

import (
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/internal/testenv"
)

// TestAsyncLoss is the negative control (make nightly): with durability
// none, a primary whose traffic to its replicas is dropped and which is
// then killed loses the writes it acknowledged in between, and the RPO
// check must fail for that reason. Whether a given kill loses anything
// depends on timing (in one run of `make test` on a busy machine, 0 of
// 5,180 were lost), so it tries up to three times until a loss is seen,
// and fails saying so if none ever is.
func TestAsyncLoss(t *testing.T) {
	need(t)
	testenv.NeedCommand(t, "iptables")
	const attempts = 3
	for i := 1; i <= attempts; i++ {
		out := run(t, "vitess-async-loss", 8*time.Minute)
		rpo := result(t, out, "rpo")
		t.Logf("attempt %d: lost writes per fault: %s; %s", i, perFault(rpo, "lost_writes"), rpo.Summary)
		if rpo.Verdict == check.Fail {
			if rpo.Metrics["lost"] <= 0 {
				t.Fatalf("rpo failed without lost writes: %v", rpo.Metrics)
			}
			return
		}
	}
	t.Fatalf("in %d attempts, killing an asynchronous primary cut off from its replicas lost no acknowledged write: the RPO check never failed", attempts)
}
