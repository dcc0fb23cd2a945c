package nodeproxy_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// deployDir holds the DaemonSet's ServiceAccount and RBAC; every agent of these tests runs as
// that ServiceAccount (impersonated), so a missing permission fails the tests.
const deployDir = "../../deploy/nodeproxy"

const agentUser = "system:serviceaccount:kube-system:cloudlb-nodeproxy"

// installRBAC creates the objects of serviceaccount.yaml and rbac.yaml as the admin.
func installRBAC(ctx context.Context, cfg *rest.Config) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for _, file := range []string{"serviceaccount.yaml", "rbac.yaml"} {
		raw, err := os.ReadFile(filepath.Join(deployDir, file))
		if err != nil {
			return err
		}
		for _, doc := range bytes.Split(raw, []byte("\n---\n")) {
			obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			if err := create(ctx, client, obj); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("%s: create %T: %w", file, obj, err)
			}
		}
	}
	return nil
}

func create(ctx context.Context, client kubernetes.Interface, obj runtime.Object) error {
	opts := metav1.CreateOptions{}
	var err error
	switch o := obj.(type) {
	case *v1.ServiceAccount:
		_, err = client.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, opts)
	case *rbacv1.ClusterRole:
		_, err = client.RbacV1().ClusterRoles().Create(ctx, o, opts)
	case *rbacv1.ClusterRoleBinding:
		_, err = client.RbacV1().ClusterRoleBindings().Create(ctx, o, opts)
	default:
		err = fmt.Errorf("unexpected kind %T", obj)
	}
	return err
}

// agentRESTConfig is the admin configuration impersonating the agent's ServiceAccount.
func agentRESTConfig() *rest.Config {
	cfg := shared.RESTConfig()
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: agentUser,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
	}
	return cfg
}

// TestRBACIsMinimal: the agent's identity reads what it needs and writes nothing but Events.
func TestRBACIsMinimal(t *testing.T) {
	client, err := kubernetes.NewForConfig(agentRESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list services: %v", err)
	}
	if _, err := client.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list endpointslices: %v", err)
	}
	forbidden := map[string]error{}
	_, forbidden["list secrets"] = client.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	_, forbidden["create node"] = client.CoreV1().Nodes().Create(ctx, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "np-rbac"}}, metav1.CreateOptions{})
	forbidden["delete service"] = client.CoreV1().Services("default").Delete(ctx, "kubernetes", metav1.DeleteOptions{})
	_, forbidden["list pods"] = client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	for what, err := range forbidden {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s as %s: err = %v, want Forbidden", what, agentUser, err)
		}
	}
}
