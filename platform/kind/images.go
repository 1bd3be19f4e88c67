package kind

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	cerrdefs "github.com/containerd/errdefs"

	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// LoadImages copies images from the Docker daemon into the containerd of
// every node, as `kind load docker-image` does, so that pods run them
// without a registry. Each image is saved once and imported node by node.
// It implements platform.ImageLoader.
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

// LoadLocalImages implements platform.LocalImageLoader: the refs the Docker
// daemon of the nodes holds are copied into every node (LoadImages).
func (c *Cluster) LoadLocalImages(ctx context.Context, refs ...string) ([]string, error) {
	var held []string
	for _, ref := range refs {
		_, err := c.docker.cli.ImageInspect(ctx, ref)
		switch {
		case err == nil:
			if !slices.Contains(held, ref) {
				held = append(held, ref)
			}
		case !cerrdefs.IsNotFound(err):
			return nil, fmt.Errorf("kind: look for image %s: %w", ref, err)
		}
	}
	slices.Sort(held)
	return held, c.LoadImages(ctx, held...)
}

// MapImage implements platform.ImageMapper from Options.Images and
// Options.LazyImages.
func (c *Cluster) MapImage(ref string) string {
	if local, ok := c.opts.Images[ref]; ok {
		return local
	}
	if local, ok := c.opts.LazyImages[ref]; ok {
		return local
	}
	return ref
}

// LoadImages copies images into every node of the running kind cluster
// named in Options.Name, which need not be open in this process: each
// argument is an image of the Docker daemon the cluster runs on, or a
// docker-archive tar file (`docker save`) when a file of that path exists.
// It is how images reach nodes that cannot pull them (`faultline images
// load`).
func (p *Platform) LoadImages(ctx context.Context, images ...string) error {
	name := p.opts.Name
	st := state{dir: p.opts.StateDir}
	if rec, ok := st.read(name); ok && p.opts.DockerHost == "" && rec.DockerHost != "" {
		os.Setenv("DOCKER_HOST", rec.DockerHost)
	}
	nodes, err := p.provider().ListInternalNodes(name)
	if err != nil {
		return fmt.Errorf("kind: load images into %s: %w", name, err)
	}
	if len(nodes) == 0 {
		return fmt.Errorf("kind: load images: no cluster named %s is running", name)
	}
	var refs []string
	var archives [][]byte
	for _, img := range images {
		if fi, err := os.Stat(img); err == nil && !fi.IsDir() {
			data, err := os.ReadFile(img)
			if err != nil {
				return fmt.Errorf("kind: load images: %w", err)
			}
			archives = append(archives, data)
			continue
		}
		refs = append(refs, img)
	}
	if len(refs) > 0 {
		d, err := newDocker(os.Getenv("DOCKER_HOST"))
		if err != nil {
			return err
		}
		defer d.close()
		res, err := d.cli.ImageSave(ctx, refs)
		if err != nil {
			return fmt.Errorf("kind: load images: docker save %v: %w", refs, err)
		}
		var archive bytes.Buffer
		_, err = io.Copy(&archive, res)
		res.Close()
		if err != nil {
			return fmt.Errorf("kind: load images: docker save %v: %w", refs, err)
		}
		archives = append(archives, archive.Bytes())
	}
	for _, n := range nodes {
		for _, a := range archives {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := nodeutils.LoadImageArchive(n, bytes.NewReader(a)); err != nil {
				return fmt.Errorf("kind: load images into %s: %w", n.String(), err)
			}
		}
	}
	return nil
}
