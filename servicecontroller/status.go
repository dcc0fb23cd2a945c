package servicecontroller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// maxConflictRetries bounds the re-reads after a finalizer patch lost a race.
const maxConflictRetries = 5

// apiWriter is the serviceWriter backed by the API server.
type apiWriter struct {
	client kubernetes.Interface
}

var _ serviceWriter = (*apiWriter)(nil)

// AddFinalizer sends a JSON merge patch of metadata.finalizers that carries the Service's
// resourceVersion: the API server rejects it with a Conflict when the object changed since it
// was read, so another controller's finalizer added meanwhile is never dropped. On Conflict the
// Service is read again and the patch rebuilt.
func (w *apiWriter) AddFinalizer(ctx context.Context, svc *v1.Service) (*v1.Service, error) {
	cur := svc
	for attempt := 0; ; attempt++ {
		if hasFinalizer(cur) {
			return cur, nil
		}
		out, err := w.patchFinalizers(ctx, cur, append(slices.Clone(cur.Finalizers), Finalizer))
		if err == nil {
			return out, nil
		}
		if cur, err = w.reread(ctx, svc, err, attempt); err != nil {
			return nil, fmt.Errorf("adding finalizer: %w", err)
		}
	}
}

// RemoveFinalizer removes only our entry, with the same optimistic concurrency as
// AddFinalizer. A Service that is already gone is not an error.
func (w *apiWriter) RemoveFinalizer(ctx context.Context, svc *v1.Service) error {
	cur := svc
	for attempt := 0; ; attempt++ {
		if !hasFinalizer(cur) {
			return nil
		}
		kept := slices.DeleteFunc(slices.Clone(cur.Finalizers), func(f string) bool { return f == Finalizer })
		_, err := w.patchFinalizers(ctx, cur, kept)
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if cur, err = w.reread(ctx, svc, err, attempt); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("removing finalizer: %w", err)
		}
	}
}

// reread returns a fresh copy of svc after patchErr, or an error when patchErr is not a
// Conflict, the retries are exhausted, or the Service was re-created under the same name.
func (w *apiWriter) reread(ctx context.Context, svc *v1.Service, patchErr error, attempt int) (*v1.Service, error) {
	if !apierrors.IsConflict(patchErr) || attempt >= maxConflictRetries {
		return nil, patchErr
	}
	cur, err := w.client.CoreV1().Services(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("re-reading after a conflict: %w", err)
	}
	if cur.UID != svc.UID {
		return nil, apierrors.NewNotFound(v1.Resource("services"), svc.Name)
	}
	return cur, nil
}

func (w *apiWriter) patchFinalizers(ctx context.Context, svc *v1.Service, finalizers []string) (*v1.Service, error) {
	patch, err := finalizerPatch(svc.ResourceVersion, finalizers)
	if err != nil {
		return nil, err
	}
	return w.client.CoreV1().Services(svc.Namespace).Patch(ctx, svc.Name, types.MergePatchType, patch, metav1.PatchOptions{})
}

// finalizerPatch is a JSON merge patch replacing metadata.finalizers, conditional on
// resourceVersion.
func finalizerPatch(resourceVersion string, finalizers []string) ([]byte, error) {
	if finalizers == nil {
		finalizers = []string{}
	}
	type meta struct {
		ResourceVersion string   `json:"resourceVersion"`
		Finalizers      []string `json:"finalizers"`
	}
	return json.Marshal(struct {
		Metadata meta `json:"metadata"`
	}{meta{resourceVersion, finalizers}})
}

// PatchStatus sends a JSON merge patch of status.loadBalancer.ingress alone to the status
// subresource (status.conditions and the rest stay untouched); an empty status removes the
// ingress. A Service that is already gone is not an error.
func (w *apiWriter) PatchStatus(ctx context.Context, svc *v1.Service, status *v1.LoadBalancerStatus) error {
	patch, err := statusPatch(status)
	if err != nil {
		return err
	}
	_, err = w.client.CoreV1().Services(svc.Namespace).Patch(ctx, svc.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patching status.loadBalancer: %w", err)
	}
	return nil
}

// statusPatch renders {"status":{"loadBalancer":{"ingress":[...]}}}, with null for no ingress
// (a merge patch with an empty object would change nothing).
func statusPatch(status *v1.LoadBalancerStatus) ([]byte, error) {
	type lb struct {
		Ingress []v1.LoadBalancerIngress `json:"ingress"`
	}
	type st struct {
		LoadBalancer lb `json:"loadBalancer"`
	}
	var ingress []v1.LoadBalancerIngress
	if len(status.Ingress) > 0 {
		ingress = status.Ingress
	}
	return json.Marshal(struct {
		Status st `json:"status"`
	}{st{lb{ingress}}})
}
