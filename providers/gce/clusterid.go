package gce

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cloudlb/cloudlb/providers"
)

// Upstream cloud-provider-gcp's cluster ID store (gce_clusterid.go): ConfigMap
// kube-system/ingress-uid, shared with ingress-gce. Key "uid" is the cluster's ID and
// "provider-uid" the provider's; upstream's GetID returns provider-uid when the key is present
// and uid otherwise, and fails when uid is absent. When the ConfigMap is missing, upstream
// creates it with a random 16-hex-digit ID under both keys.
const (
	uidConfigMapNamespace = metav1.NamespaceSystem
	uidConfigMapName      = "ingress-uid"
	uidKeyCluster         = "uid"
	uidKeyProvider        = "provider-uid"
)

// uidConfigMap is "kube-system/ingress-uid", for messages.
const uidConfigMap = uidConfigMapNamespace + "/" + uidConfigMapName

var _ providers.ClusterIDDiscoverer = (*Cloud)(nil)

// errUnusableClusterID is a discovered ID that cloudlb's names would not carry as it is.
var errUnusableClusterID = errors.New("cluster ID unusable in GCE names as it is")

// DiscoverClusterID finds the ID of the cluster's shared objects (k8s-<id>-node,
// k8s-ig--<id>, ...) as upstream does: the cloud config's cluster-id (a cloudlb extension),
// else ConfigMap kube-system/ingress-uid read with client: its provider-uid, else its uid.
//
// Unlike upstream, a missing ConfigMap is not created: that is a write in kube-system that
// every later reader (ingress-gce, the upstream provider) would take as the cluster's identity,
// decided by a load-balancer controller that may be running only for a trial. The error
// wraps providers.ErrNoClusterID and says so.
func (c *Cloud) DiscoverClusterID(ctx context.Context, client kubernetes.Interface) (string, string, error) {
	if id := c.cfg.Global.ClusterID; id != "" {
		return id, "cloud config cluster-id", nil
	}
	const looked = "the cloud config sets no cluster-id"
	if client == nil {
		return "", "", fmt.Errorf("gce: %s, and there is no Kubernetes client to read ConfigMap %s: %w", looked, uidConfigMap, providers.ErrNoClusterID)
	}
	cm, err := client.CoreV1().ConfigMaps(uidConfigMapNamespace).Get(ctx, uidConfigMapName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", "", fmt.Errorf("gce: %s, and ConfigMap %s does not exist (the upstream provider and ingress-gce create it with their first load balancer; cloudlb does not): %w",
			looked, uidConfigMap, providers.ErrNoClusterID)
	case apierrors.IsForbidden(err):
		return "", "", fmt.Errorf("gce: %s, and reading ConfigMap %s is forbidden: grant get on configmaps named %s in %s (deploy/overlays/gce does): %w",
			looked, uidConfigMap, uidConfigMapName, uidConfigMapNamespace, err)
	case err != nil:
		return "", "", fmt.Errorf("gce: reading ConfigMap %s: %w", uidConfigMap, err)
	}
	uid, provider := cm.Data[uidKeyCluster], cm.Data[uidKeyProvider]
	if uid == "" {
		// Upstream's GetID fails without uid, even when provider-uid is set.
		return "", "", fmt.Errorf("gce: %s, and ConfigMap %s has no %q key: %w", looked, uidConfigMap, uidKeyCluster, providers.ErrNoClusterID)
	}
	id, key := uid, uidKeyCluster
	if provider != "" {
		id, key = provider, uidKeyProvider
	}
	if SanitizeClusterID(id) != id {
		// cloudlb would name the shared objects after another ID than upstream did.
		return "", "", fmt.Errorf("gce: ConfigMap %s key %s = %q: %w (at most %d lower-case letters, digits and '-'; upstream's are 16 hex digits)",
			uidConfigMap, key, id, errUnusableClusterID, maxClusterIDLen)
	}
	return id, fmt.Sprintf("ConfigMap %s key %s", uidConfigMap, key), nil
}
