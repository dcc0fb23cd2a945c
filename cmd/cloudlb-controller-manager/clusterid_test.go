package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/cloud-provider/names"
	genericcontrollermanager "k8s.io/controller-manager/app"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"

	"github.com/cloudlb/cloudlb/providers"
	"github.com/cloudlb/cloudlb/providers/fake"
	"github.com/cloudlb/cloudlb/providers/gce"
)

// stubDiscoverer answers DiscoverClusterID with fixed values.
type stubDiscoverer struct {
	id, source string
	err        error
}

func (s stubDiscoverer) DiscoverClusterID(context.Context, kubernetes.Interface) (string, string, error) {
	return s.id, s.source, s.err
}

func TestClusterIdentityResolve(t *testing.T) {
	t.Parallel()
	noID := stubDiscoverer{err: fmt.Errorf("aws: nothing tagged: %w", providers.ErrNoClusterID)}
	found := stubDiscoverer{id: "prod", source: "tag kubernetes.io/cluster/prod of instance i-1"}
	azureFile := filepath.Join(t.TempDir(), "azure.json")
	if err := os.WriteFile(azureFile, []byte(`{"clusterName": "aks-prod"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		ci      clusterIdentity
		want    string
		wantErr []string
		wantLog []string
		noLog   []string
	}{
		{name: "fake keeps the default", ci: clusterIdentity{provider: "fake", flagValue: "kubernetes"}, want: "kubernetes",
			noLog: []string{"Cluster identity"}},
		{name: "discovered", ci: clusterIdentity{provider: "aws", flagValue: "kubernetes", discoverer: found}, want: "prod",
			wantLog: []string{"Cluster identity discovered", `clusterName="prod"`, `source="tag kubernetes.io/cluster/prod of instance i-1"`}},
		{name: "none found and no flag", ci: clusterIdentity{provider: "aws", flagValue: "kubernetes", discoverer: noID},
			wantErr: []string{"no cluster identity for --cloud-provider=aws", "nothing tagged", "set --cluster-name=<name>"}},
		{name: "lookup failed and no flag", ci: clusterIdentity{provider: "gce", flagValue: "kubernetes", discoverer: stubDiscoverer{err: errors.New("forbidden")}},
			wantErr: []string{"--cloud-provider=gce", "forbidden", "set --cluster-name=<name>"}},
		{name: "flag over a different discovered identity", ci: clusterIdentity{provider: "aws", flagValue: "mine", flagSet: true, discoverer: found}, want: "mine",
			wantLog: []string{"WARNING", "--cluster-name is used", `clusterName="mine"`, `discovered="prod"`, "tag kubernetes.io/cluster/prod"}},
		{name: "flag under the cloud config's cluster", ci: clusterIdentity{provider: "aws", flagValue: "mine", flagSet: true, configNamesCluster: true,
			discoverer: stubDiscoverer{id: "cfg", source: "cloud config KubernetesClusterID"}}, want: "mine",
			wantLog: []string{"WARNING", "the provider owns cloud objects through the cloud config's", `clusterName="mine"`, `discovered="cfg"`}},
		{name: "flag and discovery agree", ci: clusterIdentity{provider: "aws", flagValue: "prod", flagSet: true, discoverer: found}, want: "prod",
			noLog: []string{"WARNING"}},
		{name: "flag and nothing discovered", ci: clusterIdentity{provider: "aws", flagValue: "mine", flagSet: true, discoverer: noID}, want: "mine",
			noLog: []string{"WARNING"}},
		{name: "azure without clusterName nor flag", ci: newClusterIdentity("azure", "", "kubernetes", false, fakeCloud(t)),
			wantErr: []string{"--cloud-provider=azure", "azure.json sets no clusterName", "set --cluster-name=<name>"}},
		{name: "azure.json clusterName", ci: newClusterIdentity("azure", azureFile, "kubernetes", false, fakeCloud(t)), want: "aks-prod",
			wantLog: []string{"Cluster identity discovered", `source="azure.json clusterName"`}},
		{name: "azure flag", ci: newClusterIdentity("azure", "", "kubernetes", true, fakeCloud(t)), want: "kubernetes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logger := ktesting.NewLogger(t, ktesting.NewConfig(ktesting.BufferLogs(true)))
			got, err := tc.ci.resolve(t.Context(), logger, nil)
			logged := logger.GetSink().(ktesting.Underlier).GetBuffer().String()
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("resolve = %q, want an error", got)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("resolve = %q, want %q", got, tc.want)
			}
			for _, s := range tc.wantLog {
				if !strings.Contains(logged, s) {
					t.Errorf("log %q does not say %q", logged, s)
				}
			}
			for _, s := range tc.noLog {
				if strings.Contains(logged, s) {
					t.Errorf("log %q says %q", logged, s)
				}
			}
		})
	}
}

// fakeCloud is a cloud that discovers nothing itself, standing in for providers without a
// discoverer.
func fakeCloud(t *testing.T) cloudprovider.Interface {
	t.Helper()
	c, err := fake.New(fake.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestServiceControllerRefusesWithoutIdentity starts the service controller the command
// registers with the real gce provider and no --cluster-name: without ConfigMap
// kube-system/ingress-uid it refuses, saying what it looked for and how to set the name; with
// the ConfigMap, or with --cluster-name, it starts.
func TestServiceControllerRefusesWithoutIdentity(t *testing.T) {
	t.Parallel()
	uid := &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "ingress-uid"}, Data: map[string]string{"uid": "0123456789abcdef"}}
	tests := []struct {
		name    string
		objects []any
		flagSet bool
		wantErr []string
		wantLog []string
	}{
		{name: "no identity", wantErr: []string{"no cluster identity for --cloud-provider=gce", "no cluster-id", "kube-system/ingress-uid does not exist", "set --cluster-name=<name>"}},
		{name: "ingress-uid", objects: []any{uid}, wantLog: []string{"Cluster identity discovered", `clusterName="0123456789abcdef"`, "key uid", "Starting cloudlb service controller"}},
		{name: "--cluster-name", flagSet: true, wantLog: []string{`clusterName="given"`, "Starting cloudlb service controller"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client := kubefake.NewClientset()
			for _, o := range tc.objects {
				if _, err := client.CoreV1().ConfigMaps("kube-system").Create(t.Context(), o.(*v1.ConfigMap), metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			completed, factory := completedConfig(t, client, "given")
			completed.ComponentConfig.KubeCloudShared.CloudProvider.Name = gce.ProviderName
			cfg, err := gce.ParseCloudConfig(strings.NewReader("[global]\nproject-id = p\nlocal-zone = us-central1-a\n"))
			if err != nil {
				t.Fatal(err)
			}
			o := newCloudlbOptions()
			o.clusterNameSet = tc.flagSet
			sd := newShutdown()
			ctor := controllerConstructors(o, sd)[names.ServiceLBController]
			logger := ktesting.NewLogger(t, ktesting.NewConfig(ktesting.BufferLogs(true)))
			ctx, cancel := context.WithCancel(klog.NewContext(t.Context(), logger))
			defer func() {
				cancel()
				factory.Shutdown()
			}()
			_, started, err := ctor.Constructor(ctor.InitContext, completed, gce.New(gce.Options{Config: cfg}))(ctx, genericcontrollermanager.ControllerContext{})
			if len(tc.wantErr) > 0 {
				if err == nil || started {
					t.Fatalf("init = (started %v, %v), want a refusal", started, err)
				}
				if !errors.Is(err, providers.ErrNoClusterID) {
					t.Errorf("err = %v, want ErrNoClusterID", err)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
				return
			}
			if err != nil || !started {
				t.Fatalf("init = (started %v, %v), want (true, nil)", started, err)
			}
			logged := logger.GetSink().(ktesting.Underlier).GetBuffer().String()
			for _, s := range tc.wantLog {
				if !strings.Contains(logged, s) {
					t.Errorf("log %q does not say %q", logged, s)
				}
			}
		})
	}
}

// TestCommandRecordsClusterNameFlag checks that the command tells a given --cluster-name from
// its default, which decides whether the identity is discovered.
func TestCommandRecordsClusterNameFlag(t *testing.T) {
	// Not parallel: app.NewCloudControllerManagerCommand registers flags on the global
	// pflag.CommandLine, so building two commands at once races.
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--cluster-name=kubernetes"}, true},
		{[]string{"--cluster-name", "prod"}, true},
	} {
		cmd, o, err := newCommandWithOptions(newShutdown())
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		if err := cmd.PreRunE(cmd, nil); err != nil {
			t.Fatal(err)
		}
		if o.clusterNameSet != tc.want {
			t.Errorf("%v: clusterNameSet = %v, want %v", tc.args, o.clusterNameSet, tc.want)
		}
	}
}
