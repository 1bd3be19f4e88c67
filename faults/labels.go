package faults

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Labels every object a fault creates in a cluster carries, so that heal
// finds what a run left behind and leaves a live run's objects alone.
const (
	// LabelManagedBy is ManagedBy on everything faultline creates.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "faultline"
	// LabelRun names the run.
	LabelRun = "faultline.dev/run"
	// LabelHost and LabelPID name the machine and the faultline process
	// that created the object: heal on that machine deletes it only once
	// that process is gone.
	LabelHost = "faultline.dev/host"
	LabelPID  = "faultline.dev/pid"
)

// RunLabels returns the labels of a run's objects: ManagedBy, the run's
// name, this machine's host name and pid, each made a valid label value.
func RunLabels(run string, pid int) map[string]string {
	host, _ := os.Hostname()
	return map[string]string{
		LabelManagedBy: ManagedBy,
		LabelRun:       LabelValue(run),
		LabelHost:      LabelValue(host),
		LabelPID:       strconv.Itoa(pid),
	}
}

// LabelValue makes s a valid Kubernetes label value: at most 63
// characters of letters, digits, '-', '_' and '.', beginning and ending
// with a letter or digit; others become '-'.
func LabelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			b[i] = '-'
		}
	}
	out := string(b)
	if len(out) > 63 {
		out = out[len(out)-63:]
	}
	return strings.Trim(out, "-_.")
}

// Alive reports whether the faultline process that labelled an object
// (LabelHost, LabelPID) is still running on this machine. Objects from
// other machines count as alive: heal cannot tell, so it leaves them.
func Alive(labels map[string]string) bool {
	host, _ := os.Hostname()
	if labels[LabelHost] != LabelValue(host) {
		return labels[LabelHost] != ""
	}
	pid, err := strconv.Atoi(labels[LabelPID])
	if err != nil || pid <= 0 {
		return false
	}
	return syscall.Kill(pid, 0) != syscall.ESRCH
}
