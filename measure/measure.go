// Package measure samples the resources each node and pod of a cluster
// uses (CPU, memory, disk, network by zone class) and sums samples into
// Usage.
package measure

import (
	"context"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// Sampler reads the current resource counters of every node (and pod).
type Sampler interface {
	Sample(ctx context.Context) ([]workload.Sample, error)
}

// Run samples every interval into rec until ctx is done. Errors are
// reported through onErr (if set) and sampling goes on: a node that is down
// is a fact worth recording, not a reason to stop.
func Run(ctx context.Context, s Sampler, rec *workload.Recorder, interval time.Duration, onErr func(error)) {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ss, err := s.Sample(ctx)
		if err != nil && onErr != nil && ctx.Err() == nil {
			onErr(err)
		}
		if len(ss) > 0 {
			rec.Sample(ss...)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
