package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/providers/fake"
	"github.com/cloudlb/cloudlb/servicecontroller"
)

// demoSnapshot is what the demo reads back: the Services it applied, their Events and the
// fake cloud's load balancers.
type demoSnapshot struct {
	Services []v1.Service
	Events   []v1.Event
	LBs      []fake.LoadBalancer
}

// demoRow is one line of the demo table.
type demoRow struct {
	// Service is namespace/name.
	Service string
	// Class is spec.loadBalancerClass, or "<default>" when unset.
	Class string
	// Scheme is the load balancer's scheme in the fake cloud (external or internal), or "-"
	// when the cloud holds none for the Service.
	Scheme string
	// Ingress lists status.loadBalancer.ingress, or <pending>.
	Ingress string
	// Ports lists port:nodePort/protocol, then the health check node port of a Local Service.
	Ports string
	// LastEvent is the type and reason of the Service's newest Event, or "-".
	LastEvent string
}

// demoRows builds one row per Service, sorted by namespace/name.
func demoRows(s demoSnapshot) []demoRow {
	lbs := make(map[string]fake.LoadBalancer, len(s.LBs))
	byHost := map[string]fake.LoadBalancer{} // aws: the ingress hostname is the ELB's DNS name
	for _, lb := range s.LBs {
		if lb.ServiceUID != "" {
			lbs[lb.ServiceUID] = lb
		}
		if lb.Hostname != "" {
			byHost[lb.Hostname] = lb
		}
	}
	last := lastEvents(s.Events)
	rows := make([]demoRow, 0, len(s.Services))
	for i := range s.Services {
		svc := &s.Services[i]
		key := svc.Namespace + "/" + svc.Name
		row := demoRow{Service: key, Class: "<default>", Scheme: "-", Ingress: ingressOf(svc), Ports: portsOf(svc), LastEvent: "-"}
		if c := svc.Spec.LoadBalancerClass; c != nil {
			row.Class = *c
		}
		lb, ok := lbs[string(svc.UID)]
		if !ok && len(svc.Status.LoadBalancer.Ingress) > 0 && svc.Status.LoadBalancer.Ingress[0].Hostname != "" {
			lb, ok = byHost[svc.Status.LoadBalancer.Ingress[0].Hostname]
		}
		if ok {
			row.Scheme = "external"
			if lb.Internal {
				row.Scheme = "internal"
			}
		}
		if e, ok := last[key]; ok {
			row.LastEvent = e.Type + " " + e.Reason
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b demoRow) int { return strings.Compare(a.Service, b.Service) })
	return rows
}

// writeDemoTable renders rows as an aligned table with a header.
func writeDemoTable(w io.Writer, rows []demoRow) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE/NAME\tCLASS\tSCHEME\tINGRESS\tPORTS\tLAST EVENT")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Service, r.Class, r.Scheme, r.Ingress, r.Ports, r.LastEvent)
	}
	return tw.Flush()
}

// ingressOf renders the Service's ingress addresses like kubectl's EXTERNAL-IP.
func ingressOf(svc *v1.Service) string {
	var addrs []string
	for _, in := range svc.Status.LoadBalancer.Ingress {
		switch {
		case in.IP != "":
			addrs = append(addrs, in.IP)
		case in.Hostname != "":
			addrs = append(addrs, in.Hostname)
		}
	}
	if len(addrs) == 0 {
		return "<pending>"
	}
	return strings.Join(addrs, ",")
}

// portsOf renders the ports like kubectl's PORT(S), plus the health check node port.
func portsOf(svc *v1.Service) string {
	parts := make([]string, 0, len(svc.Spec.Ports))
	for _, p := range svc.Spec.Ports {
		parts = append(parts, fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol))
	}
	s := strings.Join(parts, ",")
	if svc.Spec.HealthCheckNodePort != 0 {
		s += fmt.Sprintf(" (health %d)", svc.Spec.HealthCheckNodePort)
	}
	return s
}

// lastEvents returns the newest Event of each involved object, keyed by namespace/name.
func lastEvents(events []v1.Event) map[string]v1.Event {
	last := make(map[string]v1.Event)
	for _, e := range events {
		key := e.InvolvedObject.Namespace + "/" + e.InvolvedObject.Name
		if cur, ok := last[key]; !ok || newerEvent(e, cur) {
			last[key] = e
		}
	}
	return last
}

// newerEvent reports whether a happened after b. Event timestamps have a resolution of one
// second, so two Events of one reconcile often tie; the resourceVersion, opaque by contract
// but an increasing etcd revision on every real API server, breaks the tie for display.
func newerEvent(a, b v1.Event) bool {
	if c := eventTime(a).Compare(eventTime(b)); c != 0 {
		return c > 0
	}
	ra, _ := strconv.ParseUint(a.ResourceVersion, 10, 64)
	rb, _ := strconv.ParseUint(b.ResourceVersion, 10, 64)
	return ra > rb
}

// eventTime is when the Event last occurred, whichever of its timestamps the recorder set.
func eventTime(e v1.Event) time.Time {
	return slices.MaxFunc([]time.Time{e.LastTimestamp.Time, e.EventTime.Time, e.FirstTimestamp.Time, e.CreationTimestamp.Time},
		func(a, b time.Time) int { return a.Compare(b) })
}

// invalidEvent returns the newest Warning InvalidAnnotation Event of the Service key, if any.
func invalidEvent(events []v1.Event, key string) (v1.Event, bool) {
	var newest v1.Event
	found := false
	for _, e := range events {
		if e.Type == v1.EventTypeWarning && e.Reason == servicecontroller.ReasonInvalidAnnotation &&
			e.InvolvedObject.Namespace+"/"+e.InvolvedObject.Name == key && (!found || newerEvent(e, newest)) {
			newest, found = e, true
		}
	}
	return newest, found
}

// missingEnsuredEvents counts the Services with an ingress but no EnsuredLoadBalancer Event.
func missingEnsuredEvents(s demoSnapshot) int {
	ensured := map[string]bool{}
	for _, e := range s.Events {
		if e.Reason == servicecontroller.ReasonEnsuredLoadBalancer {
			ensured[e.InvolvedObject.Namespace+"/"+e.InvolvedObject.Name] = true
		}
	}
	n := 0
	for _, svc := range s.Services {
		if len(svc.Status.LoadBalancer.Ingress) > 0 && !ensured[svc.Namespace+"/"+svc.Name] {
			n++
		}
	}
	return n
}

// demoPending lists what the demo still waits for: an ingress on every valid Service and an
// InvalidAnnotation Event on every invalid one (keyed namespace/name in invalid). Services
// not yet in the snapshot are reported too.
func demoPending(s demoSnapshot, want []string, invalid map[string]bool) []string {
	byKey := make(map[string]*v1.Service, len(s.Services))
	for i := range s.Services {
		byKey[s.Services[i].Namespace+"/"+s.Services[i].Name] = &s.Services[i]
	}
	var pending []string
	for _, key := range want {
		svc, ok := byKey[key]
		switch {
		case !ok:
			pending = append(pending, key+": not found")
		case invalid[key]:
			if _, ok := invalidEvent(s.Events, key); !ok {
				pending = append(pending, key+": no "+servicecontroller.ReasonInvalidAnnotation+" Event yet")
			}
		case len(svc.Status.LoadBalancer.Ingress) == 0:
			pending = append(pending, key+": no ingress yet")
		}
	}
	return pending
}
