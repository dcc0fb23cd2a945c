package main

import (
	"testing"

	"github.com/cloudlb/cloudlb/annotations"
)

// TestLintRejectsDocumentedLimits checks that every documented limit violation in
// testdata/limits.yaml is an error on exactly the offending key, for every cloud selection.
func TestLintRejectsDocumentedLimits(t *testing.T) {
	t.Parallel()
	docs, err := readInputs([]string{"testdata/limits.yaml"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 20 {
		t.Fatalf("read %d Services, want at least 20", len(docs))
	}
	for _, d := range docs {
		want := d.Service.Annotations["cloudlb.test/expect-key"]
		t.Run(d.Service.Name, func(t *testing.T) {
			t.Parallel()
			findings := lint([]document{d}, annotations.AnyCloud).findings
			var errs []string
			for _, f := range findings {
				if f.Severity == annotations.Error {
					errs = append(errs, f.String())
					if f.Key != want {
						t.Errorf("error on %s, want only on %s: %s", f.Key, want, f)
					}
				}
			}
			if len(errs) == 0 {
				t.Errorf("no error, want one on %s (findings: %v)", want, findings)
			}
		})
	}
}
