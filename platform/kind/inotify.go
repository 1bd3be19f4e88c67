package kind

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// The host's limit on inotify instances per user, which every node's
// systemd, kubelet and kube-proxy draw from: under the usual default of
// 128, clusters of more than a few nodes fail with "too many open files"
// (kind's known issues ask for 512).
const (
	inotifyInstancesFile = "/proc/sys/fs/inotify/max_user_instances"
	// MinInotifyInstances is the limit kind clusters need.
	MinInotifyInstances = 512
)

// InotifyInstances reads the host's fs.inotify.max_user_instances.
func InotifyInstances() (int, error) {
	b, err := os.ReadFile(inotifyInstancesFile)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// ensureInotify raises the host's inotify instance limit to
// MinInotifyInstances, saying so on log, when it is lower and this
// process may; else it says which sysctl to set.
func ensureInotify(log io.Writer) error {
	n, err := InotifyInstances()
	if err != nil || n >= MinInotifyInstances {
		return nil // not Linux, or not readable: nothing to check
	}
	want := strconv.Itoa(MinInotifyInstances)
	if werr := os.WriteFile(inotifyInstancesFile, []byte(want), 0o644); werr != nil {
		return fmt.Errorf("kind: fs.inotify.max_user_instances is %d and kind nodes need %d (kubelet and kube-proxy fail with \"too many open files\"); run: sysctl -w fs.inotify.max_user_instances=%d (%v)", n, MinInotifyInstances, MinInotifyInstances, werr)
	}
	if log != nil {
		fmt.Fprintf(log, "kind: raised fs.inotify.max_user_instances from %d to %d, as kind nodes need\n", n, MinInotifyInstances)
	}
	return nil
}
