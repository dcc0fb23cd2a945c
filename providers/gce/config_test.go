package gce

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseCloudConfig(t *testing.T) {
	t.Parallel()
	const conf = `
# upstream gce.conf
[global]
project-id = my-project
network-project-id = host-project
network-name = vpc-1
subnetwork-name = nodes
node-tags = gke-a-node
node-tags = gke-b-node, gke-c-node
node-instance-prefix = gke-
regional = true
multizone = true
token-url = nil
api-endpoint = http://127.0.0.1:8080/compute/v1/
local-zone = europe-west1-b
alpha-features = ILBSubsets
`
	cfg, err := ParseCloudConfig(strings.NewReader(conf))
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Global
	if g.ProjectID != "my-project" || g.NetworkProjectID != "host-project" || !g.Regional || !g.Multizone || g.NodeInstancePrefix != "gke-" {
		t.Errorf("global = %+v", g)
	}
	if !slices.Equal(g.NodeTags, []string{"gke-a-node", "gke-b-node", "gke-c-node"}) {
		t.Errorf("node tags = %v", g.NodeTags)
	}
	if cfg.region() != "europe-west1" {
		t.Errorf("region = %q", cfg.region())
	}
	if cfg.endpoint() != "http://127.0.0.1:8080" || !cfg.noAuth() {
		t.Errorf("endpoint %q noAuth %v", cfg.endpoint(), cfg.noAuth())
	}
	if got, want := cfg.networkURL(), "projects/host-project/global/networks/vpc-1"; got != want {
		t.Errorf("network = %q, want %q", got, want)
	}
	if got, want := cfg.subnetworkURL("nodes"), "projects/host-project/regions/europe-west1/subnetworks/nodes"; got != want {
		t.Errorf("subnetwork = %q, want %q", got, want)
	}
}

