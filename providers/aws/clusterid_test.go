package aws

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/providers"
)

// identityEnv is a fakeaws holding one instance per entry of instances (name -> tags), and
// the instances' IDs by name.
func identityEnv(t *testing.T, instances map[string]map[string]string) (*fakeaws.Server, *httptest.Server, map[string]string) {
	t.Helper()
	srv := fakeaws.New(fakeaws.Options{})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	topo := fakeaws.Topology{
		VPC:     fakeaws.TopologyVPC{CIDR: "10.0.0.0/16"},
		Subnets: []fakeaws.TopologySubnet{{Name: "a", CIDR: "10.0.1.0/24", Zone: "us-east-1a"}},
	}
	for name, tags := range instances {
		topo.Instances = append(topo.Instances, fakeaws.TopologyInstance{Name: name, Subnet: "a", Tags: tags})
	}
	built, err := srv.ApplyTopology(topo)
	if err != nil {
		t.Fatal(err)
	}
	return srv, hs, built.Instances
}

// identityCloud is a Cloud with config cc whose EC2 client calls the fake at url.
func identityCloud(t *testing.T, cc string, url string) *Cloud {
	t.Helper()
	cfg, err := ParseCloudConfig(strings.NewReader(cc))
	if err != nil {
		t.Fatal(err)
	}
	ac := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", "")}
	return New(Options{Config: cfg, EC2: ec2.NewFromConfig(ac)})
}

