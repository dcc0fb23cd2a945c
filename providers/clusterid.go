package providers

import (
	"context"
	"errors"

	"k8s.io/client-go/kubernetes"
)

// ClusterIDDiscoverer is a provider that finds the cluster's identity where its upstream
// provider finds it (AWS: the cloud config, else the tags of the instance the controller runs
// on; GCE: the cloud config, else ConfigMap kube-system/ingress-uid), so cloudlb owns the cloud
// objects upstream created instead of falling back to --cluster-name's default "kubernetes".
// The controller manager asks it when --cluster-name is not given, and compares when it is.
type ClusterIDDiscoverer interface {
	// DiscoverClusterID returns the identity and where it was found ("cloud config
	// KubernetesClusterID", "tag kubernetes.io/cluster/<id> of instance i-..."). client is the
	// controller's own Kubernetes client. An error wrapping ErrNoClusterID means the provider
	// looked everywhere upstream looks and found nothing; its message says where it looked.
	DiscoverClusterID(ctx context.Context, client kubernetes.Interface) (id, source string, err error)
}

// ErrNoClusterID is wrapped by a ClusterIDDiscoverer that found no cluster identity.
var ErrNoClusterID = errors.New("no cluster identity found")
