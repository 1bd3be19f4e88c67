package etcd

import (
	"errors"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/faultline-dev/faultline/workload"
)

// refused lists the etcd errors that mean a write was turned away before
// raft could commit it, or rejected without effect when applied, so that
// it certainly did not happen. Each was checked against etcd v3.7's
// server:
//
//   - no leader: the require-leader interceptor answers before the
//     request reaches the server (v3rpc/interceptor.go).
//   - too many requests, request too large: checked before the proposal
//     (processInternalRaftRequestOnce in v3_server.go).
//   - database space exceeded: the quota check refuses the request before
//     proposing, and the apply path rejects writes while the NOSPACE
//     alarm is raised.
//   - not capable, not supported for learner, permission and auth
//     errors: refused before proposing, or by the auth check at apply,
//     which leaves the key space untouched.
var refused = []error{
	rpctypes.ErrGRPCNoLeader,
	rpctypes.ErrGRPCRequestTooManyRequests,
	rpctypes.ErrGRPCRequestTooLarge,
	rpctypes.ErrGRPCNoSpace,
	rpctypes.ErrGRPCNotCapable,
	rpctypes.ErrGRPCNotSupportedForLearner,
	rpctypes.ErrGRPCPermissionDenied,
	rpctypes.ErrGRPCInvalidAuthToken,
	rpctypes.ErrGRPCAuthOldRevision,
}

// Error descriptions of requests that never left, or never entered the
// raft log.
const (
	// raft drops a proposal it cannot forward (no leader known, leader
	// transfer in progress) instead of appending it.
	descProposalDropped = "raft proposal dropped"
	// clientv3 retries mutable requests on exactly these, because the
	// request was not sent (client/v3/retry.go isSafeRetryMutableRPC).
	descNoAddress    = "there is no address available"
	descNoConnection = "there is no connection available"
)

// writeOutcome classifies a failed write. It is fail only when the error
// proves the write did not happen; anything else is info, because the
// proposal may have been committed:
//
//   - "request timed out" (all its variants), "server stopped" and
//     "leader changed" come after the proposal was handed to raft: it may
//     still commit.
//   - deadline exceeded and cancellation on our side, Unavailable
//     ("transport is closing", "connection reset"), Unknown and Internal
//     errors may strike after the request was sent.
func writeOutcome(err error) workload.Type {
	if definite(err) {
		return workload.Fail
	}
	return workload.Info
}

// definite reports whether err proves that a request did not happen. It
// compares error descriptions, the one thing that survives both forms
// etcd errors arrive in (a gRPC status, or clientv3's EtcdError).
func definite(err error) bool {
	desc := rpctypes.ErrorDesc(err)
	for _, r := range refused {
		if desc == rpctypes.ErrorDesc(r) {
			return true
		}
	}
	switch desc {
	case descProposalDropped, descNoAddress, descNoConnection:
		return true
	}
	// etcd validates requests before proposing them.
	var ee rpctypes.EtcdError
	if errors.As(rpctypes.Error(err), &ee) {
		return ee.Code() == codes.InvalidArgument
	}
	return status.Code(err) == codes.InvalidArgument
}
