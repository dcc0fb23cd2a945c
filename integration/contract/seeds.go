package contract

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Seeds are a cloud's example manifests and what the cloud holds for each.
type Seeds struct {
	// Dir holds the manifests (examples/<cloud>).
	Dir string
	// Replace swaps the manifests' placeholders (old, new pairs) for the suite's IDs.
	Replace []string
	// Cases: what the cloud holds for each file's Service; every file needs one.
	Cases map[string]Check
	// Variants are more Services a file's case must hold for (by file), named apart.
	Variants map[string][]*v1.Service
}

// LoadSeed reads one example Service, its placeholders (old, new pairs) replaced.
func LoadSeed(t *testing.T, dir, file string, replace ...string) *v1.Service {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	var svc v1.Service
	if err := yaml.UnmarshalStrict([]byte(strings.NewReplacer(replace...).Replace(string(data))), &svc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return &svc
}

// SeedsTest applies every manifest of the directory through the controller and checks the
// Service's status and what the cloud holds. Every file must have a case, so a new example
// cannot go untested.
func SeedsTest(t *testing.T, c Cloud, s Seeds) {
	files, err := filepath.Glob(filepath.Join(s.Dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed examples in %s: %v", s.Dir, err)
	}
	tn := NewTenant(t, c.Tenants())
	type seeded struct {
		name  string
		svc   *v1.Service
		check Check
	}
	var all []seeded
	for _, f := range files {
		file := filepath.Base(f)
		check, ok := s.Cases[file]
		if !ok {
			t.Errorf("%s has no expectations in the suite's seed cases", f)
			continue
		}
		svc := LoadSeed(t, s.Dir, file, s.Replace...)
		// Examples share names (the docs' all say my-service): the file name keeps them apart.
		svc.Name = strings.TrimSuffix(file, ".yaml")
		all = append(all, seeded{file, tn.Create(svc), check})
		for _, v := range s.Variants[file] {
			all = append(all, seeded{file + " (" + v.Name + ")", tn.Create(v), check})
		}
	}
	for _, sd := range all {
		t.Run(sd.name, func(t *testing.T) {
			sub := *tn // fails the subtest, not its parent
			sub.T = t
			sub.WaitHolds(sd.svc.Name, sd.check)
		})
	}
}
