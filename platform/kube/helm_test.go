package kube

import (
	"os"
	"path/filepath"
	"testing"
)

// TestChartRenderFromDirectory renders a chart written for the test with
// typed values, as an engine passes them.
func TestChartRenderFromDirectory(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"Chart.yaml":            "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
		"values.yaml":           "replicas: 1\nimage: demo:1\n",
		"templates/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: {{ .Release.Name }}}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector: {matchLabels: {app: demo}}\n  template:\n    metadata: {labels: {app: demo}}\n    spec:\n      containers: [{name: demo, image: {{ .Values.image | quote }}}]\n",
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	type values struct {
		Replicas int    `json:"replicas"`
		Image    string `json:"image"`
	}
	ch := Chart{Source: ChartSource{Dir: dir}, Release: "rel", Namespace: "ns", Values: values{Replicas: 3, Image: "demo:2"}}
	objs, err := ch.Render(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].GetName() != "rel" || objs[0].GetNamespace() != "ns" {
		t.Fatalf("rendered %d objects: %v", len(objs), objs)
	}
	if got := Images(objs); len(got) != 1 || got[0] != "demo:2" {
		t.Errorf("images %v, want the typed value demo:2", got)
	}
}
