package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/cloudlb/cloudlb/providers/aws"
)

// planOutput is the part of the plan output the tests look at.
type planOutput []struct {
	File         string         `json:"file"`
	Service      string         `json:"service"`
	Type         string         `json:"type"`
	Model        map[string]any `json:"model"`
	Placeholders []string       `json:"placeholders"`
}

func TestPlanJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, wantType string
		wantKeys             []string
		check                func(t *testing.T, m map[string]any)
	}{
		{
			name: "TLS classic", file: "testdata/plan/tls-clb.yaml", wantType: "classic",
			wantKeys: []string{"name", "listeners", "healthCheck", "attributes", "subnets", "instances", "managedSecurityGroup", "tags"},
			check: func(t *testing.T, m map[string]any) {
				ls := m["listeners"].([]any)
				https := ls[1].(map[string]any)
				if https["protocol"] != "HTTPS" || https["instanceProtocol"] != "HTTP" || !strings.HasPrefix(https["sslCertificateId"].(string), "arn:aws:acm:") {
					t.Errorf("443 listener: %v", https)
				}
				if http := ls[0].(map[string]any); http["instancePort"] != float64(30080) {
					t.Errorf("80 listener keeps its nodePort: %v", http)
				}
				if s := m["subnets"].([]any); len(s) != 1 || s[0] != aws.Unresolved {
					t.Errorf("subnets %v, want [%s]", s, aws.Unresolved)
				}
				if n := len(m["instances"].([]any)); n != 2 {
					t.Errorf("%d instances, want the 2 placeholder nodes", n)
				}
				if tags := m["tags"].(map[string]any); tags["kubernetes.io/cluster/prod"] != "owned" {
					t.Errorf("tags %v, want the --cluster-name ownership tag", tags)
				}
			},
		},
		{
			name: "NLB Local", file: "testdata/plan/nlb-local.yaml", wantType: "nlb",
			wantKeys: []string{"name", "listeners", "targetGroups", "nodeRules", "subnets", "instances", "tags"},
			check: func(t *testing.T, m map[string]any) {
				hc := m["targetGroups"].([]any)[0].(map[string]any)["healthCheck"].(map[string]any)
				if hc["protocol"] != "HTTP" || hc["path"] != "/healthz" {
					t.Errorf("Local health check: %v", hc)
				}
				if m["internal"] != true {
					t.Errorf("internal: %v", m["internal"])
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, "", "plan", "--cloud", "aws", "-o", "json", "--cluster-name", "prod", "--nodes", "2", "-f", tc.file)
			if code != exitOK {
				t.Fatalf("exit %d, want 0\n%s", code, errOut)
			}
			var got planOutput
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			if len(got) != 1 || got[0].Type != tc.wantType || got[0].File != tc.file {
				t.Fatalf("got %+v", got)
			}
			for _, k := range tc.wantKeys {
				if _, ok := got[0].Model[k]; !ok {
					t.Errorf("model has no %q: %v", k, got[0].Model)
				}
			}
			if len(got[0].Placeholders) == 0 {
				t.Error("no placeholders listed for a manifest without UID or nodePorts")
			}
			tc.check(t, got[0].Model)
		})
	}
}

func TestPlanInvalidAnnotation(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCLI(t, "", "plan", "--cloud", "aws", "-o", "json", "-f", "testdata/plan/invalid.yaml")
	if code != exitInvalid {
		t.Fatalf("exit %d, want %d\n%s", code, exitInvalid, errOut)
	}
	want := `testdata/plan/invalid.yaml: default/bad: service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval: "3": must be between 5 and 300`
	for _, want := range []string{want, "1 LoadBalancer Service planned for aws: 1 error, 0 warnings\n"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q does not contain %q", errOut, want)
		}
	}
	// The valid Service of the same file is still planned.
	var got planOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 || got[0].Service != "default/good" {
		t.Errorf("stdout %s (%v), want the plan of default/good", out, err)
	}
}

// TestPlanYAML reads a directory; -o text is the YAML form, and the default.
func TestPlanYAML(t *testing.T) {
	t.Parallel()
	var outputs []string
	for _, args := range [][]string{{"-o", "yaml"}, {"-o", "text"}, nil} {
		code, out, errOut := runCLI(t, "", append([]string{"plan", "--cloud", "aws", "-f", "testdata/plan"}, args...)...)
		if code != exitInvalid { // the directory holds invalid.yaml too
			t.Fatalf("%v: exit %d, want %d\n%s", args, code, exitInvalid, errOut)
		}
		var got planOutput
		if err := yaml.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: not YAML: %v\n%s", args, err, out)
		}
		var services []string
		for _, e := range got {
			services = append(services, e.Service+"="+e.Type)
		}
		if want := "default/good=classic shop/api=nlb shop/web=classic"; strings.Join(services, " ") != want {
			t.Errorf("%v: planned %v, want %s", args, services, want)
		}
		outputs = append(outputs, out)
	}
	if outputs[0] != outputs[1] || outputs[1] != outputs[2] {
		t.Errorf("-o yaml, -o text and the default differ:\n%s\n---\n%s\n---\n%s", outputs[0], outputs[1], outputs[2])
	}
}

func TestPlanUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		// A plan is one provider's model: without --cloud it names the choices.
		{"no cloud", []string{"plan", "-f", "testdata/plan/tls-clb.yaml"}, "cloudlb plan: --cloud is required: aws, azure or gce\n"},
		{"no input", []string{"plan", "--cloud", "aws"}, "no input"},
		{"other cloud", []string{"plan", "--cloud", "openstack", "-f", "testdata/plan/tls-clb.yaml"}, "allowed: aws, azure, gce"},
		{"bad output", []string{"plan", "--cloud", "aws", "-o", "xml", "-f", "testdata/plan/tls-clb.yaml"}, `-o "xml": allowed: text, json, yaml`},
		{"missing file", []string{"plan", "--cloud", "aws", "-f", "testdata/plan/nope.yaml"}, "testdata/plan/nope.yaml: no such file"},
		{"deployment only", []string{"plan", "--cloud", "aws", "-f", "testdata/noservice/deployment.yaml"}, "testdata/noservice/deployment.yaml: no Service to check"},
		{"negative nodes", []string{"plan", "--cloud", "aws", "--nodes", "-1", "-f", "testdata/plan/tls-clb.yaml"}, "--nodes -1: must be 0 or more"},
		{"missing cloud config", []string{"plan", "--cloud", "gce", "--cloud-config", "testdata/cloudconfig/nope.conf", "-f", "../../examples/gce/internal.yaml"},
			"cloudlb plan: --cloud-config: testdata/cloudconfig/nope.conf: no such file or directory"},
		// The provider's own parser reads the file, so its checks (unknown keys) apply.
		{"invalid aws cloud config", []string{"plan", "--cloud", "aws", "--cloud-config", "testdata/cloudconfig/aws-bad.ini", "-f", "testdata/plan/tls-clb.yaml"},
			"testdata/cloudconfig/aws-bad.ini:2"},
		{"another cloud's config", []string{"plan", "--cloud", "azure", "--cloud-config", "testdata/cloudconfig/aws.ini", "-f", "../../examples/azure/internal.yaml"},
			"cloudlb plan: --cloud-config: testdata/cloudconfig/aws.ini: azure cloud config: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, "", tc.args...)
			if code != exitUsage || !strings.Contains(errOut, tc.wantErr) || out != "" {
				t.Errorf("exit %d stderr %q stdout %q, want %d, %q and no stdout", code, errOut, out, exitUsage, tc.wantErr)
			}
		})
	}
}

// TestPlanCloudConfig checks that --cloud-config reaches each provider's model: names, tags,
// security groups and the zone of the placeholder nodes come from the file.
func TestPlanCloudConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cloud, config, file string
		want                []string // substrings of the JSON plan
	}{
		{"aws", "testdata/cloudconfig/aws.ini", "testdata/plan/tls-clb.yaml", []string{
			`"kubernetes.io/cluster/from-config": "owned"`, `"securityGroups": [` + "\n" + `        "sg-0123456789abcdef0"`,
		}},
		{"azure", "testdata/cloudconfig/azure.json", "../../examples/azure/internal.yaml", []string{
			`"name": "edge-internal"`, `"resourceGroup": "rg-prod"`, `"location": "westeurope"`,
		}},
		{"gce", "testdata/cloudconfig/gce.conf", "../../examples/gce/internal.yaml", []string{
			`"project": "my-project"`, `"region": "europe-west1"`, `"k8s-prod-node"`, "/zones/europe-west1-b/instanceGroups/",
		}},
	} {
		t.Run(tc.cloud, func(t *testing.T) {
			t.Parallel()
			args := []string{"plan", "--cloud", tc.cloud, "-o", "json", "-f", tc.file}
			_, without, _ := runCLI(t, "", args...)
			code, out, errOut := runCLI(t, "", append(args, "--cloud-config", tc.config)...)
			if code != exitOK {
				t.Fatalf("exit %d, want 0\n%s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("plan with %s lacks %q:\n%s", tc.config, w, out)
				}
				if strings.Contains(without, w) {
					t.Errorf("plan without a cloud config has %q too: the test proves nothing", w)
				}
			}
		})
	}
}

// TestPlanAzureAndGCE plans the docs' internal examples for the other two clouds and checks
// the model's core fields, read back as generic JSON.
func TestPlanAzureAndGCE(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cloud, file string
		check       func(m map[string]any) string
	}{
		{"azure", "../../examples/azure/internal.yaml", func(m map[string]any) string {
			lb, _ := m["loadBalancer"].(map[string]any)
			pool, _ := m["pool"].(map[string]any)
			addrs, _ := pool["addresses"].([]any)
			if m["internal"] != true || lb["name"] != "prod-internal" || len(addrs) != 2 {
				return fmt.Sprintf("internal %v, lb %v, %d pool addresses; want true, prod-internal, 2", m["internal"], lb["name"], len(addrs))
			}
			return ""
		}},
		{"gce", "../../examples/gce/internal.yaml", func(m map[string]any) string {
			frs, _ := m["forwardingRules"].([]any)
			if m["scheme"] != "INTERNAL" || len(frs) == 0 {
				return fmt.Sprintf("scheme %v, %d forwarding rules; want INTERNAL and at least one", m["scheme"], len(frs))
			}
			return ""
		}},
	} {
		t.Run(tc.cloud, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, "", "plan", "--cloud", tc.cloud, "-o", "json", "--cluster-name", "prod", "--nodes", "2", "-f", tc.file)
			if code != exitOK {
				t.Fatalf("exit %d, want 0\n%s", code, errOut)
			}
			var got planOutput
			if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 {
				t.Fatalf("not one plan (%v):\n%s", err, out)
			}
			if got[0].File != tc.file {
				t.Errorf("file = %q, want %q", got[0].File, tc.file)
			}
			if msg := tc.check(got[0].Model); msg != "" {
				t.Errorf("%s model: %s\n%s", tc.cloud, msg, out)
			}
		})
	}
}
