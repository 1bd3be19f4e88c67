package measure

import (
	"fmt"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// BenchmarkWindow sums an hour of samples of a nine-node cluster taken
// every second (32,400 samples), the size of a long nightly run.
func BenchmarkWindow(b *testing.B) {
	h := &workload.History{}
	for s := 0; s < 3600; s++ {
		for n := 0; n < 9; n++ {
			h.Samples = append(h.Samples, workload.Sample{
				Time: time.Duration(s) * time.Second, Node: fmt.Sprintf("n%d", n), Up: true,
				CPUSeconds: float64(s) * 0.3, DiskWriteBytes: int64(s) << 16, NetCrossZoneBytes: int64(s) << 12,
			})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		Window(h, 10*time.Minute, 50*time.Minute)
	}
}
