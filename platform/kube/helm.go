package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/yaml"
)

// ChartSource says where a chart comes from: a chart repository (Repo
// and Name), an OCI reference, or a directory. Version pins the chart
// for repositories and OCI references; a directory is whatever it holds.
type ChartSource struct {
	// Repo is a chart repository URL (https://…) and Name the chart in it.
	Repo, Name string
	// OCI is an OCI chart reference (oci://registry/path/chart).
	OCI string
	// Dir is a local chart directory or packaged chart (.tgz).
	Dir string
	// Version is the chart version to fetch from Repo or OCI.
	Version string
	// Label names the source in output in place of its location (a
	// directory in a Go module cache, named by module and version).
	Label string
}

// ParseChartSource reads a chart source as users write it: an oci://
// reference, an http(s) repository URL (of the chart name), or a local
// path; version pins what is fetched.
func ParseChartSource(s, name, version string) (ChartSource, error) {
	switch {
	case s == "":
		return ChartSource{}, fmt.Errorf("empty chart source")
	case strings.HasPrefix(s, "oci://"):
		return ChartSource{OCI: s, Version: version}, nil
	case strings.HasPrefix(s, "https://"), strings.HasPrefix(s, "http://"):
		return ChartSource{Repo: s, Name: name, Version: version}, nil
	case strings.Contains(s, "://"):
		return ChartSource{}, fmt.Errorf("chart source %s: want an oci:// reference, an http(s) repository URL or a local path", Truncate(s, 60))
	}
	return ChartSource{Dir: s}, nil
}

// String describes the source.
func (s ChartSource) String() string {
	switch {
	case s.Label != "":
		return s.Label
	case s.Dir != "":
		return s.Dir
	case s.OCI != "":
		return s.OCI + " " + s.Version
	}
	return s.Repo + " " + s.Name + " " + s.Version
}

// Chart is a Helm release faultline installs: a chart, the release's name
// and namespace, and values typed in Go (marshalled to JSON, then to the
// chart's values).
type Chart struct {
	// Source is where the chart comes from.
	Source ChartSource `json:"source"`
	// Release and Namespace name the release.
	Release   string `json:"release"`
	Namespace string `json:"namespace"`
	// Values are the release's values, a Go value that marshals to JSON.
	Values any `json:"values"`
}

