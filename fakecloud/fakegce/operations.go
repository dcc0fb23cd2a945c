package fakegce

import (
	"fmt"
	"net/http"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// operation is one stored long-running operation; every operation is DONE when created.
type operation struct {
	link string
	op   *computepb.Operation
}

// newOperation records a DONE operation for a write on target (nil for none); a non-nil
// failure puts error.errors[] and httpErrorStatusCode into it, as GCE does.
func (s *Server) newOperation(c *call, target *object, failure *opError) *computepb.Operation {
	id := s.nextID()
	name := fmt.Sprintf("operation-%d-%012x", id%1_000_000_000_000, id)
	scope := c.scope // region, zone or global: the operation lives where its resource does
	link := s.linkOf(scope, "operations", name)
	t := now()
	op := &computepb.Operation{
		Kind:          proto.String("compute#operation"),
		Id:            proto.Uint64(id),
		Name:          proto.String(name),
		OperationType: proto.String(operationType(c.method)),
		Status:        computepb.Operation_DONE.Enum(),
		Progress:      proto.Int32(100),
		InsertTime:    proto.String(t),
		StartTime:     proto.String(t),
		EndTime:       proto.String(t),
		SelfLink:      proto.String(link),
		User:          proto.String("fakegce@" + s.opts.Project + ".iam.gserviceaccount.com"),
	}
	switch {
	case strings.HasPrefix(scope, "regions/"):
		op.Region = proto.String("projects/" + s.opts.Project + "/" + scope)
	case strings.HasPrefix(scope, "zones/"):
		op.Zone = proto.String("projects/" + s.opts.Project + "/" + scope)
	}
	if target != nil {
		op.TargetLink = proto.String(target.link)
		op.TargetId = proto.Uint64(getUint64(target.msg, "id"))
	} else if c.name != "" {
		op.TargetLink = proto.String(s.linkOf(c.scope, c.collection, c.name))
	}
	if failure != nil {
		op.Error = &computepb.Error{Errors: []*computepb.Errors{{Code: proto.String(failure.Code), Message: proto.String(failure.Message)}}}
		op.HttpErrorStatusCode = proto.Int32(int32(failure.Status))
		op.HttpErrorMessage = proto.String(strings.ToUpper(http.StatusText(failure.Status)))
	}
	s.ops[link] = &operation{link: link, op: op}
	return op
}

// operationType is GCE's operationType for a method: "insert", "delete", "addInstance".
func operationType(method string) string {
	return strings.ToLower(method[:1]) + method[1:]
}

// serveOperation answers RegionOperations/ZoneOperations/GlobalOperations Get, Wait and Delete.
func (s *Server) serveOperation(c *call) ([]byte, error) {
	link := s.linkOf(c.scope, "operations", c.name)
	op, ok := s.ops[link]
	if !ok || c.name == "" {
		return nil, errNotFound(link)
	}
	switch c.method {
	case "Get", "Wait":
		return c.encode(op.op)
	case "Delete":
		delete(s.ops, link)
		return []byte("{}"), nil
	}
	return nil, errBadMethod(c.httpMethod, link)
}
