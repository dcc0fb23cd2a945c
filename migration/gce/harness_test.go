// Package gce_test drives cloud-provider-gcp's own GCE provider (k8s.io/cloud-provider-gcp/
// providers v0.28.2, unmodified, through google.golang.org/api/compute/v1) and cloudlb's gce
// provider against one fakegce, with a real kube-apiserver for what upstream needs from
// Kubernetes (its cluster ID ConfigMap, Service finalizers), to prove that cloudlb takes over
// upstream's load balancers in place and that upstream takes them back.
//
// It is its own module: upstream pins older Kubernetes libraries than cloudlb's, and
// this module's go.mod resolves both (replace github.com/cloudlb/cloudlb => ../..).
package gce_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	upstream "k8s.io/cloud-provider-gcp/providers/gce"

	"github.com/cloudlb/cloudlb/fakecloud/fakegce"
	"github.com/cloudlb/cloudlb/internal/controlplane"
	cloudlb "github.com/cloudlb/cloudlb/providers/gce"
)

const (
	project = "mig-project"
	region  = "us-central1"
	// clusterID is what upstream reads from ConfigMap kube-system/ingress-uid (its
	// makeUID: 8 random bytes in hex), and what cloudlb is given.
	clusterID = "0123456789abcdef"
	nodeTag   = "gke-mig-node"
)

// world is the control plane, the fake and both providers.
type world struct {
	t    *testing.T
	kube kubernetes.Interface
	fake *fakegce.Server
	url  string
	up   *upstream.Cloud
	lb   *cloudlb.Cloud
}

// clientBuilder is upstream's cloudprovider.ControllerClientBuilder over the control plane.
type clientBuilder struct{ cfg *rest.Config }