// ValuesMap turns the typed values into Helm's map.
func (ch Chart) ValuesMap() (map[string]any, error) {
	if ch.Values == nil {
		return map[string]any{}, nil
	}
	b, err := json.Marshal(ch.Values)
	if err != nil {
		return nil, fmt.Errorf("chart %s: values: %w", ch.Release, err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("chart %s: values: %w", ch.Release, err)
	}
	return m, nil
}

// load fetches (repository, OCI) or reads (directory) the chart.
func (ch Chart) load(ctx context.Context, cfg *action.Configuration) (*chart.Chart, error) {
	src := ch.Source
	if src.Dir != "" {
		c, err := loader.Load(src.Dir)
		if err != nil {
			return nil, fmt.Errorf("chart %s: load %s: %w", ch.Release, src.Dir, err)
		}
		return c, nil
	}
	in := action.NewInstall(cfg)
	in.Version = src.Version
	name := src.OCI
	if src.Repo != "" {
		in.RepoURL, name = src.Repo, src.Name
	}
	if src.OCI != "" {
		rc, err := registry.NewClient(registry.ClientOptWriter(io.Discard))
		if err != nil {
			return nil, fmt.Errorf("chart %s: registry client: %w", ch.Release, err)
		}
		cfg.RegistryClient = rc
		in.SetRegistryClient(rc)
	}
	path, err := in.LocateChart(name, cli.New())
	if err != nil {
		return nil, fmt.Errorf("chart %s: fetch %s: %w", ch.Release, src, err)
	}
	c, err := loader.Load(path)
	if err != nil {
		return nil, fmt.Errorf("chart %s: load %s: %w", ch.Release, path, err)
	}
	return c, nil
}

// Render renders the chart without a cluster (Helm's client-only dry
// run, CRDs included) and returns its objects in the order Helm would
// install them.
func (ch Chart) Render(ctx context.Context) ([]*unstructured.Unstructured, error) {
	cfg := &action.Configuration{}
	c, err := ch.load(ctx, cfg)
	if err != nil {
		return nil, err
	}
	vals, err := ch.ValuesMap()
	if err != nil {
		return nil, err
	}
	in := action.NewInstall(cfg)
	in.ClientOnly, in.DryRun, in.IncludeCRDs = true, true, true
	in.ReleaseName, in.Namespace = ch.Release, ch.Namespace
	in.Replace = true
	rel, err := in.RunWithContext(ctx, c, vals)
	if err != nil {
		return nil, fmt.Errorf("chart %s: render: %w", ch.Release, err)
	}
	objs, err := DecodeYAML([]byte(rel.Manifest))
	if err != nil {
		return nil, fmt.Errorf("chart %s: rendered manifest: %w", ch.Release, err)
	}
	for _, o := range objs {
		if o.GetNamespace() == "" && namespaced(o) {
			o.SetNamespace(ch.Namespace)
		}
	}
	return objs, nil
}

// namespaced guesses whether an object's kind is namespaced, for the
// rendered objects of a chart that leaves the namespace to Helm.
func namespaced(o *unstructured.Unstructured) bool {
	switch o.GetKind() {
	case "Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "PriorityClass",
		"StorageClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "PersistentVolume":
		return false
	}
	return true
}

// Install installs the release on the cluster, or upgrades it when it is
// installed already, through the Helm SDK (hooks run, the release is
// recorded in the cluster as the helm command would record it), creating
// the namespace if needed. It does not wait for the objects to be ready.
// When record is not empty the rendered manifest is written there (a
// file in the run directory).
func (ch Chart) Install(ctx context.Context, c *Clients, record string) error {
	flags := genericclioptions.NewConfigFlags(true)
	flags.KubeConfig, flags.Context, flags.Namespace = &c.Kubeconfig, &c.Context, &ch.Namespace
	cfg := &action.Configuration{}
	if err := cfg.Init(flags, ch.Namespace, "secret", func(string, ...any) {}); err != nil {
		return fmt.Errorf("chart %s: helm: %w", ch.Release, err)
	}
	chrt, err := ch.load(ctx, cfg)
	if err != nil {
		return err
	}
	vals, err := ch.ValuesMap()
	if err != nil {
		return err
	}
	var manifest string
	_, err = action.NewGet(cfg).Run(ch.Release)
	switch {
	case err == nil:
		up := action.NewUpgrade(cfg)
		up.Namespace = ch.Namespace
		rel, uerr := up.RunWithContext(ctx, ch.Release, chrt, vals)
		if uerr != nil {
			return fmt.Errorf("chart %s: upgrade: %w", ch.Release, uerr)
		}
		manifest = rel.Manifest
	case err == driver.ErrReleaseNotFound || strings.Contains(err.Error(), "not found"):
		in := action.NewInstall(cfg)
		in.ReleaseName, in.Namespace, in.CreateNamespace = ch.Release, ch.Namespace, true
		rel, ierr := in.RunWithContext(ctx, chrt, vals)
		if ierr != nil {
			return fmt.Errorf("chart %s: install: %w", ch.Release, ierr)
		}
		manifest = rel.Manifest
	default:
		return fmt.Errorf("chart %s: %w", ch.Release, err)
	}
	c.Mapper.Reset()
	return writeRecord(record, manifest)
}

// writeRecord writes what was applied into the run directory.
func writeRecord(path, manifest string) error {
	if path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(manifest), 0o644)
}

// DecodeYAML decodes a stream of YAML documents into objects, skipping
// empty documents and flattening Lists.
func DecodeYAML(data []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for i, doc := range splitYAML(data) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.IsList() {
			l, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("document %d: %w", i+1, err)
			}
			for j := range l.Items {
				out = append(out, &l.Items[j])
			}
			continue
		}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, fmt.Errorf("document %d: no apiVersion and kind", i+1)
		}
		out = append(out, u)
	}
	return out, nil
}

// splitYAML splits a YAML stream at its document separators.
func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	var cur []byte
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if t := bytes.TrimRight(line, " \t\r\n"); bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) {
			docs = append(docs, cur)
			cur = nil
			continue
		}
		cur = append(cur, line...)
	}
	return append(docs, cur)
}
