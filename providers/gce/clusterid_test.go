package gce

import (
	"errors"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/cloudlb/cloudlb/providers"
)

func TestDiscoverClusterID(t *testing.T) {
	t.Parallel()
	uidMap := func(ns, name string, data map[string]string) runtime.Object {
		return &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
	}
	forbidden := func() kubernetes.Interface {
		cs := kubefake.NewClientset()
		cs.PrependReactor("get", "configmaps", func(clienttesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, uidConfigMapName, errors.New("RBAC"))
		})
		return cs
	}
	tests := []struct {
		name       string
		config     string
		client     kubernetes.Interface
		wantID     string
		wantSource string
		wantErr    error
		wantInErr  []string
	}{
		{name: "config cluster-id", config: "cluster-id = my-id",
			client: kubefake.NewClientset(uidMap("kube-system", "ingress-uid", map[string]string{"uid": "0123456789abcdef"})),
			wantID: "my-id", wantSource: "cloud config cluster-id"},
		{name: "uid", client: kubefake.NewClientset(uidMap("kube-system", "ingress-uid", map[string]string{"uid": "0123456789abcdef"})),
			wantID: "0123456789abcdef", wantSource: "ConfigMap kube-system/ingress-uid key uid"},
		{name: "provider-uid wins over uid",
			client: kubefake.NewClientset(uidMap("kube-system", "ingress-uid", map[string]string{"uid": "0123456789abcdef", "provider-uid": "fedcba9876543210"})),
			wantID: "fedcba9876543210", wantSource: "ConfigMap kube-system/ingress-uid key provider-uid"},
		{name: "provider-uid without uid", client: kubefake.NewClientset(uidMap("kube-system", "ingress-uid", map[string]string{"provider-uid": "fedcba9876543210"})),
			wantErr: providers.ErrNoClusterID, wantInErr: []string{"no cluster-id", `no "uid" key`}},
		{name: "no ConfigMap", client: kubefake.NewClientset(uidMap("default", "ingress-uid", map[string]string{"uid": "0123456789abcdef"})),
			wantErr: providers.ErrNoClusterID, wantInErr: []string{"no cluster-id", "kube-system/ingress-uid does not exist"}},
		{name: "no client", wantErr: providers.ErrNoClusterID, wantInErr: []string{"no Kubernetes client"}},
		{name: "forbidden", client: forbidden(), wantInErr: []string{"forbidden", "grant get on configmaps named ingress-uid in kube-system"}},
		{name: "ID cloudlb would rename", client: kubefake.NewClientset(uidMap("kube-system", "ingress-uid", map[string]string{"uid": "Cluster_A"})),
			wantErr: errUnusableClusterID, wantInErr: []string{`key uid = "Cluster_A"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := ParseCloudConfig(strings.NewReader("[global]\nproject-id = p\nlocal-zone = us-central1-a\n" + tc.config + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			id, source, err := New(Options{Config: cfg}).DiscoverClusterID(t.Context(), tc.client)
			if tc.wantErr != nil || len(tc.wantInErr) > 0 {
				if err == nil {
					t.Fatalf("DiscoverClusterID = %q from %q, want an error", id, source)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want %v", err, tc.wantErr)
				}
				if tc.wantErr == nil && errors.Is(err, providers.ErrNoClusterID) {
					t.Errorf("err = %v: a failure to read is not 'nothing found'", err)
				}
				for _, s := range tc.wantInErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id != tc.wantID || source != tc.wantSource {
				t.Errorf("DiscoverClusterID = %q from %q, want %q from %q", id, source, tc.wantID, tc.wantSource)
			}
			if got := New(Options{Config: cfg}).settings(id).ClusterID; got != id {
				t.Errorf("shared objects would be named after %q, not the discovered %q", got, id)
			}
		})
	}
}
