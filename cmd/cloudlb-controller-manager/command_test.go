package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cloud-provider/app"
	"k8s.io/cloud-provider/names"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/internal/version"
)

func TestCommandFlagDefaults(t *testing.T) {
	// Not parallel: app.NewCloudControllerManagerCommand registers flags on the global
	// pflag.CommandLine, so building two commands at once races.
	cmd, err := newCommand(newShutdown())
	if err != nil {
		t.Fatalf("newCommand: %v", err)
	}
	for _, tc := range []struct {
		flag, want string
	}{
		{"concurrent-service-syncs", "10"},
		{"load-balancer-class", ""},
		{"node-batch-window", "1s"},
		{"node-batch-max-wait", "15s"},
		{"drift-repair-period", "10m0s"},
		{"cloud-provider", ""},
		{"cloud-config", ""},
		{"leader-elect", "true"},
		{"leader-elect-resource-lock", "leases"},
		{"leader-elect-resource-name", defaultLeaderElectionLease},
		{"leader-elect-resource-namespace", "kube-system"},
		{"secure-port", "10258"},
		{"controllers", "[service]"},
		{"cluster-name", "kubernetes"},
		{"kube-api-qps", "100"},
		{"kube-api-burst", "200"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			t.Parallel()
			f := cmd.Flags().Lookup(tc.flag)
			if f == nil {
				t.Fatalf("flag --%s is missing", tc.flag)
			}
			if f.DefValue != tc.want {
				t.Errorf("--%s default = %q, want %q", tc.flag, f.DefValue, tc.want)
			}
		})
	}
}

func TestCommandHelpListsFlags(t *testing.T) {
	// Not parallel: app.NewCloudControllerManagerCommand registers flags on the global
	// pflag.CommandLine, so building two commands at once races.
	cmd, err := newCommand(newShutdown())
	if err != nil {
		t.Fatalf("newCommand: %v", err)
	}
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("--help: %v", err)
	}
	help := out.String()
	for _, want := range []string{
		"Usage:\n  cloudlb-controller-manager",
		"Cloudlb flags:",
		"--cloud-provider string", "Registered providers: fake, aws, azure, gce.",
		"--leader-elect ", "--concurrent-service-syncs int32", "(default 10)",
		"--load-balancer-class string", "--node-batch-window duration", "--node-batch-max-wait duration", "--drift-repair-period duration",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("--help does not contain %q", want)
		}
	}
}

func TestCommandRejectsInvalidCloudlbFlags(t *testing.T) {
	// Not parallel: app.NewCloudControllerManagerCommand registers flags on the global
	// pflag.CommandLine, so building two commands at once races.
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"negative batch window", []string{"--node-batch-window=-1s"}, "--node-batch-window"},
		{"negative batch max wait", []string{"--node-batch-max-wait=-1s"}, "--node-batch-max-wait"},
		{"negative drift period", []string{"--drift-repair-period=-1m"}, "--drift-repair-period"},
		{"class with spaces", []string{"--load-balancer-class=not a class"}, "--load-balancer-class"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Not parallel: app.NewCloudControllerManagerCommand registers flags on the global
			// pflag.CommandLine, so building two commands at once races.
			cmd, err := newCommand(newShutdown())
			if err != nil {
				t.Fatalf("newCommand: %v", err)
			}
			// RunE (which would connect to an API server) must not be reached: PreRunE fails first.
			cmd.RunE = func(*cobra.Command, []string) error {
				t.Error("RunE ran despite invalid flags")
				return nil
			}
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			cmd.SetArgs(append([]string{"--cloud-provider=fake"}, tc.args...))
			err = cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Execute(%v) error = %v, want one mentioning %s", tc.args, err, tc.wantErr)
			}
		})
	}
}

