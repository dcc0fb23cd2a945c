package deploy_test

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// controllerManagerWant is what a rendering's controller manager must look like.
type controllerManagerWant struct {
	cloud string
	// config is where --cloud-config comes from; nil: no --cloud-config.
	config *cloudConfigSource
	// saAnnotation is the cloud identity annotation the ServiceAccount must carry ("" for none).
	saAnnotation string
	// podLabels must be on the pod template.
	podLabels map[string]string
	// args must be among the container's arguments.
	args []string
}

// checkControllerManager checks the one Deployment of ms against want, and what every rendering
// must have: --controllers=service, exactly one --cloud-provider, a Lease the RBAC allows, and
// flags the binary accepts.
func checkControllerManager(t *testing.T, ms []manifest, want controllerManagerWant) {
	t.Helper()
	d := onlyDeployment(t, ms)
	spec := d.Spec.Template.Spec
	args := spec.Containers[0].Args
	if got := flagValues(args, "cloud-provider"); !slices.Equal(got, []string{want.cloud}) {
		t.Errorf("--cloud-provider values %q, want exactly [%s]", got, want.cloud)
	}
	if got := flagValues(args, "controllers"); !slices.Equal(got, []string{"service"}) {
		t.Errorf("--controllers values %q, want exactly [service]: cloudlb runs beside the cloud's own controller manager", got)
	}
	for _, a := range want.args {
		if !slices.Contains(args, a) {
			t.Errorf("no %s in %q", a, args)
		}
	}
	if want.config != nil {
		checkCloudConfigMounted(t, d, ms, *want.config)
	} else if v, ok := flagValue(args, "cloud-config"); ok {
		t.Errorf("--cloud-config=%s, want none", v)
	}
	if want.saAnnotation != "" {
		sa := find(ms, "ServiceAccount", spec.ServiceAccountName)
		if sa == nil {
			t.Fatalf("the Deployment's ServiceAccount %s is not rendered", spec.ServiceAccountName)
		}
		if sa.obj.GetAnnotations()[want.saAnnotation] == "" {
			t.Errorf("ServiceAccount %s has no %s annotation: %v", sa.obj.GetName(), want.saAnnotation, sa.obj.GetAnnotations())
		}
	}
	for k, v := range want.podLabels {
		if got := d.Spec.Template.Labels[k]; got != v {
			t.Errorf("pod label %s = %q, want %q", k, got, v)
		}
	}
	checkLeaderElection(t, d, ms)
	checkFlagsParse(t, ms)
}

