// Package crdschema validates objects against the OpenAPI schemas of
// custom resource definitions the way the API server does: structural
// schema validation, unknown fields found by pruning, and the schemas'
// CEL rules, all with the apiextensions API server's own code.
package crdschema

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/faultline-dev/faultline/platform/kube"
)

// version is one served version's schema.
type version struct {
	structural *structuralschema.Structural
	validator  validation.SchemaValidator
	cel        *cel.Validator
}

// Set holds the schemas of the kinds of some CRDs, by group, version and
// kind.
type Set struct {
	kinds map[schema.GroupVersionKind]version
}

// Load reads CRDs from YAML files (several documents each) into a Set.
func Load(files ...string) (*Set, error) {
	s := &Set{kinds: map[schema.GroupVersionKind]version{}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("crdschema: %w", err)
		}
		objs, err := kube.DecodeYAML(data)
		if err != nil {
			return nil, fmt.Errorf("crdschema: %s: %w", f, err)
		}
		for _, o := range objs {
			if o.GetKind() != "CustomResourceDefinition" {
				continue
			}
			if err := s.add(o); err != nil {
				return nil, fmt.Errorf("crdschema: %s: %w", f, err)
			}
		}
	}
	return s, nil
}

func (s *Set) add(o *unstructured.Unstructured) error {
	data, err := yaml.Marshal(o.Object)
	if err != nil {
		return err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &crd); err != nil {
		return fmt.Errorf("CRD %s: %w", o.GetName(), err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		var internal apiextensions.CustomResourceValidation
		if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(v.Schema, &internal, nil); err != nil {
			return fmt.Errorf("CRD %s %s: %w", crd.Name, v.Name, err)
		}
		st, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
		if err != nil {
			return fmt.Errorf("CRD %s %s: not structural: %w", crd.Name, v.Name, err)
		}
		sv, _, err := validation.NewSchemaValidator(internal.OpenAPIV3Schema)
		if err != nil {
			return fmt.Errorf("CRD %s %s: %w", crd.Name, v.Name, err)
		}
		gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}
		s.kinds[gvk] = version{structural: st, validator: sv, cel: cel.NewValidator(st, true, celconfig.PerCallLimit)}
	}
	return nil
}

// Covers reports whether the Set has a schema for gvk.
func (s *Set) Covers(gvk schema.GroupVersionKind) bool {
	_, ok := s.kinds[gvk]
	return ok
}

// Kinds lists the kinds the Set has schemas for.
func (s *Set) Kinds() []schema.GroupVersionKind {
	out := make([]schema.GroupVersionKind, 0, len(s.kinds))
	for k := range s.kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Validate checks o against its kind's schema: the OpenAPI validation the
// API server runs on create, fields the schema does not know (which the
// server would prune, or refuse under strict field validation), and the
// schema's x-kubernetes-validations rules. It returns nil for a valid
// object, and an error listing every problem otherwise; an object of a
// kind the Set does not cover is an error.
func (s *Set) Validate(ctx context.Context, o *unstructured.Unstructured) error {
	v, ok := s.kinds[o.GroupVersionKind()]
	if !ok {
		return fmt.Errorf("%s: no schema for %s", kube.Describe(o), o.GroupVersionKind())
	}
	obj := o.DeepCopy().Object
	var errs field.ErrorList
	errs = append(errs, validation.ValidateCustomResource(nil, obj, v.validator)...)
	pruned := pruning.PruneWithOptions(o.DeepCopy().Object, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, p := range pruned {
		errs = append(errs, field.Invalid(field.NewPath(p), nil, "unknown field"))
	}
	if v.cel != nil {
		celErrs, _ := v.cel.Validate(ctx, nil, v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
		errs = append(errs, celErrs...)
	}
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%s: %s", kube.Describe(o), strings.Join(msgs, "; "))
}
