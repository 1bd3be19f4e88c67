package kind

import (
	"net/netip"
	"testing"
)

// TestNetworkIsTheClustersOwn: by default each cluster has a network of
// its own, named after it, with the first free /24 of the pool (but the
// pool's last, near platform/dockerd's link); a Network the options name
// is shared and never the cluster's to remove.
func TestNetworkIsTheClustersOwn(t *testing.T) {
	for _, tc := range []struct {
		name        string
		opts        Options
		wantName    string
		wantCluster string
		first, last string
		count       int
		wantErr     bool
	}{
		{name: "default", wantName: "faultline-kind-c1", wantCluster: "c1", first: "10.250.192.0/24", last: "10.250.254.0/24", count: 63},
		{name: "own subnet", opts: Options{NetworkSubnet: "10.9.8.0/24"}, wantName: "faultline-kind-c1", wantCluster: "c1", first: "10.9.8.0/24", last: "10.9.8.0/24", count: 1},
		{name: "shared", opts: Options{Network: "shared"}, wantName: "shared", first: DefaultNetworkSubnet, last: DefaultNetworkSubnet, count: 1},
		{name: "shared with a subnet", opts: Options{Network: "shared", NetworkSubnet: "10.1.0.7/16"}, wantName: "shared", first: "10.1.0.0/16", last: "10.1.0.0/16", count: 1},
		{name: "bad subnet", opts: Options{NetworkSubnet: "nonsense"}, wantName: "faultline-kind-c1", wantCluster: "c1", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.opts.network("c1")
			if n.Name != tc.wantName || n.Cluster != tc.wantCluster {
				t.Fatalf("network %q of cluster %q, want %q of %q", n.Name, n.Cluster, tc.wantName, tc.wantCluster)
			}
			if tc.wantErr {
				if n.Err == nil {
					t.Fatal("no error for a bad subnet")
				}
				return
			}
			if len(n.Subnets) != tc.count || n.Subnets[0].String() != tc.first || n.Subnets[len(n.Subnets)-1].String() != tc.last {
				t.Fatalf("subnets %v, want %d from %s to %s", n.Subnets, tc.count, tc.first, tc.last)
			}
		})
	}
}

func TestOverlaps(t *testing.T) {
	used := []netip.Prefix{netip.MustParsePrefix("10.250.240.0/24"), netip.MustParsePrefix("10.250.0.0/17")}
	for s, want := range map[string]bool{
		"10.250.240.0/24": true,
		"10.250.241.0/24": false,
		"10.250.5.0/24":   true,
		"10.250.192.0/24": false,
	} {
		if got := overlaps(netip.MustParsePrefix(s), used); got != want {
			t.Errorf("overlaps(%s) = %v, want %v", s, got, want)
		}
	}
}