// TestChartRendersPerCloud renders charts/cloudlb with the real helm for each values-<cloud>.yaml
// and variants, dry-runs every object against the real kube-apiserver, and checks the controller
// manager's arguments, cloud config, identity and, where enabled, the node agent.
func TestChartRendersPerCloud(t *testing.T) {
	waitForBootstrap(t)
	admin := adminClient(t)
	// A release outside kube-system: the Lease and its Role follow it.
	ns, err := admin.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "cloudlb-system-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	otherNS := ns.Name
	t.Cleanup(func() { _ = admin.CoreV1().Namespaces().Delete(context.Background(), otherNS, metav1.DeleteOptions{}) })

	chartSecret := &cloudConfigSource{"Secret", "cloudlb-cloud-config", "cloud.conf"}
	tests := []struct {
		name      string
		release   string
		args      []string
		want      controllerManagerWant
		nodeproxy bool
	}{
		{
			name:    "aws",
			release: "cloudlb",
			args:    []string{"-n", "kube-system", "-f", "values-aws.yaml", "--set", "clusterName=test"},
			want: controllerManagerWant{cloud: "aws", config: chartSecret, saAnnotation: "eks.amazonaws.com/role-arn",
				args: []string{"--cluster-name=test", "--leader-elect-resource-namespace=kube-system", "--leader-elect-resource-name=cloudlb-controller-manager"}},
		},
		{
			name:    "azure",
			release: "cloudlb",
			args:    []string{"-n", "kube-system", "-f", "values-azure.yaml", "--set", "clusterName=test"},
			want: controllerManagerWant{cloud: "azure", config: &cloudConfigSource{"Secret", "azure-cloud-provider", "cloud-config"},
				saAnnotation: "azure.workload.identity/client-id", podLabels: map[string]string{"azure.workload.identity/use": "true"}},
		},
		{
			name:    "gce",
			release: "cloudlb",
			args:    []string{"-n", "kube-system", "-f", "values-gce.yaml", "--set", "clusterName=test"},
			want:    controllerManagerWant{cloud: "gce", config: chartSecret, saAnnotation: "iam.gke.io/gcp-service-account"},
		},
		{
			name:    "aws on a managed cluster: a load balancer class, the node agent",
			release: "cloudlb",
			args: []string{"-n", "kube-system", "-f", "values-aws.yaml", "--set", "clusterName=test", "--set", "loadBalancerClass=cloudlb.io/nlb",
				"--set", "nodeproxy.enabled=true", "--set", "nodeproxy.serviceProxyName=cloudlb", "--set", "nodeproxy.healthzBindAddress=0.0.0.0:10266"},
			want: controllerManagerWant{cloud: "aws", config: chartSecret, saAnnotation: "eks.amazonaws.com/role-arn",
				args: []string{"--load-balancer-class=cloudlb.io/nlb"}},
			nodeproxy: true,
		},
		{
			name:    "aws without a cloud config, on the host network",
			release: "cloudlb",
			args: []string{"-n", "kube-system", "--set", "cloud=aws", "--set", "clusterName=test", "--set", "hostNetwork=true",
				"--set", "securePort=10268", "--set", "extraEnv[0].name=AWS_REGION", "--set", "extraEnv[0].value=eu-west-1",
				"--set", "extraArgs={--drift-repair-period=30m}"},
			want: controllerManagerWant{cloud: "aws", args: []string{"--secure-port=10268", "--drift-repair-period=30m"}},
		},
		{
			name:    "gce from an existing ConfigMap, release edge in its own namespace, node agent binding load balancer IPs",
			release: "edge",
			args: []string{"-n", otherNS, "-f", "values-gce.yaml", "--set", "clusterName=test", "--set", "cloudConfig.content=",
				"--set", "cloudConfig.existingConfigMap=gce-cloud-config", "--set", "cloudConfig.key=gce.conf",
				"--set", "nodeproxy.enabled=true", "--set", "nodeproxy.bindLoadBalancerIPs=true", "--set", "nodeproxy.proxyNodePorts=true",
				"--set", "nodeproxy.nodePortAddresses={10.0.0.0/8,fd00::/8}"},
			want: controllerManagerWant{cloud: "gce", config: &cloudConfigSource{"ConfigMap", "gce-cloud-config", "gce.conf"},
				saAnnotation: "iam.gke.io/gcp-service-account",
				args:         []string{"--leader-elect-resource-namespace=" + otherNS, "--leader-elect-resource-name=edge-cloudlb-controller-manager"}},
			nodeproxy: true,
		},
		{
			name:    "azure from an existing Secret named by the user",
			release: "cloudlb",
			args: []string{"-n", "kube-system", "-f", "values-azure.yaml", "--set", "clusterName=test",
				"--set", "cloudConfig.existingSecret=my-azure-json", "--set", "cloudConfig.key=azure.json"},
			want: controllerManagerWant{cloud: "azure", config: &cloudConfigSource{"Secret", "my-azure-json", "azure.json"},
				saAnnotation: "azure.workload.identity/client-id"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw, ms, err := helmTemplate(t, tc.release, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if err := applyManifests(t.Context(), ms, true); err != nil {
				t.Errorf("server-side dry-run rejected the chart's objects:\n%v", err)
			}
			if bytes.Contains(raw, []byte("cloud-provider=fake")) {
				t.Error("the chart renders the fake cloud")
			}
			checkControllerManager(t, ms, tc.want)
			daemonSets := ofKind(ms, "DaemonSet")
			if got := len(daemonSets) == 1; got != tc.nodeproxy {
				t.Fatalf("%d DaemonSets rendered, want the node agent: %v", len(daemonSets), tc.nodeproxy)
			}
			if tc.nodeproxy {
				checkNodeproxy(t, ms, convert[appsv1.DaemonSet](t, daemonSets[0]))
			}
		})
	}
}

// checkNodeproxy checks the node agent's DaemonSet: its ServiceAccount and ClusterRole are
// rendered, the probes target the healthz port it listens on, and binding load balancer IPs comes
// with the NET_ADMIN it needs.
func checkNodeproxy(t *testing.T, ms []manifest, ds *appsv1.DaemonSet) {
	t.Helper()
	spec := ds.Spec.Template.Spec
	c := spec.Containers[0]
	if find(ms, "ServiceAccount", spec.ServiceAccountName) == nil {
		t.Errorf("the DaemonSet's ServiceAccount %s is not rendered", spec.ServiceAccountName)
	}
	bound := false
	for _, m := range ofKind(ms, "ClusterRoleBinding") {
		b := convert[rbacv1.ClusterRoleBinding](t, m)
		bound = bound || (b.RoleRef.Kind == "ClusterRole" && find(ms, "ClusterRole", b.RoleRef.Name) != nil &&
			slices.Contains(b.Subjects, rbacv1.Subject{Kind: "ServiceAccount", Name: spec.ServiceAccountName, Namespace: ds.Namespace}))
	}
	if !bound {
		t.Errorf("no rendered ClusterRole is bound to %s/%s", ds.Namespace, spec.ServiceAccountName)
	}
	if !spec.HostNetwork {
		t.Error("the node agent is not on the host network, where the load balancers' probes arrive")
	}
	addr, _ := flagValue(c.Args, "healthz-bind-address")
	port := addr[strings.LastIndex(addr, ":")+1:]
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Port.String() != port {
		t.Errorf("liveness probe %+v does not target --healthz-bind-address=%s", c.LivenessProbe, addr)
	}
	_, binds := flagValue(c.Args, "dummy-interface")
	netAdmin := c.SecurityContext != nil && c.SecurityContext.Capabilities != nil && slices.Contains(c.SecurityContext.Capabilities.Add, "NET_ADMIN")
	if binds != netAdmin || binds != slices.Contains(c.Args, "--bind-load-balancer-ips") {
		t.Errorf("--bind-load-balancer-ips %v, --dummy-interface %v, NET_ADMIN %v: want all or none", slices.Contains(c.Args, "--bind-load-balancer-ips"), binds, netAdmin)
	}
}

// TestChartRefusesIncompleteValues: values that would install a controller for no cloud, the fake
// cloud, the default owner tag of every other cluster, or no cloud config fail the rendering with
// a message naming what to set.
func TestChartRefusesIncompleteValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no cloud", nil, "cloud is required: set cloud to aws, azure or gce"},
		{"the fake cloud", []string{"--set", "cloud=fake", "--set", "clusterName=test"}, `cloud "fake" is not supported`},
		{"no cluster name", []string{"-f", "values-aws.yaml"}, "clusterName is required"},
		{"gce without a cloud config", []string{"--set", "cloud=gce", "--set", "clusterName=test"}, "cloud gce needs its cloud config (gce.conf)"},
		{"azure without a cloud config", []string{"--set", "cloud=azure", "--set", "clusterName=test"}, "cloud azure needs its cloud config (azure.json)"},
		{"two cloud config sources", []string{"-f", "values-gce.yaml", "--set", "clusterName=test", "--set", "cloudConfig.existingSecret=x"},
			"cloudConfig: set only one of existingSecret, existingConfigMap and content"},
		{"a misspelt value", []string{"-f", "values-aws.yaml", "--set", "clusterName=test", "--set", "loadBalancerClas=x"},
			"additional properties 'loadBalancerClas' not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := helmTemplate(t, "cloudlb", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("helm template: error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestChartLints: helm lint --strict passes with the defaults (where the required values only
// warn) and with each cloud's values file.
func TestChartLints(t *testing.T) {
	t.Parallel()
	for _, values := range []string{"", "values-aws.yaml", "values-azure.yaml", "values-gce.yaml"} {
		args := []string{"lint", "--strict", chartDir, "--set", "clusterName=test"}
		if values != "" {
			args = append(args, "-f", filepath.Join(chartDir, values))
		}
		if out, err := runTool(t, helmBin, args...); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	}
}

// TestChartRBACMatchesDeploy: the chart installed as the release "cloudlb" in kube-system grants
// exactly what deploy/controller-manager and deploy/nodeproxy grant. TestRBACIsEnoughAndLeast
// proves those sufficient and minimal; this keeps the chart's copy from drifting.
func TestChartRBACMatchesDeploy(t *testing.T) {
	t.Parallel()
	_, chart, err := helmTemplate(t, "cloudlb", "-n", "kube-system", "-f", "values-aws.yaml", "--set", "clusterName=test", "--set", "nodeproxy.enabled=true")
	if err != nil {
		t.Fatal(err)
	}
	_, cm := kustomizeBuild(t, controllerManagerDir)
	_, np := kustomizeBuild(t, filepath.Join(deployDir, "nodeproxy"))
	kust := slices.Concat(cm, np)
	// grants reduces an RBAC object to what it grants: rules, or the role and subjects it binds.
	grants := func(m manifest) any {
		switch m.obj.GetKind() {
		case "ClusterRole":
			return convert[rbacv1.ClusterRole](t, m).Rules
		case "Role":
			return convert[rbacv1.Role](t, m).Rules
		case "ClusterRoleBinding":
			b := convert[rbacv1.ClusterRoleBinding](t, m)
			return []any{b.RoleRef, b.Subjects}
		case "RoleBinding":
			b := convert[rbacv1.RoleBinding](t, m)
			return []any{b.RoleRef, b.Subjects}
		}
		return nil
	}
	key := func(m manifest) string {
		return m.obj.GetKind() + " " + m.obj.GetNamespace() + "/" + m.obj.GetName()
	}
	index := func(ms []manifest) map[string]manifest {
		out := map[string]manifest{}
		for _, m := range ms {
			if grants(m) != nil || m.obj.GetKind() == "ServiceAccount" {
				out[key(m)] = m
			}
		}
		return out
	}
	chartRBAC, kustRBAC := index(chart), index(kust)
	if len(kustRBAC) == 0 {
		t.Fatal("no RBAC objects in deploy/")
	}
	for k, want := range kustRBAC {
		got, ok := chartRBAC[k]
		if !ok {
			t.Errorf("the chart has no %s (deploy/ has)", k)
			continue
		}
		if g, w := grants(got), grants(want); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: the chart grants %+v, deploy/ %+v", k, g, w)
		}
	}
	for k := range chartRBAC {
		if _, ok := kustRBAC[k]; !ok {
			t.Errorf("the chart has %s, deploy/ has not", k)
		}
	}
}
