package nodeproxy

import "k8s.io/apimachinery/pkg/runtime"

// Event reasons the agent records on Services, all Warnings.
const (
	// ReasonFailedToStartServiceHealthcheck is kube-proxy's reason when a healthCheckNodePort
	// cannot be listened on.
	ReasonFailedToStartServiceHealthcheck = "FailedToStartServiceHealthcheck"
	// ReasonFailedToStartNodePortProxy is given when a NodePort cannot be listened on by the
	// NodePort proxy (--proxy-nodeports).
	ReasonFailedToStartNodePortProxy = "FailedToStartNodePortProxy"
)

// EventRecorder records Events; record.EventRecorder satisfies it.
type EventRecorder interface {
	Eventf(object runtime.Object, eventtype, reason, messageFmt string, args ...any)
}
