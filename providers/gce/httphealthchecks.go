package gce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	gax "github.com/googleapis/gax-go/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/protobuf/encoding/protojson"
)

// legacyHTTPHealthCheck is a global httpHealthChecks resource, the only health check a
// target pool accepts. cloud.google.com/go/compute/apiv1 has no client (or message) for it,
// so httpHealthChecks are called over plain REST with the same endpoint and HTTP client.
type legacyHTTPHealthCheck struct {
	Name               string `json:"name"`
	Description        string `json:"description,omitempty"`
	Port               int32  `json:"port,omitempty"`
	RequestPath        string `json:"requestPath,omitempty"`
	CheckIntervalSec   int32  `json:"checkIntervalSec,omitempty"`
	TimeoutSec         int32  `json:"timeoutSec,omitempty"`
	HealthyThreshold   int32  `json:"healthyThreshold,omitempty"`
	UnhealthyThreshold int32  `json:"unhealthyThreshold,omitempty"`
	SelfLink           string `json:"selfLink,omitempty"`
}

// httpHealthChecksAPI is the legacy collection; writes return once their operation is done.
type httpHealthChecksAPI interface {
	Get(ctx context.Context, project, name string) (*legacyHTTPHealthCheck, error)
	Insert(ctx context.Context, project string, hc *legacyHTTPHealthCheck) error
	Update(ctx context.Context, project, name string, hc *legacyHTTPHealthCheck) error
	Delete(ctx context.Context, project, name string) error
}

// globalOperationsAPI polls global operations.
type globalOperationsAPI interface {
	Get(context.Context, *computepb.GetGlobalOperationRequest, ...gax.CallOption) (*computepb.Operation, error)
}

// restHTTPHealthChecks calls {endpoint}/compute/v1/projects/{p}/global/httpHealthChecks.
type restHTTPHealthChecks struct {
	endpoint string
	client   *http.Client
	ops      globalOperationsAPI
}

func (r *restHTTPHealthChecks) url(project, name string) string {
	u := r.endpoint + "/compute/v1/projects/" + url.PathEscape(project) + "/global/httpHealthChecks"
	if name != "" {
		u += "/" + url.PathEscape(name)
	}
	return u
}

func (r *restHTTPHealthChecks) send(ctx context.Context, method, u string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if err := googleapi.CheckResponseWithBody(resp, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

func (r *restHTTPHealthChecks) Get(ctx context.Context, project, name string) (*legacyHTTPHealthCheck, error) {
	buf, err := r.send(ctx, http.MethodGet, r.url(project, name), nil)
	if err != nil {
		return nil, err
	}
	hc := &legacyHTTPHealthCheck{}
	if err := json.Unmarshal(buf, hc); err != nil {
		return nil, fmt.Errorf("decoding httpHealthCheck %s: %w", name, err)
	}
	return hc, nil
}

func (r *restHTTPHealthChecks) Insert(ctx context.Context, project string, hc *legacyHTTPHealthCheck) error {
	return r.write(ctx, project, http.MethodPost, r.url(project, ""), hc)
}

func (r *restHTTPHealthChecks) Update(ctx context.Context, project, name string, hc *legacyHTTPHealthCheck) error {
	return r.write(ctx, project, http.MethodPut, r.url(project, name), hc)
}

func (r *restHTTPHealthChecks) Delete(ctx context.Context, project, name string) error {
	return r.write(ctx, project, http.MethodDelete, r.url(project, name), nil)
}

// write sends the request and polls its global operation until DONE.
func (r *restHTTPHealthChecks) write(ctx context.Context, project, method, u string, body any) error {
	buf, err := r.send(ctx, method, u, body)
	if err != nil {
		return err
	}
	op := &computepb.Operation{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(buf, op); err != nil {
		return fmt.Errorf("decoding operation: %w", err)
	}
	pause := 50 * time.Millisecond
	for {
		if c := op.GetHttpErrorStatusCode(); c != 0 && (c < 200 || c > 299) {
			return &googleapi.Error{Code: int(c), Message: fmt.Sprintf("%s: %v", op.GetHttpErrorMessage(), op.GetError())}
		}
		if op.GetStatus() == computepb.Operation_DONE {
			return opError(op)
		}
		if err := gax.Sleep(ctx, pause); err != nil {
			return err
		}
		pause = min(2*pause, 2*time.Second)
		if op, err = r.ops.Get(ctx, &computepb.GetGlobalOperationRequest{Project: project, Operation: op.GetName()}); err != nil {
			return err
		}
	}
}
