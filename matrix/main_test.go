package matrix_test

import (
	"os"
	"testing"

	"github.com/faultline-dev/faultline/engines/etcd/etcdtest"
	"github.com/faultline-dev/faultline/internal/agent"
)

// keepEnv, when set, keeps the directory of the real matrix the tests run
// (its path is logged), screenshots included.
const keepEnv = "FAULTLINE_KEEP_MATRIX"

// The test binary hosts the etcd members of the local clusters the
// end-to-end test starts.
func TestMain(m *testing.M) {
	agent.Main(etcdtest.Agents())
	code := m.Run()
	if localRun.dir != "" && os.Getenv(keepEnv) == "" {
		os.RemoveAll(localRun.dir)
	}
	os.Exit(code)
}
