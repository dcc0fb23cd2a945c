package fakegce

import (
	"fmt"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

var healthChecks = register(&rtype{
	api: "HealthChecks", collection: "healthChecks", kind: "compute#healthCheck", scopeKind: "global",
	newMsg:   func() proto.Message { return &computepb.HealthCheck{} },
	canPatch: true, canUpdate: true,
	check: checkHealthCheck,
})

var regionHealthChecks = register(&rtype{
	api: "RegionHealthChecks", collection: "healthChecks", kind: "compute#healthCheck", scopeKind: "regions",
	newMsg:   func() proto.Message { return &computepb.HealthCheck{} },
	canPatch: true, canUpdate: true,
	check: checkHealthCheck,
})

// httpHealthChecks are the legacy global HTTP health checks target pools require. The
// computepb package has no message for them (compute/apiv1 dropped the client), so the
// fake describes the REST shape with a dynamic message; google.golang.org/api's
// compute/v1 HttpHealthChecks service talks to it.
var httpHealthChecks = register(&rtype{
	api: "HttpHealthChecks", collection: "httpHealthChecks", kind: "compute#httpHealthCheck", scopeKind: "global",
	newMsg:   func() proto.Message { return dynamicpb.NewMessage(httpHealthCheckDesc) },
	canPatch: true, canUpdate: true,
	check: checkHTTPHealthCheck,
})

func checkHealthCheck(_ *Server, _ *call, o, _ *object) error {
	hc := o.msg.(*computepb.HealthCheck)
	if hc.Type == nil {
		switch {
		case hc.HttpHealthCheck != nil:
			hc.Type = proto.String("HTTP")
		case hc.HttpsHealthCheck != nil:
			hc.Type = proto.String("HTTPS")
		case hc.TcpHealthCheck != nil:
			hc.Type = proto.String("TCP")
		default:
			return errRequired("resource.type")
		}
	}
	switch hc.GetType() {
	case "HTTP":
		if hc.HttpHealthCheck == nil {
			hc.HttpHealthCheck = &computepb.HTTPHealthCheck{}
		}
		h := hc.HttpHealthCheck
		if h.Port == nil && h.PortSpecification == nil {
			h.Port = proto.Int32(80)
		}
		if h.RequestPath == nil {
			h.RequestPath = proto.String("/")
		}
		if h.ProxyHeader == nil {
			h.ProxyHeader = proto.String("NONE")
		}
		if err := checkPort("resource.httpHealthCheck.port", h.GetPort()); err != nil {
			return err
		}
	case "HTTPS":
		if hc.HttpsHealthCheck == nil {
			hc.HttpsHealthCheck = &computepb.HTTPSHealthCheck{}
		}
		if hc.HttpsHealthCheck.Port == nil {
			hc.HttpsHealthCheck.Port = proto.Int32(443)
		}
	case "TCP":
		if hc.TcpHealthCheck == nil {
			hc.TcpHealthCheck = &computepb.TCPHealthCheck{}
		}
		if hc.TcpHealthCheck.Port == nil {
			hc.TcpHealthCheck.Port = proto.Int32(80)
		}
	case "SSL", "HTTP2", "GRPC", "GRPC_WITH_TLS":
	default:
		return errInvalidField("resource.type", hc.GetType(), "Must be one of TCP, SSL, HTTP, HTTPS, HTTP2, GRPC, GRPC_WITH_TLS.")
	}
	defaultInt32(&hc.CheckIntervalSec, 5)
	defaultInt32(&hc.TimeoutSec, 5)
	defaultInt32(&hc.HealthyThreshold, 2)
	defaultInt32(&hc.UnhealthyThreshold, 2)
	return checkTimings(hc.GetCheckIntervalSec(), hc.GetTimeoutSec(), hc.GetHealthyThreshold(), hc.GetUnhealthyThreshold())
}

func checkHTTPHealthCheck(_ *Server, _ *call, o, _ *object) error {
	m := o.msg.ProtoReflect()
	defaults := map[string]int32{"port": 80, "checkIntervalSec": 5, "timeoutSec": 5, "healthyThreshold": 2, "unhealthyThreshold": 2}
	for name, v := range defaults {
		fd := m.Descriptor().Fields().ByJSONName(name)
		if !m.Has(fd) {
			m.Set(fd, protoreflect.ValueOfInt32(v))
		}
	}
	if !has(o.msg, "requestPath") {
		setString(o.msg, "requestPath", "/")
	}
	get := func(name string) int32 { return int32(m.Get(m.Descriptor().Fields().ByJSONName(name)).Int()) }
	if err := checkPort("resource.port", get("port")); err != nil {
		return err
	}
	return checkTimings(get("checkIntervalSec"), get("timeoutSec"), get("healthyThreshold"), get("unhealthyThreshold"))
}

func defaultInt32(p **int32, v int32) {
	if *p == nil {
		*p = proto.Int32(v)
	}
}

func checkPort(field string, p int32) error {
	if p < 1 || p > 65535 {
		return errInvalidField(field, fmt.Sprint(p), "Must be between 1 and 65535.")
	}
	return nil
}

// checkTimings enforces GCE's health check ranges.
func checkTimings(interval, timeout, healthy, unhealthy int32) error {
	switch {
	case interval < 1 || interval > 300:
		return errInvalidField("resource.checkIntervalSec", fmt.Sprint(interval), "Must be between 1 and 300.")
	case timeout < 1 || timeout > 300:
		return errInvalidField("resource.timeoutSec", fmt.Sprint(timeout), "Must be between 1 and 300.")
	case timeout > interval:
		return errInvalid(fmt.Sprintf("timeoutSec (%d) must be less than or equal to checkIntervalSec (%d).", timeout, interval))
	case healthy < 1 || healthy > 10:
		return errInvalidField("resource.healthyThreshold", fmt.Sprint(healthy), "Must be between 1 and 10.")
	case unhealthy < 1 || unhealthy > 10:
		return errInvalidField("resource.unhealthyThreshold", fmt.Sprint(unhealthy), "Must be between 1 and 10.")
	}
	return nil
}

// httpHealthCheckDesc describes compute#httpHealthCheck as a proto2 message so unset
// fields stay absent and protojson gives the REST names (requestPath, checkIntervalSec).
var httpHealthCheckDesc = func() protoreflect.MessageDescriptor {
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	f := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), Label: opt, Type: typ.Enum()}
	}
	str, i32, u64 := descriptorpb.FieldDescriptorProto_TYPE_STRING, descriptorpb.FieldDescriptorProto_TYPE_INT32, descriptorpb.FieldDescriptorProto_TYPE_UINT64
	fdp := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("fakegce/http_health_check.proto"),
		Package: proto.String("fakegce"),
		Syntax:  proto.String("proto2"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("HttpHealthCheck"),
			Field: []*descriptorpb.FieldDescriptorProto{
				f("kind", 1, str), f("id", 2, u64), f("creation_timestamp", 3, str), f("name", 4, str),
				f("description", 5, str), f("host", 6, str), f("request_path", 7, str), f("port", 8, i32),
				f("check_interval_sec", 9, i32), f("timeout_sec", 10, i32), f("unhealthy_threshold", 11, i32),
				f("healthy_threshold", 12, i32), f("self_link", 13, str),
			},
		}},
	}
	fd, err := protodesc.NewFile(fdp, nil)
	if err != nil {
		panic(fmt.Sprintf("fakegce: static descriptor: %v", err)) // a bug in the literal above, not input
	}
	return fd.Messages().Get(0)
}()
