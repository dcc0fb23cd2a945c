package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/cloudlb/cloudlb/nodeproxy"
)

func TestOptions(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		args    []string
		wantErr []string
		want    nodeproxy.Options
		// wantLogging is "<format> v=<verbosity>" of the logging configuration; empty: not checked.
		wantLogging string
	}{
		{
			name: "defaults with the node from the downward API",
			env:  "node-1",
			want: nodeproxy.Options{NodeName: "node-1", HealthzBindAddress: "0.0.0.0:10256", SyncPeriod: 30 * time.Second},
		},
		{
			name: "every flag",
			args: []string{"--node-name=n", "--healthz-bind-address=127.0.0.1:1234", "--nodeport-addresses=10.0.0.1/8,fd00::/8",
				"--sync-period=5s", "--service-proxy-name=cloudlb"},
			want: nodeproxy.Options{NodeName: "n", HealthzBindAddress: "127.0.0.1:1234", SyncPeriod: 5 * time.Second, ServiceProxyName: "cloudlb",
				NodePortAddresses: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}},
		},
		{
			name: "load balancer IPs",
			args: []string{"--node-name=n", "--bind-load-balancer-ips", "--dummy-interface=lb0", "--proxy-nodeports", "--proxy-protocol=2"},
			want: nodeproxy.Options{NodeName: "n", HealthzBindAddress: "0.0.0.0:10256", SyncPeriod: 30 * time.Second, BindLoadBalancerIPs: true},
		},
		{
			name:    "errors are all reported",
			args:    []string{"--nodeport-addresses=10.0.0.1", "--sync-period=0s", "--metrics-bind-address=nope", "--proxy-protocol=3", "--dummy-interface=much-too-long-name0"},
			wantErr: []string{"--node-name is required", `--nodeport-addresses "10.0.0.1": not a CIDR`, "--sync-period must be positive", `--metrics-bind-address "nope"`, "--proxy-protocol must be 0, 1 or 2, got 3", `--dummy-interface: interface name "much-too-long-name0" is longer than 15 bytes`},
		},
		{
			name:        "JSON logs",
			args:        []string{"--node-name=n", "--logging-format=json", "-v=4", "--log-flush-frequency=1s"},
			want:        nodeproxy.Options{NodeName: "n", HealthzBindAddress: "0.0.0.0:10256", SyncPeriod: 30 * time.Second},
			wantLogging: "json v=4",
		},
		{
			name:        "text logs by default, with --vmodule",
			args:        []string{"--node-name=n", "--v=2", "--vmodule=agent=5"},
			want:        nodeproxy.Options{NodeName: "n", HealthzBindAddress: "0.0.0.0:10256", SyncPeriod: 30 * time.Second},
			wantLogging: "text v=2",
		},
		{
			name:    "--vmodule is for text only",
			args:    []string{"--node-name=n", "--logging-format=json", "--vmodule=agent=5"},
			wantErr: []string{"vmodule: Forbidden: Only supported for text log format"},
		},
		{
			name:    "unknown logging format",
			args:    []string{"--node-name=n", "--logging-format=xml"},
			wantErr: []string{`logging flags: format: Invalid value: "xml"`},
		},
		{
			// Alpha, behind LoggingAlphaOptions, and the agent has no --feature-gates.
			name:    "split streams",
			args:    []string{"--node-name=n", "--log-text-split-stream"},
			wantErr: []string{"logging flags:", "Feature LoggingAlphaOptions is disabled"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NODE_NAME", tt.env)
			o := newOptions()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.addFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := o.validate()
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("validate = nil, want errors")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := o.agentOptions(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("agentOptions = %+v\nwant %+v", got, tt.want)
			}
			if got := fmt.Sprintf("%s v=%d", o.Logging.Format, o.Logging.Verbosity); tt.wantLogging != "" && got != tt.wantLogging {
				t.Errorf("logging configuration %q, want %q", got, tt.wantLogging)
			}
		})
	}
}

// TestActuators: the NodePort proxy is on with --proxy-nodeports or --service-proxy-name (the
// Services kube-proxy then skips), off by default.
func TestActuators(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{name: "default: health checks only"},
		{name: "proxy flag", args: []string{"--proxy-nodeports"}, want: []string{"*nodeproxy.NodePortProxies"}},
		{name: "service proxy name", args: []string{"--service-proxy-name=cloudlb"}, want: []string{"*nodeproxy.NodePortProxies"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOptions()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.addFlags(fs)
			if err := fs.Parse(append([]string{"--node-name=n"}, tt.args...)); err != nil {
				t.Fatal(err)
			}
			if err := o.validate(); err != nil {
				t.Fatal(err)
			}
			acts, err := o.actuators(nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range acts {
				got = append(got, reflect.TypeOf(a).String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("actuators = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMetricsDefaultAddress: /metrics has no authentication, so by default it is on loopback
// (as kube-proxy's), on a port kube-proxy does not use.
func TestMetricsDefaultAddress(t *testing.T) {
	host, port, err := net.SplitHostPort(defaultMetricsBindAddress)
	if err != nil {
		t.Fatal(err)
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		t.Errorf("default metrics address %s is not a loopback address", defaultMetricsBindAddress)
	}
	if port == "10249" || port == "10256" {
		t.Errorf("default metrics address %s clashes with kube-proxy", defaultMetricsBindAddress)
	}
}

// TestDaemonSetArgs: every argument the shipped DaemonSet passes is a flag of this binary and
// validates, with $(NODE_NAME) expanded as the kubelet does.
func TestDaemonSetArgs(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/nodeproxy/daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict(raw, &ds); err != nil {
		t.Fatal(err)
	}
	c := ds.Spec.Template.Spec.Containers[0]
	if len(c.Env) == 0 || c.Env[0].Name != "NODE_NAME" || c.Env[0].ValueFrom == nil || c.Env[0].ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
		t.Errorf("NODE_NAME does not come from spec.nodeName: %+v", c.Env)
	}
	o := newOptions()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.addFlags(fs)
	var args []string
	for _, a := range c.Args {
		args = append(args, strings.ReplaceAll(a, "$(NODE_NAME)", "node-1"))
	}
	if err := fs.Parse(args); err != nil {
		t.Fatalf("DaemonSet args %q: %v", c.Args, err)
	}
	if err := o.validate(); err != nil {
		t.Fatalf("DaemonSet args %q: %v", c.Args, err)
	}
	if o.NodeName != "node-1" {
		t.Errorf("node name = %q", o.NodeName)
	}
	// The probes target the ports the server listens on.
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/livez" || !strings.HasSuffix(o.HealthzBindAddress, ":"+p.HTTPGet.Port.String()) {
			t.Errorf("probe %+v does not target /livez on %s", p, o.HealthzBindAddress)
		}
	}
}
