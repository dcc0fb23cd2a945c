package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// promFunctions are the PromQL functions, aggregations and keywords the example rules use;
// every other identifier in an expression is a metric name.
var promFunctions = []string{"sum", "max", "min", "avg", "count", "rate", "increase", "absent", "time", "by", "without", "or", "and", "unless", "on", "ignoring"}

// TestExampleAlertsUseServedMetrics reads docs/monitoring/prometheusrule.yaml and checks that
// every metric its expressions name is one docs/metrics.md describes (and so one the binaries
// serve: TestBinaryRunsUnderShippedRBAC checks that side), and that each rule has what the
// prometheus-operator requires (alert, expr, a severity label).
func TestExampleAlertsUseServedMetrics(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "docs", "monitoring", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Kind string `json:"kind"`
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert  string            `json:"alert"`
					Expr   string            `json:"expr"`
					Labels map[string]string `json:"labels"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &rule); err != nil || rule.Kind != "PrometheusRule" || len(rule.Spec.Groups) == 0 {
		t.Fatalf("not a PrometheusRule with groups: %v", err)
	}
	ident := regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	strip := regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|"[^"]*"`)
	n := 0
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" {
				t.Errorf("rule %q: want alert, expr and a severity label", r.Alert)
			}
			// Label matchers and ranges are not metric names; grouping labels have no underscore.
			expr := strip.ReplaceAllString(r.Expr, " ")
			for _, id := range ident.FindAllString(expr, -1) {
				if slices.Contains(promFunctions, id) || !strings.Contains(id, "_") {
					continue
				}
				if !strings.Contains(string(doc), "`"+id+"`") && !strings.Contains(string(doc), "`"+id+"{") {
					t.Errorf("rule %q uses %s, which docs/metrics.md does not describe", r.Alert, id)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no rules")
	}
}
