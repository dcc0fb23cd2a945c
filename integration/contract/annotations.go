package contract

import (
	"maps"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
)

// AnnotationCase creates a Service with Before, waits for Was, replaces its annotations with
// After (a key left out is removed) and waits for Now.
type AnnotationCase struct {
	Name string
	// Keys are the registry keys whose change the case shows: whole, or without the
	// cloud's Annotations.Prefix.
	Keys          []string
	Before, After map[string]string
	// Spec adjusts the Service.
	Spec func(*v1.Service)
	// Prepare runs before the case's tenant (so that what it makes outlives the Services)
	// and may fill in the case (a reserved address in the annotations and in Now).
	Prepare func(t *testing.T, c *AnnotationCase)
	// Was is what the cloud holds before the change (nil: the ingress), Now after it.
	Was, Now Check
}

// Annotations are a cloud's annotation cases and what keeps them complete.
type Annotations struct {
	Cloud annotations.Cloud
	// Prefix completes the short keys of Keys and Elsewhere.
	Prefix string
	// NewService builds a case's Service.
	NewService func(name string, ann map[string]string, opts ...func(*v1.Service)) *v1.Service
	Cases      []AnnotationCase
	// Elsewhere names the keys without a case, and where their effect is shown instead.
	Elsewhere map[string]string
	// SkipUnchangeable leaves out the keys whose change does nothing (annotations.NoChange):
	// GCE's are names the provider writes back and never reads.
	SkipUnchangeable bool
}

// AnnotationsTest creates a Service per case, changes its annotations through the API
// server and waits for the controller to bring the cloud along, the cases in parallel.
func AnnotationsTest(t *testing.T, c Cloud, a Annotations) {
	for _, ac := range a.Cases {
		t.Run(ac.Name, func(t *testing.T) {
			t.Parallel()
			if ac.Prepare != nil {
				ac.Prepare(t, &ac)
			}
			tn := NewTenant(t, c.Tenants())
			var opts []func(*v1.Service)
			if ac.Spec != nil {
				opts = append(opts, ac.Spec)
			}
			before := maps.Clone(ac.Before)
			if before == nil {
				before = map[string]string{}
			}
			svc := tn.Create(a.NewService(ac.Name, before, opts...))
			tn.WaitHolds(svc.Name, ac.Was)
			tn.Update(svc.Name, func(s *v1.Service) { s.Annotations = maps.Clone(ac.After) })
			tn.WaitCheck(svc.Name, "after the change", ac.Now)
		})
	}
}

// CoverageTest fails when a key of the cloud's registry has neither a case nor an entry in
// Elsewhere nor an Unsupported reason, and when a case or Elsewhere names a key that is
// neither the cloud's nor a core key.
func CoverageTest(t *testing.T, a Annotations) {
	full := func(k string) string {
		if strings.Contains(k, "/") {
			return k
		}
		return a.Prefix + k
	}
	covered := map[string]bool{}
	for _, c := range a.Cases {
		for _, k := range c.Keys {
			covered[full(k)] = true
		}
	}
	elsewhere := map[string]string{}
	for k, why := range a.Elsewhere {
		elsewhere[full(k)] = why
	}
	// Cases may show core keys too (load-balancer-source-ranges): they are known, and
	// another cloud's suite may cover them.
	known := map[string]bool{}
	for _, d := range annotations.ForCloud(annotations.Core) {
		known[d.Key] = true
	}
	for _, d := range annotations.ForCloud(a.Cloud) {
		known[d.Key] = true
		has := covered[d.Key]
		for _, alias := range d.Aliases {
			known[alias] = true
			has = has || covered[alias]
		}
		if has || d.Unsupported != "" || elsewhere[d.Key] != "" || (a.SkipUnchangeable && d.Change == annotations.NoChange) {
			continue
		}
		t.Errorf("%s: no case in EveryAnnotationChanged and no entry in coveredElsewhere", d.Key)
	}
	for k := range covered {
		if !known[k] {
			t.Errorf("a case names %s, which is neither a %s nor a core key of the registry", k, a.Cloud)
		}
	}
	for k := range elsewhere {
		if !known[k] {
			t.Errorf("coveredElsewhere names %s, which is neither a %s nor a core key of the registry", k, a.Cloud)
		}
	}
}
