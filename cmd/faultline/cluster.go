package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/kind"
	"github.com/faultline-dev/faultline/scenarios"
)

// clusterFlags are the flags of faultline cluster up and down.
type clusterFlags struct {
	config     string
	name       string
	dockerHost string
	nodeImage  string
	images     []string
}

func (f *clusterFlags) options() kind.Options {
	return kind.Options{
		DockerHost: f.dockerHost,
		NodeImage:  f.nodeImage,
		Name:       f.name,
		LoadImages: f.images,
		Log:        os.Stderr,
	}
}

// newClusterCmd is `faultline cluster up|down`: kind clusters to keep
// between runs, or to look at with kubectl.
func newClusterCmd() *cobra.Command {
	f := &clusterFlags{}
	cmd := &cobra.Command{
		Use:   "cluster up|down",
		Short: "Create or delete a kind cluster with zone-labelled nodes",
		Long: `cluster up creates a kind cluster whose worker nodes carry
topology.kubernetes.io/zone and /region labels (by default one control plane
and three workers in zones a, b and c; --config takes a kind configuration
such as kind-configs/three-regions.yaml) and prints the path of its
kubeconfig. cluster down deletes a cluster faultline created.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.name, "name", kind.DefaultClusterName, "the cluster's name")
	pf.StringVar(&f.dockerHost, "docker-host", "", "the Docker daemon that runs the nodes (default: $DOCKER_HOST if it can run privileged containers, else faultline's own)")
	up := &cobra.Command{
		Use:   "up",
		Short: "Create a kind cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := clusterConfig(f.config)
			if err != nil {
				return inputError(err)
			}
			o, err := scenarios.PrepareKind(cmd.Context(), f.options())
			if err != nil {
				return infraError(err)
			}
			c, err := kind.New(o).CreateConfig(cmd.Context(), cfg)
			if err != nil {
				return infraError(err)
			}
			nodes, _ := c.Nodes(cmd.Context())
			for _, n := range nodes {
				fmt.Fprintf(cmd.ErrOrStderr(), "%-28s %-14s %-12s %-8s %s\n", n.Name, n.Role, n.Region, n.Zone, n.Addr)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "kubectl --kubeconfig %s --context %s get nodes\n", c.Kubeconfig(), c.Context())
			fmt.Fprintln(cmd.OutOrStdout(), c.Kubeconfig())
			return nil
		},
	}
	up.Flags().StringVar(&f.config, "config", "", "a kind configuration file (default: three zones a, b, c of one worker each)")
	up.Flags().StringVar(&f.nodeImage, "node-image", "", "the kind node image (default: the local build of `faultline images build`, else kind's, which needs a registry)")
	up.Flags().StringArrayVar(&f.images, "load-image", nil, "an image of the Docker daemon to copy into every node (repeatable)")
	down := &cobra.Command{
		Use:   "down",
		Short: "Delete a kind cluster faultline created",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := kind.New(f.options()).DeleteCluster(cmd.Context()); err != nil {
				return infraError(err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "deleted kind cluster %s\n", f.name)
			return nil
		},
	}
	cmd.AddCommand(up, down)
	return cmd
}

// clusterConfig reads and checks the --config file (every worker needs
// a zone), or generates the default three-zone configuration.
func clusterConfig(path string) (*v1alpha4.Cluster, error) {
	if path != "" {
		cfg, err := kind.LoadConfig(path)
		if err != nil {
			return nil, err
		}
		if _, err := kind.TopologyOf(cfg); err != nil {
			return nil, fmt.Errorf("kind config %s: %w", path, err)
		}
		return cfg, nil
	}
	t := platform.Topology{Regions: []platform.Region{{Name: "region-1", Zones: []platform.Zone{
		{Name: "a", Nodes: 1}, {Name: "b", Nodes: 1}, {Name: "c", Nodes: 1},
	}}}}
	return kind.Config(t, nil), nil
}
