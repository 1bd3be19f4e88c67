package kind

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// LoadImages copies images from the Docker daemon into the containerd of
// every node, as `kind load docker-image` does, so that pods run them
// without a registry. Each image is saved once and imported node by node.
func (c *Cluster) LoadImages(ctx context.Context, refs ...string) error {
	if len(refs) == 0 {
		return nil
	}
	res, err := c.docker.cli.ImageSave(ctx, refs)
	if err != nil {
		return fmt.Errorf("kind: load images: docker save %v: %w", refs, err)
	}
	defer res.Close()
	var archive bytes.Buffer
	if _, err := io.Copy(&archive, res); err != nil {
		return fmt.Errorf("kind: load images: docker save %v: %w", refs, err)
	}
	nodes, err := c.prov.ListInternalNodes(c.name)
	if err != nil {
		return fmt.Errorf("kind: load images: %w", err)
	}
	for _, n := range nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := nodeutils.LoadImageArchive(n, bytes.NewReader(archive.Bytes())); err != nil {
			return fmt.Errorf("kind: load images %v into %s: %w", refs, n.String(), err)
		}
	}
	return nil
}

// MapImage implements platform.ImageMapper from Options.Images.
func (c *Cluster) MapImage(ref string) string {
	if local, ok := c.opts.Images[ref]; ok {
		return local
	}
	return ref
}
