package main

import (
	"bytes"
	"regexp"
	"testing"
	"text/tabwriter"

	"github.com/faultline-dev/faultline/scenarios"
)

// TestListFaultsSaysHowPerPlatform: every fault kind names, per platform,
// the injector that carries it (the default first) or "-" and why not.
func TestListFaultsSaysHowPerPlatform(t *testing.T) {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	listFaults(tw, scenarios.DefaultEnv(scenarios.EnvOptions{}))
	tw.Flush()
	out := b.String()
	for _, want := range []string{
		`(?m)^FAULT\s+LOCAL\s+KIND\s+EXISTING\s+DESCRIPTION$`,
		`(?m)^kill\s+process\s+docker\|chaos-mesh\s+chaos-mesh\s`,
		`(?m)^partition\s+process\s+docker\|chaos-mesh\s+chaos-mesh\s`,
		`(?m)^clock-skew\s+-\s+chaos-mesh\s+chaos-mesh\s`,
		`(?m)^pod-delete\s+-\s+kubernetes\s+kubernetes\s`,
		`(?m)^node-drain\s+-\s+kubernetes\s+kubernetes\s`,
		`(?m)^stress on local\s+Chaos Mesh needs Kubernetes`,
		`(?m)^chaos-mesh\s+clock-skew\s+TimeChaos`,
		`allow them by naming the context`,
		`(?m)^disk-latency via chaos-mesh\s+needs toda in the chaos-daemon image: refused up front where its DaemonSet is annotated faultline.dev/chaos-daemon-lacks=io`,
		`(?m)^bandwidth via chaos-mesh\s+towards chosen peers needs prio and sfq.*peers: rest`,
		`(?m)^stress via chaos-mesh\s+memory needs memStress`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("list faults does not match %s:\n%s", want, out)
		}
	}
}
