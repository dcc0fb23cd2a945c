package servicecontroller

import (
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
)

// Event reasons. They are API: users, dashboards and alerts match on them, so they never change.
// The upstream service controller's reasons keep their upstream meaning.
const (
	// ReasonEnsuringLoadBalancer (Normal): a new or changed Service is being reconciled.
	ReasonEnsuringLoadBalancer = "EnsuringLoadBalancer"
	// ReasonEnsuredLoadBalancer (Normal): the cloud accepted a new or changed Service, or its
	// ingress changed.
	ReasonEnsuredLoadBalancer = "EnsuredLoadBalancer"
	// ReasonSyncLoadBalancerFailed (Warning): ensuring the load balancer failed.
	ReasonSyncLoadBalancerFailed = "SyncLoadBalancerFailed"
	// ReasonUpdatedLoadBalancer (Normal): a node pass changed the load balancer's backends.
	ReasonUpdatedLoadBalancer = "UpdatedLoadBalancer"
	// ReasonUpdateLoadBalancerFailed (Warning): a node pass could not change the backends.
	ReasonUpdateLoadBalancerFailed = "UpdateLoadBalancerFailed"
	// ReasonDeletingLoadBalancer (Normal): the Service no longer wants a load balancer.
	ReasonDeletingLoadBalancer = "DeletingLoadBalancer"
	// ReasonDeletedLoadBalancer (Normal): the load balancer is gone and the finalizer removed.
	ReasonDeletedLoadBalancer = "DeletedLoadBalancer"
	// ReasonDeleteLoadBalancerFailed (Warning): deleting the load balancer failed.
	ReasonDeleteLoadBalancerFailed = "DeleteLoadBalancerFailed"
	// ReasonInvalidAnnotation (Warning): annotations failed validation; nothing was sent to the
	// cloud. Emitted once per distinct set of problems.
	ReasonInvalidAnnotation = "InvalidAnnotation"
	// ReasonAnnotationWarning (Warning): annotations were accepted with warnings (ignored,
	// deprecated or misspelled keys). Emitted once per distinct set of warnings.
	ReasonAnnotationWarning = "AnnotationWarning"
	// ReasonUnAvailableLoadBalancer (Warning): no node is eligible to back the load balancer.
	ReasonUnAvailableLoadBalancer = "UnAvailableLoadBalancer"
	// ReasonReplacementRefused (Warning): the Service asks for a change that needs a new load
	// balancer (a new address), which the replacement guard refused; the load balancer is kept
	// and everything else applied. Setting cloudlb.io/replace-load-balancer to a new value asks
	// for the replacement.
	ReasonReplacementRefused = "ReplacementRefused"
	// ReasonWaitingForLoadBalancer (Normal): the provider asked to poll again later (RetryError),
	// e.g. while the cloud is still provisioning. Not a failure, so not a Warning.
	ReasonWaitingForLoadBalancer = "WaitingForLoadBalancer"
	// ReasonCloudObjectCreated (Normal): the provider created a cloud object for the Service
	// (a load balancer, target group, security group, address, ...); the message names it.
	ReasonCloudObjectCreated = "CloudObjectCreated"
	// ReasonCloudObjectDeleted (Normal): the provider deleted one of the Service's cloud objects
	// (a replacement shows as a deletion and a creation of the same name).
	ReasonCloudObjectDeleted = "CloudObjectDeleted"
)

// maxNodesInEvent bounds the node names listed in one Event message.
const maxNodesInEvent = 20

// failureReason is the Warning reason for a failed operation.
func failureReason(op string) string {
	switch op {
	case opUpdate:
		return ReasonUpdateLoadBalancerFailed
	case opDelete:
		return ReasonDeleteLoadBalancerFailed
	default:
		return ReasonSyncLoadBalancerFailed
	}
}

// failureMessage says which phase failed and why, in upstream's wording.
func failureMessage(op string, err error) string {
	switch op {
	case opUpdate:
		// The update error already names the hosts: "with new hosts [a b]: ...".
		return "Error updating load balancer " + unwrapOp(err).Error()
	case opDelete:
		return "Error deleting load balancer: " + unwrapOp(err).Error()
	default:
		return "Error syncing load balancer: " + unwrapOp(err).Error()
	}
}

// invalidAnnotationMessage lists every problem (key, value, reason, allowed values) in one line.
func invalidAnnotationMessage(problems annotations.Problems) string {
	return "Invalid annotations, no change was made to the load balancer: " + joinProblems(problems)
}

// annotationWarningMessage lists the warnings in one line.
func annotationWarningMessage(problems annotations.Problems) string {
	return "Annotation warnings: " + joinProblems(problems)
}

func joinProblems(problems annotations.Problems) string {
	parts := make([]string, len(problems))
	for i, p := range problems {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// ensuredMessage names the addresses the cloud reported.
func ensuredMessage(status *v1.LoadBalancerStatus) string {
	addrs := ingressAddresses(status.Ingress)
	if len(addrs) == 0 {
		return "Ensured load balancer"
	}
	return "Ensured load balancer at " + strings.Join(addrs, ", ")
}

func ingressAddresses(ingress []v1.LoadBalancerIngress) []string {
	var addrs []string
	for _, in := range ingress {
		switch {
		case in.IP != "":
			addrs = append(addrs, in.IP)
		case in.Hostname != "":
			addrs = append(addrs, in.Hostname)
		}
	}
	return addrs
}

// nodeNames renders at most maxNodesInEvent node names, then "<N more>".
func nodeNames(nodes []*v1.Node) string {
	names := make([]string, 0, min(len(nodes), maxNodesInEvent)+1)
	for i, n := range nodes {
		if i == maxNodesInEvent {
			names = append(names, fmt.Sprintf("<%d more>", len(nodes)-maxNodesInEvent))
			break
		}
		names = append(names, n.Name)
	}
	return "[" + strings.Join(names, " ") + "]"
}

// updatedMessage describes a node pass that changed the backends.
func updatedMessage(nodes []*v1.Node, lastApplied bool) string {
	msg := fmt.Sprintf("Updated load balancer with new hosts (%d nodes)", len(nodes))
	if lastApplied {
		msg += ", with the settings last applied: the Service's annotations are invalid"
	}
	return msg
}

// noNodesMessage says why a load balancer has no backends.
const noNodesMessage = "There are no available nodes for LoadBalancer: every node is excluded, being deleted, or lacks the labels the Service selects"
