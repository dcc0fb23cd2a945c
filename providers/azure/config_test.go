package azure

import (
	"errors"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
)

func TestParseCloudConfig(t *testing.T) {
	t.Parallel()
	full := `{
		"cloud": "AzurePublicCloud", "tenantId": "t", "subscriptionId": "s", "resourceGroup": "rg", "location": "westeurope",
		"vnetName": "vnet", "vnetResourceGroup": "net-rg", "subnetName": "nodes", "securityGroupName": "nsg",
		"securityGroupResourceGroup": "nsg-rg", "loadBalancerSku": "Standard", "loadBalancerResourceGroup": "lb-rg",
		"loadBalancerName": "shared-lb", "aadClientId": "ignored", "useInstanceMetadata": true, "cloudProviderRateLimit": true,
		"clusterServiceLoadBalancerHealthProbeMode": "Shared", "clusterServiceSharedLoadBalancerHealthProbePort": 10257
	}`
	for _, tc := range []struct {
		name    string
		in      string
		check   func(t *testing.T, cc *CloudConfig)
		wantErr string
	}{
		{name: "empty gives the defaults", in: "", check: func(t *testing.T, cc *CloudConfig) {
			if cc.LoadBalancerSKU != "standard" || cc.ClusterServiceLoadBalancerHealthProbeMode != ProbeModeServiceNodePort ||
				cc.ClusterServiceSharedLoadBalancerHealthProbePort != 10256 || cc.ClusterServiceSharedLoadBalancerHealthProbePath != "/healthz" {
				t.Errorf("defaults %+v", cc)
			}
		}},
		{name: "upstream file with unknown keys", in: full, check: func(t *testing.T, cc *CloudConfig) {
			s := cc.settings("demo")
			if s.LoadBalancerName != "shared-lb" || s.Cluster != "demo" || s.LoadBalancerResourceGroup != "lb-rg" || s.VNetResourceGroup != "net-rg" ||
				s.SecurityGroupResourceGroup != "nsg-rg" || s.SharedProbe == nil || s.SharedProbe.Port != 10257 || s.SharedProbe.Path != "/healthz" {
				t.Errorf("settings %+v", s)
			}
		}},
		{name: "resource groups default to resourceGroup", in: `{"resourceGroup": "rg"}`, check: func(t *testing.T, cc *CloudConfig) {
			if cc.VNetResourceGroup != "rg" || cc.LoadBalancerResourceGroup != "rg" || cc.SecurityGroupResourceGroup != "rg" {
				t.Errorf("%+v", cc)
			}
		}},
		{name: "basic sku", in: `{"loadBalancerSku": "basic"}`, wantErr: "not supported"},
		{name: "bad probe mode", in: `{"clusterServiceLoadBalancerHealthProbeMode": "nodeport"}`, wantErr: "servicenodeport"},
		{name: "bad json", in: `{"location": `, wantErr: "azure cloud config"},
		{name: "plain http off loopback", in: `{"resourceManagerEndpoint": "http://example.com"}`, wantErr: "loopback"},
		{name: "plain http on loopback", in: `{"resourceManagerEndpoint": "http://127.0.0.1:8080"}`, check: func(t *testing.T, cc *CloudConfig) {
			if !cc.insecureLoopback() {
				t.Error("loopback http endpoint not recognised")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cc, err := ParseCloudConfig(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cc)
		})
	}
}

func TestNewFromConfigNeedsKeys(t *testing.T) {
	t.Parallel()
	cc, err := ParseCloudConfig(strings.NewReader(`{"subscriptionId": "s"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewFromConfig(cc); err == nil || !strings.Contains(err.Error(), "missing location, resourceGroup, subnetName, vnetName") {
		t.Errorf("err = %v", err)
	}
}

func TestDesiredModelOffline(t *testing.T) {
	t.Parallel()
	unallocated := func(s *v1.Service) {
		s.UID = ""
		for i := range s.Spec.Ports {
			s.Spec.Ports[i].NodePort = 0
		}
	}
	d, err := DesiredModel(testService(nil, unallocated), testNodes(), nil, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if d.Model.LoadBalancer.Name != "demo" || d.Model.Prefix != "a00000000000000000000000000000000"[:32] || len(d.Model.Rules) != 2 || d.Model.PublicIP == nil {
		t.Errorf("model %+v", d.Model)
	}
	if d.Model.Probes[0].Port == 0 || len(d.Placeholders) < 3 {
		t.Errorf("placeholders %v probes %+v", d.Placeholders, d.Model.Probes)
	}
	if !strings.Contains(d.Model.Frontend.PublicIPID, "<subscriptionId>") {
		t.Errorf("IDs must show the missing subscription: %s", d.Model.Frontend.PublicIPID)
	}
	for _, tc := range []struct {
		name string
		ann  map[string]string
		want func(error) bool
	}{
		{"invalid annotation", map[string]string{ann + "azure-load-balancer-tcp-idle-timeout": "1"}, func(err error) bool {
			var ie *annotations.InvalidError
			return errors.As(err, &ie)
		}},
		{"private link service on a floating public frontend", map[string]string{ann + "azure-pls-create": "true"}, func(err error) bool {
			var ie *annotations.InvalidError
			return errors.As(err, &ie) && strings.Contains(err.Error(), "azure-pls-create")
		}},
	} {
		if _, err := DesiredModel(testService(tc.ann), nil, nil, "demo"); !tc.want(err) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}
