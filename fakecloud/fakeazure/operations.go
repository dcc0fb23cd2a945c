package fakeazure

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// operation is an ARM async operation status resource, the target of the
// Azure-AsyncOperation header of a long-running PUT or DELETE.
type operation struct {
	id string
	// remaining is the number of InProgress answers left before the terminal one.
	remaining int
	// err makes the operation end Failed with this error.
	err *armError
	// canceled makes the terminal status Canceled rather than Failed.
	canceled bool
	start    time.Time
}

// asyncPollDelay is what the fake asks pollers to wait between polls (retry-after-ms,
// which azcore prefers over its 30 s default frequency); Retry-After carries 1 s for
// clients that only read that header.
const asyncPollDelay = 10 * time.Millisecond

// startOperation records a new operation on the resource with key resKey, under s.mu.
// An operation still in progress on the same resource is superseded, as ARM does when a
// second write arrives before the first finished: it ends Canceled with
// CanceledAndSupersededDueToAnotherOperation, and the later write wins.
func (s *Server) startOperation(resKey string, fail *armError) *operation {
	if prev := s.active[resKey]; prev != nil && prev.remaining > 0 {
		prev.remaining = 0
		prev.canceled = true
		prev.err = errf(http.StatusConflict, "CanceledAndSupersededDueToAnotherOperation",
			"Operation PutOrDelete on resource %s was canceled and superseded by another operation on the same resource.", resKey)
	}
	op := &operation{id: s.uuid(), remaining: s.asyncPolls, err: fail, start: time.Now().UTC()}
	s.ops[op.id] = op
	s.active[resKey] = op
	return op
}

func (s *Server) operationURL(r *http.Request, op *operation, result bool) string {
	seg := "operations"
	if result {
		seg = "operationResults"
	}
	return baseURL(r) + "/subscriptions/" + s.opts.SubscriptionID + "/providers/" + providerNS + "/locations/" +
		s.opts.Location + "/" + seg + "/" + op.id + "?api-version=" + r.URL.Query().Get("api-version")
}

// acceptedHeaders are the headers of a long-running call's first answer.
func (s *Server) acceptedHeaders(r *http.Request, op *operation, withLocation bool) map[string]string {
	h := map[string]string{
		"Azure-AsyncOperation": s.operationURL(r, op, false),
	}
	setPollDelay(h)
	if withLocation {
		h["Location"] = s.operationURL(r, op, true)
	}
	return h
}

// operationStatus is the body of GET .../operations/{id}.
type operationStatus struct {
	Name      string       `json:"name"`
	Status    string       `json:"status"`
	StartTime string       `json:"startTime"`
	EndTime   string       `json:"endTime,omitempty"`
	Error     *errorDetail `json:"error,omitempty"`
}

// pollOperation answers a status poll (operations/{id}) or a result poll
// (operationResults/{id}); each poll uses up one InProgress answer.
func (s *Server) pollOperation(r *http.Request, rt route) (*response, *armError) {
	op := s.ops[rt.opID]
	if op == nil {
		return nil, errf(http.StatusNotFound, "ResourceNotFound", "The async operation %s was not found.", rt.opID)
	}
	inProgress := op.remaining > 0
	if inProgress {
		op.remaining--
	}
	if rt.opResult {
		switch {
		case inProgress:
			res := jsonResponse(http.StatusAccepted, nil)
			res.header["Location"] = s.operationURL(r, op, true)
			setPollDelay(res.header)
			return res, nil
		case op.err != nil:
			return nil, op.err
		default:
			return jsonResponse(http.StatusNoContent, nil), nil
		}
	}
	st := operationStatus{Name: op.id, Status: "Succeeded", StartTime: op.start.Format(time.RFC3339Nano)}
	switch {
	case inProgress:
		st.Status = "InProgress"
	case op.err != nil:
		st.Status = "Failed"
		if op.canceled {
			st.Status = "Canceled"
		}
		st.Error = &errorDetail{Code: op.err.Code, Message: op.err.Message, Details: []any{}}
	}
	if !inProgress {
		st.EndTime = time.Now().UTC().Format(time.RFC3339Nano)
	}
	b, _ := json.Marshal(st)
	res := jsonResponse(http.StatusOK, b)
	if inProgress {
		setPollDelay(res.header)
	}
	return res, nil
}

func setPollDelay(h map[string]string) {
	h["Retry-After"] = "1"
	h["retry-after-ms"] = strconv.FormatInt(asyncPollDelay.Milliseconds(), 10)
}

// updating is the body of a write answered before it is done: the request's resource with
// provisioningState Updating, whatever the client sent, so the SDK's poller waits for the
// operation instead of taking the echoed state as final.
func updating(body []byte) []byte {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil || m == nil {
		return body
	}
	props, _ := m["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		m["properties"] = props
	}
	props["provisioningState"] = "Updating"
	b, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return b
}
