package gce

import (
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
