package etcd

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/faultline-dev/faultline/workload"
)

func TestWriteOutcome(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want workload.Type
	}{
		// Refused before raft: certainly not applied.
		{"no leader (require-leader)", rpctypes.ErrNoLeader, workload.Fail},
		{"no leader as a gRPC status", rpctypes.ErrGRPCNoLeader, workload.Fail},
		{"too many requests", rpctypes.ErrTooManyRequests, workload.Fail},
		{"request too large", rpctypes.ErrRequestTooLarge, workload.Fail},
		{"space exceeded", rpctypes.ErrNoSpace, workload.Fail},
		{"permission denied", rpctypes.ErrPermissionDenied, workload.Fail},
		{"empty key", rpctypes.ErrEmptyKey, workload.Fail},
		{"proposal dropped", status.Error(codes.Unknown, "raft proposal dropped"), workload.Fail},
		{"no connection (never sent)", status.Error(codes.Unavailable, "there is no connection available"), workload.Fail},
		// Proposed, or maybe sent: may commit later.
		{"request timed out", rpctypes.ErrTimeout, workload.Info},
		{"timed out after leader failure", rpctypes.ErrTimeoutDueToLeaderFail, workload.Info},
		{"timed out, connection lost", rpctypes.ErrTimeoutDueToConnectionLost, workload.Info},
		{"server stopped", rpctypes.ErrStopped, workload.Info},
		{"leader changed", rpctypes.ErrLeaderChanged, workload.Info},
		{"our deadline", context.DeadlineExceeded, workload.Info},
		{"our deadline, wrapped", fmt.Errorf("put: %w", context.DeadlineExceeded), workload.Info},
		{"gRPC deadline", status.Error(codes.DeadlineExceeded, "context deadline exceeded"), workload.Info},
		{"cancelled", status.Error(codes.Canceled, "context canceled"), workload.Info},
		{"transport closing", status.Error(codes.Unavailable, "error reading from server: EOF"), workload.Info},
		{"unknown", errors.New("something odd"), workload.Info},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := writeOutcome(tt.err); got != tt.want {
				t.Errorf("writeOutcome(%v) = %s, want %s", tt.err, got, tt.want)
			}
		})
	}
}