func (b clientBuilder) Config(string) (*rest.Config, error) { return b.cfg, nil }
func (b clientBuilder) ConfigOrDie(string) *rest.Config     { return b.cfg }
func (b clientBuilder) Client(string) (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(b.cfg)
}
func (b clientBuilder) ClientOrDie(name string) kubernetes.Interface {
	c, err := b.Client(name)
	if err != nil {
		panic(err)
	}
	return c
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := t.Context()
	cp, err := controlplane.Start(ctx, controlplane.Options{})
	if err != nil {
		t.Fatalf("control plane (set CLOUDLB_TESTBIN): %v", err)
	}
	t.Cleanup(func() { _ = cp.Stop() })
	w := &world{t: t, kube: kubernetes.NewForConfigOrDie(cp.RESTConfig())}
	if _, err := w.kube.CoreV1().ConfigMaps("kube-system").Create(ctx, &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: upstream.UIDConfigMapName, Namespace: upstream.UIDNamespace},
		// upstream's getOrInitialize writes both keys; GetID prefers provider-uid.
		Data: map[string]string{upstream.UIDCluster: clusterID, upstream.UIDProvider: clusterID},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	w.fake = fakegce.New(fakegce.Options{Project: project, Region: region})
	srv := httptest.NewServer(w.fake)
	t.Cleanup(srv.Close)
	w.url = srv.URL
	for _, n := range []struct{ name, zone string }{{"gke-mig-node-1", "us-central1-a"}, {"gke-mig-node-2", "us-central1-a"}, {"gke-mig-node-3", "us-central1-b"}, {"gke-mig-node-4", "us-central1-b"}} {
		w.fake.AddInstance(fakegce.Instance{Name: n.name, Zone: n.zone, Tags: []string{nodeTag}})
	}

	// Upstream builds a TPU client from Application Default Credentials it never uses here:
	// give it a file so it starts without a metadata server.
	adc := filepath.Join(t.TempDir(), "adc.json")
	if err := os.WriteFile(adc, []byte(`{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", adc)
	base := srv.URL + "/compute/v1/projects/" + project
	w.up, err = upstream.CreateGCECloud(&upstream.CloudConfig{
		APIEndpoint: srv.URL + "/compute/v1/", ProjectID: project, Region: region, Zone: region + "-a",
		ManagedZones: []string{region + "-a", region + "-b"}, NetworkName: "default",
		NetworkURL: base + "/global/networks/default", SubnetworkURL: base + "/regions/" + region + "/subnetworks/default",
		NodeTags: []string{nodeTag}, TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "fake"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	w.up.Initialize(clientBuilder{cp.RESTConfig()}, stop)
	// Upstream's ClusterID reads the ConfigMap through an informer it starts in Initialize; asked
	// before that informer has seen the map, GetID tries to create it and fails with "already
	// exists". Wait until it answers, as upstream's own callers retry.
	var gotID string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if gotID, err = w.up.ClusterID.GetID(); err == nil {
			break
		}
	}
	if gotID != clusterID {
		t.Fatalf("upstream's cluster ID = %q (%v), want %q from ConfigMap %s", gotID, err, clusterID, upstream.UIDConfigMapName)
	}

	conf := fmt.Sprintf("[global]\nproject-id = %s\nlocal-zone = %s-a\nnode-tags = %s\ncluster-id = %s\napi-endpoint = %s\nsubnetwork-name = default\nnetwork-name = default\n",
		project, region, nodeTag, clusterID, srv.URL)
	cc, err := cloudlb.ParseCloudConfig(strings.NewReader(conf))
	if err != nil {
		t.Fatal(err)
	}
	if w.lb, err = cloudlb.NewFromConfig(ctx, cc); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) ctx() context.Context {
	ctx, cancel := context.WithTimeout(w.t.Context(), 2*time.Minute)
	w.t.Cleanup(cancel)
	return ctx
}

// node is a Node of the fake's instance.
func node(name, zone string) *v1.Node {
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelTopologyZone: zone}},
		Spec:       v1.NodeSpec{ProviderID: "gce://" + project + "/" + zone + "/" + name},
		Status:     v1.NodeStatus{Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}}},
	}
}

// createService stores svc in the API server, which gives it its UID and node ports.
func (w *world) createService(svc *v1.Service) *v1.Service {
	w.t.Helper()
	got, err := w.kube.CoreV1().Services(svc.Namespace).Create(w.ctx(), svc, metav1.CreateOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	return got
}

// fresh reads the Service again (upstream adds its finalizers).
func (w *world) fresh(svc *v1.Service) *v1.Service {
	w.t.Helper()
	got, err := w.kube.CoreV1().Services(svc.Namespace).Get(w.ctx(), svc.Name, metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	return got
}

// writes are the fake's counted calls that change state, by "<Resource>.<Method>".
func (w *world) writes() map[string]int {
	out := map[string]int{}
	for k, n := range w.fake.Calls() {
		api, method, _ := strings.Cut(k, ".")
		if strings.HasSuffix(api, "Operations") {
			continue
		}
		switch method {
		case "Get", "List", "AggregatedList", "ListInstances", "GetHealth":
			continue
		}
		out[k] += n
	}
	return out
}

// resource finds one of the fake's resources by kind and name.
func (w *world) resource(kind, name string) (fakegce.Resource, bool) {
	for _, r := range w.fake.Resources() {
		if r.Kind == "compute#"+kind && r.Name == name {
			return r, true
		}
	}
	return fakegce.Resource{}, false
}

func ip(st *v1.LoadBalancerStatus) string {
	if st == nil || len(st.Ingress) != 1 {
		return ""
	}
	return st.Ingress[0].IP
}

// update writes svc's annotations back to the API server.
func (w *world) update(svc *v1.Service) *v1.Service {
	w.t.Helper()
	cur := w.fresh(svc)
	cur.Annotations = svc.Annotations
	got, err := w.kube.CoreV1().Services(svc.Namespace).Update(w.ctx(), cur, metav1.UpdateOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	return got
}
