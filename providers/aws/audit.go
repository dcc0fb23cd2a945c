package aws

import (
	"context"
	"reflect"
	"strings"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"github.com/cloudlb/cloudlb/providers"
)

// auditMiddleware reports every write call once, after the SDK's retries, to the ctx's
// auditor (providers.AuditWrite): the operation as "api.Operation", the object it names and
// whether it created or deleted a load balancer, target group or security group. It sits in
// the Initialize step, which runs once per call; reads are not reported.
var auditMiddleware = middleware.InitializeMiddlewareFunc("cloudlb/audit",
	func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleInitialize(ctx, in)
		op := middleware.GetOperationName(ctx)
		if isWrite(op) {
			providers.AuditWrite(ctx, providers.Write{
				Cloud: ProviderName, Operation: apiName(awsmiddleware.GetServiceID(ctx)) + "." + op,
				Object: objectOf(in.Parameters), Change: changeOf(op),
			}, err)
		}
		return out, md, err
	})

// isWrite reports whether an operation changes something (not Describe/Get/List).
func isWrite(op string) bool {
	for _, p := range []string{"Describe", "Get", "List"} {
		if strings.HasPrefix(op, p) {
			return false
		}
	}
	return op != ""
}

// apiName is the short API name cloudlb uses in operation names and metrics.
func apiName(serviceID string) string {
	switch serviceID {
	case "EC2":
		return "ec2"
	case "Elastic Load Balancing":
		return "elb"
	case "Elastic Load Balancing v2":
		return "elbv2"
	}
	return strings.ToLower(serviceID)
}

// changeOf is the lifecycle change of the objects that matter to a Service's author: its load
// balancers, target groups and security groups.
func changeOf(op string) providers.Change {
	for _, obj := range []string{"LoadBalancer", "TargetGroup", "SecurityGroup"} {
		switch op {
		case "Create" + obj:
			return providers.ChangeCreated
		case "Delete" + obj:
			return providers.ChangeDeleted
		}
	}
	return providers.ChangeNone
}

// objectFields name, in order of preference, the input field that says which object a write
// acts on.
var objectFields = []string{"LoadBalancerArn", "TargetGroupArn", "ListenerArn", "LoadBalancerName", "GroupId", "GroupName", "Name",
	"ResourceArns", "LoadBalancerNames", "Resources"}

// objectOf is the object an SDK input names: the first of objectFields it sets.
func objectOf(params any) string {
	v := reflect.ValueOf(params)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return ""
	}
	for _, name := range objectFields {
		f := v.FieldByName(name)
		if !f.IsValid() {
			continue
		}
		switch {
		case f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().Kind() == reflect.String:
			return f.Elem().String()
		case f.Kind() == reflect.String && f.String() != "":
			return f.String()
		case f.Kind() == reflect.Slice && f.Len() > 0 && f.Type().Elem().Kind() == reflect.String:
			parts := make([]string, f.Len())
			for i := range parts {
				parts[i] = f.Index(i).String()
			}
			return strings.Join(parts, ",")
		}
	}
	return ""
}