func TestParseCloudConfigErrors(t *testing.T) {
	t.Parallel()
	for name, conf := range map[string]string{
		"unknown section":  "[Global]\nproject-id = p\n[other]\n",
		"outside section":  "project-id = p\n",
		"no equals":        "[global]\nproject-id\n",
		"bad bool":         "[global]\nregional = maybe\n",
		"unterminated sec": "[global\n",
	} {
		if _, err := ParseCloudConfig(strings.NewReader(conf)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestAuthSelection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		endpoint, token string
		noAuth          bool
	}{
		{"", "", false},
		{"https://compute.googleapis.com", "", false},
		{"http://127.0.0.1:9999", "", true},
		{"http://localhost:9999", "", true},
		{"http://10.0.0.5:80", "", false},
		{"https://example.com", "nil", true},
	}
	for _, tt := range tests {
		c := &CloudConfig{}
		c.Global.APIEndpoint, c.Global.TokenURL = tt.endpoint, tt.token
		if c.noAuth() != tt.noAuth {
			t.Errorf("endpoint %q token %q: noAuth %v, want %v", tt.endpoint, tt.token, c.noAuth(), tt.noAuth)
		}
	}
}

func TestNewFromConfigNeedsProjectAndRegion(t *testing.T) {
	t.Parallel()
	for _, conf := range []string{"[global]\nlocal-zone = us-central1-a\n", "[global]\nproject-id = p\n"} {
		cfg, err := ParseCloudConfig(strings.NewReader(conf))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewFromConfig(t.Context(), cfg); err == nil {
			t.Errorf("%q: no error", conf)
		}
	}
}

// TestParseCloudConfigGcfg pins the gcfg semantics upstream's gce.conf files are written for.
func TestParseCloudConfigGcfg(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		in    string
		check func(t *testing.T, c *CloudConfig)
	}{
		{"inline ; comment", "[global]\nproject-id = my-proj ; inline comment\n", func(t *testing.T, c *CloudConfig) {
			if c.Global.ProjectID != "my-proj" {
				t.Errorf("project %q", c.Global.ProjectID)
			}
		}},
		{"inline # comment in a multi-valued key", "[global]\nnode-tags = a\nnode-tags = b # c\n", func(t *testing.T, c *CloudConfig) {
			if !slices.Equal(c.Global.NodeTags, []string{"a", "b"}) {
				t.Errorf("node tags %q", c.Global.NodeTags)
			}
		}},
		{"quoted value keeps ; and #", "[global]\nproject-id = \"my;proj#1\" ; comment\n", func(t *testing.T, c *CloudConfig) {
			if c.Global.ProjectID != "my;proj#1" {
				t.Errorf("project %q", c.Global.ProjectID)
			}
		}},
		{"names without case", "[Global]\nProject-ID = p\nREGIONAL = true\n", func(t *testing.T, c *CloudConfig) {
			if c.Global.ProjectID != "p" || !c.Global.Regional {
				t.Errorf("global %+v", c.Global)
			}
		}},
		{"multi-valued alpha-features", "[global]\nalpha-features = A\nalpha-features = B\n", func(t *testing.T, c *CloudConfig) {
			if !slices.Equal(c.Global.AlphaFeatures, []string{"A", "B"}) {
				t.Errorf("alpha features %q", c.Global.AlphaFeatures)
			}
		}},
		{"blank multi-valued key resets it", "[global]\nnode-tags = a\nnode-tags\nnode-tags = b\n", func(t *testing.T, c *CloudConfig) {
			if !slices.Equal(c.Global.NodeTags, []string{"b"}) {
				t.Errorf("node tags %q", c.Global.NodeTags)
			}
		}},
		{"upstream keys cloudlb ignores", "[global]\nstack-type = IPV4\nsecondary-range-name = pods\ncontainer-api-endpoint = https://c\ntoken-body = {}\n", func(t *testing.T, c *CloudConfig) {
			if c.Global.StackType != "IPV4" || c.Global.SecondaryRangeName != "pods" {
				t.Errorf("global %+v", c.Global)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseCloudConfig(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestParseCloudConfigUnknownKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want UnknownKeyError
		msg  string
	}{
		{"typo of a key", "[global]\nproject-id = p\nnode-tag = a\n",
			UnknownKeyError{Line: 3, Section: "global", Key: "node-tag", Nearest: "node-tags"},
			`gce cloud config: line 3: unknown key "node-tag" in [global], did you mean node-tags?`},
		{"Go name is not a key", "[global]\nProjectID = p\n",
			UnknownKeyError{Line: 2, Section: "global", Key: "ProjectID", Nearest: "project-id"}, "did you mean project-id?"},
		{"typo of a section", "[globals]\nproject-id = p\n",
			UnknownKeyError{Line: 1, Section: "globals", Nearest: "global"}, "unknown section [globals], did you mean global?"},
		{"subsection", "[global \"a\"]\nproject-id = p\n",
			UnknownKeyError{Line: 1, Section: `global "a"`, Nearest: "global"}, `unknown section [global "a"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseCloudConfig(strings.NewReader(tc.in))
			var uk *UnknownKeyError
			if !errors.As(err, &uk) {
				t.Fatalf("err = %v, want an UnknownKeyError", err)
			}
			if *uk != tc.want {
				t.Errorf("got %+v, want %+v", *uk, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q does not contain %q", err, tc.msg)
			}
		})
	}
}

func TestEffective(t *testing.T) {
	t.Parallel()
	cfg, err := ParseCloudConfig(strings.NewReader("[global]\nproject-id = p\nlocal-zone = europe-west1-b\nnode-tags = a\ntoken-body = s3cret\nmultizone = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	kv := cfg.Effective()
	got := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		got[kv[i].(string)] = kv[i+1]
	}
	want := map[string]any{
		"project-id": "p", "local-zone": "europe-west1-b", "node-tags": []string{"a"}, "effectiveRegion": "europe-west1",
		"effectiveNetwork": "projects/p/global/networks/default", "ignoredKeys": []string{"multizone", "token-body"},
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if s := fmt.Sprint(kv...); strings.Contains(s, "s3cret") {
		t.Errorf("the token body is logged: %s", s)
	}
}