func TestCommandVersion(t *testing.T) {
	// Not parallel: app.NewCloudControllerManagerCommand registers flags on the global
	// pflag.CommandLine, so building two commands at once races; --version is one of them.
	info := version.Get()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"one line", []string{"--version"}, "cloudlb-controller-manager " + info.String() + "\n"},
		{"raw", []string{"--version=raw"}, fmt.Sprintf("%#v\n", info)},
		{"before cloudlb's flags are validated", []string{"--version", "--node-batch-window=-1s"}, "cloudlb-controller-manager " + info.String() + "\n"},
		{"before upstream's flags are validated", []string{"--version", "--concurrent-service-syncs=0", "--cloud-provider=nope"}, "cloudlb-controller-manager " + info.String() + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := newCommand(newShutdown())
			if err != nil {
				t.Fatalf("newCommand: %v", err)
			}
			// The flag's value is component-base's global: leave it as the next test expects.
			t.Cleanup(func() {
				if err := cmd.Flags().Set("version", "false"); err != nil {
					t.Errorf("reset --version: %v", err)
				}
			})
			var out, errOut bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			cmd.SetArgs(tc.args)
			if err := cmd.Execute(); err != nil {
				t.Fatalf("Execute(%v): %v; stderr %q", tc.args, err, errOut.String())
			}
			if out.String() != tc.want {
				t.Errorf("stdout = %q\nwant %q", out.String(), tc.want)
			}
			if strings.Contains(out.String(), "Kubernetes") || strings.Contains(out.String(), "$Format") {
				t.Errorf("--version printed component-base's Kubernetes version: %q", out.String())
			}
		})
	}
}

func TestCloudlbOptionsValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		mutate  func(*cloudlbOptions)
		wantErr bool
	}{
		{"defaults", func(*cloudlbOptions) {}, false},
		{"prefixed class", func(o *cloudlbOptions) { o.LoadBalancerClass = "example.com/cloudlb" }, false},
		{"plain class", func(o *cloudlbOptions) { o.LoadBalancerClass = "cloudlb" }, false},
		{"drift repair disabled", func(o *cloudlbOptions) { o.DriftRepairPeriod = 0 }, false},
		{"no batching", func(o *cloudlbOptions) { o.NodeBatchWindow = 0 }, false},
		{"class with two slashes", func(o *cloudlbOptions) { o.LoadBalancerClass = "a/b/c" }, true},
		{"negative window", func(o *cloudlbOptions) { o.NodeBatchWindow = -1 }, true},
		{"negative max wait", func(o *cloudlbOptions) { o.NodeBatchMaxWait = -1 }, true},
		{"negative drift", func(o *cloudlbOptions) { o.DriftRepairPeriod = -1 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newCloudlbOptions()
			tc.mutate(o)
			if err := o.validate(); (err != nil) != tc.wantErr {
				t.Errorf("validate() = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}

// funcPC identifies a func value; method values of one method share the same code pointer.
func funcPC(f any) uintptr { return reflect.ValueOf(f).Pointer() }

func TestControllerConstructors(t *testing.T) {
	t.Parallel()
	got := controllerConstructors(newCloudlbOptions(), newShutdown())

	svc, ok := got[names.ServiceLBController]
	if !ok {
		t.Fatalf("no %q controller", names.ServiceLBController)
	}
	if funcPC(svc.Constructor) != funcPC(serviceControllerConstructor{}.newInitFunc) {
		t.Errorf("%q is not cloudlb's service controller", names.ServiceLBController)
	}
	if svc.InitContext.ClientName != serviceControllerClientName {
		t.Errorf("service controller client name = %q, want %q", svc.InitContext.ClientName, serviceControllerClientName)
	}
	// Upstream's map must be left as it was: other code (and tests) read it.
	if funcPC(app.DefaultInitFuncConstructors[names.ServiceLBController].Constructor) != funcPC(app.StartServiceControllerWrapper) {
		t.Errorf("app.DefaultInitFuncConstructors was modified")
	}

	for _, tc := range []struct {
		name string
		want app.InitFuncConstructor
	}{
		{names.CloudNodeController, app.StartCloudNodeControllerWrapper},
		{names.CloudNodeLifecycleController, app.StartCloudNodeLifecycleControllerWrapper},
		{names.NodeRouteController, app.StartRouteControllerWrapper},
	} {
		c, ok := got[tc.name]
		if !ok {
			t.Errorf("upstream controller %q is missing", tc.name)
			continue
		}
		if funcPC(c.Constructor(c.InitContext, nil, fullCloud{})) != funcPC(tc.want(c.InitContext, nil, fullCloud{})) {
			t.Errorf("%q does not use upstream's constructor", tc.name)
		}
	}
	if len(got) != len(app.DefaultInitFuncConstructors) {
		t.Errorf("%d controllers, want upstream's %d", len(got), len(app.DefaultInitFuncConstructors))
	}
	// --controllers=service (and the other aliases) must name a registered controller.
	for alias, name := range names.CCMControllerAliases() {
		if _, ok := got[name]; !ok {
			t.Errorf("alias %q points to %q, which is not registered", alias, name)
		}
	}
}

func TestAnnotationCloudFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		provider string
		want     annotations.Cloud
	}{
		{"aws", annotations.AWS},
		{"azure", annotations.Azure},
		{"gce", annotations.GCE},
		{"fake", annotations.AnyCloud},
		{"somethingelse", annotations.AnyCloud},
	} {
		if got := annotationCloudFor(tc.provider); got != tc.want {
			t.Errorf("annotationCloudFor(%q) = %q, want %q", tc.provider, got, tc.want)
		}
	}
}

func TestInitCloud(t *testing.T) {
	t.Parallel()
	registered := registerProviders()
	dir := t.TempDir()
	validConfig := filepath.Join(dir, "fake.yaml")
	if err := os.WriteFile(validConfig, []byte("ipPool: 198.51.100.0/24\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	awsConfig := filepath.Join(dir, "aws.conf")
	if err := os.WriteFile(awsConfig, []byte("[Global]\nZone = us-east-1a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	awsTypo := filepath.Join(dir, "aws-typo.conf")
	if err := os.WriteFile(awsTypo, []byte("[Global]\nZone = us-east-1a\nKubernetesClusterIDD = mycluster\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, provider, config string
		wantErr                string // "" = success
	}{
		{"fake without config", "fake", "", ""},
		{"aws with config", "aws", awsConfig, ""},
		{"fake with config", "fake", validConfig, ""},
		{"empty name", "", "", "--cloud-provider is required; registered providers: fake"},
		{"external", "external", "", "registered providers: fake"},
		{"unknown", "openstack", "", `unknown --cloud-provider "openstack"; registered providers: fake`},
		{"missing config", "fake", filepath.Join(dir, "absent.yaml"), "--cloud-config"},
		{"aws config with a typo", "aws", awsTypo, awsTypo + `:3: unknown key "KubernetesClusterIDD" in [Global], did you mean KubernetesClusterID?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cloud, err := initCloud(tc.provider, tc.config, registered)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("initCloud(%q) error = %v, want one containing %q", tc.provider, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("initCloud(%q): %v", tc.provider, err)
			}
			if _, ok := cloud.LoadBalancer(); !ok {
				t.Errorf("provider %q does not support load balancers", tc.provider)
			}
		})
	}
}

func TestStartupSettings(t *testing.T) {
	t.Parallel()
	registered := registerProviders()
	dir := t.TempDir()
	awsConfig := filepath.Join(dir, "aws.conf")
	if err := os.WriteFile(awsConfig, []byte("[Global]\nZone = us-east-1a ; comment\nKubernetesClusterID = prod\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cloud, err := initCloud("aws", awsConfig, registered)
	if err != nil {
		t.Fatal(err)
	}
	kv := startupSettings("aws", awsConfig, cloud)
	got := map[any]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		got[kv[i]] = kv[i+1]
	}
	for k, want := range map[string]string{"provider": "aws", "cloudConfig": awsConfig, "Zone": "us-east-1a", "KubernetesClusterID": "prod", "effectiveRegion": "us-east-1"} {
		if got[k] != want {
			t.Errorf("start-up setting %s = %#v, want %q", k, got[k], want)
		}
	}
	fakeCloud, err := initCloud("fake", "", registered)
	if err != nil {
		t.Fatal(err)
	}
	if kv := startupSettings("fake", "", fakeCloud); kv != nil {
		t.Errorf("fake lists settings %v, want none", kv)
	}
}
