package kube

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Step is one thing a deployment installs, in order: a Helm chart, an
// operator's release manifest, or objects faultline generates. Exactly
// one of Chart, Manifest and Objects is set.
type Step struct {
	// Name says what the step installs ("operator", "cluster").
	Name string
	// Chart is a Helm release.
	Chart *Chart
	// Manifest is an operator's release manifest.
	Manifest *ReleaseManifest
	// Objects are objects faultline generates.
	Objects []*unstructured.Unstructured
	// Images are the images the step runs, including those an operator
	// injects into the pods it creates: what the nodes must hold or pull.
	Images []string
}

// Images lists the images of every step, without duplicates.
func (p Plan) Images() []string {
	var out []string
	for _, s := range p {
		for _, img := range s.Images {
			if !slices.Contains(out, img) {
				out = append(out, img)
			}
		}
	}
	return out
}

// Plan is what a deployment installs, in order.
type Plan []Step

// Objects returns the objects faultline generates itself, over every step.
func (p Plan) Objects() []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, s := range p {
		out = append(out, s.Objects...)
	}
	return out
}

// WriteYAML prints the plan as a YAML stream: each chart step as a
// comment naming the chart and release followed by its values as a
// document, each release manifest step as a comment naming its source
// and the images it rewrites, and each generated object as a document.
func (p Plan) WriteYAML(w io.Writer) error {
	var b bytes.Buffer
	for _, s := range p {
		for _, img := range s.Images {
			fmt.Fprintf(&b, "# step %s runs image %s\n", s.Name, img)
		}
		switch {
		case s.Chart != nil:
			fmt.Fprintf(&b, "# step %s: Helm chart %s, release %s in namespace %s; its values:\n",
				s.Name, s.Chart.Source, s.Chart.Release, s.Chart.Namespace)
			vals, err := s.Chart.ValuesMap()
			if err != nil {
				return err
			}
			if err := writeDoc(&b, vals); err != nil {
				return err
			}
		case s.Manifest != nil:
			fmt.Fprintf(&b, "# step %s: release manifest %s\n", s.Name, s.Manifest.Source)
			for from, to := range sortedMap(s.Manifest.Images) {
				fmt.Fprintf(&b, "#   image %s -> %s\n", from, to)
			}
			if s.Manifest.PullIfNotPresent {
				b.WriteString("#   imagePullPolicy Always -> IfNotPresent\n")
			}
			for k, v := range sortedMap(s.Manifest.NodeSelector) {
				fmt.Fprintf(&b, "#   Deployments' nodeSelector %s=%s\n", k, v)
			}
			for _, t := range s.Manifest.Tolerations {
				fmt.Fprintf(&b, "#   Deployments' toleration %s %s %s\n", t.Key, t.Operator, t.Effect)
			}
			if s.Manifest.Namespace != "" {
				fmt.Fprintf(&b, "#   objects without a namespace go to %s\n", s.Manifest.Namespace)
			}
		default:
			fmt.Fprintf(&b, "# step %s: %d objects\n", s.Name, len(s.Objects))
			for _, o := range s.Objects {
				if err := writeDoc(&b, o.Object); err != nil {
					return err
				}
			}
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func writeDoc(b *bytes.Buffer, v any) error {
	y, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	b.WriteString("---\n")
	b.Write(y)
	return nil
}

// sortedMap iterates m in key order.
func sortedMap(m map[string]string) func(func(string, string) bool) {
	return func(yield func(string, string) bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}

// Install carries out the plan on a cluster: charts through the Helm SDK,
// release manifests and objects by server-side apply. What each step
// applied is recorded in dir (when set) as STEP.yaml.
func (p Plan) Install(ctx context.Context, c *Clients, dir string) error {
	for _, s := range p {
		record := ""
		if dir != "" {
			record = filepath.Join(dir, s.Name+".yaml")
		}
		switch {
		case s.Chart != nil:
			if err := s.Chart.Install(ctx, c, record); err != nil {
				return err
			}
		case s.Manifest != nil:
			objs, err := s.Manifest.Load(ctx)
			if err != nil {
				return err
			}
			if err := recordObjects(record, objs); err != nil {
				return err
			}
			if err := Apply(ctx, c, objs, ApplyOptions{}); err != nil {
				return fmt.Errorf("step %s: %w", s.Name, err)
			}
		default:
			if err := recordObjects(record, s.Objects); err != nil {
				return err
			}
			if err := Apply(ctx, c, s.Objects, ApplyOptions{}); err != nil {
				return fmt.Errorf("step %s: %w", s.Name, err)
			}
		}
	}
	return nil
}

func recordObjects(path string, objs []*unstructured.Unstructured) error {
	if path == "" {
		return nil
	}
	var b bytes.Buffer
	for _, o := range objs {
		if err := writeDoc(&b, o.Object); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
