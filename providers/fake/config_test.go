package fake

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cloudprovider "k8s.io/cloud-provider"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	defaults := Config{IPPool: DefaultIPPool, InternalIPPool: DefaultInternalIPPool}
	tests := []struct {
		name    string
		reader  io.Reader
		want    Config
		wantErr string // a substring of the error; "" = no error
	}{
		{name: "nil reader", reader: nil, want: defaults},
		{name: "empty file", reader: strings.NewReader("\n  \n"), want: defaults},
		{
			name: "every field",
			reader: strings.NewReader(`statePath: /var/lib/fake.json
ipPool: 198.51.100.0/24
internalIPPool: 10.1.0.0/16
latency: 20ms
hostnames: true
`),
			want: Config{StatePath: "/var/lib/fake.json", IPPool: "198.51.100.0/24", InternalIPPool: "10.1.0.0/16",
				Latency: metav1.Duration{Duration: 20 * time.Millisecond}, Hostnames: true},
		},
		{name: "bad ipPool", reader: strings.NewReader("ipPool: 203.0.113.0/33"), wantErr: "ipPool"},
		{name: "bad internalIPPool", reader: strings.NewReader("internalIPPool: ten"), wantErr: "internalIPPool"},
		{name: "negative latency", reader: strings.NewReader("latency: -1s"), wantErr: "latency"},
		{name: "unknown field", reader: strings.NewReader("ipPoool: 10.0.0.0/8"), wantErr: "ipPoool"},
		{name: "not YAML", reader: strings.NewReader("ipPool: [unclosed"), wantErr: "parsing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseConfig(tt.reader)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{{IPPool: "203.0.113.1"}, {InternalIPPool: "x/8"}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
}

// TestRegister is not parallel: it changes cloudprovider's process-wide registry.
func TestRegister(t *testing.T) {
	Register()
	Register() // a second call must not exit the process
	configFile := filepath.Join(t.TempDir(), "cloud.yaml")
	if err := os.WriteFile(configFile, []byte("hostnames: true\nipPool: 198.51.100.0/28\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	iface, err := cloudprovider.InitCloudProvider(ProviderName, configFile)
	if err != nil {
		t.Fatalf("InitCloudProvider: %v", err)
	}
	c, ok := iface.(*Cloud)
	if !ok {
		t.Fatalf("InitCloudProvider returned %T, want *Cloud", iface)
	}
	if !c.cfg.Hostnames || c.external.String() != "198.51.100.0/28" {
		t.Errorf("config %+v not read from the file", c.cfg)
	}
	if _, err := cloudprovider.GetCloudProvider(ProviderName, nil); err != nil {
		t.Errorf("nil config reader: %v", err)
	}
	iface, err = cloudprovider.GetCloudProvider(ProviderName, strings.NewReader("ipPool: nope"))
	if err == nil || !strings.Contains(err.Error(), "ipPool") || iface != nil {
		t.Errorf("bad config: %v, %v; want a nil cloud and an error naming ipPool", iface, err)
	}
}

func TestInterface(t *testing.T) {
	t.Parallel()
	c := newCloud(t, Config{})
	c.Initialize(nil, nil)
	if lb, ok := c.LoadBalancer(); !ok || lb != c {
		t.Errorf("LoadBalancer() = %v, %v; want the cloud, true", lb, ok)
	}
	unsupported := map[string]bool{}
	_, unsupported["Instances"] = c.Instances()
	_, unsupported["InstancesV2"] = c.InstancesV2()
	_, unsupported["Zones"] = c.Zones()
	_, unsupported["Clusters"] = c.Clusters()
	_, unsupported["Routes"] = c.Routes()
	for name, ok := range unsupported {
		if ok {
			t.Errorf("%s() reports support", name)
		}
	}
	if c.ProviderName() != ProviderName || !c.HasClusterID() {
		t.Errorf("ProviderName() = %q, HasClusterID() = %v", c.ProviderName(), c.HasClusterID())
	}
}
