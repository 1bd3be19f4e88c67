package main

import (
	"context"
	"fmt"
	"strings"

	authv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/faults/chaosmesh"
	"github.com/faultline-dev/faultline/faults/kubeapi"
	"github.com/faultline-dev/faultline/platform/existing"
	"github.com/faultline-dev/faultline/platform/kube"
)

// access is one thing a fault kind asks the API server to do.
type access struct {
	verb, group, resource, subresource string
}

func (a access) String() string {
	r := a.resource
	if a.subresource != "" {
		r += "/" + a.subresource
	}
	if a.group != "" {
		r += "." + a.group
	}
	return a.verb + " " + r
}

// kindAccess is what each fault kind carried through the API needs.
func kindAccess(kind string) []access {
	chaos := func(resource string) []access {
		return []access{{"create", "chaos-mesh.org", resource, ""}, {"delete", "chaos-mesh.org", resource, ""}, {"get", "chaos-mesh.org", resource, ""}}
	}
	switch kind {
	case faults.KindKill, faults.KindStop, faults.KindRestart, faults.KindPause, faults.KindZoneOutage, faults.KindRegionOutage,
		faults.KindPodFailure, faults.KindContainerKill:
		return chaos("podchaos")
	case faults.KindPartition, faults.KindLatency, faults.KindLoss, faults.KindBandwidth:
		return chaos("networkchaos")
	case faults.KindClockSkew:
		return chaos("timechaos")
	case faults.KindStress:
		return chaos("stresschaos")
	case faults.KindDiskLatency, faults.KindDiskError:
		return chaos("iochaos")
	case faults.KindPodDelete:
		return []access{{"list", "", "pods", ""}, {"delete", "", "pods", ""}}
	case faults.KindNodeCordon:
		return []access{{"get", "", "nodes", ""}, {"patch", "", "nodes", ""}}
	case faults.KindNodeDrain:
		return []access{{"get", "", "nodes", ""}, {"patch", "", "nodes", ""}, {"list", "", "pods", ""}, {"create", "", "pods", "eviction"}}
	}
	return nil
}

// clusterFindings says, for the cluster of a kubeconfig context, whether
// Chaos Mesh is installed (and its version) and, per fault kind carried
// through the API, whether this user may inject it (RBAC, asked with
// SelfSubjectAccessReviews) and whatever else it lacks.
func clusterFindings(ctx context.Context, name string, cs kubernetes.Interface, cl client.Client) []finding {
	area := "cluster " + name
	var out []finding
	chaosErr := error(nil)
	missing, err := chaosmesh.Missing(ctx, cl)
	switch {
	case err != nil:
		chaosErr = err
	case len(missing) > 0:
		chaosErr = fmt.Errorf("Chaos Mesh is not installed (no CRD for %s): %s", strings.Join(missing, ", "), chaosmesh.InstallHint)
	default:
		version, err := chaosmesh.Controller(ctx, cl)
		if err != nil {
			chaosErr = err
		} else {
			if version == "" {
				version = "version not labelled"
			}
			out = append(out, finding{area, "chaos-mesh", true, "installed, controller available (" + version + ")"})
		}
	}
	if chaosErr != nil {
		out = append(out, finding{area, "chaos-mesh", false, chaosErr.Error()})
	}
	for _, k := range faults.Kinds() {
		needs := kindAccess(k.Name)
		if len(needs) == 0 {
			continue
		}
		var denied []string
		for _, a := range needs {
			ok, err := allowed(ctx, cs, a)
			if err != nil {
				denied = append(denied, a.String()+" ("+err.Error()+")")
			} else if !ok {
				denied = append(denied, a.String())
			}
		}
		how := "kubernetes api"
		if kubeapi.How(k.Name) == "" {
			how = "chaos-mesh: " + chaosmesh.How(k.Name)
		}
		switch {
		case len(denied) > 0:
			out = append(out, finding{area, k.Name, false, "RBAC denies " + strings.Join(denied, ", ")})
		case how != "kubernetes api" && chaosErr != nil:
			out = append(out, finding{area, k.Name, false, "needs Chaos Mesh"})
		case how != "kubernetes api":
			out = append(out, chaosKindFinding(ctx, area, k.Name, how, cl))
		default:
			out = append(out, finding{area, k.Name, true, "can inject, by " + how})
		}
	}
	return out
}

// chaosKindFinding says whether the cluster's Chaos Mesh can carry kind
// out: whether its daemon image has the programs the experiment runs (a
// memory stressor for stress), and, for traffic shaping, the kernel
// module faultline cannot probe on a cluster it did not create.
func chaosKindFinding(ctx context.Context, area, kind, how string, cl client.Client) finding {
	spec := faults.Spec{Kind: kind}
	if kind == faults.KindStress {
		spec.Memory = 1 << 20
	}
	if err := chaosmesh.CheckDaemon(ctx, cl, spec); err != nil {
		if kind == faults.KindStress {
			return finding{area, kind, true, "can inject cpu stressors only, by " + how + "; memory: " + err.Error()}
		}
		return finding{area, kind, false, err.Error()}
	}
	detail := "can inject, by " + how
	switch kind {
	case faults.KindLatency, faults.KindLoss, faults.KindBandwidth:
		detail += "; " + (&chaosmesh.Injector{}).Condition(kind)
	}
	return finding{area, kind, true, detail}
}

// permitFinding says whether faults are allowed on the cluster of an
// existing-platform context (--allow-destructive naming it).
func permitFinding(kubeconfig, kubeContext, allow string) finding {
	err := existing.New(existing.Options{Kubeconfig: kubeconfig, Context: kubeContext, AllowDestructive: allow}).PermitFaults()
	if err != nil {
		return finding{"cluster " + kubeContext, "faults allowed", false, err.Error()}
	}
	return finding{"cluster " + kubeContext, "faults allowed", true, "--allow-destructive names this context: every fault kind may run here"}
}

// allowed asks the API server whether the current user may do a.
func allowed(ctx context.Context, cs kubernetes.Interface, a access) (bool, error) {
	r, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authv1.SelfSubjectAccessReview{
		Spec: authv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authv1.ResourceAttributes{
			Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource,
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return r.Status.Allowed, nil
}

// inspectCluster connects to a kubeconfig context and returns its
// findings, or one finding saying why it could not.
func inspectCluster(ctx context.Context, kubeconfig, kubeContext string) []finding {
	h := kubeHandle{kubeconfig: kubeconfig, context: kubeContext}
	cs, err := kube.Client(h)
	if err != nil {
		return []finding{{"cluster " + kubeContext, "connect", false, err.Error()}}
	}
	cl, err := chaosmesh.Connect(h)
	if err != nil {
		return []finding{{"cluster " + kubeContext, "connect", false, err.Error()}}
	}
	return clusterFindings(ctx, kubeContext, cs, cl)
}