func TestDiscoverClusterID(t *testing.T) {
	t.Parallel()
	instances := map[string]map[string]string{
		"owned":          {"kubernetes.io/cluster/prod": "owned"},
		"shared":         {"kubernetes.io/cluster/prod": "shared"},
		"legacy":         {"KubernetesCluster": "old-prod"},
		"legacy-and-new": {"KubernetesCluster": "prod", "kubernetes.io/cluster/prod": "owned"},
		"two-clusters":   {"kubernetes.io/cluster/blue": "owned", "kubernetes.io/cluster/green": "shared"},
		"legacy-differs": {"KubernetesCluster": "old", "kubernetes.io/cluster/prod": "owned"},
		"untagged":       {"team": "web"},
	}
	srv, hs, ids := identityEnv(t, instances)
	tests := []struct {
		name       string
		config     string
		instance   string // the controller's instance; "" means no metadata service answers
		wantID     string
		wantSource string
		wantErr    error
		wantInErr  []string
	}{
		{name: "config KubernetesClusterID", config: "KubernetesClusterID = cfg-id", instance: "owned",
			wantID: "cfg-id", wantSource: "cloud config KubernetesClusterID"},
		{name: "config KubernetesClusterTag (legacy)", config: "KubernetesClusterTag = cfg-legacy",
			wantID: "cfg-legacy", wantSource: "cloud config KubernetesClusterTag"},
		{name: "config both keys alike", config: "KubernetesClusterID = same\nKubernetesClusterTag = same",
			wantID: "same", wantSource: "cloud config KubernetesClusterID"},
		{name: "owned tag", instance: "owned", wantID: "prod", wantSource: "tag kubernetes.io/cluster/prod of instance "},
		{name: "shared tag", instance: "shared", wantID: "prod", wantSource: "tag kubernetes.io/cluster/prod of instance "},
		{name: "legacy tag", instance: "legacy", wantID: "old-prod", wantSource: "tag KubernetesCluster of instance "},
		{name: "legacy and new tags agree", instance: "legacy-and-new", wantID: "prod", wantSource: "tag kubernetes.io/cluster/prod of instance "},
		{name: "two cluster tags", instance: "two-clusters", wantErr: errTagsDisagree,
			wantInErr: []string{"kubernetes.io/cluster/blue", "kubernetes.io/cluster/green"}},
		{name: "legacy tag names another cluster", instance: "legacy-differs", wantErr: errTagsDisagree,
			wantInErr: []string{"kubernetes.io/cluster/prod", "KubernetesCluster=old"}},
		{name: "no cluster tag", instance: "untagged", wantErr: providers.ErrNoClusterID,
			wantInErr: []string{"neither KubernetesClusterID nor KubernetesClusterTag", "kubernetes.io/cluster/<id>", "KubernetesCluster tag"}},
		{name: "no metadata service", wantErr: providers.ErrNoClusterID,
			wantInErr: []string{"neither KubernetesClusterID nor KubernetesClusterTag", "instance metadata instance-id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := identityCloud(t, "[Global]\nZone = us-east-1a\n"+tc.config+"\n", hs.URL)
			mdURL := "http://127.0.0.1:1" // nothing listens: connection refused
			if tc.instance != "" {
				md := httptest.NewServer(srv.IMDS(ids[tc.instance]))
				t.Cleanup(md.Close)
				mdURL = md.URL
			}
			var id, source string
			var err error
			if _, _, named, _ := configClusterID(c.cfg); named {
				id, source, err = c.DiscoverClusterID(t.Context(), nil)
			} else {
				id, source, err = c.instanceClusterID(t.Context(), imds.New(imds.Options{Endpoint: mdURL, Retryer: aws.NopRetryer{}}))
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				for _, s := range tc.wantInErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not name %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantSource := tc.wantSource
			if strings.HasSuffix(wantSource, "of instance ") {
				wantSource += ids[tc.instance]
			}
			if id != tc.wantID || source != wantSource {
				t.Errorf("DiscoverClusterID = %q from %q, want %q from %q", id, source, tc.wantID, wantSource)
			}
		})
	}
}

// TestDiscoverClusterIDMetadataEndpoint runs the whole DiscoverClusterID, metadata client
// included, with the two ways of pointing it elsewhere.
func TestDiscoverClusterIDMetadataEndpoint(t *testing.T) {
	// Not parallel: t.Setenv.
	srv, hs, ids := identityEnv(t, map[string]map[string]string{"node": {"kubernetes.io/cluster/prod": "owned"}})
	md := httptest.NewServer(srv.IMDS(ids["node"]))
	t.Cleanup(md.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	tests := []struct {
		name, env, config string
	}{
		{name: "AWS_EC2_METADATA_SERVICE_ENDPOINT", env: md.URL},
		{name: "ServiceOverride ec2metadata", env: "http://127.0.0.1:1",
			config: "[ServiceOverride \"imds\"]\nService = ec2metadata\nRegion = us-east-1\nURL = " + md.URL + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", tc.env)
			c := identityCloud(t, "[Global]\nZone = us-east-1a\n"+tc.config, hs.URL)
			id, source, err := c.DiscoverClusterID(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := "tag kubernetes.io/cluster/prod of instance " + ids["node"]; id != "prod" || source != want {
				t.Errorf("DiscoverClusterID = %q from %q, want prod from %q", id, source, want)
			}
		})
	}
}

func TestParseCloudConfigClusterKeys(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", maxClusterIDLen+1)
	tests := []struct {
		name, global string
		wantErr      []string
	}{
		{name: "ID only", global: "KubernetesClusterID = prod"},
		{name: "legacy only", global: "KubernetesClusterTag = prod"},
		{name: "both alike", global: "KubernetesClusterID = prod\nKubernetesClusterTag = prod"},
		{name: "both different", global: "KubernetesClusterID = prod\nKubernetesClusterTag = staging",
			wantErr: []string{`KubernetesClusterID = "prod"`, `KubernetesClusterTag = "staging"`, "different clusters"}},
		{name: "ID too long for a tag key", global: "KubernetesClusterID = " + long,
			wantErr: []string{"KubernetesClusterID", "at most 106 characters"}},
		{name: "legacy too long for a tag key", global: "KubernetesClusterTag = " + long,
			wantErr: []string{"KubernetesClusterTag", "at most 106 characters"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseCloudConfig(strings.NewReader("[Global]\n" + tc.global + "\n"))
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("ParseCloudConfig: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("ParseCloudConfig accepted it")
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}
