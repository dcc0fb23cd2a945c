package servicecontroller

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Memory. The informer caches hold every Service and Node of the cluster, and the largest parts
// of those objects are ones the controller never reads: managedFields (server-side apply
// bookkeeping, about 1.5 KB per object) and a Node's status.images (the kubelet reports up to
// 50 images with their names and sizes). stripUnused drops them as objects enter the caches; at
// 5,000 Services and 1,000 Nodes managedFields alone was 7 MB of a 50 MB heap.

// stripUnused is the informers' cache.TransformFunc.
func stripUnused(obj any) (any, error) {
	switch o := obj.(type) {
	case *v1.Service:
		o.ManagedFields = nil
	case *v1.Node:
		o.ManagedFields = nil
		o.Status.Images = nil
	}
	return obj, nil
}

// setTransform installs stripUnused on an informer that has not started; one that has (shared
// with a controller that started it) keeps its objects whole.
func setTransform(inf cache.SharedIndexInformer) error {
	return inf.SetTransform(stripUnused)
}
