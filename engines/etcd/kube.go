package etcd

import (
	"context"
	"errors"

	"github.com/faultline-dev/faultline/engines"
	"github.com/faultline-dev/faultline/platform"
)

// deployKube deploys etcd on a Kubernetes cluster. The kind helper replaces
// this file: it returns a deployment (see etcd.go) whose members are pods
// spread over the cluster's zones.
func deployKube(ctx context.Context, c platform.Cluster, k platform.Kubernetes, spec engines.Spec, cfg config) (deployment, error) {
	return nil, errors.New("etcd on Kubernetes (kind, existing) is not built yet; use --platform local")
}
